//! Email: the message shape queued for the mail worker, and the SES call that sends it.

use serde::{Deserialize, Serialize};

use crate::context::AppContext;
use crate::error::{ApiError, ApiResult};
use crate::queues;

/// A plain-text email, as queued on the mail queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub text: String,
    /// Identifies the email for de-duplication (a redelivered message sends once).
    pub dedup_key: String,
}

/// A subject on one line: text from users (nicknames, titles) cannot start another header.
pub fn one_line(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect::<String>().trim().to_string()
}

/// Sends an email through SES now. The recipient must be one plain address and the subject one
/// line, whatever was queued.
pub async fn send(ctx: &AppContext, email: &Email) -> ApiResult<()> {
    use aws_sdk_ses::types::{Body, Content, Destination, Message};
    if !crate::validate::looks_like_email(&email.to) || email.to.contains([',', ';', '<', '>', '\r', '\n']) {
        return Err(ApiError::internal("an email to something that is not one address"));
    }
    let subject = one_line(&email.subject);
    let content = |s: &str| Content::builder().data(s).charset("UTF-8").build().map_err(ApiError::internal);
    ctx.ses
        .send_email()
        .source(&ctx.config.mail_from)
        .destination(Destination::builder().to_addresses(&email.to).build())
        .message(
            Message::builder()
                .subject(content(&subject)?)
                .body(Body::builder().text(content(&email.text)?).build())
                .build(),
        )
        .send()
        .await
        .map_err(|e| ApiError::internal(format!("SES SendEmail: {}", aws_sdk_ses::error::DisplayErrorContext(e))))?;
    Ok(())
}

/// Queues an email for the mail worker (retries and dead letters are the queue's business).
pub async fn enqueue(ctx: &AppContext, email: &Email) -> ApiResult<()> {
    ctx.sqs
        .send_message()
        .queue_url(ctx.config.queue_url(&queues::MAIL))
        .message_body(serde_json::to_string(email)?)
        .send()
        .await
        .map_err(|e| ApiError::internal(format!("SQS SendMessage: {}", aws_sdk_sqs::error::DisplayErrorContext(e))))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_subject_cannot_carry_another_header() {
        let s = super::one_line("[펫플랫폼] 새 댓글\r\nBcc: victim@example.com");
        assert!(!s.contains('\r') && !s.contains('\n'), "{s}");
        assert_eq!(s, "[펫플랫폼] 새 댓글  Bcc: victim@example.com");
    }
}
