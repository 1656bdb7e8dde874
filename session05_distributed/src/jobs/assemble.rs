//! Assembling a job: the tiles' cores stitched into the result, the filters after
//! stitching run on it, and the result stored and marked once.

use bytes::Bytes;
use image::DynamicImage;
use session01_image_basics::io::format_for_path;
use session01_image_basics::{Filter, decode, encode};
use session03_workers::worker::{blob_failure, run_blocking};
use session03_workers::{BlobKey, BlobStore, TaskError, TaskId};

use super::bands::BandWriter;
use super::part::job_blob;
use super::{JobRecord, JobStatus, Jobs, task_error, tile_input, tile_output};
use crate::tiles::{Rect, Stitcher};

/// The header of a binary PPM (colour) or PGM (gray) of `width` x `height`, for the pixels
/// of `like`'s colour type.
fn pnm_header(like: &DynamicImage, width: u32, height: u32) -> Result<String, TaskError> {
    let magic = match like.color() {
        image::ColorType::Rgb8 => "P6",
        image::ColorType::L8 => "P5",
        other => {
            return Err(TaskError::job(format!(
                "a PPM or PGM result needs 8-bit RGB or gray tiles, not {other:?}"
            )));
        }
    };
    Ok(format!("{magic}\n{width} {height}\n255\n"))
}

impl Jobs {
    // ANCHOR: assemble
    /// Stitches `job`'s tiles, runs the filters after stitching, stores the result and
    /// marks the job assembled (the first time only); then the tiles' blobs are deleted.
    ///
    /// A raw PPM or PGM result with no filter after stitching is written band by band (one
    /// row of tiles at a time), so the assembling worker never holds the whole image; any
    /// other result is stitched in memory, within the decoding limits.
    pub async fn assemble(&self, job: TaskId) -> Result<(), TaskError> {
        match self.status(job).await.map_err(task_error)? {
            Some(status) if status.assembled => return Ok(()), // a redelivered assembly
            Some(JobStatus {
                failed: Some(reason),
                ..
            }) => return Err(TaskError::job(format!("job {job} failed: {reason}"))),
            _ => {}
        }
        let record = self
            .record(job)
            .await
            .map_err(task_error)?
            .ok_or_else(|| TaskError::job(format!("job {job} is unknown")))?;
        if let Some(files) = &record.in_place {
            return self.assemble_in_place(&record, files).await;
        }
        let format = format_for_path(std::path::Path::new(record.output.as_str()))
            .map_err(TaskError::job)?;
        // Each attempt writes a key of its own; the first to finish moves it into place.
        let extension = record.output.as_str().rsplit('.').next().unwrap_or("png");
        let staging = job_blob(job, &format!("result-{}.{extension}", TaskId::new()));
        let written =
            if format == image::ImageFormat::Pnm && record.pipeline.after.filters.is_empty() {
                self.assemble_in_bands(&record, &staging).await
            } else {
                self.assemble_in_memory(&record, format, &staging).await
            };
        if let Err(error) = written {
            let _ = self.blobs.delete(&staging).await;
            return Err(error);
        }
        let first = self.mark_assembled(&record, Some(&staging)).await?;
        if first {
            for tile in &record.plan.tiles {
                for blob in [
                    tile_input(job, tile.index, record.tile_format),
                    tile_output(job, tile.index, record.tile_format),
                ] {
                    // They expire anyway; deleting them now frees the memory at once.
                    let _ = self.blobs.delete(&blob).await;
                }
            }
        }
        Ok(())
    }
    // ANCHOR_END: assemble

    /// Decodes the result of tile `index`.
    async fn processed_tile(
        &self,
        record: &JobRecord,
        index: usize,
    ) -> Result<DynamicImage, TaskError> {
        let bytes = self
            .blobs
            .get(&tile_output(record.id, index, record.tile_format))
            .await
            .map_err(blob_failure)?;
        let limits = self.limits;
        run_blocking(move || decode(&bytes, &limits).map_err(TaskError::job)).await
    }

    /// The whole result in memory: stitched, filtered, encoded, stored.
    async fn assemble_in_memory(
        &self,
        record: &JobRecord,
        format: image::ImageFormat,
        target: &BlobKey,
    ) -> Result<(), TaskError> {
        let pixels = u64::from(record.plan.width) * u64::from(record.plan.height);
        if pixels > self.limits.max_pixels {
            return Err(TaskError::job(format!(
                "a {}x{} result is over this worker's limit of {} pixels in memory; ask for \
                 a .ppm or .pgm result with no filter after the tiles, which is written in bands",
                record.plan.width, record.plan.height, self.limits.max_pixels
            )));
        }
        let mut stitcher: Option<Stitcher> = None;
        for tile in &record.plan.tiles {
            let piece = self.processed_tile(record, tile.index).await?;
            let stitcher =
                stitcher.get_or_insert_with(|| Stitcher::new(record.plan.clone(), piece.color()));
            stitcher.place(tile.index, &piece).map_err(TaskError::job)?;
        }
        let stitcher = stitcher.ok_or_else(|| TaskError::job("the job has no tiles"))?;
        let after = record.pipeline.after.clone();
        let bytes = run_blocking(move || {
            let stitched = stitcher.finish().map_err(TaskError::job)?;
            let result = if after.filters.is_empty() {
                stitched
            } else {
                let after = after.build().map_err(TaskError::job)?;
                after.apply(&stitched).map_err(TaskError::job)?
            };
            encode(&result, format).map_err(TaskError::job)
        })
        .await?;
        self.blobs
            .put(target, Bytes::from(bytes))
            .await
            .map_err(blob_failure)
    }

    // ANCHOR: bands
    /// A raw result written a row of tiles at a time: a blob of the final size, the header,
    /// then each band's rows in their place.
    async fn assemble_in_bands(
        &self,
        record: &JobRecord,
        target: &BlobKey,
    ) -> Result<(), TaskError> {
        let plan = &record.plan;
        let mut writer: Option<BandWriter> = None;
        for row in plan.tiles.chunk_by(|a, b| a.core.y == b.core.y) {
            let band = Rect {
                x: 0,
                y: row[0].core.y,
                width: plan.width,
                height: row[0].core.height,
            };
            let mut stitched: Option<Stitcher> = None;
            for tile in row {
                let piece = self.processed_tile(record, tile.index).await?;
                let stitcher = stitched
                    .get_or_insert_with(|| Stitcher::for_band(plan.clone(), band, piece.color()));
                stitcher.place(tile.index, &piece).map_err(TaskError::job)?;
            }
            let band_image = stitched
                .ok_or_else(|| TaskError::job("a band has no tiles"))?
                .finish()
                .map_err(TaskError::job)?;
            let mut out = match writer.take() {
                Some(out) => out,
                None => {
                    // The whole blob at once, then each band in its place.
                    let header = pnm_header(&band_image, plan.width, plan.height)?;
                    let pixels = u64::from(plan.width)
                        * u64::from(plan.height)
                        * u64::from(band_image.color().bytes_per_pixel());
                    let mut created = BandWriter::create(
                        &self.conn,
                        &self.blobs,
                        target,
                        header.len() as u64 + pixels,
                    )
                    .await
                    .map_err(blob_failure)?;
                    created
                        .append(header.as_bytes())
                        .await
                        .map_err(blob_failure)?;
                    created
                }
            };
            out.append(band_image.as_bytes())
                .await
                .map_err(blob_failure)?;
            writer = Some(out);
        }
        Ok(())
    }
    // ANCHOR_END: bands
}
