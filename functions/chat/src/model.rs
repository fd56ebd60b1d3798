//! Chat's items and what clients see of them. Keys and layout: [`crate::keys`].
//!
//! Unread counts are exact and cheap: every message takes the room's next sequence number
//! (`count`), and a member's read position is a sequence number too (`readCount`), so a member's
//! unread count is `count - readCount`. Sending moves the sender's own read position to their
//! message, so what is after it was always sent by others.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shared::table::{Entity, Item};
use utoipa::ToSchema;

use crate::keys;

/// Chat's events queue: what chat subscribes to (a listing's sale status changed, a connection
/// ended) and its own messages sent, for its events worker.
pub const CHAT_EVENTS: shared::queues::Queue =
    shared::queues::Queue { name: "chat-events", visibility_timeout_secs: 30, max_receive_count: 5 };

/// A message was sent: committed with it, through the outbox, onto [`CHAT_EVENTS`], whose
/// worker has the members not in the room notified, [`NOTICE_DELAY_SECS`] later.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageSent {
    pub room_id: String,
    pub message_id: String,
    pub seq: i64,
    pub sender_id: String,
    pub excerpt: String,
    /// When it was sent (absent from events queued before it was carried).
    #[serde(default)]
    pub sent_at: Option<DateTime<Utc>>,
}

/// The members not in a room hear of a message this long after it, not at once: a member who
/// reads it meanwhile (on another device, or by coming back) is not told at all, and the
/// messages of a burst are told once, by the last of them (see [`NOTICE_WINDOW_SECS`]).
pub const NOTICE_DELAY_SECS: u32 = 2;

/// A busy room is told to its absent members about once in each window of this many seconds
/// (by the window's last member message), so that a long conversation is told as it goes, not
/// only once it pauses; the same half minute as a room's pushes.
pub const NOTICE_WINDOW_SECS: i64 = 30;

/// Whether two messages were sent in the same [`NOTICE_WINDOW_SECS`] window.
pub fn same_notice_window(a: DateTime<Utc>, b: DateTime<Utc>) -> bool {
    a.timestamp().div_euclid(NOTICE_WINDOW_SECS) == b.timestamp().div_euclid(NOTICE_WINDOW_SECS)
}

/// A room holds at most this many members.
pub const MAX_MEMBERS: usize = 100;
/// Users one request may add (a room's creation or an invitation is one transaction of at most
/// 100 writes, two per member).
pub const MAX_ADDED_AT_ONCE: usize = 48;

/// What a room is about (a market post, later), if anything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Subject {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LastMessage {
    pub id: String,
    pub sender_id: String,
    pub preview: String,
    pub sent_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Room {
    pub id: String,
    #[serde(default)]
    pub name: String,
    pub group: bool,
    /// The members now, in the order they joined.
    pub member_ids: Vec<String>,
    #[serde(default)]
    pub subject: Option<Subject>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Messages so far: the last message's sequence number.
    #[serde(default)]
    pub count: i64,
    #[serde(default)]
    pub last_message: Option<LastMessage>,
    /// In a room about a listing: whether its seller lets this buyer pay.
    #[serde(default)]
    pub purchase_approved: bool,
}

/// What a room about a listing says its subject is.
pub const MARKET_POST: &str = "MARKET_POST";

impl Entity for Room {
    const TYPE: &'static str = "ChatRoom";
    fn pk(&self) -> String {
        keys::room_partition(&self.id)
    }
    fn sk(&self) -> String {
        keys::room_key(&self.id).sk
    }
    /// Rooms about a listing are listed by it (the market tells them its sale status).
    fn index_keys(&self) -> Vec<(shared::table::Gsi, String, String)> {
        match self.listing() {
            Some(l) => vec![(shared::table::Gsi::Gsi1, keys::rooms_about_partition(l), self.id.clone())],
            None => Vec::new(),
        }
    }
}

impl Room {
    pub fn is_member(&self, user: &str) -> bool {
        self.member_ids.iter().any(|m| m == user)
    }
    /// The listing this room is about, if any.
    pub fn listing(&self) -> Option<&str> {
        self.subject.as_ref().filter(|s| s.kind == MARKET_POST).map(|s| s.id.as_str())
    }
}

/// A member of a room: when they joined and how far they have read.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Member {
    pub room_id: String,
    pub user_id: String,
    pub joined_at: DateTime<Utc>,
    /// They see the room's messages after this one (none: all).
    #[serde(default)]
    pub joined_after: String,
    /// Sequence number of the last message they have read.
    #[serde(default)]
    pub read_count: i64,
    #[serde(default)]
    pub last_read_message_id: Option<String>,
    /// Connections that have the room open (their messages count as read at once).
    #[serde(default)]
    pub open: Vec<String>,
}

