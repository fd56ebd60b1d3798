//! What every request needs to know about its caller: whether the session is still signed in,
//! and whether the account may write. Read with one batch read of the account and session items
//! (the identity package owns the rest of those items).

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::auth::Identity;
use crate::context::AppContext;
use crate::error::{ApiError, ApiResult};
use crate::table::Key;

pub use crate::keys::{session_key, user_key};

/// Where an account stands. Only an active account signs in; a withdrawn one keeps its id (its
/// content shows "(알 수 없음)") but nothing else. A deactivated one is an administrator's
/// doing and can be undone: it cannot sign in, and its tokens stop working at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AccountStatus {
    PendingVerification,
    Active,
    Withdrawn,
    Deactivated,
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
    write_hold: Option<WriteHold>,
}

/// A hold on an account's writes, set on the account item (attribute [`WRITE_HOLD_ATTRIBUTE`]) by
/// the domain that owns the reason, such as an approval an administrator has not given yet.
/// While it stands every write answers 403 with its code and detail, except the routes marked
/// `open_while_held` (and the routes of the account's role, which the hold closes too).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriteHold {
    pub code: String,
    pub detail: String,
}

/// The account item's attribute holding its [`WriteHold`].
pub const WRITE_HOLD_ATTRIBUTE: &str = "writeHold";

/// What the guard found out about the caller's account, for the route's own rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing {
    /// What holds the account's writes, if anything does.
    pub write_hold: Option<WriteHold>,
    /// The role the account holds now (a token carries the role it was issued with).
    pub role: Option<crate::auth::Role>,
    /// Everyone the caller blocks or is blocked by (see [`hidden_key`]).
    pub hidden: HashSet<String>,
}

/// The people hidden from a user: one item per user with one number per other user — how many
/// of the two blocks between them stand (0, 1 or 2). The social graph keeps it in the same
/// transaction as each block and unblock, so that the guard reads it with the session in its one
/// batch read, and a list needs no query of its own to leave blocked people out. (A number, not
/// a set: unblocking one way while the other block stands must leave the other hidden.)
pub fn hidden_key(user_id: &str) -> crate::table::Key {
    crate::keys::hidden_key(user_id)
}

/// The attribute of [`hidden_key`]'s item that counts the blocks between its user and `other`.
pub fn hidden_attribute(other: &str) -> String {
    format!("{HIDDEN_PREFIX}{other}")
}

const HIDDEN_PREFIX: &str = "hide_";

/// The other users a hidden-people item counts (stored number for each).
pub fn hidden_counts(item: &crate::table::Item) -> impl Iterator<Item = (&str, i64)> + '_ {
    item.iter().filter_map(|(name, value)| {
        let other = name.strip_prefix(HIDDEN_PREFIX)?;
        let count = match value {
            crate::table::AttrValue::N(n) => n.parse().ok()?,
            _ => return None,
        };
        Some((other, count))
    })
}

impl AccountFlags {
    fn standing(self, hidden: HashSet<String>) -> Standing {
        Standing { role: self.role, write_hold: self.write_hold, hidden }
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
/// The same read brings whom the caller does not see ([`hidden_key`]), and the items at `also`
/// (what the route reads first), kept on the request's table handle for its handler.
pub async fn ensure_signed_in(ctx: &AppContext, identity: &Identity, write: bool, also: &[Key]) -> ApiResult<Standing> {
    let own = [
        user_key(&identity.user_id),
        session_key(&identity.user_id, &identity.session_id),
        hidden_key(&identity.user_id),
    ];
    let [found, more] = ctx.table.batch_get_groups([&own, also]).await?;
    ctx.table.prefetched(also, more);
    // The caller's account is the first read of many handlers ("my …").
    ctx.table.prefetched(&own[..1], found[..1].to_vec());
    let mut found = found.into_iter();
    let (account, session, hidden) =
        (found.next().flatten(), found.next().flatten(), found.next().flatten().unwrap_or_default());
    let flags = live_account(account)?;
    let session: Option<SessionFlags> = session.map(serde_dynamo::from_item).transpose()?;
    match session {
        Some(s) if !s.revoked && s.expires > ctx.now().timestamp() => {}
        _ => return Err(ApiError::unauthorized("SESSION_REVOKED", "This session was signed out. Sign in again.")),
    }
    if write {
        ensure_not_blocked(ctx, &flags)?;
    }
    let hidden = hidden_counts(&hidden).filter(|(_, n)| *n > 0).map(|(other, _)| other.to_string()).collect();
    Ok(flags.standing(hidden))
}

/// The same check for a caller known by id rather than by token (a WebSocket frame's sender):
/// the account still exists and is not withdrawn, and for writes is not blocked.
/// `also` are read in the same batch and kept for the caller's first read of each, as a route's
/// [`crate::routes::Function::reads_with_session`] items are.
pub async fn ensure_active(ctx: &AppContext, user_id: &str, write: bool, also: &[Key]) -> ApiResult<()> {
    let own = [user_key(user_id)];
    let [account, more] = ctx.table.batch_get_groups([&own, also]).await?;
    ctx.table.prefetched(also, more);
    ctx.table.prefetched(&own, account.clone());
    let flags = live_account(account.into_iter().next().flatten())?;
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
    if flags.status == AccountStatus::Deactivated {
        return Err(ApiError::unauthorized("ACCOUNT_DEACTIVATED", "An administrator deactivated the account."));
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
