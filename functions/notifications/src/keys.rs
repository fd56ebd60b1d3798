//! Notifications' keys.
//!
//! | item | PK | SK |
//! |---|---|---|
//! | notification | `USER#<recipient>` | `NOTIF#<id>` (newest first) |
//! | unread counter | `USER#<recipient>` | `NOTIFCOUNT` |
//! | settings | `USER#<recipient>` | `NOTIFSETTINGS` |
//! | event seen | `NOTIFEVENT#<event id>` | `SEEN` (TTL 7 days): a redelivered event stores nothing new |
//! | repeat guard | `NOTIFONCE#<recipient>` | `<kind>#<actor>#<target type>#<target id>` (TTL 1 hour) |
//! | push subscription | `USER#<owner>` | `PUSHSUB#<id>` (id: the first 128 bits of the endpoint's SHA-256, hex) |
//! | push subscriptions' count | `USER#<owner>` | `PUSHSUBCOUNT` (`count`, at most 10, exact in each transaction) |
//! | push endpoint's owner | `PUSHENDPOINT#<id>` | `OWNER` (`userId`): one account per browser endpoint |
//! | push delivered | `PUSHSENT#<notification id>` | `<subscription id>` (TTL 1 day): a retried push skips those it reached |

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

/// The sort-key prefix of push subscriptions in their owner's partition.
pub const PUSH_SUBSCRIPTIONS: &str = "PUSHSUB#";

/// A subscription's id: the endpoint's digest, so that registering the same endpoint again
/// finds the same subscription.
pub fn push_subscription_id(endpoint: &str) -> String {
    use sha2::Digest;
    hex::encode(&sha2::Sha256::digest(endpoint.as_bytes())[..16])
}

pub fn push_subscription_sort(id: &str) -> String {
    format!("{PUSH_SUBSCRIPTIONS}{id}")
}

pub fn push_subscription_key(user: &str, id: &str) -> Key {
    Key::new(user_partition(user), push_subscription_sort(id))
}

pub fn push_count_key(user: &str) -> Key {
    Key::new(user_partition(user), "PUSHSUBCOUNT")
}

pub fn push_endpoint_key(id: &str) -> Key {
    Key::new(format!("PUSHENDPOINT#{id}"), "OWNER")
}

pub fn push_sent_key(notification: &str, subscription: &str) -> Key {
    Key::new(format!("PUSHSENT#{notification}"), subscription.to_string())
}
