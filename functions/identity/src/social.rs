//! Social sign-in: sign in with a linked provider identity, link one to a password account,
//! or create an account from one.

use std::sync::Arc;

use http::StatusCode;
use serde::{Deserialize, Serialize};
use shared::auth::Role;
use shared::ratelimit;
use shared::routes::{Access, Function, Method, Permission, Secret, respond, schema};
use shared::table::{Write, s};
use shared::validate::{Validate, Validator};
use shared::{ApiError, ApiRequest, ApiResponse, ApiResult, AppContext};
use utoipa::ToSchema;

use crate::model::{
    AccountStatus, Provider, SocialLink, Unique, User, claim_unique, email_key, load_user, nickname_key,
    normalize_email, owner_of, social_key, user_key, valid_nickname,
};
use crate::oauth::{self, Ticket, TicketKind};
use crate::sessions::{self, TokenPair};
use crate::signin::{ensure_may_sign_in, invalid_credentials, locked, record_failure};
use crate::{PKG, password};

const PERMS: &[Permission] = &[Permission::TableRead, Permission::TableWrite, Permission::MediaRead];

pub static OAUTH_SIGN_IN: Function =
    Function::http(Method::Post, "/auth/oauth/{provider}", "auth-oauth-sign-in", PKG, Access::Public, |c, r| {
        Box::pin(sign_in(c, r))
    })
    .permissions(PERMS)
    .doc("auth", "Sign in with Google or Kakao (provider: google or kakao)")
    .request(
        schema::<OAuthRequest>,
        r#"{"code":"authorization-code","redirectUri":"https://app.example.com/oauth/callback"}"#,
    )
    .responses(&[
        respond(
            200,
            "Signed in (tokens), or `{needLink, linkTicket}` when the email belongs to a password account.",
            Some(schema::<OAuthOutcome>),
        ),
        respond(201, "No account yet: `{signupTicket}`.", Some(schema::<OAuthOutcome>)),
    ])
    .errors(&[404, 429, 503])
    .secrets(&[Secret::GoogleOAuth, Secret::KakaoOAuth]);

