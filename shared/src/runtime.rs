//! Lambda entry points: each binary's `main` is `shared::runtime::main(&FUNCTION)`, with its
//! static route, worker or job. The context is built once per cold start and shared by every invocation.

use std::convert::Infallible;
use std::sync::Arc;

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{LambdaEvent, service_fn};

use crate::context::AppContext;
use crate::routes::{Function, Job, Trigger, Worker};
use crate::worker::{Message, MessageError};

pub type Error = lambda_runtime::Error;

/// Every binary that links the kernel allocates through mimalloc: under a burst the functions
/// spend much of their time allocating (requests, JSON, SDK calls), and glibc's malloc showed as a
/// fifth of a chat burst's profile where mimalloc's thread-local pages cost a fraction of it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A function binary's whole `main`: the runtime `#[tokio::main]` would build, running [`run`].
/// It lives here, not in each binary, because the futures a binary polls are compiled where
/// they are polled: with `#[tokio::main]` in each binary, every one of them compiled the whole
/// async path (context, dispatch, the Lambda runtime) again, about 30–40 s per binary in a
/// release build; now that is compiled once, in this crate, and a binary only links.
#[inline(never)]
pub fn main(function: &'static Function) -> Result<(), Error> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(run(function))
}

/// Runs one function in Lambda: the context is built once, then every invocation is handed to
/// the handler its trigger names.
pub async fn run(function: &'static Function) -> Result<(), Error> {
    crate::logging::init_json();
    let ctx = AppContext::from_env().await?;
    match &function.trigger {
        Trigger::Http(route) => {
            lambda_http::run(service_fn(move |req: lambda_http::Request| {
                let ctx = ctx.clone();
                async move { Ok::<_, Infallible>(crate::dispatch::dispatch(route, ctx, req).await) }
            }))
            .await
        }
        Trigger::Sqs(worker) => {
            lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
                let ctx = ctx.clone();
                async move { Ok::<SqsBatchResponse, Infallible>(process_batch(worker, ctx, event.payload).await) }
            }))
            .await
        }
        Trigger::Stream(consumer) => {
            lambda_runtime::run(service_fn(move |event: LambdaEvent<aws_lambda_events::dynamodb::Event>| {
                let ctx = ctx.clone();
                async move { Ok::<_, Infallible>((consumer.handler)(ctx, event.payload).await) }
            }))
            .await
        }
        Trigger::WebSocket(route) => {
            lambda_runtime::run(service_fn(
                move |event: LambdaEvent<aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest>| {
                    let ctx = ctx.clone();
                    async move { Ok::<_, Infallible>((route.handler.call)(ctx, event.payload).await) }
                },
            ))
            .await
        }
        Trigger::Schedule(job) => {
            lambda_runtime::run(service_fn(move |_event: LambdaEvent<serde_json::Value>| {
                let ctx = ctx.clone();
                async move { run_job_once(job, ctx).await.map_err(Error::from) }
            }))
            .await
        }
    }
}

/// One run of a job; the local scheduler calls this too.
pub async fn run_job_once(
    job: &'static Job,
    ctx: Arc<AppContext>,
) -> Result<serde_json::Value, crate::error::ApiError> {
    let result = (job.handler)(ctx).await;
    match &result {
        Ok(summary) => tracing::info!(job = job.name, summary = %summary, "job finished"),
        Err(e) => tracing::error!(job = job.name, error = %e, "job failed"),
    }
    result
}

/// Processes every message of the batch concurrently and reports those that failed.
/// Moves a message that can never succeed to its queue's dead-letter queue, with the reason.
async fn dead_letter(ctx: &AppContext, worker: &Worker, body: &str, reason: &str) -> Result<(), ()> {
    let attribute = aws_sdk_sqs::types::MessageAttributeValue::builder()
        .data_type("String")
        .string_value(reason.chars().take(1000).collect::<String>())
        .build()
        .map_err(|_| ())?;
    ctx.sqs
        .send_message()
        .queue_url(ctx.config.dlq_url(worker.queue))
        .message_body(body)
        .message_attributes("failureReason", attribute)
        .send()
        .await
        .map(|_| ())
        .map_err(
            |e| tracing::error!(error = %aws_sdk_sqs::error::DisplayErrorContext(e), "dead-letter queue unreachable"),
        )
}

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
            let body = msg.body.clone();
            // The message's own view of the context: its DynamoDB calls are counted for it alone.
            let unit = ctx.for_unit();
            let result = (worker.handler.call)(unit.ctx.clone(), msg).await;
            let calls = unit.tally();
            if let Some(ledger) = &ctx.call_ledger {
                ledger.record(format!("worker {}", worker.name), result.is_ok(), &calls);
            }
            unit.ctx.emit_metrics(worker.name, Some(&calls));
            let ok = match result {
                Ok(()) => true,
                Err(MessageError::Retry(reason)) => {
                    tracing::warn!(worker = worker.name, message_id = %id, error = %reason, "message failed; it will be retried");
                    false
                }
                Err(MessageError::RetryAfter { after_secs, reason }) => {
                    tracing::warn!(worker = worker.name, message_id = %id, error = %reason, after_secs, "message failed; retried after a delay");
                    // The delay is the message's visibility; if it cannot be set, the queue's own
                    // timeout applies.
                    if let Some(handle) = &record.receipt_handle {
                        let changed = ctx
                            .sqs
                            .change_message_visibility()
                            .queue_url(ctx.config.queue_url(worker.queue))
                            .receipt_handle(handle)
                            .visibility_timeout(after_secs.min(43_200) as i32)
                            .send()
                            .await;
                        if let Err(e) = changed {
                            tracing::warn!(error = %aws_sdk_sqs::error::DisplayErrorContext(e), "visibility not changed");
                        }
                    }
                    false
                }
                Err(MessageError::Permanent(reason)) => {
                    tracing::warn!(worker = worker.name, message_id = %id, error = %reason, "message refused; to the dead-letter queue");
                    // Done with here once it is safely in the dead-letter queue.
                    dead_letter(&ctx, worker, &body, &reason).await.is_ok()
                }
            };
            (id, ok)
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
