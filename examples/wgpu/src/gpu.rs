//! Finding an adapter and opening a device, with no window: on a machine without a GPU
//! this is Mesa's lavapipe (software Vulkan, Debian `mesa-vulkan-drivers`).
//!
//! The backends come from `WGPU_BACKEND` when set, otherwise
//! every backend compiled in, which for this crate is Vulkan only.

use crate::SceneError;

/// What the adapter says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdapterSummary {
    /// The device name, e.g. `llvmpipe (LLVM 15.0.6, 256 bits)` for lavapipe.
    pub name: String,
    /// The backend, e.g. `vulkan`.
    pub backend: String,
    /// `Cpu` for a software rasteriser, `DiscreteGpu`, `IntegratedGpu`...
    pub device_type: String,
    /// The driver and its version, e.g. `llvmpipe` / `Mesa 22.3.6 (LLVM 15.0.6)`.
    pub driver: String,
}

impl std::fmt::Display for AdapterSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}, {}, {})",
            self.name, self.backend, self.device_type, self.driver
        )
    }
}

/// An open device and its queue.
#[derive(Debug)]
pub struct Gpu {
    /// The device: creates every resource.
    pub device: wgpu::Device,
    /// The queue: uploads and submissions.
    pub queue: wgpu::Queue,
    /// Which adapter it is.
    pub adapter: AdapterSummary,
}

impl Gpu {
    /// Opens the first adapter the enabled backends offer, with default limits.
    pub async fn open() -> Result<Gpu, SceneError> {
        let descriptor = wgpu::InstanceDescriptor::new_without_display_handle_from_env();
        let backends = descriptor.backends;
        let instance = wgpu::Instance::new(descriptor);
        let adapter = instance
            .request_adapter(&wgpu::RequestAdapterOptions::default())
            .await
            .map_err(|e| SceneError::NoAdapter {
                backends: format!("{backends:?}"),
                reason: e.to_string(),
            })?;
        let info = adapter.get_info();
        let summary = AdapterSummary {
            name: info.name,
            backend: info.backend.to_string(),
            device_type: format!("{:?}", info.device_type),
            driver: format!("{} {}", info.driver, info.driver_info)
                .trim()
                .to_string(),
        };
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("rfb-example-wgpu"),
                ..Default::default()
            })
            .await?;
        Ok(Gpu {
            device,
            queue,
            adapter: summary,
        })
    }
}
