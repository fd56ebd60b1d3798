//! Sign-up, email verification and availability checks.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use shared::auth::Role;
use shared::handler;
use shared::handler::{Accepted, Created, Json, Okay, Params, Source};
use shared::ratelimit::{self, Limit};
use shared::routes::{Access, Function, Method, Permission, param, respond, said, schema};
use shared::table::{Key, Write, s};
use shared::validate::{Validate, Validator};
use shared::{ApiError, ApiResult, AppContext, queues};
use utoipa::ToSchema;

use crate::codes::{self, Purpose};
use crate::company::business_digits;
use crate::error::IdentityError;
use crate::model::{
    AccountStatus, AdvertiserStatus, EmailOnly, PENDING_ACCOUNT_SECS, Received, Unique, User, claim_unique, email_key,
    find_by_email, nickname_key, normalize_email, owner_of, valid_nickname,
};
use crate::{PKG, password};

const SIGNUP_PER_EMAIL: Limit = Limit { action: "signup-email", max: 5, window_secs: 600 };
const RESEND_PER_EMAIL: Limit = Limit { action: "resend-email", max: 5, window_secs: 3600 };

pub static SIGNUP: Function =
    Function::http(Method::Post, "/auth/signup", "auth-signup", PKG, Access::Public, handler!(signup))
        // Sign-up only writes: rate counters and one conditional transaction.
        .permissions(&[Permission::TableWrite])
        .doc("auth", "Create an account; a 6-digit code is emailed")
        .example(
            r#"{"email":"mina@example.com","password":"walks4ever","name":"김민아","nickname":"mina","role":"USER"}"#,
        )
        .responses(&[said(201, "Created, pending verification.")])
        .errors(&[409, 429]);

