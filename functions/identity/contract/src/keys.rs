//! Identity's keys (see also the kernel's account and session keys, re-exported here).
//!
//! | item | PK | SK | index |
//! |---|---|---|---|
//! | account | `USER#<id>` | `PROFILE` | GSI1 `USERS` / `<id>`; GSI2 `NICK#<first letter>` / nickname; GSI3 `BLOCKS_EXPIRING` / `<end>#<id>` while temporarily blocked |
//! | email, nickname, social identity, business number claim | `EMAIL#<email>`, `NICKNAME#<nickname>`, `SOCIAL#<provider>#<subject>`, `BIZNO#<digits>` | `UNIQUE` | |
//! | emailed code | `USER#<id>` | `CODE#<purpose>` | |
//! | refresh token | `REFRESH#<digest>` | `TOKEN` | |
//! | OAuth ticket | `TICKET#<digest>` | `TICKET` | |
//! | failed sign-ins of an unknown email | `LOGINFAIL#<email>` | `COUNT` | |
//! | advertiser profile | `USER#<id>` | `ADVERTISER` | GSI1 `ADVERTISERS#<status>` / `<created>#<id>` |
//! | a member of a notice audience | `AUDIENCE#<audience>#<shard 0–15>` | `<user id>` | |

use shared::table::Key;

pub use shared::keys::{SESSION_PREFIX, session_key, session_sort, user_key, user_partition};

/// The sort key of the account item.
pub const PROFILE: &str = "PROFILE";
/// The sort key of claims.
pub const UNIQUE: &str = "UNIQUE";
/// The GSI1 partition listing every account.
pub const ALL_USERS: &str = "USERS";

/// The one form a nickname is stored and compared in: trimmed and NFKC-normalised, so a
/// decomposed (NFD) Hangul nickname and fullwidth Latin letters are the same nickname as their
/// usual forms.
pub fn normalize_nickname(nickname: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    nickname.trim().nfkc().collect()
}

pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// The GSI2 partition of nicknames starting like `lower` (its first letter).
pub fn nickname_partition(lower: &str) -> String {
    format!("NICK#{}", lower.chars().next().unwrap_or('_'))
}

/// GSI2 keys that let user search find nicknames by prefix: `NICK#<first letter>` / lower-case
/// nickname.
pub fn nickname_index(nickname: &str) -> (String, String) {
    let lower = normalize_nickname(nickname).to_lowercase();
    (nickname_partition(&lower), lower)
}

/// The partition of an email's claim.
/// The claim of a business registration number (one advertiser at a time; a rejected or
/// withdrawn advertiser frees it).
pub fn business_number_claim_partition(digits: &str) -> String {
    format!("BIZNO#{digits}")
}

pub fn email_claim_partition(email: &str) -> String {
    format!("EMAIL#{}", normalize_email(email))
}

/// The partition of a nickname's claim.
pub fn nickname_claim_partition(nickname: &str) -> String {
    format!("NICKNAME#{}", normalize_nickname(nickname).to_lowercase())
}

pub fn nickname_claim(nickname: &str) -> Key {
    Key::new(nickname_claim_partition(nickname), UNIQUE)
}

/// The partition of a social identity's claim.
pub fn social_claim_partition(provider: &str, subject: &str) -> String {
    format!("SOCIAL#{provider}#{subject}")
}

pub fn code_sort(purpose: &str) -> String {
    format!("CODE#{purpose}")
}

pub fn code_key(user_id: &str, purpose: &str) -> Key {
    Key::new(user_partition(user_id), code_sort(purpose))
}

pub fn refresh_partition(digest: &str) -> String {
    format!("REFRESH#{digest}")
}

pub fn refresh_key(digest: &str) -> Key {
    Key::new(refresh_partition(digest), "TOKEN")
}

pub fn ticket_partition(digest: &str) -> String {
    format!("TICKET#{digest}")
}

pub fn ticket_key(digest: &str) -> Key {
    Key::new(ticket_partition(digest), "TICKET")
}

pub fn login_failures_key(email: &str) -> Key {
    Key::new(format!("LOGINFAIL#{email}"), "COUNT")
}

/// GSI3 partition of the accounts whose temporary block runs out, by its end (the auto-unblock
/// job reads the ones that have passed with one Query).
pub const EXPIRING_BLOCKS: &str = "BLOCKS_EXPIRING";

pub fn expiring_block_sort(until: chrono::DateTime<chrono::Utc>, user: &str) -> String {
    format!("{}#{user}", until.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

/// One shard of a notice audience: its members, by id.
pub fn audience_partition(audience: &str, shard: u32) -> String {
    format!("AUDIENCE#{audience}#{shard}")
}

/// The sort key of an advertiser's company profile (in its account's partition).
pub const ADVERTISER: &str = "ADVERTISER";

pub fn advertiser_key(user: &str) -> Key {
    Key::new(user_partition(user), ADVERTISER)
}

/// GSI1: advertisers with one approval status, oldest first.
pub fn advertisers_partition(status: &str) -> String {
    format!("ADVERTISERS#{status}")
}

pub fn advertiser_sort(created: chrono::DateTime<chrono::Utc>, user: &str) -> String {
    format!("{}#{user}", created.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}
