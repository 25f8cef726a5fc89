//! Independent readers of MP4 files for the recording tests: `ffprobe` for the container
//! and stream facts, `ffmpeg` for the decoded pixels. Both come with Debian's `ffmpeg`
//! package (`scripts/setup.sh` installs it); a missing tool fails the test, never skips it.

use std::path::{Path, PathBuf};
use std::process::Command;

use rfb_protocol::expected_quadrant_color;
use serde_json::Value;

/// Largest per-channel error accepted between a decoded quadrant centre and the pattern
/// (the viewer tests' tolerance).
pub const TOLERANCE: u8 = 6;

/// A fresh path in this test binary's scratch folder.
pub fn scratch(name: &str) -> PathBuf {
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("recording-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch folder");
    let path = dir.join(name);
    let _ = std::fs::remove_file(&path);
    path
}

fn run(tool: &str, args: &[&str]) -> std::process::Output {
    Command::new(tool).args(args).output().unwrap_or_else(|e| {
        panic!("cannot run {tool} ({e}): install Debian's ffmpeg package (scripts/setup.sh)")
    })
}

/// `ffprobe -show_streams -show_format -count_frames` as JSON; `Err` with ffprobe's
/// message when it cannot read the file.
pub fn try_probe(path: &Path) -> Result<Value, String> {
    let path = path.to_str().expect("utf-8 path");
    let out = run(
        "ffprobe",
        &[
            "-v",
            "error",
            "-show_streams",
            "-show_format",
            "-count_frames",
            "-of",
            "json",
            path,
        ],
    );
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())
}

/// [`try_probe`], failing the test on error.
pub fn probe(path: &Path) -> Value {
    try_probe(path).unwrap_or_else(|e| panic!("ffprobe {}: {e}", path.display()))
}

/// The facts the tests check, from [`probe`].
#[derive(Debug, PartialEq)]
pub struct Facts {
    pub codec: String,
    pub tag: String,
    pub is_avc: bool,
    pub width: u64,
    pub height: u64,
    pub frames: u64,
    pub duration: f64,
}

pub fn facts(path: &Path) -> Facts {
    let json = probe(path);
    let streams = json["streams"].as_array().expect("streams");
    assert_eq!(streams.len(), 1, "one stream: {json}");
    let s = &streams[0];
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let number = |v: &Value| text(v).parse::<f64>().unwrap_or(f64::NAN);
    Facts {
        codec: text(&s["codec_name"]),
        tag: text(&s["codec_tag_string"]),
        is_avc: s["is_avc"] == "true",
        width: s["width"].as_u64().unwrap_or(0),
        height: s["height"].as_u64().unwrap_or(0),
        frames: text(&s["nb_read_frames"]).parse().unwrap_or(0),
        duration: number(&json["format"]["duration"]),
    }
}

/// One packet: presentation time, duration (seconds) and keyframe flag.
#[derive(Debug, Clone, Copy)]
pub struct Packet {
    pub pts: f64,
    pub duration: f64,
    pub keyframe: bool,
}

/// `ffprobe -show_packets` of the video stream.
pub fn packets(path: &Path) -> Vec<Packet> {
    let out = run(
        "ffprobe",
        &[
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_packets",
            "-show_entries",
            "packet=pts_time,duration_time,flags",
            "-of",
            "json",
            path.to_str().expect("utf-8 path"),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_slice(&out.stdout).expect("json");
    let seconds = |v: &Value| v.as_str().and_then(|s| s.parse().ok()).unwrap_or(f64::NAN);
    json["packets"]
        .as_array()
        .expect("packets")
        .iter()
        .map(|p| Packet {
            pts: seconds(&p["pts_time"]),
            duration: seconds(&p["duration_time"]),
            keyframe: p["flags"].as_str().unwrap_or_default().starts_with('K'),
        })
        .collect()
}

/// Every frame decoded by ffmpeg as RGB24 (no frame rate conversion: one picture per
/// sample).
pub fn decode(path: &Path, width: u32, height: u32) -> Vec<Vec<u8>> {
    let out = run(
        "ffmpeg",
        &[
            "-v",
            "error",
            "-i",
            path.to_str().expect("utf-8 path"),
            "-fps_mode",
            "passthrough",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let size = width as usize * height as usize * 3;
    assert_eq!(
        out.stdout.len() % size,
        0,
        "whole {width}x{height} pictures"
    );
    out.stdout.chunks(size).map(<[u8]>::to_vec).collect()
}

/// The pixel at `(x, y)` of a `width`-wide RGB24 picture.
pub fn pixel(rgb: &[u8], width: u32, x: u32, y: u32) -> [u8; 3] {
    let i = (y as usize * width as usize + x as usize) * 3;
    [rgb[i], rgb[i + 1], rgb[i + 2]]
}

/// Checks the test card `seq` drawn into the rectangle `(left, top, w, h)` of a
/// `width`-wide picture: the four quadrant centres within [`TOLERANCE`].
pub fn check_card(rgb: &[u8], width: u32, area: (u32, u32, u32, u32), seq: u64, what: &str) {
    let (left, top, w, h) = area;
    for q in 0..4u8 {
        let x = left + if q % 2 == 0 { w / 4 } else { w * 3 / 4 };
        let y = top + if q < 2 { h / 4 } else { h * 3 / 4 };
        let got = pixel(rgb, width, x, y);
        let want = expected_quadrant_color(seq, q);
        let error = got
            .iter()
            .zip(want)
            .map(|(g, e)| g.abs_diff(e))
            .max()
            .unwrap_or(0);
        assert!(
            error <= TOLERANCE,
            "{what}: card {seq} quadrant {q} at ({x}, {y}): got {got:?}, want {want:?}"
        );
    }
}
