//! Build facts `rfb doctor` reports: whether `nasm` was on the PATH when this was built
//! (openh264 and libjpeg-turbo assemble their SIMD code with it; without it they fall
//! back to C and encode about half as fast), and the build profile.
//!
//! With the `assets` feature, also the table of embedded web assets
//! (`$OUT_DIR/embedded_assets.rs`, read by `src/http/embedded.rs`): every file of the
//! checkout's `web/` (the demo page) and `client-wasm/pkg/` (the viewer package, built by
//! `npm run build:viewer`), each with an ETag from its bytes. Dotfiles are left out. A
//! missing folder embeds nothing and says so in a build warning.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let nasm = std::process::Command::new("nasm")
        .arg("-v")
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .unwrap_or_default();
    println!("cargo:rustc-env=RFB_BUILD_NASM={nasm}");
    println!(
        "cargo:rustc-env=RFB_BUILD_PROFILE={}",
        std::env::var("PROFILE").unwrap_or_default()
    );
    // Once per build directory, like the C libraries it describes.
    println!("cargo:rerun-if-changed=build.rs");

    if std::env::var_os("CARGO_FEATURE_ASSETS").is_some() {
        embed_assets();
    }
}

fn embed_assets() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let root = manifest.join("..");
    let mut code = String::new();
    for (name, relative, hint) in [
        ("WEB", "web", "the demo page"),
        (
            "PKG",
            "client-wasm/pkg",
            "the viewer package: run `npm run build:viewer` (or scripts/setup.sh), then rebuild",
        ),
    ] {
        let dir = root.join(relative);
        // A folder's whole tree: cargo rescans it for changed, added or removed files.
        println!("cargo:rerun-if-changed={}", dir.display());
        let mut files = Vec::new();
        if dir.is_dir() {
            collect(&dir, &dir, &mut files);
        } else {
            println!("cargo:warning=rfb embeds no {relative}/ ({hint})");
        }
        files.sort();
        writeln!(code, "pub(super) static {name}: &[EmbeddedFile] = &[").expect("string");
        for (path, absolute) in files {
            let bytes = std::fs::read(&absolute).expect("readable asset");
            writeln!(
                code,
                "    EmbeddedFile {{ path: {path:?}, bytes: include_bytes!({absolute:?}), etag: \"\\\"{:016x}\\\"\" }},",
                fnv1a(&bytes)
            )
            .expect("string");
        }
        writeln!(code, "];").expect("string");
    }
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets it"));
    std::fs::write(out.join("embedded_assets.rs"), code).expect("writable OUT_DIR");
}

/// `(path below base with '/' separators, absolute path)` of every regular file under
/// `dir`, skipping names that start with a dot.
fn collect(base: &Path, dir: &Path, files: &mut Vec<(String, String)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            collect(base, &path, files);
        } else if path.is_file() {
            let relative = path
                .strip_prefix(base)
                .expect("below base")
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            let absolute = path
                .canonicalize()
                .unwrap_or(path)
                .to_string_lossy()
                .into_owned();
            files.push((relative, absolute));
        }
    }
}

/// 64-bit FNV-1a: an ETag that changes with the bytes (not a security boundary).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}
