//! The batch processor's failures stay with their image, and its memory report.

use std::path::PathBuf;
use std::time::Duration;

use session01_image_basics::Limits;
use session02_pipelines::PipelineSpec;
use session02_pipelines::batch::{self, BatchOptions, ItemResult, Strategy, guarded};
use session02_pipelines::memory::{own_peak_resident, peak_resident};

#[test]
fn a_panic_fails_its_image_and_the_others_go_on() {
    let images = ["a.png", "bad.png", "c.png"].map(PathBuf::from);
    let results: Vec<ItemResult> = images
        .iter()
        .map(|input| {
            guarded(input, || {
                assert!(!input.ends_with("bad.png"), "a bug in a filter");
                ItemResult {
                    input: input.clone(),
                    output: Some(input.clone()),
                    megapixels: 1.0,
                    error: None,
                }
            })
        })
        .collect();
    let failed: Vec<bool> = results.iter().map(|r| r.error.is_some()).collect();
    assert_eq!(failed, [false, true, false], "{results:?}");
    let error = results[1].error.as_deref().unwrap_or_default();
    assert!(error.contains("panicked"), "{error}");
}

#[test]
fn a_worker_process_that_dies_fails_images_not_the_batch() {
    if !cfg!(unix) {
        eprintln!("no `true` program here: nothing to check");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let inputs: Vec<PathBuf> = ["a.png", "b.png", "c.png"].map(PathBuf::from).into();
    let options = BatchOptions {
        strategy: Strategy::Processes,
        workers: 2,
        output_dir: dir.path().to_owned(),
        limits: Limits::default(),
        progress: false,
        // `true` exits at once: a worker process that dies before its first answer.
        worker_exe: Some(PathBuf::from("true")),
        read_delay: Duration::ZERO,
    };
    let spec = PipelineSpec::parse_any("invert").unwrap();
    let summary = batch::run(&inputs, &spec, &options).expect("the batch itself must not fail");
    assert_eq!(summary.failures(), 3, "{:?}", summary.items);
}

#[test]
fn the_peak_memory_covers_what_is_held() {
    if own_peak_resident().is_none() {
        eprintln!("this platform does not report peak memory: nothing to check");
        return;
    }
    // 64 MiB, touched so that it is resident.
    let block = vec![1u8; 64 << 20];
    assert!(block.iter().step_by(4096).all(|&b| b == 1));
    let peak = own_peak_resident().unwrap();
    assert!(
        peak >= 64 << 20,
        "64 MiB resident, but a peak of {peak} bytes"
    );
    assert_eq!(peak_resident(u32::MAX), None, "no such process");
}
