//! Keeping received input outside the app's queue: the in-memory record behind
//! `GET /recorded-events` (`record_events`) and the JSON-lines file of `event_log`.
//!
//! Both are bounded by count and by bytes (see [`crate::limits`]):
//! - the record keeps the newest [`RECORD_CAPACITY`] events and at most
//!   `Limits::recorded_events_bytes` of JSON, each event serialised once when it arrives
//!   (a request clones pointers, never the events, and joins them off the runtime);
//! - the log writer (a thread of its own, so no file I/O runs on the async executor) drops
//!   events, counting them, when more than [`LOG_BACKLOG`] events or
//!   `Limits::event_log_backlog_bytes` wait, and rotates the file at
//!   `Limits::event_log_max_bytes`: `FILE` becomes `FILE.1` (replacing the previous one),
//!   so the log never takes more than twice that on disk.

use std::collections::VecDeque;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

use crate::event_json::input_json;
use crate::events::InputEvent;
use crate::limits::Limits;
use crate::sync::lock;

/// Most events `GET /recorded-events` keeps (the oldest go first).
pub const RECORD_CAPACITY: usize = 10_000;
/// Most events waiting for the log writer before new ones are dropped.
pub const LOG_BACKLOG: usize = 4096;

/// One recorded event: its stream and its JSON.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// The stream it came from.
    pub stream: Arc<str>,
    /// The event as a JSON object (see [`crate::event_json`]).
    pub json: Arc<str>,
}

/// The in-memory record and its byte count.
#[derive(Debug)]
struct Record {
    events: VecDeque<Recorded>,
    bytes: usize,
    max_bytes: usize,
}

impl Record {
    fn push(&mut self, event: Recorded) {
        let size = event.json.len();
        while !self.events.is_empty()
            && (self.events.len() >= RECORD_CAPACITY || self.bytes + size > self.max_bytes)
        {
            if let Some(old) = self.events.pop_front() {
                self.bytes -= old.json.len();
            }
        }
        self.bytes += size;
        self.events.push_back(event);
    }
}

/// Where received input is copied to, besides the app's queue.
#[derive(Debug, Default)]
pub struct EventTap {
    record: Option<Mutex<Record>>,
    log: Option<EventLog>,
}

impl EventTap {
    /// A tap that records in memory when `record` and appends to `log` when given, within
    /// `limits`.
    pub fn new(record: bool, log: Option<&Path>, limits: &Limits) -> std::io::Result<EventTap> {
        Ok(EventTap {
            record: record.then(|| {
                Mutex::new(Record {
                    events: VecDeque::new(),
                    bytes: 0,
                    max_bytes: limits.recorded_events_bytes,
                })
            }),
            log: log.map(|path| EventLog::open(path, limits)).transpose()?,
        })
    }

    /// True when neither recording nor logging.
    pub fn is_off(&self) -> bool {
        self.record.is_none() && self.log.is_none()
    }

    /// Copies one event.
    pub fn tap(&self, stream: &str, event: &InputEvent) {
        if self.is_off() {
            return;
        }
        let json = input_json(stream, event).to_string();
        if let Some(log) = &self.log {
            log.append(&json);
        }
        if let Some(record) = &self.record {
            lock(record).push(Recorded {
                stream: Arc::from(stream),
                json: Arc::from(json),
            });
        }
    }

    /// The recorded events of the streams `visible` accepts, oldest first (`None` when
    /// recording is off). Cheap: clones pointers.
    pub fn recorded(&self, visible: impl Fn(&str) -> bool) -> Option<Vec<Recorded>> {
        let record = self.record.as_ref()?;
        Some(
            lock(record)
                .events
                .iter()
                .filter(|e| visible(&e.stream))
                .cloned()
                .collect(),
        )
    }

    /// Forgets the recorded events of the streams `visible` accepts; false when recording
    /// is off.
    pub fn reset(&self, visible: impl Fn(&str) -> bool) -> bool {
        let Some(record) = &self.record else {
            return false;
        };
        let mut record = lock(record);
        record.events.retain(|e| !visible(&e.stream));
        record.bytes = record.events.iter().map(|e| e.json.len()).sum();
        true
    }

    /// Bytes of JSON recorded now.
    pub fn recorded_bytes(&self) -> usize {
        self.record.as_ref().map_or(0, |r| lock(r).bytes)
    }

    /// Events the log writer had to drop.
    pub fn log_dropped(&self) -> u64 {
        self.log
            .as_ref()
            .map_or(0, |l| l.dropped.load(Ordering::Relaxed))
    }
}

