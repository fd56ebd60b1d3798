//! The outbox re-send job: sends the outbox messages still pending a few minutes after their
//! commit, which the relay gave up on (see [`shared::outbox`]), and deletes them once sent.
//! Consumers are idempotent on the message id, so a message the relay also sent is harmless.

use std::sync::Arc;

use shared::outbox;
use shared::routes::{Function, Job, Permission};
use shared::{ApiResult, AppContext};

pub static OUTBOX_RESEND: Function = Function::job(
    "outbox-resend",
    "system",
    Job {
        name: "outbox-resend",
        schedule: "rate(5 minutes)",
        handler: |ctx| Box::pin(run(ctx)),
        summary: "Sends the outbox messages the relay could not send",
    },
)
.permissions(&[Permission::TableRead, Permission::TableWrite, Permission::RelayOutbox]);

/// Messages taken per shard and run; the next run takes the rest.
const PER_SHARD: usize = 200;

pub async fn run(ctx: Arc<AppContext>) -> ApiResult<serde_json::Value> {
    let before = ctx.now() - chrono::Duration::seconds(outbox::RESEND_AFTER_SECS);
    let (mut sent, mut failed) = (Vec::new(), 0u32);
    for shard in 0..outbox::PENDING_SHARDS {
        for message in outbox::pending_before(&ctx, shard, before, PER_SHARD).await? {
            match outbox::send(&ctx, &message).await {
                Ok(()) => sent.push(message.id),
                Err(e) => {
                    failed += 1;
                    tracing::warn!(message_id = %message.id, error = %e, "outbox message still not sent");
                }
            }
        }
    }
    outbox::mark_sent(&ctx, &sent).await?;
    Ok(serde_json::json!({"resent": sent.len(), "failed": failed}))
}
