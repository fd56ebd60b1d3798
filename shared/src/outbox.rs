//! The transactional outbox. A fact and the messages it causes are committed in the same
//! `TransactWriteItems`: each message is an item of its own, which the table's stream hands to
//! the outbox relay (a stream consumer), which sends it to its queue. So a message exists if and
//! only if its fact does: a crash after the commit delays it, and never loses or invents it.
//!
//! Delivery is at least once (a relay that dies after sending is invoked again with the same
//! records), so every consumer is idempotent on the message's own id.
//!
//! | item | PK | SK | notes |
//! |---|---|---|---|
//! | outbox message | `OUTBOX#<id>` | `MESSAGE` | TTL one day: only its stream record matters |

use serde::{Deserialize, Serialize};

use crate::context::AppContext;
use crate::error::{ApiError, ApiResult};
use crate::queues::Queue;
use crate::table::{Entity, Write};

/// How long a relayed message item is kept (its stream record is what the relay reads).
const KEEP_SECS: i64 = 24 * 3600;

/// One message waiting to be relayed to its queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutboxMessage {
    pub id: String,
    /// The queue's logical name ([`Queue::name`]).
    pub queue: String,
    /// The message body, JSON.
    pub body: String,
    pub expires: i64,
}

impl Entity for OutboxMessage {
    const TYPE: &'static str = "OutboxMessage";
    fn pk(&self) -> String {
        crate::keys::outbox_partition(&self.id)
    }
    fn sk(&self) -> String {
        "MESSAGE".into()
    }
    fn expires_at(&self) -> Option<i64> {
        Some(self.expires)
    }
}

/// Every queue an outbox message can name: each of the product's queues but the outbox's own,
/// which carries nothing. The relay's policy is made from this list, so a message put on a new
/// queue through the outbox can always be relayed.
pub fn targets() -> impl Iterator<Item = &'static Queue> {
    crate::queues::ALL.iter().filter(|q| q.name != crate::queues::OUTBOX.name)
}

/// The write that queues `body` on `queue` when the transaction it joins commits.
pub fn message<T: Serialize>(ctx: &AppContext, queue: &'static Queue, body: &T) -> ApiResult<Write> {
    let now = ctx.now();
    let msg = OutboxMessage {
        id: crate::ids::new_id(now),
        queue: queue.name.to_string(),
        body: serde_json::to_string(body)?,
        expires: now.timestamp() + KEEP_SECS,
    };
    Ok(Write::put(&msg)?.if_absent(ApiError::internal("outbox id collision")))
}

/// The outbox message a stream record's new image holds, if it is one.
pub fn from_image(image: serde_dynamo::Item) -> Option<OutboxMessage> {
    match image.get(crate::table::ENTITY_TYPE) {
        Some(serde_dynamo::AttributeValue::S(t)) if t == OutboxMessage::TYPE => serde_dynamo::from_item(image).ok(),
        _ => None,
    }
}
