//! A sandbox of Toss Payments' core v1 API, speaking its documented shapes so that the product's
//! payment client runs unchanged against it:
//!
//! | call | what it does here |
//! |---|---|
//! | `POST /toss/v1/payments/confirm` `{paymentKey, orderId, amount}` | READY → DONE; answers the Payment object |
//! | `GET /toss/v1/payments/{paymentKey}` | the Payment |
//! | `GET /toss/v1/payments/orders/{orderId}` | the Payment of an order |
//! | `POST /toss/v1/payments/{paymentKey}/cancel` `{cancelReason}` | DONE → CANCELED |
//!
//! Every call needs Basic auth with the test secret key (`<secretKey>:`), as the real API does; a
//! POST with an `Idempotency-Key` answers a repeat with the first answer. Errors are the
//! documented body `{code, message}` (`UNAUTHORIZED_KEY`, `NOT_FOUND_PAYMENT`,
//! `ALREADY_PROCESSED_PAYMENT`, `REJECT_CARD_PAYMENT`, …).
//!
//! The widget step (the buyer paying in Toss's window) has a local stand-in served beside the
//! API, `POST /_local/toss/checkout {orderId, amount, outcome?}` → `{paymentKey}`, where
//! `outcome` decides what confirming will do: `APPROVE` (default), `DECLINE` (the card is
//! refused), `TIMEOUT` (the payment is approved but the answer comes too late for the caller,
//! once) or `VIRTUAL_ACCOUNT` (a virtual account is issued, valid `validHours`, default 168:
//! the payment waits for `POST /_local/toss/deposit {orderId}`).
//!
//! Like Toss, the sandbox sends webhooks to the stack (`POST /payments/webhooks/toss`):
//! `PAYMENT_STATUS_CHANGED` on every status change, and `DEPOSIT_CALLBACK` with the payment's
//! `secret` on a deposit; one not answered 200 is sent again, twice. `GET /_local/toss/webhooks`
//! lists what was sent and how the stack answered. `GET /_local/toss/payments` lists every payment and its status, and `GET /_local/toss/calls`
//! every API call received (method, path, `Idempotency-Key`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use chrono::{FixedOffset, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

/// The test secret key the sandbox accepts (the real test keys look the same).
pub const SECRET_KEY: &str = "test_sk_local0000000000000000000";
/// How long a `TIMEOUT` payment keeps the caller waiting (longer than the product's client waits).
pub const SLOW_ANSWER: Duration = Duration::from_secs(4);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Outcome {
    Approve,
    Decline,
    Timeout,
    /// The buyer chose a virtual account: confirming issues it (WAITING_FOR_DEPOSIT), and
    /// `POST /_local/toss/deposit` pays into it.
    VirtualAccount,
}

/// How long a virtual account waits for its deposit unless the checkout says (`validHours`).
const VIRTUAL_ACCOUNT_HOURS: i64 = 168;

#[derive(Debug, Clone)]
struct Payment {
    payment_key: String,
    order_id: String,
    amount: i64,
    status: &'static str,
    outcome: Outcome,
    requested_at: String,
    approved_at: Option<String>,
    cancels: Vec<Value>,
    /// `TIMEOUT` answers slowly only once.
    slowed: bool,
    /// A virtual account's: its hours of validity, and, once issued, its secret and due date.
    valid_hours: i64,
    secret: Option<String>,
    due_date: Option<String>,
}

impl Payment {
    fn to_json(&self) -> Value {
        let balance = if self.status == "CANCELED" { 0 } else { self.amount };
        let virtual_account = self.outcome == Outcome::VirtualAccount;
        let mut v = json!({
            "mId": "tosspayments",
            "version": "2022-11-16",
            "paymentKey": self.payment_key,
            "orderId": self.order_id,
            "orderName": "",
            "status": self.status,
            "type": "NORMAL",
            "method": "카드",
            "currency": "KRW",
            "totalAmount": self.amount,
            "balanceAmount": balance,
            "suppliedAmount": balance,
            "vat": 0,
            "requestedAt": self.requested_at,
            "approvedAt": self.approved_at,
            "card": {"issuerCode": "4V", "acquirerCode": "21", "number": "43301234****123*", "installmentPlanMonths": 0, "approveNo": "00000000", "cardType": "신용", "ownerType": "개인", "acquireStatus": "READY"},
            "cancels": if self.cancels.is_empty() { Value::Null } else { Value::Array(self.cancels.clone()) },
        });
        if virtual_account && self.due_date.is_some() {
            v["method"] = json!("가상계좌");
            v["card"] = Value::Null;
            v["secret"] = json!(self.secret);
            v["virtualAccount"] = json!({
                "accountType": "일반",
                "accountNumber": format!("X{}", &self.payment_key[5..18]),
                "bankCode": "88",
                "customerName": "구매자",
                "dueDate": self.due_date,
                "refundStatus": "NONE",
                "expired": self.status != "WAITING_FOR_DEPOSIT" && self.status != "DONE",
                "settlementStatus": "INCOMPLETED",
            });
        }
        v
    }
}

