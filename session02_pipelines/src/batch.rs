//! The batch processor: one pipeline over many images, with a choice of strategy.
//!
//! The original course compared threads and processes in Python, where the global
//! interpreter lock keeps threads from running Python code in parallel and only processes
//! scale. Rust has no such lock: threads share the decoded pipeline and scale like processes,
//! without the cost of starting interpreters and shipping data between them. The
//! `compare` command measures exactly that.
//!
//! Every strategy processes each image the same way ([`process_one`]): load with limits,
//! apply, save. A file that fails is recorded with its reason and the batch goes on.

use std::io::{BufRead, BufReader, Write};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use cpu_time::ProcessTime;
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use session01_image_basics::{Filter, Limits, load_with, save};

use crate::memory::own_peak_resident;
use crate::pipeline::Pipeline;
use crate::spec::PipelineSpec;

/// How the images of a batch are spread over the CPUs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// One image after the other, on the calling thread.
    Sequential,
    /// `std::thread::scope` workers taking the next image from a shared counter.
    Threads,
    /// A rayon thread pool with work stealing.
    Rayon,
    /// Child processes, each taking the next image over a pipe (Python's multiprocessing).
    Processes,
}

impl Strategy {
    /// Every strategy, in the order `compare` runs them.
    pub const ALL: [Strategy; 4] = [
        Strategy::Sequential,
        Strategy::Threads,
        Strategy::Rayon,
        Strategy::Processes,
    ];

    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Strategy::Sequential => "sequential",
            Strategy::Threads => "threads",
            Strategy::Rayon => "rayon",
            Strategy::Processes => "processes",
        }
    }
}

/// What a batch needs besides its images and pipeline.
#[derive(Debug, Clone)]
pub struct BatchOptions {
    /// How to spread the work.
    pub strategy: Strategy,
    /// Threads or processes to use (ignored by `sequential`).
    pub workers: usize,
    /// Where the outputs go, named after their inputs.
    pub output_dir: PathBuf,
    /// Limits for loading each image.
    pub limits: Limits,
    /// Show a progress bar on stderr (hidden anyway when stderr is not a terminal).
    pub progress: bool,
    /// The program the `processes` strategy starts: a binary with the `process-worker`
    /// subcommand, normally this crate's own.
    pub worker_exe: Option<PathBuf>,
    /// How long each image waits before it is read: slow storage or a remote call,
    /// simulated (zero for none). It makes the batch wait-bound instead of CPU-bound.
    pub read_delay: Duration,
}

/// The longest simulated wait before each read: a batch that waits stays a lesson, not a
/// hang.
pub const MAX_READ_DELAY: Duration = Duration::from_secs(2);

/// Waits as slow storage would before a read: the thread sleeps, holding no CPU.
// ANCHOR: slow_storage
fn slow_storage(delay: Duration) {
    if !delay.is_zero() {
        std::thread::sleep(delay.min(MAX_READ_DELAY));
    }
}
// ANCHOR_END: slow_storage

/// What became of one image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemResult {
    /// The input file.
    pub input: PathBuf,
    /// The output file, when it was written.
    pub output: Option<PathBuf>,
    /// The input's size in megapixels (0 when it could not be loaded).
    pub megapixels: f64,
    /// Why it failed, when it did.
    pub error: Option<String>,
}

/// The outcome of a batch.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Summary {
    /// The strategy used.
    pub strategy: Strategy,
    /// Workers used.
    pub workers: usize,
    /// One result per input, in input order.
    pub items: Vec<ItemResult>,
    /// Wall-clock time of the whole batch.
    pub wall: Duration,
    /// CPU time of this process and its worker processes.
    pub cpu: Duration,
    /// Peak resident memory of this process plus its worker processes', in bytes, where
    /// the platform tells (see [`memory`](crate::memory)).
    #[serde(default)]
    pub peak_memory: Option<u64>,
}

impl Summary {
    /// How many images failed.
    pub fn failures(&self) -> usize {
        self.items.iter().filter(|i| i.error.is_some()).count()
    }

