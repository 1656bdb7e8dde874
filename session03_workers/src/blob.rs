//! Where the pixels live: the [`BlobStore`] trait, in memory and on a filesystem.
//!
//! A task carries [`BlobKey`]s, never image bytes: a queue entry stays small, and the bytes
//! go where bytes belong. This session has two stores; session 04 adds one in Redis, and the
//! filesystem store is what a compose volume or a Kubernetes volume holds.
//!
//! Keys are relative paths of plain names (`inputs/chelsea.png`), checked when they are
//! made, so no key can climb out of a filesystem store's folder. Every store has a size cap
//! per blob, so one upload cannot fill the memory or the disk.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use async_trait::async_trait;
use bytes::Bytes;
use serde::{Deserialize, Serialize};

/// The default cap on one blob: 64 MiB, well above a 50-megapixel PNG.
pub const DEFAULT_MAX_BLOB_BYTES: u64 = 64 << 20;

/// The longest key, in bytes.
pub const MAX_KEY_LEN: usize = 512;

/// A blob's name: `/`-separated segments of letters, digits, `.`, `_` and `-`, none of them
/// `.` or `..`, at most [`MAX_KEY_LEN`] bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BlobKey(String);

impl BlobKey {
    /// Checks and wraps a key.
    pub fn new(key: impl Into<String>) -> Result<Self, BlobError> {
        let key = key.into();
        let problem = if key.is_empty() {
            Some("it is empty")
        } else if key.len() > MAX_KEY_LEN {
            Some("it is longer than 512 bytes")
        } else if key
            .split('/')
            .any(|segment| segment.is_empty() || segment == "." || segment == "..")
        {
            Some("a segment is empty, `.` or `..`")
        } else if !key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-".contains(&b))
        {
            Some("only letters, digits, `/`, `.`, `_` and `-` are allowed")
        } else {
            None
        };
        match problem {
            Some(reason) => Err(BlobError::InvalidKey { key, reason }),
            None => Ok(Self(key)),
        }
    }

    /// A key from a file name, with characters a key cannot hold replaced by `_`:
    /// `prefix/name`.
    pub fn for_file(prefix: &str, name: &str) -> Result<Self, BlobError> {
        let clean: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "._-".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let clean = clean.trim_start_matches('.');
        Self::new(format!("{prefix}/{clean}"))
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key's extension, lower-cased (`png`), if it has one.
    pub fn extension(&self) -> Option<String> {
        let name = self.0.rsplit('/').next()?;
        let (_, extension) = name.rsplit_once('.')?;
        Some(extension.to_ascii_lowercase())
    }
}

impl TryFrom<String> for BlobKey {
    type Error = BlobError;

    fn try_from(key: String) -> Result<Self, Self::Error> {
        Self::new(key)
    }
}

impl From<BlobKey> for String {
    fn from(key: BlobKey) -> Self {
        key.0
    }
}

impl fmt::Display for BlobKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What can go wrong with a blob.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// The key breaks the rules of [`BlobKey`].
    #[error("invalid blob key {key:?}: {reason}")]
    InvalidKey {
        /// The key.
        key: String,
        /// Which rule it breaks.
        reason: &'static str,
    },
    /// Nothing is stored under the key.
    #[error("no blob {0}")]
    NotFound(BlobKey),
    /// The blob is bigger than the store's cap.
    #[error("blob {key} is {size} bytes; this store takes at most {max}")]
    TooLarge {
        /// The key.
        key: BlobKey,
        /// Its size.
        size: u64,
        /// The cap.
        max: u64,
    },
    /// The store failed to read or write.
    #[error("blob {key}: {source}")]
    Io {
        /// The key.
        key: BlobKey,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The store cannot be reached, or is full.
    #[error("blob store unavailable: {0}")]
    Unavailable(String),
}

impl BlobError {
    /// Whether trying again later could succeed: true for I/O and availability errors,
    /// false for a missing blob, a bad key or a blob too large.
    pub fn is_transient(&self) -> bool {
        matches!(self, BlobError::Io { .. } | BlobError::Unavailable(_))
    }
}

/// A place to put and get bytes by key.
// ANCHOR: blob_store
#[async_trait]
pub trait BlobStore: Send + Sync + fmt::Debug {
    /// Stores `bytes` under `key`, replacing what was there.
    async fn put(&self, key: &BlobKey, bytes: Bytes) -> Result<(), BlobError>;
    /// The bytes stored under `key`.
    async fn get(&self, key: &BlobKey) -> Result<Bytes, BlobError>;
    /// Removes the blob; `false` when there was none.
    async fn delete(&self, key: &BlobKey) -> Result<bool, BlobError>;
    /// Where the blob is, for a person: a path, or a URL-like name.
    fn locate(&self, key: &BlobKey) -> String;
}
// ANCHOR_END: blob_store

fn check_size(key: &BlobKey, size: u64, max: u64) -> Result<(), BlobError> {
    if size > max {
        return Err(BlobError::TooLarge {
            key: key.clone(),
            size,
            max,
        });
    }
    Ok(())
}

/// Blobs in a map in this process: for tests and the single-process demo.
#[derive(Debug)]
pub struct MemoryBlobStore {
    blobs: Mutex<Blobs>,
    max_blob_bytes: u64,
    max_total_bytes: u64,
}

/// The map, and the bytes it holds in all.
#[derive(Debug, Default)]
struct Blobs {
    map: HashMap<BlobKey, Bytes>,
    total: u64,
}

impl MemoryBlobStore {
    /// A store that takes blobs up to [`DEFAULT_MAX_BLOB_BYTES`], and 1 GiB in all.
    pub fn new() -> Self {
        Self::with_limits(DEFAULT_MAX_BLOB_BYTES, 1 << 30)
    }