pub static OAUTH_LINK: Function =
    Function::http(Method::Post, "/auth/oauth/link", "auth-oauth-link", PKG, Access::Public, |c, r| {
        Box::pin(link(c, r))
    })
    .permissions(PERMS)
    .doc("auth", "Link a provider identity to the password account with its email")
    .request(schema::<LinkRequest>, r#"{"linkTicket":"ticket","password":"walks4ever"}"#)
    .responses(&[respond(200, "Linked and signed in.", Some(schema::<TokenPair>))])
    .errors(&[401, 409, 423]);

pub static OAUTH_SIGNUP: Function =
    Function::http(Method::Post, "/auth/oauth/signup", "auth-oauth-signup", PKG, Access::Public, |c, r| {
        Box::pin(signup(c, r))
    })
    .permissions(PERMS)
    .doc("auth", "Create an account from a provider identity")
    .request(schema::<OAuthSignUpRequest>, r#"{"signupTicket":"ticket","name":"김민아","nickname":"mina"}"#)
    .responses(&[respond(201, "Created and signed in.", Some(schema::<TokenPair>))])
    .errors(&[409]);

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OAuthRequest {
    pub code: String,
    pub redirect_uri: String,
}

impl Validate for OAuthRequest {
    fn validate(&self, v: &mut Validator) {
        v.text("code", &self.code, 1, 2048);
        v.check(
            self.redirect_uri.starts_with("https://") || self.redirect_uri.starts_with("http://"),
            "redirectUri",
            "INVALID_FORMAT",
            "an http(s) URL",
        );
    }
}

/// One of: tokens; `{needLink, linkTicket}`; `{signupTicket, email, name}`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum OAuthOutcome {
    SignedIn(Box<TokenPair>),
    #[serde(rename_all = "camelCase")]
    NeedLink {
        need_link: bool,
        link_ticket: String,
        email: String,
    },
    #[serde(rename_all = "camelCase")]
    NeedSignup {
        signup_ticket: String,
        email: String,
        name: Option<String>,
    },
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LinkRequest {
    pub link_ticket: String,
    pub password: String,
}

impl Validate for LinkRequest {
    fn validate(&self, v: &mut Validator) {
        v.text("linkTicket", &self.link_ticket, 1, 200);
        v.text("password", &self.password, 1, 128);
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OAuthSignUpRequest {
    pub signup_ticket: String,
    pub name: String,
    pub nickname: String,
}

impl Validate for OAuthSignUpRequest {
    fn validate(&self, v: &mut Validator) {
        v.text("signupTicket", &self.signup_ticket, 1, 200);
        v.line("name", &self.name, 1, 50);
        v.check(valid_nickname(self.nickname.trim()), "nickname", "INVALID_FORMAT", "2–20 letters, digits, _ or .");
    }
}

pub async fn sign_in(ctx: Arc<AppContext>, req: ApiRequest) -> ApiResult<ApiResponse> {
    let provider = Provider::parse(req.path_param("provider")?)
        .ok_or_else(|| ApiError::not_found("PROVIDER_NOT_AVAILABLE", "Sign in with google or kakao."))?;
    let body: OAuthRequest = req.json()?;
    ratelimit::hit_ip(&ctx, "oauth", req.source_ip.as_deref()).await?;
    let who = oauth::identify(&ctx, provider, &body.code, &body.redirect_uri).await?;

    if let Some(user_id) = owner_of(&ctx, &social_key(provider, &who.subject)).await? {
        let user =
            load_user(&ctx, &user_id).await?.ok_or_else(|| ApiError::internal("social link to a missing user"))?;
        ensure_may_sign_in(&user)?;
        return ApiResponse::ok(&OAuthOutcome::SignedIn(Box::new(sessions::start(&ctx, &user).await?)));
    }
    let email = match (&who.email, who.email_verified) {
        (Some(e), true) => normalize_email(e),
        _ => {
            return Err(ApiError::bad_request(
                "OAUTH_EMAIL_UNVERIFIED",
                "The provider did not share a verified email address.",
            ));
        }
    };
    let mut ticket = Ticket {
        digest: String::new(),
        kind: TicketKind::Signup,
        provider,
        subject: who.subject.clone(),
        email: email.clone(),
        name: who.name.clone(),
        user_id: None,
        expires: 0,
    };
    if let Some(user_id) = owner_of(&ctx, &email_key(&email)).await? {
        ticket.kind = TicketKind::Link;
        ticket.user_id = Some(user_id);
        let link_ticket = oauth::issue(&ctx, ticket).await?;
        return ApiResponse::ok(&OAuthOutcome::NeedLink { need_link: true, link_ticket, email });
    }
    let signup_ticket = oauth::issue(&ctx, ticket).await?;
    ApiResponse::json(StatusCode::CREATED, &OAuthOutcome::NeedSignup { signup_ticket, email, name: who.name })
}

pub async fn link(ctx: Arc<AppContext>, req: ApiRequest) -> ApiResult<ApiResponse> {
    let body: LinkRequest = req.json()?;
    let ticket = oauth::load(&ctx, &body.link_ticket, TicketKind::Link).await?;
    let user_id = ticket.user_id.clone().ok_or_else(oauth::invalid_ticket)?;
    let user = load_user(&ctx, &user_id).await?.ok_or_else(oauth::invalid_ticket)?;
    if user.is_locked(ctx.now()) {
        return Err(locked());
    }
    if user.password_hash.is_none() {
        return Err(ApiError::forbidden("PASSWORD_LOGIN_UNAVAILABLE", "This account signs in with Google or Kakao."));
    }
    if !password::verify(&body.password, user.password_hash.as_deref()).await {
        return Err(if user.status == AccountStatus::Withdrawn {
            invalid_credentials()
        } else {
            record_failure(&ctx, &user).await
        });
    }
    ensure_may_sign_in(&user)?;
    let social =
        Unique { key: social_key(ticket.provider, &ticket.subject), user_id: user.id.clone(), pending_expires: None };
    let link = SocialLink { provider: ticket.provider, subject: ticket.subject.clone() };
    ctx.table
        .transact(vec![
            oauth::consume(&ticket),
            claim_unique(
                &social,
                ctx.now().timestamp(),
                ApiError::conflict("ALREADY_LINKED", "This provider account is linked already."),
            )?,
            Write::update(
                user_key(&user.id),
                "SET social = list_append(if_not_exists(social, :empty), :link), updatedAt = :now",
            )
            .value(":empty", shared::table::AttrValue::L(vec![]))
            .value(
                ":link",
                shared::table::AttrValue::L(vec![shared::table::AttrValue::M(serde_dynamo::to_item(&link)?)]),
            )
            .value(":now", s(ctx.now().to_rfc3339())),
        ])
        .await?;
    let user = load_user(&ctx, &user.id).await?.ok_or_else(|| ApiError::internal("linked user vanished"))?;
    ApiResponse::ok(&sessions::start(&ctx, &user).await?)
}

pub async fn signup(ctx: Arc<AppContext>, req: ApiRequest) -> ApiResult<ApiResponse> {
    let body: OAuthSignUpRequest = req.json()?;
    let ticket = oauth::load(&ctx, &body.signup_ticket, TicketKind::Signup).await?;
    let now = ctx.now();
    let user = User {
        id: shared::ids::new_id(now),
        email: ticket.email.clone(),
        name: body.name.trim().to_string(),
        nickname: crate::model::normalize_nickname(&body.nickname),
        bio: String::new(),
        profile_image_key: None,
        role: Role::User,
        status: AccountStatus::Active,
        advertiser_status: None,
        business_number: None,
        password_hash: None,
        failed_logins: 0,
        locked_until: None,
        lock_count: 0,
        temp_password_hash: None,
        temp_password_expires: None,
        blocked_until: None,
        blocked_permanently: false,
        social: vec![SocialLink { provider: ticket.provider, subject: ticket.subject.clone() }],
        created_at: now,
        updated_at: now,
        password_changed_at: None,
        withdrawn_at: None,
        pending_expires: None,
        post_count: 0,
        follower_count: 0,
        following_count: 0,
        main_pet_id: None,
    };
    let unique = |key: String| Unique { key, user_id: user.id.clone(), pending_expires: None };
    let t = now.timestamp();
    // A taken nickname fails the whole transaction and leaves the ticket usable for another try.
    ctx.table
        .transact(vec![
            oauth::consume(&ticket),
            Write::put(&user)?.if_absent(ApiError::internal("user id collision")),
            claim_unique(
                &unique(email_key(&user.email)),
                t,
                ApiError::conflict("EMAIL_TAKEN", "This email is already registered."),
            )?,
            claim_unique(
                &unique(nickname_key(&user.nickname)),
                t,
                ApiError::conflict("NICKNAME_TAKEN", "This nickname is taken."),
            )?,
            claim_unique(
                &unique(social_key(ticket.provider, &ticket.subject)),
                t,
                ApiError::conflict("ALREADY_LINKED", "This provider account is linked already."),
            )?,
        ])
        .await?;
    ApiResponse::created(&sessions::start(&ctx, &user).await?)
}
