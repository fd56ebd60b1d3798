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
//! | a's open report of a target | `REPORTLOCK#<a>#<type>#<id>` | `OPEN` |
//! | report | `REPORT#<id>` | `REPORT` (GSI1 `REPORTS#<status>`; GSI2 `REPORTSON#<reported user>`; GSI3 `REPORTED#<type>#<target id>`; each `<id>`, newest first) |

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

/// The sort key of a report.
pub const REPORT: &str = "REPORT";

/// The GSI1 partition of the reports with one status (`OPEN` is the moderators' queue).
pub fn reports_with_status(status: &str) -> String {
    format!("REPORTS#{status}")
}

/// The GSI3 partition of the reports on one target.
pub fn reports_on_target(target_type: &str, target_id: &str) -> String {
    format!("REPORTED#{target_type}#{target_id}")
}

pub fn report_partition(id: &str) -> String {
    format!("REPORT#{id}")
}

pub fn report_lock_key(reporter: &str, target_type: &str, target_id: &str) -> Key {
    Key::new(format!("REPORTLOCK#{reporter}#{target_type}#{target_id}"), "OPEN")
}

/// GSI2 partition of the reports about a user (their account or their content).
pub fn reports_against_partition(user: &str) -> String {
    format!("REPORTSON#{user}")
}
