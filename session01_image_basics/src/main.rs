//! `session01_image_basics`: apply the course's filters to images from the command line.
//!
//! With no arguments it runs the demo: every filter on a bundled photograph, one output file
//! each, and a table of timings. Errors go to stderr with exit code 1 (2 for bad usage).

use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;
use session01_image_basics::cli::{Cli, Command, finish, limits};
use session01_image_basics::{commands, demo, samples};

fn main() -> ExitCode {
    finish(run(Cli::parse()))
}

/// Runs the command and returns what it has to say on stdout.
fn run(cli: Cli) -> Result<String> {
    let limits = limits(cli.max_megapixels)?;
    match cli.command {
        Some(Command::Info { paths }) => commands::info_table(&paths),
        Some(Command::Exercises { sample, output_dir }) => {
            let sample = sample.unwrap_or_else(|| samples::path(samples::DEMO_PHOTO));
            commands::exercises_table(&sample, &output_dir, &limits)
        }
        Some(Command::Generate {
            width,
            height,
            output,
        }) => commands::generate(width, height, &output),
        None if cli.list => Ok(commands::list()),
        None => match (cli.filter, cli.input, cli.output) {
            (Some(name), Some(input), Some(output)) => {
                commands::apply_one(&name, &cli.params, &input, &output, &limits)
            }
            _ => {
                let sample = cli
                    .sample
                    .unwrap_or_else(|| samples::path(samples::DEMO_PHOTO));
                demo::report(&sample, &cli.output_dir, &limits)
            }
        },
    }
}
