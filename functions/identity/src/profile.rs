//! The account holder's own account, and public profiles.

use std::sync::Arc;

use serde::{Deserialize, Deserializer};
use shared::auth::TokenScope;
use shared::media::Purpose as MediaPurpose;
use shared::routes::{Access, Function, Method, Permission, respond, schema};
use shared::table::{Write, s};
use shared::validate::{Validate, Validator};
use shared::{ApiError, ApiRequest, ApiResponse, ApiResult, AppContext};
use utoipa::ToSchema;

use crate::model::{
    AccountStatus, PublicProfile, Unique, User, UserView, claim_unique, load_user, nickname_key, release_unique,
    user_key, valid_nickname,
};
use crate::{PKG, password, sessions};

pub static GET_ME: Function =
    Function::http(Method::Get, "/users/me", "users-get-me", PKG, Access::User, |c, r| Box::pin(get_me(c, r)))
        .permissions(&[Permission::TableRead, Permission::MediaRead])
        .doc("users", "My account")
        .responses(&[respond(200, "My account.", Some(schema::<UserView>))]);

pub static UPDATE_ME: Function =
    Function::http(Method::Patch, "/users/me", "users-update-me", PKG, Access::User, |c, r| Box::pin(update_me(c, r)))
        .permissions(&[Permission::TableRead, Permission::TableWrite, Permission::MediaRead])
        .doc("users", "Change my name, nickname, bio or profile picture (null removes it)")
        .request(schema::<UpdateMeRequest>, r#"{"nickname":"mina_walks","bio":"두 마리 강아지와 산책해요"}"#)
        .responses(&[respond(200, "My account.", Some(schema::<UserView>))])
        .errors(&[409]);

pub static CHANGE_PASSWORD: Function =
    Function::http(Method::Put, "/users/me/password", "users-change-password", PKG, Access::PasswordChange, |c, r| {
        Box::pin(change_password(c, r))
    })
    .permissions(&[Permission::TableRead, Permission::TableWrite])
    .doc("users", "Change my password; every other session is signed out")
    .request(schema::<ChangePasswordRequest>, r#"{"currentPassword":"walks4ever","newPassword":"newwalks5"}"#)
    .responses(&[respond(204, "Changed.", None)]);

pub static WITHDRAW: Function =
    Function::http(Method::Delete, "/users/me", "users-withdraw", PKG, Access::User, |c, r| Box::pin(withdraw(c, r)))
        .permissions(&[Permission::TableRead, Permission::TableWrite])
        .doc("users", "Withdraw: the account can no longer sign in and its nickname is released")
        .request(schema::<WithdrawRequest>, r#"{"password":"walks4ever"}"#)
        .responses(&[respond(204, "Withdrawn.", None)]);

pub static GET_USER: Function =
    Function::http(Method::Get, "/users/{id}", "users-get", PKG, Access::Public, |c, r| Box::pin(get_user(c, r)))
        .permissions(&[Permission::TableRead, Permission::MediaRead])
        .doc("users", "A user's public profile")
        .responses(&[respond(200, "The profile.", Some(schema::<PublicProfile>))])
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
    ApiError::forbidden("WRONG_PASSWORD", "The password is wrong.")
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
async fn me(ctx: &AppContext, req: &ApiRequest) -> ApiResult<User> {
    let id = req.caller()?;
    match load_user(ctx, &id.user_id).await? {
        Some(u) if u.status != AccountStatus::Withdrawn => Ok(u),
        _ => Err(ApiError::unauthorized("ACCOUNT_NOT_FOUND", "The account no longer exists.")),
    }
}

pub async fn get_me(ctx: Arc<AppContext>, req: ApiRequest) -> ApiResult<ApiResponse> {
    let user = me(&ctx, &req).await?;
    ApiResponse::ok(&UserView::of(&ctx, &user).await?)
}

pub async fn update_me(ctx: Arc<AppContext>, req: ApiRequest) -> ApiResult<ApiResponse> {
    let body: UpdateMeRequest = req.json()?;
    let user = me(&ctx, &req).await?;
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
            shared::media::verify(&ctx, &user.id, key, &[MediaPurpose::Profile]).await?;
            sets.push("profileImageKey = :img".into());
            update = update.value(":img", s(key));
        }
        Some(None) => removes.push("profileImageKey"),
        None => {}
    }
    let mut writes = Vec::new();
    if let Some(nick) = body.nickname.as_deref().map(crate::model::normalize_nickname).filter(|n| *n != user.nickname) {
        let nick = nick.as_str();
        sets.push("nickname = :nick, GSI2PK = :nickpart, GSI2SK = :nicksort".into());
        let (part, sort) = crate::model::nickname_index(nick);
        update = update
            .value(":nick", s(nick))
            .value(":old", s(&user.nickname))
            .value(":nickpart", s(part))
            .value(":nicksort", s(sort));
        update = update.when(
            "nickname = :old",
            ApiError::conflict("CONCURRENT_UPDATE", "The account changed meanwhile. Try again."),
        );
        if nickname_key(nick) != nickname_key(&user.nickname) {
            let claim = Unique { key: nickname_key(nick), user_id: user.id.clone(), pending_expires: None };
            writes.push(claim_unique(
                &claim,
                now.timestamp(),
                ApiError::conflict("NICKNAME_TAKEN", "This nickname is taken."),
            )?);
            writes.push(release_unique(&nickname_key(&user.nickname), &user.id));
        }
    }
    let mut expr = format!("SET {}", sets.join(", "));
    if !removes.is_empty() {
        expr.push_str(&format!(" REMOVE {}", removes.join(", ")));
    }
    writes.push(update.expression(expr));
    ctx.table.transact(writes).await?;
    let user = me(&ctx, &req).await?;
    ApiResponse::ok(&UserView::of(&ctx, &user).await?)
}

pub async fn change_password(ctx: Arc<AppContext>, req: ApiRequest) -> ApiResult<ApiResponse> {
    let body: ChangePasswordRequest = req.json()?;
    let caller = req.caller()?.clone();
    let user = me(&ctx, &req).await?;
    if caller.scope == TokenScope::Full {
        if user.password_hash.is_none() {
            return Err(ApiError::forbidden(
                "PASSWORD_LOGIN_UNAVAILABLE",
                "This account signs in with Google or Kakao.",
            ));
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
    ApiResponse::no_content()
}

pub async fn withdraw(ctx: Arc<AppContext>, req: ApiRequest) -> ApiResult<ApiResponse> {
    let body: WithdrawRequest =
        if req.body.iter().all(u8::is_ascii_whitespace) { WithdrawRequest::default() } else { req.json()? };
    let user = me(&ctx, &req).await?;
    if user.password_hash.is_some() {
        check_current_password(&ctx, &user, body.password.as_deref().unwrap_or_default()).await?;
    }
    let now = ctx.now().to_rfc3339();
    ctx.table
        .transact(vec![
            Write::update(
                user_key(&user.id),
                "SET #st = :w, withdrawnAt = :now, updatedAt = :now REMOVE GSI2PK, GSI2SK",
            )
            .name("#st", "status")
            .value(":w", s("WITHDRAWN"))
            .value(":now", s(now))
            .when("#st <> :w", ApiError::unauthorized("ACCOUNT_NOT_FOUND", "The account no longer exists.")),
            release_unique(&nickname_key(&user.nickname), &user.id),
        ])
        .await?;
    sessions::revoke_all(&ctx, &user.id, None).await?;
    ApiResponse::no_content()
}

pub async fn get_user(ctx: Arc<AppContext>, req: ApiRequest) -> ApiResult<ApiResponse> {
    let id = req.path_param("id")?;
    let not_found = || ApiError::not_found("USER_NOT_FOUND", "No such user.");
    if !shared::ids::is_valid_id(id) {
        return Err(not_found());
    }
    match load_user(&ctx, id).await? {
        Some(u) if u.status == AccountStatus::Active => ApiResponse::ok(&PublicProfile::of(&ctx, &u).await?),
        _ => Err(not_found()),
    }
}
