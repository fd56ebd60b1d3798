//! Getting back in: a reset code by email, or a temporary password. Both answer 202 whether or
//! not the account exists, so they cannot be used to find accounts.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use shared::handler;
use shared::handler::{Accepted, Json, NoContent, Source};
use shared::mail::Email;
use shared::ratelimit::{self, Limit};
use shared::routes::{Access, Function, Method, Permission, Worker, said};
use shared::table::{Write, n, s};
use shared::validate::{Validate, Validator};
use shared::worker::MessageError;
use shared::{ApiError, ApiResult, AppContext, queues};
use utoipa::ToSchema;

use crate::codes::{self, Purpose};
use crate::model::{AccountStatus, find_by_email, normalize_email, user_key};
use crate::model::{EmailOnly, Received, User};
use crate::{PKG, password, sessions};

const FORGOT_PER_EMAIL: Limit = Limit { action: "forgot-email", max: 5, window_secs: 3600 };
const TEMPORARY_PER_EMAIL: Limit = Limit { action: "temporary-email", max: 5, window_secs: 3600 };
const TEMPORARY_PASSWORD_SECS: i64 = 15 * 60;

pub static FORGOT: Function = Function::http(
    Method::Post,
    "/auth/password/forgot",
    "auth-password-forgot",
    PKG,
    Access::Public,
    handler!(forgot),
)
.permissions(&[Permission::TableWrite, Permission::SendTo(&crate::model::RECOVERY)])
.doc("auth", "Email a password-reset code (always 202)")
.example(r#"{"email":"mina@example.com"}"#)
.responses(&[said(202, "Sent, if the account exists.")])
.errors(&[429]);

pub static RESET: Function =
    Function::http(Method::Post, "/auth/password/reset", "auth-password-reset", PKG, Access::Public, handler!(reset))
        .permissions(&[Permission::TableRead, Permission::TableWrite])
        .doc("auth", "Set a new password with the emailed code; unlocks the account and signs out every session")
        .example(r#"{"email":"mina@example.com","code":"123456","newPassword":"newwalks5"}"#)
        .responses(&[said(204, "Changed.")])
        .errors(&[429]);

pub static TEMPORARY: Function = Function::http(
    Method::Post,
    "/auth/password/temporary",
    "auth-password-temporary",
    PKG,
    Access::Public,
    handler!(temporary),
)
.permissions(&[Permission::TableWrite, Permission::SendTo(&crate::model::RECOVERY)])
.doc("auth", "Email a temporary password, valid 15 minutes, if email and name match (always 202)")
.example(r#"{"email":"mina@example.com","name":"김민아"}"#)
.responses(&[said(202, "Sent, if they match.")])
.errors(&[429]);

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResetRequest {
    pub email: String,
    pub code: String,
    pub new_password: String,
}

impl Validate for ResetRequest {
    fn validate(&self, v: &mut Validator) {
        v.email("email", self.email.trim());
        v.check(self.code.trim().len() == 6, "code", "INVALID_FORMAT", "six digits");
        password::check_policy(v, "newPassword", &self.new_password);
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TemporaryRequest {
    pub email: String,
    pub name: String,
}

impl Validate for TemporaryRequest {
    fn validate(&self, v: &mut Validator) {
        v.email("email", self.email.trim());
        v.line("name", &self.name, 1, 50);
    }
}

/// What the recovery worker is asked to do. The request path only checks the quotas and queues
/// this, so its answer and its work are the same whether or not the account exists; the
/// worker finds the account and mails it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum RecoveryRequest {
    VerificationCode { email: String },
    ResetCode { email: String },
    TemporaryPassword { email: String, name: String },
}

pub async fn queue(ctx: &AppContext, request: &RecoveryRequest) -> ApiResult<()> {
    ctx.sqs
        .send_message()
        .queue_url(ctx.config.queue_url(&crate::model::RECOVERY))
        .message_body(serde_json::to_string(request)?)
        .send()
        .await
        .map_err(|e| ApiError::internal(format!("SQS SendMessage: {}", aws_sdk_sqs::error::DisplayErrorContext(e))))?;
    Ok(())
}

pub async fn forgot(
    ctx: Arc<AppContext>,
    source: Source,
    Json(body): Json<EmailOnly>,
) -> ApiResult<Accepted<Received>> {
    let email = normalize_email(&body.email);
    ratelimit::hit_ip(&ctx, "forgot", source.as_deref()).await?;
    ratelimit::hit_from(&ctx, FORGOT_PER_EMAIL, &email, source.as_deref()).await?;
    queue(&ctx, &RecoveryRequest::ResetCode { email }).await?;
    Ok(Accepted(Received { accepted: true }))
}

/// The recovery worker's work: a reset code or a temporary password for an account that can
/// have one, mailed through the outbox in the same transaction that stores it.
pub async fn handle(ctx: Arc<AppContext>, request: RecoveryRequest) -> Result<(), MessageError> {
    match request {
        RecoveryRequest::VerificationCode { email } => send_new_verification_code(&ctx, &email).await?,
        RecoveryRequest::ResetCode { email } => send_reset_code(&ctx, &email).await?,
        RecoveryRequest::TemporaryPassword { email, name } => send_temporary_password(&ctx, &email, &name).await?,
    }
    Ok(())
}

async fn send_reset_code(ctx: &AppContext, email: &str) -> ApiResult<()> {
    let Some(user) = find_by_email(ctx, email).await? else { return Ok(()) };
    if user.status == AccountStatus::Withdrawn || user.password_hash.is_none() {
        return Ok(());
    }
    // Within the resend cooldown nothing is sent (the code mailed a moment ago still works).
    let Ok((write, code)) = codes::new_code_after_cooldown(ctx, &user.id, Purpose::ResetPassword).await else {
        return Ok(());
    };
    let mail = Email {
        to: user.email.clone(),
        subject: "[펫플랫폼] 비밀번호 재설정 코드".into(),
        text: format!(
            "비밀번호 재설정 코드: {code}\n\n코드는 10분 동안 유효합니다. 본인이 요청하지 않았다면 이 메일을 무시하세요."
        ),
        dedup_key: format!("reset:{}:{}", user.id, ctx.now().timestamp_millis()),
    };
    match ctx.table.transact(vec![write, shared::outbox::message(ctx, &queues::MAIL, &mail)?]).await {
        Err(ApiError::TooManyRequests { .. }) => Ok(()), // another request sent one just now
        other => other,
    }
}

pub async fn reset(ctx: Arc<AppContext>, source: Source, Json(body): Json<ResetRequest>) -> ApiResult<NoContent> {
    let email = normalize_email(&body.email);
    ratelimit::hit_ip(&ctx, "reset", source.as_deref()).await?;
    ratelimit::hit_from(&ctx, codes::TRIES, &email, source.as_deref()).await?;
    let wrong = codes::wrong;
    let Some(user) = find_by_email(&ctx, &email).await? else { return Err(wrong()) };
    if user.status == AccountStatus::Withdrawn || user.password_hash.is_none() {
        return Err(wrong());
    }
    let consume = codes::check(&ctx, &user.id, Purpose::ResetPassword, &body.code).await?;
    let hash = password::hash(&body.new_password).await?;
    ctx.table
        .transact(vec![
            consume,
            Write::update(
                user_key(&user.id),
                "SET passwordHash = :h, failedLogins = :zero, lockCount = :zero, passwordChangedAt = :now, updatedAt = :now REMOVE tempPasswordHash, tempPasswordExpires, lockedUntil",
            )
            .value(":h", s(hash))
            .value(":zero", n(0))
            .value(":now", s(ctx.now().to_rfc3339())),
        ])
        .await?;
    sessions::revoke_all(&ctx, &user.id, None).await?;
    Ok(NoContent)
}

pub async fn temporary(
    ctx: Arc<AppContext>,
    source: Source,
    Json(body): Json<TemporaryRequest>,
) -> ApiResult<Accepted<Received>> {
    let email = normalize_email(&body.email);
    ratelimit::hit_ip(&ctx, "temporary", source.as_deref()).await?;
    ratelimit::hit_from(&ctx, TEMPORARY_PER_EMAIL, &email, source.as_deref()).await?;
    queue(&ctx, &RecoveryRequest::TemporaryPassword { email, name: body.name.trim().to_string() }).await?;
    Ok(Accepted(Received { accepted: true }))
}

async fn send_temporary_password(ctx: &AppContext, email: &str, name: &str) -> ApiResult<()> {
    let Some(user) = find_by_email(ctx, email).await? else { return Ok(()) };
    let recently_sent = user.temp_password_expires.is_some_and(|e| {
        e - chrono::Duration::seconds(TEMPORARY_PASSWORD_SECS) + chrono::Duration::seconds(codes::RESEND_COOLDOWN_SECS)
            > ctx.now()
    });
    // Only when name and email match, and one a minute at most: nobody can flood the mailbox.
    if user.status != AccountStatus::Active || user.password_hash.is_none() || user.name != name || recently_sent {
        return Ok(());
    }
    let temp = password::temporary();
    let expires = ctx.now() + chrono::Duration::seconds(TEMPORARY_PASSWORD_SECS);
    let mail = Email {
        to: user.email.clone(),
        subject: "[펫플랫폼] 임시 비밀번호".into(),
        text: format!(
            "임시 비밀번호: {temp}\n\n15분 동안 한 번 로그인할 수 있습니다. 로그인한 뒤 바로 새 비밀번호를 설정하세요. 기존 비밀번호도 그대로 사용할 수 있습니다."
        ),
        dedup_key: format!("temporary:{}:{}", user.id, ctx.now().timestamp_millis()),
    };
    // The old password keeps working: a stranger who knows name and email locks nobody out.
    ctx.table
        .transact(vec![
            Write::update(user_key(&user.id), "SET tempPasswordHash = :h, tempPasswordExpires = :e")
                .value(":h", s(password::hash(&temp).await?))
                .value(":e", s(expires.to_rfc3339())),
            shared::outbox::message(ctx, &queues::MAIL, &mail)?,
        ])
        .await
}

/// Emails a verification code.
pub fn verification_mail(ctx: &AppContext, user: &User, code: &str) -> Email {
    Email {
        to: user.email.clone(),
        subject: "[펫플랫폼] 이메일 인증 코드".into(),
        // No user text in the mail: it can be sent to any address, so it says nothing a
        // stranger chose.
        text: format!(
            "인증 코드: {code}\n\n펫플랫폼 가입을 환영합니다. 코드는 5분 동안 유효합니다. 본인이 요청하지 않았다면 이 메일을 무시하세요."
        ),
        dedup_key: format!("verify:{}:{}", user.id, ctx.now().timestamp_millis()),
    }
}

/// The recovery worker's part of a resend: a new code for an account that waits for
/// verification, at most one a minute (within the cooldown the code sent last still works).
pub async fn send_new_verification_code(ctx: &AppContext, email: &str) -> ApiResult<()> {
    let Some(user) = find_by_email(ctx, email).await? else { return Ok(()) };
    if user.status != AccountStatus::PendingVerification {
        return Ok(());
    }
    let Ok((write, code)) = codes::new_code_after_cooldown(ctx, &user.id, Purpose::VerifyEmail).await else {
        return Ok(());
    };
    match ctx
        .table
        .transact(vec![write, shared::outbox::message(ctx, &queues::MAIL, &verification_mail(ctx, &user, &code))?])
        .await
    {
        Err(ApiError::TooManyRequests { .. }) => Ok(()),
        other => other,
    }
}

pub static RECOVERY_WORKER: Function = Function::worker(
    "recovery-worker",
    PKG,
    Worker {
        name: "recovery",
        queue: &crate::model::RECOVERY,
        batch_size: 10,
        handler: shared::consumer!(handle),
        summary: "Sends reset codes and temporary passwords for recovery requests",
        example: r#"{"kind":"resetCode","email":"mina@example.com"}"#,
    },
)
.permissions(&[Permission::TableRead, Permission::TableWrite])
// One-time codes are keyed with the token secret.
.settings(&[&shared::config::JWT_SECRET]);
