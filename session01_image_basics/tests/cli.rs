//! The binary as a student runs it: the demo, `--list`, `info`, one filter, and bad input.

use std::path::Path;
use std::process::{Command, Output};

use session01_image_basics::{catalog, samples};

fn session01(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_session01_image_basics"))
        .args(args)
        .current_dir(dir)
        .env_remove("SESSION01_OUTPUT_DIR")
        .env_remove("SESSION01_SAMPLE")
        .env_remove("IMAGE_MAX_MEGAPIXELS")
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn without_arguments_the_demo_writes_every_filter_and_a_table() {
    let dir = tempfile::tempdir().unwrap();
    let out = session01(dir.path(), &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let folder = dir.path().join("output/session01");
    assert!(
        stdout.contains("15 outputs written to output/session01"),
        "{stdout}"
    );
    for header in ["filter", "parameters", "output", "time (ms)"] {
        assert!(stdout.contains(header), "{stdout}");
    }
    for (index, info) in catalog().iter().enumerate() {
        let file = format!("{:02}-{}.png", index + 1, info.name);
        assert!(stdout.contains(&file), "{file} in table");
        let written = session01_image_basics::load(folder.join(&file)).unwrap();
        assert!(written.width() > 0);
    }
    assert_eq!(std::fs::read_dir(&folder).unwrap().count(), catalog().len());
}

#[test]
fn the_demo_takes_another_photo_and_folder() {
    let dir = tempfile::tempdir().unwrap();
    let sample = samples::path("camera.png");
    let out = session01(
        dir.path(),
        &[
            "--sample",
            sample.to_str().unwrap(),
            "--output-dir",
            "elsewhere",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        std::fs::read_dir(dir.path().join("elsewhere"))
            .unwrap()
            .count(),
        catalog().len()
    );
}

#[test]
fn list_shows_every_filter_and_parameter() {
    let out = session01(Path::new("."), &["--list"]);
    assert!(out.status.success());
    let stdout = text(&out.stdout);
    for info in catalog() {
        assert!(stdout.contains(info.name));
        for spec in info.params {
            assert!(
                stdout.contains(&format!("    {}: ", spec.name)),
                "{} of {}",
                spec.name,
                info.name
            );
        }
    }
    assert!(
        stdout.contains("sigma: a number in 0.1..=100 (default 2)"),
        "{stdout}"
    );
}

#[test]
fn info_reads_the_header() {
    let path = samples::path("hubble_deep_field.jpg");
    let out = session01(Path::new("."), &["info", path.to_str().unwrap()]);
    assert!(out.status.success());
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("JPEG") && stdout.contains("1000x872") && stdout.contains("Rgb8"),
        "{stdout}"
    );
}

#[test]
fn one_filter_writes_its_output() {
    let dir = tempfile::tempdir().unwrap();
    let input = samples::path("chelsea.png");
    let out = session01(
        dir.path(),
        &[
            "--input",
            input.to_str().unwrap(),
            "--filter",
            "resize",
            "--param",
            "width=100",
            "--output",
            "small.webp",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout)
            .starts_with("resize:width=100,mode=aspect,filter=lanczos3 -> small.webp (100x67)")
    );
    let written = session01_image_basics::load(dir.path().join("small.webp")).unwrap();
    assert_eq!((written.width(), written.height()), (100, 67));
}

#[test]
fn generate_writes_the_test_image() {
    let dir = tempfile::tempdir().unwrap();
    let out = session01(
        dir.path(),
        &[
            "generate", "--width", "320", "--height", "200", "--output", "big.png",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let written = session01_image_basics::load(dir.path().join("big.png")).unwrap();
    assert!(written.to_rgb8() == samples::generate(320, 200));
}

#[test]
fn bad_input_exits_non_zero_and_names_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("empty.jpg"), b"").unwrap();
    std::fs::write(dir.path().join("text.jpg"), b"not an image at all").unwrap();
    let jpeg = std::fs::read(samples::path("rocket.jpg")).unwrap();
    std::fs::write(dir.path().join("cut.jpg"), &jpeg[..jpeg.len() / 2]).unwrap();
    let photo = samples::path("chelsea.png");
    let photo = photo.to_str().unwrap();
    let cases: [(&[&str], &str); 9] = [
        (
            &[
                "--input",
                "empty.jpg",
                "--filter",
                "invert",
                "--output",
                "o.png",
            ],
            "empty.jpg: the file is empty",
        ),
        (
            &[
                "--input", "text.jpg", "--filter", "invert", "--output", "o.png",
            ],
            "not a JPEG, PNG or WebP image",
        ),
        (
            &[
                "--input", "cut.jpg", "--filter", "invert", "--output", "o.png",
            ],
            "truncated JPEG data",
        ),
        (
            &[
                "--input", "gone.png", "--filter", "invert", "--output", "o.png",
            ],
            "cannot read gone.png",
        ),
        (
            &["--input", photo, "--filter", "sepia", "--output", "o.png"],
            "unknown filter \"sepia\"",
        ),
        (
            &[
                "--input",
                photo,
                "--filter",
                "blur",
                "--param",
                "sigma=nan",
                "--output",
                "o.png",
            ],
            "sigma must be",
        ),
        (
            &[
                "--input",
                photo,
                "--filter",
                "crop",
                "--param",
                "width=999",
                "--param",
                "height=9",
                "--output",
                "o.png",
            ],
            "outside the 451x300 image",
        ),
        (
            &["--input", photo, "--filter", "invert", "--output", "o.bmp"],
            "unknown extension \"bmp\"",
        ),
        (
            &[
                "--input",
                photo,
                "--filter",
                "invert",
                "--output",
                "o.png",
                "--max-megapixels",
                "0.1",
            ],
            "over the limit of 0.1 megapixels",
        ),
    ];
    for (args, expected) in cases {
        let out = session01(dir.path(), args);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.starts_with("error: ") && stderr.contains(expected),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    assert!(!dir.path().join("o.png").exists(), "no output on error");
    let usage = session01(dir.path(), &["--filter", "blur"]);
    assert_eq!(usage.status.code(), Some(2), "clap reports bad usage");
}

#[test]
fn exercises_reports_each_exercise_without_crashing_on_stubs() {
    let dir = tempfile::tempdir().unwrap();
    let out = session01(dir.path(), &["exercises", "--output-dir", "ex"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    for (number, info, _) in session01_image_basics::exercises::EXERCISES {
        let row = stdout
            .lines()
            .find(|line| line.contains(info.name))
            .unwrap_or_else(|| panic!("no row for {number} {}: {stdout}", info.name));
        assert!(row.contains(number), "{row}");
        if row.contains("done: ") {
            let file = format!("ex/exercise-{number}-{}.png", info.name);
            assert!(dir.path().join(file).is_file(), "{row}: no output file");
        } else {
            assert!(row.contains("not started"), "{row}");
        }
    }
    assert!(
        !text(&out.stderr).contains("panicked"),
        "a stub's panic leaked out"
    );
}
