//! Session 01's graded exercises. `cargo xtask grade 1` runs these; each test's name starts
//! with its exercise's id (`ex01_2_...` belongs to exercise 1.2), which is how the grader
//! adds up the points in `exercises.toml`.
//!
//! The tests check what the specifications in `src/exercises/<name>.rs` promise, on real
//! photographs and on small images whose answers can be worked out by hand.

mod common;

use common::photo;
use image::{DynamicImage, GrayImage, Luma, LumaA, Rgb, RgbImage, Rgba, RgbaImage};
use session01_image_basics::Filter;
use session01_image_basics::exercises::{Equalize, Pixelate, Sepia, Vignette, pixelate};

fn apply(filter: &dyn Filter, image: impl Into<DynamicImage>) -> DynamicImage {
    filter
        .apply(&image.into())
        .unwrap_or_else(|e| panic!("{}: {e}", filter.name()))
}

fn uniform_rgb(width: u32, height: u32, colour: [u8; 3]) -> RgbImage {
    RgbImage::from_pixel(width, height, Rgb(colour))
}

// ---- 1.1 sepia

#[test]
fn ex01_1_sepia_tints_a_gray_pixel_warm() {
    let out = apply(&Sepia, uniform_rgb(3, 2, [100, 100, 100])).to_rgb8();
    // 100 * (0.393 + 0.769 + 0.189) = 135.1, 100 * 1.203 = 120.3, 100 * 0.937 = 93.7
    assert!(
        out.pixels().all(|p| p.0 == [135, 120, 94]),
        "{:?}",
        out.get_pixel(0, 0)
    );
}

#[test]
fn ex01_1_sepia_mixes_the_primaries_by_the_matrix() {
    // Pure red, green and blue pick out one column of the matrix each: 255 * column.
    let input = RgbImage::from_raw(3, 1, vec![255, 0, 0, 0, 255, 0, 0, 0, 255]).unwrap();
    let out = apply(&Sepia, input).to_rgb8();
    let expected = [[100, 89, 69], [196, 175, 136], [48, 43, 33]];
    for (x, want) in expected.iter().enumerate() {
        assert_eq!(
            &out.get_pixel(x as u32, 0).0,
            want,
            "pixel {x}: each output channel is its own weighted sum of r, g and b, \
             not a tint of the pixel's gray"
        );
    }
}

#[test]
fn ex01_1_sepia_clamps_bright_pixels() {
    let out = apply(&Sepia, uniform_rgb(2, 2, [255, 255, 255])).to_rgb8();
    assert_eq!(out.get_pixel(1, 1).0, [255, 255, 239]);
    let black = apply(&Sepia, uniform_rgb(2, 2, [0, 0, 0])).to_rgb8();
    assert_eq!(black.get_pixel(0, 1).0, [0, 0, 0]);
}

#[test]
fn ex01_1_sepia_follows_the_matrix_on_a_photo() {
    let input = photo("chelsea.png").to_rgb8();
    let out = apply(&Sepia, input.clone()).to_rgb8();
    for (before, after) in input.pixels().zip(out.pixels()) {
        let [r, g, b] = before.0.map(f32::from);
        let expected = [
            0.393 * r + 0.769 * g + 0.189 * b,
            0.349 * r + 0.686 * g + 0.168 * b,
            0.272 * r + 0.534 * g + 0.131 * b,
        ]
        .map(|v| v.round().min(255.0) as u8);
        for (got, want) in after.0.iter().zip(expected) {
            assert!(
                got.abs_diff(want) <= 1,
                "{before:?} became {after:?}, expected {expected:?}"
            );
        }
    }
}

#[test]
fn ex01_1_sepia_keeps_alpha_and_leaves_gray_images_alone() {
    let rgba = RgbaImage::from_fn(8, 8, |x, y| Rgba([200, 100, 50, (x * 30 + y) as u8]));
    let out = apply(&Sepia, rgba.clone()).to_rgba8();
    assert!(out.pixels().zip(rgba.pixels()).all(|(a, b)| a[3] == b[3]));
    assert!(out.pixels().all(|p| p[0] >= p[1] && p[1] >= p[2]));
    let gray = photo("camera.png").to_luma8();
    let out = apply(&Sepia, gray.clone());
    assert!(
        out == DynamicImage::ImageLuma8(gray),
        "a gray image changed"
    );
}

