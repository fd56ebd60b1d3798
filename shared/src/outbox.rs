//! The transactional outbox. A fact and the messages it causes are committed in the same
//! `TransactWriteItems`: each message is an item of its own, which the table's stream hands to
//! the outbox relay (a stream consumer), which sends it to its queue. So a message exists if and
//! only if its fact does: a crash after the commit delays it, and never loses or invents it.
//!
//! Delivery is at least once (a relay that dies after sending is invoked again with the same
//! records), so every consumer is idempotent on the message's own id.
//!
//! A message item stays in the table until its message is sent: the relay deletes what it sent.
//! When the relay gives up on a record (its queue refused it through every retry), the stream
//! keeps the record only 24 hours and the failure destination learns only where it was; so the
//! re-send job (`outbox-resend`) finds messages still pending after a few minutes through the
//! pending index and sends them itself.
//!
//! | item | PK | SK | notes |
//! |---|---|---|---|
//! | outbox message | `OUTBOX#<id>` | `MESSAGE` | GSI1 `OUTBOX#PENDING#<shard>` / `<id>`; deleted once sent |

use serde::{Deserialize, Serialize};

use crate::context::AppContext;
use crate::error::{ApiError, ApiResult};
use crate::queues::Queue;
use crate::table::{Entity, Gsi, Query, SortKey, Write};

/// How many index partitions pending messages spread over.
pub const PENDING_SHARDS: u32 = 8;

/// How old a pending message is before the re-send job takes it from the relay.
pub const RESEND_AFTER_SECS: i64 = 5 * 60;

/// One message waiting to be relayed to its queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutboxMessage {
    pub id: String,
    /// The queue's logical name ([`Queue::name`]).
    pub queue: String,
    /// The message body, JSON.
    pub body: String,
    /// Seconds the queue keeps the message from its consumer once relayed (`DelaySeconds`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_secs: Option<u32>,
}

impl OutboxMessage {
    fn shard(&self) -> u32 {
        self.id.bytes().map(u32::from).sum::<u32>() % PENDING_SHARDS
    }
}

impl Entity for OutboxMessage {
    const TYPE: &'static str = "OutboxMessage";
    fn pk(&self) -> String {
        crate::keys::outbox_partition(&self.id)
    }
    fn sk(&self) -> String {
        crate::keys::outbox_key(&self.id).sk
    }
    fn index_keys(&self) -> Vec<(Gsi, String, String)> {
        vec![(Gsi::Gsi1, crate::keys::outbox_pending_partition(self.shard()), self.id.clone())]
    }
}

/// Every queue an outbox message can name: each of the product's queues
/// ([`crate::routes::queues`]) but the outbox's own, which carries nothing. The relay's policy is
/// made from this list, so a message put on a new queue through the outbox can always be relayed.
pub fn targets<'a>(queues: &'a [&'static Queue]) -> impl Iterator<Item = &'static Queue> + 'a {
    queues.iter().copied().filter(|q| q.name != crate::queues::OUTBOX.name)
}

/// The write that queues `body` on `queue` when the transaction it joins commits.
pub fn message<T: Serialize>(ctx: &AppContext, queue: &'static Queue, body: &T) -> ApiResult<Write> {
    message_to(ctx, queue.name, serde_json::to_string(body)?, None)
}

/// The same, for a message its consumer should see only `delay_secs` (at most 900) after the
/// commit: SQS's `DelaySeconds`, set when the relay sends it.
pub fn message_later<T: Serialize>(
    ctx: &AppContext,
    queue: &'static Queue,
    body: &T,
    delay_secs: u32,
) -> ApiResult<Write> {
    message_to(ctx, queue.name, serde_json::to_string(body)?, Some(delay_secs.min(900)))
}

/// The writes that put `event` on every queue subscribed to `topic` when the transaction they
/// join commits (none while nobody subscribes).
pub fn publish<T: Serialize>(ctx: &AppContext, topic: &crate::events::Topic, event: &T) -> ApiResult<Vec<Write>> {
    let body = serde_json::to_string(event)?;
    ctx.config.subscribers(topic).iter().map(|queue| message_to(ctx, queue, body.clone(), None)).collect()
}

fn message_to(ctx: &AppContext, queue: &str, body: String, delay_secs: Option<u32>) -> ApiResult<Write> {
    let msg = OutboxMessage { id: crate::ids::new_id(ctx.now()), queue: queue.to_string(), body, delay_secs };
    Ok(Write::put(&msg)?.if_absent(ApiError::internal("outbox id collision")))
}

/// The outbox message a stream record's new image holds, if it is one.
pub fn from_image(image: serde_dynamo::Item) -> Option<OutboxMessage> {
    match image.get(crate::table::ENTITY_TYPE) {
        Some(serde_dynamo::AttributeValue::S(t)) if t == OutboxMessage::TYPE => serde_dynamo::from_item(image).ok(),
        _ => None,
    }
}

/// Sends one message to its queue.
pub async fn send(ctx: &AppContext, message: &OutboxMessage) -> Result<(), String> {
    let url = ctx.config.queue_url_named(&message.queue).ok_or_else(|| format!("no queue named {}", message.queue))?;
    ctx.sqs
        .send_message()
        .queue_url(url)
        .message_body(&message.body)
        .set_delay_seconds(message.delay_secs.and_then(|d| i32::try_from(d).ok()))
        .send()
        .await
        .map_err(|e| format!("SQS SendMessage: {}", aws_sdk_sqs::error::DisplayErrorContext(e)))?;
    Ok(())
}

/// Deletes the items of messages that were sent (one BatchWriteItem per 25).
pub async fn mark_sent(ctx: &AppContext, ids: &[String]) -> ApiResult<()> {
    let deletes = ids.iter().map(|id| crate::table::Write::delete(crate::keys::outbox_key(id)));
    ctx.table.batch_write(deletes.collect()).await
}

/// Messages of one shard still pending that were committed before `before` (oldest first).
pub async fn pending_before(
    ctx: &AppContext,
    shard: u32,
    before: chrono::DateTime<chrono::Utc>,
    limit: usize,
) -> ApiResult<Vec<OutboxMessage>> {
    // A message id starts with its commit time: the smallest id of that instant bounds them.
    let bound: String = crate::ids::new_id(before).chars().take(10).chain(std::iter::repeat_n('0', 16)).collect();
    let q = Query::partition(crate::keys::outbox_pending_partition(shard))
        .index(Gsi::Gsi1)
        .sort(SortKey::Before(bound))
        .limit(limit.min(100));
    ctx.table.query_items_all(&q, Some(limit)).await?.into_iter().map(OutboxMessage::from_item).collect()
}
