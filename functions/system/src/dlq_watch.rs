//! The dead-letter watch: a scheduled job that counts the messages waiting in every dead-letter
//! queue and emails the operators (once a day per queue) when any holds some.

use std::sync::Arc;

use aws_sdk_sqs::types::QueueAttributeName;
use shared::mail::{self, Email};
use shared::queues;
use shared::routes::{Function, Job, Permission};
use shared::{ApiError, ApiResult, AppContext};

pub static DLQ_WATCH: Function = Function::job(
    "dlq-watch",
    "system",
    Job {
        name: "dlq-watch",
        schedule: "rate(15 minutes)",
        handler: |ctx| Box::pin(run(ctx)),
        summary: "Alerts the operators when a dead-letter queue holds messages",
    },
)
.permissions(&[Permission::InspectQueues, Permission::SendTo(&queues::MAIL)]);

pub async fn run(ctx: Arc<AppContext>) -> ApiResult<serde_json::Value> {
    let mut summary = serde_json::Map::new();
    let today = ctx.now().format("%Y-%m-%d").to_string();
    for name in &ctx.config.queue_names {
        let dlq = format!("{name}-dlq");
        let out = ctx
            .sqs
            .get_queue_attributes()
            .queue_url(ctx.config.dlq_url_named(name))
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .send()
            .await
            .map_err(|e| {
                ApiError::internal(format!("GetQueueAttributes: {}", aws_sdk_sqs::error::DisplayErrorContext(e)))
            })?;
        let waiting: u64 = out
            .attributes()
            .and_then(|a| a.get(&QueueAttributeName::ApproximateNumberOfMessages))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        summary.insert(dlq.clone(), waiting.into());
        if waiting > 0 {
            mail::enqueue(
                &ctx,
                &Email {
                    to: ctx.config.ops_email.clone(),
                    subject: format!("[{}] {} message(s) in {}", ctx.config.stage, waiting, dlq),
                    text: format!(
                        "The dead-letter queue {dlq} holds {waiting} message(s) that failed every delivery the queue allows.\nInspect them and redrive them once the cause is fixed.",
                    ),
                    dedup_key: format!("dlq-alert:{dlq}:{today}"),
                },
            )
            .await?;
        }
    }
    Ok(serde_json::Value::Object(summary))
}
