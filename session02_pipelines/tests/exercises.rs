//! Session 02's graded exercises. `cargo xtask grade 2` runs these; each test's name starts
//! with its exercise's id (`ex02_3_...` belongs to exercise 2.3), which is how the grader
//! adds up the points in `exercises.toml`.

use image::{Rgb, RgbImage, imageops};
use session01_image_basics::PointOp;
use session01_image_basics::filters::{Brightness, Contrast, Invert, Threshold};
use session01_image_basics::{PixelFilter, samples};
use session02_pipelines::exercises::{Band, fuse, halo_bands, rotate_tiled, window_sums};

// ---- 2.1 fusion

fn table(f: impl Fn(u8) -> u8) -> PointOp {
    PointOp::Table(Box::new(std::array::from_fn(|v| f(v as u8))))
}

/// Applies operations one by one to every colour of a 6x6x6 grid of RGB pixels.
fn outputs(ops: &[PointOp]) -> Vec<[u8; 3]> {
    let mut out = Vec::new();
    for r in (0..=255).step_by(51) {
        for g in (0..=255).step_by(51) {
            for b in (0..=255).step_by(51) {
                let mut pixel = [r as u8, g as u8, b as u8];
                for op in ops {
                    op.apply(&mut pixel);
                }
                out.push(pixel);
            }
        }
    }
    out
}

fn point(filter: &impl PixelFilter) -> PointOp {
    filter.point_op().expect("a point filter")
}

#[test]
fn ex02_1_two_tables_become_their_composition() {
    let ops = [table(|v| v / 2), table(|v| v.saturating_add(100))];
    let fused = fuse(&ops);
    assert_eq!(fused.len(), 1, "two tables fuse into one: {fused:?}");
    let PointOp::Table(t) = &fused[0] else {
        panic!("the fused operation is a table");
    };
    assert_eq!(t[200], 200 / 2 + 100);
    assert_eq!(t[255], 127 + 100);
}

#[test]
fn ex02_1_other_operations_stay_in_place_and_order_matters() {
    let ops = vec![
        point(&Brightness::new(1.3).unwrap()),
        point(&Contrast::new(1.6).unwrap()),
        PointOp::Grayscale,
        point(&Invert),
        point(&Brightness::new(0.7).unwrap()),
        PointOp::Threshold(90),
        point(&Invert),
    ];
    let fused = fuse(&ops);
    assert_eq!(fused.len(), 5, "{fused:?}");
    assert_eq!(fused[1], PointOp::Grayscale);
    assert_eq!(fused[3], point(&Threshold::new(90).unwrap()));
    assert_eq!(outputs(&fused), outputs(&ops));
}

#[test]
fn ex02_1_nothing_in_nothing_out_and_one_table_unchanged() {
    assert!(fuse(&[]).is_empty());
    let one = [point(&Contrast::new(2.0).unwrap())];
    assert_eq!(fuse(&one), one.to_vec());
    assert_eq!(fuse(&[PointOp::Grayscale, PointOp::Grayscale]).len(), 2);
}

// ---- 2.2 sliding window sums

/// The obvious version: every window added up.
fn brute_force(row: &[u8], channels: usize, radius: usize) -> Vec<u32> {
    let width = row.len() / channels;
    (0..row.len())
        .map(|i| {
            let (x, c) = ((i / channels) as isize, i % channels);
            (x - radius as isize..=x + radius as isize)
                .map(|sx| u32::from(row[sx.clamp(0, width as isize - 1) as usize * channels + c]))
                .sum()
        })
        .collect()
}

fn noise(len: usize, seed: u32) -> Vec<u8> {
    (0..len as u32)
        .map(|i| ((i.wrapping_mul(2_654_435_761) ^ seed) >> 7) as u8)
        .collect()
}

#[test]
fn ex02_2_window_sums_match_adding_every_term() {
    for channels in [1, 3, 4] {
        for width in [1, 2, 5, 31] {
            for radius in [0, 1, 2, 7, 40] {
                let row = noise(width * channels, (width * 31 + radius) as u32);
                assert_eq!(
                    window_sums(&row, channels, radius),
                    brute_force(&row, channels, radius),
                    "{channels} channels, {width} pixels, radius {radius}"
                );
            }
        }
    }
}

#[test]
fn ex02_2_the_edges_repeat() {
    // One channel: [10, 20, 30], radius 1: [10+10+20, 10+20+30, 20+30+30].
    assert_eq!(window_sums(&[10, 20, 30], 1, 1), vec![40, 60, 80]);
    // Radius far beyond the row: every window is mostly edge pixels.
    assert_eq!(window_sums(&[0, 255], 1, 3), vec![255 * 3, 255 * 4]);
    assert!(window_sums(&[], 3, 2).is_empty());
}

