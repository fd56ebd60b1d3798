//! Items a request reads with its session: a route declares the keys its handler will read
//! first (`Function::reads_with_session`, from the path), the guard adds them to the session's
//! one batch read, and the request's table handle answers the handler's first read of each from
//! what came back. A signed-in read of one parent and a list costs the session, the list and
//! its people, not a call more for the parent.
//!
//! A transaction's write that lost its condition can leave the item it saw here too
//! (`Write::seeing`), for the request's next read of it.
//!
//! Each key is answered once, and not after the request wrote its item: a later read of the
//! same key, or one after a write to it, goes to the table. The caller's own account, which
//! the session check reads anyway, is kept the same way.

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