    /// Megapixels of input processed per second of wall time.
    pub fn megapixels_per_second(&self) -> f64 {
        let megapixels: f64 = self.items.iter().map(|i| i.megapixels).sum();
        megapixels / self.wall.as_secs_f64().max(1e-9)
    }

    /// Average number of CPUs kept busy: CPU time over wall time.
    pub fn cpus_busy(&self) -> f64 {
        self.cpu.as_secs_f64() / self.wall.as_secs_f64().max(1e-9)
    }
}

/// The image files among `paths`: files as they are, folders expanded (not recursively)
/// to the files with an image extension, sorted by name.
pub fn collect_inputs(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut inputs = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(path)
                .with_context(|| format!("cannot list {}", path.display()))?
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && has_image_extension(p))
                .collect();
            found.sort();
            inputs.extend(found);
        } else {
            inputs.push(path.clone());
        }
    }
    if inputs.is_empty() {
        bail!("no images to process (folders are searched for .png, .jpg, .jpeg and .webp files)");
    }
    Ok(inputs)
}

fn has_image_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| ["png", "jpg", "jpeg", "webp"].contains(&e.to_ascii_lowercase().as_str()))
}

/// Loads, filters and saves one image; never panics on a bad file.
// ANCHOR: process_one
pub fn process_one(
    input: &Path,
    pipeline: &Pipeline,
    output_dir: &Path,
    limits: &Limits,
) -> ItemResult {
    let mut result = ItemResult {
        input: input.to_owned(),
        output: None,
        megapixels: 0.0,
        error: None,
    };
    let outcome = (|| -> Result<PathBuf> {
        let image = load_with(input, limits)?;
        result.megapixels = f64::from(image.width()) * f64::from(image.height()) / 1e6;
        let filtered = pipeline.apply(&image)?;
        let name = input.file_name().context("the input has no file name")?;
        let output = output_dir.join(name);
        save(&filtered, &output)?;
        Ok(output)
    })();
    match outcome {
        Ok(output) => result.output = Some(output),
        Err(error) => result.error = Some(format!("{error:#}")),
    }
    result
}
// ANCHOR_END: process_one

/// Runs the pipeline over every input with the chosen strategy.
pub fn run(inputs: &[PathBuf], spec: &PipelineSpec, options: &BatchOptions) -> Result<Summary> {
    let pipeline = spec.build()?;
    std::fs::create_dir_all(&options.output_dir)
        .with_context(|| format!("cannot create {}", options.output_dir.display()))?;
    let workers = match options.strategy {
        Strategy::Sequential => 1,
        _ => options.workers.max(1),
    };
    let bar = progress_bar(inputs.len(), options.progress);
    let cpu_before = ProcessTime::try_now().ok();
    let started = Instant::now();
    // The fast kernels split each image over the rayon pool they run in. Sequential and
    // threads give each image one core, so the comparison measures the strategy alone.
    let one_core = matches!(options.strategy, Strategy::Sequential | Strategy::Threads);
    let step = |input: &PathBuf| {
        slow_storage(options.read_delay);
        let work = || process_one(input, &pipeline, &options.output_dir, &options.limits);
        let result = guarded(input, || if one_core { on_one_core(work) } else { work() });
        bar.inc(1);
        result
    };
    let (items, children) = match options.strategy {
        Strategy::Sequential => (inputs.iter().map(step).collect(), Children::default()),
        Strategy::Threads => (threads(inputs, workers, step), Children::default()),
        Strategy::Rayon => {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(workers)
                .build()
                .context("cannot start the rayon thread pool")?;
            (
                pool.install(|| inputs.par_iter().map(step).collect()),
                Children::default(),
            )
        }
        Strategy::Processes => processes(inputs, spec, options, workers, &bar)?,
    };
    let wall = started.elapsed();
    bar.finish_and_clear();
    let own_cpu = cpu_before
        .and_then(|before| before.try_elapsed().ok())
        .unwrap_or_default();
    let peak_memory = own_peak_resident().map(|own| own.saturating_add(children.peak_memory));
    Ok(Summary {
        strategy: options.strategy,
        workers,
        items,
        wall,
        cpu: own_cpu + children.cpu,
        peak_memory,
    })
}

