//! The Web Push worker: a stored notification reaches the recipient's browsers while no
//! connection of theirs is live (a live one got it over the WebSocket already).
//!
//! The notification worker queues one [`PushJob`] per notification, in the transaction that
//! stores it, when the recipient's push switch for its type is on and they have a subscription.
//! Here each subscription gets the encrypted payload. A push service answering 404 or 410
//! removes the subscription. 429 and 5xx make the job come again, not before the longest
//! `Retry-After` (or with the queue's backoff); the subscriptions it reached are marked
//! delivered, so the retry skips them.

use std::sync::Arc;

use notifications_contract::NotificationKind;
use serde::{Deserialize, Serialize};
use shared::AppContext;
use shared::routes::{Function, Permission, Worker};
use shared::table::{TTL_ATTRIBUTE, Write, n};
use shared::worker::MessageError;

use crate::keys::push_sent_key;
use crate::subscriptions::{self, PushSubscription};
use crate::webpush::{self, ClientKeys, Delivery, Push, Urgency, Vapid};

/// Notifications to push to browsers.
pub const WEB_PUSH: shared::queues::Queue =
    shared::queues::Queue { name: "web-push", visibility_timeout_secs: 60, max_receive_count: 6 };

pub static PUSH_WORKER: Function = Function::worker(
    "web-push-worker",
    crate::PKG,
    Worker {
        name: "web-push",
        queue: &WEB_PUSH,
        batch_size: 10,
        handler: shared::consumer!(handle),
        summary: "Pushes notifications to the recipient's browsers (Web Push) while no connection of theirs is live",
        example: r#"{"notificationId":"01JD3K4Q5R6S7T8V9W0XYZABCD","recipientId":"01JD3K4Q5R6S7T8V9W0XYZABCG","kind":"TRADE_SOLD","title":"판매 완료","body":"고양이 캣…이 판매되었습니다!","targetType":"MARKET_POST","targetId":"01JD3K4Q5R6S7T8V9W0XYZABCE"}"#,
    },
)
.permissions(&[Permission::TableRead, Permission::TableWrite])
.settings(&[&webpush::VAPID_KEY]);

/// One notification to push.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PushJob {
    pub notification_id: String,
    pub recipient_id: String,
    pub kind: NotificationKind,
    pub title: String,
    pub body: String,
    pub target_type: String,
    pub target_id: String,
    /// Pushes with the same topic replace each other on the push service (a chat room's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
}

/// What the service worker receives (decrypted): enough to show the notification and open it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Payload<'a> {
    notification_id: &'a str,
    #[serde(rename = "type")]
    kind: NotificationKind,
    title: &'a str,
    body: &'a str,
    target_type: &'a str,
    target_id: &'a str,
}

/// Push services take 4 KB of payload: the body is cut well within it.
const MAX_BODY_CHARS: usize = 500;
/// How long a subscription's "delivered" mark is kept: longer than any retry.
const SENT_MARK_SECS: i64 = 24 * 3600;
/// The longest wait a `Retry-After` may ask for (SQS keeps a message invisible up to 12 hours;
/// a push later than this is not worth much).
const MAX_RETRY_AFTER_SECS: u32 = 900;

/// How long the push service keeps a push for an offline device, and how urgent it is.
pub fn delivery_of(kind: NotificationKind) -> (u32, Urgency) {
    match kind {
        NotificationKind::HealthReminder => (3600, Urgency::High),
        NotificationKind::Chat => (24 * 3600, Urgency::High),
        NotificationKind::TradeSold => (24 * 3600, Urgency::High),
        NotificationKind::Payout | NotificationKind::Refund => (3 * 24 * 3600, Urgency::Normal),
        NotificationKind::Campaign | NotificationKind::PrescriptionRead => (3 * 24 * 3600, Urgency::Normal),
        NotificationKind::AccountUnblocked
        | NotificationKind::ContentRemoved
        | NotificationKind::ReportDecided
        | NotificationKind::Notice => (3 * 24 * 3600, Urgency::Normal),
        NotificationKind::Like
        | NotificationKind::Comment
        | NotificationKind::Reply
        | NotificationKind::Mention
        | NotificationKind::Follow
        | NotificationKind::Community => (24 * 3600, Urgency::Low),
    }
}

