//! Blocking accounts. A block is the account's `blockedUntil` / `blockedPermanently`, which every
//! write already checks (one read per request, with the session), so it bites on the very next
//! request — no waiting for tokens to expire; the account's open WebSocket connections get
//! `{type: "account.blocked", until, reason}` at once (and `account.unblocked` when lifted).
//! Temporary blocks are listed by their end; a job lifts them every minute.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use identity_contract::{AccountRecord, Block};
use serde::{Deserialize, Serialize};
use serde_json::json;
use shared::handler::{Caller, Json, Okay, Path, RequestId};
use shared::routes::{Access, Function, Job, Method, Permission};
use shared::validate::{Validate, Validator};
use shared::{ApiResult, AppContext, handler};
use utoipa::ToSchema;

use crate::PKG;
use crate::audit::record;
use crate::error::AdminError;

const WRITE: &[Permission] = &[Permission::TableRead, Permission::TableWrite, Permission::ManageConnections];

pub static BLOCK: Function =
    Function::http(Method::Put, "/admin/users/{id}/block", "admin-users-block", PKG, Access::Admin, handler!(block))
        .permissions(WRITE)
        .doc(
            "admin",
            "Block an account, for a while or for good: its next write is refused and its connections are told",
        )
        .example(r#"{"type":"TEMPORARY","seconds":86400,"reason":"욕설 신고 누적"}"#)
        .errors(&[404]);

pub static UNBLOCK: Function = Function::http(
    Method::Delete,
    "/admin/users/{id}/block",
    "admin-users-unblock",
    PKG,
    Access::Admin,
    handler!(unblock),
)
.permissions(WRITE)
.doc("admin", "Lift an account's block now")
.errors(&[404, 409]);

pub static AUTO_UNBLOCK: Function = Function::job(
    "admin-auto-unblock",
    PKG,
    Job {
        name: "auto-unblock",
        schedule: "rate(1 minute)",
        handler: |ctx| Box::pin(lift_ended(ctx)),
        summary: "Lifts the temporary blocks that have ended, tells the accounts, and records it",
    },
)
.permissions(WRITE)
.timeout(120);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BlockType {
    Temporary,
    Permanent,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BlockRequest {
    #[serde(rename = "type")]
    pub kind: BlockType,
    /// How long a temporary block lasts: 60 seconds to 365 days.
    #[serde(default)]
    pub seconds: Option<i64>,
    pub reason: String,
}

const MAX_SECONDS: i64 = 365 * 24 * 3600;

impl Validate for BlockRequest {
    fn validate(&self, v: &mut Validator) {
        v.line("reason", &self.reason, 1, 200);
        if self.kind == BlockType::Temporary {
            v.check(
                self.seconds.is_some_and(|s| (60..=MAX_SECONDS).contains(&s)),
                "seconds",
                "OUT_OF_RANGE",
                "60 seconds to 365 days",
            );
        }
    }
}

/// An account's block as administrators see it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BlockView {
    pub user_id: String,
    pub blocked: bool,
    pub permanent: bool,
    pub until: Option<DateTime<Utc>>,
    pub reason: Option<String>,
}

pub(crate) fn snapshot(s: &AccountRecord, now: DateTime<Utc>) -> serde_json::Value {
    let until = s.blocked_until.filter(|u| *u > now);
    json!({"permanent": s.blocked_permanently, "until": until, "reason": s.block_reason})
}

pub(crate) async fn target(ctx: &AppContext, admin: &str, id: &str) -> ApiResult<AccountRecord> {
    if id == admin {
        return Err(AdminError::CannotBlockSelf.into());
    }
    identity_contract::block_state(ctx, id).await?.ok_or_else(|| AdminError::UserNotFound.into())
}

#[derive(Serialize)]
struct BlockedFrame<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    until: Option<DateTime<Utc>>,
    reason: &'a str,
}

