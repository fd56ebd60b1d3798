//! The notifications contract: the message other domains commit (through the outbox) to have
//! someone notified. It is small: who did what to which target, for whom; the notifications
//! worker decides what to store and send.

pub mod keys;
pub mod notices;

use serde::{Deserialize, Serialize};

use shared::table::Write;
use shared::{ApiResult, AppContext};

/// Domain events that become notifications (likes, comments, follows, ...).
pub const NOTIFICATIONS: shared::queues::Queue =
    shared::queues::Queue { name: "notifications", visibility_timeout_secs: 30, max_receive_count: 3 };

/// Notices to an audience, one message per shard of the audience and page of it: the fan-out
/// worker stores one notification per member and queues the next page.
pub const NOTICES: shared::queues::Queue = shared::queues::Queue {
    name: "notices",
    visibility_timeout_secs: 120,
    // A page is a hundred deliveries: under throttling it may need more than a few tries.
    max_receive_count: 10,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum NotificationKind {
    Like,
    Comment,
    Reply,
    Mention,
    Follow,
    /// Messages in a chat room the recipient is not in (one unread item per room, collapsed).
    Chat,
    /// A payout request of the recipient's was paid or rejected (`excerpt`: the whole message).
    Payout,
    /// A refund request the recipient sent or was sent moved on (`excerpt`: the whole message).
    Refund,
    /// A listing of the recipient's was sold (`excerpt`: the start of its title).
    TradeSold,
    /// A care schedule's reminder (`excerpt`: the reminder's text; the actor is [`SYSTEM_ACTOR`]).
    HealthReminder,
    /// A prescription photo was read, or could not be (`excerpt`: what came of it).
    PrescriptionRead,
    /// The recipient's temporary block ended.
    AccountUnblocked,
    /// A moderator removed the recipient's content (`excerpt`: the reason given).
    ContentRemoved,
    /// A report the recipient filed was decided (`excerpt`: the outcome).
    ReportDecided,
    /// A comment on the recipient's community post, or a reply to their community comment
    /// (`excerpt`: its first words).
    Community,
    /// Influencer marketing: an approval, a decision on an ad, an application or a review
    /// (`excerpt`: the whole message).
    Campaign,
    /// An administrators' notice (stored by the notice fan-out, never sent as an event).
    Notice,
}

/// The actor of notifications nobody caused (reminders, notices).
pub const SYSTEM_ACTOR: &str = "SYSTEM";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationEvent {
    /// Unique per event; a redelivered event carries the same id, so it is stored once.
    pub event_id: String,
    pub kind: NotificationKind,
    pub actor_id: String,
    pub recipient_id: String,
    /// `POST`, `COMMENT`, `USER`, `MARKET_POST`, `CHAT_MESSAGE`, `REPORT`, `NOTICE`, …
    pub target_type: String,
    pub target_id: String,
    /// A short excerpt (a comment's first words), if any.
    #[serde(default)]
    pub excerpt: Option<String>,
}

/// A message in a chat room, for the members who are not in the room (chat finds them and sends
/// this through the outbox): each gets one CHAT item per room, collapsed, with the latest
/// message and how many they have not read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatNotice {
    pub room_id: String,
    pub message_id: String,
    /// The message's sequence number in the room: a later one replaces this one's item.
    pub seq: i64,
    pub sender_id: String,
    /// The message's first characters.
    pub excerpt: String,
    pub recipients: Vec<ChatRecipient>,
}

/// A member not in the room, and the messages of it they have not read (this one included).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatRecipient {
    pub user_id: String,
    pub unread: i64,
}

/// A member read a chat room up to `readSeq`: their CHAT item for the room goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatRoomRead {
    pub room_id: String,
    pub reader_id: String,
    pub read_seq: i64,
}

/// The characters of a chat message a CHAT notification shows.
pub const CHAT_EXCERPT_CHARS: usize = 40;

/// The write that queues `notice` for the notifications worker.
pub fn chat_notice(ctx: &AppContext, notice: &ChatNotice) -> ApiResult<Write> {
    shared::outbox::message(ctx, &NOTIFICATIONS, notice)
}

/// The write that has `reader`'s CHAT item for `room` cleared. Worth sending only while the
/// item read at [`keys::chat_notice_key`] exists and counts to `read_seq` or before
/// ([`chat_notice_covered`]).
pub fn chat_read(ctx: &AppContext, read: &ChatRoomRead) -> ApiResult<Write> {
    shared::outbox::message(ctx, &NOTIFICATIONS, read)
}

/// Whether the CHAT item read at [`keys::chat_notice_key`] is there and counts no message after
/// `read_seq` (so reading up to it clears the item).
pub fn chat_notice_covered(item: Option<&shared::table::Item>, read_seq: i64) -> bool {
    matches!(
        item.and_then(|i| i.get("lastSeq")),
        Some(shared::table::AttrValue::N(n)) if n.parse::<i64>().is_ok_and(|last| last <= read_seq)
    )
}

/// The outbox writes that publish `events` when the transaction they join commits (see
/// [`shared::outbox`]); self-notifications are dropped here already.
pub fn outbox(ctx: &AppContext, events: Vec<NotificationEvent>) -> ApiResult<Vec<Write>> {
    events
        .into_iter()
        .filter(|e| e.actor_id != e.recipient_id)
        .map(|e| shared::outbox::message(ctx, &NOTIFICATIONS, &e))
        .collect()
}

/// The outbox write that tells `author` a moderator removed their content (`removal`), keyed by
/// the removal's id: told once however often the removal is delivered.
pub fn content_removed(
    ctx: &AppContext,
    removal: &moderation_contract::moderation::Removal,
    author: &str,
) -> ApiResult<Vec<Write>> {
    outbox(
        ctx,
        vec![NotificationEvent {
            event_id: format!("removed-{}", removal.id),
            kind: NotificationKind::ContentRemoved,
            actor_id: SYSTEM_ACTOR.into(),
            recipient_id: author.to_string(),
            target_type: removal.target_type.as_str().into(),
            target_id: removal.target_id.clone(),
            excerpt: Some(removal.reason.clone()),
        }],
    )
}