/// What the worker processes of a batch used, as they report it.
#[derive(Debug, Default)]
struct Children {
    cpu: Duration,
    /// The sum of their peak resident memories, in bytes.
    peak_memory: u64,
}

/// Runs `work` for `input`; a panic (a bug in a filter) fails that image alone, as a
/// failure in a worker process would. Every in-process strategy runs each image through it.
pub fn guarded(input: &Path, work: impl FnOnce() -> ItemResult) -> ItemResult {
    std::panic::catch_unwind(AssertUnwindSafe(work))
        .unwrap_or_else(|_| lost(input, "processing it panicked (a bug in a filter)"))
}

thread_local! {
    /// A one-thread rayon pool per calling thread.
    static ONE_CORE: Option<rayon::ThreadPool> =
        rayon::ThreadPoolBuilder::new().num_threads(1).build().ok();
}

/// Runs `work` so that the kernels inside it use one core.
fn on_one_core<R: Send>(work: impl FnOnce() -> R + Send) -> R {
    ONE_CORE.with(|pool| match pool {
        Some(pool) => pool.install(work),
        None => work(),
    })
}

fn progress_bar(len: usize, visible: bool) -> ProgressBar {
    if !visible {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len as u64);
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} [{bar:40}] {pos}/{len} images ({per_sec}, {eta} left)",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// Scoped threads pulling the next index from a shared counter.
// ANCHOR: threads
fn threads(
    inputs: &[PathBuf],
    workers: usize,
    step: impl Fn(&PathBuf) -> ItemResult + Sync,
) -> Vec<ItemResult> {
    let next = AtomicUsize::new(0);
    let results = Mutex::new(vec![None; inputs.len()]);
    let work = || loop {
        let index = next.fetch_add(1, Ordering::Relaxed);
        let Some(input) = inputs.get(index) else {
            break;
        };
        let result = step(input);
        if let Ok(mut results) = results.lock() {
            results[index] = Some(result);
        }
    };
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(work);
        }
    });
    let results = results.into_inner().unwrap_or_default();
    results
        .into_iter()
        .zip(inputs)
        .map(|(result, input)| result.unwrap_or_else(|| lost(input, "never processed")))
        .collect()
}
// ANCHOR_END: threads

fn lost(input: &Path, why: &str) -> ItemResult {
    ItemResult {
        input: input.to_owned(),
        output: None,
        megapixels: 0.0,
        error: Some(why.to_owned()),
    }
}

/// What a worker process says about itself when its input ends.
#[derive(Debug, Serialize, Deserialize)]
struct WorkerDone {
    cpu_seconds: f64,
    /// Its peak resident memory in bytes, where the platform tells.
    #[serde(default)]
    peak_memory: Option<u64>,
}

