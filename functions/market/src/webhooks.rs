//! Toss Payments' webhooks, `POST /payments/webhooks/toss`.
//!
//! Toss sends `PAYMENT_STATUS_CHANGED` (`{eventType, createdAt, data: Payment}`) whenever a
//! payment's status moves, and `DEPOSIT_CALLBACK` (`{createdAt, secret, status, orderId,
//! transactionKey}`) when a virtual account is paid into. Neither is signed, so neither body is
//! believed: the endpoint only queues which payment to look at (through the outbox) and
//! answers 200 at once; the worker asks Toss for the payment by its key and acts on what Toss
//! says ([`crate::payments::reconcile`]). A deposit callback must also carry the payment's
//! `secret` from confirm time, or it is dropped. Every move is conditional on the order as
//! stored, so redelivered and out-of-order events change nothing twice.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use shared::handler::{Json, Okay};
use shared::routes::{Access, Function, Method, Permission, Worker, said};
use shared::validate::{Validate, Validator};
use shared::worker::MessageError;
use shared::{ApiResult, AppContext, handler};
use utoipa::ToSchema;

use crate::PKG;
use crate::keys;
use crate::payments::{Order, secret_hash};
use crate::toss;

/// What a webhook asked to be looked at, for the worker.
pub const TOSS_EVENTS: shared::queues::Queue =
    shared::queues::Queue { name: "toss-events", visibility_timeout_secs: 60, max_receive_count: 10 };

