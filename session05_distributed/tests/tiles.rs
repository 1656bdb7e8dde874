//! Tiles stitch into exactly the image one process makes: every neighbourhood filter, a
//! pipeline of them, uneven tiles, on a real photo and on a checkerboard (where a halo one
//! pixel short would show).

mod common;

use common::session01::photo;
use image::{DynamicImage, GenericImageView, Rgb, RgbImage};
use session01_image_basics::Filter;
use session02_pipelines::PipelineSpec;
use session05_distributed::tiles::{process_in_tiles, split_pipeline};

fn checkerboard() -> DynamicImage {
    RgbImage::from_fn(397, 301, |x, y| {
        Rgb([
            if (x / 3 + y / 3) % 2 == 0 { 0 } else { 255 },
            (x % 256) as u8,
            (y % 256) as u8,
        ])
    })
    .into()
}

const PIPELINES: &[&str] = &[
    "blur:sigma=3",
    "edges",
    "sharpen:amount=2",
    "median:radius=2",
    "box-blur:radius=4",
    "unsharp:sigma=2",
    "median:radius=1|blur:sigma=1.5|sharpen|edges",
    "brightness:factor=1.2|blur:sigma=2|resize:width=150",
    // A window (121 pixels) wider than the smallest tiles' reads would be.
    "blur:sigma=20",
];

#[test]
fn tiles_stitch_into_the_whole_image_result() {
    for image in [photo("astronaut.png"), photo("rocket.jpg"), checkerboard()] {
        for text in PIPELINES {
            let spec = PipelineSpec::parse(text).unwrap();
            let whole = spec.build().unwrap().apply(&image).unwrap();
            let split = split_pipeline(&spec).unwrap();
            // None of these divides the images: the last row and column are partial. With
            // 131, the checkerboard's last column is 4 pixels wide, and its read is grown.
            for (w, h) in [(97, 61), (130, 47), (131, 61), (1000, 90)] {
                let tiled = process_in_tiles(&image, &split, w, h).unwrap();
                assert_eq!(tiled.dimensions(), whole.dimensions(), "{text}");
                assert!(
                    tiled == whole,
                    "{text} in {w}x{h} tiles: the tiles do not stitch into the whole-image result"
                );
            }
        }
    }
}

#[test]
fn a_halo_one_pixel_short_shows_a_seam() {
    // The test above can fail: with less than the pipeline's reach, tiles differ.
    let image = checkerboard();
    let spec = PipelineSpec::parse("box-blur:radius=3|edges").unwrap();
    let whole = spec.build().unwrap().apply(&image).unwrap();
    let mut split = split_pipeline(&spec).unwrap();
    split.halo -= 1;
    let tiled = process_in_tiles(&image, &split, 97, 61).unwrap();
    assert!(tiled != whole);
}
