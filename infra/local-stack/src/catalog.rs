//! The function table of the whole product: every domain package's functions. Adding a domain
//! means adding it here; everything else (local gateway, workers, template, events, OpenAPI,
//! README tables) follows.

use shared::routes::{Domain, Function, Job, Route, StreamConsumer, Worker};

pub const DOMAINS: &[Domain] = &[
    system::DOMAIN,
    identity::DOMAIN,
    pets::DOMAIN,
    diary::DOMAIN,
    social::DOMAIN,
    notifications::DOMAIN,
    realtime::DOMAIN,
    chat::DOMAIN,
    market::DOMAIN,
    health::DOMAIN,
    admin::DOMAIN,
    campaigns::DOMAIN,
    community::DOMAIN,
    instagram::DOMAIN,
];

pub fn functions() -> Vec<&'static Function> {
    DOMAINS.iter().flat_map(|d| d.functions.iter().copied()).collect()
}

/// Every upload purpose the domains declare.
pub fn upload_purposes() -> Vec<&'static shared::media::Purpose> {
    DOMAINS.iter().flat_map(|d| d.uploads.iter().copied()).collect()
}

/// Every queue of the product (the kernel's and those the domains declare).
pub fn queues() -> Vec<&'static shared::queues::Queue> {
    shared::routes::queues(functions())
}

pub fn routes() -> Vec<&'static Route> {
    functions().into_iter().filter_map(Function::route).collect()
}

pub fn workers() -> Vec<&'static Worker> {
    functions().into_iter().filter_map(Function::worker_spec).collect()
}

/// The WebSocket API's routes.
pub fn websocket_routes() -> Vec<&'static shared::routes::WsRoute> {
    functions().into_iter().filter_map(Function::websocket_route).collect()
}

pub fn jobs() -> Vec<&'static Job> {
    functions().into_iter().filter_map(Function::job_spec).collect()
}

pub fn streams() -> Vec<&'static StreamConsumer> {
    functions().into_iter().filter_map(Function::stream_spec).collect()
}

/// The OpenAPI document of the HTTP API.
pub fn openapi_json() -> String {
    shared::openapi::document(DOMAINS, env!("CARGO_PKG_VERSION")).to_pretty_json().expect("the document serialises")
}

/// Every domain's counter audit, one after the other (`cargo run -- audit [--repair]`, and the
/// tests that end with an audit).
pub async fn audit_all(
    ctx: &shared::AppContext,
    repair: bool,
) -> shared::ApiResult<Vec<(&'static str, shared::audit::Report)>> {
    Ok(vec![
        ("diary", diary::audit::run(ctx, repair).await?),
        ("social", social::audit::run(ctx, repair).await?),
        ("notifications", notifications::audit::run(ctx, repair).await?),
        ("market", market::audit::run(ctx, repair).await?),
        ("community", community::audit::run(ctx, repair).await?),
        ("chat", chat::audit::run(ctx, repair).await?),
    ])
}