// ---- 1.2 vignette

#[test]
fn ex01_2_vignette_keeps_the_centre_and_darkens_the_corners() {
    let out = apply(
        &Vignette::new(0.5).unwrap(),
        uniform_rgb(101, 61, [200, 150, 100]),
    )
    .to_rgb8();
    assert_eq!(out.get_pixel(50, 30).0, [200, 150, 100], "centre");
    for (x, y) in [(0, 0), (100, 0), (0, 60), (100, 60)] {
        assert_eq!(out.get_pixel(x, y).0, [100, 75, 50], "corner ({x}, {y})");
    }
}

#[test]
fn ex01_2_vignette_falls_off_in_circles() {
    // 101 x 61: centre (50, 30), d_max² = 50² + 30² = 3400. The middle of the left edge is
    // 50 pixels away, the middle of the top edge 30: the first is darker.
    let out = apply(
        &Vignette::new(0.5).unwrap(),
        uniform_rgb(101, 61, [200, 200, 200]),
    )
    .to_rgb8();
    let expected = |d2: f32| (200.0 * (1.0 - 0.5 * d2 / 3400.0)).round() as u8;
    for ((x, y), d2) in [((0, 30), 2500.0), ((50, 0), 900.0), ((20, 0), 1800.0)] {
        assert_eq!(
            out.get_pixel(x, y)[0],
            expected(d2),
            "({x}, {y}) is {d2}² pixels² from the centre: the distance is in pixels, \
             the same in both directions, whatever the image's shape"
        );
    }
}

#[test]
fn ex01_2_vignette_darkens_steadily_and_symmetrically() {
    let input = uniform_rgb(80, 50, [240, 240, 240]);
    let out = apply(&Vignette::new(0.9).unwrap(), input).to_rgb8();
    let row: Vec<u8> = (40..80).map(|x| out.get_pixel(x, 25)[0]).collect();
    assert!(
        row.windows(2).all(|w| w[0] >= w[1]),
        "not steadily darker outwards: {row:?}"
    );
    assert!(row[0] > row[39] + 50, "the edge is barely darker: {row:?}");
    let mirrored = image::imageops::flip_horizontal(&out);
    assert!(mirrored == out, "not symmetric left to right");
    let flipped = image::imageops::flip_vertical(&out);
    assert!(flipped == out, "not symmetric top to bottom");
}

#[test]
fn ex01_2_vignette_follows_the_formula_on_a_photo() {
    let input = photo("coffee.png").to_rgb8();
    let strength = 0.7_f32;
    let out = apply(&Vignette::new(f64::from(strength)).unwrap(), input.clone()).to_rgb8();
    let (cx, cy) = (
        (input.width() - 1) as f32 / 2.0,
        (input.height() - 1) as f32 / 2.0,
    );
    for (x, y, after) in out.enumerate_pixels() {
        let d2 = (x as f32 - cx).powi(2) + (y as f32 - cy).powi(2);
        let factor = 1.0 - strength * d2 / (cx * cx + cy * cy);
        for (got, before) in after.0.iter().zip(input.get_pixel(x, y).0) {
            let want = (f32::from(before) * factor).round();
            assert!(
                (f32::from(*got) - want).abs() <= 1.0,
                "({x}, {y}): {before} became {got}, expected {want}"
            );
        }
    }
}

#[test]
fn ex01_2_vignette_of_zero_is_the_identity_and_alpha_stays() {
    let input = photo("astronaut.png");
    assert!(apply(&Vignette::new(0.0).unwrap(), input.clone()) == input);
    let rgba = RgbaImage::from_pixel(9, 9, Rgba([90, 90, 90, 77]));
    let out = apply(&Vignette::new(1.0).unwrap(), rgba).to_rgba8();
    assert!(out.pixels().all(|p| p[3] == 77), "alpha changed");
    assert_eq!(
        out.get_pixel(0, 0).0,
        [0, 0, 0, 77],
        "strength 1 makes corners black"
    );
    let dot = apply(
        &Vignette::new(1.0).unwrap(),
        uniform_rgb(1, 1, [10, 20, 30]),
    );
    assert_eq!(
        dot.to_rgb8().get_pixel(0, 0).0,
        [10, 20, 30],
        "a 1x1 image is its own centre"
    );
}

