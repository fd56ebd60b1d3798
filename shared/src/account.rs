//! What every request needs to know about its caller: whether the session is still signed in,
//! and whether the account may write. Read with one batch read of the account and session items
//! (the identity package owns the rest of those items).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::auth::Identity;
use crate::context::AppContext;
use crate::error::{ApiError, ApiResult};

pub use crate::keys::{session_key, user_key};

/// Where an account stands. Only an active account signs in; a withdrawn one keeps its id (its
/// content shows "(알 수 없음)") but nothing else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AccountStatus {
    PendingVerification,
    Active,
    Withdrawn,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AccountFlags {
    status: AccountStatus,
    #[serde(default)]
    blocked_until: Option<DateTime<Utc>>,
    #[serde(default)]
    blocked_permanently: bool,
    #[serde(default)]
    role: Option<crate::auth::Role>,
    #[serde(default)]
    advertiser_status: Option<String>,
}

/// What the guard found out about the caller's account, for the route's own rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    /// An advertiser an administrator has not approved (yet, or at all).
    pub unapproved_advertiser: bool,
    /// The role the account holds now (a token carries the role it was issued with).
    pub role: Option<crate::auth::Role>,
}

impl AccountFlags {
    fn standing(&self) -> Standing {
        Standing {
            role: self.role,
            unapproved_advertiser: self.role == Some(crate::auth::Role::Advertiser)
                && self.advertiser_status.as_deref() != Some("APPROVED"),
        }
    }
}

#[derive(Debug, Deserialize)]
struct SessionFlags {
    #[serde(default)]
    revoked: bool,
    #[serde(default)]
    expires: i64,
}

/// Checks, for every request that carries a token, that its session is still signed in and its
/// account still exists (one BatchGetItem of both items): a token whose session was signed out,
/// whose refresh token was reused, or whose account withdrew or changed its password elsewhere
/// stops working at once, not when it expires. Writes are also refused to blocked accounts.
pub async fn ensure_signed_in(ctx: &AppContext, identity: &Identity, write: bool) -> ApiResult<Standing> {
    let found = ctx
        .table
        .batch_get_items(&[user_key(&identity.user_id), session_key(&identity.user_id, &identity.session_id)])
        .await?;
    let (account, session) = (found[0].clone(), found[1].clone());
    let flags = live_account(account)?;
    let session: Option<SessionFlags> = session.map(serde_dynamo::from_item).transpose()?;
    match session {
        Some(s) if !s.revoked && s.expires > ctx.now().timestamp() => {}
        _ => return Err(ApiError::unauthorized("SESSION_REVOKED", "This session was signed out. Sign in again.")),
    }
    if write {
        ensure_not_blocked(ctx, &flags)?;
    }
    Ok(flags.standing())
}

/// The same check for a caller known by id rather than by token (a WebSocket frame's sender):
/// the account still exists and is not withdrawn, and for writes is not blocked.
pub async fn ensure_active(ctx: &AppContext, user_id: &str, write: bool) -> ApiResult<()> {
    let flags = live_account(ctx.table.get_item(&user_key(user_id)).await?)?;
    if write {
        ensure_not_blocked(ctx, &flags)?;
    }
    Ok(())
}

/// The account's flags, if it still exists and has not withdrawn.
fn live_account(account: Option<crate::table::Item>) -> ApiResult<AccountFlags> {
    let Some(account) = account else {
        return Err(ApiError::unauthorized("ACCOUNT_NOT_FOUND", "The account no longer exists."));
    };
    let flags: AccountFlags = serde_dynamo::from_item(account)?;
    if flags.status == AccountStatus::Withdrawn {
        return Err(ApiError::unauthorized("ACCOUNT_WITHDRAWN", "The account was withdrawn."));
    }
    Ok(flags)
}

fn ensure_not_blocked(ctx: &AppContext, flags: &AccountFlags) -> ApiResult<()> {
    let until = flags.blocked_until.filter(|u| *u > ctx.now());
    if flags.blocked_permanently || until.is_some() {
        let mut extra = serde_json::Map::new();
        extra.insert(
            "until".into(),
            until.map(|u| serde_json::Value::String(u.to_rfc3339())).unwrap_or(serde_json::Value::Null),
        );
        return Err(ApiError::Forbidden {
            code: "ACCOUNT_BLOCKED",
            detail: match until {
                Some(u) => format!("The account is blocked until {}.", u.to_rfc3339()),
                None => "The account is blocked permanently.".into(),
            },
            extra,
        });
    }
    Ok(())
}
