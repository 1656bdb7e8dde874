//! Pipelines: filters in order, point operations fused without changing a pixel.

mod common;

use common::filter;
use common::session01::photo;
use session01_image_basics::{Filter, FilterKind};
use session02_pipelines::{Kernels, PipelineSpec};

/// Applies each stage of a text spec one after the other, as separate filters.
fn one_by_one(text: &str, image: &image::DynamicImage) -> image::DynamicImage {
    text.split('|').fold(image.clone(), |current, stage| {
        filter(stage).apply(&current).unwrap()
    })
}

#[test]
fn fused_point_operations_give_exactly_the_filters_one_by_one() {
    let specs = [
        ("brightness:factor=1.3|contrast:factor=1.6|invert", 1),
        ("grayscale|threshold:level=100", 1),
        (
            "invert|blur:sigma=1.5|brightness:factor=0.8|contrast:factor=2",
            3,
        ),
        (
            "contrast:factor=0.5|grayscale|brightness:factor=1.7|threshold:level=90|invert",
            1,
        ),
        ("edges|invert", 2),
    ];
    for photo_name in ["astronaut.png", "camera.png"] {
        let image = photo(photo_name);
        for (text, passes) in specs {
            // Session 01's kernels throughout, so any difference is the fusion's.
            let pipeline = PipelineSpec::parse(text)
                .unwrap()
                .build_with(Kernels::Reference)
                .unwrap();
            assert_eq!(pipeline.passes(), passes, "{text}");
            let fused = pipeline.apply(&image).unwrap();
            assert!(
                fused == one_by_one(text, &image),
                "{text} on {photo_name} differs"
            );
        }
    }
}

#[test]
fn alpha_survives_a_fused_pass() {
    let rgba = image::DynamicImage::ImageRgba8(image::RgbaImage::from_fn(16, 16, |x, y| {
        image::Rgba([x as u8 * 16, y as u8 * 16, 99, (x * y) as u8])
    }));
    let text = "brightness:factor=1.2|invert|grayscale";
    let out = PipelineSpec::parse_and_build(text)
        .unwrap()
        .apply(&rgba)
        .unwrap();
    assert!(out == one_by_one(text, &rgba));
    assert!(
        out.to_rgba8()
            .pixels()
            .zip(rgba.to_rgba8().pixels())
            .all(|(a, b)| a[3] == b[3])
    );
}

#[test]
fn the_pipeline_kind_adds_up_the_radii() {
    let kind = |text: &str| PipelineSpec::parse_and_build(text).unwrap().kind();
    assert_eq!(kind("invert|grayscale"), FilterKind::Point);
    assert_eq!(
        kind("blur:sigma=2|sharpen|median:radius=2"),
        FilterKind::Neighbourhood { radius: 6 + 1 + 2 }
    );
    assert_eq!(kind("blur:sigma=1|resize:width=10"), FilterKind::Geometry);
}

#[test]
fn geometry_and_errors_pass_through() {
    let image = photo("chelsea.png");
    let out = PipelineSpec::parse_and_build("resize:width=100|rotate:angle=90")
        .unwrap()
        .apply(&image)
        .unwrap();
    assert_eq!((out.width(), out.height()), (67, 100));
    let error = PipelineSpec::parse_and_build("crop:x=1000,y=0,width=10,height=10")
        .unwrap()
        .apply(&image)
        .unwrap_err();
    assert!(error.to_string().contains("outside"), "{error}");
}
