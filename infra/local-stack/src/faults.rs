//! The fault switch: makes chosen calls to a dependency fail, so that tests (and anyone at the
//! console) can watch the product answer a failing dependency.
//!
//! `POST /_local/faults` `{service, operation?, contains?, error, times?, share?}` adds a rule;
//! `GET /_local/faults` lists them with how often each fired; `DELETE /_local/faults` clears them.
//! A rule fires on a call to `service` whose operation is `operation` (any when absent) and whose
//! request body holds `contains` (any when absent), for a `share` of such calls (1 by default),
//! `times` times at most (no limit when absent). `error` is what the service answers, in its own
//! protocol, so that the SDKs' and clients' retries run as they would:
//!
//! | service | operation | errors |
//! |---|---|---|
//! | `dynamodb` | `GetItem`, `TransactWriteItems`, … | `ThrottlingException`, `ProvisionedThroughputExceededException` (400, retried), `InternalServerError` (500, retried), `TransactionConflict` (a cancelled transaction) |
//! | `dynamodb` | `BatchWriteItem`, `BatchGetItem` | `UnprocessedItems`: `share` of every batch (rounded down) is handed back unprocessed |
//! | `dynamodb` | index queries | `IndexLag` with `lagMs`: a write reaches the indexes `lagMs` after it commits (see [`crate::region`]) |
//! | `sqs` | `SendMessage`, `ReceiveMessage`, … | `InternalError` (500), `RequestThrottled` (400) |
//! | `ses` | `SendEmail`, `SendRawEmail` | `ServiceUnavailable` (503), `Throttling` (400) |
//! | `google`, `kakao`, `toss`, `clova` | the path after the provider (`/token`, `/v1/payments/confirm`, …) | `ServerError` (500 in the provider's error shape), `Timeout` (no answer for 15 s) |
//! | `push` | `/send/<token>` (the local push service) | `TooManyRequests` (429, `Retry-After: 1`), `ServerError` (500), `Timeout` |
//! | `bedrock` | `Converse`, `InvokeModel` | `ThrottlingException` (429, retried), `ModelTimeoutException` (408), `ServiceUnavailableException` (503) |
//! | `lambda` | a route (`POST /posts`) | `CrashAfterCommit`: the function runs to the end, then its answer is lost (API Gateway's `502`) |
//!
//! DynamoDB calls reach the stand-in through a proxy that consults the rules; SQS, SES and the
//! provider sandboxes consult them before answering; the local HTTP API after running a route.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    #[serde(default)]
    pub id: u64,
    pub service: String,
    #[serde(default)]
    pub operation: Option<String>,
    #[serde(default)]
    pub contains: Option<String>,
    pub error: String,
    #[serde(default)]
    pub times: Option<u64>,
    #[serde(default)]
    pub share: Option<f64>,
    /// `IndexLag`: how long a write takes to reach the indexes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lag_ms: Option<u64>,
    /// How often it fired.
    #[serde(default)]
    pub fired: u64,
}

impl Rule {
    /// Index queries see writes `lag` after they commit.
    pub fn index_lag(lag: std::time::Duration) -> Self {
        Self {
            id: 0,
            service: "dynamodb".into(),
            operation: None,
            contains: None,
            error: "IndexLag".into(),
            times: None,
            share: None,
            lag_ms: Some(lag.as_millis() as u64),
            fired: 0,
        }
    }
}

/// The errors each service can be made to answer.
const ERRORS: &[(&str, &[&str])] = &[
    (
        "dynamodb",
        &[
            "ThrottlingException",
            "ProvisionedThroughputExceededException",
            "InternalServerError",
            "TransactionConflict",
            "UnprocessedItems",
            "IndexLag",
        ],
    ),
    ("sqs", &["InternalError", "RequestThrottled"]),
    ("ses", &["ServiceUnavailable", "Throttling"]),
    ("google", &["ServerError", "Timeout"]),
    ("kakao", &["ServerError", "Timeout"]),
    ("toss", &["ServerError", "Timeout"]),
    ("clova", &["ServerError", "Timeout"]),
    ("push", &["TooManyRequests", "ServerError", "Timeout"]),
    ("lambda", &["CrashAfterCommit"]),
    ("bedrock", &["ThrottlingException", "ModelTimeoutException", "ServiceUnavailableException"]),
];

pub struct Faults {
    rules: Mutex<Vec<Rule>>,
    next: AtomicU64,
    /// Calls the proxy saw, and faults it injected (for the figures of a run).
    pub calls: AtomicU64,
    pub injected: AtomicU64,
    /// The items DynamoDB calls in flight are writing (conflicts are always emulated).
    pub in_flight: crate::region::InFlight,
    /// The copy of the table index queries read while `IndexLag` is on.
    pub index_view: Arc<crate::region::IndexView>,
}