pub async fn handle(ctx: Arc<AppContext>, job: PushJob) -> Result<(), MessageError> {
    let Some(vapid) = ctx.provider::<Vapid>()? else {
        return Ok(()); // push is off here
    };
    // The recipient's live connections and their subscriptions; then which of those this
    // job reached already (a retry).
    let connections = shared::push::user_connections_key(&job.recipient_id);
    let (listed, subs) =
        tokio::try_join!(ctx.table.get_item(&connections), subscriptions::of_user(&ctx, &job.recipient_id),)?;
    if !shared::push::live_in(listed.as_ref(), ctx.now().timestamp()).is_empty() {
        return Ok(());
    }
    let now = ctx.now();
    let (expired, subs): (Vec<_>, Vec<_>) = subs.into_iter().partition(|s| s.expired(now));
    for sub in &expired {
        remove(&ctx, sub).await?;
    }
    if subs.is_empty() {
        return Ok(());
    }
    let marks: Vec<_> = subs.iter().map(|s| push_sent_key(&job.notification_id, &s.id)).collect();
    let sent = ctx.table.batch_get_items(&marks).await?;
    let todo: Vec<&PushSubscription> = subs.iter().zip(sent).filter(|(_, m)| m.is_none()).map(|(s, _)| s).collect();

    let body: String = job.body.chars().take(MAX_BODY_CHARS).collect();
    let payload = serde_json::to_vec(&Payload {
        notification_id: &job.notification_id,
        kind: job.kind,
        title: &job.title,
        body: &body,
        target_type: &job.target_type,
        target_id: &job.target_id,
    })
    .map_err(|e| MessageError::Permanent(e.to_string()))?;
    let (ttl_secs, urgency) = delivery_of(job.kind);
    let push = Push { payload: &payload, ttl_secs, urgency, topic: job.topic.as_deref() };
    let results = futures::future::join_all(todo.iter().map(|sub| async {
        let Some(keys) = ClientKeys::parse(&sub.p256dh, &sub.auth) else { return Ok(Delivery::Gone) };
        webpush::send(&ctx, &vapid, &sub.endpoint, &keys, &push).await
    }))
    .await;

    let (mut delivered, mut later) = (Vec::new(), None::<Option<u32>>);
    for (sub, result) in todo.iter().zip(results) {
        match result.map_err(MessageError::Retry)? {
            Delivery::Accepted => delivered.push(sub),
            Delivery::Gone => remove(&ctx, sub).await?,
            Delivery::Refused(_) => {}
            Delivery::Later(after) => later = Some(later.flatten().max(after)),
        }
    }
    if !delivered.is_empty() {
        let expires = n(now.timestamp() + SENT_MARK_SECS);
        let marks = delivered
            .iter()
            .map(|sub| {
                let mut item = push_sent_key(&job.notification_id, &sub.id).to_item();
                item.insert(TTL_ATTRIBUTE.into(), expires.clone());
                Write::put_item(item)
            })
            .collect();
        ctx.table.batch_write(marks).await?;
    }
    match later {
        None => Ok(()),
        Some(Some(after)) => Err(MessageError::RetryAfter {
            after_secs: after.clamp(1, MAX_RETRY_AFTER_SECS),
            reason: "a push service asked to wait".into(),
        }),
        Some(None) => Err(MessageError::Retry("a push service was busy or did not answer".into())),
    }
}

/// Whether the subscriptions' count item read at [`crate::keys::push_count_key`] counts any.
pub fn has_subscriptions(count: Option<&Option<shared::table::Item>>) -> bool {
    matches!(
        count.and_then(Option::as_ref).and_then(|item| item.get("count")),
        Some(shared::table::AttrValue::N(c)) if c.parse::<i64>().is_ok_and(|c| c > 0)
    )
}

/// Removes a subscription that can take no more pushes (gone, expired), unless it moved.
async fn remove(ctx: &AppContext, sub: &PushSubscription) -> Result<(), MessageError> {
    match ctx.table.transact(subscriptions::removal(&sub.user_id, &sub.id)).await {
        Err(e) if !e.is(&crate::error::NotificationError::SubscriptionNotFound) => Err(e.into()),
        _ => {
            tracing::info!(subscription = %sub.id, "a push subscription ended");
            Ok(())
        }
    }
}
