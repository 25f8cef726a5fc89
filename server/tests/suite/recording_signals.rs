//! Recordings that survive the end of the process: `rfb serve --record` and `rfb record`
//! stopped by SIGTERM, SIGINT or SIGHUP finalise the file and exit 0; killed with SIGKILL
//! they leave a file that plays up to its last closed fragment (at most ~1 s lost). Each
//! file is checked by ffprobe (container, codec, frame count, duration) and decoded by
//! ffmpeg with `-v error` (any complaint fails the test).

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::probe::*;

const FPS: f64 = 30.0;
const W: u32 = 320;
const H: u32 = 240;

/// A running `rfb` whose first stdout line was read.
struct Running {
    child: Child,
    stdout: BufReader<ChildStdout>,
    /// When the first line arrived (the recording starts right after it).
    started: Instant,
}

impl Running {
    fn spawn(args: &[&str], first_line: &str) -> Running {
        let mut child = Command::new(env!("CARGO_BIN_EXE_rfb"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        assert!(
            line.starts_with(first_line),
            "rfb {args:?} printed {line:?}"
        );
        Running {
            child,
            stdout,
            started: Instant::now(),
        }
    }

    /// Sends `signal` (`TERM`, `INT`, `HUP`, `KILL`) after `after` from the first line;
    /// returns the seconds since the first line at that moment.
    fn signal_after(&mut self, after: Duration, signal: &str) -> f64 {
        std::thread::sleep(after.saturating_sub(self.started.elapsed()));
        let elapsed = self.started.elapsed().as_secs_f64();
        let sent = Command::new("kill")
            .args(["-s", signal, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success(), "kill -s {signal}");
        elapsed
    }

    /// Waits (10 s at most) for the exit; returns the status, the rest of stdout, stderr.
    fn wait(mut self) -> (ExitStatus, String, String) {
        let deadline = Instant::now() + Duration::from_secs(10);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                self.child.kill().unwrap();
                panic!("rfb did not exit within 10 s of the signal");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut out = String::new();
        self.stdout.read_to_string(&mut out).unwrap();
        let mut err = String::new();
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        (status, out, err)
    }
}

fn serve(path: &Path) -> Running {
    let (w, h) = (W.to_string(), H.to_string());
    let args = [
        "serve",
        "--port",
        "0",
        "--width",
        &w,
        "--height",
        &h,
        "--fps",
        "30",
        "--record",
        path.to_str().unwrap(),
    ];
    Running::spawn(&args, "rfb listening on ")
}

fn record(path: &Path) -> Running {
    let (w, h) = (W.to_string(), H.to_string());
    let args = [
        "record",
        "--frames",
        "900", // 30 s: always stopped by the test first
        "--width",
        &w,
        "--height",
        &h,
        path.to_str().unwrap(),
    ];
    Running::spawn(&args, "recording ")
}

/// `(frames, skipped)` from the summary line the CLI prints when it finalised.
fn summary_counts(stdout: &str) -> (u64, u64) {
    let line = stdout
        .lines()
        .find(|l| l.starts_with("recorded "))
        .unwrap_or_else(|| panic!("a summary line in {stdout:?}"));
    let words: Vec<&str> = line.split_whitespace().collect();
    let at = words.iter().position(|w| *w == "frames").unwrap();
    let skipped = words[at + 1].trim_start_matches('(').parse().unwrap();
    (words[at - 1].parse().unwrap(), skipped)
}

/// ffmpeg 5.1's one complaint about variable-frame-rate input that is not about the file:
/// `-f null` encodes with a time base of 1 / (guessed frame rate), so two frames published
/// less than a period apart (a late publish, then an on-time one) round to the same output
/// tick, and the null muxer reports it. Decoding is not involved.
const NULL_MUXER_DTS: &str = "non monotonically increasing dts to muxer";

/// Runs `ffmpeg -v error -i FILE [extra] -f null -`; returns its stderr lines.
fn ffmpeg_null(path: &Path, extra: &[&str]) -> Vec<String> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i", path.to_str().unwrap()])
        .args(extra)
        .args(["-f", "null", "-"])
        .output()
        .expect("ffmpeg (Debian's ffmpeg package, scripts/setup.sh)");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "ffmpeg on {}: {stderr}",
        path.display()
    );
    stderr.lines().map(str::to_string).collect()
}

/// Decodes every frame with ffmpeg and hears no error: `ffmpeg -v error -i FILE -f null -`
/// says nothing but (at most) [`NULL_MUXER_DTS`], and with the demuxer's time base for
/// the output (`-enc_time_base -1`) nothing at all.
fn decodes_cleanly(path: &Path) {
    let plain = ffmpeg_null(path, &[]);
    assert!(
        plain.iter().all(|line| line.contains(NULL_MUXER_DTS)),
        "ffmpeg -f null on {}: {plain:?}",
        path.display()
    );
    let exact = ffmpeg_null(path, &["-enc_time_base", "-1"]);
    assert!(exact.is_empty(), "ffmpeg on {}: {exact:?}", path.display());
}

/// A finalised recording of `elapsed` seconds: H.264 at 320x240, the frames the summary
/// reports (about `elapsed` x 30), lasting about `elapsed`, each picture the test card
/// published, decoding cleanly.
fn check_finalised(path: &Path, stdout: &str, elapsed: f64) {
    let (frames, skipped) = summary_counts(stdout);
    let facts = facts(path);
    assert_eq!(
        (
            facts.codec.as_str(),
            facts.width,
            facts.height,
            facts.frames
        ),
        ("h264", u64::from(W), u64::from(H), frames),
        "{facts:?}"
    );
    let expected = elapsed * FPS;
    assert!(
        frames as f64 >= 0.7 * expected && frames as f64 <= expected + 2.0,
        "{frames} frames ({skipped} skipped) in {elapsed:.3} s: {facts:?}"
    );
    assert!(
        (facts.duration - elapsed).abs() <= 0.5,
        "duration {} s, signalled after {elapsed:.3} s",
        facts.duration
    );
    decodes_cleanly(path);
    let pictures = decode(path, W, H);
    assert_eq!(pictures.len() as u64, frames);
    // Publish n shows card n; with nothing skipped, frame i is publish i + 1.
    let checked = if skipped == 0 { pictures.len() } else { 1 };
    for (i, rgb) in pictures.iter().take(checked).enumerate() {
        check_card(rgb, W, (0, 0, W, H), i as u64 + 1, "recorded");
    }
}

/// A killed recording: it decodes cleanly and holds at least `elapsed - 1.5 s`.
fn check_killed(path: &Path, elapsed: f64) {
    let facts = facts(path);
    assert_eq!((facts.codec.as_str(), facts.width), ("h264", u64::from(W)));
    let kept = elapsed - 1.5;
    assert!(
        facts.duration >= kept,
        "{} s kept of {elapsed:.3} s recorded",
        facts.duration
    );
    assert!(
        facts.frames as f64 >= 0.7 * kept * FPS,
        "{} frames kept of {elapsed:.3} s: {facts:?}",
        facts.frames
    );
    decodes_cleanly(path);
    check_card(&decode(path, W, H)[0], W, (0, 0, W, H), 1, "killed");
}

fn serve_stopped_by(signal: &str) {
    let path = scratch(&format!("serve-{signal}.mp4"));
    let mut rfb = serve(&path);
    let elapsed = rfb.signal_after(Duration::from_secs(3), signal);
    let (status, stdout, stderr) = rfb.wait();
    assert_eq!(status.code(), Some(0), "SIG{signal}: {stdout}\n{stderr}");
    assert!(
        stderr.contains(&format!("SIG{signal}: stopping")),
        "{stderr}"
    );
    check_finalised(&path, &stdout, elapsed);
}

#[test]
fn rfb_serve_finalises_the_recording_on_sigterm() {
    serve_stopped_by("TERM");
}

#[test]
fn rfb_serve_finalises_the_recording_on_sigint() {
    serve_stopped_by("INT");
}

#[test]
fn rfb_serve_finalises_the_recording_on_sighup() {
    serve_stopped_by("HUP");
}

#[test]
fn rfb_serve_killed_leaves_every_closed_fragment() {
    let path = scratch("serve-KILL.mp4");
    let mut rfb = serve(&path);
    let elapsed = rfb.signal_after(Duration::from_secs(3), "KILL");
    let (status, stdout, _) = rfb.wait();
    assert_eq!(status.code(), None, "killed by a signal");
    assert!(
        !stdout.contains("recorded "),
        "no summary: it never finalised"
    );
    check_killed(&path, elapsed);
}

#[test]
fn rfb_record_finalises_on_sigterm_mid_clip() {
    let path = scratch("record-TERM.mp4");
    let mut rfb = record(&path);
    let elapsed = rfb.signal_after(Duration::from_secs(2), "TERM");
    let (status, stdout, stderr) = rfb.wait();
    assert_eq!(status.code(), Some(0), "{stdout}\n{stderr}");
    let (frames, skipped) = summary_counts(&stdout);
    assert_eq!(skipped, 0, "rfb record waits for every frame");
    assert!(frames < 900, "stopped mid-clip: {frames}");
    check_finalised(&path, &stdout, elapsed);
}

#[test]
fn rfb_record_killed_mid_clip_leaves_a_playable_file() {
    let path = scratch("record-KILL.mp4");
    let mut rfb = record(&path);
    let elapsed = rfb.signal_after(Duration::from_millis(2_500), "KILL");
    let (status, _, _) = rfb.wait();
    assert_eq!(status.code(), None, "killed by a signal");
    check_killed(&path, elapsed);
}
