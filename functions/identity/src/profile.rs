//! The account holder's own account, and public profiles.

use std::sync::Arc;

use serde::{Deserialize, Deserializer};
use shared::auth::TokenScope;
use shared::handler;
use shared::handler::{Caller, Json, NoContent, Okay, OptionalJson, Path};
use shared::routes::{Access, Function, Method, Permission, said};
use shared::table::{Write, s};
use shared::validate::{Validate, Validator};
use shared::{ApiError, ApiResult, AppContext};
use utoipa::ToSchema;

use crate::error::IdentityError;
use crate::model::{
    AccountStatus, PublicProfile, User, UserView, load_user, nickname_key, release_unique, user_key, valid_nickname,
};
use crate::{PKG, password, sessions};

pub static GET_ME: Function =
    Function::http(Method::Get, "/users/me", "users-get-me", PKG, Access::User, handler!(get_me))
        .permissions(&[Permission::TableRead, Permission::MediaRead])
        .doc("users", "My account")
        .responses(&[said(200, "My account.")]);

pub static UPDATE_ME: Function =
    Function::http(Method::Patch, "/users/me", "users-update-me", PKG, Access::User, handler!(update_me))
        .open_while_held()
        .permissions(&[Permission::TableRead, Permission::TableWrite, Permission::MediaRead])
        .doc(
            "users",
            "Change my name, nickname, bio, profile picture, phone, birth date or home region (null removes it)",
        )
        .example(r#"{"nickname":"mina_walks","bio":"두 마리 강아지와 산책해요"}"#)
        .responses(&[said(200, "My account.")])
        .errors(&[409]);

pub static CHANGE_PASSWORD: Function = Function::http(
    Method::Put,
    "/users/me/password",
    "users-change-password",
    PKG,
    Access::PasswordChange,
    handler!(change_password),
)
.permissions(&[Permission::TableRead, Permission::TableWrite])
.doc("users", "Change my password; every other session is signed out")
.example(r#"{"currentPassword":"walks4ever","newPassword":"newwalks5"}"#)
.responses(&[said(204, "Changed.")]);

pub static WITHDRAW: Function =
    Function::http(Method::Delete, "/users/me", "users-withdraw", PKG, Access::User, handler!(withdraw))
        .open_while_held()
        .permissions(&[Permission::TableRead, Permission::TableWrite])
        .doc("users", "Withdraw: the account can no longer sign in and its nickname is released")
        .example(r#"{"password":"walks4ever"}"#)
        .responses(&[said(204, "Withdrawn.")]);

pub static GET_USER: Function =
    Function::http(Method::Get, "/users/{id}", "users-get", PKG, Access::Public, handler!(get_user))
        .permissions(&[Permission::TableRead, Permission::MediaRead])
        .doc("users", "A user's public profile")
        .responses(&[said(200, "The profile.")])
        .errors(&[404]);

/// `null` → `Some(None)` (remove), absent → `None` (keep).
fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateMeRequest {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub nickname: Option<String>,
    #[serde(default)]
    pub bio: Option<String>,
    /// A key from `POST /uploads` with purpose `profile`; `null` removes the picture.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub profile_image_key: Option<Option<String>>,
    /// A Korean phone number (`010-1234-5678`, `01012345678`, `02-123-4567`, `+82 10 …`); stored
    /// normalised; `null` removes it. Private.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub phone: Option<Option<String>>,
    /// `YYYY-MM-DD`; `null` removes it. Private.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub birth_date: Option<Option<String>>,
    /// `{address, lat, lng}`; `null` removes it. Private.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<identity_contract::HomeRegion>)]
    pub home_region: Option<Option<identity_contract::HomeRegion>>,
}

/// A Korean phone number, normalised with dashes (`010-1234-5678`, `02-123-4567`,
/// `031-123-4567`), or `None` if it is not one. `+82` counts as the leading 0.
pub fn normalize_phone(raw: &str) -> Option<String> {
    let t = raw.trim();
    if t.is_empty() || !t.chars().all(|c| c.is_ascii_digit() || matches!(c, '-' | ' ' | '+' | '(' | ')')) {
        return None;
    }
    let mut digits: String = t.chars().filter(char::is_ascii_digit).collect();
    if t.starts_with('+') {
        digits = format!("0{}", digits.strip_prefix("82")?);
    }
    let (area, rest) = if let Some(rest) = digits.strip_prefix("02") {
        ("02", rest)
    } else if digits.len() >= 3 && digits.starts_with('0') {
        digits.split_at(3)
    } else {
        return None;
    };
    let mobile = ["010", "011", "016", "017", "018", "019"].contains(&area);
    let area_ok = mobile
        || area == "02"
        || (area.starts_with('0') && ["3", "4", "5", "6", "7"].iter().any(|d| area[1..].starts_with(d)));
    if !area_ok || !(7..=8).contains(&rest.len()) || (area == "010" && rest.len() != 8) {
        return None;
    }
    let (mid, last) = rest.split_at(rest.len() - 4);
    Some(format!("{area}-{mid}-{last}"))
}

fn parse_birth_date(raw: &str) -> Option<chrono::NaiveDate> {
    chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok().filter(|_| raw.len() == 10)
}

impl Validate for UpdateMeRequest {
    fn validate(&self, v: &mut Validator) {
        if let Some(n) = &self.name {
            v.line("name", n, 1, 50);
        }
        if let Some(nk) = &self.nickname {
            v.check(valid_nickname(nk.trim()), "nickname", "INVALID_FORMAT", "2–20 letters, digits, _ or .");
        }
        if let Some(b) = &self.bio {
            v.text("bio", b, 0, 300);
        }
        if let Some(Some(p)) = &self.phone {
            v.check(
                normalize_phone(p).is_some(),
                "phone",
                "INVALID_PHONE",
                "a Korean phone number, e.g. 010-1234-5678",
            );
        }
        if let Some(Some(d)) = &self.birth_date {
            let ok = parse_birth_date(d).is_some_and(|d| d >= chrono::NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(d));
            v.check(ok, "birthDate", "INVALID_FORMAT", "a date, YYYY-MM-DD, from 1900");
        }
        if let Some(Some(r)) = &self.home_region {
            v.line("homeRegion.address", &r.address, 1, 100);
            v.check((-90.0..=90.0).contains(&r.lat), "homeRegion.lat", "OUT_OF_RANGE", "−90 to 90");
            v.check((-180.0..=180.0).contains(&r.lng), "homeRegion.lng", "OUT_OF_RANGE", "−180 to 180");
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChangePasswordRequest {
    /// Required unless signed in with a temporary password.
    #[serde(default)]
    pub current_password: Option<String>,
    pub new_password: String,
}

impl Validate for ChangePasswordRequest {
    fn validate(&self, v: &mut Validator) {
        password::check_policy(v, "newPassword", &self.new_password);
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WithdrawRequest {
    /// Required for accounts with a password.
    #[serde(default)]
    pub password: Option<String>,
}

impl Validate for WithdrawRequest {
    fn validate(&self, _: &mut Validator) {}
}

fn wrong_password() -> ApiError {
    IdentityError::WrongPassword.into()
}

/// Checks the current password of a signed-in user: a wrong one counts toward the sign-in lock
/// like a wrong sign-in (a stolen token cannot be used to guess the password), and a locked
/// account is refused.
async fn check_current_password(ctx: &AppContext, user: &User, given: &str) -> ApiResult<()> {
    if user.is_locked(ctx.now()) {
        return Err(crate::signin::locked());
    }
    if password::verify(given, user.password_hash.as_deref()).await {
        return Ok(());
    }
    match crate::signin::record_failure(ctx, user).await {
        e @ ApiError::Locked { .. } => Err(e),
        _ => Err(wrong_password()),
    }
}

/// The caller's account, which must still exist.
async fn me(ctx: &AppContext, caller: &Caller) -> ApiResult<User> {
    match load_user(ctx, &caller.user_id).await? {
        Some(u) if u.status != AccountStatus::Withdrawn => Ok(u),
        _ => Err(IdentityError::AccountGone.into()),
    }
}

pub async fn get_me(ctx: Arc<AppContext>, caller: Caller) -> ApiResult<Okay<UserView>> {
    let user = me(&ctx, &caller).await?;
    Ok(Okay(UserView::of(&ctx, &user).await?))
}

pub async fn update_me(
    ctx: Arc<AppContext>,
    caller: Caller,
    Json(body): Json<UpdateMeRequest>,
) -> ApiResult<Okay<UserView>> {
    let user = me(&ctx, &caller).await?;
    let now = ctx.now();
    let mut sets = vec!["updatedAt = :now".to_string()];
    let mut removes = Vec::new();
    let mut update = Write::update(user_key(&user.id), "");
    update = update.value(":now", s(now.to_rfc3339()));
    if let Some(name) = &body.name {
        sets.push("#name = :name".into());
        update = update.name("#name", "name").value(":name", s(name.trim()));
    }
    if let Some(bio) = &body.bio {
        sets.push("bio = :bio".into());
        update = update.value(":bio", s(bio.trim()));
    }
    match &body.profile_image_key {
        Some(Some(key)) => {
            shared::media::verify(&ctx, &user.id, key, &[&identity_contract::PROFILE_PHOTO]).await?;
            sets.push("profileImageKey = :img".into());
            update = update.value(":img", s(key));
        }
        Some(None) => removes.push("profileImageKey"),
        None => {}
    }
    match &body.phone {
        Some(Some(p)) => {
            sets.push("phone = :phone".into());
            update = update.value(":phone", s(normalize_phone(p).unwrap_or_default()));
        }
        Some(None) => removes.push("phone"),
        None => {}
    }
    match &body.birth_date {
        Some(Some(d)) => {
            let day = parse_birth_date(d).unwrap_or_default();
            if day > shared::clock::seoul_day(now) {
                return Err(ApiError::validation("birthDate", "OUT_OF_RANGE", "not in the future"));
            }
            sets.push("birthDate = :birth".into());
            update = update.value(":birth", s(day.to_string()));
        }
        Some(None) => removes.push("birthDate"),
        None => {}
    }
    match &body.home_region {
        Some(Some(r)) => {
            let region =
                identity_contract::HomeRegion { address: r.address.trim().to_string(), lat: r.lat, lng: r.lng };
            sets.push("homeRegion = :region".into());
            update = update.value(":region", serde_dynamo::to_attribute_value(&region)?);
        }
        Some(None) => removes.push("homeRegion"),
        None => {}
    }
    let mut writes = Vec::new();
    if let Some(nick) = body.nickname.as_deref() {
        update = crate::model::rename(update, &mut sets, &mut writes, &user, nick, now)?;
    }
    let mut expr = format!("SET {}", sets.join(", "));
    if !removes.is_empty() {
        expr.push_str(&format!(" REMOVE {}", removes.join(", ")));
    }
    writes.push(update.expression(expr));
    ctx.table.transact(writes).await?;
    let user = me(&ctx, &caller).await?;
    Ok(Okay(UserView::of(&ctx, &user).await?))
}

pub async fn change_password(
    ctx: Arc<AppContext>,
    caller: Caller,
    Json(body): Json<ChangePasswordRequest>,
) -> ApiResult<NoContent> {
    let user = me(&ctx, &caller).await?;
    if caller.scope == TokenScope::Full {
        if user.password_hash.is_none() {
            return Err(IdentityError::PasswordLoginUnavailable.into());
        }
        check_current_password(&ctx, &user, body.current_password.as_deref().unwrap_or_default()).await?;
    }
    let hash = password::hash(&body.new_password).await?;
    ctx.table
        .write(
            Write::update(
                user_key(&user.id),
                "SET passwordHash = :h, passwordChangedAt = :now, updatedAt = :now, failedLogins = :zero REMOVE tempPasswordHash, tempPasswordExpires",
            )
            .value(":h", s(hash))
            .value(":now", s(ctx.now().to_rfc3339()))
            .value(":zero", shared::table::n(0)),
        )
        .await?;
    let keep = (caller.scope == TokenScope::Full).then_some(caller.session_id.as_str());
    sessions::revoke_all(&ctx, &user.id, keep).await?;
    Ok(NoContent)
}

pub async fn withdraw(
    ctx: Arc<AppContext>,
    caller: Caller,
    OptionalJson(body): OptionalJson<WithdrawRequest>,
) -> ApiResult<NoContent> {
    let user = me(&ctx, &caller).await?;
    if user.password_hash.is_some() {
        check_current_password(&ctx, &user, body.password.as_deref().unwrap_or_default()).await?;
    }
    let now = ctx.now().to_rfc3339();
    ctx.table
        .transact(
            vec![
                Write::update(
                    user_key(&user.id),
                    "SET #st = :w, withdrawnAt = :now, updatedAt = :now REMOVE GSI2PK, GSI2SK",
                )
                .name("#st", "status")
                .value(":w", s("WITHDRAWN"))
                .value(":now", s(now))
                .when("#st <> :w", IdentityError::AccountGone),
                release_unique(&nickname_key(&user.nickname), &user.id),
                // Out of every notice audience (leaving one never joined deletes nothing).
                identity_contract::leave_audience(identity_contract::Audience::All, &user.id),
                identity_contract::leave_audience(identity_contract::Audience::Advertisers, &user.id),
                identity_contract::leave_audience(identity_contract::Audience::Petstars, &user.id),
            ]
            .into_iter()
            // A withdrawn advertiser's business number is free for another.
            .chain(
                user.business_number
                    .as_deref()
                    .map(|b| release_unique(&crate::model::business_number_key(b), &user.id)),
            )
            .collect(),
        )
        .await?;
    sessions::revoke_all(&ctx, &user.id, None).await?;
    Ok(NoContent)
}

pub async fn get_user(ctx: Arc<AppContext>, Path(id): Path<String>) -> ApiResult<Okay<PublicProfile>> {
    let id = id.as_str();
    let not_found = || -> ApiError { IdentityError::UserNotFound.into() };
    if !shared::ids::is_valid_id(id) {
        return Err(not_found());
    }
    match load_user(&ctx, id).await? {
        Some(u) if u.status == AccountStatus::Active => Ok(Okay(PublicProfile::of(&ctx, &u).await?)),
        _ => Err(not_found()),
    }
}

#[cfg(test)]
mod tests {
    use super::normalize_phone;

    #[test]
    fn korean_phone_numbers_are_normalised_and_others_refused() {
        for (raw, want) in [
            ("01012345678", "010-1234-5678"),
            ("010-1234-5678", "010-1234-5678"),
            ("+82 10 1234 5678", "010-1234-5678"),
            ("0111234567", "011-123-4567"),
            ("02-123-4567", "02-123-4567"),
            ("0212345678", "02-1234-5678"),
            ("031-123-4567", "031-123-4567"),
            ("(064) 712-3456", "064-712-3456"),
        ] {
            assert_eq!(normalize_phone(raw).as_deref(), Some(want), "{raw}");
        }
        for bad in [
            "",
            "12345",
            "010-123-456",
            "0101234567",
            "+1 212 555 0100",
            "020-1234-5678",
            "010-1234-5678x",
            "1012345678",
        ] {
            assert_eq!(normalize_phone(bad), None, "{bad}");
        }
    }
}
