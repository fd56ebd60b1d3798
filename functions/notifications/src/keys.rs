//! Notifications' keys.
//!
//! | item | PK | SK |
//! |---|---|---|
//! | notification | `USER#<recipient>` | `NOTIF#<id>` (newest first) |
//! | unread counter | `USER#<recipient>` | `NOTIFCOUNT` |
//! | settings | `USER#<recipient>` | `NOTIFSETTINGS` |
//! | event seen | `NOTIFEVENT#<event id>` | `SEEN` (TTL 7 days): a redelivered event stores nothing new |
//! | repeat guard | `NOTIFONCE#<recipient>` | `<kind>#<actor>#<target type>#<target id>` (TTL 1 hour) |

use shared::keys::user_partition;
use shared::table::Key;

/// The sort-key prefix of notifications in the recipient's partition.
pub const NOTIFICATIONS: &str = "NOTIF#";

pub fn notification_sort(id: &str) -> String {
    format!("{NOTIFICATIONS}{id}")
}

pub fn notification_key(user: &str, id: &str) -> Key {
    Key::new(user_partition(user), notification_sort(id))
}

pub fn counter_key(user: &str) -> Key {
    Key::new(user_partition(user), "NOTIFCOUNT")
}

pub fn settings_key(user: &str) -> Key {
    Key::new(user_partition(user), "NOTIFSETTINGS")
}

pub fn event_seen_key(event_id: &str) -> Key {
    Key::new(format!("NOTIFEVENT#{event_id}"), "SEEN")
}

pub fn repeat_guard_key(recipient: &str, kind: &str, actor: &str, target_type: &str, target_id: &str) -> Key {
    Key::new(format!("NOTIFONCE#{recipient}"), format!("{kind}#{actor}#{target_type}#{target_id}"))
}
