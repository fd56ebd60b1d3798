//! The outbox relay: reads the table's stream and sends every committed outbox message to its
//! queue (see [`shared::outbox`]). Records are handled in stream order; the first one that cannot
//! be sent is reported, so it and everything after it are delivered again (consumers are
//! idempotent on the message id, so a repeat is harmless). The items of the messages sent are
//! deleted; one left over (the delete failed) is sent again by the re-send job, harmlessly.

use std::sync::Arc;

use aws_lambda_events::dynamodb::Event;
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use shared::AppContext;
use shared::outbox::{self, OutboxMessage};
use shared::queues;
use shared::routes::{Function, Permission, StreamConsumer, StreamFilter};

pub static OUTBOX_RELAY: Function = Function::stream(
    "outbox-relay",
    "system",
    StreamConsumer {
        name: "outbox-relay",
        batch_size: 100,
        max_retries: 10,
        failure_queue: &queues::OUTBOX,
        filter: StreamFilter::InsertsOf(<OutboxMessage as shared::table::Entity>::TYPE),
        handler: |ctx, event| Box::pin(relay(ctx, event)),
        summary: "Sends the messages committed in the table's outbox to their queues",
    },
)
.permissions(&[Permission::RelayOutbox, Permission::TableWrite]);

pub async fn relay(ctx: Arc<AppContext>, event: Event) -> DynamoDbEventResponse {
    let mut response = DynamoDbEventResponse::default();
    let mut sent = Vec::new();
    for record in event.records {
        if record.event_name != "INSERT" {
            continue;
        }
        let Some(message) = outbox::from_image(record.change.new_image) else { continue };
        if let Err(e) = outbox::send(&ctx, &message).await {
            tracing::warn!(message_id = %message.id, queue = %message.queue, error = %e, "outbox message not sent");
            let mut failure = DynamoDbBatchItemFailure::default();
            failure.item_identifier = record.change.sequence_number;
            response.batch_item_failures.push(failure);
            break;
        }
        // How long the message waited in the table (its id carries the time of its write).
        if let Ok(id) = ulid::Ulid::from_string(&message.id) {
            let age = ctx.now().timestamp_millis() - id.timestamp_ms() as i64;
            ctx.metrics.observe(
                shared::metrics::names::OUTBOX_AGE,
                shared::metrics::Unit::Milliseconds,
                age.max(0) as f64,
            );
        }
        sent.push(message.id);
    }
    if let Err(e) = outbox::mark_sent(&ctx, &sent).await {
        tracing::warn!(error = %e, "sent outbox messages not marked; the re-send job sends them again");
    }
    tracing::info!(
        sent = sent.len(),
        failed = response.batch_item_failures.len(),
        cold_start = shared::logging::take_cold_start(),
        "relayed"
    );
    ctx.emit_metrics(OUTBOX_RELAY.binary, None);
    response
}
