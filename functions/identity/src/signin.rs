//! Signing in and out: password sign-in with lockout, refresh-token rotation, sign-out.

use std::sync::Arc;

use serde::Deserialize;
use shared::handler;
use shared::handler::{Json, NoContent, Okay, Source};
use shared::ratelimit::{self, Limit};
use shared::routes::{Access, Function, Method, Permission, said};
use shared::table::{Write, n, s, time};
use shared::validate::{Validate, Validator};
use shared::{ApiError, ApiResult, AppContext};
use utoipa::ToSchema;

use crate::error::IdentityError;
use crate::model::{AccountStatus, LOCK_AFTER_FAILURES, User, find_by_email, lock_duration, normalize_email, user_key};
use crate::sessions::{self, TokenPair};
use crate::{PKG, password};

const LOGIN_PER_EMAIL: Limit = Limit { action: "login-email", max: 20, window_secs: 600 };

pub static LOGIN: Function =
    Function::http(Method::Post, "/auth/login", "auth-login", PKG, Access::Public, handler!(login))
        .permissions(&[Permission::TableRead, Permission::TableWrite, Permission::MediaRead])
        .doc("auth", "Sign in with email and password")
        .example(r#"{"email":"mina@example.com","password":"walks4ever"}"#)
        .responses(&[said(200, "Signed in.")])
        .errors(&[401, 403, 423, 429]);

pub static REFRESH: Function =
    Function::http(Method::Post, "/auth/refresh", "auth-refresh", PKG, Access::Public, handler!(refresh))
        .permissions(&[Permission::TableRead, Permission::TableWrite, Permission::MediaRead])
        .doc("auth", "Exchange a refresh token for a new pair (the old one dies)")
        .example(r#"{"refreshToken":"opaque-token"}"#)
        .responses(&[said(200, "A new pair.")])
        .errors(&[401]);

pub static LOGOUT: Function =
    Function::http(Method::Post, "/auth/logout", "auth-logout", PKG, Access::Public, handler!(logout))
        .permissions(&[Permission::TableRead, Permission::TableWrite])
        .doc("auth", "Sign out: the refresh token's whole family is revoked")
        .example(r#"{"refreshToken":"opaque-token"}"#)
        .responses(&[said(204, "Signed out.")]);

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

impl Validate for LoginRequest {
    fn validate(&self, v: &mut Validator) {
        v.email("email", self.email.trim());
        v.text("password", &self.password, 1, 128);
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

impl Validate for RefreshRequest {
    fn validate(&self, v: &mut Validator) {
        v.text("refreshToken", &self.refresh_token, 1, 200);
    }
}

pub fn invalid_credentials() -> ApiError {
    IdentityError::InvalidCredentials.into()
}

pub fn locked() -> ApiError {
    ApiError::Locked {
        code: "ACCOUNT_LOCKED",
        detail: "Too many failed sign-ins. Try again later, reset your password, or sign in with a temporary password."
            .into(),
    }
}

/// The condition "not locked now" on the user item (`:now` is the current time).
const NOT_LOCKED: &str = "(attribute_not_exists(lockedUntil) OR lockedUntil <= :now)";

/// Counts a failed password. The fifth failure in a row locks password sign-in for
/// [`lock_duration`]; failures while locked are not counted. Both steps are conditional writes,
/// so concurrent guesses lock after exactly five.
pub async fn record_failure(ctx: &AppContext, user: &User) -> ApiError {
    ctx.metrics.count(crate::figures::SIGN_INS_FAILED, 1.0);
    let now = time(ctx.now());
    let count = Write::update(user_key(&user.id), "ADD failedLogins :one")
        .value(":one", n(1))
        .value(":last", n(LOCK_AFTER_FAILURES - 1))
        .value(":now", now.clone())
        .when(format!("{NOT_LOCKED} AND (attribute_not_exists(failedLogins) OR failedLogins < :last)"), locked());
    match ctx.table.write(count).await {
        Ok(()) => return invalid_credentials(),
        Err(ApiError::Locked { .. }) => {}
        Err(e) => return e,
    }
    // This is the fifth failure in a row, unless the account is locked already.
    let until = ctx.now() + lock_duration(user.lock_count);
    let lock = Write::update(user_key(&user.id), "SET lockedUntil = :until, failedLogins = :zero ADD lockCount :one")
        .value(":until", time(until))
        .value(":zero", n(0))
        .value(":one", n(1))
        .value(":last", n(LOCK_AFTER_FAILURES - 1))
        .value(":now", now)
        .when(format!("{NOT_LOCKED} AND failedLogins = :last"), locked());
    match ctx.table.write(lock).await {
        // The fifth failure still answers as a wrong password; the next attempt finds the lock.
        Ok(()) => invalid_credentials(),
        Err(e) => e,
    }
}

/// Starts the failure and lock counts again after a right password, unless the account got
/// locked meanwhile.
async fn clear_failures(ctx: &AppContext, user: &User) -> ApiResult<()> {
    if user.failed_logins == 0 && user.lock_count == 0 && user.locked_until.is_none() {
        return Ok(());
    }
    ctx.table
        .write(
            Write::update(user_key(&user.id), "SET failedLogins = :zero, lockCount = :zero REMOVE lockedUntil")
                .value(":zero", n(0))
                .value(":now", time(ctx.now()))
                .when(NOT_LOCKED, locked()),
        )
        .await
}

fn temp_password_valid(ctx: &AppContext, user: &User) -> bool {
    user.temp_password_hash.is_some() && user.temp_password_expires.is_some_and(|t| t > ctx.now())
}

/// States that forbid signing in even with the right password.
pub fn ensure_may_sign_in(user: &User) -> ApiResult<()> {
    match user.status {
        AccountStatus::Withdrawn => Err(IdentityError::AccountWithdrawn.into()),
        AccountStatus::Deactivated => Err(IdentityError::AccountDeactivated.into()),
        AccountStatus::PendingVerification => Err(IdentityError::EmailNotVerified.into()),
        AccountStatus::Active => Ok(()),
    }
}

/// The answer for an address with no password to check (no account, or a social-only one): the
/// same work and answer as a wrong password for an account — the hash comparison and a failure
/// count (on an item of its own) — so neither the answer nor its timing tells them apart.
async fn no_password_here(ctx: &AppContext, email: &str, password: &str) -> ApiError {
    ctx.metrics.count(crate::figures::SIGN_INS_FAILED, 1.0);
    let _ = password::verify(password, None).await;
    let count =
        Write::update(identity_contract::keys::login_failures_key(email), "ADD failedLogins :one SET #ttl = :ttl")
            .name("#ttl", shared::table::TTL_ATTRIBUTE)
            .value(":one", n(1))
            .value(":ttl", n(ctx.now().timestamp() + 3600));
    match ctx.table.write(count).await {
        Ok(()) => invalid_credentials(),
        Err(e) => e,
    }
}

pub async fn login(ctx: Arc<AppContext>, source: Source, Json(body): Json<LoginRequest>) -> ApiResult<Okay<TokenPair>> {
    let email = normalize_email(&body.email);
    ratelimit::hit_ip(&ctx, "login", source.as_deref()).await?;
    ratelimit::hit_from(&ctx, LOGIN_PER_EMAIL, &email, source.as_deref()).await?;

    let Some(user) = find_by_email(&ctx, &email).await? else {
        // The second read an account costs, then the same as a password-less account.
        let _ = ctx.table.get_item(&user_key(&shared::ids::new_id(ctx.now()))).await?;
        return Err(no_password_here(&ctx, &email, &body.password).await);
    };
    let temp_ok =
        temp_password_valid(&ctx, &user) && password::verify(&body.password, user.temp_password_hash.as_deref()).await;
    if temp_ok {
        ensure_may_sign_in(&user)?;
        // Single use: only the request that removes this very hash signs in with it.
        ctx.table
            .write(
                Write::update(
                    user_key(&user.id),
                    "SET failedLogins = :zero, lockCount = :zero REMOVE tempPasswordHash, tempPasswordExpires, lockedUntil",
                )
                .value(":zero", n(0))
                .value(":h", s(user.temp_password_hash.clone().unwrap_or_default()))
                .when("tempPasswordHash = :h", invalid_credentials()),
            )
            .await?;
        let pair = sessions::password_change_only(&ctx, &user).await?;
        return Ok(Okay(pair));
    }
    if user.is_locked(ctx.now()) {
        return Err(locked());
    }
    if user.password_hash.is_none() {
        // A Google/Kakao-only account answers as an unknown address does.
        return Err(no_password_here(&ctx, &email, &body.password).await);
    }
    if !password::verify(&body.password, user.password_hash.as_deref()).await {
        if user.status == AccountStatus::Withdrawn {
            return Err(invalid_credentials());
        }
        return Err(record_failure(&ctx, &user).await);
    }
    ensure_may_sign_in(&user)?;
    clear_failures(&ctx, &user).await?;
    Ok(Okay(sessions::start(&ctx, &user).await?))
}

pub async fn refresh(ctx: Arc<AppContext>, Json(body): Json<RefreshRequest>) -> ApiResult<Okay<TokenPair>> {
    Ok(Okay(sessions::rotate(&ctx, body.refresh_token.trim()).await?))
}

pub async fn logout(ctx: Arc<AppContext>, Json(body): Json<RefreshRequest>) -> ApiResult<NoContent> {
    sessions::sign_out(&ctx, body.refresh_token.trim()).await?;
    Ok(NoContent)
}
