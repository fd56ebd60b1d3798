//! Accounts: the user item, the uniqueness items that guard emails, nicknames and social
//! identities, and what clients see of them.
//!
//! | item | PK | SK | notes |
//! |---|---|---|---|
//! | user | `USER#<id>` | `PROFILE` | GSI1 `USERS` / `<id>` (admin lists, newest first); TTL while pending verification |
//! | email, nickname, social id | `EMAIL#<email>`, `NICKNAME#<nickname>`, `SOCIAL#<provider>#<subject>` | `UNIQUE` | → user id; written in the same transaction as the user |

use crate::error::IdentityError;
use chrono::{DateTime, Utc};
use identity_contract::keys;
use serde::{Deserialize, Serialize};
use shared::auth::Role;
use shared::table::{Entity, Gsi, Key, Write, n, s};
use shared::validate::{Validate, Validator};
use shared::{ApiError, ApiResult, AppContext};
use utoipa::ToSchema;

/// Consecutive failed sign-ins that lock password sign-in for a while.
pub const LOCK_AFTER_FAILURES: u32 = 5;

/// How long the n-th lock in a row (counted from 0) lasts: it grows while the guessing goes on,
/// and every lock ends by itself, so nobody can lock an owner out for good. A successful sign-in,
/// a reset or a temporary password starts the count again.
pub fn lock_duration(previous_locks: u32) -> chrono::Duration {
    const MINUTES: [i64; 4] = [1, 5, 15, 60];
    chrono::Duration::minutes(MINUTES[(previous_locks as usize).min(MINUTES.len() - 1)])
}
/// How long an unverified account (and its email and nickname) is kept.
pub const PENDING_ACCOUNT_SECS: i64 = 24 * 3600;

pub use shared::account::AccountStatus;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AdvertiserStatus {
    PendingApproval,
    Approved,
    Rejected,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Google,
    Kakao,
}

impl Provider {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "google" => Some(Provider::Google),
            "kakao" => Some(Provider::Kakao),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Google => "google",
            Provider::Kakao => "kakao",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SocialLink {
    pub provider: Provider,
    pub subject: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: String,
    pub email: String,
    pub name: String,
    pub nickname: String,
    #[serde(default)]
    pub bio: String,
    #[serde(default)]
    pub profile_image_key: Option<String>,
    pub role: Role,
    pub status: AccountStatus,
    #[serde(default)]
    pub advertiser_status: Option<AdvertiserStatus>,
    /// Set while an advertiser waits for approval (the kernel's guard reads it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write_hold: Option<shared::account::WriteHold>,
    #[serde(default)]
    pub business_number: Option<String>,
    /// Argon2id PHC string; `None` for social-only accounts.
    #[serde(default)]
    pub password_hash: Option<String>,
    /// Failed sign-ins since the last success or lock.
    #[serde(default)]
    pub failed_logins: u32,
    /// Password sign-in is refused until then (absent, not NULL, when unlocked: conditions compare it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locked_until: Option<DateTime<Utc>>,
    /// Locks in a row without a successful sign-in: sets the next lock's length.
    #[serde(default)]
    pub lock_count: u32,
    #[serde(default)]
    pub temp_password_hash: Option<String>,
    #[serde(default)]
    pub temp_password_expires: Option<DateTime<Utc>>,
    #[serde(default)]
    pub blocked_until: Option<DateTime<Utc>>,
    #[serde(default)]
    pub blocked_permanently: bool,
    #[serde(default)]
    pub social: Vec<SocialLink>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(default)]
    pub password_changed_at: Option<DateTime<Utc>>,
    /// Kept by the pets domain (see `identity_contract::MainPet`); absent, never null, without
    /// pets (the first pet's write sets it only if absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub main_pet: Option<identity_contract::MainPet>,
    #[serde(default)]
    pub withdrawn_at: Option<DateTime<Utc>>,
    /// TTL of an account that never got verified.
    #[serde(default)]
    pub pending_expires: Option<i64>,
    /// Counters kept by the diary and social features.
    #[serde(default)]
    pub post_count: i64,
    #[serde(default)]
    pub follower_count: i64,
    #[serde(default)]
    pub following_count: i64,
    /// Private profile fields: the owner's and administrators' to see.
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub birth_date: Option<chrono::NaiveDate>,
    #[serde(default)]
    pub home_region: Option<identity_contract::HomeRegion>,
}

