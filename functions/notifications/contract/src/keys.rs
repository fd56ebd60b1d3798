//! The notification keys other domains write through this contract.
//!
//! | item | PK | SK | index |
//! |---|---|---|---|
//! | notice | `NOTICE#<id>` | `NOTICE` | GSI1 `NOTICES` / `<id>` (newest first) |
//! | a notice's progress in one audience shard (its cursor) | `NOTICE#<id>` | `SHARD#<n>` | |
//! | the counters of one delivery lane of a shard | `NOTICE#<id>` | `SHARD#<n>#<lane>` | |
//! | a member's CHAT item for a room (which notification, to which message, last pushed) | `USER#<member>` | `CHATNOTICE#<room>` | |

use shared::table::Key;

pub const ALL_NOTICES: &str = "NOTICES";
pub const NOTICE: &str = "NOTICE";

pub fn notice_partition(id: &str) -> String {
    format!("NOTICE#{id}")
}

pub fn notice_key(id: &str) -> Key {
    Key::new(notice_partition(id), NOTICE)
}

pub fn notice_shard_key(id: &str, shard: u32) -> Key {
    Key::new(notice_partition(id), format!("SHARD#{shard}"))
}

pub fn notice_lane_key(id: &str, shard: u32, lane: u32) -> Key {
    Key::new(notice_partition(id), format!("SHARD#{shard}#{lane}"))
}

/// Which CHAT notification stands for `room` in `user`'s inbox (chat reads it to know whether a
/// read must clear it).
pub fn chat_notice_key(user: &str, room: &str) -> Key {
    Key::new(shared::keys::user_partition(user), format!("CHATNOTICE#{room}"))
}
