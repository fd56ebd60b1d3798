//! The kernel every function of the pet platform uses.
//!
//! | module | what it holds |
//! |---|---|
//! | [`config`] | typed configuration from environment variables, validated at cold start |
//! | [`context`] | the clients and keys a handler uses, built once |
//! | [`error`] | the one error type and its `application/problem+json` mapping |
//! | [`http`] | the request a handler sees and the response it returns |
//! | [`handler`] | typed handlers: extractors (`Caller`, `Path`, `Json`, …) and replies (`Ok`, `Created`, …) |
//! | [`schema`] | named JSON schemas for the OpenAPI document |
//! | [`dispatch`] | one route for one API Gateway request, shared by Lambda and the local gateway |
//! | [`routes`] | the function table: one `Function` per Lambda, with its trigger, permissions and secrets |
//! | [`table`] | the single-table access layer: entities, writes, transactions, queries, cursors |
//! | [`keys`] | the kernel's keys (the user partition, account and session items, its own mechanics) |
//! | [`auth`] | access tokens and the caller's identity |
//! | [`worker`], [`idempotency`] | SQS batch processing with partial failures, idempotent effects |
//! | [`outbox`] | messages committed in the same transaction as their facts, relayed from the stream |
//! | [`events`] | topics a domain publishes and other domains' workers subscribe to, through the outbox |
//! | [`counters`] | counters moved from the table's stream, once per fact, for what many people move at once |
//! | [`search`], [`threads`] | one posting index and tokenizer for every search; one comment-thread mechanism |
//! | [`runtime`] | the Lambda entry points each binary calls |
//! | [`socket`], [`push`] | WebSocket routes with typed handlers; pushing frames to a user's live connections |

pub mod account;
pub mod audit;
pub mod auth;
pub mod bedrock;
pub mod clock;
pub mod config;
pub mod context;
pub mod counters;
pub mod dispatch;
pub mod error;
pub mod events;
pub mod handler;
pub mod http;
pub mod idempotency;
pub mod idempotent_http;
pub mod ids;
pub mod keys;
pub mod logging;
pub mod mail;
pub mod media;
pub mod metrics;
pub mod openapi;
pub mod outbox;
pub mod push;
pub mod queues;
pub mod ratelimit;
pub mod routes;
pub mod runtime;
pub mod schema;
pub mod sealed;
pub mod search;
pub mod socket;
pub mod table;
pub mod threads;
pub mod validate;
pub mod worker;

pub use context::AppContext;
pub use error::{ApiError, ApiResult};
pub use http::{ApiRequest, ApiResponse};
