//! Which OpenH264 library the H.264 encoders run: the one compiled from source into this
//! binary (default), or Cisco's prebuilt shared library loaded at run time.
//!
//! Why the second: Cisco pays the MPEG LA patent royalties for H.264 only for the binaries
//! it builds and distributes itself (<https://www.openh264.org/faq.html>). An application
//! shipped to users in places where H.264 patents apply may want its users to download
//! Cisco's `libopenh264` at install time and have rfb load it, instead of the encoder
//! compiled from source. Build with the `openh264-libloading` feature and set
//! `RFB_OPENH264_LIBRARY` to the library's path (e.g. `libopenh264-2.4.1-linux64.7.so`,
//! unpacked from `http://ciscobinary.openh264.org/`); the openh264 crate loads it only if
//! its SHA-256 is one of the releases it knows, so a wrong or tampered file is an error,
//! never undefined behaviour. Every encoder created after that uses the library; an error
//! loading it is an encoder configuration error, with the reason.

use openh264::OpenH264API;

/// The environment variable naming Cisco's prebuilt OpenH264 library.
pub const LIBRARY_ENV: &str = "RFB_OPENH264_LIBRARY";

/// The OpenH264 API to create an encoder (or decoder) with: Cisco's library when
/// [`LIBRARY_ENV`] is set, else the one compiled from source. The error says why the
/// library could not be used (not built with `openh264-libloading`, unreadable, unknown
/// hash).
pub fn openh264_api() -> Result<OpenH264API, String> {
    match std::env::var_os(LIBRARY_ENV) {
        None => Ok(OpenH264API::from_source()),
        Some(path) => load(&path),
    }
}

#[cfg(feature = "openh264-libloading")]
fn load(path: &std::ffi::OsStr) -> Result<OpenH264API, String> {
    OpenH264API::from_blob_path(path).map_err(|e| {
        format!(
            "{LIBRARY_ENV}={}: cannot load it as OpenH264 ({e})",
            path.to_string_lossy()
        )
    })
}

#[cfg(not(feature = "openh264-libloading"))]
fn load(path: &std::ffi::OsStr) -> Result<OpenH264API, String> {
    Err(format!(
        "{LIBRARY_ENV}={} is set, but this build of rfb cannot load a library: build it \
         with the `openh264-libloading` feature",
        path.to_string_lossy()
    ))
}

#[cfg(all(test, feature = "openh264-libloading"))]
mod tests {
    use super::*;

    #[test]
    fn a_file_that_is_not_a_known_release_is_refused_with_its_reason() {
        let file = std::env::temp_dir().join(format!("rfb-not-openh264-{}", std::process::id()));
        std::fs::write(&file, b"not a shared library").expect("temp file");
        let err = load(file.as_os_str()).err().expect("refused");
        assert!(
            err.contains(LIBRARY_ENV) && err.contains("cannot load"),
            "{err}"
        );
        let missing = load(std::ffi::OsStr::new("/nonexistent/libopenh264.so"))
            .err()
            .expect("refused");
        assert!(missing.contains("/nonexistent/libopenh264.so"), "{missing}");
        let _ = std::fs::remove_file(file);
    }
}
