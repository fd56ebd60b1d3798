//! `GET /health`: the build's version and whether the table answers.

use std::sync::Arc;
use std::time::Instant;

use http::StatusCode;
use serde::Serialize;
use shared::handler;
use shared::routes::{Access, Function, Method, Permission, respond, schema};
use shared::{ApiResponse, ApiResult, AppContext};
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Health {
    /// `ok` when every dependency answers, `degraded` otherwise.
    pub status: &'static str,
    pub version: String,
    pub stage: String,
    pub table: TableHealth,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TableHealth {
    pub reachable: bool,
    pub latency_ms: f64,
}

pub static HEALTH: Function =
    Function::http(Method::Get, "/health", "health", "system", Access::Public, handler!(health))
        .permissions(&[Permission::TableRead])
        .max_body(0)
        .doc("system", "Service health: version and table reachability")
        .responses(&[
            respond(200, "Everything answers.", Some(schema::<Health>)),
            respond(503, "The table does not answer.", Some(schema::<Health>)),
        ]);

pub async fn health(ctx: Arc<AppContext>) -> ApiResult<ApiResponse> {
    let started = Instant::now();
    // A key lookup of an item that need not exist: proves the table answers, costs one read.
    let reachable = match ctx.table.get_item(&shared::keys::health_probe_key()).await {
        Ok(_) => true,
        Err(e) => {
            tracing::warn!(error = %e, "table unreachable");
            false
        }
    };
    let body = Health {
        status: if reachable { "ok" } else { "degraded" },
        version: ctx.config.version.clone(),
        stage: ctx.config.stage.clone(),
        table: TableHealth { reachable, latency_ms: (started.elapsed().as_secs_f64() * 10_000.0).round() / 10.0 },
    };
    ApiResponse::json(if reachable { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE }, &body)
}
