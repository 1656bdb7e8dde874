//! Behaviour of every filter, on the bundled photographs and on images built to test one
//! property each.

mod common;

use std::collections::BTreeSet;

use common::{apply, detail, mean_and_variance, photo};
use image::{DynamicImage, GenericImageView, GrayImage, Luma, Rgb, RgbImage};
use session01_image_basics::{FilterError, FilterKind, build, catalog, demo, samples};

#[test]
fn grayscale_has_equal_channels_with_bt601_luma() {
    let original = photo("astronaut.png").to_rgb8();
    let gray = apply("grayscale", &[], &original.clone().into());
    assert!(
        matches!(gray, DynamicImage::ImageRgb8(_)),
        "colour type kept"
    );
    for (before, after) in original.pixels().zip(gray.to_rgb8().pixels()) {
        let [r, g, b] = after.0;
        assert!(r == g && g == b, "R=G=B, got {:?}", after.0);
        let [r0, g0, b0] = before.0.map(f64::from);
        let luma = 0.299 * r0 + 0.587 * g0 + 0.114 * b0;
        assert!(
            (f64::from(r) - luma).abs() <= 0.5 + 1e-9,
            "luma of {:?} is {luma}, got {r}",
            before.0
        );
    }
}

#[test]
fn blurs_keep_the_mean_and_lower_the_variance() {
    for name in ["astronaut.png", "coffee.png", "camera.png"] {
        let image = photo(name);
        let (mean, variance) = mean_and_variance(&image);
        for (filter, params) in [("blur", &["sigma=3"][..]), ("box-blur", &["radius=3"][..])] {
            let blurred = apply(filter, params, &image);
            let (blurred_mean, blurred_variance) = mean_and_variance(&blurred);
            assert!(
                (blurred_mean - mean).abs() < 1.0,
                "{filter} on {name}: mean {mean} -> {blurred_mean}"
            );
            assert!(
                blurred_variance < variance * 0.98,
                "{filter} on {name}: variance {variance} -> {blurred_variance}"
            );
            assert!(
                detail(&blurred) < detail(&image) / 2,
                "{filter} on {name} removes detail"
            );
        }
    }
}

#[test]
fn sobel_of_a_flat_image_is_zero() {
    let flat = DynamicImage::ImageRgb8(RgbImage::from_pixel(40, 30, Rgb([90, 160, 30])));
    let edges = apply("edges", &[], &flat);
    assert!(edges.as_bytes().iter().all(|&s| s == 0));
}

#[test]
fn sobel_peaks_on_a_step_edge() {
    // Black left half, white right half: the step lies between columns 15 and 16.
    let step = GrayImage::from_fn(32, 8, |x, _| Luma([if x < 16 { 0 } else { 255 }]));
    let edges = apply("edges", &[], &step.into()).to_luma8();
    for y in 0..8 {
        for x in 0..32 {
            let expected = if x == 15 || x == 16 { 255 } else { 0 };
            assert_eq!(edges.get_pixel(x, y).0[0], expected, "at ({x}, {y})");
        }
    }
}

#[test]
fn sobel_finds_edges_in_a_photo() {
    let edges = apply("edges", &[], &photo("camera.png"));
    let strong = edges.as_bytes().iter().filter(|&&s| s > 100).count();
    let total = edges.as_bytes().len();
    assert!(
        strong > total / 100 && strong < total / 3,
        "{strong} of {total} pixels on edges"
    );
}

#[test]
fn rotating_90_degrees_four_times_is_the_identity() {
    for name in ["chelsea.png", "camera.png"] {
        let original = photo(name);
        let mut image = original.clone();
        for turn in 1..=4 {
            image = apply("rotate", &["angle=90"], &image);
            let expected = if turn % 2 == 1 {
                (original.height(), original.width())
            } else {
                original.dimensions()
            };
            assert_eq!(image.dimensions(), expected);
        }
        assert!(image == original, "{name}");
        let half = apply("rotate", &["angle=180"], &original);
        assert!(apply("rotate", &["angle=180"], &half) == original);
        let quarter = apply("rotate", &["angle=90"], &original);
        assert!(apply("rotate", &["angle=270"], &quarter) == original);
    }
}

#[test]
fn flipping_twice_is_the_identity() {
    let original = photo("coffee.png");
    for direction in ["direction=horizontal", "direction=vertical"] {
        let once = apply("flip", &[direction], &original);
        assert!(once != original, "{direction} changes the image");
        assert!(
            apply("flip", &[direction], &once) == original,
            "{direction}"
        );
    }
    let mirrored = apply("flip", &["direction=horizontal"], &original);
    assert_eq!(
        mirrored.get_pixel(0, 7),
        original.get_pixel(original.width() - 1, 7)
    );
}