impl Entity for User {
    const TYPE: &'static str = "User";
    fn pk(&self) -> String {
        keys::user_partition(&self.id)
    }
    fn sk(&self) -> String {
        keys::PROFILE.into()
    }
    fn index_keys(&self) -> Vec<(Gsi, String, String)> {
        let (part, sort) = nickname_index(&self.nickname);
        vec![(Gsi::Gsi1, keys::ALL_USERS.into(), self.id.clone()), (Gsi::Gsi2, part, sort)]
    }
    fn expires_at(&self) -> Option<i64> {
        self.pending_expires
    }
}

/// Adds a nickname change to `update` (the account's write, its SET clauses in `sets`): the
/// account's nickname and its index entry, conditional on the nickname read; and to `writes`
/// the claim of the new nickname and the release of the old one when they differ in more than
/// case. A name equal to the current one changes nothing.
pub fn rename(
    mut update: Write,
    sets: &mut Vec<String>,
    writes: &mut Vec<Write>,
    user: &User,
    nickname: &str,
    now: DateTime<Utc>,
) -> ApiResult<Write> {
    let nick = normalize_nickname(nickname);
    if nick == user.nickname {
        return Ok(update);
    }
    sets.push("nickname = :nick, GSI2PK = :nickpart, GSI2SK = :nicksort".into());
    let (part, sort) = nickname_index(&nick);
    update = update
        .value(":nick", s(&nick))
        .value(":old", s(&user.nickname))
        .value(":nickpart", s(part))
        .value(":nicksort", s(sort))
        .when("nickname = :old", IdentityError::AccountChanged);
    if nickname_key(&nick) != nickname_key(&user.nickname) {
        let claim = Unique { key: nickname_key(&nick), user_id: user.id.clone(), pending_expires: None };
        writes.push(claim_unique(&claim, now.timestamp(), IdentityError::NicknameTaken)?);
        writes.push(release_unique(&nickname_key(&user.nickname), &user.id));
    }
    Ok(update)
}

impl User {
    pub fn is_locked(&self, now: DateTime<Utc>) -> bool {
        self.locked_until.is_some_and(|u| u > now)
    }

    /// The one status clients see, most significant first.
    pub fn visible_status(&self, now: DateTime<Utc>) -> &'static str {
        if self.status == AccountStatus::Withdrawn {
            "WITHDRAWN"
        } else if self.status == AccountStatus::Deactivated {
            "DEACTIVATED"
        } else if self.blocked_permanently {
            "BLOCKED_PERMANENTLY"
        } else if self.blocked_until.is_some_and(|u| u > now) {
            "BLOCKED_TEMPORARILY"
        } else if self.is_locked(now) {
            "LOCKED"
        } else if self.status == AccountStatus::PendingVerification {
            "PENDING_VERIFICATION"
        } else {
            "ACTIVE"
        }
    }
}

/// A uniqueness item: whoever writes it first owns the value.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Unique {
    pub key: String,
    pub user_id: String,
    #[serde(default)]
    pub pending_expires: Option<i64>,
}

impl Entity for Unique {
    const TYPE: &'static str = "Unique";
    fn pk(&self) -> String {
        self.key.clone()
    }
    fn sk(&self) -> String {
        keys::UNIQUE.into()
    }
    fn expires_at(&self) -> Option<i64> {
        self.pending_expires
    }
}

pub use identity_contract::keys::{nickname_index, normalize_email, normalize_nickname};

