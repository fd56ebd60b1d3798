//! The outbox relay: reads the table's stream and sends every committed outbox message to its
//! queue (see [`shared::outbox`]). Records are handled in stream order; the first one that cannot
//! be sent is reported, so it and everything after it are delivered again (consumers are
//! idempotent on the message id, so a repeat is harmless).

use std::sync::Arc;

use aws_lambda_events::dynamodb::Event;
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use shared::AppContext;
use shared::outbox::{self, OutboxMessage};
use shared::queues;
use shared::routes::{Function, Permission, StreamConsumer};

pub static OUTBOX_RELAY: Function = Function::stream(
    "outbox-relay",
    "system",
    StreamConsumer {
        name: "outbox-relay",
        batch_size: 100,
        max_retries: 10,
        failure_queue: &queues::OUTBOX,
        inserts_of: <OutboxMessage as shared::table::Entity>::TYPE,
        handler: |ctx, event| Box::pin(relay(ctx, event)),
        summary: "Sends the messages committed in the table's outbox to their queues",
    },
)
.permissions(&[Permission::RelayOutbox]);

pub async fn relay(ctx: Arc<AppContext>, event: Event) -> DynamoDbEventResponse {
    let mut response = DynamoDbEventResponse::default();
    let mut sent = 0;
    for record in event.records {
        if record.event_name != "INSERT" {
            continue;
        }
        let Some(message) = outbox::from_image(record.change.new_image) else { continue };
        if let Err(e) = send(&ctx, &message).await {
            tracing::warn!(message_id = %message.id, queue = %message.queue, error = %e, "outbox message not sent");
            let mut failure = DynamoDbBatchItemFailure::default();
            failure.item_identifier = record.change.sequence_number;
            response.batch_item_failures.push(failure);
            break;
        }
        sent += 1;
    }
    tracing::info!(
        sent,
        failed = response.batch_item_failures.len(),
        cold_start = shared::logging::take_cold_start(),
        "relayed"
    );
    response
}

async fn send(ctx: &AppContext, message: &OutboxMessage) -> Result<(), String> {
    let queue = queues::by_name(&message.queue).ok_or_else(|| format!("no queue named {}", message.queue))?;
    ctx.sqs
        .send_message()
        .queue_url(ctx.config.queue_url(queue))
        .message_body(&message.body)
        .send()
        .await
        .map_err(|e| format!("SQS SendMessage: {}", aws_sdk_sqs::error::DisplayErrorContext(e)))?;
    Ok(())
}