pub async fn block(
    ctx: Arc<AppContext>,
    caller: Caller,
    Path(id): Path<String>,
    request: RequestId,
    Json(body): Json<BlockRequest>,
) -> ApiResult<Okay<BlockView>> {
    let before = target(&ctx, &caller.user_id, &id).await?;
    if before.role == shared::auth::Role::ADMIN {
        return Err(AdminError::CannotBlockAdmin.into());
    }
    let now = ctx.now();
    let reason = body.reason.trim().to_string();
    let (block, until) = match body.kind {
        BlockType::Permanent => (Block::Permanent, None),
        BlockType::Temporary => {
            let until = now + Duration::seconds(body.seconds.unwrap_or(60));
            (Block::Until(until), Some(until))
        }
    };
    let after = json!({"permanent": until.is_none(), "until": until, "reason": reason});
    let (_, audit) =
        record(&ctx, &caller.user_id, "USER_BLOCK", "USER", &id, snapshot(&before, now), after, Some(&request.0))?;
    ctx.table
        .transact(vec![identity_contract::block(&id, block, &reason, AdminError::CannotBlockAdmin), audit])
        .await?;
    tell_blocked(&ctx, &id, until, &reason).await;
    Ok(Okay(BlockView { user_id: id, blocked: true, permanent: until.is_none(), until, reason: Some(reason) }))
}

/// Tells `user`'s open connections that they are blocked (until `until`, or for good), so the
/// client can show why at once. The block is stored already: a failed push is logged only.
pub async fn tell_blocked(ctx: &AppContext, user: &str, until: Option<DateTime<Utc>>, reason: &str) {
    let frame = BlockedFrame { kind: "account.blocked", until, reason };
    if let Err(e) = shared::push::to_user(ctx, user, &frame).await {
        tracing::warn!(error = %e, "a block was stored but not pushed");
    }
}

/// The longest temporary block, in seconds.
pub const MAX_BLOCK_SECONDS: i64 = MAX_SECONDS;

pub async fn unblock(
    ctx: Arc<AppContext>,
    caller: Caller,
    Path(id): Path<String>,
    request: RequestId,
) -> ApiResult<Okay<BlockView>> {
    let before = target(&ctx, &caller.user_id, &id).await?;
    let now = ctx.now();
    if !before.blocked_permanently && before.blocked_until.is_none_or(|u| u <= now) {
        return Err(AdminError::NotBlocked.into());
    }
    let (_, audit) = record(
        &ctx,
        &caller.user_id,
        "USER_UNBLOCK",
        "USER",
        &id,
        snapshot(&before, now),
        json!({"permanent": false, "until": null, "reason": null}),
        Some(&request.0),
    )?;
    ctx.table.transact(vec![identity_contract::unblock(&id, None, AdminError::UserNotFound), audit]).await?;
    if let Err(e) = shared::push::to_user(&ctx, &id, &json!({"type": "account.unblocked", "auto": false})).await {
        tracing::warn!(error = %e, "an unblock was stored but not pushed");
    }
    Ok(Okay(BlockView { user_id: id, blocked: false, permanent: false, until: None, reason: None }))
}

/// Lifts every temporary block that has ended: each in one transaction with its audit record and
/// the account's inbox notice, conditional on the block still ending then (an administrator may
/// have changed it meanwhile).
pub async fn lift_ended(ctx: Arc<AppContext>) -> ApiResult<serde_json::Value> {
    let now = ctx.now();
    let mut lifted = 0;
    for (user, until) in identity_contract::ended_blocks(&ctx, now).await? {
        let (_, audit) = record(
            &ctx,
            notifications_contract::SYSTEM_ACTOR,
            "USER_AUTO_UNBLOCK",
            "USER",
            &user,
            json!({"permanent": false, "until": until}),
            json!({"permanent": false, "until": null}),
            None,
        )?;
        let mut writes = vec![identity_contract::unblock(&user, Some(until), AdminError::BlockChanged), audit];
        writes.extend(notifications_contract::outbox(
            &ctx,
            vec![notifications_contract::NotificationEvent {
                event_id: format!("unblocked-{user}-{}", until.timestamp_millis()),
                kind: notifications_contract::NotificationKind::AccountUnblocked,
                actor_id: notifications_contract::SYSTEM_ACTOR.into(),
                recipient_id: user.clone(),
                target_type: "USER".into(),
                target_id: user.clone(),
                excerpt: None,
            }],
        )?);
        match ctx.table.transact(writes).await {
            Ok(()) => {
                lifted += 1;
                let frame = json!({"type": "account.unblocked", "auto": true});
                if let Err(e) = shared::push::to_user(&ctx, &user, &frame).await {
                    tracing::warn!(error = %e, "an unblock was stored but not pushed");
                }
            }
            Err(e) if e.is(&AdminError::BlockChanged) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(json!({"lifted": lifted}))
}