pub fn email_key(email: &str) -> String {
    keys::email_claim_partition(email)
}
pub fn business_number_key(digits: &str) -> String {
    keys::business_number_claim_partition(digits)
}
pub fn nickname_key(nickname: &str) -> String {
    keys::nickname_claim_partition(nickname)
}
pub fn social_key(provider: Provider, subject: &str) -> String {
    keys::social_claim_partition(provider.as_str(), subject)
}

/// Claims a unique value in a transaction: absent, or left over by an account that was never
/// verified and has expired.
pub fn claim_unique(u: &Unique, now: i64, on_taken: impl Into<ApiError>) -> ApiResult<Write> {
    Ok(Write::put(u)?
        .when("attribute_not_exists(PK) OR #ttl < :now", on_taken)
        .name("#ttl", shared::table::TTL_ATTRIBUTE)
        .value(":now", n(now)))
}

/// Releases a unique value, only if it is still this user's.
pub fn release_unique(key: &str, user_id: &str) -> Write {
    Write::delete(Key::new(key, keys::UNIQUE))
        .when("attribute_not_exists(PK) OR userId = :u", IdentityError::AccountChanged)
        .value(":u", s(user_id))
}

pub use identity_contract::keys::user_key;

/// Password-recovery requests (reset codes, temporary passwords), handled off the request path
/// so that answering them costs the same whether or not the account exists.
pub const RECOVERY: shared::queues::Queue =
    shared::queues::Queue { name: "recovery", visibility_timeout_secs: 30, max_receive_count: 3 };

pub async fn load_user(ctx: &AppContext, id: &str) -> ApiResult<Option<User>> {
    ctx.table.get::<User>(&user_key(id)).await
}

/// The user id a unique value points to, if it is claimed and not expired.
pub async fn owner_of(ctx: &AppContext, key: &str) -> ApiResult<Option<String>> {
    let now = ctx.now().timestamp();
    let u: Option<Unique> = ctx.table.get(&Key::new(key, keys::UNIQUE)).await?;
    Ok(u.filter(|u| u.pending_expires.is_none_or(|t| t > now)).map(|u| u.user_id))
}

/// The account registered with `email`.
pub async fn find_by_email(ctx: &AppContext, email: &str) -> ApiResult<Option<User>> {
    match owner_of(ctx, &email_key(email)).await? {
        Some(id) => load_user(ctx, &id).await,
        None => Ok(None),
    }
}

/// What the account holder sees of their account.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    pub id: String,
    pub email: String,
    pub name: String,
    pub nickname: String,
    pub bio: String,
    pub profile_image_url: Option<String>,
    pub role: Role,
    /// ACTIVE, PENDING_VERIFICATION, LOCKED, BLOCKED_TEMPORARILY, BLOCKED_PERMANENTLY or WITHDRAWN.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advertiser_status: Option<AdvertiserStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocked_until: Option<DateTime<Utc>>,
    pub has_password: bool,
    pub linked_providers: Vec<Provider>,
    /// Private (never on the public profile): a Korean phone number, normalised (`010-1234-5678`).
    pub phone: Option<String>,
    pub birth_date: Option<chrono::NaiveDate>,
    /// Where nearby market search starts when no position is sent.
    pub home_region: Option<identity_contract::HomeRegion>,
    pub created_at: DateTime<Utc>,
}

impl UserView {
    pub async fn of(ctx: &AppContext, u: &User) -> ApiResult<Self> {
        let profile_image_url = match &u.profile_image_key {
            Some(k) => Some(shared::media::url(ctx, k).await?),
            None => None,
        };
        Ok(Self {
            id: u.id.clone(),
            email: u.email.clone(),
            name: u.name.clone(),
            nickname: u.nickname.clone(),
            bio: u.bio.clone(),
            profile_image_url,
            role: u.role,
            status: u.visible_status(ctx.now()).to_string(),
            advertiser_status: u.advertiser_status,
            blocked_until: u.blocked_until.filter(|t| *t > ctx.now()),
            has_password: u.password_hash.is_some(),
            linked_providers: u.social.iter().map(|l| l.provider).collect(),
            phone: u.phone.clone(),
            birth_date: u.birth_date,
            home_region: u.home_region.clone(),
            created_at: u.created_at,
        })
    }
}

