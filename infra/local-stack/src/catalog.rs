//! The route table of the whole product: every domain package's routes, workers and jobs.
//! Adding a domain means adding it here; everything else (local gateway, template, events,
//! OpenAPI) follows.

use shared::routes::{Domain, Job, Route, StreamConsumer, Worker};

pub const DOMAINS: &[Domain] =
    &[system::DOMAIN, identity::DOMAIN, pets::DOMAIN, diary::DOMAIN, social::DOMAIN, notifications::DOMAIN];

pub fn routes() -> Vec<&'static Route> {
    DOMAINS.iter().flat_map(|d| d.routes.iter().copied()).collect()
}

pub fn workers() -> Vec<&'static Worker> {
    DOMAINS.iter().flat_map(|d| d.workers.iter().copied()).collect()
}

pub fn jobs() -> Vec<&'static Job> {
    DOMAINS.iter().flat_map(|d| d.jobs.iter().copied()).collect()
}

pub fn streams() -> Vec<&'static StreamConsumer> {
    DOMAINS.iter().flat_map(|d| d.streams.iter().copied()).collect()
}

/// The OpenAPI document of the HTTP API.
pub fn openapi_json() -> String {
    shared::openapi::document(DOMAINS, env!("CARGO_PKG_VERSION")).to_pretty_json().expect("the document serialises")
}
