//! Web Push, locally: a push service (RFC 8030) that plays the browser too. It makes
//! subscriptions as a browser would, holding their private keys, takes pushes at their
//! endpoints as a push service does, checks the sender's VAPID JWT (RFC 8292) and decrypts the
//! payload (RFC 8291), and keeps what arrived for people and tests to read:
//!
//! - `POST /_local/push/subscriptions` `{applicationServerKey?}` → the `PushSubscription` JSON to
//!   register with the API (`{endpoint, expirationTime, keys: {p256dh, auth}}`); the key defaults
//!   to the product's own VAPID public key.
//! - `GET /_local/push/messages?endpoint=<url>` → what arrived there: the decrypted payload, the
//!   `TTL`, `Urgency` and `Topic` headers, and the VAPID check (`aud`, `exp`, `sub`, the key).
//! - `DELETE /_local/push/subscriptions?endpoint=<url>` → that endpoint answers 410 from then on.
//!
//! Pushes go to `POST <sandbox>/push/send/<token>`. As push services do, a push without `TTL`
//! is refused (400), one whose VAPID JWT does not verify gets 401, one signed with another key
//! than the subscription's 403, a payload over 4096 bytes 413. The fault switch makes the
//! service answer 429 with `Retry-After: 1` (`TooManyRequests`) or 500 (`ServerError`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use shared::clock::SharedClock;

/// The largest payload push services take (RFC 8030 §7.2 asks for at least 4096 bytes).
const MAX_PAYLOAD: usize = 4096;

pub struct PushService {
    clock: SharedClock,
    /// Where the sandbox listens: endpoints are `<base>/push/send/<token>`.
    base: String,
    /// The key the product signs with (`GET /notifications/push-key`).
    product_key: Option<String>,
    subscriptions: Mutex<HashMap<String, Subscription>>,
}

struct Subscription {
    secret: p256::SecretKey,
    auth: [u8; 16],
    /// The key pushes must be signed with (the `applicationServerKey` subscribed with).
    server_key: Option<String>,
    gone: bool,
    messages: Vec<Received>,
}

/// A push as it arrived.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Received {
    pub received_at: String,
    /// What the service answered.
    pub status: u16,
    pub ttl: Option<u64>,
    pub urgency: Option<String>,
    pub topic: Option<String>,
    /// The decrypted payload (JSON when it is JSON, else text); none when it did not decrypt.
    pub payload: Option<Value>,
    pub decrypted: bool,
    pub vapid: VapidCheck,
}

/// What the VAPID `Authorization` header said, and whether it holds.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VapidCheck {
    /// Signature, key, `aud`, `exp` and `sub` all good.
    pub verified: bool,
    pub signature_valid: bool,
    /// `k` is the key the subscription was made with.
    pub key_matches: bool,
    pub aud: Option<String>,
    pub aud_matches: bool,
    pub exp: Option<i64>,
    /// In the future, and at most 24 hours ahead.
    pub exp_valid: bool,
    pub sub: Option<String>,
    pub problem: Option<String>,
}

impl PushService {
    /// A push service whose endpoints live under `base`, expecting pushes signed with the key
    /// derived from the product's VAPID secret.
    pub fn new(clock: SharedClock, base: &str, vapid_secret: Option<&str>) -> Arc<Self> {
        let product_key = vapid_secret
            .and_then(|s| notifications::webpush::Vapid::from_secret(s).ok())
            .map(|v| v.public_key().into());
        Arc::new(Self {
            clock,
            base: base.trim_end_matches('/').to_string(),
            product_key,
            subscriptions: Mutex::default(),
        })
    }

    fn token_of(&self, endpoint: &str) -> Option<String> {
        endpoint.strip_prefix(&format!("{}/push/send/", self.base)).map(str::to_string)
    }

    /// What arrived at `endpoint` (none for an endpoint this service never made).
    pub fn messages(&self, endpoint: &str) -> Option<Vec<Received>> {
        let token = self.token_of(endpoint)?;
        self.subscriptions.lock().unwrap().get(&token).map(|s| s.messages.clone())
    }
}

/// The push endpoint (on the sandbox's port, where the functions send).
pub fn router(push: Arc<PushService>) -> Router {
    Router::new().route("/push/send/{token}", post(receive)).with_state(push)
}

/// The browser's side, served by the local HTTP API under `/_local/push/`.
pub fn console(push: Arc<PushService>) -> Router {
    Router::new()
        .route("/_local/push/subscriptions", post(subscribe).delete(unsubscribe))
        .route("/_local/push/messages", axum::routing::get(messages))
        .with_state(push)
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct NewSubscription {
    #[serde(default)]
    application_server_key: Option<String>,
}

async fn subscribe(State(push): State<Arc<PushService>>, body: Bytes) -> Response {
    let req: NewSubscription = if body.is_empty() {
        NewSubscription::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(r) => r,
            Err(e) => return (StatusCode::BAD_REQUEST, axum::Json(json!({"error": e.to_string()}))).into_response(),
        }
    };
    let secret = loop {
        if let Ok(k) = p256::SecretKey::from_slice(&rand::random::<[u8; 32]>()) {
            break k;
        }
    };
    let auth: [u8; 16] = rand::random();
    let token = hex::encode(rand::random::<[u8; 16]>());
    let endpoint = format!("{}/push/send/{token}", push.base);
    let p256dh = URL_SAFE_NO_PAD.encode(secret.public_key().to_encoded_point(false).as_bytes());
    let sub = Subscription {
        secret,
        auth,
        server_key: req.application_server_key.or_else(|| push.product_key.clone()),
        gone: false,
        messages: Vec::new(),
    };
    push.subscriptions.lock().unwrap().insert(token, sub);
    axum::Json(json!({
        "endpoint": endpoint,
        "expirationTime": null,
        "keys": {"p256dh": p256dh, "auth": URL_SAFE_NO_PAD.encode(auth)},
    }))
    .into_response()
}

