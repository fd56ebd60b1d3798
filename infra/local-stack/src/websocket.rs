//! The API Gateway WebSocket API stand-in: a WebSocket server that selects routes on
//! `$request.body.action`, invokes `$connect`, `$disconnect`, `$default` and the custom routes
//! with the events API Gateway sends, honours `$connect`'s answer (a non-2xx refuses the
//! handshake), and serves the `@connections` management API that `aws-sdk-apigatewaymanagement`
//! calls (SigV4-checked; `410 GoneException` for a connection that is gone). API Gateway's limits
//! apply: a message over 128 KB or a frame over 32 KB closes the connection with 1009, an idle
//! connection closes after 10 minutes, every connection after 2 hours.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use shared::routes::WsRoute;
use tokio::sync::mpsc;

/// API Gateway's WebSocket quotas.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_message_bytes: usize,
    pub max_frame_bytes: usize,
    pub idle: Duration,
    pub max_age: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_message_bytes: 128 * 1024,
            max_frame_bytes: 32 * 1024,
            idle: Duration::from_secs(600),
            max_age: Duration::from_secs(7200),
        }
    }
}

/// The stage name in events (`requestContext.stage`).
pub const STAGE: &str = "local";
/// The API id in events (`requestContext.apiId`).
pub const API_ID: &str = "localws";

enum Outgoing {
    Text(String),
    Close(u16, &'static str),
}

struct Connection {
    tx: mpsc::UnboundedSender<Outgoing>,
    connected_at: chrono::DateTime<chrono::Utc>,
    last_active: Mutex<Instant>,
    source_ip: String,
    user_agent: String,
}

/// The WebSocket API: its routes and its live connections.
pub struct WebSocketApi {
    routes: HashMap<&'static str, &'static WsRoute>,
    contexts: Arc<crate::contexts::Contexts>,
    connections: Mutex<HashMap<String, Arc<Connection>>>,
    limits: Limits,
    domain: Mutex<String>,
}

impl WebSocketApi {
    pub fn new(routes: Vec<&'static WsRoute>, contexts: Arc<crate::contexts::Contexts>, limits: Limits) -> Arc<Self> {
        Arc::new(Self {
            routes: routes.into_iter().map(|r| (r.route_key, r)).collect(),
            contexts,
            connections: Mutex::new(HashMap::new()),
            limits,
            domain: Mutex::new(String::new()),
        })
    }

    pub fn set_domain(&self, domain: &str) {
        *self.domain.lock().unwrap() = domain.to_string();
    }

    /// How many connections are open.
    pub fn open_connections(&self) -> usize {
        self.connections.lock().unwrap().len()
    }

    /// Drops a connection without `$disconnect` (what a vanished client looks like to the
    /// functions: its items stay until a push finds it gone).
    pub fn vanish(&self, connection_id: &str) {
        self.connections.lock().unwrap().remove(connection_id);
    }

    fn connection(&self, id: &str) -> Option<Arc<Connection>> {
        self.connections.lock().unwrap().get(id).cloned()
    }

    async fn invoke(&self, route_key: &str, event: Value) -> Option<(u16, Option<String>)> {
        let route = self.routes.get(route_key)?;
        let event = match serde_json::from_value(event) {
            Ok(e) => e,
            Err(e) => {
                tracing::error!(error = %e, "a WebSocket event did not parse");
                return Some((500, None));
            }
        };
        let response = (route.handler.call)(self.contexts.of_trigger(*route), event).await;
        let body = response.body.and_then(|b| match b {
            aws_lambda_events::encodings::Body::Text(t) => Some(t),
            _ => None,
        });
        Some((u16::try_from(response.status_code).unwrap_or(500), body))
    }
}

/// A connection id as API Gateway makes them (`L0SM9cOFvHcCIhw=`).
fn new_connection_id() -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE.encode(rand::random::<[u8; 10]>())
}

fn request_time() -> (String, i64) {
    let now = chrono::Utc::now();
    (now.format("%d/%b/%Y:%H:%M:%S %z").to_string(), now.timestamp_millis())
}

fn context(
    domain: &str,
    route_key: &str,
    event_type: &str,
    connection_id: &str,
    connected_at: i64,
    source_ip: &str,
    user_agent: &str,
) -> Value {
    let (time, epoch) = request_time();
    json!({
        "routeKey": route_key,
        "eventType": event_type,
        "extendedRequestId": ulid::Ulid::new().to_string(),
        "requestTime": time,
        "messageDirection": "IN",
        "stage": STAGE,
        "connectedAt": connected_at,
        "requestTimeEpoch": epoch,
        "identity": {"sourceIp": source_ip, "userAgent": user_agent},
        "requestId": ulid::Ulid::new().to_string(),
        "domainName": domain,
        "connectionId": connection_id,
        "apiId": API_ID,
    })
}

fn header_maps(headers: &HeaderMap) -> (Value, Value) {
    let mut single = serde_json::Map::new();
    let mut multi = serde_json::Map::new();
    for (k, v) in headers {
        let v = v.to_str().unwrap_or_default().to_string();
        single.insert(k.as_str().to_string(), json!(v));
        multi.entry(k.as_str().to_string()).or_insert_with(|| json!([])).as_array_mut().unwrap().push(json!(v));
    }
    (Value::Object(single), Value::Object(multi))
}