/// Joins recorded events into one JSON array (run it off the async runtime for big ones).
pub fn json_array(events: &[Recorded]) -> String {
    let mut out = String::with_capacity(2 + events.iter().map(|e| e.json.len() + 1).sum::<usize>());
    out.push('[');
    for (i, event) in events.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&event.json);
    }
    out.push(']');
    out
}

/// A JSON-lines file written by its own thread.
#[derive(Debug)]
struct EventLog {
    path: PathBuf,
    lines: SyncSender<String>,
    queued_bytes: Arc<AtomicUsize>,
    max_backlog_bytes: usize,
    dropped: AtomicU64,
}

/// The writer thread's side: the file, its size and where it rotates.
struct LogFile {
    path: PathBuf,
    file: File,
    size: u64,
    max_bytes: u64,
}

impl LogFile {
    fn open(path: &Path, max_bytes: u64) -> std::io::Result<LogFile> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        let size = file.metadata()?.len();
        Ok(LogFile {
            path: path.to_path_buf(),
            file,
            size,
            max_bytes,
        })
    }

    fn write_line(&mut self, line: &str) -> std::io::Result<()> {
        let len = line.len() as u64 + 1;
        if self.size > 0 && self.size + len > self.max_bytes {
            let mut rotated = self.path.clone().into_os_string();
            rotated.push(".1");
            std::fs::rename(&self.path, &rotated)?;
            *self = LogFile::open(&self.path, self.max_bytes)?;
        }
        writeln!(self.file, "{line}")?;
        self.file.flush()?;
        self.size += len;
        Ok(())
    }
}

impl EventLog {
    fn open(path: &Path, limits: &Limits) -> std::io::Result<EventLog> {
        let mut file = LogFile::open(path, limits.event_log_max_bytes.max(1))?;
        let (lines, incoming) = sync_channel::<String>(LOG_BACKLOG);
        let queued_bytes = Arc::new(AtomicUsize::new(0));
        let written = queued_bytes.clone();
        let shown = path.display().to_string();
        std::thread::Builder::new()
            .name("rfb-event-log".to_string())
            .spawn(move || {
                for line in incoming {
                    written.fetch_sub(line.len(), Ordering::Relaxed);
                    if let Err(err) = file.write_line(&line) {
                        tracing::error!("writing the event log {shown} failed: {err}");
                        return;
                    }
                }
            })?;
        Ok(EventLog {
            path: path.to_path_buf(),
            lines,
            queued_bytes,
            max_backlog_bytes: limits.event_log_backlog_bytes,
            dropped: AtomicU64::new(0),
        })
    }

