//! Sessions: an access token (JWT) plus a refresh token that is opaque, stored only as a hash,
//! lives 14 days and is replaced on every use. Each sign-in starts a token *family*; presenting a
//! token of the family that was already replaced revokes the whole family.
//!
//! | item | PK | SK |
//! |---|---|---|
//! | family | `USER#<id>` | `SESSION#<family>` (generation, revoked; TTL) |
//! | refresh token | `REFRESH#<sha256(token)>` | `TOKEN` (user, family, generation; TTL) |

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use identity_contract::keys;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use shared::auth::TokenScope;
use shared::error::Tolerate;
use shared::table::{Entity, Key, Query, Write, b, n};
use shared::{ApiError, ApiResult, AppContext};
use utoipa::ToSchema;

use crate::error::IdentityError;
use crate::model::{AccountStatus, User, UserView};

pub const REFRESH_TTL_SECS: i64 = 14 * 24 * 3600;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Family {
    pub user_id: String,
    pub family_id: String,
    pub generation: u32,
    pub revoked: bool,
    pub created_at: i64,
    pub expires: i64,
}

impl Entity for Family {
    const TYPE: &'static str = "SessionFamily";
    fn pk(&self) -> String {
        keys::user_partition(&self.user_id)
    }
    fn sk(&self) -> String {
        keys::session_sort(&self.family_id)
    }
    fn expires_at(&self) -> Option<i64> {
        Some(self.expires)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefreshToken {
    pub digest: String,
    pub user_id: String,
    pub family_id: String,
    pub generation: u32,
    pub expires: i64,
}

impl Entity for RefreshToken {
    const TYPE: &'static str = "RefreshToken";
    fn pk(&self) -> String {
        keys::refresh_partition(&self.digest)
    }
    fn sk(&self) -> String {
        keys::refresh_key(&self.digest).sk
    }
    fn expires_at(&self) -> Option<i64> {
        Some(self.expires)
    }
}

/// What a successful sign-in answers.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenPair {
    pub access_token: String,
    /// Absent when only a password change is allowed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds the access token lives.
    pub expires_in: i64,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub password_change_required: bool,
    pub user: UserView,
}

fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn new_secret() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

fn family_key(user_id: &str, family_id: &str) -> Key {
    keys::session_key(user_id, family_id)
}

fn token_item(user_id: &str, family_id: &str, generation: u32, token: &str, now: i64) -> RefreshToken {
    RefreshToken {
        digest: digest(token),
        user_id: user_id.into(),
        family_id: family_id.into(),
        generation,
        expires: now + REFRESH_TTL_SECS,
    }
}

/// Starts a new family for `user` and answers the first pair.
pub async fn start(ctx: &AppContext, user: &User) -> ApiResult<TokenPair> {
    let now = ctx.now().timestamp();
    let family_id = shared::ids::new_id(ctx.now());
    let refresh = new_secret();
    let family = Family {
        user_id: user.id.clone(),
        family_id: family_id.clone(),
        generation: 0,
        revoked: false,
        created_at: now,
        expires: now + REFRESH_TTL_SECS,
    };
    ctx.table
        .transact(vec![
            Write::put(&family)?.if_absent(ApiError::internal("session id collision")),
            Write::put(&token_item(&user.id, &family_id, 0, &refresh, now))?,
        ])
        .await?;
    pair(ctx, user, &family_id, Some(refresh), TokenScope::Full).await
}

/// An access token good only for changing the password (after a temporary-password sign-in).
pub async fn password_change_only(ctx: &AppContext, user: &User) -> ApiResult<TokenPair> {
    let now = ctx.now().timestamp();
    let sid = format!("pwchange-{}", shared::ids::new_id(ctx.now()));
    // A session of its own, revoked by the password change: the token works once.
    let session = Family {
        user_id: user.id.clone(),
        family_id: sid.clone(),
        generation: 0,
        revoked: false,
        created_at: now,
        expires: now + ctx.tokens.ttl_secs(),
    };
    ctx.table.write(Write::put(&session)?.if_absent(ApiError::internal("session id collision"))).await?;
    pair(ctx, user, &sid, None, TokenScope::PasswordChange).await
}

async fn pair(
    ctx: &AppContext,
    user: &User,
    sid: &str,
    refresh: Option<String>,
    scope: TokenScope,
) -> ApiResult<TokenPair> {
    let access = ctx.tokens.issue(&user.id, user.role, scope, sid, ctx.now().timestamp())?;
    Ok(TokenPair {
        access_token: access,
        refresh_token: refresh,
        token_type: "Bearer",
        expires_in: ctx.tokens.ttl_secs(),
        password_change_required: scope == TokenScope::PasswordChange,
        user: UserView::of(ctx, user).await?,
    })
}

fn invalid() -> ApiError {
    IdentityError::InvalidRefreshToken.into()
}
fn reused() -> ApiError {
    IdentityError::RefreshTokenReused.into()
}

/// Exchanges a refresh token for a new pair. A token already replaced, or used twice at once,
/// revokes its family.
pub async fn rotate(ctx: &AppContext, token: &str) -> ApiResult<TokenPair> {
    let now = ctx.now().timestamp();
    let Some(stored) = ctx.table.get::<RefreshToken>(&keys::refresh_key(&digest(token))).await? else {
        return Err(invalid());
    };
    if stored.expires <= now {
        return Err(invalid());
    }
    let Some(family) = ctx.table.get::<Family>(&family_key(&stored.user_id, &stored.family_id)).await? else {
        return Err(invalid());
    };
    if family.revoked || family.expires <= now {
        return Err(invalid());
    }
    if family.generation != stored.generation {
        revoke(ctx, &stored.user_id, &stored.family_id).await?;
        return Err(reused());
    }
    let user = crate::model::load_user(ctx, &stored.user_id).await?.ok_or_else(invalid)?;
    match user.status {
        AccountStatus::Withdrawn => return Err(invalid()),
        AccountStatus::Deactivated => return Err(IdentityError::AccountDeactivated.into()),
        _ => {}
    }
    let next = new_secret();
    let generation = stored.generation + 1;
    let advance = Write::update(family_key(&stored.user_id, &stored.family_id), "SET generation = :next")
        .value(":g", n(stored.generation))
        .value(":next", n(generation))
        .value(":no", b(false))
        .when("generation = :g AND revoked = :no", reused());
    match ctx
        .table
        .transact(vec![advance, Write::put(&token_item(&stored.user_id, &stored.family_id, generation, &next, now))?])
        .await
    {
        Ok(()) => pair(ctx, &user, &stored.family_id, Some(next), TokenScope::Full).await,
        Err(e) if e.is(&IdentityError::RefreshTokenReused) => {
            // Another request used the same token at the same moment: one of them is not the owner.
            revoke(ctx, &stored.user_id, &stored.family_id).await?;
            Err(e)
        }
        Err(e) => Err(e),
    }
}

/// Revokes the family a refresh token belongs to (sign-out). Unknown tokens are ignored.
pub async fn sign_out(ctx: &AppContext, token: &str) -> ApiResult<()> {
    if let Some(stored) = ctx.table.get::<RefreshToken>(&keys::refresh_key(&digest(token))).await? {
        revoke(ctx, &stored.user_id, &stored.family_id).await?;
    }
    Ok(())
}

pub async fn revoke(ctx: &AppContext, user_id: &str, family_id: &str) -> ApiResult<()> {
    let write = Write::update(family_key(user_id, family_id), "SET revoked = :yes")
        .value(":yes", b(true))
        .if_present(IdentityError::SessionNotFound);
    // Nothing to revoke is fine: sign-out of an unknown session succeeds.
    ctx.table.write(write).await.tolerate(&IdentityError::SessionNotFound)?;
    Ok(())
}

/// Revokes every family of the user except `keep`.
pub async fn revoke_all(ctx: &AppContext, user_id: &str, keep: Option<&str>) -> ApiResult<()> {
    let mut cursor = None;
    loop {
        let page = ctx
            .table
            .query::<Family>(
                &Query::partition(keys::user_partition(user_id))
                    .begins_with(keys::SESSION_PREFIX)
                    .limit(100)
                    .cursor(cursor),
            )
            .await?;
        let mut writes: Vec<Write> = page
            .items
            .iter()
            .filter(|f| !f.revoked && Some(f.family_id.as_str()) != keep)
            .map(|f| Write::update(f.key(), "SET revoked = :yes").value(":yes", b(true)))
            .collect();
        while !writes.is_empty() {
            let rest = writes.split_off(writes.len().min(25));
            ctx.table.transact(writes).await?;
            writes = rest;
        }
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return Ok(()),
        }
    }
}
