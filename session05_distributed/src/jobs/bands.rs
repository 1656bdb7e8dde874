//! A large result written into a Redis blob in pieces, so the assembling worker never holds
//! the whole image: the blob is made at its final size first (Redis would copy a growing
//! value again and again), then each piece lands in its place with `SETRANGE`.
//!
//! The blob is the [`RedisBlobStore`]'s: same key ([`Keys::blob`]), same size cap, same
//! time to live, so it reads back with [`BlobStore::get`] like any other.
//!
//! [`Keys::blob`]: session04_redis::Keys::blob
//! [`BlobStore::get`]: session03_workers::BlobStore::get

use redis::aio::ConnectionManager;
use session03_workers::{BlobError, BlobKey};
use session04_redis::RedisBlobStore;

/// The largest string Redis stores (its `proto-max-bulk-len` default).
const MAX_REDIS_STRING: u64 = 512 << 20;

/// The most bytes one command sends or asks for. A whole band in one command would be
/// copied into one buffer as large as the band. And Redis's allocator (jemalloc) hands
/// blocks of 8 MiB and more straight back to the system, so each argument or reply that
/// large is fresh memory, cleared page by page as it is touched; smaller pieces reuse the
/// same memory.
pub(super) const PIECE: usize = 1 << 20;

/// Pieces written per round trip.
pub(super) const PIECES_PER_TRIP: usize = 8;

/// A blob of a fixed size, filled from the front.
#[derive(Debug)]
pub(super) struct BandWriter {
    conn: ConnectionManager,
    key: BlobKey,
    redis_key: String,
    size: u64,
    written: u64,
}

fn unavailable(error: &redis::RedisError) -> BlobError {
    BlobError::Unavailable(format!("Redis: {error}"))
}

impl BandWriter {
    /// Makes the blob `key` of `blobs` `size` zero bytes long, under the store's cap and
    /// time to live.
    pub(super) async fn create(
        conn: &ConnectionManager,
        blobs: &RedisBlobStore,
        key: &BlobKey,
        size: u64,
    ) -> Result<Self, BlobError> {
        // Redis strings end at 512 MiB, whatever the cap says.
        let max = blobs.max_blob_bytes().min(MAX_REDIS_STRING);
        if size > max {
            return Err(BlobError::TooLarge {
                key: key.clone(),
                size,
                max,
            });
        }
        let redis_key = blobs.keys().blob(key);
        let ttl_ms = i64::try_from(blobs.blob_ttl().as_millis()).unwrap_or(i64::MAX);
        let mut pipe = redis::pipe();
        pipe.atomic().del(&redis_key).ignore();
        if size > 0 {
            let last = isize::try_from(size - 1).unwrap_or(isize::MAX);
            pipe.setrange(&redis_key, last, &[0u8][..]).ignore();
        } else {
            pipe.set(&redis_key, &[] as &[u8]).ignore();
        }
        pipe.pexpire(&redis_key, ttl_ms.max(1)).ignore();
        let mut conn = conn.clone();
        pipe.query_async::<()>(&mut conn)
            .await
            .map_err(|error| unavailable(&error))?;
        Ok(Self {
            conn,
            key: key.clone(),
            redis_key,
            size,
            written: 0,
        })
    }

    /// Writes `bytes` after what is written, in pieces of at most [`PIECE`].
    pub(super) async fn append(&mut self, bytes: &[u8]) -> Result<(), BlobError> {
        let end = self.written.saturating_add(bytes.len() as u64);
        if end > self.size {
            return Err(BlobError::TooLarge {
                key: self.key.clone(),
                size: end,
                max: self.size,
            });
        }
        // A few pieces per round trip, so Redis reads one while the next is sent.
        for batch in bytes.chunks(PIECE * PIECES_PER_TRIP) {
            let mut pipe = redis::pipe();
            let mut at = self.written;
            for piece in batch.chunks(PIECE) {
                // Within the size checked at creation, so within `isize`.
                let offset = isize::try_from(at).unwrap_or(isize::MAX);
                pipe.setrange(&self.redis_key, offset, piece).ignore();
                at += piece.len() as u64;
            }
            pipe.query_async::<()>(&mut self.conn)
                .await
                .map_err(|error| unavailable(&error))?;
            self.written = at;
        }
        Ok(())
    }
}
