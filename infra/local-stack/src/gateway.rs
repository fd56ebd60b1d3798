//! The local HTTP API: API Gateway's part, built from the route table. Each request is matched to
//! its route, turned into the API Gateway v2 event the Lambda would get, parsed by `lambda_http`
//! exactly as in Lambda, and handed to the same `dispatch` the binary runs. Beside the API it
//! serves the OpenAPI document and the local-only console endpoints under `/_local/`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use shared::ApiError;
use shared::http::ApiResponse;
use shared::routes::{Job, Route};

use crate::apigw::{IncomingRequest, http_event};
use crate::cors::Cors;
use crate::ses::Mailbox;
use crate::sqs::Queues;

/// API Gateway's payload limit.
const MAX_PAYLOAD: usize = 10 * 1024 * 1024;

pub struct Gateway {
    /// The routes by path template, each with its methods' routes.
    pub routes: matchit::Router<Vec<&'static Route>>,
    pub jobs: Vec<&'static Job>,
    /// Each function's context, under its own identity.
    pub contexts: Arc<crate::contexts::Contexts>,
    pub mailbox: Arc<Mailbox>,
    pub queues: Arc<Queues>,
    pub cors: Cors,
    pub faults: Arc<crate::faults::Faults>,
    pub iam: Arc<crate::iam::Iam>,
    pub toss: Arc<crate::toss_sandbox::Toss>,
    pub push: Arc<crate::push_service::PushService>,
    pub bedrock: Arc<crate::bedrock::Bedrock>,
    pub metrics: Arc<crate::metrics::Collector>,
    /// The WebSocket API's address, for the browser demo.
    pub websocket_url: String,
    pub openapi: String,
    /// The mailbox page shows verification codes: served only while the stack listens on
    /// loopback, and only for one address at a time.
    pub mailbox_open: bool,
}

