//! One-time codes sent by email (address verification, password reset): stored as an HMAC,
//! with a lifetime, a cap on wrong tries enforced by a conditional counter, and a resend cooldown.
//!
//! Item: `USER#<id>` / `CODE#<purpose>`, TTL at expiry.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use shared::table::{Entity, Key, Write, n, s};
use shared::{ApiError, ApiResult, AppContext};

/// Wrong tries a code survives.
pub const MAX_ATTEMPTS: u32 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    VerifyEmail,
    ResetPassword,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::VerifyEmail => "VERIFY_EMAIL",
            Purpose::ResetPassword => "RESET_PASSWORD",
        }
    }
    pub fn ttl_secs(self) -> i64 {
        match self {
            Purpose::VerifyEmail => 5 * 60,
            Purpose::ResetPassword => 10 * 60,
        }
    }
}

/// Seconds between two sends of a code to one account.
pub const RESEND_COOLDOWN_SECS: i64 = 60;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Code {
    pub user_id: String,
    pub purpose: String,
    pub digest: String,
    pub attempts: u32,
    pub sent_at: i64,
    pub expires: i64,
}

impl Entity for Code {
    const TYPE: &'static str = "Code";
    fn pk(&self) -> String {
        format!("USER#{}", self.user_id)
    }
    fn sk(&self) -> String {
        format!("CODE#{}", self.purpose)
    }
    fn expires_at(&self) -> Option<i64> {
        Some(self.expires)
    }
}

pub fn key(user_id: &str, purpose: Purpose) -> Key {
    Key::new(format!("USER#{user_id}"), format!("CODE#{}", purpose.as_str()))
}

fn digest(ctx: &AppContext, user_id: &str, purpose: Purpose, code: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(&ctx.config.jwt_secret).expect("HMAC takes any key");
    mac.update(format!("code|{}|{user_id}|{code}", purpose.as_str()).as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The write that stores a new code (replacing an older one), and the code to send.
pub fn new_code(ctx: &AppContext, user_id: &str, purpose: Purpose) -> ApiResult<(Write, String)> {
    let code = crate::password::six_digit_code();
    let now = ctx.now().timestamp();
    let item = Code {
        user_id: user_id.into(),
        purpose: purpose.as_str().into(),
        digest: digest(ctx, user_id, purpose, &code),
        attempts: 0,
        sent_at: now,
        expires: now + purpose.ttl_secs(),
    };
    Ok((Write::put(&item)?, code))
}

/// Like [`new_code`], but refused (429 with the seconds to wait) within the cooldown of the last send.
pub async fn new_code_after_cooldown(ctx: &AppContext, user_id: &str, purpose: Purpose) -> ApiResult<(Write, String)> {
    let now = ctx.now().timestamp();
    if let Some(existing) = ctx.table.get::<Code>(&key(user_id, purpose)).await? {
        let wait = existing.sent_at + RESEND_COOLDOWN_SECS - now;
        if wait > 0 {
            return Err(ApiError::TooManyRequests { code: "RESEND_COOLDOWN", retry_after_secs: wait as u64 });
        }
    }
    let (write, code) = new_code(ctx, user_id, purpose)?;
    // The condition makes two concurrent resends send one code.
    let write = write
        .when(
            "attribute_not_exists(PK) OR sentAt <= :edge",
            ApiError::TooManyRequests { code: "RESEND_COOLDOWN", retry_after_secs: RESEND_COOLDOWN_SECS as u64 },
        )
        .value(":edge", n(now - RESEND_COOLDOWN_SECS));
    Ok((write, code))
}

fn wrong() -> ApiError {
    ApiError::bad_request("INVALID_CODE", "The code is wrong, expired, or has been tried too often. Ask for a new one.")
}

/// Checks `code`: every try is counted first (so concurrent guesses cannot exceed the cap), then
/// compared. On success returns the write that consumes the code, for the caller's transaction.
pub async fn check(ctx: &AppContext, user_id: &str, purpose: Purpose, code: &str) -> ApiResult<Write> {
    let now = ctx.now().timestamp();
    let count = Write::update(key(user_id, purpose), "ADD attempts :one")
        .value(":one", n(1))
        .value(":max", n(MAX_ATTEMPTS))
        .value(":now", n(now))
        .when("attribute_exists(PK) AND attempts < :max AND expiresAt > :now", wrong());
    let item = ctx.table.write_returning(count).await?.ok_or_else(wrong)?;
    let stored = Code::from_item(item)?;
    let given = digest(ctx, user_id, purpose, code.trim());
    // Digests are HMACs of the code: comparing them leaks nothing useful about the code.
    if stored.digest != given {
        return Err(wrong());
    }
    Ok(Write::delete(key(user_id, purpose)).when("digest = :d", wrong()).value(":d", s(given)))
}