    /// A store with a cap per blob and a cap on all of them together.
    pub fn with_limits(max_blob_bytes: u64, max_total_bytes: u64) -> Self {
        Self {
            blobs: Mutex::new(Blobs::default()),
            max_blob_bytes,
            max_total_bytes,
        }
    }

    /// The bytes the store holds now, out of its `max_total_bytes`.
    pub fn used_bytes(&self) -> u64 {
        self.blobs.lock().map_or(0, |blobs| blobs.total)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Blobs> {
        // No code that can panic runs while the map and its total disagree, so a poisoned
        // lock is still safe to use.
        self.blobs.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Default for MemoryBlobStore {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl BlobStore for MemoryBlobStore {
    async fn put(&self, key: &BlobKey, bytes: Bytes) -> Result<(), BlobError> {
        let size = bytes.len() as u64;
        check_size(key, size, self.max_blob_bytes)?;
        let mut blobs = self.lock();
        let replaced = blobs.map.get(key).map_or(0, |b| b.len() as u64);
        let total = blobs.total - replaced + size;
        if total > self.max_total_bytes {
            return Err(BlobError::Unavailable(format!(
                "the memory store is full ({} of {} bytes used)",
                blobs.total, self.max_total_bytes
            )));
        }
        blobs.map.insert(key.clone(), bytes);
        blobs.total = total;
        Ok(())
    }

    async fn get(&self, key: &BlobKey) -> Result<Bytes, BlobError> {
        self.lock()
            .map
            .get(key)
            .cloned()
            .ok_or_else(|| BlobError::NotFound(key.clone()))
    }

    async fn delete(&self, key: &BlobKey) -> Result<bool, BlobError> {
        let mut blobs = self.lock();
        let removed = blobs.map.remove(key);
        blobs.total -= removed.as_ref().map_or(0, |b| b.len() as u64);
        Ok(removed.is_some())
    }

    fn locate(&self, key: &BlobKey) -> String {
        format!("memory:{key}")
    }
}

/// Blobs as files under one folder: a key is a relative path in it.
///
/// Writes go to a temporary file that is renamed into place, so a reader never sees half a
/// blob, even when the writer is killed mid-write.
#[derive(Debug, Clone)]
pub struct FsBlobStore {
    root: PathBuf,
    max_blob_bytes: u64,
}

impl FsBlobStore {
    /// A store in `root` (created when missing) taking blobs up to
    /// [`DEFAULT_MAX_BLOB_BYTES`].
    pub fn new(root: impl Into<PathBuf>) -> Result<Self, BlobError> {
        Self::with_limit(root, DEFAULT_MAX_BLOB_BYTES)
    }

    /// A store in `root` with a cap per blob.
    pub fn with_limit(root: impl Into<PathBuf>, max_blob_bytes: u64) -> Result<Self, BlobError> {
        let root = root.into();
        std::fs::create_dir_all(&root).map_err(|error| {
            BlobError::Unavailable(format!("cannot create {}: {error}", root.display()))
        })?;
        Ok(Self {
            root,
            max_blob_bytes,
        })
    }

    /// The folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file that holds `key`.
    pub fn path(&self, key: &BlobKey) -> PathBuf {
        self.root.join(key.as_str())
    }
}

#[async_trait]
impl BlobStore for FsBlobStore {
    async fn put(&self, key: &BlobKey, bytes: Bytes) -> Result<(), BlobError> {
        check_size(key, bytes.len() as u64, self.max_blob_bytes)?;
        let path = self.path(key);
        let io = |source| BlobError::Io {
            key: key.clone(),
            source,
        };
        if let Some(parent) = path.parent() {
            tokio::fs::create_dir_all(parent).await.map_err(io)?;
        }
        let temporary = path.with_file_name(format!(".{}.tmp", uuid::Uuid::new_v4().simple()));
        tokio::fs::write(&temporary, &bytes).await.map_err(io)?;
        if let Err(error) = tokio::fs::rename(&temporary, &path).await {
            let _ = tokio::fs::remove_file(&temporary).await;
            return Err(io(error));
        }
        Ok(())
    }

    async fn get(&self, key: &BlobKey) -> Result<Bytes, BlobError> {
        let path = self.path(key);
        let io = |source: std::io::Error| match source.kind() {
            std::io::ErrorKind::NotFound => BlobError::NotFound(key.clone()),
            _ => BlobError::Io {
                key: key.clone(),
                source,
            },
        };
        // Check the size before reading, so a huge file is refused without loading it.
        let size = tokio::fs::metadata(&path).await.map_err(io)?.len();
        check_size(key, size, self.max_blob_bytes)?;
        Ok(Bytes::from(tokio::fs::read(&path).await.map_err(io)?))
    }

    async fn delete(&self, key: &BlobKey) -> Result<bool, BlobError> {
        match tokio::fs::remove_file(self.path(key)).await {
            Ok(()) => Ok(true),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(source) => Err(BlobError::Io {
                key: key.clone(),
                source,
            }),
        }
    }

    fn locate(&self, key: &BlobKey) -> String {
        self.path(key).display().to_string()
    }
}
