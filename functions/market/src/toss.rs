//! Toss Payments' core API (v1), as documented: confirm a payment, look one up by its payment key,
//! cancel one. Basic auth with the secret key (`<secretKey>:`); POSTs carry an `Idempotency-Key`
//! so that a repeated call is done once. The base URL is configuration: the real API in
//! production, the local stack's sandbox on a laptop.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use shared::config::{ConfigError, ProviderSettings, Setting, Settings};
use shared::{ApiError, AppContext};

pub const SECRET_KEY: Setting =
    Setting::secret("TOSS_SECRET_KEY", "TossSecretKey", "Toss Payments secret key (empty: market payments off)");
pub const API_BASE: Setting =
    Setting::public("TOSS_API_BASE", "TossApiBase", "Toss Payments API base URL", "https://api.tosspayments.com");

/// What the payment functions read.
pub const SETTINGS: &[&Setting] = &[&SECRET_KEY, &API_BASE];

/// Toss Payments' API: the secret key (Basic auth), where the API is, and how long a call may
/// take (`TOSS_TIMEOUT_MS`) before the payment is left to be settled by asking.
#[derive(Clone)]
pub struct TossPayments {
    pub secret_key: String,
    /// `https://api.tosspayments.com` in production; the sandbox locally.
    pub api_base: String,
    pub timeout_ms: u64,
}

impl std::fmt::Debug for TossPayments {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TossPayments").field("secret_key", &"<hidden>").field("api_base", &self.api_base).finish()
    }
}

impl ProviderSettings for TossPayments {
    fn read(settings: &Settings) -> Result<Option<Self>, ConfigError> {
        let Some(secret_key) = settings.get(SECRET_KEY.env_var) else { return Ok(None) };
        Ok(Some(TossPayments {
            secret_key,
            api_base: settings
                .get(API_BASE.env_var)
                .unwrap_or_else(|| "https://api.tosspayments.com".into())
                .trim_end_matches('/')
                .to_string(),
            timeout_ms: timeout_ms(settings)?,
        }))
    }
}

/// A call's limit: 10 s unless `TOSS_TIMEOUT_MS` says otherwise.
fn timeout_ms(settings: &Settings) -> Result<u64, ConfigError> {
    match settings.get("TOSS_TIMEOUT_MS") {
        None => Ok(10_000),
        Some(v) => v.parse::<u64>().ok().filter(|n| (100..=60_000).contains(n)).ok_or(ConfigError::Invalid {
            name: "TOSS_TIMEOUT_MS",
            reason: "milliseconds between 100 and 60000".into(),
        }),
    }
}

/// A payment as Toss describes it (the fields the market keeps).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Payment {
    pub payment_key: String,
    pub order_id: String,
    /// `READY`, `IN_PROGRESS`, `DONE`, `CANCELED`, `ABORTED`, `EXPIRED`, …
    pub status: String,
    #[serde(default)]
    pub method: Option<String>,
    pub total_amount: i64,
    #[serde(default)]
    pub approved_at: Option<String>,
    /// For a virtual account: the secret a deposit callback carries.
    #[serde(default)]
    pub secret: Option<String>,
    #[serde(default)]
    pub virtual_account: Option<VirtualAccountInfo>,
}

/// The virtual account of a payment, as Toss describes it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VirtualAccountInfo {
    pub account_number: String,
    pub bank_code: String,
    #[serde(default)]
    pub customer_name: String,
    /// ISO 8601 with an offset (`2026-12-14T23:59:59+09:00`).
    pub due_date: String,
}

/// Why a call did not give a payment.
#[derive(Debug, Clone)]
pub enum Failure {
    /// Toss answered with its documented error body: it decided, and said no.
    Refused { status: u16, code: String, message: String },
    /// No answer, or a server error: what happened is unknown until asked again.
    NoAnswer(String),
}

#[derive(Deserialize)]
struct ErrorBody {
    code: String,
    #[serde(default)]
    message: String,
}

