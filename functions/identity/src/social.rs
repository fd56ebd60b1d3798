//! Social sign-in: sign in with a linked provider identity, link one to a password account,
//! or create an account from one.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use shared::auth::Role;
use shared::handler;
use shared::handler::{Created, Either, Json, Okay, Path, Source};
use shared::ratelimit;
use shared::routes::{Access, Function, Method, Permission, said};
use shared::table::{Write, s};
use shared::validate::{Validate, Validator};
use shared::{ApiError, ApiResult, AppContext};
use utoipa::ToSchema;

use crate::error::IdentityError;
use crate::model::{
    AccountStatus, Provider, SocialLink, Unique, User, claim_unique, email_key, load_user, nickname_key,
    normalize_email, owner_of, social_key, user_key, valid_nickname,
};
use crate::oauth::{self, Ticket, TicketKind};
use crate::sessions::{self, TokenPair};
use crate::signin::{ensure_may_sign_in, invalid_credentials, locked, record_failure};
use crate::{PKG, password};

const PERMS: &[Permission] = &[Permission::TableRead, Permission::TableWrite, Permission::MediaRead];

pub static OAUTH_SIGN_IN: Function = Function::http(
    Method::Post,
    "/auth/oauth/{provider}",
    "auth-oauth-sign-in",
    PKG,
    Access::Public,
    handler!(sign_in),
)
.permissions(PERMS)
.doc("auth", "Sign in with Google or Kakao (provider: google or kakao)")
.example(r#"{"code":"authorization-code","redirectUri":"https://app.example.com/oauth/callback"}"#)
.responses(&[
    said(200, "Signed in (tokens), or `{needLink, linkTicket}` when the email belongs to a password account."),
    said(201, "No account yet: `{signupTicket}`."),
])
.errors(&[404, 429, 503])
.settings(crate::oauth::SETTINGS);

pub static OAUTH_LINK: Function =
    Function::http(Method::Post, "/auth/oauth/link", "auth-oauth-link", PKG, Access::Public, handler!(link))
        .permissions(PERMS)
        .doc("auth", "Link a provider identity to the password account with its email")
        .example(r#"{"linkTicket":"ticket","password":"walks4ever"}"#)
        .responses(&[said(200, "Linked and signed in.")])
        .errors(&[401, 409, 423]);

pub static OAUTH_SIGNUP: Function =
    Function::http(Method::Post, "/auth/oauth/signup", "auth-oauth-signup", PKG, Access::Public, handler!(signup))
        .permissions(PERMS)
        .doc("auth", "Create an account from a provider identity")
        .example(r#"{"signupTicket":"ticket","name":"김민아","nickname":"mina"}"#)
        .responses(&[said(201, "Created and signed in.")])
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

pub async fn sign_in(
    ctx: Arc<AppContext>,
    Path(provider): Path<String>,
    source: Source,
    Json(body): Json<OAuthRequest>,
) -> ApiResult<Either<Okay<OAuthOutcome>, Created<OAuthOutcome>>> {
    let provider = Provider::parse(provider.as_str()).ok_or(IdentityError::ProviderNotAvailable)?;
    ratelimit::hit_ip(&ctx, "oauth", source.as_deref()).await?;
    let who = oauth::identify(&ctx, provider, &body.code, &body.redirect_uri).await?;

    if let Some(user_id) = owner_of(&ctx, &social_key(provider, &who.subject)).await? {
        let user =
            load_user(&ctx, &user_id).await?.ok_or_else(|| ApiError::internal("social link to a missing user"))?;
        ensure_may_sign_in(&user)?;
        return Ok(Either::First(Okay(OAuthOutcome::SignedIn(Box::new(sessions::start(&ctx, &user).await?)))));
    }
    let email = match (&who.email, who.email_verified) {
        (Some(e), true) => normalize_email(e),
        _ => {
            return Err(IdentityError::OAuthEmailUnverified.into());
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
        return Ok(Either::First(Okay(OAuthOutcome::NeedLink { need_link: true, link_ticket, email })));
    }
    let signup_ticket = oauth::issue(&ctx, ticket).await?;
    Ok(Either::Second(Created(OAuthOutcome::NeedSignup { signup_ticket, email, name: who.name })))
}

pub async fn link(ctx: Arc<AppContext>, Json(body): Json<LinkRequest>) -> ApiResult<Okay<TokenPair>> {
    let ticket = oauth::load(&ctx, &body.link_ticket, TicketKind::Link).await?;
    let user_id = ticket.user_id.clone().ok_or_else(oauth::invalid_ticket)?;
    let user = load_user(&ctx, &user_id).await?.ok_or_else(oauth::invalid_ticket)?;
    if user.is_locked(ctx.now()) {
        return Err(locked());
    }
    if user.password_hash.is_none() {
        return Err(IdentityError::PasswordLoginUnavailable.into());
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
            claim_unique(&social, ctx.now().timestamp(), IdentityError::AlreadyLinked)?,
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
    Ok(Okay(sessions::start(&ctx, &user).await?))
}

pub async fn signup(ctx: Arc<AppContext>, Json(body): Json<OAuthSignUpRequest>) -> ApiResult<Created<TokenPair>> {
    let ticket = oauth::load(&ctx, &body.signup_ticket, TicketKind::Signup).await?;
    let now = ctx.now();
    let user = User {
        id: shared::ids::new_id(now),
        email: ticket.email.clone(),
        name: body.name.trim().to_string(),
        nickname: crate::model::normalize_nickname(&body.nickname),
        bio: String::new(),
        profile_image_key: None,
        role: Role::USER,
        status: AccountStatus::Active,
        advertiser_status: None,
        write_hold: None,
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
        main_pet: None,
        withdrawn_at: None,
        pending_expires: None,
        post_count: 0,
        follower_count: 0,
        following_count: 0,
        phone: None,
        birth_date: None,
        home_region: None,
    };
    let unique = |key: String| Unique { key, user_id: user.id.clone(), pending_expires: None };
    let t = now.timestamp();
    // A taken nickname fails the whole transaction and leaves the ticket usable for another try.
    ctx.table
        .transact(vec![
            oauth::consume(&ticket),
            Write::put(&user)?.if_absent(ApiError::internal("user id collision")),
            claim_unique(&unique(email_key(&user.email)), t, IdentityError::EmailTaken)?,
            claim_unique(&unique(nickname_key(&user.nickname)), t, IdentityError::NicknameTaken)?,
            claim_unique(&unique(social_key(ticket.provider, &ticket.subject)), t, IdentityError::AlreadyLinked)?,
            moderation_contract::stats::count(now, &[(moderation_contract::stats::Metric::Signups, 1)]),
            identity_contract::join_audience(identity_contract::Audience::All, &user.id),
        ])
        .await?;
    ctx.metrics.count(crate::figures::SIGN_UPS, 1.0);
    Ok(Created(sessions::start(&ctx, &user).await?))
}