#[test]
fn ex02_2_large_radii_on_long_rows_finish() {
    // Adding 2 radius + 1 terms per sample would be 10^10 additions here; sliding is 10^5.
    let row = noise(3 * 20_000, 7);
    let sums = window_sums(&row, 3, 5_000);
    assert_eq!(sums.len(), row.len());
    let first: u32 =
        (0..=5_000).map(|x| u32::from(row[x * 3])).sum::<u32>() + 5_000 * u32::from(row[0]);
    assert_eq!(sums[0], first);
    let last = sums.len() - 1;
    let expected: u32 = (14_999..20_000)
        .map(|x| u32::from(row[x * 3 + 2]))
        .sum::<u32>()
        + 5_000 * u32::from(row[last]);
    assert_eq!(sums[last], expected);
}

// ---- 2.3 bands with halos

fn check_bands(height: usize, bands: usize, halo: usize) {
    let got = halo_bands(height, bands, halo);
    let context = format!("height {height}, {bands} bands, halo {halo}: {got:?}");
    assert_eq!(got.len(), bands.min(height), "{context}");
    let mut next = 0;
    let lengths: Vec<usize> = got.iter().map(|b| b.write.len()).collect();
    for Band { read, write } in &got {
        assert_eq!(write.start, next, "{context}");
        assert!(!write.is_empty(), "{context}");
        assert_eq!(read.start, write.start.saturating_sub(halo), "{context}");
        assert_eq!(read.end, (write.end + halo).min(height), "{context}");
        next = write.end;
    }
    assert_eq!(next, if got.is_empty() { 0 } else { height }, "{context}");
    if let (Some(max), Some(min)) = (lengths.iter().max(), lengths.iter().min()) {
        assert!(max - min <= 1, "{context}");
        assert!(lengths.windows(2).all(|w| w[0] >= w[1]), "{context}");
    }
}

#[test]
fn ex02_3_bands_cover_the_rows_evenly() {
    for height in [1, 2, 7, 100, 2160] {
        for bands in [1, 2, 3, 8, 16] {
            for halo in [0, 1, 9] {
                check_bands(height, bands, halo);
            }
        }
    }
}

#[test]
fn ex02_3_a_worked_example() {
    assert_eq!(
        halo_bands(10, 3, 2),
        vec![
            Band {
                read: 0..6,
                write: 0..4
            },
            Band {
                read: 2..9,
                write: 4..7
            },
            Band {
                read: 5..10,
                write: 7..10
            },
        ]
    );
}

#[test]
fn ex02_3_no_rows_or_no_threads_gives_no_bands() {
    assert!(halo_bands(0, 4, 1).is_empty());
    assert!(halo_bands(5, 0, 1).is_empty());
    assert_eq!(halo_bands(3, 8, 1).len(), 3);
}

// ---- 2.4 a quarter turn in tiles

#[test]
fn ex02_4_a_tiled_turn_is_a_turn() {
    let photo = samples::generate(203, 117);
    for tile in [1, 7, 16, 64, 500] {
        let out = rotate_tiled(&photo, tile);
        assert!(out == imageops::rotate90(&photo), "tile {tile}");
    }
}

#[test]
fn ex02_4_corners_land_where_they_should() {
    let mut image = RgbImage::new(3, 2);
    image.put_pixel(0, 0, Rgb([1, 0, 0]));
    image.put_pixel(2, 0, Rgb([2, 0, 0]));
    image.put_pixel(0, 1, Rgb([3, 0, 0]));
    let out = rotate_tiled(&image, 2);
    assert_eq!(out.dimensions(), (2, 3));
    assert_eq!(
        out.get_pixel(1, 0),
        &Rgb([1, 0, 0]),
        "top left goes top right"
    );
    assert_eq!(
        out.get_pixel(1, 2),
        &Rgb([2, 0, 0]),
        "top right goes bottom right"
    );
    assert_eq!(
        out.get_pixel(0, 0),
        &Rgb([3, 0, 0]),
        "bottom left goes top left"
    );
}

#[test]
fn ex02_4_thin_images_turn_too() {
    for (w, h) in [(1, 1), (1, 9), (9, 1)] {
        let image = samples::generate(w, h);
        assert!(
            rotate_tiled(&image, 4) == imageops::rotate90(&image),
            "{w}x{h}"
        );
    }
}
