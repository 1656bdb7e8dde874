//! Where a job that runs in place keeps its raw images, and rows read and written there:
//! files on a shared folder (seek, read, write), or strings in Redis (`GETRANGE`,
//! `SETRANGE`). Either way, a band moves only its own rows.

use std::sync::Arc;

use bytes::Bytes;
use image::DynamicImage;
use redis::aio::ConnectionManager;
use serde::{Deserialize, Serialize};
use session03_workers::worker::run_blocking;
use session03_workers::{BlobKey, BlobStore, FsBlobStore, TaskError};
use session04_redis::RedisBlobStore;

use super::bands::{BandWriter, PIECE, PIECES_PER_TRIP};
use super::raw::{MAX_HEADER, RawLayout};

/// Which store a job's raw images are in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum PixelStore {
    /// Files on the shared folder every worker sees.
    Folder,
    /// Blobs in Redis, next to the queue.
    Redis,
}

/// A store of raw images, opened.
#[derive(Debug, Clone)]
pub(super) enum Pixels {
    /// Files under the folder.
    Folder(Arc<FsBlobStore>),
    /// Blobs of the store, through the connection.
    Redis(ConnectionManager, Arc<RedisBlobStore>),
}

fn redis_failure(error: &redis::RedisError) -> TaskError {
    TaskError::worker(format!("Redis: {error}"))
}

impl Pixels {
    /// Makes `key` a raw image of `layout`: the header, then zeros for writers to fill.
    pub(super) async fn create(&self, key: &BlobKey, layout: RawLayout) -> Result<(), TaskError> {
        match self {
            Self::Folder(folder) => {
                let path = folder.path(key);
                run_blocking(move || {
                    if let Some(parent) = path.parent() {
                        std::fs::create_dir_all(parent).map_err(TaskError::worker)?;
                    }
                    layout
                        .create(&path)
                        .map(drop)
                        .map_err(|error| TaskError::worker(format!("{}: {error}", path.display())))
                })
                .await
            }
            Self::Redis(conn, blobs) => {
                let mut writer = BandWriter::create(conn, blobs, key, layout.file_len())
                    .await
                    .map_err(TaskError::job)?;
                writer
                    .append(layout.header().as_bytes())
                    .await
                    .map_err(TaskError::worker)
            }
        }
    }

    /// The layout of the raw image `key`.
    pub(super) async fn layout(&self, key: &BlobKey) -> Result<RawLayout, TaskError> {
        match self {
            Self::Folder(folder) => {
                let path = folder.path(key);
                run_blocking(move || {
                    // A file that is not there fails the job; any other error opening it
                    // (a network filesystem's hiccup) is the worker's, and retried.
                    let mut file = std::fs::File::open(&path).map_err(|error| {
                        let message = format!("{}: {error}", path.display());
                        match error.kind() {
                            std::io::ErrorKind::NotFound => TaskError::job(message),
                            _ => TaskError::worker(message),
                        }
                    })?;
                    RawLayout::read(&mut file)
                        .map_err(|error| TaskError::job(format!("{}: {error}", path.display())))
                })
                .await
            }
            Self::Redis(conn, blobs) => {
                let name = blobs.keys().blob(key);
                let (len, head): (u64, Vec<u8>) = redis::pipe()
                    .strlen(&name)
                    .getrange(&name, 0, MAX_HEADER as isize - 1)
                    .query_async(&mut conn.clone())
                    .await
                    .map_err(|error| redis_failure(&error))?;
                if len == 0 {
                    return Err(TaskError::job(format!(
                        "the raw image {key} is not in Redis"
                    )));
                }
                RawLayout::parse(&head, len)
                    .map_err(|error| TaskError::job(format!("{key}: {error}")))
            }
        }
    }

    /// Rows `y..y + rows` of the raw image `key` of `layout`.
    pub(super) async fn read_rows(
        &self,
        key: &BlobKey,
        layout: RawLayout,
        y: u32,
        rows: u32,
    ) -> Result<DynamicImage, TaskError> {
        match self {
            Self::Folder(folder) => {
                let path = folder.path(key);
                run_blocking(move || {
                    // Its layout was just read: a failure now (a network filesystem's
                    // hiccup) is the worker's, and retried.
                    let (file, _) = RawLayout::open(&path).map_err(TaskError::worker)?;
                    layout.read_rows(&file, y, rows).map_err(TaskError::worker)
                })
                .await
            }
            Self::Redis(conn, blobs) => {
                let (start, len) = layout.rows(y, rows).map_err(TaskError::job)?;
                if len == 0 {
                    // redis-rs refuses an empty pipeline.
                    return layout.image(Vec::new()).map_err(TaskError::job);
                }
                // In pieces (see `PIECE`), all in one round trip.
                let name = blobs.keys().blob(key);
                let mut pipe = redis::pipe();
                let mut at = start;
                while at < start + len {
                    let end = (at + PIECE as u64).min(start + len);
                    let first = isize::try_from(at).map_err(TaskError::job)?;
                    let last = isize::try_from(end).map_err(TaskError::job)? - 1;
                    pipe.getrange(&name, first, last);
                    at = end;
                }
                let pieces: Vec<Vec<u8>> = pipe
                    .query_async(&mut conn.clone())
                    .await
                    .map_err(|error| redis_failure(&error))?;
                let mut pixels = Vec::with_capacity(usize::try_from(len).map_err(TaskError::job)?);
                for piece in pieces {
                    pixels.extend_from_slice(&piece);
                }
                if pixels.len() as u64 != len {
                    return Err(TaskError::job(format!(
                        "{key} is cut short or gone: only {} of the {len} bytes of rows {y}..{} \
                         are there",
                        pixels.len(),
                        u64::from(y) + u64::from(rows)
                    )));
                }
                layout.image(pixels).map_err(TaskError::job)
            }
        }
    }