pub static WEBHOOK: Function = Function::http(
    Method::Post,
    "/payments/webhooks/toss",
    "market-toss-webhook",
    PKG,
    Access::Public,
    handler!(receive),
)
.permissions(&[Permission::TableWrite])
.doc("market", "Toss Payments' webhooks (PAYMENT_STATUS_CHANGED, DEPOSIT_CALLBACK): noted at once, acted on by asking Toss")
.example(r#"{"eventType":"PAYMENT_STATUS_CHANGED","createdAt":"2026-12-07T12:00:00.000","data":{"paymentKey":"tgen_20241122abcdef","orderId":"01JD3K4Q5R6S7T8V9W0XYZABCD","status":"DONE"}}"#)
.responses(&[said(200, "Received (events of other types are acknowledged and ignored).")])
.errors(&[400]);

pub static WORKER: Function = Function::worker(
    "market-toss-events-worker",
    PKG,
    Worker {
        name: "toss-events",
        queue: &TOSS_EVENTS,
        batch_size: 10,
        handler: shared::consumer!(handle),
        summary: "Acts on Toss's webhooks by asking Toss for the payment: deposits complete sales, closed accounts release listings",
        example: r#"{"type":"PAYMENT","paymentKey":"tgen_20241122abcdef"}"#,
    },
)
.permissions(&[Permission::TableRead, Permission::TableWrite, Permission::ManageConnections])
.settings(toss::SETTINGS)
.timeout(60);

/// The fields of Toss's webhook bodies the endpoint reads (both kinds; the rest is ignored).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TossWebhook {
    /// `PAYMENT_STATUS_CHANGED`, `DEPOSIT_CALLBACK`, …; a deposit callback may come without it.
    #[serde(default)]
    pub event_type: Option<String>,
    #[serde(default)]
    pub data: Option<WebhookData>,
    /// DEPOSIT_CALLBACK: the payment's secret from confirm time.
    #[serde(default)]
    pub secret: Option<String>,
    /// DEPOSIT_CALLBACK: the order paid into.
    #[serde(default)]
    pub order_id: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookData {
    #[serde(default)]
    pub payment_key: Option<String>,
    #[serde(default)]
    pub order_id: Option<String>,
    #[serde(default)]
    pub secret: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
}

fn is_key(s: &str) -> bool {
    (1..=200).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl Validate for TossWebhook {
    fn validate(&self, v: &mut Validator) {
        if let Some(k) = self.data.as_ref().and_then(|d| d.payment_key.as_deref()) {
            v.check(is_key(k), "data.paymentKey", "INVALID_FORMAT", "a Toss payment key");
        }
        for id in
            [self.order_id.as_deref(), self.data.as_ref().and_then(|d| d.order_id.as_deref())].into_iter().flatten()
        {
            v.check(id.len() <= 64, "orderId", "INVALID_FORMAT", "an order id");
        }
        for s in [self.secret.as_deref(), self.data.as_ref().and_then(|d| d.secret.as_deref())].into_iter().flatten() {
            v.check(s.len() <= 200, "secret", "INVALID_FORMAT", "the payment's secret");
        }
    }
}

/// What the worker is to look at.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TossEvent {
    /// A payment's status changed: ask Toss for it.
    #[serde(rename_all = "camelCase")]
    Payment { payment_key: String },
    /// A virtual account was paid into (or closed): the order's payment, if the secret is its.
    #[serde(rename_all = "camelCase")]
    Deposit { order_id: String, secret: String },
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookReceived {
    pub received: bool,
}

impl TossWebhook {
    /// The event to act on, if the body names one this product handles.
    fn event(self) -> Option<TossEvent> {
        let kind = self
            .event_type
            .clone()
            .unwrap_or_else(|| if self.secret.is_some() { "DEPOSIT_CALLBACK".into() } else { String::new() });
        match kind.as_str() {
            "PAYMENT_STATUS_CHANGED" => {
                self.data.and_then(|d| d.payment_key).map(|payment_key| TossEvent::Payment { payment_key })
            }
            "DEPOSIT_CALLBACK" => {
                let (data_order, data_secret) = match self.data {
                    Some(d) => (d.order_id, d.secret),
                    None => (None, None),
                };
                let order_id = self.order_id.or(data_order)?;
                let secret = self.secret.or(data_secret)?;
                shared::ids::is_valid_id(&order_id).then_some(TossEvent::Deposit { order_id, secret })
            }
            _ => None,
        }
    }
}

pub async fn receive(ctx: Arc<AppContext>, Json(body): Json<TossWebhook>) -> ApiResult<Okay<WebhookReceived>> {
    if let Some(event) = body.event() {
        ctx.table.write(shared::outbox::message(&ctx, &TOSS_EVENTS, &event)?).await?;
    }
    Ok(Okay(WebhookReceived { received: true }))
}

pub async fn handle(ctx: Arc<AppContext>, event: TossEvent) -> Result<(), MessageError> {
    let (order, key) = match event {
        TossEvent::Payment { payment_key } => {
            let payment = match toss::lookup(&ctx, &payment_key).await {
                Ok(Some(p)) => p,
                // Toss knows no such payment: a forged or stray event.
                Ok(None) => return Ok(()),
                Err(why) => return Err(MessageError::Retry(format!("Toss did not answer: {why:?}"))),
            };
            if !shared::ids::is_valid_id(&payment.order_id) {
                return Ok(());
            }
            let Some(order) = ctx.table.get::<Order>(&keys::order_key(&payment.order_id)).await? else { return Ok(()) };
            return crate::payments::reconcile(&ctx, order, payment).await.map_err(Into::into);
        }
        TossEvent::Deposit { order_id, secret } => {
            let Some(order) = ctx.table.get::<Order>(&keys::order_key(&order_id)).await? else { return Ok(()) };
            // Hashes are compared, so the comparison's timing tells nothing of the secret.
            if order.deposit_secret_hash.as_deref() != Some(secret_hash(&secret).as_str()) {
                tracing::warn!(order = %order_id, "a deposit callback without the payment's secret was dropped");
                return Ok(());
            }
            let key = order.payment_key.clone().unwrap_or_default();
            (order, key)
        }
    };
    match toss::lookup(&ctx, &key).await {
        Ok(Some(payment)) => crate::payments::reconcile(&ctx, order, payment).await.map_err(Into::into),
        Ok(None) => Ok(()),
        Err(why) => Err(MessageError::Retry(format!("Toss did not answer: {why:?}"))),
    }
}
