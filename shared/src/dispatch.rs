//! Running one HTTP route for one API Gateway request: the access rule, the handler, error
//! mapping and one structured log line. The Lambda binary and the local gateway both call
//! [`dispatch`], so authorization, body limits and errors are the same everywhere.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use http::{HeaderValue, header};
use lambda_http::{Body, RequestExt};

use crate::auth::TokenScope;
use crate::context::AppContext;
use crate::error::{ApiError, ApiResult};
use crate::http::{ApiRequest, ApiResponse};
use crate::idempotent_http::Outcome;
use crate::routes::{Access, Route};
use crate::table::Write;

/// Turns an API Gateway request into an [`ApiRequest`] (without identity).
pub fn from_lambda(route: &Route, req: lambda_http::Request) -> ApiRequest {
    let ctx = req.request_context_ref().cloned();
    let (request_id, source_ip) = match ctx {
        Some(lambda_http::request::RequestContext::ApiGatewayV2(c)) => {
            (c.request_id.unwrap_or_default(), c.http.source_ip)
        }
        _ => (String::new(), None),
    };
    let path_params = req.path_parameters().iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let mut query: HashMap<String, Vec<String>> = HashMap::new();
    let qs = req.query_string_parameters();
    for (k, _) in qs.iter() {
        query.insert(k.to_string(), qs.all(k).unwrap_or_default().into_iter().map(str::to_string).collect());
    }
    let path = req.uri().path().to_string();
    let (parts, body) = req.into_parts();
    ApiRequest {
        method: route.method,
        path,
        path_params,
        query,
        headers: parts.headers,
        body: body.to_vec(),
        request_id,
        source_ip,
        identity: None,
        hidden: Default::default(),
        max_body: route.max_body,
    }
}

/// Checks the route's access rule and fills in the caller and whom they do not see; a write by
/// a blocked or withdrawn account is refused here, for every endpoint. Returns the caller's
/// write-rate counter for a write, which the handler's first transaction carries
/// (`table::charge`).
async fn authorize(route: &Route, ctx: &AppContext, req: &mut ApiRequest) -> ApiResult<Option<Write>> {
    let mut charge = None;
    let token = req.header("authorization").and_then(crate::auth::bearer).map(str::to_string);
    let identity = match (&token, route.access) {
        (None, Access::Public) => None,
        (None, _) => return Err(ApiError::unauthorized("AUTHENTICATION_REQUIRED", "Sign in to do this.")),
        (Some(t), _) => Some(ctx.tokens.verify(t)?),
    };
    if let Some(id) = &identity {
        let password_change_only = id.scope == TokenScope::PasswordChange;
        if password_change_only && route.access != Access::PasswordChange {
            return Err(ApiError::forbidden(
                "PASSWORD_CHANGE_REQUIRED",
                "Change your password before doing anything else.",
            ));
        }
        // A session that ended is a 401 whatever the route: the caller must sign in again first.
        let also = route.reads_with_session.map(|keys| keys(&req.path_params, &id.user_id)).unwrap_or_default();
        let standing = crate::account::ensure_signed_in(ctx, id, route.method.is_write(), &also).await?;
        // The stored role too: an administrator made a user again loses admin routes at once.
        let admin = id.is_admin() && standing.role == Some(crate::auth::Role::ADMIN);
        if route.access == Access::Admin && !admin {
            return Err(ApiError::forbidden("ADMIN_ONLY", "Only administrators may do this."));
        }
        if let Access::Role(only) = route.access
            && !(admin || id.role == only.role)
        {
            return Err(ApiError::forbidden(only.code, only.detail));
        }
        // An account whose writes are held (an approval not given yet) signs in, edits its
        // profile and sends documents; nothing else until the hold is lifted.
        // (Public routes are the sign-in flows; a password change is always allowed.)
        let gated = (route.method.is_write() && matches!(route.access, Access::User | Access::Admin))
            || matches!(route.access, Access::Role(_));
        if let Some(hold) = &standing.write_hold
            && gated
            && !route.open_while_held
        {
            return Err(ApiError::Forbidden {
                code: crate::error::stored_code(&hold.code),
                detail: hold.detail.clone(),
                extra: Default::default(),
            });
        }
        // Every write has a per-user limit per route: one script cannot flood a table partition
        // or other users' inboxes.
        if route.counts_writes() {
            charge = Some(crate::ratelimit::write_counter(ctx, &id.user_id, &route.route_key()));
        }
        req.hidden = Arc::new(standing.hidden);
    }
    if identity.is_none() {
        read_ahead_for_anyone(route, ctx, req).await?;
    }
    req.identity = identity;
    Ok(charge)
}

