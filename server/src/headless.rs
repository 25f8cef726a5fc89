//! [`Display::headless`]: a display with no server behind it, for publishing and
//! recording where no viewer will ever connect (clip generators, CI, tests).

use std::sync::{Arc, Weak};

use crate::display::Display;
use crate::error::ServeError;
use crate::hub::DEFAULT_STREAM;
use crate::options::StreamOptions;
use crate::stream::{StreamContext, StreamState};

impl Display {
    /// A display that no server hosts: `publish()`, `record()` and the events API work as
    /// usual, `url()` is empty, `port()` is 0 and no viewer can connect. `options` still
    /// decide which frames `publish()` accepts (even sides when H.264 is enabled).
    ///
    /// Errors: a zero side.
    pub fn headless(
        width: u32,
        height: u32,
        options: StreamOptions,
    ) -> Result<Display, ServeError> {
        if width == 0 || height == 0 {
            return Err(ServeError::Options(format!(
                "display size {width}x{height} has a zero side"
            )));
        }
        let state = StreamState::new(
            DEFAULT_STREAM,
            width,
            height,
            options,
            StreamContext::default(),
        );
        Ok(Display {
            state: Arc::new(state),
            server: Weak::new(),
            owns_server: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::Frame;

    #[tokio::test]
    async fn publishes_without_a_server_and_closes() {
        assert!(Display::headless(0, 2, StreamOptions::default()).is_err());
        let display = Display::headless(4, 2, StreamOptions::default()).expect("display");
        assert_eq!(display.size(), (4, 2));
        assert_eq!((display.url(), display.port()), (String::new(), 0));
        let seq = display
            .publish(Frame::rgb(6, 4, vec![0; 72]).expect("frame"))
            .expect("publish");
        assert_eq!((seq, display.size()), (1, (6, 4)));
        assert_eq!(display.client_count(), 0);
        display.close().await;
        let refused = display.publish(Frame::rgb(6, 4, vec![0; 72]).expect("frame"));
        assert_eq!(refused, Err(crate::error::FrameError::Closed));
    }
}
