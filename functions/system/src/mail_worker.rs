//! The mail worker: sends each queued [`Email`] through SES, once, even when SQS delivers the
//! message again.

use std::sync::Arc;

use shared::AppContext;
use shared::idempotency::{self, Claim};
use shared::mail::{self, Email};
use shared::queues;
use shared::routes::{Function, Permission, Worker};
use shared::validate::looks_like_email;
use shared::worker::MessageError;

pub static MAIL_WORKER: Function = Function::worker(
    "mail-worker",
    "system",
    Worker {
        name: "mail",
        queue: &queues::MAIL,
        batch_size: 10,
        handler: shared::consumer!(handle),
        summary: "Sends queued transactional email through SES",
        example: r#"{"to":"someone@example.com","subject":"Welcome","text":"Hello!","dedupKey":"welcome:01JD0000000000000000000000"}"#,
    },
)
.permissions(&[Permission::TableRead, Permission::TableWrite, Permission::SendEmail]);

pub async fn handle(ctx: Arc<AppContext>, email: Email) -> Result<(), MessageError> {
    if !looks_like_email(&email.to) {
        return Err(MessageError::Permanent(format!("not an email address: {:?}", email.to)));
    }
    if idempotency::claim(&ctx, "mail", &email.dedup_key).await? == Claim::AlreadyDone {
        return Ok(());
    }
    match mail::send(&ctx, &email).await {
        Ok(()) => {
            idempotency::complete(&ctx, "mail", &email.dedup_key).await?;
            Ok(())
        }
        Err(e) => {
            // Let the next delivery try again.
            idempotency::release(&ctx, "mail", &email.dedup_key).await?;
            Err(e.into())
        }
    }
}
