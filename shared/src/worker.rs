//! SQS-driven workers: a batch is processed message by message, and only the messages that
//! failed are reported back (`batchItemFailures`), so only they are delivered again.

use std::sync::Arc;

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use serde::de::DeserializeOwned;

use crate::context::AppContext;
use crate::routes::Worker;

/// One message as a worker sees it.
#[derive(Debug, Clone)]
pub struct Message {
    pub id: String,
    pub body: String,
    /// How many times this message has been delivered, this time included.
    pub receive_count: u32,
}

impl Message {
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, MessageError> {
        serde_json::from_str(&self.body).map_err(|e| MessageError(format!("malformed message body: {e}")))
    }
}

/// A message that could not be processed now; it will be delivered again, and after the queue's
/// maximum receive count it moves to the dead-letter queue.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct MessageError(pub String);

impl From<crate::error::ApiError> for MessageError {
    fn from(e: crate::error::ApiError) -> Self {
        MessageError(e.to_string())
    }
}

/// Processes every message of the batch concurrently and reports those that failed.
pub async fn process_batch(worker: &'static Worker, ctx: Arc<AppContext>, event: SqsEvent) -> SqsBatchResponse {
    let jobs = event.records.into_iter().map(|record| {
        let ctx = ctx.clone();
        async move {
            let id = record.message_id.clone().unwrap_or_default();
            let msg = Message {
                id: id.clone(),
                body: record.body.clone().unwrap_or_default(),
                receive_count: record
                    .attributes
                    .get("ApproximateReceiveCount")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(1),
            };
            let result = (worker.handler)(ctx, msg).await;
            if let Err(e) = &result {
                tracing::warn!(worker = worker.name, message_id = %id, error = %e, "message failed");
            }
            (id, result.is_ok())
        }
    });
    let mut response = SqsBatchResponse::default();
    for (id, ok) in futures::future::join_all(jobs).await {
        if !ok {
            response.add_failure(id);
        }
    }
    tracing::info!(
        worker = worker.name,
        failures = response.batch_item_failures.len(),
        cold_start = crate::logging::take_cold_start(),
        "batch"
    );
    response
}
