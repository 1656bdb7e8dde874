//! `POST /api/compare`: session 02's four ways of spreading a batch over the CPUs
//! (sequential, threads, rayon, processes), each run on the bundled photos, as a table in
//! JSON. One comparison runs at a time: it takes every CPU, and a second one would only
//! measure the first.

use std::path::PathBuf;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use session02_pipelines::PipelineSpec;
use session02_pipelines::batch::{self, BatchOptions, Strategy};
use session02_pipelines::cli::DEFAULT_PIPELINE;
use session02_pipelines::demo::CompareRow;

use crate::app::App;
use crate::error::ApiError;
use crate::jobs;
use crate::request::JsonBody;

/// What a comparison may be asked.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompareRequest {
    /// The pipeline; session 02's default when absent.
    pub pipeline: Option<String>,
    /// Threads or processes for the parallel strategies; the CPUs when absent (1 to 16).
    pub workers: Option<usize>,
}

/// The answer.
#[derive(Debug, Serialize)]
pub struct CompareReport {
    /// The pipeline, in the text form.
    pub pipeline: String,
    /// One row per strategy, sequential first.
    pub rows: Vec<CompareRow>,
}

// ANCHOR: compare
/// `POST /api/compare` with an optional JSON body: the four strategies on the photos.
#[utoipa::path(post, path = "/api/compare", tag = "processing",
    request_body(content_type = "application/json", description = "Optional: `{\"pipeline\": \"...\", \"workers\": N}`"),
    responses(
        (status = 200, description = "One row per strategy: wall seconds, speed-up, CPUs busy", body = Object),
        (status = 400, description = "Workers out of 1 to 16", body = Object),
        (status = 422, description = "A pipeline error", body = Object),
        (status = 429, description = "A comparison is already running", body = Object)))]
pub async fn compare(
    State(app): State<Arc<App>>,
    JsonBody(request): JsonBody<CompareRequest>,
) -> Result<Json<CompareReport>, ApiError> {
    let text = request.pipeline.as_deref().unwrap_or(DEFAULT_PIPELINE);
    let spec = jobs::pipeline(text)?;
    let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
    let workers = request.workers.unwrap_or(cpus);
    if !(1..=16).contains(&workers) {
        return Err(ApiError::bad_request(format!(
            "workers is 1 to 16, not {workers}"
        )));
    }
    let Ok(running) = app.comparing().try_lock_owned() else {
        return Err(ApiError::Busy {
            reason: "a comparison is running: it takes every CPU; try again when it ends".into(),
            retry_after: 10,
        });
    };
    let program = app.program().cloned();
    let limits = app.limits().decoding();
    // The lock goes with the work: a client that leaves does not free it early.
    let rows = tokio::task::spawn_blocking(move || {
        let _running = running;
        run(&spec, workers, program, limits)
    })
    .await
    .map_err(|error| ApiError::internal(format!("the comparison failed: {error}")))??;
    Ok(Json(CompareReport {
        pipeline: text.trim().to_owned(),
        rows,
    }))
}
// ANCHOR_END: compare

/// Runs every strategy in turn (processes only when this program's path is known).
fn run(
    spec: &PipelineSpec,
    workers: usize,
    program: Option<PathBuf>,
    limits: session01_image_basics::Limits,
) -> Result<Vec<CompareRow>, ApiError> {
    let photos = session01_image_basics::samples::dir();
    let inputs = batch::collect_inputs(&[photos])
        .map_err(|error| ApiError::unavailable(format!("the bundled photos: {error:#}")))?;
    let output = tempfile::tempdir()
        .map_err(|error| ApiError::internal(format!("no folder for the outputs: {error}")))?;
    let mut rows: Vec<CompareRow> = Vec::new();
    for strategy in Strategy::ALL {
        if strategy == Strategy::Processes && program.is_none() {
            continue;
        }
        let options = BatchOptions {
            strategy,
            workers,
            output_dir: output.path().to_owned(),
            limits,
            progress: false,
            worker_exe: program.clone(),
            read_delay: std::time::Duration::ZERO,
        };
        let summary = batch::run(&inputs, spec, &options)
            .map_err(|error| ApiError::internal(format!("{}: {error:#}", strategy.name())))?;
        let wall = summary.wall.as_secs_f64();
        let base = rows.first().map_or(wall, |first| first.wall_seconds);
        rows.push(CompareRow::of(strategy, &summary, base));
    }
    Ok(rows)
}
