//! Blob stores: keys that cannot escape, caps that hold, files written whole.

use bytes::Bytes;
use session03_workers::{BlobError, BlobKey, BlobStore, FsBlobStore, MemoryBlobStore};

#[test]
fn keys_are_plain_relative_paths() {
    for good in ["a", "inputs/chelsea.png", "results/2026/x_y-z.webp"] {
        assert_eq!(BlobKey::new(good).unwrap().as_str(), good);
    }
    for (bad, reason) in [
        ("", "empty"),
        ("../etc/passwd", "`..`"),
        ("/absolute", "segment is empty"),
        ("a//b", "segment is empty"),
        ("a/./b", "`.`"),
        ("with space.png", "only letters"),
        ("back\\slash", "only letters"),
        ("ünïcode", "only letters"),
    ] {
        let error = BlobKey::new(bad).unwrap_err().to_string();
        assert!(error.contains(reason), "{bad:?}: {error}");
    }
    assert!(BlobKey::new("a".repeat(513)).is_err());
    let key = BlobKey::for_file("inputs", "My Photo (1).JPG").unwrap();
    assert_eq!(key.as_str(), "inputs/My_Photo__1_.JPG");
    assert_eq!(key.extension().as_deref(), Some("jpg"));
    assert!(BlobKey::for_file("inputs", "..").is_err());
}

#[tokio::test]
async fn the_filesystem_store_round_trips_and_writes_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsBlobStore::new(dir.path().join("blobs")).unwrap();
    let key = BlobKey::new("results/deep/a.png").unwrap();
    store.put(&key, Bytes::from_static(b"first")).await.unwrap();
    store
        .put(&key, Bytes::from_static(b"second"))
        .await
        .unwrap();
    assert_eq!(
        store.get(&key).await.unwrap(),
        Bytes::from_static(b"second")
    );
    assert_eq!(std::fs::read(store.path(&key)).unwrap(), b"second");
    let leftovers: Vec<_> = std::fs::read_dir(store.path(&key).parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        leftovers.len(),
        1,
        "no temporary file is left: {leftovers:?}"
    );
    assert!(store.locate(&key).ends_with("a.png"));

    assert!(store.delete(&key).await.unwrap());
    assert!(!store.delete(&key).await.unwrap());
    assert!(matches!(store.get(&key).await, Err(BlobError::NotFound(_))));
}

#[tokio::test]
async fn blobs_over_the_cap_are_refused_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsBlobStore::with_limit(dir.path(), 10).unwrap();
    let key = BlobKey::new("big").unwrap();
    let error = store.put(&key, Bytes::from(vec![0; 11])).await.unwrap_err();
    assert!(
        error
            .to_string()
            .contains("11 bytes; this store takes at most 10"),
        "{error}"
    );
    assert!(!error.is_transient());
    std::fs::write(dir.path().join("big"), vec![0; 1000]).unwrap();
    assert!(matches!(
        store.get(&key).await,
        Err(BlobError::TooLarge { size: 1000, .. })
    ));
}

#[tokio::test]
async fn the_memory_store_caps_each_blob_and_the_total() {
    let store = MemoryBlobStore::with_limits(100, 250);
    let key = |k: &str| BlobKey::new(k).unwrap();
    assert!(
        store
            .put(&key("a"), Bytes::from(vec![1; 101]))
            .await
            .is_err()
    );
    store
        .put(&key("a"), Bytes::from(vec![1; 100]))
        .await
        .unwrap();
    store
        .put(&key("b"), Bytes::from(vec![2; 100]))
        .await
        .unwrap();
    let full = store
        .put(&key("c"), Bytes::from(vec![3; 100]))
        .await
        .unwrap_err();
    assert!(
        full.is_transient(),
        "a full store may have room later: {full}"
    );
    // Replacing a blob counts only the difference; deleting frees its bytes.
    store
        .put(&key("b"), Bytes::from(vec![2; 100]))
        .await
        .unwrap();
    assert!(store.delete(&key("a")).await.unwrap());
    store
        .put(&key("c"), Bytes::from(vec![3; 100]))
        .await
        .unwrap();
    assert_eq!(store.get(&key("c")).await.unwrap().len(), 100);
    assert!(matches!(
        store.get(&key("a")).await,
        Err(BlobError::NotFound(_))
    ));
}
