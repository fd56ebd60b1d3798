//! The kernel's keys: the user partition every domain keeps per-user items in, the account and
//! session items the authorizer reads, and the items of the kernel's own mechanics. Every key
//! string of the product is built in a module like this one (`keys.rs`, one per domain); a test
//! fails when one is built anywhere else.
//!
//! | item | PK | SK |
//! |---|---|---|
//! | account (identity) | `USER#<id>` | `PROFILE` |
//! | session (identity) | `USER#<id>` | `SESSION#<family>` |
//! | idempotency record | `IDEMPOTENCY#<scope>#<key>` | `RECORD` |
//! | rate-limit window | `RATE#<action>#<subject>` | `W#<start>` |
//! | outbox message | `OUTBOX#<id>` | `MESSAGE` (GSI1 `OUTBOX#PENDING#<shard>`, `<id>`, until sent) |
//! | a user's live WebSocket connections | `USER#<id>` | `CONNECTIONS` (an attribute each, TTL 2 h) |
//! | the same, by connection | `CONN#<connection>` | `CONNECTION` (TTL 2 h) |

use crate::table::Key;

/// The partition of a user's own items; each domain adds its sort keys.
pub fn user_partition(user_id: &str) -> String {
    format!("USER#{user_id}")
}

/// The key of a user's account item.
pub fn user_key(user_id: &str) -> Key {
    Key::new(user_partition(user_id), "PROFILE")
}

/// The sort-key prefix of sessions (refresh-token families) in the user partition.
pub const SESSION_PREFIX: &str = "SESSION#";

pub fn session_sort(session_id: &str) -> String {
    format!("{SESSION_PREFIX}{session_id}")
}

/// The key of a sign-in session (a refresh-token family; identity owns the item).
pub fn session_key(user_id: &str, session_id: &str) -> Key {
    Key::new(user_partition(user_id), session_sort(session_id))
}

pub fn idempotency_partition(scope: &str, key: &str) -> String {
    format!("IDEMPOTENCY#{scope}#{key}")
}

/// The sort key of every idempotency record.
pub const IDEMPOTENCY_RECORD: &str = "RECORD";

/// An idempotency record of `scope` for `key`.
pub fn idempotency_key(scope: &str, key: &str) -> Key {
    Key::new(idempotency_partition(scope, key), IDEMPOTENCY_RECORD)
}

/// The scope of the records of HTTP requests' `Idempotency-Key`s.
pub const HTTP_IDEMPOTENCY_SCOPE: &str = "http";

pub fn rate_key(action: &str, subject: &str, window_start: i64) -> Key {
    Key::new(format!("RATE#{action}#{}", subject.to_lowercase()), format!("W#{window_start}"))
}

pub fn outbox_partition(id: &str) -> String {
    format!("OUTBOX#{id}")
}

/// An outbox message's item.
pub fn outbox_key(id: &str) -> Key {
    Key::new(outbox_partition(id), "MESSAGE")
}

/// The table's health probe: an item that need not exist.
pub fn health_probe_key() -> Key {
    Key::new("HEALTH", "PROBE")
}

/// Whom a user does not see (see `crate::account::hidden_key`).
pub fn hidden_key(user_id: &str) -> Key {
    Key::new(user_partition(user_id), "HIDDEN")
}

/// The index partition of outbox messages not yet sent, one of a few shards so that a busy
/// minute's messages spread over several index partitions.
pub fn outbox_pending_partition(shard: u32) -> String {
    format!("OUTBOX#PENDING#{shard}")
}

/// The prefix of connection ids in keys and attribute names.
pub const CONNECTION_PREFIX: &str = "CONN#";

/// A user's live connections, one item in their partition with an attribute per connection
/// (so the connections of a room's members are one BatchGetItem).
pub fn user_connections_key(user_id: &str) -> Key {
    Key::new(user_partition(user_id), "CONNECTIONS")
}

/// A connection by its id (each frame finds its user here).
pub fn connection_key(connection_id: &str) -> Key {
    Key::new(format!("{CONNECTION_PREFIX}{connection_id}"), "CONNECTION")
}
