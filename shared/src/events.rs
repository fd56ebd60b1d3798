//! Domain events that become notifications, published to the notifications queue. They are
//! small: who did what to which target, for whom; the worker decides what to store and send.

use serde::{Deserialize, Serialize};

use crate::context::AppContext;
use crate::error::{ApiError, ApiResult};
use crate::queues;

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

/// Publishes events (up to 10 per SQS call); self-notifications are dropped here already.
pub async fn publish(ctx: &AppContext, events: Vec<NotificationEvent>) -> ApiResult<()> {
    let events: Vec<_> = events.into_iter().filter(|e| e.actor_id != e.recipient_id).collect();
    for chunk in events.chunks(10) {
        let entries = chunk
            .iter()
            .enumerate()
            .map(|(i, e)| {
                aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder()
                    .id(format!("e{i}"))
                    .message_body(serde_json::to_string(e).unwrap_or_default())
                    .build()
                    .map_err(ApiError::internal)
            })
            .collect::<ApiResult<Vec<_>>>()?;
        let out = ctx
            .sqs
            .send_message_batch()
            .queue_url(ctx.config.queue_url(&queues::NOTIFICATIONS))
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| {
                ApiError::internal(format!("SQS SendMessageBatch: {}", aws_sdk_sqs::error::DisplayErrorContext(e)))
            })?;
        if !out.failed().is_empty() {
            return Err(ApiError::internal(format!("{} notification events were not queued", out.failed().len())));
        }
    }
    Ok(())
}
