//! What can go wrong between opening a GPU and publishing a frame.

/// A failure of the example's renderer or render loop.
#[derive(Debug, thiserror::Error)]
pub enum SceneError {
    /// No adapter on the enabled backends: no Vulkan driver is installed (on Debian,
    /// `mesa-vulkan-drivers` brings lavapipe, the software one) or `WGPU_BACKEND` names a
    /// backend this crate was not built with (Vulkan only).
    #[error(
        "no wgpu adapter on backends {backends}: {reason}. Install a Vulkan driver (Debian: \
         `apt-get install mesa-vulkan-drivers` for lavapipe, the software rasteriser); \
         WGPU_BACKEND, if set, must name vulkan"
    )]
    NoAdapter {
        /// The backends that were searched.
        backends: String,
        /// What wgpu said.
        reason: String,
    },
    /// The adapter was found but would not open a device.
    #[error("opening the device: {0}")]
    Device(#[from] wgpu::RequestDeviceError),
    /// The frame size is zero or above the device's texture limit.
    #[error("frame size {width}x{height} is not renderable (sides 1..={max})")]
    Size {
        /// Requested width.
        width: u32,
        /// Requested height.
        height: u32,
        /// The device's largest texture side.
        max: u32,
    },
    /// Waiting for the copy or mapping the readback buffer failed.
    #[error("reading the frame back: {0}")]
    Readback(String),
    /// The display refused the frame.
    #[error("publishing: {0}")]
    Publish(#[from] rfb::FrameError),
    /// The render thread ended without a result (it panicked or was cancelled).
    #[error("the render thread ended: {0}")]
    Thread(String),
}
