//! Loading, saving and the header: real photos round-trip, and every kind of bad file is an
//! error that names the problem, never a panic.

mod common;

use std::path::Path;

use common::photo;
use image::codecs::png::PngEncoder;
use image::{ColorType, DynamicImage, ImageEncoder, ImageFormat, Rgb, RgbImage};
use proptest::prelude::*;
use session01_image_basics::{
    DecodeError, Limits, LoadError, SaveError, decode, info, inspect, load, load_with, samples,
    save,
};

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn decode_error(result: Result<DynamicImage, LoadError>) -> DecodeError {
    match result {
        Err(LoadError::Decode { cause, .. }) => cause,
        Ok(image) => panic!(
            "expected a decode error, got a {}x{} image",
            image.width(),
            image.height()
        ),
        Err(other) => panic!("expected a decode error, got {other}"),
    }
}

/// A PNG whose header announces `width` x `height` gray pixels: a decompression bomb when
/// large, since zeros compress to almost nothing.
fn gray_png(width: u32, height: u32) -> Vec<u8> {
    let mut bytes = Vec::new();
    let pixels = vec![0u8; width as usize * height as usize];
    PngEncoder::new(&mut bytes)
        .write_image(&pixels, width, height, image::ExtendedColorType::L8)
        .unwrap();
    bytes
}

#[test]
fn every_sample_loads_with_the_size_its_header_gives() {
    for path in samples::all() {
        let header = info(&path).unwrap();
        let image = load(&path).unwrap();
        assert_eq!(
            (image.width(), image.height()),
            (header.width, header.height),
            "{}",
            path.display()
        );
        assert_eq!(header.file_bytes, std::fs::metadata(&path).unwrap().len());
    }
    let camera = info(samples::path("camera.png")).unwrap();
    assert_eq!(
        (camera.format, camera.color),
        (ImageFormat::Png, ColorType::L8)
    );
    assert_eq!(
        info(samples::path("rocket.jpg")).unwrap().format,
        ImageFormat::Jpeg
    );
}

#[test]
fn png_and_webp_round_trip_exactly_and_jpeg_closely() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["chelsea.png", "camera.png"] {
        let image = photo(name);
        for extension in ["png", "webp"] {
            let path = dir.path().join(format!("out.{extension}"));
            save(&image, &path).unwrap();
            // WebP has no gray mode: a gray image comes back as RGB with equal channels.
            assert!(
                load(&path).unwrap().to_rgb8() == image.to_rgb8(),
                "{name} as {extension}"
            );
        }
        let path = dir.path().join("out.jpg");
        save(&image, &path).unwrap();
        let back = load(&path).unwrap();
        assert_eq!(back.color(), image.color());
        let diff: u64 = back
            .as_bytes()
            .iter()
            .zip(image.as_bytes())
            .map(|(a, b)| u64::from(a.abs_diff(*b)))
            .sum();
        let mean = diff as f64 / image.as_bytes().len() as f64;
        assert!(mean < 3.0, "{name}: JPEG q90 mean error {mean}");
    }
    // JPEG has no alpha: it is dropped, not an error.
    let rgba = DynamicImage::ImageRgba8(photo("chelsea.png").to_rgba8());
    save(&rgba, dir.path().join("alpha.jpg")).unwrap();
    assert_eq!(
        load(dir.path().join("alpha.jpg")).unwrap().color(),
        ColorType::Rgb8
    );
}

#[test]
fn sixteen_bit_images_load_as_eight_bit() {
    let deep = DynamicImage::ImageRgb16(photo("chelsea.png").to_rgb16());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deep.png");
    deep.save(&path).unwrap();
    assert_eq!(info(&path).unwrap().color, ColorType::Rgb16);
    assert!(load(&path).unwrap() == photo("chelsea.png"));
}

#[test]
fn inspecting_bytes_reads_what_the_file_header_says() {
    for path in samples::all() {
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(
            inspect(&bytes).unwrap(),
            info(&path).unwrap(),
            "{}",
            path.display()
        );
    }
    assert!(matches!(inspect(b""), Err(DecodeError::Empty)));
    assert!(matches!(
        inspect(b"GIF89a not ours"),
        Err(DecodeError::UnknownFormat { .. })
    ));
}

#[test]
fn a_missing_file_names_the_path() {
    let err = load("no/such/photo.png").unwrap_err();
    assert!(matches!(err, LoadError::Io { .. }));
    assert!(
        err.to_string().starts_with("cannot read no/such/photo.png"),
        "{err}"
    );
}

#[test]
fn an_empty_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "empty.jpg", b"");
    assert!(matches!(decode_error(load(&path)), DecodeError::Empty));
    assert!(
        load(&path)
            .unwrap_err()
            .to_string()
            .contains("empty.jpg: the file is empty (0 bytes)")
    );
    assert!(info(&path).is_err());
}

#[test]
fn a_text_file_renamed_jpg_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "notes.jpg", b"shopping list: milk, eggs\n");
    let err = load(&path).unwrap_err().to_string();
    assert!(err.contains("not a JPEG, PNG or WebP image"), "{err}");
    assert!(err.contains("\"shopping lis\""), "shows the start: {err}");
    assert!(info(&path).is_err());
}

