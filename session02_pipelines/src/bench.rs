//! The kernel benchmark: each filter, JPEG and PNG decoding and encoding, and a plain copy of the
//! frame as the yardstick, on the standard 3840x2160 frame, timed over repeated runs in a
//! rayon pool of a chosen size.
//!
//! `cargo run --release -p session02_pipelines -- bench` prints it; `cargo xtask bench-peers`
//! runs it beside Pillow, OpenCV and libvips doing the same operations on the same pixels.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use image::{DynamicImage, ImageFormat};
use serde::Serialize;
use session01_image_basics::cli::table;
use session01_image_basics::{Filter, Limits, decode, encode, samples, save};

use crate::{Kernels, PipelineSpec};

/// The `bench` command's flags.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Threads in the rayon pool [default: the number of CPUs].
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Only this case (repeat the flag for more).
    #[arg(long = "filter", value_name = "NAME")]
    pub filters: Vec<String>,
    /// Timed runs per case, after 0.2 s of untimed ones.
    #[arg(long, value_name = "N", default_value_t = 11)]
    pub runs: usize,
    /// Time session 01's readable kernels instead of the fast ones.
    #[arg(long)]
    pub reference: bool,
    /// One JSON object per case, for programs.
    #[arg(long)]
    pub json: bool,
    /// Write the frame as frame.png and frame.jpg into DIR, for other tools, and stop.
    #[arg(long, value_name = "DIR")]
    pub write_frame: Option<PathBuf>,
}

/// Width and height of the benchmark frame (4K UHD).
pub const FRAME: (u32, u32) = (3840, 2160);

/// What one case measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// The frame copied into a new image: one pass that reads the frame and writes a new
    /// one, the yardstick the other cases are counted in.
    Copy,
    /// A filter spec applied to the frame.
    Filter(&'static str),
    /// Decoding the frame from a file of this format (JPEG at quality 90).
    Decode(ImageFormat),
    /// Encoding the frame in this format (JPEG at quality 90).
    Encode(ImageFormat),
}

/// A benchmark case: a name, its parameters as shown, and the operation.
#[derive(Debug, Clone, Copy)]
pub struct Case {
    /// The filter's name, or `copy`, or a codec's `-decode` or `-encode`.
    pub name: &'static str,
    /// The parameters, `key=value,...`.
    pub params: &'static str,
    /// What is timed.
    pub operation: Operation,
}

const fn filter(name: &'static str, params: &'static str, spec: &'static str) -> Case {
    Case {
        name,
        params,
        operation: Operation::Filter(spec),
    }
}

/// Every case, with the parameters the peer comparison uses too.
// ANCHOR: cases
pub const CASES: &[Case] = &[
    Case {
        name: "copy",
        params: "",
        operation: Operation::Copy,
    },
    filter("grayscale", "", "grayscale"),
    filter("brightness", "factor=1.5", "brightness:factor=1.5"),
    filter("contrast", "factor=1.5", "contrast:factor=1.5"),
    filter("invert", "", "invert"),
    filter("threshold", "level=128", "threshold:level=128"),
    filter("blur", "sigma=3", "blur:sigma=3"),
    filter("box-blur", "radius=3", "box-blur:radius=3"),
    filter("sharpen", "amount=1", "sharpen:amount=1"),
    filter(
        "unsharp",
        "sigma=2,amount=1.5,threshold=3",
        "unsharp:sigma=2,amount=1.5,threshold=3",
    ),
    filter("edges", "", "edges"),
    filter("median", "radius=1", "median:radius=1"),
    filter(
        "resize",
        "width=1920,height=1080,filter=lanczos3",
        "resize:width=1920,height=1080,filter=lanczos3",
    ),
    filter("rotate", "angle=90", "rotate:angle=90"),
    filter("flip", "direction=horizontal", "flip:direction=horizontal"),
    filter(
        "crop",
        "x=960,y=540,width=1920,height=1080",
        "crop:x=960,y=540,width=1920,height=1080",
    ),
    Case {
        name: "jpeg-decode",
        params: "quality=90",
        operation: Operation::Decode(ImageFormat::Jpeg),
    },
    Case {
        name: "jpeg-encode",
        params: "quality=90",
        operation: Operation::Encode(ImageFormat::Jpeg),
    },
    Case {
        name: "png-decode",
        params: "",
        operation: Operation::Decode(ImageFormat::Png),
    },
    Case {
        name: "png-encode",
        params: "",
        operation: Operation::Encode(ImageFormat::Png),
    },
];
// ANCHOR_END: cases

/// One case's timings.
#[derive(Debug, Clone, Serialize)]
pub struct Measurement {
    /// The case's name.
    pub name: String,
    /// Its parameters.
    pub params: String,
    /// Threads in the rayon pool it ran in.
    pub threads: usize,
    /// Timed runs (after [`WARM_UP`] of untimed ones).
    pub runs: usize,
    /// Median milliseconds per run.
    pub median_ms: f64,
    /// Fastest run, in milliseconds.
    pub min_ms: f64,
    /// For an encoding, the bytes it wrote: encoders trade size for time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_bytes: Option<usize>,
}

/// The standard frame: `samples::generate` at 3840x2160, RGB.
pub fn frame() -> DynamicImage {
    DynamicImage::ImageRgb8(samples::generate(FRAME.0, FRAME.1))
}

