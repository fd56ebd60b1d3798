//! The kernel every function of the pet platform uses.
//!
//! | module | what it holds |
//! |---|---|
//! | [`config`] | typed configuration from environment variables, validated at cold start |
//! | [`context`] | the clients and keys a handler uses, built once |
//! | [`error`] | the one error type and its `application/problem+json` mapping |
//! | [`http`] | requests, responses and `dispatch`, shared by Lambda and the local gateway |
//! | [`routes`] | the function table: one `Function` per Lambda, with its trigger, permissions and secrets |
//! | [`table`] | the single-table access layer: entities, writes, transactions, queries, cursors |
//! | [`auth`] | access tokens and the caller's identity |
//! | [`worker`], [`idempotency`] | SQS batch processing with partial failures, idempotent effects |
//! | [`outbox`] | messages committed in the same transaction as their facts, relayed from the stream |
//! | [`runtime`] | the Lambda entry points each binary calls |

pub mod account;
pub mod auth;
pub mod clock;
pub mod config;
pub mod context;
pub mod error;
pub mod events;
pub mod feed;
pub mod http;
pub mod idempotency;
pub mod ids;
pub mod logging;
pub mod mail;
pub mod media;
pub mod openapi;
pub mod outbox;
pub mod people;
pub mod queues;
pub mod ratelimit;
pub mod routes;
pub mod runtime;
pub mod table;
pub mod validate;
pub mod worker;

pub use context::AppContext;
pub use error::{ApiError, ApiResult};
pub use http::{ApiRequest, ApiResponse};
