//! WebSocket routes of the API Gateway WebSocket API: `$connect`, `$disconnect`, `$default` and
//! the custom routes selected by a frame's `action`. Handlers are typed like HTTP handlers:
//!
//! ```ignore
//! async fn connect(ctx: Arc<AppContext>, c: Connect) -> ApiResult<()>            // non-2xx refuses the handshake
//! async fn disconnect(ctx: Arc<AppContext>, d: Disconnect) -> ApiResult<()>
//! async fn send(ctx: Arc<AppContext>, from: Sender, frame: SendMessage) -> ApiResult<()>
//! ```
//!
//! On a message route the sender is the connection's user (looked up by connection id), never a
//! field of the frame; a frame that does not parse, and any error of the handler, is answered on
//! that connection with `{"type":"error","code","detail","requestId"}` — never a dropped socket.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::context::AppContext;
use crate::error::{ApiError, ApiResult};
use crate::handler::BoxFuture;

/// What the runtime calls for each WebSocket event.
pub type WsHandler = fn(Arc<AppContext>, ApiGatewayWebsocketProxyRequest) -> BoxFuture<ApiGatewayProxyResponse>;

/// A typed WebSocket handler made callable; built by [`ws_handler!`](crate::ws_handler!).
#[derive(Debug, Clone, Copy)]
pub struct WsEndpoint {
    pub call: WsHandler,
}

#[macro_export]
macro_rules! ws_handler {
    ($f:expr) => {
        $crate::socket::WsEndpoint { call: |ctx, event| $crate::socket::WsHandlerFn::call($f, ctx, event) }
    };
}

/// A `$connect`: the new connection and the handshake's query string.
#[derive(Debug, Clone)]
pub struct Connect {
    pub connection_id: String,
    pub query: HashMap<String, String>,
    pub source_ip: Option<String>,
}

/// A `$disconnect`.
#[derive(Debug, Clone)]
pub struct Disconnect {
    pub connection_id: String,
}

/// The user behind the connection a frame came on.
#[derive(Debug, Clone)]
pub struct Sender {
    pub connection_id: String,
    pub user_id: String,
    pub request_id: Option<String>,
}

/// The frame a connection gets when its frame was refused.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorFrame<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub code: &'a str,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<&'a str>,
    /// Seconds to wait before sending again (a limit reached, a busy table).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

fn connection_id(event: &ApiGatewayWebsocketProxyRequest) -> String {
    event.request_context.connection_id.clone().unwrap_or_default()
}

fn respond(status: u16, body: Option<String>) -> ApiGatewayProxyResponse {
    let mut r = ApiGatewayProxyResponse::default();
    r.status_code = i64::from(status);
    r.body = body.map(aws_lambda_events::encodings::Body::Text);
    r
}

fn answer(result: ApiResult<()>) -> ApiGatewayProxyResponse {
    match result {
        Ok(()) => respond(200, None),
        Err(e) => {
            if e.status().is_server_error() {
                tracing::error!(error = %e, "websocket route failed");
            }
            respond(e.status().as_u16(), serde_json::to_string(&e.to_problem()).ok())
        }
    }
}

/// Tells the connection its frame was refused (best effort: it may be gone).
pub async fn refuse(ctx: &AppContext, connection_id: &str, e: &ApiError, request_id: Option<&str>) {
    if e.status().is_server_error() {
        tracing::error!(error = %e, "websocket route failed");
    }
    let problem = e.to_problem();
    let frame = ErrorFrame {
        kind: "error",
        code: &problem.code,
        detail: problem.detail.clone().unwrap_or_default(),
        request_id,
        retry_after: e.retry_after(),
    };
    if let Err(e) = crate::push::to_connection(ctx, connection_id, &frame).await {
        tracing::warn!(error = %e, "could not answer a refused frame");
    }
}

/// A function usable as a WebSocket handler.
pub trait WsHandlerFn<Args>: Copy + Send + Sync + 'static {
    fn call(self, ctx: Arc<AppContext>, event: ApiGatewayWebsocketProxyRequest) -> BoxFuture<ApiGatewayProxyResponse>;
}

impl<F, Fut> WsHandlerFn<(Connect,)> for F
where
    F: Fn(Arc<AppContext>, Connect) -> Fut + Copy + Send + Sync + 'static,
    Fut: Future<Output = ApiResult<()>> + Send + 'static,
{
    fn call(self, ctx: Arc<AppContext>, event: ApiGatewayWebsocketProxyRequest) -> BoxFuture<ApiGatewayProxyResponse> {
        let connect = Connect {
            connection_id: connection_id(&event),
            query: event.query_string_parameters.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            source_ip: event.request_context.identity.source_ip.clone(),
        };
        Box::pin(async move { answer(self(ctx, connect).await) })
    }
}

impl<F, Fut> WsHandlerFn<(Disconnect,)> for F
where
    F: Fn(Arc<AppContext>, Disconnect) -> Fut + Copy + Send + Sync + 'static,
    Fut: Future<Output = ApiResult<()>> + Send + 'static,
{
    fn call(self, ctx: Arc<AppContext>, event: ApiGatewayWebsocketProxyRequest) -> BoxFuture<ApiGatewayProxyResponse> {
        let disconnect = Disconnect { connection_id: connection_id(&event) };
        Box::pin(async move { answer(self(ctx, disconnect).await) })
    }
}

/// The frame as a handler's type: the routing field `action` is not part of it.
fn parse_frame<T: DeserializeOwned>(body: Option<&str>) -> ApiResult<T> {
    let malformed = |detail: String| ApiError::bad_request("MALFORMED_FRAME", detail);
    let mut value: serde_json::Value =
        serde_json::from_str(body.unwrap_or_default()).map_err(|_| malformed("A frame is a JSON object.".into()))?;
    let Some(object) = value.as_object_mut() else {
        return Err(malformed("A frame is a JSON object.".into()));
    };
    object.remove("action");
    serde_json::from_value(value).map_err(|e| malformed(format!("The frame does not fit its action: {e}")))
}

impl<F, Fut, T> WsHandlerFn<(Sender, T)> for F
where
    F: Fn(Arc<AppContext>, Sender, T) -> Fut + Copy + Send + Sync + 'static,
    Fut: Future<Output = ApiResult<()>> + Send + 'static,
    T: DeserializeOwned + Send + 'static,
{
    fn call(self, ctx: Arc<AppContext>, event: ApiGatewayWebsocketProxyRequest) -> BoxFuture<ApiGatewayProxyResponse> {
        Box::pin(async move {
            let connection = connection_id(&event);
            let request_id = event.request_context.request_id.clone();
            // The frame's own view of the context: its calls and figures are its own.
            let unit = ctx.for_unit();
            let ctx = unit.ctx.clone();
            let outcome = async {
                let user_id = crate::push::user_of(&ctx, &connection)
                    .await?
                    .ok_or_else(|| ApiError::unauthorized("UNKNOWN_CONNECTION", "Connect again."))?;
                let frame: T = parse_frame(event.body.as_deref())?;
                let sender = Sender { connection_id: connection.clone(), user_id, request_id: request_id.clone() };
                self(ctx.clone(), sender, frame).await
            }
            .await;
            if let Err(e) = outcome {
                refuse(&ctx, &connection, &e, request_id.as_deref()).await;
            }
            let route = event.request_context.route_key.clone().unwrap_or_default();
            ctx.emit_metrics(&format!("ws {route}"), Some(&unit.tally()));
            // The frame was handled (or answered with an error frame): the connection stays.
            respond(200, None)
        })
    }
}

/// The frame of a route whose frames carry nothing but their action.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct Empty {}
