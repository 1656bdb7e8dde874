//! Tiled jobs through real worker processes on a real redis-server: a 20-megapixel image
//! in uneven tiles or in bands comes back identical to the single-process result, a tile
//! delivered twice still makes one assembly, an assembly never marks a failed job or a
//! lost result assembled, and a job the queue cannot take whole leaves
//! no tiles to run.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::session01::photo;
use common::session04::{eventually, flags};
use common::spawn_worker;
use image::{DynamicImage, ImageFormat};
use session01_image_basics::{Filter, Limits, decode, encode};
use session02_pipelines::PipelineSpec;
use session03_workers::{
    BlobError, BlobKey, BlobStore, Capabilities, FsBlobStore, ImageWorker, Queue, TaskState,
    Worker, WorkerId,
};
use session04_redis::cli::QueueArgs;
use session04_redis::server::Children;
use session04_redis::{RedisBlobStore, RedisQueue, RedisServer};
use session05_distributed::jobs::{
    JobKeys, JobOutcome, Jobs, PixelSource, PixelStore, RawLayout, TileAware, TileFormat,
    wait_for_job,
};

const BLOB_CAP: &str = "268435456";

/// The queue's flags in `namespace`, for blobs as large as a tiled job's and leases of 2 s.
fn tiled_flags(server: &RedisServer, namespace: &str) -> QueueArgs {
    let mut flags = flags(server, namespace);
    flags.max_blob_bytes = BLOB_CAP.parse().unwrap();
    flags.lease = 2.0;
    flags
}

/// The queue shared, its jobs, and a tile-aware image runner on them, as a worker has.
fn tile_runner(
    queue: RedisQueue,
    blobs: &Arc<RedisBlobStore>,
) -> (Arc<RedisQueue>, Jobs, TileAware) {
    let queue = Arc::new(queue);
    let jobs = Jobs::new(&queue, Arc::clone(blobs), Limits::default());
    let runner = TileAware::new(
        Arc::new(ImageWorker::new(blobs.clone(), Limits::default())),
        Arc::clone(&queue),
        jobs.clone(),
    );
    (queue, jobs, runner)
}

