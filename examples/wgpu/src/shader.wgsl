// The torus: transformed by `model`, projected by `view_proj`, lit by one directional
// light (Blinn-Phong) in linear RGB. The render target is `Rgba8UnormSrgb`, so the
// colour written here is encoded to sRGB by the hardware on store.

struct Uniforms {
    view_proj: mat4x4<f32>,
    model: mat4x4<f32>,
    light_dir: vec4<f32>,
    eye: vec4<f32>,
};

@group(0) @binding(0) var<uniform> u: Uniforms;

struct VertexIn {
    @location(0) position: vec3<f32>,
    @location(1) normal: vec3<f32>,
    @location(2) color: vec3<f32>,
};

struct VertexOut {
    @builtin(position) clip: vec4<f32>,
    @location(0) world: vec3<f32>,
    @location(1) normal: vec3<f32>,
    @location(2) color: vec3<f32>,
};

@vertex
fn vs_main(v: VertexIn) -> VertexOut {
    let world = u.model * vec4<f32>(v.position, 1.0);
    var out: VertexOut;
    out.clip = u.view_proj * world;
    out.world = world.xyz;
    // `model` is a pure rotation, so it turns normals too.
    out.normal = (u.model * vec4<f32>(v.normal, 0.0)).xyz;
    out.color = v.color;
    return out;
}

@fragment
fn fs_main(in: VertexOut) -> @location(0) vec4<f32> {
    let n = normalize(in.normal);
    let l = normalize(u.light_dir.xyz);
    let v = normalize(u.eye.xyz - in.world);
    let h = normalize(l + v);
    let diffuse = max(dot(n, l), 0.0);
    let specular = pow(max(dot(n, h), 0.0), 48.0) * select(0.0, 1.0, diffuse > 0.0);
    let ambient = 0.08;
    let lit = in.color * (ambient + 0.9 * diffuse) + vec3<f32>(0.5 * specular);
    return vec4<f32>(lit, 1.0);
}
