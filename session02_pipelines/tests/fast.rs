//! The fast kernels against session 01's readable ones: same size, same layout, samples
//! within each kernel's stated tolerance, on photos, on every pixel layout and on images
//! a few pixels wide; the 3x3 median and Sobel on rows of every length around their SIMD
//! steps, and Sobel's rounding for every gradient; and the same output whatever the number
//! of threads.

mod common;

use common::filter;
use common::session01::photo;
use image::{DynamicImage, GrayAlphaImage, GrayImage, RgbImage, RgbaImage};
use session01_image_basics::catalog;
use session01_image_basics::pixels::to_u8;
use session02_pipelines::fast::{self, Tolerance};

/// Each filter with the parameters it is checked at.
const CASES: &[&str] = &[
    "grayscale",
    "brightness:factor=1.4",
    "brightness:factor=0.3",
    "contrast:factor=1.7",
    "invert",
    "threshold:level=100",
    "blur:sigma=0.6",
    "blur:sigma=3",
    "blur:sigma=9",
    "blur:sigma=25",
    "box-blur:radius=1",
    "box-blur:radius=3",
    "box-blur:radius=5",
    "box-blur:radius=8",
    "sharpen",
    "sharpen:amount=2.5",
    "unsharp",
    "unsharp:sigma=1,amount=3,threshold=0",
    "edges",
    "median",
    "median:radius=2",
    "median:radius=4",
    "resize:width=300",
    // Half of chelsea's 300 rows: the kernel's rows in mirrored pairs.
    "resize:width=226,height=150",
    "resize:width=97,height=301,filter=bilinear",
    "resize:width=640,filter=nearest",
    "rotate",
    "rotate:angle=180",
    "rotate:angle=270",
    "flip",
    "flip:direction=vertical",
    "crop:x=3,y=5,width=40,height=20",
];

/// Photos in every layout, and small images where edges are most of the picture.
fn images() -> Vec<(String, DynamicImage)> {
    let chelsea = photo("chelsea.png");
    let rgb = chelsea.to_rgb8();
    let rgba = RgbaImage::from_fn(rgb.width(), rgb.height(), |x, y| {
        let [r, g, b] = rgb.get_pixel(x, y).0;
        image::Rgba([r, g, b, (x * 3 + y) as u8])
    });
    let gray = chelsea.to_luma8();
    let gray_alpha = GrayAlphaImage::from_fn(gray.width(), gray.height(), |x, y| {
        image::LumaA([gray.get_pixel(x, y).0[0], (x ^ y) as u8])
    });
    let noise = |w: u32, h: u32| {
        GrayImage::from_fn(w, h, |x, y| {
            image::Luma([((x * 7919 + y * 104_729) % 251) as u8])
        })
    };
    let mut out = vec![
        (
            "chelsea rgb".to_owned(),
            DynamicImage::ImageRgb8(rgb.clone()),
        ),
        ("chelsea rgba".to_owned(), DynamicImage::ImageRgba8(rgba)),
        ("chelsea gray".to_owned(), DynamicImage::ImageLuma8(gray)),
        (
            "chelsea gray+alpha".to_owned(),
            DynamicImage::ImageLumaA8(gray_alpha),
        ),
        ("camera".to_owned(), photo("camera.png")),
    ];
    // 64x40: whole 8x8 blocks to the last byte of the image. 0x5 and 5x0: no pixels.
    for (w, h) in [
        (1, 1),
        (1, 9),
        (9, 1),
        (2, 2),
        (67, 45),
        (64, 40),
        (0, 5),
        (5, 0),
    ] {
        let small = DynamicImage::ImageLuma8(noise(w, h));
        out.push((
            format!("{w}x{h} rgb"),
            DynamicImage::ImageRgb8(small.to_rgb8()),
        ));
        out.push((format!("{w}x{h} gray"), small));
    }
    out
}