#[derive(Debug, Default)]
pub struct Toss {
    payments: Mutex<HashMap<String, Payment>>,
    /// `Idempotency-Key` → the first answer.
    answers: Mutex<HashMap<String, (StatusCode, Value)>>,
    /// Every API call received, in order: `{method, path, idempotencyKey}`.
    calls: Mutex<Vec<Value>>,
    /// Where webhooks go (the stack's `POST /payments/webhooks/toss`), once the stack listens.
    webhook_url: Mutex<Option<String>>,
    /// Every webhook sent, with the status the stack answered.
    webhooks: Arc<Mutex<Vec<Value>>>,
}

impl Toss {
    pub fn deliver_webhooks_to(&self, url: String) {
        *self.webhook_url.lock().expect("webhook url") = Some(url);
    }

    /// Sends a webhook as Toss does: POSTed as JSON, and sent again (here after 1 and 4
    /// seconds, where Toss waits minutes) until it is answered 200, at most three times.
    fn send_webhook(&self, body: Value) {
        let Some(url) = self.webhook_url.lock().expect("webhook url").clone() else { return };
        let log = self.webhooks.clone();
        tokio::spawn(async move {
            let client = reqwest::Client::new();
            for wait in [0, 1, 4] {
                tokio::time::sleep(Duration::from_secs(wait)).await;
                let status = match client.post(&url).json(&body).timeout(Duration::from_secs(10)).send().await {
                    Ok(r) => r.status().as_u16(),
                    Err(_) => 0,
                };
                log.lock().expect("webhooks").push(json!({"body": body, "answered": status}));
                if status == 200 {
                    return;
                }
            }
        });
    }

    /// A `PAYMENT_STATUS_CHANGED` webhook for `p`'s new status.
    fn status_changed(&self, p: &Payment) {
        self.send_webhook(json!({"eventType": "PAYMENT_STATUS_CHANGED", "createdAt": now_kst(), "data": p.to_json()}));
    }
}

fn now_kst() -> String {
    Utc::now().with_timezone(&FixedOffset::east_opt(9 * 3600).expect("+09:00")).to_rfc3339()
}

fn error(status: StatusCode, code: &str, message: &str) -> (StatusCode, Value) {
    (status, json!({"code": code, "message": message}))
}

fn authorized(headers: &HeaderMap) -> bool {
    let expected = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{SECRET_KEY}:")));
    headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(expected.as_str())
}

fn reply((status, body): (StatusCode, Value)) -> Response {
    (status, axum::Json(body)).into_response()
}

pub fn router(toss: Arc<Toss>) -> Router {
    Router::new()
        .route("/toss/v1/payments/confirm", post(confirm))
        .route("/toss/v1/payments/orders/{order_id}", get(by_order))
        .route("/toss/v1/payments/{payment_key}", get(by_key))
        .route("/toss/v1/payments/{payment_key}/cancel", post(cancel))
        .layer(axum::middleware::from_fn_with_state(toss.clone(), record_call))
        .with_state(toss)
}

/// Notes each API call, for tests to count (`GET /_local/toss/calls`).
async fn record_call(
    State(toss): State<Arc<Toss>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let key = req.headers().get("idempotency-key").and_then(|v| v.to_str().ok()).map(str::to_string);
    let path = req.uri().path().trim_start_matches("/toss").to_string();
    toss.calls
        .lock()
        .expect("calls")
        .push(json!({"method": req.method().as_str(), "path": path, "idempotencyKey": key}));
    next.run(req).await
}

async fn calls(State(toss): State<Arc<Toss>>) -> Response {
    reply((StatusCode::OK, Value::Array(toss.calls.lock().expect("calls").clone())))
}