/// The `$connect` event.
pub fn connect_event(
    domain: &str,
    connection_id: &str,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
    source_ip: &str,
) -> Value {
    let (single, multi) = header_maps(headers);
    let user_agent = headers.get("user-agent").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let mut event = json!({
        "headers": single,
        "multiValueHeaders": multi,
        "requestContext": context(domain, "$connect", "CONNECT", connection_id, chrono::Utc::now().timestamp_millis(), source_ip, user_agent),
        "isBase64Encoded": false,
    });
    if !query.is_empty() {
        event["queryStringParameters"] = json!(query);
        event["multiValueQueryStringParameters"] =
            json!(query.iter().map(|(k, v)| (k.clone(), vec![v.clone()])).collect::<HashMap<_, _>>());
    }
    event
}

/// A message event for `route_key`.
pub fn message_event(domain: &str, route_key: &str, connection_id: &str, connected_at: i64, body: &str) -> Value {
    let mut ctx = context(domain, route_key, "MESSAGE", connection_id, connected_at, "127.0.0.1", "");
    ctx["messageId"] = json!(ulid::Ulid::new().to_string());
    json!({"requestContext": ctx, "body": body, "isBase64Encoded": false})
}

/// The `$disconnect` event.
pub fn disconnect_event(domain: &str, connection_id: &str, connected_at: i64, code: u16, reason: &str) -> Value {
    let mut ctx = context(domain, "$disconnect", "DISCONNECT", connection_id, connected_at, "127.0.0.1", "");
    ctx["disconnectStatusCode"] = json!(code);
    ctx["disconnectReason"] = json!(reason);
    json!({"headers": {}, "multiValueHeaders": {}, "requestContext": ctx, "isBase64Encoded": false})
}

/// The router: the WebSocket endpoint on any path, and `@connections`.
pub fn router(api: Arc<WebSocketApi>) -> axum::Router {
    use axum::routing::{any, get};
    axum::Router::new()
        .route("/@connections/{id}", get(get_connection).post(post_to_connection).delete(delete_connection))
        .route("/{*path}", any(handshake))
        .route("/", any(handshake))
        .with_state(api)
}

async fn handshake(
    State(api): State<Arc<WebSocketApi>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    let Ok(upgrade) = upgrade else {
        return (StatusCode::BAD_REQUEST, "This is a WebSocket API: connect with a WebSocket client.").into_response();
    };
    let id = new_connection_id();
    let domain = api.domain.lock().unwrap().clone();
    let source_ip = addr.ip().to_string();
    let event = connect_event(&domain, &id, &query, &headers, &source_ip);
    if let Some((status, body)) = api.invoke("$connect", event).await
        && !(200..300).contains(&status)
    {
        // Refused: the handshake fails with the function's status.
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return (status, body.unwrap_or_default()).into_response();
    }
    let (tx, rx) = mpsc::unbounded_channel();
    let connection = Arc::new(Connection {
        tx,
        connected_at: chrono::Utc::now(),
        last_active: Mutex::new(Instant::now()),
        source_ip,
        user_agent: headers.get("user-agent").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string(),
    });
    api.connections.lock().unwrap().insert(id.clone(), connection.clone());
    let limits = api.limits;
    // Frames and messages are checked here, so that the close code is API Gateway's.
    upgrade
        .max_message_size(limits.max_message_bytes)
        .max_frame_size(limits.max_frame_bytes)
        .on_upgrade(move |socket| run(api, id, connection, socket, rx))
}