#[test]
fn resize_gives_the_requested_size() {
    let cat = photo("chelsea.png"); // 451x300
    for filter in ["lanczos3", "bilinear", "nearest"] {
        let f = format!("filter={filter}");
        assert_eq!(
            apply("resize", &["width=200", "height=50", &f], &cat).dimensions(),
            (200, 50)
        );
        assert_eq!(
            apply(
                "resize",
                &["width=900", "height=900", "mode=exact", &f],
                &cat
            )
            .dimensions(),
            (900, 900)
        );
    }
    let fit = apply("resize", &["width=300", "height=300", "mode=fit"], &cat);
    assert_eq!(fit.width(), 300, "the wide side fills the box");
    assert!(fit.height() <= 300 && (f64::from(fit.height()) - 300.0 * 300.0 / 451.0).abs() <= 1.0);
    let by_width = apply("resize", &["width=100"], &cat);
    assert_eq!(by_width.width(), 100);
    assert!((f64::from(by_width.height()) - 100.0 * 300.0 / 451.0).abs() <= 1.0);
    let by_height = apply("resize", &["height=150", "mode=aspect"], &cat);
    assert_eq!(by_height.height(), 150);
    assert!((f64::from(by_height.width()) - 150.0 * 451.0 / 300.0).abs() <= 1.0);
}

#[test]
fn resize_beyond_the_pixel_limit_is_an_error() {
    let filter = build("resize", &["width=16384", "height=16384"]).unwrap();
    let err = filter.apply(&photo("chelsea.png")).unwrap_err();
    assert!(matches!(err, FilterError::TooLarge { .. }));
    assert!(
        err.to_string()
            .contains("over the limit of 50.0 megapixels"),
        "{err}"
    );
}

#[test]
fn crop_inside_copies_the_rectangle_and_outside_is_an_error() {
    let image = photo("rocket.jpg"); // 640x427
    let crop = apply("crop", &["x=10", "y=20", "width=100", "height=50"], &image);
    assert_eq!(crop.dimensions(), (100, 50));
    assert_eq!(crop.get_pixel(0, 0), image.get_pixel(10, 20));
    assert_eq!(crop.get_pixel(99, 49), image.get_pixel(109, 69));
    // The exact edge fits; one pixel more does not.
    assert!(
        build("crop", &["x=540", "width=100", "height=427"])
            .unwrap()
            .apply(&image)
            .is_ok()
    );
    for params in [
        ["x=541", "width=100", "height=10"],
        ["y=400", "width=10", "height=28"],
    ] {
        let err = build("crop", &params).unwrap().apply(&image).unwrap_err();
        assert!(matches!(err, FilterError::CropOutside { .. }), "{params:?}");
        assert!(
            err.to_string().contains("outside the 640x427 image"),
            "{err}"
        );
    }
}

#[test]
fn point_operations_behave() {
    let image = photo("coffee.png");
    let inverted = apply("invert", &[], &image);
    assert_eq!(inverted.as_bytes()[0], 255 - image.as_bytes()[0]);
    assert!(apply("invert", &[], &inverted) == image);
    assert!(apply("brightness", &["factor=1"], &image) == image);
    assert!(apply("contrast", &["factor=1"], &image) == image);
    assert!(
        apply("brightness", &["factor=0"], &image)
            .as_bytes()
            .iter()
            .all(|&s| s == 0)
    );
    assert!(
        apply("contrast", &["factor=0"], &image)
            .as_bytes()
            .iter()
            .all(|&s| s == 128)
    );
    let brighter = apply("brightness", &["factor=1.5"], &image);
    assert!(mean_and_variance(&brighter).0 > mean_and_variance(&image).0 * 1.3);
    let bw = apply("threshold", &["level=100"], &image).to_rgb8();
    let gray = apply("grayscale", &[], &image).to_rgb8();
    for (pixel, luma) in bw.pixels().zip(gray.pixels()) {
        let expected = if luma.0[0] >= 100 { 255 } else { 0 };
        assert_eq!(pixel.0, [expected; 3]);
    }
}

#[test]
fn median_removes_salt_and_pepper_noise() {
    let clean = photo("camera.png").to_luma8();
    let mut noisy = clean.clone();
    for (i, pixel) in noisy.pixels_mut().enumerate() {
        match i % 29 {
            0 => pixel.0[0] = 255,
            7 => pixel.0[0] = 0,
            _ => {}
        }
    }
    let far = |image: &GrayImage| {
        image
            .pixels()
            .zip(clean.pixels())
            .filter(|(a, b)| a.0[0].abs_diff(b.0[0]) > 50)
            .count()
    };
    let before = far(&noisy);
    let after = far(&apply("median", &["radius=1"], &noisy.into()).to_luma8());
    assert!(before > 10_000, "the noise is there: {before}");
    assert!(
        after * 10 < before,
        "median leaves {after} of {before} outliers"
    );
}

