//! The `send` demo (the original course's first): five tasks, each with a different filter,
//! on one photo; the results written as `output/resize.png`, `output/blur.png`, ...; then
//! the queue's counts by state.

use std::fmt::Write as _;

use anyhow::Result;
use session03_workers::cli::seconds;
use session04_redis::cli::QueueArgs;
use session04_redis::submit::prepare_output;

use crate::batch::{self, FoldersArgs, Planned};
use crate::monitor::counts_line;

/// Sends five tasks with different filters and writes their results.
#[derive(Debug, Clone, clap::Args)]
pub struct SendArgs {
    /// The queue.
    #[command(flatten)]
    pub queue: QueueArgs,
    /// Input and output folders, and how long to wait.
    #[command(flatten)]
    pub folders: FoldersArgs,
}

// ANCHOR: filters
/// The five tasks: one filter each, as the original course's workers specialised in them.
pub const FILTERS: [(&str, &str); 5] = [
    ("resize", "resize:width=400"),
    ("blur", "blur:sigma=3"),
    ("brightness", "brightness:factor=1.4"),
    ("sharpen", "sharpen:amount=1.5"),
    ("edges", "edges"),
];
// ANCHOR_END: filters

/// Runs the demo; fails when a task does not succeed.
pub async fn run(args: SendArgs) -> Result<String> {
    let timeout = seconds("timeout", args.folders.timeout)?;
    prepare_output(&args.folders.output)?;
    let photos = batch::photos(args.folders.input.as_deref(), &Default::default())?;
    let photo = &photos[0];
    let planned: Vec<Planned> = FILTERS
        .iter()
        .map(|(name, pipeline)| Planned {
            name: (*name).to_owned(),
            pipeline: (*pipeline).to_owned(),
            input: photo.clone(),
        })
        .collect();
    let (queue, blobs) = batch::open(&args.queue, timeout).await?;
    let finished = batch::run(&queue, &blobs, &planned, &args.folders.output, timeout).await?;
    let mut out = String::new();
    writeln!(out, "sent 5 tasks on {}", photo.display())?;
    let mut failed = 0;
    for task in &finished {
        match &task.file {
            Some(file) => writeln!(out, "  {:<10} {}", task.name, file.display())?,
            None => {
                failed += 1;
                let why = task
                    .record
                    .error
                    .as_ref()
                    .map_or("", |e| e.message.as_str());
                writeln!(out, "  {:<10} {} {why}", task.name, task.record.state)?;
            }
        }
    }
    writeln!(out, "{}", counts_line(&queue.counts().await?))?;
    anyhow::ensure!(failed == 0, "{failed} of 5 tasks did not succeed:\n{out}");
    Ok(out)
}