/// The rocket photo resampled to 5472 x 3648 (20 MP): real detail, at a size worth tiling.
fn twenty_megapixels() -> DynamicImage {
    PipelineSpec::parse("resize:width=5472,height=3648")
        .unwrap()
        .build()
        .unwrap()
        .apply(&photo("rocket.jpg"))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tiled_20_megapixel_image_equals_the_single_process_result() {
    let server = RedisServer::start().unwrap();
    let namespace = "tiled";
    let (queue, blobs) = tiled_flags(&server, namespace).open().await.unwrap();
    let jobs = Jobs::new(&queue, blobs.clone(), Limits::default());
    let mut children = Children(Vec::new());
    for _ in 0..3 {
        let extra = [
            "--concurrency",
            "1",
            "--max-blob-bytes",
            BLOB_CAP,
            "--lease",
            "2",
        ];
        children
            .0
            .push(spawn_worker(&server.url(), namespace, &extra));
    }
    let image = twenty_megapixels();
    for text in [
        "blur:sigma=3",
        "edges",
        "sharpen:amount=2",
        "median:radius=2",
        "median|blur:sigma=1.5|sharpen|edges",
    ] {
        let spec = PipelineSpec::parse(text).unwrap();
        // PPM results are written in bands, PNG ones stitched whole: both ways are checked.
        let extension = if text.contains('|') { "png" } else { "ppm" };
        let output = BlobKey::new(format!(
            "results/{}.{extension}",
            text.replace([':', '|', '=', '.'], "_")
        ))
        .unwrap();
        // 1000 x 700 divides neither side: the last column and row are narrower.
        let job = jobs
            .submit(&queue, &image, &spec, output.clone(), (1000, 700))
            .await
            .unwrap();
        let outcome = wait_for_job(&queue, job, Duration::from_secs(300))
            .await
            .unwrap();
        assert_eq!(
            outcome,
            JobOutcome::Assembled {
                output: output.as_str().to_owned()
            }
        );
        let stitched = decode(&blobs.get(&output).await.unwrap(), &Limits::default()).unwrap();
        let whole = spec.build().unwrap().apply(&image).unwrap();
        assert!(
            stitched == whole,
            "{text}: the tiled result differs from the whole-image one"
        );
        let status = jobs.status(job).await.unwrap().unwrap();
        assert_eq!((status.done, status.tiles, status.assemblies), (36, 36, 1));
        // The tiles' blobs are gone once the job is assembled.
        let record = jobs.record(job).await.unwrap().unwrap();
        assert_eq!(record.tile_format, TileFormat::Ppm);
        for index in [0, 35] {
            let tile = session05_distributed::jobs::tile_output(job, index, TileFormat::Ppm);
            assert!(blobs.get(&tile).await.is_err(), "{tile} left behind");
        }
        assert_eq!(
            queue.status(job).await.unwrap().unwrap().state,
            TaskState::Succeeded
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_in_place_on_a_shared_folder_equals_the_single_process_result() {
    in_place_equals_the_single_process_result(PixelStore::Folder).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_in_place_in_redis_equals_the_single_process_result() {
    in_place_equals_the_single_process_result(PixelStore::Redis).await;
}

/// Jobs in bands in `store`, from an image and from a raw image already there, come back
/// identical to the single-process result and leave nothing of theirs behind.
async fn in_place_equals_the_single_process_result(store: PixelStore) {
    let server = RedisServer::start().unwrap();
    let namespace = "in-place";
    let shared = tempfile::tempdir().unwrap();
    let folder = Arc::new(FsBlobStore::with_limit(shared.path(), u64::MAX).unwrap());
    let (queue, blobs) = tiled_flags(&server, namespace).open().await.unwrap();
    let jobs = Jobs::new(&queue, blobs.clone(), Limits::default()).with_folder(Arc::clone(&folder));
    let kept: Arc<dyn BlobStore> = match store {
        PixelStore::Folder => folder.clone(),
        PixelStore::Redis => blobs,
    };
    let mut children = Children(Vec::new());
    let dir = shared.path().to_str().unwrap();
    for _ in 0..3 {
        let extra = [
            "--concurrency",
            "1",
            "--lease",
            "2",
            "--max-blob-bytes",
            BLOB_CAP,
            "--shared-dir",
            dir,
        ];
        children
            .0
            .push(spawn_worker(&server.url(), namespace, &extra));
    }
    let image = twenty_megapixels();
    // A raw image the operator put there is read in place and left there.
    let stored = BlobKey::new("inbox/photo.ppm").unwrap();
    let raw = encode(&image, ImageFormat::Pnm).unwrap();
    kept.put(&stored, raw.into()).await.unwrap();
    for (text, extension, from_store) in [
        ("blur:sigma=3", "ppm", false),
        ("median:radius=2", "ppm", true),
        ("grayscale|sharpen", "pgm", false),
        (
            "median|blur:sigma=1.5|sharpen|edges|resize:width=800",
            "png",
            true,
        ),
    ] {
        let spec = PipelineSpec::parse(text).unwrap();
        let output = BlobKey::new(format!("results/{}.{extension}", text.len())).unwrap();
        let source = if from_store {
            PixelSource::Stored(&stored)
        } else {
            PixelSource::Image(&image)
        };
        // Bands of 700 rows divide no side: the last band is shorter.
        let job = jobs
            .submit_in_place(&queue, store, source, &spec, output.clone(), 700)
            .await
            .unwrap();
        let outcome = wait_for_job(&queue, job, Duration::from_secs(300))
            .await
            .unwrap();
        assert_eq!(
            outcome,
            JobOutcome::Assembled {
                output: output.as_str().to_owned()
            },
            "{text}"
        );
        let stitched = decode(&kept.get(&output).await.unwrap(), &Limits::default()).unwrap();
        let whole = spec.build().unwrap().apply(&image).unwrap();
        assert!(
            stitched == whole,
            "{text}: the result in {store:?} differs from the whole-image one"
        );
        let status = jobs.status(job).await.unwrap().unwrap();
        assert_eq!((status.done, status.tiles, status.assemblies), (6, 6, 1));
        // The assembly deletes the job's own files just after it tells the client.
        let dir = shared.path().join("jobs").join(job.to_string());
        let what = format!("{text}: the job's files to go");
        eventually(Duration::from_secs(10), &what, || async {
            let mut gone = !dir.exists();
            for name in ["source.pnm", "result.pnm"] {
                let key = BlobKey::new(format!("jobs/{job}/{name}")).unwrap();
                gone &= kept.get(&key).await.is_err();
            }
            gone.then_some(())
        })
        .await;
    }
    assert!(
        kept.get(&stored).await.is_ok(),
        "the operator's image was deleted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_on_a_folder_whose_source_is_damaged_fails_and_leaves_only_the_source() {
    let server = RedisServer::start().unwrap();
    let namespace = "damaged";
    let shared = tempfile::tempdir().unwrap();
    let folder = Arc::new(FsBlobStore::with_limit(shared.path(), u64::MAX).unwrap());
    let (queue, blobs) = tiled_flags(&server, namespace).open().await.unwrap();
    let jobs = Jobs::new(&queue, blobs, Limits::default()).with_folder(Arc::clone(&folder));
    let image = DynamicImage::from(session01_image_basics::samples::generate(600, 400));
    let stored = BlobKey::new("photo.ppm").unwrap();
    let layout = RawLayout::for_color(600, 400, image.color()).unwrap();
    let file = layout.create(&folder.path(&stored)).unwrap();
    layout
        .write_rows(&file, 0, 0, 600, image.as_bytes())
        .unwrap();
    let spec = PipelineSpec::parse("blur").unwrap();
    let output = BlobKey::new("results/damaged.ppm").unwrap();
    let job = jobs
        .submit_in_place(
            &queue,
            PixelStore::Folder,
            PixelSource::Stored(&stored),
            &spec,
            output.clone(),
            100,
        )
        .await
        .unwrap();
    assert!(shared.path().join("jobs").join(job.to_string()).exists());
    // Cut short after the job was planned: no band can read its rows.
    file.set_len(1000).unwrap();
    let dir = shared.path().to_str().unwrap();
    let mut children = Children(Vec::new());
    let extra = ["--concurrency", "1", "--shared-dir", dir];
    children
        .0
        .push(spawn_worker(&server.url(), namespace, &extra));
    let outcome = wait_for_job(&queue, job, Duration::from_secs(60))
        .await
        .unwrap();
    let JobOutcome::Failed { reason } = outcome else {
        panic!("a job whose source is cut short was assembled");
    };
    assert!(reason.contains("truncated"), "{reason}");
    assert!(
        !shared.path().join("jobs").join(job.to_string()).exists(),
        "the failed job's result was left behind"
    );
    assert!(!folder.path(&output).exists());
    assert!(
        folder.path(&stored).exists(),
        "the operator's image was deleted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tile_delivered_twice_makes_one_assembly() {
    delivered_twice(None, "blur:sigma=2|resize:width=150", "png").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_band_in_place_delivered_twice_makes_one_assembly() {
    delivered_twice(Some(PixelStore::Redis), "blur:sigma=2", "ppm").await;
    delivered_twice(Some(PixelStore::Folder), "blur:sigma=2", "ppm").await;
    delivered_twice(
        Some(PixelStore::Folder),
        "blur:sigma=2|resize:width=150",
        "png",
    )
    .await;
}

/// A job in tiles (or in bands in place in `store`) whose last tile runs twice at once,
/// and once more after its assembly, which also runs twice at once: one assembly counts,
/// and the result is the single-process one.
async fn delivered_twice(store: Option<PixelStore>, pipeline: &str, extension: &str) {
    let server = RedisServer::start().unwrap();
    let namespace = "twice";
    let shared = tempfile::tempdir().unwrap();
    let folder = Arc::new(FsBlobStore::with_limit(shared.path(), u64::MAX).unwrap());
    let (queue, blobs) = tiled_flags(&server, namespace).open().await.unwrap();
    let (queue, jobs, runner) = tile_runner(queue, &blobs);
    let (jobs, runner) = match store {
        Some(_) => {
            let jobs = jobs.with_folder(Arc::clone(&folder));
            let runner = TileAware::new(
                Arc::new(ImageWorker::new(blobs.clone(), Limits::default())),
                Arc::clone(&queue),
                jobs.clone(),
            );
            (jobs, runner)
        }
        None => (jobs, runner),
    };
    let kept: Arc<dyn BlobStore> = match store {
        Some(PixelStore::Folder) => folder.clone(),
        _ => blobs.clone(),
    };
    let image: DynamicImage = session01_image_basics::samples::generate(300, 200).into();
    let spec = PipelineSpec::parse(pipeline).unwrap();
    let output = BlobKey::new(format!("results/twice.{extension}")).unwrap();
    let job = match store {
        Some(store) => {
            let source = PixelSource::Image(&image);
            jobs.submit_in_place(&queue, store, source, &spec, output.clone(), 40)
                .await
                .unwrap()
        }
        None => jobs
            .submit(&queue, &image, &spec, output.clone(), (128, 128))
            .await
            .unwrap(),
    };
    let tiles = jobs.record(job).await.unwrap().unwrap().tiles.len();
    assert_eq!(tiles, if store.is_some() { 5 } else { 6 });

    // Run every tile; the last one twice at the same time, as two workers would after a
    // lease ran out, and once more after the job was assembled.
    let me = WorkerId::named("test");
    let mut leases = Vec::new();
    while let Some(lease) = queue
        .reserve(&me, &Capabilities::All, Duration::from_millis(200))
        .await
        .unwrap()
    {
        leases.push(lease);
        if leases.len() == tiles {
            break;
        }
    }
    assert_eq!(leases.len(), tiles);
    let (last, rest) = leases.split_last().unwrap();
    for lease in rest {
        runner.process(&lease.task).await.unwrap();
        queue.ack(lease).await.unwrap();
    }
    let (a, b) = tokio::join!(runner.process(&last.task), runner.process(&last.task));
    a.unwrap();
    b.unwrap();
    queue.ack(last).await.unwrap();

    // One assembly task, whose id is the job's; run it.
    let assembly = queue
        .reserve(&me, &Capabilities::All, Duration::from_secs(2))
        .await
        .unwrap()
        .expect("the assembly task");
    assert_eq!(assembly.task.id, job);
    assert!(
        queue
            .reserve(&me, &Capabilities::All, Duration::from_millis(300))
            .await
            .unwrap()
            .is_none(),
        "a second assembly task was enqueued"
    );
    let (a, b) = tokio::join!(
        runner.process(&assembly.task),
        runner.process(&assembly.task)
    );
    // The slower one may find the result moved: a retryable error, and the job done.
    for outcome in [a, b] {
        if let Err(error) = outcome {
            assert!(error.is_retryable(), "{error:?}");
        }
    }
    queue.ack(&assembly).await.unwrap();
    runner.process(&last.task).await.unwrap();
    runner.process(&assembly.task).await.unwrap();

    let status = jobs.status(job).await.unwrap().unwrap();
    assert_eq!((status.done, status.tiles), (tiles as u64, tiles as u64));
    // Both runs may count; one only marked the job assembled and told its clients.
    assert!((1..=2).contains(&status.assemblies), "{status:?}");
    let events: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
        .arg(JobKeys::new(queue.keys(), job).events)
        .arg("-")
        .arg("+")
        .query_async(&mut queue.connection())
        .await
        .unwrap();
    let assembled = events
        .ids
        .iter()
        .filter(|entry| entry.get::<String>("event").as_deref() == Some("assembled"))
        .count();
    assert_eq!(assembled, 1, "{pipeline} in {store:?}");
    assert!(status.assembled);
    let outcome = wait_for_job(&queue, job, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(
        outcome,
        JobOutcome::Assembled {
            output: output.as_str().to_owned()
        }
    );
    let result = decode(&kept.get(&output).await.unwrap(), &Limits::default()).unwrap();
    let whole = spec.build().unwrap().apply(&image).unwrap();
    assert!(result == whole, "{pipeline} in {store:?}");
}

/// How an assembly goes wrong after every tile of its job is done.
#[derive(Debug, Clone, Copy)]
enum Spoiled {
    /// The job was failed (by an operator, or a late tile) first.
    Failed,
    /// The result the bands wrote is gone.
    ResultGone,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_assembly_never_marks_a_failed_job_or_a_lost_result_assembled() {
    spoiled_assembly(None, Spoiled::Failed).await;
    spoiled_assembly(Some(PixelStore::Redis), Spoiled::Failed).await;
    spoiled_assembly(Some(PixelStore::Redis), Spoiled::ResultGone).await;
}

/// A job in tiles (or in bands in place in `store`) whose tiles are all done, then
/// `spoiled`: its assembly fails for good, the job ends failed, and no output is stored.
async fn spoiled_assembly(store: Option<PixelStore>, spoiled: Spoiled) {
    let server = RedisServer::start().unwrap();
    let namespace = "spoiled";
    let (queue, blobs) = tiled_flags(&server, namespace).open().await.unwrap();
    let (queue, jobs, runner) = tile_runner(queue, &blobs);
    let image: DynamicImage = session01_image_basics::samples::generate(300, 200).into();
    let spec = PipelineSpec::parse("blur:sigma=2").unwrap();
    let output = BlobKey::new("results/spoiled.ppm").unwrap();
    let job = match store {
        Some(store) => jobs
            .submit_in_place(
                &queue,
                store,
                PixelSource::Image(&image),
                &spec,
                output.clone(),
                40,
            )
            .await
            .unwrap(),
        None => jobs
            .submit(&queue, &image, &spec, output.clone(), (128, 128))
            .await
            .unwrap(),
    };
    let tiles = jobs.record(job).await.unwrap().unwrap().tiles.len();
    let me = WorkerId::named("test");
    for _ in 0..tiles {
        let lease = queue
            .reserve(&me, &Capabilities::All, Duration::from_secs(2))
            .await
            .unwrap()
            .expect("a tile");
        runner.process(&lease.task).await.unwrap();
        queue.ack(&lease).await.unwrap();
    }
    let assembly = queue
        .reserve(&me, &Capabilities::All, Duration::from_secs(2))
        .await
        .unwrap()
        .expect("the assembly task");
    assert_eq!(assembly.task.id, job);
    match spoiled {
        Spoiled::Failed => jobs.fail(job, "stopped by the operator").await.unwrap(),
        Spoiled::ResultGone => {
            let files = jobs.record(job).await.unwrap().unwrap().in_place.unwrap();
            blobs.delete(&files.staging).await.unwrap();
        }
    }
    let error = runner.process(&assembly.task).await.unwrap_err();
    assert!(!error.is_retryable(), "{spoiled:?} in {store:?}: {error:?}");
    let expected = match spoiled {
        Spoiled::Failed => "stopped by the operator",
        Spoiled::ResultGone => "is gone",
    };
    assert!(error.message.contains(expected), "{error:?}");
    let status = jobs.status(job).await.unwrap().unwrap();
    assert!(!status.assembled, "{spoiled:?} in {store:?}: {status:?}");
    assert!(
        status.failed.is_some(),
        "{spoiled:?} in {store:?}: {status:?}"
    );
    assert!(
        matches!(blobs.get(&output).await, Err(BlobError::NotFound(_))),
        "{spoiled:?} in {store:?}: an output was stored"
    );
    let outcome = wait_for_job(&queue, job, Duration::from_secs(5))
        .await
        .unwrap();
    assert!(matches!(outcome, JobOutcome::Failed { .. }), "{outcome:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pipeline_that_starts_by_changing_geometry_is_refused() {
    let server = RedisServer::start().unwrap();
    let (queue, blobs) = tiled_flags(&server, "refused").open().await.unwrap();
    let jobs = Jobs::new(&queue, blobs, Limits::default());
    let image: DynamicImage = session01_image_basics::samples::generate(300, 200).into();
    let error = jobs
        .submit(
            &queue,
            &image,
            &PipelineSpec::parse("rotate|blur").unwrap(),
            BlobKey::new("results/r.png").unwrap(),
            (128, 128),
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("rotate changes the image's geometry"),
        "{error}"
    );
    assert_eq!(queue.stats().await.unwrap().enqueued, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_still_takes_the_assembly_without_parking_a_worker() {
    let server = RedisServer::start_async().await.unwrap();
    let mut args = tiled_flags(&server, "full");
    args.capacity = 4;
    let (queue, blobs) = args.open().await.unwrap();
    let (queue, jobs, runner) = tile_runner(queue, &blobs);
    let image: DynamicImage = session01_image_basics::samples::generate(200, 200).into();
    let spec = PipelineSpec::parse("blur:sigma=1").unwrap();
    let output = BlobKey::new("results/full.png").unwrap();
    let job = jobs
        .submit(&queue, &image, &spec, output, (128, 128))
        .await
        .unwrap();
    let me = WorkerId::named("test");
    let mut leases = Vec::new();
    for _ in 0..4 {
        let lease = queue
            .reserve(&me, &Capabilities::All, Duration::from_secs(2))
            .await
            .unwrap()
            .expect("a tile");
        leases.push(lease);
    }
    // Other work fills the queue while the tiles run.
    let filler = BlobKey::new("in/filler.png").unwrap();
    for _ in 0..4 {
        let task = session03_workers::Task::new(spec.clone(), filler.clone(), filler.clone());
        queue
            .enqueue(task, session03_workers::Backpressure::Reject)
            .await
            .unwrap();
    }
    for lease in &leases[..3] {
        runner.process(&lease.task).await.unwrap();
    }
    // The assembly continues admitted work: it goes in although the queue is full, at
    // once, instead of parking the worker slot until room appears (or failing the job).
    tokio::time::timeout(Duration::from_secs(20), runner.process(&leases[3].task))
        .await
        .expect("the worker slot was parked on the full queue")
        .unwrap();
    let status = jobs.status(job).await.unwrap().unwrap();
    assert_eq!((status.done, status.tiles), (4, 4));
    let assembly = queue.status(job).await.unwrap().expect("the assembly task");
    assert_eq!(assembly.state, TaskState::Pending);
    assert_eq!(queue.stats().await.unwrap().waiting, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_the_queue_cannot_take_whole_keeps_no_tiles_and_runs_none() {
    let server = RedisServer::start().unwrap();
    let mut flags = tiled_flags(&server, "partial");
    flags.capacity = 4;
    let (queue, blobs) = flags.open().await.unwrap();
    let (queue, jobs, runner) = tile_runner(queue, &blobs);
    let image: DynamicImage = session01_image_basics::samples::generate(300, 200).into();
    let spec = PipelineSpec::parse("blur:sigma=2").unwrap();
    let output = BlobKey::new("results/partial.png").unwrap();
    // Six tiles, room for four.
    let error = jobs
        .submit(&queue, &image, &spec, output, (128, 128))
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("full"), "{error}");

    let me = WorkerId::named("test");
    let lease = queue
        .reserve(&me, &Capabilities::All, Duration::from_secs(2))
        .await
        .unwrap()
        .expect("the tiles that found room are queued");
    let job = match session05_distributed::jobs::JobPart::of(&lease.task).unwrap() {
        Some(session05_distributed::jobs::JobPart::Tile { job, .. }) => job,
        other => panic!("not a tile: {other:?}"),
    };
    let record = jobs.record(job).await.unwrap().unwrap();
    let status = jobs.status(job).await.unwrap().unwrap();
    assert!(
        status
            .failed
            .as_deref()
            .unwrap_or("")
            .contains("not every tile"),
        "{status:?}"
    );
    // The tiles that were refused never run: their inputs are gone.
    for index in [4, 5] {
        let input = session05_distributed::jobs::tile_input(job, index, record.tile_format);
        assert!(blobs.get(&input).await.is_err(), "{input} left behind");
    }
    // A queued tile of the failed job is not run: it fails, and its input goes too.
    let ran = runner.process(&lease.task).await.unwrap_err();
    assert!(ran.message.contains("its job failed"), "{ran:?}");
    assert!(blobs.get(&lease.task.input).await.is_err());
    assert!(blobs.get(&lease.task.output).await.is_err());
}