#[test]
fn sharpening_adds_detail_and_amount_zero_changes_nothing() {
    let image = photo("chelsea.png");
    assert!(apply("sharpen", &["amount=0"], &image) == image);
    assert!(apply("unsharp", &["amount=0"], &image) == image);
    assert!(detail(&apply("sharpen", &[], &image)) > detail(&image) * 5 / 4);
    assert!(detail(&apply("unsharp", &[], &image)) > detail(&image) * 5 / 4);
    // A threshold above every difference leaves the image alone.
    assert_eq!(
        apply("unsharp", &["threshold=255", "sigma=0.5"], &image),
        image
    );
}

/// Each demo step with a few input layouts: the colour type is kept, alpha is kept by
/// point operations, and nothing panics on tiny or flat images.
#[test]
fn every_filter_keeps_the_colour_type() {
    let rgb = photo("astronaut.png");
    let layouts = [
        DynamicImage::ImageLuma8(rgb.to_luma8()),
        DynamicImage::ImageLumaA8(rgb.to_luma_alpha8()),
        rgb.clone(),
        DynamicImage::ImageRgba8(rgb.to_rgba8()),
    ];
    for (name, params) in demo::STEPS {
        let filter = build(name, params).unwrap();
        for image in &layouts {
            let out = filter.apply(image).unwrap();
            assert_eq!(out.color(), image.color(), "{name}");
            if filter.kind() == FilterKind::Point && image.color().has_alpha() {
                let alpha =
                    |i: &DynamicImage| i.to_rgba8().pixels().map(|p| p.0[3]).collect::<Vec<_>>();
                assert!(alpha(&out) == alpha(image), "{name} keeps alpha");
            }
        }
    }
}

#[test]
fn filters_do_not_panic_on_tiny_images() {
    for (width, height) in [(1, 1), (1, 7), (7, 1), (2, 2)] {
        let image = DynamicImage::ImageRgb8(RgbImage::from_pixel(width, height, Rgb([9, 99, 199])));
        for info in catalog() {
            let params: &[&str] = if info.name == "crop" {
                &["width=1", "height=1"]
            } else {
                &[]
            };
            let params: &[&str] = if info.name == "resize" {
                &["width=3"]
            } else {
                params
            };
            let out = build(info.name, params).unwrap().apply(&image).unwrap();
            assert!(
                out.width() > 0 && out.height() > 0,
                "{} on {width}x{height}",
                info.name
            );
        }
    }
}

/// The radius a filter declares is honest: a tile processed with a halo of that width gives
/// exactly the pixels the whole image gives. Tiling in later sessions relies on this.
#[test]
fn declared_radius_is_enough_for_seamless_tiles() {
    // A photo, and a 0/255 checkerboard: the harshest case for a too-small halo.
    let checkerboard = RgbImage::from_fn(512, 512, |x, y| {
        Rgb([if (x / 3 + y / 3) % 2 == 0 { 0 } else { 255 }; 3])
    });
    for image in [photo("astronaut.png"), checkerboard.into()] {
        for (name, params) in demo::STEPS {
            let filter = build(name, params).unwrap();
            let radius = match filter.kind() {
                FilterKind::Point => 0,
                FilterKind::Neighbourhood { radius } => radius,
                FilterKind::Geometry => continue,
            };
            let whole = filter.apply(&image).unwrap();
            let (x, y, w, h) = (150, 170, 60, 40);
            let tile = image.crop_imm(x - radius, y - radius, w + 2 * radius, h + 2 * radius);
            let processed = filter.apply(&tile).unwrap();
            assert!(
                processed.crop_imm(radius, radius, w, h) == whole.crop_imm(x, y, w, h),
                "{name} with radius {radius}"
            );
        }
    }
}

#[test]
fn the_demo_shows_every_filter_once() {
    let demo: BTreeSet<&str> = demo::STEPS.iter().map(|(name, _)| *name).collect();
    let all: BTreeSet<&str> = catalog().iter().map(|info| info.name).collect();
    assert_eq!(demo, all);
    assert_eq!(demo::STEPS.len(), catalog().len());
}

#[test]
fn a_filter_spec_builds_the_same_filter_again() {
    for (name, params) in demo::STEPS {
        let filter = build(name, params).unwrap();
        let spec = filter.spec();
        let again: Vec<&str> = spec
            .split_once(':')
            .map(|(_, p)| p.split(',').collect())
            .unwrap_or_default();
        assert_eq!(build(name, &again).unwrap().spec(), spec);
    }
}

#[test]
fn the_generated_test_image_is_deterministic_and_busy() {
    let a = samples::generate(640, 360);
    assert_eq!(a.dimensions(), (640, 360));
    assert!(a == samples::generate(640, 360), "same pixels every time");
    let image = DynamicImage::ImageRgb8(a);
    assert!(mean_and_variance(&image).1 > 1000.0, "not flat");
    let edges = apply("edges", &[], &image);
    assert!(
        edges.as_bytes().iter().filter(|&&s| s > 128).count() > 1000,
        "has hard edges"
    );
}