    fn append(&self, json: &str) {
        let queued = self.queued_bytes.fetch_add(json.len(), Ordering::Relaxed);
        if queued + json.len() > self.max_backlog_bytes {
            self.queued_bytes.fetch_sub(json.len(), Ordering::Relaxed);
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        match self.lines.try_send(json.to_string()) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                self.queued_bytes.fetch_sub(json.len(), Ordering::Relaxed);
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
            Err(TrySendError::Disconnected(_)) => {
                self.queued_bytes.fetch_sub(json.len(), Ordering::Relaxed);
                if self.dropped.fetch_add(1, Ordering::Relaxed) == 0 {
                    tracing::warn!(
                        "the event log {} stopped; events are dropped",
                        self.path.display()
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rfb_protocol::input::{KeyInput, Modifiers};
    use serde_json::Value;

    fn key(n: u64) -> InputEvent {
        InputEvent {
            client_id: 3,
            principal: None,
            event: rfb_protocol::InputEvent::KeyUp(KeyInput {
                key: "q".into(),
                code: "KeyQ".into(),
                modifiers: Modifiers::default(),
                repeat: false,
                timestamp: 0.5,
            }),
            received_us: n,
            input_id: Some(n),
        }
    }

    fn paste(n: u64, bytes: usize) -> InputEvent {
        InputEvent {
            event: rfb_protocol::InputEvent::Paste(rfb_protocol::input::TextInput {
                text: "p".repeat(bytes),
                timestamp: 0.0,
            }),
            ..key(n)
        }
    }

    fn all(_: &str) -> bool {
        true
    }

    fn parsed(tap: &EventTap) -> Vec<Value> {
        let events = tap.recorded(all).expect("recording");
        serde_json::from_str::<Vec<Value>>(&json_array(&events)).expect("a JSON array")
    }

    #[test]
    fn records_bounded_and_resets() {
        let tap = EventTap::new(true, None, &Limits::default()).expect("tap");
        for n in 0..(RECORD_CAPACITY as u64 + 5) {
            tap.tap("default", &key(n));
        }
        let recorded = parsed(&tap);
        assert_eq!(recorded.len(), RECORD_CAPACITY);
        assert_eq!(recorded[0]["received_us"], 5);
        assert_eq!(recorded[0]["input_id"], 5);
        assert_eq!(recorded[0]["event"]["type"], "key_up");
        assert!(tap.reset(all));
        assert_eq!(tap.recorded(all).map(|r| r.len()), Some(0));
        assert!(EventTap::new(false, None, &Limits::default())
            .expect("off")
            .recorded(all)
            .is_none());
    }

    #[test]
    fn the_record_is_bounded_by_bytes_and_filtered_by_stream() {
        let limits = Limits {
            recorded_events_bytes: 1 << 20,
            ..Limits::default()
        };
        let tap = EventTap::new(true, None, &limits).expect("tap");
        for n in 0..100 {
            tap.tap(if n % 2 == 0 { "a" } else { "b" }, &paste(n, 30_000));
        }
        assert!(tap.recorded_bytes() <= 1 << 20, "{}", tap.recorded_bytes());
        let kept = parsed(&tap);
        assert!(kept.len() < 40, "{} kept", kept.len());
        assert_eq!(
            kept.last().map(|e| e["received_us"].clone()),
            Some(99.into())
        );
        let only_a = tap.recorded(|s| s == "a").expect("recording");
        assert!(only_a.iter().all(|e| &*e.stream == "a"));
        tap.reset(|s| s == "a");
        assert!(tap
            .recorded(all)
            .expect("recording")
            .iter()
            .all(|e| &*e.stream == "b"));
    }

    fn temp(name: &str) -> PathBuf {
        let path = std::env::temp_dir().join(format!("rfb-{name}-{}.jsonl", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let mut rotated = path.clone().into_os_string();
        rotated.push(".1");
        let _ = std::fs::remove_file(&rotated);
        path
    }

    fn read_lines(path: &Path, want: usize) -> Vec<String> {
        // The writer thread ends when the tap is dropped; give it a moment to flush.
        let mut lines = Vec::new();
        for _ in 0..50 {
            lines = std::fs::read_to_string(path)
                .unwrap_or_default()
                .lines()
                .map(str::to_string)
                .collect();
            if lines.len() >= want {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        lines
    }

    #[test]
    fn logs_json_lines() {
        let path = temp("event-log");
        {
            let tap = EventTap::new(false, Some(&path), &Limits::default()).expect("tap");
            tap.tap("cam", &key(1));
            tap.tap("cam", &key(2));
        }
        let lines = read_lines(&path, 2);
        assert_eq!(lines.len(), 2);
        let first: Value = serde_json::from_str(&lines[0]).expect("json");
        assert_eq!(first["stream"], "cam");
        assert_eq!(first["event"]["code"], "KeyQ");
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn the_log_rotates_at_its_size_cap() {
        let path = temp("event-log-rotate");
        let limits = Limits {
            event_log_max_bytes: 10_000,
            ..Limits::default()
        };
        {
            let tap = EventTap::new(false, Some(&path), &limits).expect("tap");
            for n in 0..100 {
                tap.tap("cam", &key(n));
            }
            for _ in 0..100 {
                if tap
                    .log
                    .as_ref()
                    .is_some_and(|l| l.queued_bytes.load(Ordering::Relaxed) == 0)
                {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        }
        let mut rotated = path.clone().into_os_string();
        rotated.push(".1");
        let rotated = PathBuf::from(rotated);
        let current = std::fs::metadata(&path).expect("log").len();
        let old = std::fs::metadata(&rotated).expect("rotated log").len();
        assert!(current <= 10_000 && old <= 10_000, "{current} / {old}");
        let last = read_lines(&path, 1);
        let newest: Value = serde_json::from_str(last.last().expect("a line")).expect("json");
        assert_eq!(newest["received_us"], 99);
        let _ = std::fs::remove_file(&path);
        let _ = std::fs::remove_file(&rotated);
    }

    #[test]
    fn a_backlog_over_its_bytes_drops_and_counts() {
        let path = temp("event-log-backlog");
        let limits = Limits {
            event_log_backlog_bytes: 64,
            ..Limits::default()
        };
        let tap = EventTap::new(false, Some(&path), &limits).expect("tap");
        tap.tap("cam", &paste(1, 1000));
        assert_eq!(tap.log_dropped(), 1, "a line larger than the whole backlog");
        drop(tap);
        let _ = std::fs::remove_file(&path);
    }
}
