//! Parity: the wasm build of the protocol decodes every golden message in
//! `fixtures/golden/` to its canonical value, encodes the canonical values to the same
//! bytes, and renders them as the same JSON, so the viewer and the server agree byte for
//! byte. Runs headless under Node: `wasm-pack test --node client-wasm`.
#![cfg(target_arch = "wasm32")]

use rfb_fixtures::golden::GOLDEN;
use rfb_fixtures::{canonical, Canonical, Fixture};
use rfb_protocol::{decode_client, decode_server};
use wasm_bindgen_test::wasm_bindgen_test;

macro_rules! golden_json {
    ($name:literal) => {
        (
            $name,
            include_str!(concat!("../../fixtures/golden/", $name, ".json")),
        )
    };
}

/// `(name, json)` of every `golden/<name>.json` (the `.bin` list is `GOLDEN`).
const GOLDEN_JSON: &[(&str, &str)] = &[
    golden_json!("client_ack"),
    golden_json!("client_ack_timed"),
    golden_json!("client_decoder_reset"),
    golden_json!("client_heartbeat"),
    golden_json!("client_hello"),
    golden_json!("client_hello_minimal"),
    golden_json!("client_input_key_down"),
    golden_json!("client_input_key_up"),
    golden_json!("client_input_paste"),
    golden_json!("client_input_pointer_down"),
    golden_json!("client_input_pointer_down_pen"),
    golden_json!("client_input_pointer_move"),
    golden_json!("client_input_pointer_up"),
    golden_json!("client_input_resize"),
    golden_json!("client_input_text"),
    golden_json!("client_input_wheel"),
    golden_json!("client_photon_report"),
    golden_json!("client_request_keyframe"),
    golden_json!("client_set_viewport"),
    golden_json!("server_clipboard"),
    golden_json!("server_config_h264"),
    golden_json!("server_config_png_p3"),
    golden_json!("server_error"),
    golden_json!("server_heartbeat"),
    golden_json!("server_image_frame"),
    golden_json!("server_role_view"),
    golden_json!("server_set_quality"),
    golden_json!("server_stats"),
    golden_json!("server_video_chunk"),
    golden_json!("server_video_chunk_answering"),
];

fn golden_bytes(name: &str) -> &'static [u8] {
    GOLDEN
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, bytes)| *bytes)
        .unwrap_or_else(|| panic!("{name}.bin is not compiled in (fixtures/src/golden.rs)"))
}

fn golden_json(name: &str) -> &'static str {
    GOLDEN_JSON
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, json)| *json)
        .unwrap_or_else(|| panic!("{name}.json is not listed in GOLDEN_JSON"))
}

fn fixtures() -> Vec<Fixture> {
    let all = canonical();
    assert!(
        all.len() >= 20,
        "the canonical list shrank to {}",
        all.len()
    );
    all
}

#[wasm_bindgen_test]
fn every_golden_message_decodes_to_its_canonical_value() {
    for fixture in fixtures() {
        let bytes = golden_bytes(fixture.name);
        match &fixture.message {
            Canonical::Client(expected) => {
                assert_eq!(
                    decode_client(bytes).as_ref(),
                    Ok(expected),
                    "{}",
                    fixture.name
                )
            }
            Canonical::Server(expected) => {
                assert_eq!(
                    decode_server(bytes).as_ref(),
                    Ok(expected),
                    "{}",
                    fixture.name
                )
            }
        }
    }
}

#[wasm_bindgen_test]
fn encoding_on_wasm_gives_the_golden_bytes() {
    for fixture in fixtures() {
        assert_eq!(
            fixture.message.encode(),
            golden_bytes(fixture.name),
            "{}",
            fixture.name
        );
    }
}

#[wasm_bindgen_test]
fn decoded_messages_render_the_golden_json() {
    for fixture in fixtures() {
        let bytes = golden_bytes(fixture.name);
        let json = match fixture.message {
            Canonical::Client(_) => {
                serde_json::to_string_pretty(&decode_client(bytes).expect("decodes"))
            }
            Canonical::Server(_) => {
                serde_json::to_string_pretty(&decode_server(bytes).expect("decodes"))
            }
        }
        .expect("serialises");
        assert_eq!(json + "\n", golden_json(fixture.name), "{}", fixture.name);
    }
}

#[wasm_bindgen_test]
fn the_json_list_names_every_golden_file() {
    let mut bins: Vec<&str> = GOLDEN.iter().map(|(n, _)| *n).collect();
    let mut jsons: Vec<&str> = GOLDEN_JSON.iter().map(|(n, _)| *n).collect();
    bins.sort_unstable();
    jsons.sort_unstable();
    assert_eq!(bins, jsons);
}

#[wasm_bindgen_test]
fn the_exported_pattern_math_is_the_protocol_s() {
    for seq in [0u64, 1, 7, 1_000_003] {
        for q in 0..4u8 {
            let got = rfb_viewer::expected_quadrant_color(seq as f64, q).expect("valid");
            let got: Vec<u8> = js_sys::Array::from(&got)
                .iter()
                .map(|v| v.as_f64().unwrap_or(-1.0) as u8)
                .collect();
            assert_eq!(got, rfb_protocol::expected_quadrant_color(seq, q).to_vec());
        }
    }
    assert!(rfb_viewer::expected_quadrant_color(1.5, 0).is_err());
    assert!(rfb_viewer::expected_quadrant_color(1.0, 4).is_err());
}