// ---- 1.3 pixelate

#[test]
fn ex01_3_pixelate_gives_each_block_its_mean() {
    let input = photo("chelsea.png").to_rgb8();
    let block = 16;
    let out = apply(&Pixelate::new(block.into()).unwrap(), input.clone()).to_rgb8();
    assert_eq!(out.dimensions(), input.dimensions());
    for top in (0..input.height()).step_by(block as usize) {
        for left in (0..input.width()).step_by(block as usize) {
            let cell: Vec<(u32, u32)> = (top..(top + block).min(input.height()))
                .flat_map(|y| (left..(left + block).min(input.width())).map(move |x| (x, y)))
                .collect();
            let mean: Vec<u8> = (0..3)
                .map(|c| {
                    let sum: u32 = cell
                        .iter()
                        .map(|&(x, y)| u32::from(input.get_pixel(x, y)[c]))
                        .sum();
                    (f64::from(sum) / cell.len() as f64).round() as u8
                })
                .collect();
            for &(x, y) in &cell {
                let got = out.get_pixel(x, y).0;
                assert!(
                    got.iter().zip(&mean).all(|(g, m)| g.abs_diff(*m) <= 1),
                    "({x}, {y}) is {got:?}, its block's mean is {mean:?}"
                );
            }
        }
    }
}

#[test]
fn ex01_3_pixelate_handles_partial_blocks_at_the_edges() {
    // 5 x 3 with blocks of 4: a 4x3 cell and a 1x3 cell.
    let gray = GrayImage::from_fn(5, 3, |x, y| Luma([(x * 10 + y * 40) as u8]));
    let out = apply(&Pixelate::new(4).unwrap(), gray).to_luma8();
    // Left cell: x 0..4, y 0..3 -> mean of x*10 + y*40 = 15 + 40 = 55.
    assert!(
        (0..4).all(|x| (0..3).all(|y| out.get_pixel(x, y)[0] == 55)),
        "{out:?}"
    );
    // Right cell: x = 4 -> 40 + 40 = 80.
    assert!((0..3).all(|y| out.get_pixel(4, y)[0] == 80), "{out:?}");
}

#[test]
fn ex01_3_pixelate_averages_alpha_and_covers_small_images() {
    let rgba = RgbaImage::from_fn(2, 2, |x, _| {
        if x == 0 {
            Rgba([0, 0, 0, 0])
        } else {
            Rgba([200, 100, 50, 255])
        }
    });
    let out = apply(&Pixelate::new(64).unwrap(), rgba).to_rgba8();
    assert!(
        out.pixels().all(|p| p.0 == [100, 50, 25, 128]),
        "{:?}",
        out.get_pixel(0, 0)
    );
    let la = image::GrayAlphaImage::from_pixel(3, 3, LumaA([7, 9]));
    let same = apply(&Pixelate::new(2).unwrap(), la.clone());
    assert!(
        same == DynamicImage::ImageLumaA8(la),
        "a uniform image changed"
    );
}

#[test]
fn ex01_3_pixelate_of_one_is_the_identity() {
    let input = photo("coffee.png");
    assert!(apply(&Pixelate::new(1).unwrap(), input.clone()) == input);
}

#[test]
fn ex01_3_pixelate_of_zero_is_an_unchanged_copy() {
    let rgb = RgbImage::from_fn(3, 2, |x, y| Rgb([x as u8 * 40, y as u8 * 90, 7]));
    let out = std::panic::catch_unwind(|| pixelate(&rgb, 0));
    assert!(
        out.is_ok_and(|out| out == rgb),
        "pixelate(image, 0) has no cells to average: it returns the image unchanged, without \
         panicking (`step_by(0)` panics)"
    );
}

// ---- 1.4 histogram equalisation

