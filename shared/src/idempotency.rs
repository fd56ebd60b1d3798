//! Idempotency records, Powertools-style: a worker claims a business key before acting, marks it
//! done after, and releases it when the action failed, so a redelivered message acts once.

use serde::{Deserialize, Serialize};

use crate::context::AppContext;
use crate::error::{ApiError, ApiResult};
use crate::table::{Entity, TableError, Write, n, s};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct IdempotencyRecord {
    scope: String,
    key: String,
    status: String,
    expires: i64,
}

impl Entity for IdempotencyRecord {
    const TYPE: &'static str = "Idempotency";
    fn pk(&self) -> String {
        crate::keys::idempotency_partition(&self.scope, &self.key)
    }
    fn sk(&self) -> String {
        crate::keys::IDEMPOTENCY_RECORD.into()
    }
    fn expires_at(&self) -> Option<i64> {
        Some(self.expires)
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum Claim {
    /// The caller owns the key now and must call [`complete`] or [`release`].
    Acquired,
    /// The work was already done.
    AlreadyDone,
}

/// How long a claim in progress blocks others (a crashed worker's claim frees itself).
const IN_PROGRESS_SECS: i64 = 60;
/// How long a completed record is kept.
const DONE_SECS: i64 = 7 * 24 * 3600;

/// Claims `key` in `scope`. Another worker's live claim is an error (retry later).
pub async fn claim(ctx: &AppContext, scope: &str, key: &str) -> ApiResult<Claim> {
    let now = ctx.now().timestamp();
    let record = IdempotencyRecord {
        scope: scope.into(),
        key: key.into(),
        status: "IN_PROGRESS".into(),
        expires: now + IN_PROGRESS_SECS,
    };
    let write = Write::put(&record)?
        .when("attribute_not_exists(PK) OR (#st = :prog AND #exp < :now)", TableError::Claimed)
        .name("#st", "status")
        .name("#exp", "expires")
        .value(":prog", s("IN_PROGRESS"))
        .value(":now", n(now));
    match ctx.table.write(write).await {
        Ok(()) => Ok(Claim::Acquired),
        Err(e) if e.is(&TableError::Claimed) => {
            let existing: Option<IdempotencyRecord> = ctx.table.get(&record.key()).await?;
            match existing {
                Some(r) if r.status == "DONE" => Ok(Claim::AlreadyDone),
                _ => Err(ApiError::conflict("IDEMPOTENCY_HELD", format!("{scope}/{key} is being processed"))),
            }
        }
        Err(e) => Err(e),
    }
}

pub async fn complete(ctx: &AppContext, scope: &str, key: &str) -> ApiResult<()> {
    let record = IdempotencyRecord {
        scope: scope.into(),
        key: key.into(),
        status: "DONE".into(),
        expires: ctx.now().timestamp() + DONE_SECS,
    };
    ctx.table.write(Write::put(&record)?).await
}

pub async fn release(ctx: &AppContext, scope: &str, key: &str) -> ApiResult<()> {
    ctx.table.write(Write::delete(crate::keys::idempotency_key(scope, key))).await
}
