//! What every session's binary does the same way at its edges: turn `--max-megapixels` into
//! [`Limits`], and end with the report on stdout or the error on stderr.

use std::io::{ErrorKind, Write};
use std::process::ExitCode;

use crate::io::Limits;

/// The limits for `--max-megapixels`, refusing zero, negative and non-finite values.
pub fn limits(max_megapixels: f64) -> anyhow::Result<Limits> {
    if !(max_megapixels.is_finite() && max_megapixels > 0.0) {
        anyhow::bail!("--max-megapixels must be a positive number, got {max_megapixels}");
    }
    Ok(Limits::with_megapixels(max_megapixels))
}

/// Prints a command's report to stdout, or its error (with causes) to stderr, and gives the
/// exit code: 0 on success, 1 on error.
pub fn finish(result: anyhow::Result<String>) -> ExitCode {
    match result {
        Ok(report) => match std::io::stdout().lock().write_all(report.as_bytes()) {
            // A reader that stops early (`| head`) closes the pipe: that is not an error.
            Err(error) if error.kind() != ErrorKind::BrokenPipe => {
                eprintln!("error: cannot write to stdout: {error}");
                ExitCode::FAILURE
            }
            _ => ExitCode::SUCCESS,
        },
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
