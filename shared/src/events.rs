//! Domain events that become notifications, published to the notifications queue. They are
//! small: who did what to which target, for whom; the worker decides what to store and send.

use serde::{Deserialize, Serialize};

use crate::context::AppContext;
use crate::error::ApiResult;
use crate::queues;
use crate::table::Write;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum NotificationKind {
    Like,
    Comment,
    Reply,
    Mention,
    Follow,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationEvent {
    /// Unique per event; a redelivered event carries the same id, so it is stored once.
    pub event_id: String,
    pub kind: NotificationKind,
    pub actor_id: String,
    pub recipient_id: String,
    /// `POST`, `COMMENT` or `USER`.
    pub target_type: String,
    pub target_id: String,
    /// A short excerpt (a comment's first words), if any.
    #[serde(default)]
    pub excerpt: Option<String>,
}

/// The outbox writes that publish `events` when the transaction they join commits (see
/// [`crate::outbox`]); self-notifications are dropped here already.
pub fn outbox(ctx: &AppContext, events: Vec<NotificationEvent>) -> ApiResult<Vec<Write>> {
    events
        .into_iter()
        .filter(|e| e.actor_id != e.recipient_id)
        .map(|e| crate::outbox::message(ctx, &queues::NOTIFICATIONS, &e))
        .collect()
}
