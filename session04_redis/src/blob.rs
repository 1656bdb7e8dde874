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

/// The default time a blob lives: a day.
pub const DEFAULT_TTL: Duration = Duration::from_secs(24 * 3600);

/// The default cap per blob: 32 MiB.
pub const DEFAULT_MAX_BLOB_BYTES: u64 = 32 << 20;

/// Blobs as Redis strings under `namespace:blob:key`, each with a time to live.
#[derive(Clone)]
pub struct RedisBlobStore {
    conn: ConnectionManager,
    namespace: String,
    ttl: Duration,
    max_blob_bytes: u64,
}

impl std::fmt::Debug for RedisBlobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBlobStore")
            .field("namespace", &self.namespace)
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
            namespace: namespace.to_owned(),
            ttl: ttl.max(Duration::from_millis(1)),
            max_blob_bytes,
        }
    }

    /// The Redis key that holds the blob `key`.
    pub fn redis_key(&self, key: &BlobKey) -> String {
        format!("{}:blob:{key}", self.namespace)
    }

    /// Makes the blob at `key` `size` zero bytes long, to be filled with [`write_at`]: a
    /// large result written in parts, never held whole in memory, and never grown (Redis
    /// would copy a growing value again and again). The size cap applies.
    ///
    /// [`write_at`]: Self::write_at
    pub async fn create_sized(&self, key: &BlobKey, size: u64) -> Result<(), BlobError> {
        // Redis strings end at 512 MiB, whatever the cap says.
        let max = self.max_blob_bytes.min(MAX_REDIS_STRING);
        if size > max {
            return Err(too_large(key, size, max));
        }
        let redis_key = self.redis_key(key);
        let ttl_ms = i64::try_from(self.ttl.as_millis()).unwrap_or(i64::MAX);
        let mut pipe = redis::pipe();
        pipe.atomic().del(&redis_key).ignore();
        if size > 0 {
            let last = isize::try_from(size - 1).unwrap_or(isize::MAX);
            pipe.setrange(&redis_key, last, &[0u8][..]).ignore();
        } else {
            pipe.set(&redis_key, &[] as &[u8]).ignore();
        }
        pipe.pexpire(&redis_key, ttl_ms).ignore();
        let mut conn = self.conn.clone();
        pipe.query_async::<()>(&mut conn)
            .await
            .map_err(|error| unavailable(&error))
    }

    /// Writes `bytes` at `offset` into a blob made by [`create_sized`](Self::create_sized).
    pub async fn write_at(
        &self,
        key: &BlobKey,
        offset: u64,
        bytes: &[u8],
    ) -> Result<(), BlobError> {
        let end = offset.saturating_add(bytes.len() as u64);
        if end > self.max_blob_bytes {
            return Err(too_large(key, end, self.max_blob_bytes));
        }
        let offset =
            isize::try_from(offset).map_err(|_| too_large(key, end, self.max_blob_bytes))?;
        let mut conn = self.conn.clone();
        conn.setrange::<_, _, u64>(self.redis_key(key), offset, bytes)
            .await
            .map(drop)
            .map_err(|error| unavailable(&error))
    }

    /// How long the blob has left, or `None` when there is no such blob.
    pub async fn ttl(&self, key: &BlobKey) -> Result<Option<Duration>, BlobError> {
        let mut conn = self.conn.clone();
        let ms: i64 = conn
            .pttl(self.redis_key(key))
            .await
            .map_err(|error| unavailable(&error))?;
        Ok(u64::try_from(ms).ok().map(Duration::from_millis))
    }
}

/// The largest string Redis stores (its `proto-max-bulk-len` default).
const MAX_REDIS_STRING: u64 = 512 << 20;

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
        conn.pset_ex::<_, _, ()>(self.redis_key(key), bytes.as_ref(), ttl_ms)
            .await
            .map_err(|error| unavailable(&error))
    }

    async fn get(&self, key: &BlobKey) -> Result<Bytes, BlobError> {
        // One atomic round trip: the size, whether it exists, and at most one byte more
        // than the cap, so a huge value is refused without being sent whole.
        let redis_key = self.redis_key(key);
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
            .del(self.redis_key(key))
            .await
            .map_err(|error| unavailable(&error))?;
        Ok(removed > 0)
    }

    fn locate(&self, key: &BlobKey) -> String {
        format!("redis key {}", self.redis_key(key))
    }
}
