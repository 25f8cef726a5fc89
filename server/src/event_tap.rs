//! Keeping received input outside the app's queue: the in-memory record behind
//! `GET /recorded-events` (`record_events`) and the JSON-lines file of `event_log`.
//!
//! Both are bounded: the record keeps the newest [`RECORD_CAPACITY`] events, and the log
//! writer (a thread of its own, so no file I/O runs on the async executor) drops events
//! when more than [`LOG_BACKLOG`] wait to be written, counting them.

use std::collections::VecDeque;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::Mutex;

use serde_json::Value;

use crate::display::lock;
use crate::event_json::input_json;
use crate::events::InputEvent;

/// Most events `GET /recorded-events` keeps (the oldest go first).
pub const RECORD_CAPACITY: usize = 10_000;
/// Most events waiting for the log writer before new ones are dropped.
pub const LOG_BACKLOG: usize = 4096;

/// Where received input is copied to, besides the app's queue.
#[derive(Debug, Default)]
pub struct EventTap {
    record: Option<Mutex<VecDeque<Value>>>,
    log: Option<EventLog>,
}

impl EventTap {
    /// A tap that records in memory when `record` and appends to `log` when given.
    pub fn new(record: bool, log: Option<&Path>) -> std::io::Result<EventTap> {
        Ok(EventTap {
            record: record.then(|| Mutex::new(VecDeque::new())),
            log: log.map(EventLog::open).transpose()?,
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
        let json = input_json(stream, event);
        if let Some(log) = &self.log {
            log.append(&json);
        }
        if let Some(record) = &self.record {
            let mut record = lock(record);
            if record.len() >= RECORD_CAPACITY {
                record.pop_front();
            }
            record.push_back(json);
        }
    }

    /// The recorded events, oldest first (`None` when recording is off).
    pub fn recorded(&self) -> Option<Vec<Value>> {
        self.record
            .as_ref()
            .map(|r| lock(r).iter().cloned().collect())
    }

    /// Clears the record; returns false when recording is off.
    pub fn reset(&self) -> bool {
        self.record.as_ref().map(|r| lock(r).clear()).is_some()
    }

    /// Events the log writer had to drop.
    pub fn log_dropped(&self) -> u64 {
        self.log
            .as_ref()
            .map_or(0, |l| l.dropped.load(Ordering::Relaxed))
    }
}

/// A JSON-lines file written by its own thread.
#[derive(Debug)]
struct EventLog {
    path: PathBuf,
    lines: SyncSender<String>,
    dropped: AtomicU64,
}

impl EventLog {
    fn open(path: &Path) -> std::io::Result<EventLog> {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        let (lines, incoming) = sync_channel::<String>(LOG_BACKLOG);
        let shown = path.display().to_string();
        std::thread::Builder::new()
            .name("rfb-event-log".to_string())
            .spawn(move || {
                for line in incoming {
                    if let Err(err) = writeln!(file, "{line}").and_then(|()| file.flush()) {
                        tracing::error!("writing the event log {shown} failed: {err}");
                        return;
                    }
                }
            })?;
        Ok(EventLog {
            path: path.to_path_buf(),
            lines,
            dropped: AtomicU64::new(0),
        })
    }

    fn append(&self, json: &Value) {
        match self.lines.try_send(json.to_string()) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
            Err(TrySendError::Disconnected(_)) => {
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
        }
    }

    #[test]
    fn records_bounded_and_resets() {
        let tap = EventTap::new(true, None).expect("tap");
        for n in 0..(RECORD_CAPACITY as u64 + 5) {
            tap.tap("default", &key(n));
        }
        let recorded = tap.recorded().expect("recording");
        assert_eq!(recorded.len(), RECORD_CAPACITY);
        assert_eq!(recorded[0]["received_us"], 5);
        assert_eq!(recorded[0]["event"]["type"], "key_up");
        assert!(tap.reset());
        assert_eq!(tap.recorded().map(|r| r.len()), Some(0));
        assert!(EventTap::new(false, None)
            .expect("off")
            .recorded()
            .is_none());
    }

    #[test]
    fn logs_json_lines() {
        let path = std::env::temp_dir().join(format!("rfb-event-log-{}.jsonl", std::process::id()));
        let _ = std::fs::remove_file(&path);
        {
            let tap = EventTap::new(false, Some(&path)).expect("tap");
            tap.tap("cam", &key(1));
            tap.tap("cam", &key(2));
        }
        // The writer thread ends when the tap is dropped; give it a moment to flush.
        let mut lines = Vec::new();
        for _ in 0..50 {
            lines = std::fs::read_to_string(&path)
                .unwrap_or_default()
                .lines()
                .map(str::to_string)
                .collect();
            if lines.len() == 2 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert_eq!(lines.len(), 2);
        let first: Value = serde_json::from_str(&lines[0]).expect("json");
        assert_eq!(first["stream"], "cam");
        assert_eq!(first["event"]["code"], "KeyQ");
        let _ = std::fs::remove_file(&path);
    }
}
