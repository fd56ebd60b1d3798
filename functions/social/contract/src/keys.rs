//! The social graph's keys: each relation is two items, one in each user's partition, so both
//! directions are one query.
//!
//! | item | PK | SK |
//! |---|---|---|
//! | a follows b | `USER#<a>` | `FOLLOWING#<b>` |
//! | b is followed by a | `USER#<b>` | `FOLLOWER#<a>` |
//! | a blocks b | `USER#<a>` | `BLOCKS#<b>` |
//! | b is blocked by a | `USER#<b>` | `BLOCKEDBY#<a>` |
//! | whom a does not see (blocks either way; read with a's session) | `USER#<a>` | `HIDDEN`, one number `hide_<b>` per other user (`shared::account::hidden_key`) |

use shared::keys::user_partition;
use shared::table::Key;

pub const FOLLOWING: &str = "FOLLOWING#";
pub const FOLLOWER: &str = "FOLLOWER#";
pub const BLOCKS: &str = "BLOCKS#";
pub const BLOCKED_BY: &str = "BLOCKEDBY#";
/// What `BLOCKS#` and `BLOCKEDBY#` share: one query reads both directions.
pub const ANY_BLOCK: &str = "BLOCK";

pub fn following_key(a: &str, b: &str) -> Key {
    Key::new(user_partition(a), format!("{FOLLOWING}{b}"))
}
pub fn follower_key(b: &str, a: &str) -> Key {
    Key::new(user_partition(b), format!("{FOLLOWER}{a}"))
}
pub fn blocks_key(a: &str, b: &str) -> Key {
    Key::new(user_partition(a), format!("{BLOCKS}{b}"))
}
pub fn blocked_by_key(b: &str, a: &str) -> Key {
    Key::new(user_partition(b), format!("{BLOCKED_BY}{a}"))
}