/// A public route read with no session: the items its handler reads first are read in one batch
/// all the same, when they are more than one (one would cost the same call either way).
async fn read_ahead_for_anyone(route: &Route, ctx: &AppContext, req: &ApiRequest) -> ApiResult<()> {
    let keys = route.reads_with_session.map(|keys| keys(&req.path_params, "")).unwrap_or_default();
    if keys.len() > 1 {
        let found = ctx.table.batch_get_items(&keys).await?;
        ctx.table.prefetched(&keys, found);
    }
    Ok(())
}

/// Runs the handler of a request let in, its context's table carrying the request's write
/// charge. A success that wrote nothing through the table still counts: the charge is written
/// then, and a full window refuses it (nothing in the table has changed).
async fn run_authorized(
    route: &'static Route,
    unit: &crate::context::Unit,
    req: ApiRequest,
    charge: Option<Write>,
) -> ApiResult<ApiResponse> {
    if let Some(c) = charge {
        unit.charge().put(c);
    }
    // Boxed: the handler's future is large, and a debug build polls it on a small stack.
    let result = Box::pin(run(route, &unit.ctx, req)).await;
    match (result, unit.charge().take()) {
        (Ok(response), Some(charge)) if response.status.is_success() => {
            unit.ctx.table.write(charge).await?;
            Ok(response)
        }
        (result, _) => result,
    }
}

/// Runs `route` for one request: access rule, handler, error mapping, one structured log line.
/// Runs the handler; a creating request with an `Idempotency-Key` runs once per key.
async fn run(route: &'static Route, ctx: &Arc<AppContext>, req: ApiRequest) -> ApiResult<ApiResponse> {
    if !route.takes_idempotency_key() {
        return (route.handler)(ctx.clone(), req).await;
    }
    match crate::idempotent_http::begin(ctx, &req).await? {
        None => (route.handler)(ctx.clone(), req).await,
        Some(Outcome::Replay(response)) => Ok(response),
        Some(Outcome::Run(claimed)) => {
            let result = (route.handler)(ctx.clone(), req).await;
            let response = match &result {
                Ok(r) => r.clone(),
                Err(e) => ApiResponse::problem(e),
            };
            crate::idempotent_http::finish(ctx, claimed, &response).await?;
            result
        }
    }
}

pub async fn dispatch(
    route: &'static Route,
    ctx: Arc<AppContext>,
    req: lambda_http::Request,
) -> lambda_http::Response<Body> {
    let started = Instant::now();
    let mut api_req = from_lambda(route, req);
    let request_id = api_req.request_id.clone();
    // The request's own view of the context: its DynamoDB calls are counted for it alone.
    let unit = ctx.for_unit();
    let result = match authorize(route, &unit.ctx, &mut api_req).await {
        Ok(charge) => run_authorized(route, &unit, api_req, charge).await,
        Err(e) => Err(e),
    };
    let calls = unit.tally();
    let response = match result {
        Ok(r) => r,
        Err(e) => {
            if let ApiError::Internal(cause) = &e {
                tracing::error!(route = %route.route_key(), request_id = %request_id, cause = %cause, "request failed");
            }
            ApiResponse::problem(&e)
        }
    };
    tracing::info!(
        route = %route.route_key(),
        request_id = %request_id,
        status = response.status.as_u16(),
        latency_ms = started.elapsed().as_secs_f64() * 1000.0,
        dynamodb_calls = calls.total,
        cold_start = crate::logging::take_cold_start(),
        "request"
    );
    if let Some(ledger) = &ctx.call_ledger {
        ledger.record(route.route_key(), response.status.is_success(), &calls);
    }
    unit.ctx.emit_metrics(&route.route_key(), Some(&calls));
    let mut res = response.into_lambda();
    // Nothing personal is cached: every answer but a public read is `no-store` (tokens,
    // `/users/me`, anything behind a sign-in).
    if route.access != Access::Public || route.method.is_write() {
        res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        res.headers_mut().insert("x-request-id", v);
    }
    res
}
