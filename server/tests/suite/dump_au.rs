//! `rfb dump-au` (the floor benchmark's input): the access units it writes decode to the
//! pattern, and they are byte for byte what a viewer of a server with the same settings
//! receives from its shared lane.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use rfb::decode::H264Decoder;
use rfb::StreamOptions;
use rfb_protocol::{expected_quadrant_color, BT601_LIMITED, CAP_H264_ANNEXB};
use serde_json::Value;

use crate::common::*;

const WIDTH: u32 = 320;
const HEIGHT: u32 = 180;
const FRAMES: u64 = 12;
const KEYFRAME_INTERVAL: u32 = 5;

/// Runs `rfb dump-au` into a fresh folder; returns the manifest and the access units.
fn dump(name: &str) -> (Value, Vec<Vec<u8>>) {
    let out: PathBuf = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("dump-au-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let status = Command::new(env!("CARGO_BIN_EXE_rfb"))
        .args([
            "dump-au",
            "--pattern",
            "test_card",
            "--width",
            &WIDTH.to_string(),
            "--height",
            &HEIGHT.to_string(),
            "--fps",
            "60",
            "--frames",
            &FRAMES.to_string(),
            "--keyframe-interval",
            &KEYFRAME_INTERVAL.to_string(),
            "--out",
        ])
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success(), "rfb dump-au failed: {status}");
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    let bytes = std::fs::read(out.join(manifest["file"].as_str().unwrap())).unwrap();
    let mut next = 0u64;
    let units = manifest["units"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            let (offset, len) = (u["offset"].as_u64().unwrap(), u["bytes"].as_u64().unwrap());
            assert_eq!(offset, next, "units are back to back in the file");
            next = offset + len;
            bytes[offset as usize..next as usize].to_vec()
        })
        .collect();
    assert_eq!(next, bytes.len() as u64, "the file holds exactly the units");
    let _ = std::fs::remove_dir_all(&out);
    (manifest, units)
}

#[test]
fn dumped_units_decode_to_the_test_cards_quadrant_colours() {
    let (manifest, units) = dump("decode");
    assert_eq!(units.len() as u64, FRAMES);
    assert!(manifest["codec"].as_str().unwrap().starts_with("avc1."));
    // The colour information is what the viewer configures WebCodecs with for this stream.
    let space = &manifest["color_space"];
    assert_eq!(space["primaries"], "bt709");
    assert_eq!(space["transfer"], "iec61966-2-1");
    assert_eq!(space["matrix"], BT601_LIMITED.matrix.webcodecs_name());
    assert_eq!(space["full_range"], BT601_LIMITED.full_range);
    assert_eq!(manifest["canvas_color_space"], "srgb");

    let entries = manifest["units"].as_array().unwrap();
    let keyframes: Vec<u64> = entries
        .iter()
        .filter(|u| u["keyframe"].as_bool().unwrap())
        .map(|u| u["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(keyframes, [1, 6, 11], "the first unit, then every 5 frames");
    for u in entries {
        assert!(u["encode_us"].as_u64().unwrap() > 0, "{u}");
    }

    let mut decoder = H264Decoder::new().unwrap();
    for (entry, unit) in entries.iter().zip(&units) {
        let seq = entry["seq"].as_u64().unwrap();
        let picture = decoder
            .decode(unit, BT601_LIMITED)
            .unwrap()
            .unwrap_or_else(|| panic!("unit {seq} gave no picture"));
        assert_eq!((picture.width, picture.height), (WIDTH, HEIGHT));
        for q in 0..4 {
            let want = expected_quadrant_color(seq, q);
            let err = picture.quadrant_error(q, want);
            assert!(
                err <= TOLERANCE,
                "unit {seq} quadrant {q}: got {:?}, want {want:?}",
                picture.quadrant_centre(q)
            );
        }
    }
}

#[tokio::test]
async fn dumped_units_are_what_a_viewer_of_the_shared_lane_receives() {
    let (manifest, units) = dump("lane");
    let display = start_with(
        WIDTH,
        HEIGHT,
        StreamOptions {
            fps: 60.0,
            keyframe_interval: KEYFRAME_INTERVAL,
            ..StreamOptions::default()
        },
    )
    .await;
    let mut client = viewer_with(&display, &[CAP_H264_ANNEXB]).await;
    // The session joins the lane before the first frame exists, so the lane's first
    // encode is its IDR, as in the dump.
    for _ in 0..100 {
        if display.client_count() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    for (i, unit) in units.iter().enumerate() {
        let seq = publish_card(&display, WIDTH, HEIGHT);
        let frame = frame(&mut client).await;
        assert_eq!(frame.header.frame_seq, seq, "one access unit per publish");
        assert_eq!(frame.config.codec, manifest["codec"].as_str().unwrap());
        assert_eq!(
            frame.payload.as_ref(),
            unit.as_slice(),
            "access unit {} differs from the dump",
            i + 1
        );
        client.ack(frame.header.seq, 0).await.unwrap();
    }
    display.close().await;
}