/// What anyone sees of a user: never the email.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PublicProfile {
    pub id: String,
    pub nickname: String,
    pub bio: String,
    pub profile_image_url: Option<String>,
    pub role: Role,
    pub post_count: i64,
    pub follower_count: i64,
    pub following_count: i64,
    pub main_pet: Option<ProfilePet>,
    pub created_at: DateTime<Utc>,
}

/// The main pet on a profile.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProfilePet {
    pub id: String,
    pub name: String,
    pub species_id: String,
    pub photo_url: Option<String>,
}

impl PublicProfile {
    pub async fn of(ctx: &AppContext, u: &User) -> ApiResult<Self> {
        let profile_image_url = match &u.profile_image_key {
            Some(k) => Some(shared::media::url(ctx, k).await?),
            None => None,
        };
        let main_pet = match &u.main_pet {
            Some(p) => Some(ProfilePet {
                id: p.id.clone(),
                name: p.name.clone(),
                species_id: p.species_id.clone(),
                photo_url: match &p.photo_key {
                    Some(k) => Some(shared::media::url(ctx, k).await?),
                    None => None,
                },
            }),
            None => None,
        };
        Ok(Self {
            id: u.id.clone(),
            nickname: u.nickname.clone(),
            bio: u.bio.clone(),
            profile_image_url,
            role: u.role,
            post_count: u.post_count.max(0),
            follower_count: u.follower_count.max(0),
            following_count: u.following_count.max(0),
            main_pet,
            created_at: u.created_at,
        })
    }
}

/// Nickname rules: 2–20 letters (any script), digits, `_` or `.`.
/// 2–20 characters, each a Hangul syllable, an ASCII letter or digit, `_` or `.` (after
/// normalisation). Other scripts are refused, so no nickname can pass for another with
/// look-alike letters (a Cyrillic `а` for a Latin `a`).
pub fn valid_nickname(nickname: &str) -> bool {
    let nickname = normalize_nickname(nickname);
    let n = nickname.chars().count();
    (2..=20).contains(&n)
        && nickname.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || ('가'..='힣').contains(&c))
}

/// The body of a request that names only an address.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EmailOnly {
    pub email: String,
}

impl Validate for EmailOnly {
    fn validate(&self, v: &mut Validator) {
        v.email("email", self.email.trim());
    }
}

#[derive(Debug, Serialize, ToSchema)]
/// The answer of a request whose work happens later (the email is on its way, or not).
pub struct Received {
    pub accepted: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lock_grows_while_the_guessing_goes_on_and_never_lasts_for_ever() {
        let minutes: Vec<i64> = (0..6).map(|n| lock_duration(n).num_minutes()).collect();
        assert_eq!(minutes, [1, 5, 15, 60, 60, 60]);
    }

    #[test]
    fn look_alike_nicknames_are_one_nickname_or_refused() {
        use unicode_normalization::UnicodeNormalization;
        let nfd: String = "산책왕".nfd().collect();
        assert_ne!(nfd, "산책왕");
        assert_eq!(nickname_key(&nfd), nickname_key("산책왕"));
        assert_eq!(nickname_key("ｍｉｎａ"), nickname_key("mina"), "fullwidth Latin is Latin");
        assert!(valid_nickname("ｍｉｎａ"));
        assert!(!valid_nickname("minа"), "a Cyrillic а among Latin letters");
        assert!(!valid_nickname("мина"));
        assert!(valid_nickname("산책_king.2"));
        assert!(!valid_nickname("산"), "loose jamo are not syllables");
    }
}