/// The cases whose name is in `names` (all when empty); an unknown name is an error that
/// lists the valid ones.
pub fn select(names: &[String]) -> Result<Vec<Case>> {
    if names.is_empty() {
        return Ok(CASES.to_vec());
    }
    names
        .iter()
        .map(|name| {
            CASES
                .iter()
                .find(|case| case.name.eq_ignore_ascii_case(name))
                .copied()
                .with_context(|| {
                    let valid: Vec<&str> = CASES.iter().map(|c| c.name).collect();
                    format!("no benchmark named {name:?}; valid: {}", valid.join(", "))
                })
        })
        .collect()
}

/// Untimed runs of each case before its timed ones, for at least this long (and at least
/// one): a process's first runs pay for the operating system handing it fresh memory, a
/// page of usually 4 KiB at a time, and find nothing of theirs in the CPU's caches yet; they
/// took up to ten times as long as the runs after them.
pub const WARM_UP: Duration = Duration::from_millis(200);

/// Times each case on `image`: untimed runs for [`WARM_UP`], then `runs` timed runs, in a
/// rayon pool of `threads` threads.
// ANCHOR: measure
pub fn run(
    cases: &[Case],
    image: &DynamicImage,
    threads: usize,
    runs: usize,
    kernels: Kernels,
) -> Result<Vec<Measurement>> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("cannot start the rayon thread pool")?;
    let mut out = Vec::new();
    for case in cases {
        // Each task returns the size of what it encoded, if it encodes.
        let mut task: Box<dyn FnMut() -> Result<Option<usize>> + Send> = match case.operation {
            Operation::Copy => Box::new(move || {
                drop(std::hint::black_box(image.clone()));
                Ok(None)
            }),
            Operation::Filter(spec) => {
                let filter = PipelineSpec::parse(spec)?.build_with(kernels)?;
                Box::new(move || filter.apply(image).map(|_| None).map_err(Into::into))
            }
            Operation::Decode(format) => {
                let (bytes, limits) = (encode(image, format)?, Limits::default());
                Box::new(move || decode(&bytes, &limits).map(|_| None).map_err(Into::into))
            }
            Operation::Encode(format) => Box::new(move || {
                encode(image, format)
                    .map(|bytes| Some(bytes.len()))
                    .map_err(Into::into)
            }),
        };
        let output_bytes = pool.install(|| -> Result<Option<usize>> {
            let started = Instant::now();
            loop {
                let output = task()?;
                if started.elapsed() >= WARM_UP {
                    return Ok(output);
                }
            }
        })?;
        let mut times = pool.install(|| -> Result<Vec<f64>> {
            (0..runs.max(1))
                .map(|_| {
                    let started = Instant::now();
                    task()?;
                    Ok(started.elapsed().as_secs_f64() * 1e3)
                })
                .collect()
        })?;
        times.sort_by(f64::total_cmp);
        out.push(Measurement {
            name: case.name.to_owned(),
            params: case.params.to_owned(),
            threads,
            runs: times.len(),
            median_ms: times[times.len() / 2],
            min_ms: times[0],
            output_bytes,
        });
    }
    Ok(out)
}
// ANCHOR_END: measure

/// The `bench` command: writes the frame, or times the chosen cases and reports them as a
/// table or JSON.
pub fn report(args: &BenchArgs) -> Result<String> {
    let frame = frame();
    if let Some(dir) = &args.write_frame {
        std::fs::create_dir_all(dir)?;
        save(&frame, dir.join("frame.png"))?;
        save(&frame, dir.join("frame.jpg"))?;
        return Ok(format!(
            "wrote frame.png and frame.jpg to {}\n",
            dir.display()
        ));
    }
    let cases = select(&args.filters)?;
    let threads = args
        .threads
        .unwrap_or_else(rayon::current_num_threads)
        .max(1);
    let kernels = if args.reference {
        Kernels::Reference
    } else {
        Kernels::Fast
    };
    let results = run(&cases, &frame, threads, args.runs, kernels)?;
    if args.json {
        return Ok(serde_json::to_string_pretty(&results)? + "\n");
    }
    Ok(render(&results, kernels))
}

/// The measurements as a table, under a line that names the kernels and the frame.
pub fn render(results: &[Measurement], kernels: Kernels) -> String {
    // The output size, only when an encoding was timed.
    let sizes = results.iter().any(|m| m.output_bytes.is_some());
    let header = ["case", "parameters", "threads", "median ms", "min ms"];
    let mut table = table(header);
    if sizes {
        table.set_header(header.into_iter().chain(["output"]));
    }
    for m in results {
        let mut row = vec![
            m.name.clone(),
            m.params.clone(),
            m.threads.to_string(),
            format!("{:.1}", m.median_ms),
            format!("{:.1}", m.min_ms),
        ];
        if sizes {
            row.push(m.output_bytes.map_or(String::new(), |bytes| {
                format!("{:.2} MB", bytes as f64 / 1e6)
            }));
        }
        table.add_row(row);
    }
    let (w, h) = FRAME;
    let build = if cfg!(debug_assertions) {
        " (a debug build: time with --release)"
    } else {
        ""
    };
    format!("{kernels:?} kernels on a {w}x{h} RGB frame{build}\n{table}\n")
}
