//! What one frame shows: the torus's pose at frame `n` and the camera, as the uniform
//! block the shader reads.
//!
//! The pose is a function of the frame number, not of the clock, so frame `n` is the same
//! picture on every run (the tests render it again and compare with what a viewer
//! decoded); with one publisher, `n` is the frame's `frame_seq` on the wire.

use bytemuck::{Pod, Zeroable};
use glam::camera::rh;
use glam::{Mat4, Quat, Vec3, Vec4};

use crate::controls::Orbit;

/// Vertical field of view, radians.
pub const FOV_Y: f32 = std::f32::consts::FRAC_PI_4;
/// Where the light comes from (world space, towards the light): up, right, in front.
pub const LIGHT_DIRECTION: [f32; 3] = [0.5, 0.8, 0.6];
/// The background, linear RGB (a dark slate blue).
pub const BACKGROUND: wgpu::Color = wgpu::Color {
    r: 0.010,
    g: 0.013,
    b: 0.030,
    a: 1.0,
};

/// The uniform block of `shader.wgsl` (`struct Uniforms`), 16-byte aligned fields.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Pod, Zeroable)]
pub struct Uniforms {
    /// World -> clip space.
    pub view_proj: [[f32; 4]; 4],
    /// Object -> world space (a rotation: it also turns the normals).
    pub model: [[f32; 4]; 4],
    /// Unit vector towards the light (w unused).
    pub light_dir: [f32; 4],
    /// The camera position (w unused), for the specular highlight.
    pub eye: [f32; 4],
}

/// The state that decides one frame's picture.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SceneView {
    /// The frame number (1 for the first published frame).
    pub frame: u64,
    /// How far the torus turns per frame, radians (0 keeps it still).
    pub spin_per_frame: f32,
    /// The camera.
    pub orbit: Orbit,
}

impl SceneView {
    /// The torus's rotation at this frame: a spin about its axis and a slower tumble, so
    /// the bands and the highlight both move.
    pub fn model(&self) -> Mat4 {
        let angle = self.spin_per_frame * self.frame as f32;
        let tilt = 0.45 + 0.35 * (angle * 0.37).sin();
        Mat4::from_quat(Quat::from_rotation_x(tilt) * Quat::from_rotation_y(angle))
    }

    /// The uniform block for a `width` x `height` target.
    pub fn uniforms(&self, width: u32, height: u32) -> Uniforms {
        let aspect = width as f32 / height.max(1) as f32;
        let eye = self.orbit.eye();
        let view = rh::view::look_at_mat4(eye, Vec3::ZERO, Vec3::Y);
        // WebGPU's clip space is Direct3D's: y up, depth 0..1.
        let proj = rh::proj::directx::perspective(FOV_Y, aspect, 0.1, 100.0);
        Uniforms {
            view_proj: (proj * view).to_cols_array_2d(),
            model: self.model().to_cols_array_2d(),
            light_dir: Vec3::from(LIGHT_DIRECTION)
                .normalize()
                .extend(0.0)
                .to_array(),
            eye: eye.extend(1.0).to_array(),
        }
    }
}

/// Projects an object-space point of frame `view` to pixel coordinates of a
/// `width` x `height` frame (for tests and for reasoning about what the camera sees).
pub fn project(view: &SceneView, width: u32, height: u32, point: Vec3) -> (f32, f32) {
    let u = view.uniforms(width, height);
    let clip = Mat4::from_cols_array_2d(&u.view_proj)
        * Mat4::from_cols_array_2d(&u.model)
        * Vec4::from((point, 1.0));
    let ndc = clip.truncate() / clip.w;
    (
        (ndc.x + 1.0) * 0.5 * width as f32,
        (1.0 - ndc.y) * 0.5 * height as f32,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(frame: u64, spin: f32) -> SceneView {
        SceneView {
            frame,
            spin_per_frame: spin,
            orbit: Orbit::default(),
        }
    }

    #[test]
    fn the_uniform_block_has_the_shader_layout() {
        // Two mat4x4<f32> and two vec4<f32>: 160 bytes, no padding.
        assert_eq!(std::mem::size_of::<Uniforms>(), 160);
    }

    #[test]
    fn the_pose_depends_on_the_frame_number_only() {
        assert_eq!(view(7, 0.05).model(), view(7, 0.05).model());
        assert_ne!(view(7, 0.05).model(), view(8, 0.05).model());
        // Without spin every frame has the same pose.
        assert_eq!(view(1, 0.0).model(), view(500, 0.0).model());
    }

    #[test]
    fn the_scene_centre_is_in_the_middle_of_the_frame() {
        let (x, y) = project(&view(1, 0.05), 360, 240, Vec3::ZERO);
        assert!(
            (x - 180.0).abs() < 0.5 && (y - 120.0).abs() < 0.5,
            "{x},{y}"
        );
    }

    #[test]
    fn the_torus_fits_in_the_default_view() {
        // Points on the outer rim (radius 1.4) land inside the frame at any pose.
        for frame in (0..200).step_by(13) {
            let v = view(frame, 0.05);
            for k in 0..16 {
                let a = k as f32 / 16.0 * std::f32::consts::TAU;
                let (x, y) = project(&v, 360, 240, Vec3::new(1.4 * a.cos(), 0.0, 1.4 * a.sin()));
                assert!(
                    (0.0..360.0).contains(&x) && (0.0..240.0).contains(&y),
                    "{x},{y}"
                );
            }
        }
    }
}
