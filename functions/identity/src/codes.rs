//! One-time codes sent by email (address verification, password reset), stored as HMACs.
//!
//! Item: `USER#<id>` / `CODE#<purpose>`, TTL at the last code's expiry.
//!
//! Every code mailed stays usable until it expires, even after newer ones were sent, so nobody
//! but the mailbox's owner can make the code in it useless: not by asking for new codes, and not
//! by guessing wrong (wrong guesses are limited per email *and* source address by the caller's
//! rate limit, never by killing the code). Using one code consumes them all.

use crate::error::IdentityError;
use std::collections::BTreeMap;

use hmac::{Hmac, Mac};
use identity_contract::keys;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use shared::table::{Entity, Key, Write, n};
use shared::{ApiError, ApiResult, AppContext};

/// Codes of one purpose kept alive at once (the newest ones).
pub const MAX_LIVE_CODES: usize = 5;

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

/// Tries at a code per email and source address in a quarter of an hour (right or wrong: counted
/// before the comparison, so concurrent guesses cannot overshoot).
pub const TRIES: shared::ratelimit::Limit =
    shared::ratelimit::Limit { action: "code-tries", max: 5, window_secs: 15 * 60 };

/// Seconds between two sends of a code to one account.
pub const RESEND_COOLDOWN_SECS: i64 = 60;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Code {
    pub user_id: String,
    pub purpose: String,
    /// Live codes: digest → expiry (epoch seconds).
    #[serde(default)]
    pub codes: BTreeMap<String, i64>,
    pub sent_at: i64,
    pub expires: i64,
}

impl Entity for Code {
    const TYPE: &'static str = "Code";
    fn pk(&self) -> String {
        keys::user_partition(&self.user_id)
    }
    fn sk(&self) -> String {
        keys::code_sort(&self.purpose)
    }
    fn expires_at(&self) -> Option<i64> {
        Some(self.expires)
    }
}

pub fn key(user_id: &str, purpose: Purpose) -> Key {
    keys::code_key(user_id, purpose.as_str())
}

fn digest(ctx: &AppContext, user_id: &str, purpose: Purpose, code: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(&ctx.config.jwt_secret).expect("HMAC takes any key");
    mac.update(format!("code|{}|{user_id}|{code}", purpose.as_str()).as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The item holding a new code beside the still-live ones of `previous`.
fn with_new_code(ctx: &AppContext, user_id: &str, purpose: Purpose, previous: Option<Code>) -> (Code, String) {
    let code = crate::password::six_digit_code();
    let now = ctx.now().timestamp();
    let mut live: Vec<(String, i64)> =
        previous.map(|p| p.codes.into_iter().filter(|(_, exp)| *exp > now).collect()).unwrap_or_default();
    live.sort_by_key(|(_, exp)| std::cmp::Reverse(*exp));
    live.truncate(MAX_LIVE_CODES - 1);
    let expires = now + purpose.ttl_secs();
    live.push((digest(ctx, user_id, purpose, &code), expires));
    let item = Code {
        user_id: user_id.into(),
        purpose: purpose.as_str().into(),
        codes: live.into_iter().collect(),
        sent_at: now,
        expires,
    };
    (item, code)
}

/// The write that stores a first code (a new account), and the code to send.
pub fn new_code(ctx: &AppContext, user_id: &str, purpose: Purpose) -> ApiResult<(Write, String)> {
    let (item, code) = with_new_code(ctx, user_id, purpose, None);
    Ok((Write::put(&item)?, code))
}

/// A further code, kept beside the live ones; refused (429 with the seconds to wait) within the
/// cooldown of the last send.
pub async fn new_code_after_cooldown(ctx: &AppContext, user_id: &str, purpose: Purpose) -> ApiResult<(Write, String)> {
    let now = ctx.now().timestamp();
    let existing = ctx.table.get::<Code>(&key(user_id, purpose)).await?;
    if let Some(e) = &existing {
        let wait = e.sent_at + RESEND_COOLDOWN_SECS - now;
        if wait > 0 {
            return Err(ApiError::TooManyRequests { code: "RESEND_COOLDOWN", retry_after_secs: wait as u64 });
        }
    }
    let seen = existing.as_ref().map(|e| e.sent_at);
    let (item, code) = with_new_code(ctx, user_id, purpose, existing);
    let cooldown = ApiError::TooManyRequests { code: "RESEND_COOLDOWN", retry_after_secs: RESEND_COOLDOWN_SECS as u64 };
    // Two concurrent sends: only the one that saw the current item writes (one code is sent).
    let write = match seen {
        Some(sent) => Write::put(&item)?.when("sentAt = :seen", cooldown).value(":seen", n(sent)),
        None => Write::put(&item)?.if_absent(cooldown),
    };
    Ok((write, code))
}

pub fn wrong() -> ApiError {
    IdentityError::InvalidCode.into()
}

/// Checks `code` against the live codes. On success returns the write that consumes every code
/// of this purpose, for the caller's transaction (single use: a second use finds none).
pub async fn check(ctx: &AppContext, user_id: &str, purpose: Purpose, code: &str) -> ApiResult<Write> {
    let now = ctx.now().timestamp();
    let stored = ctx.table.get::<Code>(&key(user_id, purpose)).await?.ok_or_else(wrong)?;
    let given = digest(ctx, user_id, purpose, code.trim());
    // Digests are HMACs of the codes: looking one up leaks nothing useful about a code.
    match stored.codes.get(&given) {
        Some(expires) if *expires > now => {}
        _ => return Err(wrong()),
    }
    Ok(Write::delete(key(user_id, purpose))
        .when("attribute_exists(#codes.#d) AND #codes.#d > :now", wrong())
        .name("#codes", "codes")
        .name("#d", &given)
        .value(":now", n(now)))
}