/// How many leading bytes of a bundled photo hold all its pixels: a PNG's last 12 bytes are
/// the IEND trailer, which adds nothing, while a JPEG is incomplete without its last byte.
fn complete_length(name: &str, bytes: &[u8]) -> usize {
    if name.ends_with(".png") {
        bytes.len() - 12
    } else {
        bytes.len()
    }
}

#[test]
fn truncated_files_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["chelsea.png", "rocket.jpg", "hubble_deep_field.jpg"] {
        let bytes = std::fs::read(samples::path(name)).unwrap();
        let complete = complete_length(name, &bytes);
        for keep in [complete / 2, complete - 1, 300] {
            let path = write(dir.path(), name, &bytes[..keep]);
            let err = decode_error(load(&path));
            assert!(
                matches!(err, DecodeError::Truncated { .. }),
                "{name} cut at {keep}: {err}"
            );
            assert!(err.to_string().starts_with("truncated"), "{err}");
        }
    }
}

#[test]
fn a_decompression_bomb_is_refused_before_decoding() {
    // 60 megapixels of zeros: a small file that would decode to 60 MB.
    let bomb = gray_png(10_000, 6_000);
    assert!(bomb.len() < 600_000, "{} bytes", bomb.len());
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "bomb.png", &bomb);
    // The header is readable, so `info` reports the size without decoding it.
    let header = info(&path).unwrap();
    assert_eq!((header.width, header.height), (10_000, 6_000));
    let err = decode_error(load(&path));
    assert!(
        matches!(
            err,
            DecodeError::TooManyPixels {
                width: 10_000,
                height: 6_000,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "10000x6000 is 60.0 megapixels, over the limit of 50.0 megapixels"
    );
}

#[test]
fn limits_can_be_tightened() {
    let path = samples::path("astronaut.png"); // 0.26 megapixels
    assert!(matches!(
        decode_error(load_with(&path, &Limits::with_megapixels(0.1))),
        DecodeError::TooManyPixels { .. }
    ));
    let small_files = Limits {
        max_file_bytes: 1000,
        ..Limits::default()
    };
    assert!(matches!(
        decode_error(load_with(&path, &small_files)),
        DecodeError::TooManyBytes { .. }
    ));
    let little_memory = Limits {
        max_alloc: 100_000,
        ..Limits::default()
    };
    assert!(load_with(&path, &little_memory).is_err());
}

#[test]
fn saving_to_an_unknown_extension_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let image = DynamicImage::ImageRgb8(RgbImage::from_pixel(4, 4, Rgb([1, 2, 3])));
    for name in ["out.gif", "out"] {
        let err = save(&image, dir.path().join(name)).unwrap_err();
        assert!(matches!(err, SaveError::UnknownExtension { .. }), "{err}");
        assert!(
            err.to_string()
                .contains("use .png, .jpg, .jpeg, .webp, .ppm or .pgm")
        );
    }
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing written"
    );
    let err = save(&image, dir.path().join("missing-folder/out.png")).unwrap_err();
    assert!(matches!(err, SaveError::Io { .. }), "{err}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Arbitrary bytes, and arbitrary bytes after a real header, never panic the decoder.
    #[test]
    fn decoding_arbitrary_bytes_never_panics(
        head in prop::sample::select(vec![&b"\x89PNG\r\n\x1a\n"[..], &b"\xff\xd8\xff"[..], &b"RIFF\0\0\0\0WEBP"[..], &b""[..]]),
        tail in prop::collection::vec(any::<u8>(), 0..2048),
    ) {
        let bytes = [head, &tail[..]].concat();
        let _ = decode(&bytes, &Limits::default());
    }

    /// Any prefix of a real JPEG or PNG is reported as an error.
    #[test]
    fn every_prefix_of_a_photo_is_an_error(
        name in prop::sample::select(vec!["rocket.jpg", "chelsea.png"]),
        fraction in 0.0f64..1.0,
    ) {
        let bytes = std::fs::read(samples::path(name)).unwrap();
        let keep = ((complete_length(name, &bytes) - 1) as f64 * fraction) as usize;
        prop_assert!(decode(&bytes[..keep], &Limits::default()).is_err(), "{} cut at {}", name, keep);
    }
}

#[test]
fn ppm_and_pgm_round_trip_raw_pixels_and_refuse_alpha() {
    let dir = tempfile::tempdir().unwrap();
    let rgb = DynamicImage::ImageRgb8(RgbImage::from_fn(37, 23, |x, y| {
        Rgb([x as u8, y as u8, (x * y) as u8])
    }));
    let gray = DynamicImage::ImageLuma8(rgb.to_luma8());
    for (image, name) in [(&rgb, "tile.ppm"), (&gray, "tile.pgm")] {
        let path = dir.path().join(name);
        save(image, &path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        // A short header, then exactly the pixels.
        assert!(bytes.len() < image.as_bytes().len() + 20);
        assert_eq!(&decode(&bytes, &Limits::default()).unwrap(), image);
    }
    let rgba = DynamicImage::ImageRgba8(rgb.to_rgba8());
    let err = save(&rgba, dir.path().join("alpha.ppm")).unwrap_err();
    assert!(err.to_string().contains("use PNG"), "{err}");
}
