//! Items a request reads with its session: a route declares the keys its handler will read
//! first (`Function::reads_with_session`, from the path), the guard adds them to the session's
//! one batch read, and the request's table handle answers the handler's first read of each from
//! what came back. A signed-in read of one parent and a list costs the session, the list and
//! its people, not a call more for the parent.
//!
//! Each key is answered once: a later read of the same key (after the handler wrote it, say)
//! goes to the table.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use super::{Item, Key};

/// The request's prefetched items, shared by its table handles.
#[derive(Debug, Clone, Default)]
pub struct Slot(Arc<Mutex<HashMap<Key, Option<Item>>>>);

impl Slot {
    /// Keeps what the session's batch read found at `key` (`None`: no item there).
    pub fn put(&self, key: Key, item: Option<Item>) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).insert(key, item);
    }

    /// What was read at `key` with the session, once.
    pub fn take(&self, key: &Key) -> Option<Option<Item>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).remove(key)
    }
}