/// The largest and the mean absolute difference of two images of the same shape.
fn difference(a: &DynamicImage, b: &DynamicImage) -> (u8, f64) {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let max = a
        .iter()
        .zip(b)
        .map(|(x, y)| x.abs_diff(*y))
        .max()
        .unwrap_or(0);
    let sum: u64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| u64::from(x.abs_diff(*y)))
        .sum();
    (max, sum as f64 / a.len().max(1) as f64)
}

#[test]
fn every_filter_of_session_01_has_a_fast_kernel() {
    for info in catalog() {
        assert!(
            fast::tolerance(info.name).is_some(),
            "{} has no fast kernel",
            info.name
        );
    }
}

#[test]
fn accelerated_filters_keep_their_name_and_spec() {
    for case in CASES {
        let reference = filter(case);
        let spec = reference.spec();
        let fast = fast::accelerate(reference);
        assert_eq!(fast.spec(), spec);
        assert_eq!(fast.name(), filter(case).name());
        assert_eq!(fast.kind(), filter(case).kind());
    }
}

#[test]
fn fast_kernels_match_session_01_within_their_tolerance() {
    let images = images();
    let mut failures = Vec::new();
    for case in CASES {
        let reference = filter(case);
        let Tolerance { max, mean } = fast::tolerance(reference.name()).unwrap();
        let fast = fast::accelerate(filter(case));
        for (label, image) in &images {
            let expected = reference.apply(image);
            let got = fast.apply(image);
            let (expected, got) = match (expected, got) {
                (Ok(e), Ok(g)) => (e, g),
                (Err(e), Err(g)) => {
                    assert_eq!(e.to_string(), g.to_string(), "{case} on {label}");
                    continue;
                }
                (e, g) => panic!("{case} on {label}: reference {e:?}, fast {g:?}"),
            };
            assert_eq!(got.color(), expected.color(), "{case} on {label}");
            assert_eq!(got.dimensions(), expected.dimensions(), "{case} on {label}");
            let (worst, average) = difference(&got, &expected);
            if worst > max || average > mean {
                failures.push(format!(
                    "{case} on {label}: max {worst} (allowed {max}), mean {average:.3} \
                     (allowed {mean})"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Images of every width up to 80 and a few wider, in every layout, with different samples
/// in each channel: every length of the tail a kernel's SIMD steps leave, in each layout.
/// 5 rows high, 17 and 35: the kernels' bands of 16 rows read the rows of the bands beside
/// them, and the last band may be a single row.
fn rows_of_every_length() -> Vec<DynamicImage> {
    let sample =
        |x: u32, y: u32, channel: u32| ((x * 7919 + y * 104_729 + channel * 65_537) % 251) as u8;
    let widths = (1..=80).chain([135, 136, 200, 451]);
    widths
        .flat_map(|width| [5, 17, 35].map(|height| (width, height)))
        .flat_map(|(width, height)| {
            [
                DynamicImage::ImageLuma8(GrayImage::from_fn(width, height, |x, y| {
                    image::Luma([sample(x, y, 0)])
                })),
                DynamicImage::ImageLumaA8(GrayAlphaImage::from_fn(width, height, |x, y| {
                    image::LumaA([0, 1].map(|k| sample(x, y, k)))
                })),
                DynamicImage::ImageRgb8(RgbImage::from_fn(width, height, |x, y| {
                    image::Rgb([0, 1, 2].map(|k| sample(x, y, k)))
                })),
                DynamicImage::ImageRgba8(RgbaImage::from_fn(width, height, |x, y| {
                    image::Rgba([0, 1, 2, 3].map(|k| sample(x, y, k)))
                })),
            ]
        })
        .collect()
}

/// `case`'s fast kernel gives session 01's image, bit for bit, on
/// [`rows_of_every_length`]; it is the fast kernel that runs, not the reference.
fn matches_on_rows_of_every_length(case: &str) {
    let reference = filter(case);
    let fast = fast::accelerate(filter(case));
    assert!(format!("{fast:?}").starts_with("Fast("), "{fast:?}");
    for image in &rows_of_every_length() {
        let expected = reference.apply(image).unwrap();
        let got = fast.apply(image).unwrap();
        assert!(
            got.as_bytes() == expected.as_bytes(),
            "{case} on {}x{} {:?}: differs from session 01",
            image.width(),
            image.height(),
            image.color()
        );
    }
}

/// The 3x3 median: its SIMD steps read 72 samples, and the last step of a row reads a
/// strip shifted back; short rows run the plain loop.
#[test]
fn the_median_matches_session_01_on_rows_of_every_length() {
    matches_on_rows_of_every_length("median");
}

/// Sobel: luma and the spread of magnitudes into pixels go 16 pixels a step, square roots
/// 8; the pixels after the last whole step run the plain code.
#[test]
fn sobel_matches_session_01_on_rows_of_every_length() {
    matches_on_rows_of_every_length("edges");
}

/// The formula the fast Sobel rounds with (`root` in `fast::roots`, which its SIMD loop
/// follows step by step): `√(gx² + gy²) / 4 + 0.5` in `f32`, at most 255, truncated, is
/// session 01's `to_u8(hypot(gx, gy) / 4)` for every `gx` and `gy` up to 4 * 255, the
/// most a 3x3 window of bytes can give. The signs do not matter: both square them. The
/// tests above run the kernel itself.
#[test]
fn sobel_rounding_matches_session_01_for_every_gradient() {
    for gx in 0..=1020_i32 {
        for gy in 0..=1020_i32 {
            let fast = (((gx * gx + gy * gy) as f32).sqrt() * 0.25 + 0.5).min(255.0) as u8;
            let reference = to_u8((gx as f32).hypot(gy as f32) / 4.0);
            assert_eq!(fast, reference, "gx {gx}, gy {gy}");
        }
    }
}

use image::GenericImageView;

#[test]
fn fast_kernels_give_the_same_output_on_one_thread_and_on_four() {
    let astronaut = photo("astronaut.png");
    let pool = |threads| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
    };
    let (one, four) = (pool(1), pool(4));
    // An odd size too: bands of unequal heights, the last one short.
    let odd = astronaut.crop_imm(5, 3, 131, 301);
    for image in [&astronaut, &odd] {
        for case in CASES {
            let fast = fast::accelerate(filter(case));
            let a = one.install(|| fast.apply(image)).unwrap();
            let b = four.install(|| fast.apply(image)).unwrap();
            let (width, height) = (image.width(), image.height());
            assert!(
                a == b,
                "{case} on {width}x{height}: one thread and four differ"
            );
        }
    }
}

/// Every sample value in every channel, with the extremes side by side, in every layout.
fn every_value() -> Vec<DynamicImage> {
    let sample = |x: u32, y: u32, k: u32| match (x + k * 85) % 7 {
        0 => 0,
        1 => 255,
        _ => ((x * (k + 1) * 37 + y * 101 + k * 59) % 256) as u8,
    };
    // 263 x 257: rows and bands end inside a block of pixels.
    let rgba = RgbaImage::from_fn(263, 257, |x, y| {
        image::Rgba([sample(x, y, 0), sample(x, y, 1), sample(x, y, 2), y as u8])
    });
    let gray_alpha = GrayAlphaImage::from_fn(263, 257, |x, y| {
        image::LumaA([sample(x, y, 0), sample(x, y, 1)])
    });
    let rgba = DynamicImage::ImageRgba8(rgba);
    vec![
        DynamicImage::ImageRgb8(rgba.to_rgb8()),
        DynamicImage::ImageLuma8(rgba.to_luma8()),
        DynamicImage::ImageLumaA8(gray_alpha),
        rgba,
    ]
}

#[test]
fn point_kernels_are_exact_on_every_sample_value_and_parameter() {
    let mut cases: Vec<String> = vec!["grayscale".into(), "invert".into()];
    for level in [0, 1, 99, 128, 200, 254, 255] {
        cases.push(format!("threshold:level={level}"));
    }
    for factor in [
        0.0, 0.25, 0.3, 0.5, 0.77, 1.0, 1.4, 1.5, 1.7, 1.99, 2.0, 2.5, 4.0, 10.0,
    ] {
        cases.push(format!("brightness:factor={factor}"));
        cases.push(format!("contrast:factor={factor}"));
    }
    for image in every_value() {
        for case in &cases {
            let expected = filter(case).apply(&image).unwrap();
            let got = fast::accelerate(filter(case)).apply(&image).unwrap();
            assert!(got == expected, "{case} on {:?}", image.color());
        }
    }
}

#[test]
fn the_fast_gaussian_keeps_a_flat_image_flat_at_every_sigma() {
    // Up to sigma 8 the SIMD path sums 50 rounded products in 16 bits; beyond, 32-bit sums.
    // Either way no level may drift, and white may not wrap around to black.
    for sigma in [0.1, 0.6, 3.0, 8.0, 8.4, 37.5, 100.0] {
        let blur = fast::accelerate(filter(&format!("blur:sigma={sigma}")));
        for level in [0, 1, 128, 254, 255] {
            let image = DynamicImage::ImageRgb8(image::RgbImage::from_pixel(
                203,
                31,
                image::Rgb([level; 3]),
            ));
            let got = blur.apply(&image).unwrap();
            let wrong = got.as_bytes().iter().find(|&&v| v != level);
            assert!(
                wrong.is_none(),
                "sigma {sigma}: a flat {level} became {wrong:?}"
            );
        }
    }
}

#[test]
fn the_fast_resize_keeps_a_flat_image_flat_at_every_scale() {
    // From 203x410: shrinking by up to 8 times sums rounded products in 16 bits, by more
    // in 32 bits; growing reaches 6 rows. Either way no level may drift or wrap around.
    for (width, height) in [
        (203, 205),
        (101, 51),
        (25, 9),
        (13, 3),
        (400, 800),
        (203, 1),
    ] {
        for kernel in ["lanczos3", "bilinear"] {
            let resize = fast::accelerate(filter(&format!(
                "resize:width={width},height={height},filter={kernel}"
            )));
            for level in [0, 1, 128, 254, 255] {
                let image = DynamicImage::ImageRgb8(image::RgbImage::from_pixel(
                    203,
                    410,
                    image::Rgb([level; 3]),
                ));
                let got = resize.apply(&image).unwrap();
                assert_eq!(got.dimensions(), (width, height));
                let wrong = got.as_bytes().iter().find(|&&v| v != level);
                assert!(
                    wrong.is_none(),
                    "{kernel} to {width}x{height}: a flat {level} became {wrong:?}"
                );
            }
        }
    }
}

#[test]
#[cfg_attr(
    not(target_arch = "x86_64"),
    ignore = "the 16-bit SIMD pass is x86-64's: elsewhere both sides would be the exact loop"
)]
fn the_fast_resize_rows_match_the_exact_loop_within_a_level() {
    // A 128-pixel-wide gray image goes down its columns in 16-bit SIMD steps of 64 samples
    // (on x86-64 with AVX2); each column alone, one sample wide, goes through the exact
    // 32-bit loop. The widths stay the same, so only that pass runs. On an x86-64 CPU
    // without AVX2 both sides are the exact loop.
    let noise = GrayImage::from_fn(128, 120, |x, y| {
        image::Luma([((x * 7919 + y * 104_729 + x * y * 31) % 256) as u8])
    });
    for height in [60, 47, 119, 300] {
        let wide = fast::accelerate(filter(&format!("resize:width=128,height={height}")))
            .apply(&DynamicImage::ImageLuma8(noise.clone()))
            .unwrap()
            .to_luma8();
        let narrow = fast::accelerate(filter(&format!("resize:width=1,height={height}")));
        for x in 0..128 {
            let column = GrayImage::from_fn(1, 120, |_, y| *noise.get_pixel(x, y));
            let exact = narrow
                .apply(&DynamicImage::ImageLuma8(column))
                .unwrap()
                .to_luma8();
            for y in 0..height {
                let (got, want) = (wide.get_pixel(x, y).0[0], exact.get_pixel(0, y).0[0]);
                assert!(
                    got.abs_diff(want) <= 1,
                    "120 to {height} rows, at ({x}, {y}): {got} against {want}"
                );
            }
        }
    }
}