#[test]
fn ex01_4_equalize_maps_small_images_exactly() {
    // cdf: 10 -> 1, 20 -> 3, 30 -> 4; cdf_min = 1, n = 4: 0, 2 * 255 / 3 = 170, 255.
    let gray = GrayImage::from_raw(2, 2, vec![10, 20, 20, 30]).unwrap();
    let out = apply(&Equalize, gray).to_luma8();
    assert_eq!(out.into_raw(), vec![0, 170, 170, 255], "gray 2x2");
    // One histogram over all six colour samples: 10 -> 1, 20 -> 3, 30 -> 5, 40 -> 6;
    // cdf_min = 1, n = 6: 0, 2 * 255 / 5 = 102, 4 * 255 / 5 = 204, 255.
    let rgb = RgbImage::from_raw(2, 1, vec![10, 20, 30, 20, 30, 40]).unwrap();
    let out = apply(&Equalize, rgb).to_rgb8();
    assert_eq!(
        out.into_raw(),
        vec![0, 102, 204, 102, 204, 255],
        "RGB 2x1: one histogram counts the red, green and blue samples together"
    );
}

#[test]
fn ex01_4_equalize_uses_one_mapping_for_all_channels() {
    let input = photo("chelsea.png").to_rgb8();
    // A dull copy: every sample squeezed into 100..=121.
    let dull = RgbImage::from_fn(input.width(), input.height(), |x, y| {
        Rgb(input.get_pixel(x, y).0.map(|v| 100 + v / 12))
    });
    let out = apply(&Equalize, dull.clone()).to_rgb8();
    let (min, max) = (out.iter().min(), out.iter().max());
    assert_eq!(
        (min, max),
        (Some(&0), Some(&255)),
        "not stretched to 0..=255"
    );
    // Every level maps to one level, whichever channel it is in, and the order is kept.
    let mut map = [None::<u8>; 256];
    for (&before, &after) in dull.iter().zip(out.iter()) {
        let slot = &mut map[usize::from(before)];
        assert!(
            slot.is_none_or(|v| v == after),
            "level {before} became {} in one place and {after} in another: \
             all channels must share one table",
            slot.unwrap_or_default()
        );
        *slot = Some(after);
    }
    let mapped: Vec<u8> = map.iter().flatten().copied().collect();
    assert!(
        mapped.windows(2).all(|w| w[0] <= w[1]),
        "order of levels changed: {mapped:?}"
    );
}

#[test]
fn ex01_4_equalize_keeps_gray_pixels_gray() {
    // The left half of a colour photo turned gray: equalisation must not tint it.
    let mut input = photo("chelsea.png").to_rgb8();
    let half = input.width() / 2;
    for (x, _, pixel) in input.enumerate_pixels_mut() {
        if x < half {
            let y = session01_image_basics::pixels::luma(&pixel.0);
            pixel.0 = [y; 3];
        }
    }
    let out = apply(&Equalize, input).to_rgb8();
    for (x, y, pixel) in out.enumerate_pixels().filter(|(x, _, _)| *x < half) {
        let [r, g, b] = pixel.0;
        assert!(
            r == g && g == b,
            "the gray pixel ({x}, {y}) became {:?}",
            pixel.0
        );
    }
}

#[test]
fn ex01_4_equalize_flattens_the_histogram() {
    let gray = photo("camera.png").to_luma8();
    let out = apply(&Equalize, gray).to_luma8();
    let dark = out.pixels().filter(|p| p[0] < 128).count() as f64 / out.len() as f64;
    assert!(
        (0.4..=0.6).contains(&dark),
        "{dark:.2} of the pixels are below mid-gray"
    );
}

#[test]
fn ex01_4_equalize_leaves_alpha_and_single_level_images_alone() {
    // Colour samples 0, 40, 80, 120 counted 20, 4, 4, 20 times (alpha is not counted):
    // n = 48, cdf_min = 20, so 0, 4 * 255 / 28 = 36, 8 * 255 / 28 = 73 and 255.
    let rgba = RgbaImage::from_fn(4, 4, |x, y| Rgba([0, (x * 40) as u8, 120, (y * 60) as u8]));
    let out = apply(&Equalize, rgba.clone()).to_rgba8();
    for (before, after) in rgba.pixels().zip(out.pixels()) {
        assert_eq!(after[3], before[3], "alpha changed");
        let want = [0, [0, 36, 73, 255][usize::from(before[1] / 40)], 255];
        assert_eq!(after.0[..3], want, "{before:?} became {after:?}");
    }
    let flat = RgbImage::from_pixel(5, 4, Rgb([77, 77, 77]));
    let out = apply(&Equalize, flat.clone());
    assert!(
        out == DynamicImage::ImageRgb8(flat),
        "an image of one level changed"
    );
}