/// The routes by path template (`matchit` chooses between templates as API Gateway does: a
/// literal segment wins over a parameter in that place, `/auth/oauth/link` over
/// `/auth/oauth/{provider}`).
pub fn route_table(routes: &[&'static Route]) -> Result<matchit::Router<Vec<&'static Route>>, matchit::InsertError> {
    let mut by_path: std::collections::BTreeMap<&str, Vec<&'static Route>> = Default::default();
    for r in routes {
        by_path.entry(r.path).or_default().push(r);
    }
    let mut table = matchit::Router::new();
    for (path, routes) in by_path {
        table.insert(path, routes)?;
    }
    Ok(table)
}

/// `GET /_local/iam`: the calls the functions' policies refused, and the statements no call has
/// used yet (a permission no code path of the run needed).
async fn iam_report(State(gw): State<Arc<Gateway>>) -> Response {
    let unused: Vec<_> = gw
        .iam
        .unused()
        .into_iter()
        .map(|(function, actions, resources)| serde_json::json!({"function": function, "actions": actions, "resources": resources}))
        .collect();
    axum::Json(serde_json::json!({
        "mode": format!("{:?}", gw.iam.mode),
        "refusals": gw.iam.refusals(),
        "unused": unused,
    }))
    .into_response()
}

pub fn router(gw: Arc<Gateway>) -> Router {
    let consoles = crate::faults::console(gw.faults.clone())
        .merge(crate::toss_sandbox::console(gw.toss.clone()))
        .merge(crate::push_service::console(gw.push.clone()))
        .merge(crate::bedrock::console(gw.bedrock.clone()))
        .merge(crate::metrics::console(gw.metrics.clone()))
        .merge(crate::web::router(gw.websocket_url.clone()));
    Router::new()
        .route("/openapi.json", get(openapi))
        .route("/_local/mail", get(mailbox))
        .route("/_local/jobs/{name}/run", post(run_job))
        .route("/_local/queues", get(queues))
        .route("/_local/iam", get(iam_report))
        .fallback(api)
        .layer(DefaultBodyLimit::max(MAX_PAYLOAD))
        .with_state(gw.clone())
        .merge(consoles)
        // Preflights are answered by the gateway, never by a function.
        .layer(gw.cors.layer())
        .layer(axum::middleware::map_response(crate::cors::preflight_as_api_gateway))
}

async fn openapi(State(gw): State<Arc<Gateway>>) -> Response {
    ([("content-type", "application/json")], gw.openapi.clone()).into_response()
}

async fn mailbox(State(gw): State<Arc<Gateway>>, Query(q): Query<HashMap<String, String>>) -> Response {
    if !gw.mailbox_open {
        return problem(&ApiError::forbidden(
            "MAILBOX_CLOSED",
            "The mailbox is served only while the stack listens on a loopback address.",
        ));
    }
    match q.get("to").filter(|t| !t.is_empty()) {
        Some(to) => axum::Json(gw.mailbox.to(Some(to))).into_response(),
        None => problem(&ApiError::validation("to", "REQUIRED", "give the address whose mail to show")),
    }
}

async fn queues(State(gw): State<Arc<Gateway>>) -> Response {
    let mut out = serde_json::Map::new();
    for q in crate::catalog::queues() {
        for name in [q.name.to_string(), q.dlq_name()] {
            if let Some((visible, in_flight)) = gw.queues.depth(&name) {
                out.insert(
                    name.clone(),
                    serde_json::json!({"url": gw.queues.url_of(&name), "visible": visible, "inFlight": in_flight}),
                );
            }
        }
    }
    axum::Json(out).into_response()
}

async fn run_job(State(gw): State<Arc<Gateway>>, Path(name): Path<String>) -> Response {
    let Some(job) = gw.jobs.iter().copied().find(|j| j.name == name) else {
        return problem(&ApiError::not_found("JOB_NOT_FOUND", format!("No scheduled job is named {name}.")));
    };
    match shared::runtime::run_job_once(job, gw.contexts.of_trigger(job)).await {
        Ok(summary) => axum::Json(serde_json::json!({"job": job.name, "result": summary})).into_response(),
        Err(e) => problem(&e),
    }
}

fn problem(e: &ApiError) -> Response {
    to_axum(ApiResponse::problem(e).into_lambda())
}

/// Lambda's limit on a synchronous invocation's payload, each way (6 MB).
pub const LAMBDA_PAYLOAD_LIMIT: usize = 6 * 1024 * 1024;

/// The size of the payload a function returns for `res`: the API Gateway response document,
/// its body as text, or base64 for binary.
pub fn response_payload_size(res: &lambda_http::Response<lambda_http::Body>) -> usize {
    let body = match res.body() {
        lambda_http::Body::Empty => 0,
        lambda_http::Body::Text(t) => t.len(),
        lambda_http::Body::Binary(b) => b.len().div_ceil(3) * 4,
        _ => 0,
    };
    let headers: usize = res.headers().iter().map(|(k, v)| k.as_str().len() + v.len() + 6).sum();
    body + headers + 64
}

/// What API Gateway answers when the function's response is over Lambda's limit: Lambda fails
/// the invocation (`Function.ResponseSizeTooLarge`), the function's log says so, and the
/// client gets a 502.
fn too_large_response(route: &Route, size: usize) -> Response {
    tracing::error!(
        route = %route.route_key(),
        size,
        limit = LAMBDA_PAYLOAD_LIMIT,
        "Response payload size exceeded maximum allowed payload size ({LAMBDA_PAYLOAD_LIMIT} bytes)."
    );
    (StatusCode::BAD_GATEWAY, axum::Json(serde_json::json!({"message": "Internal Server Error"}))).into_response()
}

fn to_axum(res: lambda_http::Response<lambda_http::Body>) -> Response {
    let (parts, body) = res.into_parts();
    let bytes: Vec<u8> = match body {
        lambda_http::Body::Empty => Vec::new(),
        lambda_http::Body::Text(t) => t.into_bytes(),
        lambda_http::Body::Binary(b) => b,
        _ => Vec::new(),
    };
    Response::from_parts(parts, Body::from(bytes))
}

async fn api(
    State(gw): State<Arc<Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    // API Gateway refuses larger payloads; here the answer is a problem like every other.
    let Ok(body) = axum::body::to_bytes(body, MAX_PAYLOAD).await else {
        return problem(&ApiError::PayloadTooLarge { limit: MAX_PAYLOAD });
    };
    let path = uri.path().to_string();
    // As API Gateway does: the most specific path template that matches, then the route of this
    // method on it. The `Allow` of a 405 names that template's methods.
    let mut allowed: Vec<&str> = Vec::new();
    let mut found = None;
    let trimmed = match path.trim_end_matches('/') {
        "" => "/",
        p => p,
    };
    if let Ok(m) = gw.routes.at(trimmed) {
        let params: Option<Vec<(String, String)>> =
            m.params.iter().map(|(k, v)| shared::routes::percent_decode(v).map(|v| (k.to_string(), v))).collect();
        if let Some(params) = params {
            allowed = m.value.iter().map(|r| r.method.as_str()).collect();
            found = m.value.iter().find(|r| r.method.as_str() == method.as_str()).map(|r| (*r, params));
        }
    }
    match found {
        None if !allowed.is_empty() => {
            let mut res = problem(&ApiError::MethodNotAllowed);
            allowed.sort_unstable();
            allowed.dedup();
            if let Ok(v) = allowed.join(", ").parse() {
                res.headers_mut().insert(http::header::ALLOW, v);
            }
            res
        }
        None => problem(&ApiError::not_found("ROUTE_NOT_FOUND", format!("No endpoint answers {method} {path}."))),
        Some((route, params)) => {
            let incoming = IncomingRequest {
                method: method.to_string(),
                path: path.clone(),
                raw_query: uri.query().unwrap_or_default().to_string(),
                headers: headers
                    .iter()
                    .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str().to_ascii_lowercase(), v.to_string())))
                    .collect(),
                body: body.to_vec(),
                source_ip: peer.ip().to_string(),
                request_id: ulid::Ulid::new().to_string(),
                time_epoch_ms: chrono::Utc::now().timestamp_millis(),
            };
            let event = http_event(route, &incoming, &params).to_string();
            // The event is Lambda's invocation payload: over 6 MB, Lambda refuses it.
            if event.len() > LAMBDA_PAYLOAD_LIMIT {
                return problem(&ApiError::PayloadTooLarge { limit: LAMBDA_PAYLOAD_LIMIT });
            }
            match lambda_http::request::from_str(&event) {
                Ok(req) => {
                    let res = shared::dispatch::dispatch(route, gw.contexts.of_trigger(route), req).await;
                    let size = response_payload_size(&res);
                    if size > LAMBDA_PAYLOAD_LIMIT {
                        return too_large_response(route, size);
                    }
                    let answer = to_axum(res);
                    // The function finished (and committed), but its answer never arrives.
                    if gw.faults.fire("lambda", &route.route_key(), &[]).is_some() {
                        let lost = axum::Json(serde_json::json!({"message": "Internal Server Error"}));
                        return (StatusCode::BAD_GATEWAY, lost).into_response();
                    }
                    answer
                }
                Err(e) => problem(&ApiError::internal(format!("event parse: {e}"))),
            }
        }
    }
}

#[cfg(test)]
mod payload_tests {
    use super::*;

    fn response(body: lambda_http::Body) -> lambda_http::Response<lambda_http::Body> {
        lambda_http::Response::builder().status(200).header("content-type", "application/json").body(body).unwrap()
    }

    #[test]
    fn an_answer_over_lambdas_six_megabytes_is_a_502_as_in_aws() {
        let fits = response(lambda_http::Body::Text("x".repeat(LAMBDA_PAYLOAD_LIMIT - 1024)));
        assert!(response_payload_size(&fits) <= LAMBDA_PAYLOAD_LIMIT);
        let text = response(lambda_http::Body::Text("x".repeat(LAMBDA_PAYLOAD_LIMIT)));
        assert!(response_payload_size(&text) > LAMBDA_PAYLOAD_LIMIT);
        // Binary goes out as base64: 4.6 MB of bytes is over 6 MB of payload.
        let binary = response(lambda_http::Body::Binary(vec![0; 4_800_000]));
        assert!(response_payload_size(&binary) > LAMBDA_PAYLOAD_LIMIT);
        let route = crate::catalog::routes()[0];
        let res = too_large_response(route, response_payload_size(&text));
        assert_eq!(res.status(), StatusCode::BAD_GATEWAY);
    }
}
