//! What to do when the browser cannot decode the stream's H.264: no browser types, so
//! native unit tests cover it; `web/core/decoder.rs` runs it.
//!
//! The viewer advertises H.264 after probing Constrained Baseline level 3.1, but the
//! stream's `Config` names the real codec string (a higher level at 4K, another profile).
//! A decoder that cannot take it fails before producing any frame, and rebuilding it at
//! the next keyframe would fail again, for ever. So, per codec string:
//!
//! 1. the first decoder is built with the browser's default hardware acceleration;
//! 2. when a decoder fails before its first frame (or `isConfigSupported` says no), the
//!    next one is built with `hardwareAcceleration: "prefer-software"`;
//! 3. when that one fails before its first frame too (or is unsupported), video is given
//!    up: the viewer reconnects advertising images only.
//!
//! A decoder that produced a frame proves the configuration works: later failures are
//! ordinary decoder failures (rebuilt at the next keyframe) and the ladder starts over.

/// How the next decoder is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acceleration {
    /// The browser decides (`no-preference`).
    Default,
    /// `prefer-software`.
    Software,
}

impl Acceleration {
    /// The WebCodecs `hardwareAcceleration` value.
    pub fn name(self) -> &'static str {
        match self {
            Acceleration::Default => "no-preference",
            Acceleration::Software => "prefer-software",
        }
    }
}

/// What to do after a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Build another decoder this way (at the next keyframe).
    Rebuild(Acceleration),
    /// Video does not work here: switch to images.
    GiveUp,
}

/// The support ladder of one codec string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodecSupport {
    codec: String,
    acceleration: Acceleration,
    /// The current decoder produced a frame.
    proven: bool,
}

impl CodecSupport {
    /// A new stream configuration with `codec`: a codec seen before keeps its ladder (a
    /// resize sends a new `Config` with the same codec), another one starts over.
    pub fn configured(previous: Option<CodecSupport>, codec: &str) -> CodecSupport {
        match previous {
            Some(p) if p.codec == codec => CodecSupport { proven: false, ..p },
            _ => CodecSupport {
                codec: codec.to_string(),
                acceleration: Acceleration::Default,
                proven: false,
            },
        }
    }

    /// How to build the next decoder.
    pub fn acceleration(&self) -> Acceleration {
        self.acceleration
    }

    /// The current decoder produced a frame.
    pub fn decoded(&mut self) {
        self.proven = true;
    }

    /// The current decoder failed (or `isConfigSupported` rejected the configuration
    /// about to be used: `unsupported`).
    pub fn failed(&mut self, unsupported: bool) -> Next {
        if self.proven && !unsupported {
            // It worked before: an ordinary failure, start the ladder over.
            self.acceleration = Acceleration::Default;
            self.proven = false;
            return Next::Rebuild(Acceleration::Default);
        }
        match self.acceleration {
            Acceleration::Default => {
                self.acceleration = Acceleration::Software;
                Next::Rebuild(Acceleration::Software)
            }
            Acceleration::Software => Next::GiveUp,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_codec_that_never_decodes_tries_software_then_gives_up() {
        let mut s = CodecSupport::configured(None, "avc1.640033");
        assert_eq!(s.acceleration(), Acceleration::Default);
        assert_eq!(s.failed(false), Next::Rebuild(Acceleration::Software));
        assert_eq!(s.acceleration().name(), "prefer-software");
        assert_eq!(s.failed(false), Next::GiveUp);
    }

    #[test]
    fn software_that_works_stays_and_an_ordinary_failure_starts_over() {
        let mut s = CodecSupport::configured(None, "avc1.42C01E");
        assert_eq!(s.failed(true), Next::Rebuild(Acceleration::Software));
        s.decoded();
        // A later hiccup of a decoder that worked is an ordinary failure.
        assert_eq!(s.failed(false), Next::Rebuild(Acceleration::Default));
        assert_eq!(s.acceleration(), Acceleration::Default);
    }

    #[test]
    fn a_resize_keeps_the_ladder_and_another_codec_resets_it() {
        let mut s = CodecSupport::configured(None, "avc1.42C01E");
        s.failed(false);
        let same = CodecSupport::configured(Some(s.clone()), "avc1.42C01E");
        assert_eq!(same.acceleration(), Acceleration::Software);
        let other = CodecSupport::configured(Some(s), "avc1.42C028");
        assert_eq!(other.acceleration(), Acceleration::Default);
    }

    #[test]
    fn unsupported_even_after_frames_climbs_the_ladder() {
        let mut s = CodecSupport::configured(None, "avc1.42C01E");
        s.decoded();
        assert_eq!(s.failed(true), Next::Rebuild(Acceleration::Software));
        assert_eq!(s.failed(true), Next::GiveUp);
    }
}
