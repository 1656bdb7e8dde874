//! The in-memory queue against the queue contract (`session03_workers::contract`), the
//! suite session 04 runs against its Redis queue too.

use session03_workers::MemoryQueue;
use session03_workers::contract::check_all;

#[tokio::test]
async fn the_memory_queue_keeps_the_contract() {
    check_all(|config| async move { MemoryQueue::new(config) }).await;
}
