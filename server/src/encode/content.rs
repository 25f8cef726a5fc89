//! [`Content`]: what a stream's frames show, which picks the H.264 encoder's tuning
//! ([`super::h264::tuning`], where the measurements behind each choice are).

use std::fmt;

/// What a stream's frames show. The H.264 encoder tunes itself for it
/// ([`super::h264::tuning::H264Tuning::for_content`]); image encoders ignore it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Content {
    /// Rendered or synthetic frames (a simulation, a plot, a 3D scene, the test patterns):
    /// clean pixels, smooth gradients, flat areas. The default.
    #[default]
    Rendered,
    /// A desktop or an application's user interface: text, sharp edges, large areas that
    /// do not change from frame to frame.
    Screen,
    /// Camera-like video: natural scenes with sensor noise in every pixel of every frame.
    Camera,
}

impl Content {
    /// Every kind, in the order the CLI lists them.
    pub const ALL: [Content; 3] = [Content::Rendered, Content::Screen, Content::Camera];

    /// The CLI name: `rendered`, `screen` or `camera`.
    pub fn name(self) -> &'static str {
        match self {
            Content::Rendered => "rendered",
            Content::Screen => "screen",
            Content::Camera => "camera",
        }
    }

    /// Parses a CLI name.
    pub fn from_name(name: &str) -> Option<Content> {
        Content::ALL.into_iter().find(|c| c.name() == name)
    }
}

impl fmt::Display for Content {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_are_refused() {
        for content in Content::ALL {
            assert_eq!(Content::from_name(content.name()), Some(content));
            assert_eq!(content.to_string(), content.name());
        }
        assert_eq!(Content::default(), Content::Rendered);
        assert_eq!(Content::from_name("Screen"), None, "names are lower case");
        assert_eq!(Content::from_name(""), None);
    }
}