impl Faults {
    /// The switch for a stack whose DynamoDB stand-in is at `direct_url`.
    pub fn new(table: &'static str, direct_url: String) -> Self {
        Self {
            rules: Mutex::default(),
            next: AtomicU64::default(),
            calls: AtomicU64::default(),
            injected: AtomicU64::default(),
            in_flight: crate::region::InFlight::default(),
            index_view: Arc::new(crate::region::IndexView::new(table, direct_url)),
        }
    }

    /// Adds a rule and puts it in force: an `IndexLag` rule returns once index queries lag.
    pub async fn add_in_force(&self, rule: Rule) -> Result<u64, String> {
        let lag = (rule.error == "IndexLag").then_some(rule.lag_ms).flatten();
        let id = self.add(rule)?;
        if let Some(ms) = lag {
            self.index_view.enable(std::time::Duration::from_millis(ms)).await?;
        }
        Ok(id)
    }

    /// Clears every rule; index queries read the table again.
    pub async fn clear_all(&self) {
        self.clear();
        self.index_view.disable().await;
    }

    pub fn add(&self, mut rule: Rule) -> Result<u64, String> {
        let Some((_, errors)) = ERRORS.iter().find(|(s, _)| *s == rule.service) else {
            let services: Vec<&str> = ERRORS.iter().map(|(s, _)| *s).collect();
            return Err(format!("service is one of {services:?}"));
        };
        if !errors.contains(&rule.error.as_str()) {
            return Err(format!("error of {} is one of {errors:?}", rule.service));
        }
        if rule.share.is_some_and(|s| !(0.0..=1.0).contains(&s)) {
            return Err("share is from 0 to 1".into());
        }
        match (rule.error.as_str(), rule.lag_ms) {
            ("IndexLag", None) => return Err("IndexLag needs lagMs".into()),
            ("IndexLag", Some(ms)) if ms > 60_000 => return Err("lagMs is at most 60000".into()),
            // A setting rather than a rule: shown as `indexLagMs`, the newest replacing any other.
            ("IndexLag", Some(_)) => return Ok(self.next.fetch_add(1, Ordering::Relaxed) + 1),
            (_, Some(_)) => return Err("lagMs belongs to IndexLag".into()),
            _ => {}
        }
        rule.id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        rule.fired = 0;
        let id = rule.id;
        self.rules.lock().expect("rules").push(rule);
        Ok(id)
    }

    pub fn clear(&self) {
        self.rules.lock().expect("rules").clear();
    }

    pub fn list(&self) -> Vec<Rule> {
        self.rules.lock().expect("rules").clone()
    }

    /// The share of a batch to leave unprocessed, if an `UnprocessedItems` rule fires on it.
    pub fn unprocessed_share(&self, operation: &str) -> Option<f64> {
        if !matches!(operation, "BatchWriteItem" | "BatchGetItem") {
            return None;
        }
        let mut rules = self.rules.lock().expect("rules");
        let r = rules.iter_mut().find(|r| {
            r.service == "dynamodb"
                && r.error == "UnprocessedItems"
                && r.operation.as_deref().is_none_or(|o| o == operation)
                && r.times.is_none_or(|t| r.fired < t)
        })?;
        r.fired += 1;
        self.injected.fetch_add(1, Ordering::Relaxed);
        Some(r.share.unwrap_or(1.0))
    }

    /// The error to answer a call with, if a rule fires on it.
    pub fn fire(&self, service: &str, operation: &str, body: &[u8]) -> Option<String> {
        let mut rules = self.rules.lock().expect("rules");
        for r in rules.iter_mut() {
            if r.error == "UnprocessedItems" {
                continue;
            }
            if r.service != service
                || r.operation.as_deref().is_some_and(|o| o != operation)
                || r.times.is_some_and(|t| r.fired >= t)
            {
                continue;
            }
            if let Some(c) = &r.contains
                && !body.windows(c.len().max(1)).any(|w| w == c.as_bytes())
            {
                continue;
            }
            if r.share.is_some_and(|s| rand::random::<f64>() >= s) {
                continue;
            }
            r.fired += 1;
            self.injected.fetch_add(1, Ordering::Relaxed);
            return Some(r.error.clone());
        }
        None
    }
}

/// `/_local/faults` on the local HTTP API.
pub fn console(faults: Arc<Faults>) -> Router {
    Router::new().route("/_local/faults", get(list).post(add).delete(clear)).with_state(faults)
}

