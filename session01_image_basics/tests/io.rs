//! Loading, saving and the header: real photos round-trip, and every kind of bad file is an
//! error that names the problem, never a panic.

mod common;

use std::path::Path;

use common::photo;
use image::codecs::png::PngEncoder;
use image::{ColorType, DynamicImage, ImageEncoder, ImageFormat, Rgb, RgbImage};
use proptest::prelude::*;
use session01_image_basics::{
    DecodeError, Limits, LoadError, SaveError, decode, encode, info, inspect, load, load_with,
    samples, save,
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
        let mean = mean_difference(&back, &image);
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
    // JPEG goes through another decoder, held to the memory limit too.
    let jpeg = samples::path("rocket.jpg"); // 0.27 megapixels
    assert!(load_with(&jpeg, &Limits::default()).is_ok());
    assert!(matches!(
        decode_error(load_with(&jpeg, &little_memory)),
        DecodeError::TooMuchMemory { .. }
    ));
}

/// Mean absolute difference per sample.
fn mean_difference(a: &DynamicImage, b: &DynamicImage) -> f64 {
    let total: u64 = a
        .as_bytes()
        .iter()
        .zip(b.as_bytes())
        .map(|(x, y)| u64::from(x.abs_diff(*y)))
        .sum();
    total as f64 / a.as_bytes().len() as f64
}

#[test]
fn jpeg_decodes_as_the_image_crate_reads_it() {
    for name in ["rocket.jpg", "hubble_deep_field.jpg"] {
        let bytes = std::fs::read(samples::path(name)).unwrap();
        let ours = decode(&bytes, &Limits::default()).unwrap();
        let theirs = image::load_from_memory(&bytes).unwrap();
        assert_eq!(
            (ours.width(), ours.height(), ours.color()),
            (theirs.width(), theirs.height(), theirs.color()),
            "{name}"
        );
        // Two decoders may round the colour upsampling differently, never by much.
        let mean = mean_difference(&ours, &theirs);
        assert!(mean < 1.0, "{name}: mean difference {mean}");
    }
}

#[test]
fn an_image_jpeg_cannot_hold_is_an_error() {
    let empty = DynamicImage::ImageRgb8(RgbImage::new(0, 0));
    let error = encode(&empty, ImageFormat::Jpeg).unwrap_err().to_string();
    assert!(error.contains("JPEG sides run from 1 to 65500"), "{error}");
}

/// A JPEG whose frame header reads as 8x8 to one parser and 10000x10000 to another: a
/// restart marker before the header has no length for libjpeg, and a two-byte one for the
/// `image` crate, which then lands on a small header hidden in an APP15 segment.
fn jpeg_with_two_headers() -> Vec<u8> {
    let frame = |side: u16| {
        let mut sof = vec![0xFF, 0xC0, 0, 11, 8];
        sof.extend(side.to_be_bytes());
        sof.extend(side.to_be_bytes());
        sof.extend([1, 1, 0x11, 0]);
        sof
    };
    let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xD0];
    bytes.extend(frame(10_000));
    let app = bytes.len();
    bytes.extend([0xFF, 0xEF, 0xFF, 0xFD]);
    bytes.resize(app + 2 + 0xFFFD, 0);
    let landing = 4 + 0xFFC0;
    let small = frame(8);
    bytes[landing..landing + small.len()].copy_from_slice(&small);
    let comment = landing + small.len();
    let skip = u16::try_from(bytes.len() - (comment + 2)).unwrap();
    bytes[comment..comment + 2].copy_from_slice(&[0xFF, 0xFE]);
    bytes[comment + 2..comment + 4].copy_from_slice(&skip.to_be_bytes());
    bytes.extend([0xFF, 0xDB, 0, 0x43, 0]);
    bytes.extend([1; 64]);
    for class in [0x00, 0x10] {
        bytes.extend([0xFF, 0xC4, 0, 20, class, 1]);
        bytes.extend([0; 15]);
        bytes.push(0);
    }
    bytes.extend([0xFF, 0xDA, 0, 8, 1, 1, 0, 0, 0x3F, 0, 0x3F, 0xFF, 0xD9]);
    bytes
}

#[test]
fn a_jpeg_never_decodes_larger_than_the_size_that_was_checked() {
    let bytes = jpeg_with_two_headers();
    // The header the limits saw is the small one.
    let header = image::ImageReader::with_format(std::io::Cursor::new(&bytes), ImageFormat::Jpeg)
        .into_dimensions()
        .unwrap();
    assert_eq!(header, (8, 8));
    // No memory limit, so that only the size check stands between libjpeg and 100 MP.
    let unlimited = Limits {
        max_alloc: u64::MAX,
        ..Limits::default()
    };
    let image = decode(&bytes, &unlimited).unwrap();
    assert_eq!((image.width(), image.height()), (8, 8));
}

#[test]
fn a_jpeg_with_more_scans_than_a_photo_needs_is_refused() {
    let photo = std::fs::read(samples::path("rocket.jpg")).unwrap();
    // The photo's scan header, repeated before its end marker: 301 scans in all.
    let sos = photo
        .windows(2)
        .position(|pair| pair == [0xFF, 0xDA])
        .unwrap();
    let length = usize::from(u16::from_be_bytes([photo[sos + 2], photo[sos + 3]]));
    let header = &photo[sos..sos + 2 + length];
    let mut bytes = photo[..photo.len() - 2].to_vec();
    for _ in 0..300 {
        bytes.extend(header);
        bytes.push(0);
    }
    bytes.extend([0xFF, 0xD9]);
    let error = decode(&bytes, &Limits::default()).unwrap_err();
    assert!(
        matches!(error, DecodeError::Unsupported { format: "JPEG", .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("301 scans"), "{error}");
}

#[test]
fn a_jpeg_without_quantisation_tables_is_an_explained_error() {
    let photo = std::fs::read(samples::path("rocket.jpg")).unwrap();
    // Drop every DQT segment (FF DB) before the scan.
    let mut bytes = photo[..2].to_vec();
    let mut at = 2;
    while photo[at + 1] != 0xDA {
        let length = usize::from(u16::from_be_bytes([photo[at + 2], photo[at + 3]]));
        if photo[at + 1] != 0xDB {
            bytes.extend(&photo[at..at + 2 + length]);
        }
        at += 2 + length;
    }
    bytes.extend(&photo[at..]);
    assert!(bytes.len() < photo.len());
    let error = decode(&bytes, &Limits::default()).unwrap_err();
    assert!(
        matches!(error, DecodeError::Corrupt { format: "JPEG", .. }),
        "{error:?}"
    );
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
