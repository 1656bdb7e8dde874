//! What a task of a tiled job is: a typed value carried in the task's headers, and the
//! blobs its tiles travel in.

use image::{ColorType, ImageFormat};
use serde::{Deserialize, Serialize};
use session03_workers::{BlobKey, Task, TaskId};

/// The header that says a task belongs to a tiled job.
pub const HEADER: &str = "tiled-job";

/// A task's part in a tiled job.
// ANCHOR: job_part
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "part", rename_all = "snake_case", deny_unknown_fields)]
pub enum JobPart {
    /// Runs the tiled filters on tile `index` of `job`.
    Tile {
        /// The job.
        job: TaskId,
        /// The tile, in the plan's order.
        index: usize,
    },
    /// Runs the tiled filters on band `index` of `job`, whose pixels are on a shared
    /// folder: reads its rows from the source and writes them into the result.
    InPlace {
        /// The job.
        job: TaskId,
        /// The band, in the plan's order.
        index: usize,
    },
    /// Stitches `job`'s tiles and runs the filters after stitching.
    Assembly {
        /// The job, whose id the assembly task shares.
        job: TaskId,
    },
}
// ANCHOR_END: job_part

impl JobPart {
    /// The part `task` plays: `None` for an ordinary task, an error naming the problem for
    /// a header this version cannot read (the task then fails as a job failure).
    pub fn of(task: &Task) -> Result<Option<Self>, String> {
        let Some(text) = task.headers.get(HEADER) else {
            return Ok(None);
        };
        let part: Self = serde_json::from_str(text)
            .map_err(|error| format!("malformed `{HEADER}` header {text:?}: {error}"))?;
        match part {
            Self::Assembly { job } if job != task.id => Err(format!(
                "task {} claims to assemble job {job}, but an assembly shares its job's id",
                task.id
            )),
            part => Ok(Some(part)),
        }
    }

    /// `task` marked as this part.
    pub fn mark(self, mut task: Task) -> Task {
        let text = serde_json::to_string(&self)
            .expect("a JobPart is a tag, a UUID and a number: it always serializes");
        task.headers.insert(HEADER.to_owned(), text);
        task
    }
}

/// The format tiles of an image travel in: raw PPM or PGM for 8-bit colour or gray (no
/// compression to pay for on either side), PNG for anything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TileFormat {
    /// Binary PPM: 8-bit RGB.
    Ppm,
    /// Binary PGM: 8-bit gray.
    Pgm,
    /// PNG: any other pixel type.
    Png,
}

impl TileFormat {
    /// The format for tiles of pixels of `color`.
    pub fn for_color(color: ColorType) -> Self {
        match color {
            ColorType::Rgb8 => Self::Ppm,
            ColorType::L8 => Self::Pgm,
            _ => Self::Png,
        }
    }

    /// The file extension.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Ppm => "ppm",
            Self::Pgm => "pgm",
            Self::Png => "png",
        }
    }

    /// The image encoding.
    pub fn image_format(self) -> ImageFormat {
        match self {
            Self::Ppm | Self::Pgm => ImageFormat::Pnm,
            Self::Png => ImageFormat::Png,
        }
    }
}

/// The blob key of tile `index`'s input.
pub fn tile_input(job: TaskId, index: usize, format: TileFormat) -> BlobKey {
    job_blob(job, &format!("tile-{index}.{}", format.extension()))
}

/// The blob key of tile `index`'s result.
pub fn tile_output(job: TaskId, index: usize, format: TileFormat) -> BlobKey {
    job_blob(job, &format!("tile-{index}.out.{}", format.extension()))
}

/// The folder of `job`'s blobs, on a store where keys are paths.
pub(super) fn job_dir(job: TaskId) -> BlobKey {
    BlobKey::new(format!("jobs/{job}")).expect("a job's folder is named after a UUID")
}

/// A blob of `job`'s, named `name`.
pub(super) fn job_blob(job: TaskId, name: &str) -> BlobKey {
    BlobKey::new(format!("jobs/{job}/{name}"))
        .expect("job blob names are made of a UUID, digits and safe characters")
}

#[cfg(test)]
mod tests {
    use session02_pipelines::PipelineSpec;

    use super::*;

    fn task() -> Task {
        let key = BlobKey::new("in.png").unwrap();
        Task::new(PipelineSpec::parse("blur").unwrap(), key.clone(), key)
    }

    #[test]
    fn a_part_travels_in_the_headers_and_is_read_back_typed() {
        let job = TaskId::new();
        let tile = JobPart::Tile { job, index: 7 }.mark(task());
        assert_eq!(
            JobPart::of(&tile),
            Ok(Some(JobPart::Tile { job, index: 7 }))
        );
        assert_eq!(JobPart::of(&task()), Ok(None));
        let mut assembly = JobPart::Assembly { job }.mark(task());
        assert!(
            JobPart::of(&assembly)
                .unwrap_err()
                .contains("shares its job's id")
        );
        assembly.id = job;
        assert_eq!(JobPart::of(&assembly), Ok(Some(JobPart::Assembly { job })));
    }

    #[test]
    fn a_malformed_header_is_named() {
        let mut bad = task();
        bad.headers
            .insert(HEADER.into(), r#"{"part":"tile","job":"x"}"#.into());
        let error = JobPart::of(&bad).unwrap_err();
        assert!(error.contains("malformed `tiled-job` header"), "{error}");
        bad.headers
            .insert(HEADER.into(), r#"{"part":"frame"}"#.into());
        assert!(JobPart::of(&bad).is_err());
    }

    #[test]
    fn tiles_travel_raw_when_they_can() {
        assert_eq!(TileFormat::for_color(ColorType::Rgb8), TileFormat::Ppm);
        assert_eq!(TileFormat::for_color(ColorType::L8), TileFormat::Pgm);
        assert_eq!(TileFormat::for_color(ColorType::Rgba16), TileFormat::Png);
        let job = TaskId::new();
        assert_eq!(
            tile_output(job, 3, TileFormat::Ppm).as_str(),
            format!("jobs/{job}/tile-3.out.ppm")
        );
        assert_eq!(serde_json::to_string(&TileFormat::Pgm).unwrap(), r#""pgm""#);
    }
}