pub static VERIFY_EMAIL: Function = Function::http(
    Method::Post,
    "/auth/email/verify",
    "auth-verify-email",
    PKG,
    Access::Public,
    handler!(verify_email),
)
.permissions(&[Permission::TableRead, Permission::TableWrite])
.doc("auth", "Verify the email with its code; the account becomes active")
.example(r#"{"email":"mina@example.com","code":"123456"}"#)
.responses(&[said(200, "Verified.")])
.errors(&[429]);

pub static RESEND_CODE: Function =
    Function::http(Method::Post, "/auth/email/resend", "auth-resend-code", PKG, Access::Public, handler!(resend))
        .permissions(&[Permission::TableWrite, Permission::SendTo(&crate::model::RECOVERY)])
        .doc("auth", "Send a new verification code (once a minute; always 202)")
        .example(r#"{"email":"mina@example.com"}"#)
        .responses(&[respond(
            202,
            "Sent, if the account waits for verification and none was sent in the last minute.",
            Some(schema::<Received>),
        )])
        .errors(&[429]);

pub static AVAILABILITY: Function =
    Function::http(Method::Get, "/auth/availability", "auth-availability", PKG, Access::Public, handler!(availability))
        .permissions(&[Permission::TableRead, Permission::TableWrite])
        .doc("auth", "Whether an email and a nickname are still free")
        .query(&[param("email", false, "an email address"), param("nickname", false, "a nickname")])
        .responses(&[said(200, "Availability.")])
        .errors(&[429]);

#[derive(Debug, Clone, Copy, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SignUpRole {
    User,
    Advertiser,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignUpRequest {
    pub email: String,
    pub password: String,
    pub name: String,
    pub nickname: String,
    #[serde(default)]
    pub role: Option<SignUpRole>,
    /// Required for advertisers: the 10-digit business registration number.
    #[serde(default)]
    pub business_number: Option<String>,
}

impl Validate for SignUpRequest {
    fn validate(&self, v: &mut Validator) {
        v.email("email", self.email.trim());
        password::check_policy(v, "password", &self.password);
        v.line("name", &self.name, 1, 50);
        v.check(valid_nickname(self.nickname.trim()), "nickname", "INVALID_FORMAT", "2–20 letters, digits, _ or .");
        if self.role == Some(SignUpRole::Advertiser) {
            crate::company::check_business_number(v, self.business_number.as_deref().unwrap_or_default());
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignUpResponse {
    pub user_id: String,
    /// `PENDING_VERIFICATION`.
    pub status: &'static str,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VerifyEmailRequest {
    pub email: String,
    pub code: String,
}

impl Validate for VerifyEmailRequest {
    fn validate(&self, v: &mut Validator) {
        v.email("email", self.email.trim());
        v.check(
            self.code.trim().len() == 6 && self.code.trim().chars().all(|c| c.is_ascii_digit()),
            "code",
            "INVALID_FORMAT",
            "six digits",
        );
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VerifyEmailResponse {
    pub user_id: String,
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advertiser_status: Option<AdvertiserStatus>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Availability {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_available: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nickname_available: Option<bool>,
}

pub async fn signup(
    ctx: Arc<AppContext>,
    source: Source,
    Json(body): Json<SignUpRequest>,
) -> ApiResult<Created<SignUpResponse>> {
    let advertiser = (body.role == Some(SignUpRole::Advertiser)).then(|| crate::company::NewAdvertiser {
        company_name: body.name.trim().to_string(),
        business_number: business_digits(body.business_number.as_deref().unwrap_or_default()),
        representative: body.name.trim().to_string(),
        phone: String::new(),
    });
    let new = NewAccount { email: &body.email, password: &body.password, name: &body.name, nickname: &body.nickname };
    Ok(Created(register(&ctx, source.as_deref(), new, advertiser).await?))
}

/// What every sign-up gives.
pub struct NewAccount<'a> {
    pub email: &'a str,
    pub password: &'a str,
    pub name: &'a str,
    pub nickname: &'a str,
}

/// Creates an account waiting for email verification (and, for an advertiser, its company
/// profile waiting for approval) and mails the code, in one transaction.
pub async fn register(
    ctx: &AppContext,
    source: Option<&str>,
    new: NewAccount<'_>,
    advertiser: Option<crate::company::NewAdvertiser>,
) -> ApiResult<SignUpResponse> {
    let email = normalize_email(new.email);
    ratelimit::hit_ip(ctx, "signup", source).await?;
    ratelimit::hit_from(ctx, SIGNUP_PER_EMAIL, &email, source).await?;

    let now = ctx.now();
    let expires = now.timestamp() + PENDING_ACCOUNT_SECS;
    let user = User {
        id: shared::ids::new_id(now),
        email: email.clone(),
        name: new.name.trim().to_string(),
        nickname: crate::model::normalize_nickname(new.nickname),
        bio: String::new(),
        profile_image_key: None,
        role: if advertiser.is_some() { identity_contract::ADVERTISER } else { Role::USER },
        status: AccountStatus::PendingVerification,
        advertiser_status: advertiser.as_ref().map(|_| AdvertiserStatus::PendingApproval),
        write_hold: advertiser.as_ref().map(|_| crate::company::awaiting_approval()),
        business_number: advertiser.as_ref().map(|a| a.business_number.clone()),
        password_hash: Some(password::hash(new.password).await?),
        failed_logins: 0,
        locked_until: None,
        lock_count: 0,
        temp_password_hash: None,
        temp_password_expires: None,
        blocked_until: None,
        blocked_permanently: false,
        social: Vec::new(),
        created_at: now,
        updated_at: now,
        password_changed_at: None,
        main_pet: None,
        withdrawn_at: None,
        pending_expires: Some(expires),
        post_count: 0,
        follower_count: 0,
        following_count: 0,
        phone: None,
        birth_date: None,
        home_region: None,
    };
    let (code_write, code) = codes::new_code(ctx, &user.id, Purpose::VerifyEmail)?;
    let unique = |key: String| Unique { key, user_id: user.id.clone(), pending_expires: Some(expires) };
    let mut writes = vec![
        Write::put(&user)?.if_absent(ApiError::internal("user id collision")),
        claim_unique(&unique(email_key(&email)), now.timestamp(), IdentityError::EmailTaken)?,
        claim_unique(&unique(nickname_key(&user.nickname)), now.timestamp(), IdentityError::NicknameTaken)?,
        code_write,
        // The code's mail exists if and only if the account does.
        shared::outbox::message(ctx, &queues::MAIL, &crate::recovery::verification_mail(ctx, &user, &code))?,
    ];
    if let Some(a) = advertiser {
        let number = crate::model::business_number_key(&a.business_number);
        writes.push(claim_unique(&unique(number), now.timestamp(), IdentityError::BusinessNumberTaken)?);
        writes.push(Write::put(&a.into_profile(&user.id, now))?.if_absent(ApiError::internal("advertiser collision")));
    }
    ctx.table.transact(writes).await?;
    ctx.metrics.count(crate::figures::SIGN_UPS, 1.0);
    Ok(SignUpResponse { user_id: user.id, status: "PENDING_VERIFICATION" })
}

pub async fn verify_email(
    ctx: Arc<AppContext>,
    source: Source,
    Json(body): Json<VerifyEmailRequest>,
) -> ApiResult<Okay<VerifyEmailResponse>> {
    let email = normalize_email(&body.email);
    ratelimit::hit_ip(&ctx, "verify", source.as_deref()).await?;
    ratelimit::hit_from(&ctx, codes::TRIES, &email, source.as_deref()).await?;
    // Unknown and already verified addresses answer as a wrong code does: nothing here tells
    // whether an address has an account.
    let Some(user) = find_by_email(&ctx, &email).await? else { return Err(codes::wrong()) };
    if user.status != AccountStatus::PendingVerification {
        return Err(codes::wrong());
    }
    let consume = codes::check(&ctx, &user.id, Purpose::VerifyEmail, &body.code).await?;
    let keep = |key: String| {
        Write::update(Key::new(key, identity_contract::keys::UNIQUE), "REMOVE #ttl, pendingExpires")
            .name("#ttl", shared::table::TTL_ATTRIBUTE)
            .value(":u", s(&user.id))
            .when("userId = :u", IdentityError::AccountChanged)
    };
    ctx.table
        .transact(
            vec![
                consume,
                Write::update(
                    crate::model::user_key(&user.id),
                    "SET #st = :active, updatedAt = :now REMOVE #ttl, pendingExpires",
                )
                .name("#st", "status")
                .name("#ttl", shared::table::TTL_ATTRIBUTE)
                .value(":active", s("ACTIVE"))
                .value(":pending", s("PENDING_VERIFICATION"))
                .value(":now", s(ctx.now().to_rfc3339()))
                .when("#st = :pending", codes::wrong()),
                keep(email_key(&user.email)),
                keep(nickname_key(&user.nickname)),
            ]
            .into_iter()
            .chain(user.business_number.as_deref().map(|b| keep(crate::model::business_number_key(b))))
            .chain([
                moderation_contract::stats::count(ctx.now(), &[(moderation_contract::stats::Metric::Signups, 1)]),
                identity_contract::join_audience(identity_contract::Audience::All, &user.id),
            ])
            .collect(),
        )
        .await?;
    Ok(Okay(VerifyEmailResponse { user_id: user.id, status: "ACTIVE", advertiser_status: user.advertiser_status }))
}

pub async fn resend(
    ctx: Arc<AppContext>,
    source: Source,
    Json(body): Json<EmailOnly>,
) -> ApiResult<Accepted<Received>> {
    let email = normalize_email(&body.email);
    ratelimit::hit_ip(&ctx, "resend", source.as_deref()).await?;
    ratelimit::hit_from(&ctx, RESEND_PER_EMAIL, &email, source.as_deref()).await?;
    // Like forgot: the recovery worker looks the account up, so every address answers alike.
    crate::recovery::queue(&ctx, &crate::recovery::RecoveryRequest::VerificationCode { email }).await?;
    Ok(Accepted(Received { accepted: true }))
}

pub async fn availability(ctx: Arc<AppContext>, params: Params, source: Source) -> ApiResult<Okay<Availability>> {
    let email = params.get("email");
    let nickname = params.get("nickname");
    if email.is_none() && nickname.is_none() {
        return Err(ApiError::validation("email", "REQUIRED", "give an email, a nickname, or both"));
    }
    let mut v = Validator::new();
    if let Some(e) = email {
        v.email("email", e);
    }
    if let Some(nk) = nickname {
        v.check(valid_nickname(nk), "nickname", "INVALID_FORMAT", "2–20 letters, digits, _ or .");
    }
    v.finish()?;
    ratelimit::hit_ip(&ctx, "availability", source.as_deref()).await?;
    let email_available = match email {
        Some(e) => Some(owner_of(&ctx, &email_key(e)).await?.is_none()),
        None => None,
    };
    let nickname_available = match nickname {
        Some(nk) => Some(owner_of(&ctx, &nickname_key(nk)).await?.is_none()),
        None => None,
    };
    Ok(Okay(Availability { email_available, nickname_available }))
}