async fn list(State(f): State<Arc<Faults>>) -> Response {
    axum::Json(json!({
        "rules": f.list(),
        "calls": f.calls.load(Ordering::Relaxed),
        "injected": f.injected.load(Ordering::Relaxed),
        "conflicts": f.in_flight.conflicts.load(Ordering::Relaxed),
        "indexLagMs": f.index_view.lag().map(|d| d.as_millis() as u64),
    }))
    .into_response()
}

async fn add(State(f): State<Arc<Faults>>, body: Bytes) -> Response {
    let rule = match serde_json::from_slice::<Rule>(&body) {
        Ok(r) => r,
        Err(e) => {
            return (StatusCode::BAD_REQUEST, axum::Json(json!({"code": "INVALID_RULE", "detail": e.to_string()})))
                .into_response();
        }
    };
    match f.add_in_force(rule).await {
        Ok(id) => (StatusCode::CREATED, axum::Json(json!({"id": id}))).into_response(),
        Err(e) => (StatusCode::BAD_REQUEST, axum::Json(json!({"code": "INVALID_RULE", "detail": e}))).into_response(),
    }
}

async fn clear(State(f): State<Arc<Faults>>) -> Response {
    f.clear_all().await;
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Clone)]
struct Proxy {
    faults: Arc<Faults>,
    iam: Arc<crate::iam::Iam>,
    upstream: String,
    client: reqwest::Client,
}

/// The DynamoDB endpoint the functions call: checks the caller's policy, then forwards to the
/// stand-in at `upstream`, unless a fault rule fires.
pub fn dynamodb_proxy(faults: Arc<Faults>, iam: Arc<crate::iam::Iam>, upstream: String) -> Router {
    let client = reqwest::Client::builder().pool_max_idle_per_host(64).build().expect("an HTTP client");
    Router::new().fallback(forward).with_state(Proxy { faults, iam, upstream, client })
}

async fn forward(State(p): State<Proxy>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    p.faults.calls.fetch_add(1, Ordering::Relaxed);
    // Who signed the call, and whether their policy allows it, before anything else.
    if let Err(denial) =
        crate::iam::check_dynamodb(&p.iam, uri.path(), uri.query().unwrap_or_default(), &headers, &body)
    {
        return crate::iam::dynamodb_denial(&denial);
    }
    let operation = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.rsplit('.').next())
        .unwrap_or_default()
        .to_string();
    if let Some(error) = p.faults.fire("dynamodb", &operation, &body) {
        return dynamodb_error(&error, &body);
    }
    // As a region: index queries lag when switched on; batches may come back partly undone;
    // writes on items another call is writing conflict.
    let mut body = p.faults.index_view.redirect(&operation, &body).map(Bytes::from).unwrap_or(body);
    let mut handed_back: Option<serde_json::Value> = None;
    if let Some(share) = p.faults.unprocessed_share(&operation) {
        match crate::region::split_batch(&operation, &body, share) {
            Some((None, back)) => return batch_answer(&operation, serde_json::json!({}), Some(back)),
            Some((Some(rest), back)) => {
                body = Bytes::from(rest.to_string());
                handed_back = Some(back);
            }
            None => {}
        }
    }
    let held = match p.faults.in_flight.admit(&operation, &body) {
        crate::region::Admission::Go(held) => held,
        crate::region::Admission::Refuse(answer) => return answer,
        crate::region::Admission::Split { body: mut rest, held, left } => {
            let back = handed_back.get_or_insert_with(|| serde_json::json!({}));
            for (table, request) in left {
                match back[&table].as_array_mut() {
                    Some(list) => list.push(request),
                    None => back[&table] = serde_json::json!([request]),
                }
            }
            if let Some(tables) = rest["RequestItems"].as_object_mut() {
                tables.retain(|_, r| r.as_array().is_some_and(|l| !l.is_empty()));
            }
            if rest["RequestItems"].as_object().is_none_or(|t| t.is_empty()) {
                p.faults.in_flight.release(held);
                return batch_answer(&operation, serde_json::json!({}), handed_back);
            }
            body = Bytes::from(rest.to_string());
            held
        }
    };
    let answer = send_upstream(&p, method, &uri, &headers, body).await;
    p.faults.in_flight.release(held);
    match (answer, handed_back) {
        (Ok((status, _, bytes)), Some(back)) if status.is_success() => {
            let v = serde_json::from_slice(&bytes).unwrap_or_else(|_| serde_json::json!({}));
            batch_answer(&operation, v, Some(back))
        }
        (Ok((status, headers, bytes)), _) => {
            let mut out = Response::builder().status(status);
            for (name, value) in headers.iter() {
                if name != "content-length" && name != "transfer-encoding" {
                    out = out.header(name, value);
                }
            }
            out.body(Body::from(bytes)).unwrap_or_else(|_| StatusCode::BAD_GATEWAY.into_response())
        }
        (Err(e), _) => (StatusCode::BAD_GATEWAY, e).into_response(),
    }
}