#[derive(Deserialize)]
struct ByEndpoint {
    endpoint: String,
}

async fn unsubscribe(State(push): State<Arc<PushService>>, Query(q): Query<ByEndpoint>) -> Response {
    let Some(token) = push.token_of(&q.endpoint) else { return StatusCode::NOT_FOUND.into_response() };
    match push.subscriptions.lock().unwrap().get_mut(&token) {
        Some(s) => {
            s.gone = true;
            StatusCode::NO_CONTENT.into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn messages(State(push): State<Arc<PushService>>, Query(q): Query<ByEndpoint>) -> Response {
    match push.messages(&q.endpoint) {
        Some(m) => axum::Json(m).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
}

async fn receive(
    State(push): State<Arc<PushService>>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut subs = push.subscriptions.lock().unwrap();
    let Some(sub) = subs.get_mut(&token) else { return StatusCode::NOT_FOUND.into_response() };
    if sub.gone {
        return StatusCode::GONE.into_response();
    }
    let now = push.clock.now();
    let endpoint = format!("{}/push/send/{token}", push.base);
    let vapid = check_vapid(
        header(&headers, "authorization").as_deref(),
        sub.server_key.as_deref(),
        &endpoint,
        now.timestamp(),
    );
    let ttl = header(&headers, "ttl").and_then(|t| t.trim().parse::<u64>().ok());
    let encoding_ok = header(&headers, "content-encoding").is_some_and(|e| e.eq_ignore_ascii_case("aes128gcm"));
    let plain = web_push_native::decrypt(body.to_vec(), &sub.secret, &web_push_native::Auth::from(sub.auth)).ok();
    let status = if ttl.is_none() || !encoding_ok {
        StatusCode::BAD_REQUEST
    } else if body.len() > MAX_PAYLOAD {
        StatusCode::PAYLOAD_TOO_LARGE
    } else if !vapid.signature_valid || !vapid.aud_matches || !vapid.exp_valid || vapid.sub.is_none() {
        StatusCode::UNAUTHORIZED
    } else if !vapid.key_matches {
        StatusCode::FORBIDDEN
    } else {
        StatusCode::CREATED
    };
    sub.messages.push(Received {
        received_at: now.to_rfc3339(),
        status: status.as_u16(),
        ttl,
        urgency: header(&headers, "urgency"),
        topic: header(&headers, "topic"),
        decrypted: plain.is_some(),
        payload: plain
            .map(|p| serde_json::from_slice(&p).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&p).into()))),
        vapid,
    });
    if status == StatusCode::CREATED {
        let location = format!("{}/push/messages/{}", push.base, ulid::Ulid::new());
        return (status, [("location", location)]).into_response();
    }
    status.into_response()
}

/// Checks `Authorization: vapid t=<jwt>, k=<key>` for a push to `endpoint` at `now`.
fn check_vapid(authorization: Option<&str>, expected_key: Option<&str>, endpoint: &str, now: i64) -> VapidCheck {
    let mut check = VapidCheck::default();
    let Some(value) = authorization.and_then(|a| a.strip_prefix("vapid ")) else {
        check.problem = Some("no vapid Authorization header".into());
        return check;
    };
    let (mut t, mut k) = (None, None);
    for part in value.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = Some(v.trim()),
            Some(("k", v)) => k = Some(v.trim()),
            _ => {}
        }
    }
    let (Some(t), Some(k)) = (t, k) else {
        check.problem = Some("the header needs t= and k=".into());
        return check;
    };
    check.key_matches = expected_key == Some(k);
    let Some(point) = URL_SAFE_NO_PAD.decode(k).ok().filter(|p| p.len() == 65 && p[0] == 4) else {
        check.problem = Some("k is not an uncompressed P-256 point".into());
        return check;
    };
    let (x, y) = (URL_SAFE_NO_PAD.encode(&point[1..33]), URL_SAFE_NO_PAD.encode(&point[33..]));
    let Ok(key) = jsonwebtoken::DecodingKey::from_ec_components(&x, &y) else {
        check.problem = Some("k is not a key".into());
        return check;
    };
    // The signature and algorithm here; the claims below, against the stack's clock.
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    v.validate_exp = false;
    v.validate_aud = false;
    v.required_spec_claims = Default::default();
    match jsonwebtoken::decode::<Value>(t, &key, &v) {
        Ok(data) => {
            check.signature_valid = true;
            let c = data.claims;
            check.aud = c["aud"].as_str().map(str::to_string);
            check.exp = c["exp"].as_i64();
            check.sub =
                c["sub"].as_str().filter(|s| s.starts_with("mailto:") || s.starts_with("https:")).map(str::to_string);
            let origin = reqwest::Url::parse(endpoint).map(|u| u.origin().ascii_serialization()).unwrap_or_default();
            check.aud_matches = check.aud.as_deref() == Some(origin.as_str());
            check.exp_valid = check.exp.is_some_and(|e| e > now && e <= now + 24 * 3600);
        }
        Err(e) => check.problem = Some(format!("the JWT does not verify: {e}")),
    }
    check.verified =
        check.signature_valid && check.key_matches && check.aud_matches && check.exp_valid && check.sub.is_some();
    check
}
