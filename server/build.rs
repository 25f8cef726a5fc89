//! Build facts `rfb doctor` reports: whether `nasm` was on the PATH when this was built
//! (openh264 and libjpeg-turbo assemble their SIMD code with it; without it they fall
//! back to C and encode about half as fast), and the build profile.

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
}