pub fn config(ctx: &AppContext) -> Result<std::sync::Arc<TossPayments>, ApiError> {
    ctx.provider::<TossPayments>()?.ok_or_else(|| ApiError::Unavailable {
        code: "PAYMENTS_UNAVAILABLE",
        detail: "Payments are not configured here.".into(),
    })
}

/// How long a call to Toss may take (the default when payments are off).
pub fn timeout(ctx: &AppContext) -> Duration {
    let ms = config(ctx).map(|t| t.timeout_ms).unwrap_or(10_000);
    Duration::from_millis(ms)
}

async fn call(ctx: &AppContext, req: reqwest::RequestBuilder) -> Result<Payment, Failure> {
    let res = req
        .timeout(timeout(ctx))
        .send()
        .await
        .map_err(|e| Failure::NoAnswer(if e.is_timeout() { "timed out".into() } else { e.to_string() }))?;
    let status = res.status();
    let body = res.bytes().await.map_err(|e| Failure::NoAnswer(e.to_string()))?;
    if status.is_success() {
        return serde_json::from_slice(&body).map_err(|e| Failure::NoAnswer(format!("unreadable payment: {e}")));
    }
    if status.is_server_error() {
        return Err(Failure::NoAnswer(format!("answered {status}")));
    }
    match serde_json::from_slice::<ErrorBody>(&body) {
        Ok(e) => Err(Failure::Refused { status: status.as_u16(), code: e.code, message: e.message }),
        Err(_) => Err(Failure::NoAnswer(format!("answered {status} without an error body"))),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Confirm<'a> {
    payment_key: &'a str,
    order_id: &'a str,
    amount: i64,
}

/// `POST /v1/payments/confirm`, idempotent by the order id.
pub async fn confirm(ctx: &AppContext, payment_key: &str, order_id: &str, amount: i64) -> Result<Payment, Failure> {
    let toss = config(ctx).map_err(|e| Failure::NoAnswer(e.to_string()))?;
    let req = ctx
        .http
        .post(format!("{}/v1/payments/confirm", toss.api_base))
        .basic_auth(&toss.secret_key, None::<&str>)
        .header("Idempotency-Key", format!("confirm-{order_id}"))
        .json(&Confirm { payment_key, order_id, amount });
    call(ctx, req).await
}

/// `GET /v1/payments/{paymentKey}`; `Ok(None)` when Toss knows no such payment.
pub async fn lookup(ctx: &AppContext, payment_key: &str) -> Result<Option<Payment>, Failure> {
    let toss = config(ctx).map_err(|e| Failure::NoAnswer(e.to_string()))?;
    let key: String = url_segment(payment_key);
    let req = ctx.http.get(format!("{}/v1/payments/{key}", toss.api_base)).basic_auth(&toss.secret_key, None::<&str>);
    match call(ctx, req).await {
        Ok(p) => Ok(Some(p)),
        Err(Failure::Refused { status: 404, .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Cancel<'a> {
    cancel_reason: &'a str,
}

/// `POST /v1/payments/{paymentKey}/cancel` (the whole amount), idempotent by the order id. A
/// virtual account waiting for its deposit is closed the same way.
pub async fn cancel(ctx: &AppContext, payment_key: &str, order_id: &str, reason: &str) -> Result<Payment, Failure> {
    let toss = config(ctx).map_err(|e| Failure::NoAnswer(e.to_string()))?;
    let key = url_segment(payment_key);
    let req = ctx
        .http
        .post(format!("{}/v1/payments/{key}/cancel", toss.api_base))
        .basic_auth(&toss.secret_key, None::<&str>)
        .header("Idempotency-Key", format!("cancel-{order_id}"))
        .json(&Cancel { cancel_reason: reason });
    call(ctx, req).await
}

/// A payment key as one path segment (they are letters and digits; anything else is escaped).
fn url_segment(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