/// Child processes, each fed the next image by a thread of ours as soon as it is free.
fn processes(
    inputs: &[PathBuf],
    spec: &PipelineSpec,
    options: &BatchOptions,
    workers: usize,
    bar: &ProgressBar,
) -> Result<(Vec<ItemResult>, Children)> {
    let exe = match &options.worker_exe {
        Some(exe) => exe.clone(),
        None => std::env::current_exe().context("cannot find this program to start workers")?,
    };
    let next = AtomicUsize::new(0);
    let results = Mutex::new(vec![None; inputs.len()]);
    let used = Mutex::new(Children::default());
    let spec_text = spec.to_json();
    std::thread::scope(|scope| -> Result<()> {
        let mut handles = Vec::new();
        for _ in 0..workers {
            let mut child = Command::new(&exe)
                .args(["process-worker", "--pipeline", &spec_text, "--output-dir"])
                .arg(&options.output_dir)
                .arg("--max-pixels")
                .arg(options.limits.max_pixels.to_string())
                .arg("--read-delay-ms")
                .arg(options.read_delay.as_millis().to_string())
                // One image at a time per process, each on one core.
                .env("RAYON_NUM_THREADS", "1")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .with_context(|| format!("cannot start the worker process {}", exe.display()))?;
            let (next, results, used) = (&next, &results, &used);
            handles.push(scope.spawn(move || -> Result<()> {
                let mut stdin = child.stdin.take().context("no stdin")?;
                let mut stdout = BufReader::new(child.stdout.take().context("no stdout")?);
                let mut line = String::new();
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(input) = inputs.get(index) else {
                        break;
                    };
                    let answer = match input.to_str() {
                        None => Ok(lost(input, "a path that is not UTF-8")),
                        Some(path) => ask(&mut stdin, &mut stdout, &mut line, path),
                    };
                    // A worker that died fails the image it held; the others take the rest.
                    let (result, alive) = match answer {
                        Ok(result) => (result, true),
                        Err(_) => (lost(input, "the worker process died"), false),
                    };
                    if let Ok(mut results) = results.lock() {
                        results[index] = Some(result);
                    }
                    bar.inc(1);
                    if !alive {
                        break;
                    }
                }
                drop(stdin);
                line.clear();
                if stdout.read_line(&mut line).is_ok()
                    && let (Ok(done), Ok(mut used)) =
                        (serde_json::from_str::<WorkerDone>(&line), used.lock())
                {
                    used.cpu += Duration::try_from_secs_f64(done.cpu_seconds).unwrap_or_default();
                    used.peak_memory = used
                        .peak_memory
                        .saturating_add(done.peak_memory.unwrap_or(0));
                }
                // Its status adds nothing: what it did is in the results.
                let _ = child.wait();
                Ok(())
            }));
        }
        for handle in handles {
            handle
                .join()
                .map_err(|_| anyhow::anyhow!("a worker feeder panicked"))??;
        }
        Ok(())
    })?;
    let results = results.into_inner().unwrap_or_default();
    let items = results
        .into_iter()
        .zip(inputs)
        .map(|(result, input)| result.unwrap_or_else(|| lost(input, "never processed")))
        .collect();
    Ok((items, used.into_inner().unwrap_or_default()))
}

/// Sends one path to a worker process and reads its answer: the image's result, or an
/// error when the worker is gone.
fn ask(
    stdin: &mut impl Write,
    stdout: &mut impl BufRead,
    line: &mut String,
    path: &str,
) -> Result<ItemResult> {
    writeln!(stdin, "{path}")?;
    line.clear();
    if stdout.read_line(line)? == 0 {
        bail!("the worker process closed its output");
    }
    Ok(serde_json::from_str(line)?)
}

/// The `process-worker` side: reads one path per line, answers one JSON result per line,
/// and when its input ends, its CPU time. Each read first waits `read_delay`, as the
/// parent's batch does.
pub fn process_worker(
    spec: &PipelineSpec,
    output_dir: &Path,
    limits: &Limits,
    read_delay: Duration,
) -> Result<()> {
    let pipeline = spec.build()?;
    let stdin = std::io::stdin();
    let mut stdout = std::io::stdout().lock();
    for line in stdin.lock().lines() {
        let line = line?;
        slow_storage(read_delay);
        let result = process_one(Path::new(line.trim_end()), &pipeline, output_dir, limits);
        serde_json::to_writer(&mut stdout, &result)?;
        writeln!(stdout)?;
        stdout.flush()?;
    }
    let cpu_seconds = ProcessTime::try_now()
        .map(|t| t.as_duration().as_secs_f64())
        .unwrap_or_default();
    let done = WorkerDone {
        cpu_seconds,
        peak_memory: own_peak_resident(),
    };
    serde_json::to_writer(&mut stdout, &done)?;
    writeln!(stdout)?;
    Ok(())
}