    /// Writes `bytes`, rows `width` pixels wide from column `x` of row `y` on, into the
    /// raw image `key` of `layout`, which must exist.
    pub(super) async fn write_rows(
        &self,
        key: &BlobKey,
        layout: RawLayout,
        (x, y, width): (u32, u32, u32),
        bytes: Bytes,
    ) -> Result<(), TaskError> {
        match self {
            Self::Folder(folder) => {
                let path = folder.path(key);
                run_blocking(move || {
                    let file = std::fs::OpenOptions::new()
                        .write(true)
                        .open(&path)
                        .map_err(|error| {
                            TaskError::worker(format!("{}: {error}", path.display()))
                        })?;
                    layout
                        .write_rows(&file, x, y, width, &bytes)
                        .map_err(TaskError::worker)
                })
                .await
            }
            Self::Redis(conn, blobs) => {
                let name = blobs.keys().blob(key);
                let row = width as usize * usize::from(layout.channels);
                let starts = layout
                    .placement(x, y, width, bytes.len())
                    .map_err(TaskError::job)?;
                if width == layout.width {
                    let start = layout.offset + layout.row_bytes() * u64::from(y);
                    return write_at(conn, &name, start, &bytes).await;
                }
                for (at, piece) in starts.zip(bytes.chunks_exact(row)) {
                    write_at(conn, &name, at, piece).await?;
                }
                Ok(())
            }
        }
    }

    /// Writes `rows` of `image`, whose pixels are `layout`'s, into the raw image `key`.
    pub(super) async fn write_image_rows(
        &self,
        key: &BlobKey,
        layout: RawLayout,
        image: &DynamicImage,
        rows: std::ops::Range<u32>,
    ) -> Result<(), TaskError> {
        let (start, len) = layout
            .rows(rows.start, rows.end.saturating_sub(rows.start))
            .map_err(TaskError::job)?;
        let from = usize::try_from(start - layout.offset).map_err(TaskError::job)?;
        let pixels = image
            .as_bytes()
            .get(from..from + usize::try_from(len).map_err(TaskError::job)?)
            .ok_or_else(|| TaskError::job("the image is smaller than its layout"))?;
        match self {
            Self::Folder(_) => {
                let bytes = Bytes::copy_from_slice(pixels);
                self.write_rows(key, layout, (0, rows.start, layout.width), bytes)
                    .await
            }
            Self::Redis(conn, blobs) => {
                write_at(conn, &blobs.keys().blob(key), start, pixels).await
            }
        }
    }

    /// Deletes `key`; whether it was there does not matter.
    pub(super) async fn remove(&self, key: &BlobKey) {
        match self {
            Self::Folder(folder) => {
                let _ = std::fs::remove_file(folder.path(key));
            }
            Self::Redis(_, blobs) => {
                let _ = blobs.delete(key).await;
            }
        }
    }
}

/// How long a raw image that a late write made anew is kept, in milliseconds.
const REMADE_TTL_MS: u64 = 60_000;

/// Writes `bytes` at `offset` into the Redis string `name`, in pieces of at most
/// [`PIECE`]. A band delivered again after its job was assembled or failed writes
/// into a key that is gone, and `SETRANGE` makes it anew, of zeros: after the pieces of
/// each round trip, an expiry is set on a key that has none (`NX`), so such a key goes
/// within a minute. (A script that writes only into a key that exists costs many times as
/// much: Lua copies its arguments.)
async fn write_at(
    conn: &ConnectionManager,
    name: &str,
    offset: u64,
    bytes: &[u8],
) -> Result<(), TaskError> {
    let mut at = offset;
    // A few pieces per round trip, so Redis reads one while the next is sent.
    for batch in bytes.chunks(PIECE * PIECES_PER_TRIP) {
        let mut pipe = redis::pipe();
        for piece in batch.chunks(PIECE) {
            let start = isize::try_from(at).map_err(TaskError::job)?;
            pipe.setrange(name, start, piece).ignore();
            at += piece.len() as u64;
        }
        pipe.cmd("PEXPIRE")
            .arg(name)
            .arg(REMADE_TTL_MS)
            .arg("NX")
            .ignore();
        pipe.query_async::<()>(&mut conn.clone())
            .await
            .map_err(|error| redis_failure(&error))?;
    }
    Ok(())
}