/// A batch answer with the requests handed back added to it.
fn batch_answer(operation: &str, mut answer: serde_json::Value, back: Option<serde_json::Value>) -> Response {
    if let Some(back) = back {
        crate::region::merge_unprocessed(operation, &mut answer, back);
    }
    (StatusCode::OK, [("content-type", "application/x-amz-json-1.0")], answer.to_string()).into_response()
}

async fn send_upstream(
    p: &Proxy,
    method: Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, HeaderMap, Bytes), String> {
    let url = format!("{}{}", p.upstream, uri.path_and_query().map(|x| x.as_str()).unwrap_or("/"));
    let mut req = p.client.request(method, url).body(body);
    for (name, value) in headers.iter() {
        if name != "host" && name != "content-length" {
            req = req.header(name, value);
        }
    }
    let res = req.send().await.map_err(|e| e.to_string())?;
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res.bytes().await.map_err(|e| e.to_string())?;
    Ok((status, headers, bytes))
}

/// An error in DynamoDB's JSON protocol.
fn dynamodb_error(error: &str, body: &[u8]) -> Response {
    let message = format!("injected by the local fault switch: {error}");
    if error == "TransactionConflict" {
        // One reason per item of the transaction, as DynamoDB gives them.
        let items = serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v["TransactItems"].as_array().map(Vec::len))
            .unwrap_or(1);
        let mut reasons = vec![json!({"Code": "None"}); items];
        reasons[0] = json!({"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"});
        return crate::region::cancelled(&reasons);
    }
    crate::region::error(error, &message, json!({}))
}

/// Consults the rules before a stand-in answers: SQS (JSON protocol), SES (query protocol) and
/// the providers' sandboxes (by path).
pub async fn guard(
    State(faults): State<Arc<Faults>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 32 * 1024 * 1024).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    let path = parts.uri.path().to_string();
    let (service, operation): (String, String) = if let Some(target) = parts.headers.get("x-amz-target") {
        ("sqs".into(), target.to_str().unwrap_or_default().rsplit('.').next().unwrap_or_default().to_string())
    } else if parts
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"))
        && path == "/"
    {
        let action = form_urlencoded::parse(&bytes).find(|(k, _)| k == "Action").map(|(_, v)| v.into_owned());
        ("ses".into(), action.unwrap_or_default())
    } else {
        let mut segs = path.trim_start_matches('/').splitn(2, '/');
        let provider = segs.next().unwrap_or_default().to_string();
        (provider, format!("/{}", segs.next().unwrap_or_default()))
    };
    if let Some(error) = faults.fire(&service, &operation, &bytes) {
        return match (service.as_str(), error.as_str()) {
            ("sqs", e) => {
                let status = if e == "InternalError" { StatusCode::INTERNAL_SERVER_ERROR } else { StatusCode::BAD_REQUEST };
                (
                    status,
                    [("content-type", "application/x-amz-json-1.0".to_string()), ("x-amzn-query-error", format!("{e};Receiver"))],
                    json!({"__type": format!("com.amazonaws.sqs#{e}"), "message": "injected by the local fault switch"}).to_string(),
                )
                    .into_response()
            }
            ("ses", e) => {
                let status = if e == "Throttling" { StatusCode::BAD_REQUEST } else { StatusCode::SERVICE_UNAVAILABLE };
                let xml = format!(
                    "<ErrorResponse xmlns=\"http://ses.amazonaws.com/doc/2010-12-01/\"><Error><Type>Receiver</Type><Code>{e}</Code><Message>injected by the local fault switch</Message></Error><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>"
                );
                (status, [("content-type", "text/xml")], xml).into_response()
            }
            ("push", "TooManyRequests") => (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "1")]).into_response(),
            (_, "Timeout") => {
                tokio::time::sleep(std::time::Duration::from_secs(15)).await;
                StatusCode::GATEWAY_TIMEOUT.into_response()
            }
            _ => (
                StatusCode::INTERNAL_SERVER_ERROR,
                axum::Json(json!({"code": "FAILED_INTERNAL_SYSTEM_PROCESSING", "message": "injected by the local fault switch", "error": "server_error"})),
            )
                .into_response(),
        };
    }
    next.run(axum::extract::Request::from_parts(parts, Body::from(bytes))).await
}
