//! The `rfb` command line as a user runs it: `rfb doctor` reports real measurements.

use std::process::Command;

fn rfb(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_rfb"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn doctor_measures_every_encoder_and_names_what_a_browser_needs() {
    let (ok, out) = rfb(&["doctor", "--frames", "4"]);
    assert!(ok, "{out}");
    for needle in [
        "protocol",
        "3.0",
        "assembly (nasm)",
        "WebCodecs",
        "--origin",
    ] {
        assert!(out.contains(needle), "{needle:?} missing from\n{out}");
    }
    for encoder in [
        "H.264 (openh264)",
        "JPEG (libjpeg-turbo)",
        "PNG (image)",
        "WebP",
    ] {
        let line = out
            .lines()
            .find(|l| l.contains(encoder))
            .unwrap_or_else(|| panic!("{encoder} missing from\n{out}"));
        let ms: f64 = line
            .split_whitespace()
            .find_map(|w| w.parse().ok())
            .unwrap_or_else(|| panic!("no timing in {line:?}"));
        assert!(ms > 0.0 && ms < 10_000.0, "{line}");
    }
}
