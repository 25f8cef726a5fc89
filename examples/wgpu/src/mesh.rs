//! The scene's geometry: a torus in six colour bands, as an indexed triangle list with
//! per-vertex normals for the lighting.

use bytemuck::{Pod, Zeroable};

/// One vertex as the shader reads it (`@location(0..3)`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Pod, Zeroable)]
pub struct Vertex {
    /// Object-space position.
    pub position: [f32; 3],
    /// Unit outward normal.
    pub normal: [f32; 3],
    /// Linear RGB albedo.
    pub color: [f32; 3],
}

impl Vertex {
    /// The vertex buffer layout matching `shader.wgsl`.
    pub const LAYOUT: wgpu::VertexBufferLayout<'static> = wgpu::VertexBufferLayout {
        array_stride: std::mem::size_of::<Vertex>() as wgpu::BufferAddress,
        step_mode: wgpu::VertexStepMode::Vertex,
        attributes: &wgpu::vertex_attr_array![0 => Float32x3, 1 => Float32x3, 2 => Float32x3],
    };
}

/// Triangles to draw.
#[derive(Debug, Clone, PartialEq)]
pub struct Mesh {
    /// Vertices.
    pub vertices: Vec<Vertex>,
    /// Three indices per triangle, counter-clockwise seen from outside.
    pub indices: Vec<u32>,
}

/// The band colours (sRGB, as a designer would pick them).
pub const BANDS_SRGB: [[u8; 3]; 6] = [
    [230, 57, 70],   // red
    [244, 162, 97],  // orange
    [233, 196, 106], // yellow
    [42, 157, 143],  // teal
    [69, 123, 157],  // blue
    [131, 56, 236],  // violet
];

/// An sRGB-encoded channel to linear light: the shader lights in linear space and the
/// `Rgba8UnormSrgb` target encodes the result back to sRGB on store.
pub fn srgb_to_linear(channel: u8) -> f32 {
    let c = f32::from(channel) / 255.0;
    if c <= 0.04045 {
        c / 12.92
    } else {
        ((c + 0.055) / 1.055).powf(2.4)
    }
}

/// A torus around the y axis: `major` radius of the ring, `minor` radius of the tube,
/// `rings` segments around the ring (each band `rings / 6` of them) and `sides` around the
/// tube.
pub fn torus(major: f32, minor: f32, rings: u32, sides: u32) -> Mesh {
    let mut vertices = Vec::with_capacity(((rings + 1) * (sides + 1)) as usize);
    for i in 0..=rings {
        let u = i as f32 / rings as f32 * std::f32::consts::TAU;
        let band = BANDS_SRGB[((i % rings) * 6 / rings) as usize];
        let color = band.map(srgb_to_linear);
        let (sin_u, cos_u) = u.sin_cos();
        for j in 0..=sides {
            let v = j as f32 / sides as f32 * std::f32::consts::TAU;
            let (sin_v, cos_v) = v.sin_cos();
            let normal = [cos_v * cos_u, sin_v, cos_v * sin_u];
            let ring = major + minor * cos_v;
            vertices.push(Vertex {
                position: [ring * cos_u, minor * sin_v, ring * sin_u],
                normal,
                color,
            });
        }
    }
    let stride = sides + 1;
    let mut indices = Vec::with_capacity((rings * sides * 6) as usize);
    for i in 0..rings {
        for j in 0..sides {
            let a = i * stride + j;
            let b = (i + 1) * stride + j;
            indices.extend_from_slice(&[a, a + 1, b, b, a + 1, b + 1]);
        }
    }
    Mesh { vertices, indices }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_torus_has_every_triangle_and_unit_normals() {
        let mesh = torus(1.0, 0.4, 48, 16);
        assert_eq!(mesh.vertices.len(), 49 * 17);
        assert_eq!(mesh.indices.len(), 48 * 16 * 6);
        assert!(mesh
            .indices
            .iter()
            .all(|&i| (i as usize) < mesh.vertices.len()));
        for v in &mesh.vertices {
            let n = glam::Vec3::from(v.normal);
            assert!((n.length() - 1.0).abs() < 1e-5);
            // The normal points away from the tube's centre line.
            let p = glam::Vec3::from(v.position);
            let centre = glam::Vec3::new(p.x, 0.0, p.z).normalize();
            assert!((p - centre).dot(n) > 0.0);
        }
    }

    #[test]
    fn triangles_wind_counter_clockwise_seen_from_outside() {
        let mesh = torus(1.0, 0.4, 24, 12);
        for tri in mesh.indices.chunks_exact(3) {
            let [a, b, c] = [tri[0], tri[1], tri[2]].map(|i| mesh.vertices[i as usize]);
            let (pa, pb, pc) = (
                glam::Vec3::from(a.position),
                glam::Vec3::from(b.position),
                glam::Vec3::from(c.position),
            );
            let face = (pb - pa).cross(pc - pa);
            let normal = glam::Vec3::from(a.normal) + glam::Vec3::from(b.normal);
            assert!(face.dot(normal) > 0.0, "triangle {tri:?} faces inwards");
        }
    }

    #[test]
    fn all_six_bands_are_used() {
        let mesh = torus(1.0, 0.4, 48, 8);
        let mut colors: Vec<[u32; 3]> = mesh
            .vertices
            .iter()
            .map(|v| v.color.map(f32::to_bits))
            .collect();
        colors.sort_unstable();
        colors.dedup();
        assert_eq!(colors.len(), 6);
    }

    #[test]
    fn srgb_decoding_matches_the_standard_curve() {
        assert_eq!(srgb_to_linear(0), 0.0);
        assert_eq!(srgb_to_linear(255), 1.0);
        // sRGB 188 is about 50 % linear light.
        assert!((srgb_to_linear(188) - 0.5029).abs() < 1e-3);
    }
}