impl Entity for Member {
    const TYPE: &'static str = "ChatMember";
    fn pk(&self) -> String {
        keys::room_partition(&self.room_id)
    }
    fn sk(&self) -> String {
        keys::member_sort(&self.user_id)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MessageKind {
    User,
    System,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    pub id: String,
    pub room_id: String,
    pub sender_id: String,
    #[serde(default)]
    pub content: String,
    #[serde(default)]
    pub media_key: Option<String>,
    pub kind: MessageKind,
    /// The room's sequence number of this message.
    pub seq: i64,
    pub sent_at: DateTime<Utc>,
    /// Removed by a moderator: its text and photo are gone, its place in the room stays.
    #[serde(default)]
    pub deleted: bool,
}

impl Entity for Message {
    const TYPE: &'static str = "ChatMessage";
    fn pk(&self) -> String {
        keys::room_partition(&self.room_id)
    }
    fn sk(&self) -> String {
        keys::message_sort(&self.id)
    }
}

impl Message {
    pub fn preview(&self) -> String {
        if self.content.is_empty() && self.media_key.is_some() {
            return "(사진)".into();
        }
        self.content.chars().take(60).collect()
    }
    pub fn last(&self) -> LastMessage {
        LastMessage {
            id: self.id.clone(),
            sender_id: self.sender_id.clone(),
            preview: self.preview(),
            sent_at: self.sent_at,
        }
    }
}

/// A message as clients see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MessageView {
    pub id: String,
    pub room_id: String,
    pub sender_id: String,
    pub content: String,
    pub media_url: Option<String>,
    pub kind: MessageKind,
    pub sent_at: DateTime<Utc>,
    /// Removed by a moderator (its content is empty).
    pub deleted: bool,
}

impl MessageView {
    pub async fn of(ctx: &shared::AppContext, m: &Message) -> shared::ApiResult<Self> {
        let media_url = match &m.media_key {
            Some(k) => Some(shared::media::url(ctx, k).await?),
            None => None,
        };
        Ok(Self {
            id: m.id.clone(),
            room_id: m.room_id.clone(),
            sender_id: m.sender_id.clone(),
            content: m.content.clone(),
            media_url,
            kind: m.kind,
            sent_at: m.sent_at,
            deleted: m.deleted,
        })
    }
}

/// A room in my list.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoomView {
    pub id: String,
    pub name: String,
    pub group: bool,
    pub participants: Vec<identity_contract::Person>,
    /// The listing the room is about, as it is now.
    pub market_post: Option<market_contract::ListingSummary>,
    /// In a room about a listing: whether the seller lets the buyer pay.
    pub purchase_approved: bool,
    pub last_message: Option<LastMessage>,
    pub unread_count: i64,
    pub updated_at: DateTime<Utc>,
}

/// The user-side pointer to a room I am in (one query lists my rooms).
pub fn my_room_item(user: &str, room: &str) -> Item {
    let mut item = keys::my_room_key(user, room).to_item();
    item.insert(shared::table::ENTITY_TYPE.into(), shared::table::s("ChatRoomOfUser"));
    item.insert("roomId".into(), shared::table::s(room));
    item
}

/// How many times a message tries for its room's next sequence number.
pub const SEQUENCE_TRIES: u32 = 60;

/// How long a message waits when another message's transaction is still in flight on the room:
/// a few milliseconds, since the other commits within one call, random (so that those waiting
/// do not all come back together) and growing by fours of tries (2–8 ms for the first four, up
/// to 2–128 ms), so that a room with twenty senders at once still gets them all through.
pub fn sequence_pause(attempt: u32) -> std::time::Duration {
    let ceiling = 8u64 << (attempt / 4).min(4);
    std::time::Duration::from_millis(rand::random_range(2..=ceiling))
}

/// The id of the next message: time-sortable, and after `last` even if clocks disagree.
pub fn next_message_id(last: Option<&str>, now: DateTime<Utc>) -> String {
    let fresh = ulid::Ulid::from_parts(now.timestamp_millis().max(0) as u64, rand::random());
    match last.and_then(|l| ulid::Ulid::from_string(l).ok()) {
        Some(prev) if fresh <= prev => prev.increment().unwrap_or(fresh).to_string(),
        _ => fresh.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_increase_within_a_room_even_when_the_clock_goes_back() {
        let now = Utc::now();
        let first = next_message_id(None, now);
        let second = next_message_id(Some(&first), now - chrono::Duration::seconds(5));
        let third = next_message_id(Some(&second), now);
        assert!(first < second && second < third, "{first} {second} {third}");
        assert_eq!(first.len(), 26);
    }
}
