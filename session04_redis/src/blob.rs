//! [`RedisBlobStore`]: session 03's [`BlobStore`] in Redis, for inputs and results that
//! every worker on every machine can reach.
//!
//! Redis keeps everything in memory, so two limits keep it healthy: a **size cap** per blob
//! (checked before writing, and on reading, where at most one byte past the cap crosses
//! the network before an oversized value is refused) and a **time to live** on every blob,
//! so results nobody fetched do not pile up. For large images or long-lived results, a shared filesystem
//! ([`FsBlobStore`](session03_workers::FsBlobStore)) is the better store.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use redis::AsyncCommands;
use redis::aio::ConnectionManager;
use session03_workers::{BlobError, BlobKey, BlobStore};

use crate::keys::Keys;

/// The default time a blob lives: a day.
pub const DEFAULT_TTL: Duration = Duration::from_secs(24 * 3600);

/// The default cap per blob: 32 MiB.
pub const DEFAULT_MAX_BLOB_BYTES: u64 = 32 << 20;

/// Blobs as Redis strings under `namespace:blob:key`, each with a time to live.
#[derive(Clone)]
pub struct RedisBlobStore {
    conn: ConnectionManager,
    keys: Keys,
    ttl: Duration,
    max_blob_bytes: u64,
}

impl std::fmt::Debug for RedisBlobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBlobStore")
            .field("namespace", &self.keys.namespace())
            .field("ttl", &self.ttl)
            .field("max_blob_bytes", &self.max_blob_bytes)
            .finish_non_exhaustive()
    }
}

impl RedisBlobStore {
    /// A store on `conn` (whose Redis has the queue's functions loaded, as
    /// [`RedisQueue::connect`](crate::RedisQueue::connect) does).
    pub fn new(
        conn: ConnectionManager,
        namespace: &str,
        ttl: Duration,
        max_blob_bytes: u64,
    ) -> Self {
        Self {
            conn,
            keys: Keys::new(namespace),
            ttl: ttl.max(Duration::from_millis(1)),
            max_blob_bytes,
        }
    }

    /// Where each blob is kept: [`Keys::blob`].
    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// How long a blob lives after it is written.
    pub fn blob_ttl(&self) -> Duration {
        self.ttl
    }

    /// The largest blob this store writes or reads.
    pub fn max_blob_bytes(&self) -> u64 {
        self.max_blob_bytes
    }

    /// How long the blob has left, or `None` when there is no such blob.
    pub async fn ttl(&self, key: &BlobKey) -> Result<Option<Duration>, BlobError> {
        let mut conn = self.conn.clone();
        let ms: i64 = conn
            .pttl(self.keys.blob(key))
            .await
            .map_err(|error| unavailable(&error))?;
        Ok(u64::try_from(ms).ok().map(Duration::from_millis))
    }
}

fn unavailable(error: &redis::RedisError) -> BlobError {
    BlobError::Unavailable(format!("Redis: {error}"))
}

fn too_large(key: &BlobKey, size: u64, max: u64) -> BlobError {
    BlobError::TooLarge {
        key: key.clone(),
        size,
        max,
    }
}

#[async_trait]
impl BlobStore for RedisBlobStore {
    async fn put(&self, key: &BlobKey, bytes: Bytes) -> Result<(), BlobError> {
        let size = bytes.len() as u64;
        if size > self.max_blob_bytes {
            return Err(too_large(key, size, self.max_blob_bytes));
        }
        let mut conn = self.conn.clone();
        let ttl_ms = u64::try_from(self.ttl.as_millis()).unwrap_or(u64::MAX);
        conn.pset_ex::<_, _, ()>(self.keys.blob(key), bytes.as_ref(), ttl_ms)
            .await
            .map_err(|error| unavailable(&error))
    }

    async fn get(&self, key: &BlobKey) -> Result<Bytes, BlobError> {
        // One atomic round trip: the size, whether it exists, and at most one byte more
        // than the cap, so a huge value is refused without being sent whole.
        let redis_key = self.keys.blob(key);
        let end = i64::try_from(self.max_blob_bytes).unwrap_or(i64::MAX);
        let mut conn = self.conn.clone();
        let (size, exists, bytes): (u64, bool, Bytes) = redis::pipe()
            .atomic()
            .strlen(&redis_key)
            .exists(&redis_key)
            .getrange(&redis_key, 0, end.max(0) as isize)
            .query_async(&mut conn)
            .await
            .map_err(|error| unavailable(&error))?;
        if !exists {
            return Err(BlobError::NotFound(key.clone()));
        }
        if size > self.max_blob_bytes {
            return Err(too_large(key, size, self.max_blob_bytes));
        }
        Ok(bytes)
    }

    async fn delete(&self, key: &BlobKey) -> Result<bool, BlobError> {
        let mut conn = self.conn.clone();
        let removed: u64 = conn
            .del(self.keys.blob(key))
            .await
            .map_err(|error| unavailable(&error))?;
        Ok(removed > 0)
    }

    fn locate(&self, key: &BlobKey) -> String {
        format!("redis key {}", self.keys.blob(key))
    }
}
