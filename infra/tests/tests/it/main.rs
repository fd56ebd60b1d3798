//! The integration suite as one test binary: each module drives one area of the product through
//! its API against an in-process local stack (`integration_tests::TestStack`). One binary links
//! the product once; the areas' tests run side by side in it.
//!
//! Run one area with `cargo test -p integration-tests --test it -- region::`. The log test is a
//! binary of its own (`--test logs`): it owns its process's log subscriber.

mod admin;
mod authz;
mod boundaries;
mod campaigns;
mod care;
mod chat;
mod community;
mod deposits;
mod foundation;
mod hardening;
mod health;
mod iam;
mod identity;
mod infra;
mod instagram;
mod market;
mod matrix;
mod metrics;
mod moderation;
mod outbox;
mod payments;
mod push;
mod realtime;
mod refunds;
mod region;
mod reliability;
mod social;
mod table_calls;