/// The widget stand-in and the list of payments, served by the local HTTP API under `/_local/toss/`.
pub fn console(toss: Arc<Toss>) -> Router {
    Router::new()
        .route("/_local/toss/checkout", post(checkout))
        .route("/_local/toss/payments", get(list))
        .route("/_local/toss/calls", get(calls))
        .route("/_local/toss/deposit", post(deposit))
        .route("/_local/toss/webhooks", get(webhooks))
        .with_state(toss)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Checkout {
    order_id: String,
    amount: i64,
    #[serde(default)]
    outcome: Option<Outcome>,
    /// A virtual account's hours of validity (default 168).
    #[serde(default)]
    valid_hours: Option<i64>,
}

async fn checkout(State(toss): State<Arc<Toss>>, body: axum::body::Bytes) -> Response {
    let Ok(c) = serde_json::from_slice::<Checkout>(&body) else {
        return reply(error(StatusCode::BAD_REQUEST, "INVALID_REQUEST", "orderId and amount are required."));
    };
    let key = format!("tgen_{}", hex::encode(rand::random::<[u8; 16]>()));
    let payment = Payment {
        payment_key: key.clone(),
        order_id: c.order_id,
        amount: c.amount,
        status: "READY",
        outcome: c.outcome.unwrap_or(Outcome::Approve),
        requested_at: now_kst(),
        approved_at: None,
        cancels: Vec::new(),
        slowed: false,
        valid_hours: c.valid_hours.unwrap_or(VIRTUAL_ACCOUNT_HOURS).clamp(1, 24 * 60),
        secret: None,
        due_date: None,
    };
    toss.payments.lock().expect("payments").insert(key.clone(), payment);
    reply((StatusCode::OK, json!({"paymentKey": key})))
}

async fn list(State(toss): State<Arc<Toss>>) -> Response {
    let payments = toss.payments.lock().expect("payments");
    let mut all: Vec<Value> = payments.values().map(Payment::to_json).collect();
    all.sort_by_key(|p| p["requestedAt"].as_str().unwrap_or_default().to_string());
    reply((StatusCode::OK, Value::Array(all)))
}

/// Answers a POST once per `Idempotency-Key`: a repeat gets the first answer.
async fn once(toss: &Toss, headers: &HeaderMap, call: impl Future<Output = (StatusCode, Value)>) -> Response {
    let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).map(str::to_string);
    if let Some(k) = &key
        && let Some(first) = toss.answers.lock().expect("answers").get(k).cloned()
    {
        return reply(first);
    }
    let answer = call.await;
    if let Some(k) = key {
        toss.answers.lock().expect("answers").insert(k, answer.clone());
    }
    reply(answer)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Confirm {
    payment_key: String,
    order_id: String,
    amount: i64,
}

async fn confirm(State(toss): State<Arc<Toss>>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    if !authorized(&headers) {
        return reply(error(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED_KEY",
            "인증되지 않은 시크릿 키 혹은 클라이언트 키 입니다.",
        ));
    }
    let Ok(c) = serde_json::from_slice::<Confirm>(&body) else {
        return reply(error(StatusCode::BAD_REQUEST, "INVALID_REQUEST", "잘못된 요청입니다."));
    };
    let t = toss.clone();
    once(&toss, &headers, async move {
        let (answer, slow) = {
            let mut payments = t.payments.lock().expect("payments");
            match payments.get_mut(&c.payment_key) {
                None => (
                    error(
                        StatusCode::NOT_FOUND,
                        "NOT_FOUND_PAYMENT_SESSION",
                        "결제 시간이 만료되어 결제 진행 데이터가 존재하지 않습니다.",
                    ),
                    false,
                ),
                Some(p) if p.order_id != c.order_id || p.amount != c.amount => (
                    error(StatusCode::BAD_REQUEST, "INVALID_REQUEST", "결제 금액 또는 주문번호가 일치하지 않습니다."),
                    false,
                ),
                Some(p) if p.status != "READY" => {
                    (error(StatusCode::BAD_REQUEST, "ALREADY_PROCESSED_PAYMENT", "이미 처리된 결제 입니다."), false)
                }
                Some(p) if p.outcome == Outcome::Decline => {
                    p.status = "ABORTED";
                    (
                        error(
                            StatusCode::FORBIDDEN,
                            "REJECT_CARD_PAYMENT",
                            "한도초과 혹은 잔액부족으로 결제에 실패했습니다.",
                        ),
                        false,
                    )
                }
                Some(p) if p.outcome == Outcome::VirtualAccount => {
                    p.status = "WAITING_FOR_DEPOSIT";
                    p.secret = Some(format!("ps_{}", hex::encode(rand::random::<[u8; 12]>())));
                    let due = Utc::now() + chrono::Duration::hours(p.valid_hours);
                    p.due_date =
                        Some(due.with_timezone(&FixedOffset::east_opt(9 * 3600).expect("+09:00")).to_rfc3339());
                    t.status_changed(p);
                    ((StatusCode::OK, p.to_json()), false)
                }
                Some(p) => {
                    p.status = "DONE";
                    p.approved_at = Some(now_kst());
                    let slow = p.outcome == Outcome::Timeout && !p.slowed;
                    p.slowed = true;
                    t.status_changed(p);
                    ((StatusCode::OK, p.to_json()), slow)
                }
            }
        };
        if slow {
            tokio::time::sleep(SLOW_ANSWER).await;
        }
        answer
    })
    .await
}

fn found(toss: &Toss, pick: impl Fn(&Payment) -> bool) -> (StatusCode, Value) {
    match toss.payments.lock().expect("payments").values().find(|p| pick(p)) {
        Some(p) => (StatusCode::OK, p.to_json()),
        None => error(StatusCode::NOT_FOUND, "NOT_FOUND_PAYMENT", "존재하지 않는 결제 정보 입니다."),
    }
}

async fn by_key(State(toss): State<Arc<Toss>>, headers: HeaderMap, Path(key): Path<String>) -> Response {
    if !authorized(&headers) {
        return reply(error(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED_KEY",
            "인증되지 않은 시크릿 키 혹은 클라이언트 키 입니다.",
        ));
    }
    reply(found(&toss, |p| p.payment_key == key))
}

async fn by_order(State(toss): State<Arc<Toss>>, headers: HeaderMap, Path(order): Path<String>) -> Response {
    if !authorized(&headers) {
        return reply(error(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED_KEY",
            "인증되지 않은 시크릿 키 혹은 클라이언트 키 입니다.",
        ));
    }
    // An order may have been tried with several payment windows; the approved one wins.
    let payments = toss.payments.lock().expect("payments");
    let mut of_order: Vec<&Payment> = payments.values().filter(|p| p.order_id == order).collect();
    of_order.sort_by_key(|p| (p.status != "DONE" && p.status != "CANCELED", p.requested_at.clone()));
    reply(match of_order.first() {
        Some(p) => (StatusCode::OK, p.to_json()),
        None => error(StatusCode::NOT_FOUND, "NOT_FOUND_PAYMENT", "존재하지 않는 결제 정보 입니다."),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Cancel {
    cancel_reason: String,
}

async fn cancel(
    State(toss): State<Arc<Toss>>,
    headers: HeaderMap,
    Path(key): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    if !authorized(&headers) {
        return reply(error(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED_KEY",
            "인증되지 않은 시크릿 키 혹은 클라이언트 키 입니다.",
        ));
    }
    let Ok(c) = serde_json::from_slice::<Cancel>(&body) else {
        return reply(error(StatusCode::BAD_REQUEST, "INVALID_REQUEST", "취소 사유(cancelReason)가 필요합니다."));
    };
    let t = toss.clone();
    once(&toss, &headers, async move {
        let mut payments = t.payments.lock().expect("payments");
        match payments.get_mut(&key) {
            None => error(StatusCode::NOT_FOUND, "NOT_FOUND_PAYMENT", "존재하지 않는 결제 정보 입니다."),
            Some(p) if p.status == "CANCELED" => {
                error(StatusCode::BAD_REQUEST, "ALREADY_CANCELED_PAYMENT", "이미 취소된 결제 입니다.")
            }
            Some(p) if p.status != "DONE" && p.status != "WAITING_FOR_DEPOSIT" => {
                error(StatusCode::FORBIDDEN, "NOT_CANCELABLE_PAYMENT", "취소 할 수 없는 결제 입니다.")
            }
            Some(p) => {
                // A virtual account not paid into is closed: nothing is given back.
                let given_back = if p.status == "DONE" { p.amount } else { 0 };
                p.status = "CANCELED";
                p.cancels.push(json!({
                    "cancelAmount": given_back,
                    "cancelReason": c.cancel_reason,
                    "canceledAt": now_kst(),
                    "transactionKey": hex::encode(rand::random::<[u8; 16]>()),
                    "cancelStatus": "DONE",
                }));
                t.status_changed(p);
                (StatusCode::OK, p.to_json())
            }
        }
    })
    .await
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Deposit {
    order_id: String,
}

/// The buyer pays into their virtual account: the payment is DONE, and Toss tells the store
/// (a `DEPOSIT_CALLBACK` with the payment's secret, and a `PAYMENT_STATUS_CHANGED`).
async fn deposit(State(toss): State<Arc<Toss>>, body: axum::body::Bytes) -> Response {
    let Ok(d) = serde_json::from_slice::<Deposit>(&body) else {
        return reply(error(StatusCode::BAD_REQUEST, "INVALID_REQUEST", "orderId is required."));
    };
    let mut payments = toss.payments.lock().expect("payments");
    let Some(p) = payments.values_mut().find(|p| p.order_id == d.order_id && p.status == "WAITING_FOR_DEPOSIT") else {
        return reply(error(StatusCode::NOT_FOUND, "NOT_FOUND_PAYMENT", "입금 대기 중인 가상계좌가 없습니다."));
    };
    p.status = "DONE";
    p.approved_at = Some(now_kst());
    toss.send_webhook(json!({
        "createdAt": now_kst(),
        "secret": p.secret,
        "status": "DONE",
        "transactionKey": hex::encode(rand::random::<[u8; 16]>()),
        "orderId": p.order_id,
    }));
    toss.status_changed(p);
    reply((StatusCode::OK, p.to_json()))
}

async fn webhooks(State(toss): State<Arc<Toss>>) -> Response {
    reply((StatusCode::OK, Value::Array(toss.webhooks.lock().expect("webhooks").clone())))
}