async fn run(
    api: Arc<WebSocketApi>,
    id: String,
    connection: Arc<Connection>,
    socket: WebSocket,
    mut rx: mpsc::UnboundedReceiver<Outgoing>,
) {
    let (mut sink, mut stream) = socket.split();
    let limits = api.limits;
    let domain = api.domain.lock().unwrap().clone();
    let connected_at = connection.connected_at.timestamp_millis();
    let born = Instant::now();
    let (mut code, mut reason) = (1005u16, "Client closed the connection".to_string());
    loop {
        let idle_left = limits.idle.saturating_sub(connection.last_active.lock().unwrap().elapsed());
        let age_left = limits.max_age.saturating_sub(born.elapsed());
        tokio::select! {
            out = rx.recv() => match out {
                Some(Outgoing::Text(t)) => {
                    *connection.last_active.lock().unwrap() = Instant::now();
                    if sink.send(Message::Text(t.into())).await.is_err() { break; }
                }
                Some(Outgoing::Close(c, r)) => {
                    let _ = sink.send(Message::Close(Some(CloseFrame { code: c, reason: r.into() }))).await;
                    (code, reason) = (c, r.to_string());
                    break;
                }
                None => break,
            },
            incoming = stream.next() => {
                let message = match incoming {
                    Some(Ok(m)) => m,
                    // Over 32 KB in a frame or 128 KB in a message: API Gateway closes with 1009.
                    Some(Err(e)) if too_big(&e.to_string()) => {
                        let _ = sink.send(Message::Close(Some(CloseFrame { code: 1009, reason: "Message too big".into() }))).await;
                        (code, reason) = (1009, "Message too big".into());
                        break;
                    }
                    _ => {
                        (code, reason) = (1006, "Connection closed abnormally".into());
                        break;
                    }
                };
                *connection.last_active.lock().unwrap() = Instant::now();
                let text = match message {
                    Message::Text(t) => t.to_string(),
                    Message::Binary(b) => String::from_utf8_lossy(&b).to_string(),
                    Message::Close(frame) => {
                        if let Some(f) = frame { (code, reason) = (f.code, f.reason.to_string()); }
                        break;
                    }
                    _ => continue,
                };
                if text.len() > limits.max_message_bytes {
                    let _ = sink.send(Message::Close(Some(CloseFrame { code: 1009, reason: "Message too big".into() }))).await;
                    (code, reason) = (1009, "Message too big".into());
                    break;
                }
                let route_key = serde_json::from_str::<Value>(&text)
                    .ok()
                    .and_then(|v| v.get("action").and_then(Value::as_str).map(str::to_string))
                    .filter(|a| api.routes.contains_key(a.as_str()) && !a.starts_with('$'))
                    .unwrap_or_else(|| "$default".to_string());
                let api = api.clone();
                let event = message_event(&domain, &route_key, &id, connected_at, &text);
                let id = id.clone();
                // As in API Gateway, each message is its own invocation, concurrently.
                tokio::spawn(async move {
                    if api.invoke(&route_key, event).await.is_none() {
                        // No route and no `$default`: API Gateway answers so.
                        if let Some(c) = api.connection(&id) {
                            let frame = json!({"message": "Forbidden", "connectionId": id, "requestId": ulid::Ulid::new().to_string()});
                            let _ = c.tx.send(Outgoing::Text(frame.to_string()));
                        }
                    }
                });
            }
            _ = tokio::time::sleep(idle_left) => {
                let _ = sink.send(Message::Close(Some(CloseFrame { code: 1001, reason: "Going away".into() }))).await;
                (code, reason) = (1001, "Idle timeout".into());
                break;
            }
            _ = tokio::time::sleep(age_left) => {
                let _ = sink.send(Message::Close(Some(CloseFrame { code: 1001, reason: "Going away".into() }))).await;
                (code, reason) = (1001, "Connection duration exceeded".into());
                break;
            }
        }
    }
    // A connection `vanish`ed by a test is already out of the registry: no `$disconnect` then.
    let known = api.connections.lock().unwrap().remove(&id).is_some();
    if known {
        let event = disconnect_event(&domain, &id, connected_at, code, &reason);
        api.invoke("$disconnect", event).await;
    }
}

/// Whether a read error is a frame or message over the limits.
fn too_big(error: &str) -> bool {
    let e = error.to_ascii_lowercase();
    e.contains("too long") || e.contains("too big") || e.contains("space limit") || e.contains("capacity")
}

fn gone() -> Response {
    (
        StatusCode::GONE,
        [("content-type", "application/json"), ("x-amzn-errortype", "GoneException")],
        r#"{"message":null}"#,
    )
        .into_response()
}

async fn post_to_connection(State(api): State<Arc<WebSocketApi>>, Path(id): Path<String>, body: Bytes) -> Response {
    // Signatures and policies are checked in front of `@connections` (`iam::guard`).
    if body.len() > api.limits.max_message_bytes {
        return (
            StatusCode::PAYLOAD_TOO_LARGE,
            [("content-type", "application/json"), ("x-amzn-errortype", "PayloadTooLargeException")],
            r#"{"message":"Message too large"}"#,
        )
            .into_response();
    }
    match api.connection(&id) {
        Some(c) if c.tx.send(Outgoing::Text(String::from_utf8_lossy(&body).to_string())).is_ok() => {
            StatusCode::OK.into_response()
        }
        _ => gone(),
    }
}

async fn get_connection(
    State(api): State<Arc<WebSocketApi>>,
    Path(id): Path<String>,
    // Signatures and policies are checked in front of `@connections` (`iam::guard`).
) -> Response {
    match api.connection(&id) {
        Some(c) => {
            let idle = c.last_active.lock().unwrap().elapsed();
            let last = chrono::Utc::now() - chrono::Duration::from_std(idle).unwrap_or_default();
            axum::Json(json!({
                "connectedAt": c.connected_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                "identity": {"sourceIp": c.source_ip, "userAgent": c.user_agent},
                "lastActiveAt": last.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            }))
            .into_response()
        }
        None => gone(),
    }
}

async fn delete_connection(
    State(api): State<Arc<WebSocketApi>>,
    Path(id): Path<String>,
    // Signatures and policies are checked in front of `@connections` (`iam::guard`).
) -> Response {
    match api.connection(&id) {
        Some(c) => {
            let _ = c.tx.send(Outgoing::Close(1000, "Normal closure"));
            StatusCode::NO_CONTENT.into_response()
        }
        None => gone(),
    }
}
