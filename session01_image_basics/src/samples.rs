//! The bundled sample photographs, and a generator for large test images.
//!
//! The photographs (public domain and CC0, listed with their provenance in
//! `samples/PROVENANCE.md`) ship with the crate, so every session runs on a fresh clone
//! without downloads. Large images are generated instead of committed: the generator is
//! deterministic, so every run and every machine benchmarks the same pixels.

use std::path::PathBuf;

use image::{Rgb, RgbImage};

/// The bundled photographs, colour ones first.
pub const PHOTOS: &[&str] = &[
    "astronaut.png",
    "chelsea.png",
    "coffee.png",
    "rocket.jpg",
    "hubble_deep_field.jpg",
    "camera.png",
    "brick.png",
];

/// The photograph the demo uses by default.
pub const DEMO_PHOTO: &str = "astronaut.png";

/// The folder holding the bundled photographs.
pub fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("samples")
}

/// The path of a bundled photograph, e.g. `samples::path("chelsea.png")`.
pub fn path(name: &str) -> PathBuf {
    dir().join(name)
}

/// Paths of every bundled photograph.
pub fn all() -> Vec<PathBuf> {
    PHOTOS.iter().map(|name| path(name)).collect()
}

/// A small, fast pseudo-random generator (SplitMix64): the same seed gives the same image.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..bound`.
    fn below(&mut self, bound: u32) -> u32 {
        (self.next() % u64::from(bound.max(1))) as u32
    }
}

/// Generates a deterministic photo-like RGB test image of any size.
///
/// It has what filters react to in real photographs: smooth gradients (where blur changes
/// little), hard-edged shapes (where edges and sharpening act), a ring pattern of rising
/// frequency (where resampling aliases), and fine grain (where the median works).
/// The standard benchmark frame is `generate(3840, 2160)`.
// ANCHOR: generate
pub fn generate(width: u32, height: u32) -> RgbImage {
    let mut rng = SplitMix64(0x5EED_1A6E);
    let (w, h) = (width.max(1) as f32, height.max(1) as f32);
    // A sky-like diagonal gradient.
    let mut image = RgbImage::from_fn(width, height, |x, y| {
        let (u, v) = (x as f32 / w, y as f32 / h);
        Rgb([
            (40.0 + 150.0 * u) as u8,
            (70.0 + 120.0 * v) as u8,
            (200.0 - 120.0 * u * v) as u8,
        ])
    });
    // Hard-edged rectangles and discs in random colours.
    let shapes = (width as u64 * height as u64 / 40_000).clamp(8, 400) as u32;
    for _ in 0..shapes {
        let colour = Rgb([
            rng.below(256) as u8,
            rng.below(256) as u8,
            rng.below(256) as u8,
        ]);
        let (cx, cy) = (rng.below(width), rng.below(height));
        let size = 4 + rng.below((width.min(height) / 8).max(1));
        let disc = rng.below(2) == 0;
        let (x0, y0) = (cx.saturating_sub(size), cy.saturating_sub(size));
        let (x1, y1) = ((cx + size).min(width), (cy + size).min(height));
        for y in y0..y1 {
            for x in x0..x1 {
                let (dx, dy) = (i64::from(x) - i64::from(cx), i64::from(y) - i64::from(cy));
                if !disc || dx * dx + dy * dy <= i64::from(size) * i64::from(size) {
                    image.put_pixel(x, y, colour);
                }
            }
        }
    }
    // A zone plate (rings whose frequency rises outwards) in the right third.
    let (zx, zy, zr) = (w * 0.8, h * 0.5, w.min(h) * 0.3);
    for (x, y, pixel) in image.enumerate_pixels_mut() {
        let (dx, dy) = (x as f32 - zx, y as f32 - zy);
        let r2 = dx * dx + dy * dy;
        if r2 < zr * zr {
            let level = (127.5 + 127.5 * (r2 * std::f32::consts::PI / (2.0 * zr)).cos()) as u8;
            *pixel = Rgb([level, level, level]);
        }
    }
    // Grain: a small deterministic offset per sample.
    for sample in image.iter_mut() {
        let grain = (rng.next() % 17) as i16 - 8;
        *sample = (i16::from(*sample) + grain).clamp(0, 255) as u8;
    }
    image
}
// ANCHOR_END: generate
