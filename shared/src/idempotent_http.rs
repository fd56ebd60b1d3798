//! `Idempotency-Key` for creating requests (`POST`), Powertools-style: the first response to a
//! key is stored (24 hours) and a retry with the same key and body gets it again, creating
//! nothing new. A key belongs to its caller; the request it was first used with is its method,
//! its concrete path (`/market/posts/L1/orders`, not the route's template) and its body, so the
//! same key on another resource or with another body is refused (422 `IDEMPOTENCY_KEY_REUSED`,
//! as the IETF `Idempotency-Key` draft says) and never replays another resource's answer. A
//! retry while the first is still running gets 409.
//!
//! | item | PK | SK |
//! |---|---|---|
//! | a key's record | `IDEMPOTENCY#http#<sha256(caller, key)>` | `RECORD` (TTL) |

use http::{HeaderValue, StatusCode, header};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::context::AppContext;
use crate::error::{ApiError, ApiResult, Tolerate};
use crate::http::{ApiRequest, ApiResponse};
use crate::table::{Entity, TableError, Write, n};

pub const HEADER: &str = "idempotency-key";

crate::domain_errors! {
    /// What a reused key means.
    pub enum IdempotencyError {
        Reused => (422, "IDEMPOTENCY_KEY_REUSED", "This Idempotency-Key was used with another request (another path or body)."),
    }
}
const IN_PROGRESS_SECS: i64 = 60;
const KEEP_SECS: i64 = 24 * 3600;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Record {
    id: String,
    body_hash: String,
    done: bool,
    #[serde(default)]
    status: u16,
    #[serde(default)]
    content_type: Option<String>,
    #[serde(default)]
    body: String,
    expires: i64,
}

impl Entity for Record {
    const TYPE: &'static str = "HttpIdempotency";
    fn pk(&self) -> String {
        crate::keys::idempotency_partition(crate::keys::HTTP_IDEMPOTENCY_SCOPE, &self.id)
    }
    fn sk(&self) -> String {
        crate::keys::IDEMPOTENCY_RECORD.into()
    }
    fn expires_at(&self) -> Option<i64> {
        Some(self.expires)
    }
}

/// What to do with a request that carries a key.
pub enum Outcome {
    /// Run the handler, then [`finish`] with its response.
    Run(Claimed),
    /// Answer this stored response again.
    Replay(ApiResponse),
}

pub struct Claimed {
    id: String,
    body_hash: String,
}

fn digest(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p);
    }
    hex::encode(h.finalize())
}

/// Claims the request's key, or answers the stored response of an earlier request with it.
pub async fn begin(ctx: &AppContext, req: &ApiRequest) -> ApiResult<Option<Outcome>> {
    let Some(key) = req.header(HEADER) else { return Ok(None) };
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::bad_request(
            "INVALID_IDEMPOTENCY_KEY",
            "An Idempotency-Key is 1 to 255 visible ASCII characters.",
        ));
    }
    let caller = req.identity.as_ref().map(|i| i.user_id.as_str()).unwrap_or("anonymous");
    let id = digest(&[caller.as_bytes(), key.as_bytes()]);
    let body_hash = digest(&[req.method.as_str().as_bytes(), req.path.as_bytes(), &req.body]);
    let now = ctx.now().timestamp();
    let record = Record {
        id: id.clone(),
        body_hash: body_hash.clone(),
        done: false,
        status: 0,
        content_type: None,
        body: String::new(),
        expires: now + IN_PROGRESS_SECS,
    };
    let claim = Write::put(&record)?
        .when("attribute_not_exists(PK) OR (done = :no AND expires < :now)", TableError::Claimed)
        .value(":no", crate::table::b(false))
        .value(":now", n(now));
    if ctx.table.write(claim).await.tolerate(&TableError::Claimed)?.is_some() {
        return Ok(Some(Outcome::Run(Claimed { id, body_hash })));
    }
    let stored: Option<Record> = ctx.table.get(&record.key()).await?;
    match stored {
        Some(r) if r.body_hash != body_hash => Err(IdempotencyError::Reused.into()),
        Some(r) if r.done => {
            let mut res = ApiResponse {
                status: StatusCode::from_u16(r.status).unwrap_or(StatusCode::OK),
                headers: Default::default(),
                body: r.body.into_bytes(),
            };
            if let Some(ct) = r.content_type.and_then(|c| HeaderValue::from_str(&c).ok()) {
                res.headers.insert(header::CONTENT_TYPE, ct);
            }
            res.headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
            Ok(Some(Outcome::Replay(res)))
        }
        _ => Err(TableError::Claimed.into()),
    }
}

/// Stores a successful response for the key; any other outcome frees the key for a retry.
pub async fn finish(ctx: &AppContext, claimed: Claimed, response: &ApiResponse) -> ApiResult<()> {
    let key = crate::keys::idempotency_key(crate::keys::HTTP_IDEMPOTENCY_SCOPE, &claimed.id);
    if !response.status.is_success() {
        return ctx.table.write(Write::delete(key)).await;
    }
    let record = Record {
        id: claimed.id,
        body_hash: claimed.body_hash,
        done: true,
        status: response.status.as_u16(),
        content_type: response.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_string),
        body: String::from_utf8_lossy(&response.body).into_owned(),
        expires: ctx.now().timestamp() + KEEP_SECS,
    };
    ctx.table.write(Write::put(&record)?).await
}
