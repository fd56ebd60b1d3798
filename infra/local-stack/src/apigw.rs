//! The API Gateway (HTTP API, payload format 2.0) event a Lambda function receives for a
//! request. The local gateway builds it for every request and `events/` holds samples of it, so
//! functions locally parse exactly what they parse in AWS.

use base64::Engine;
use serde_json::{Value, json};
use shared::routes::Route;

pub const API_ID: &str = "local";

/// An incoming request, as the gateway saw it.
#[derive(Debug, Clone, Default)]
pub struct IncomingRequest {
    pub method: String,
    pub path: String,
    pub raw_query: String,
    /// Header names lower-case; repeated headers appear more than once.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub source_ip: String,
    pub request_id: String,
    pub time_epoch_ms: i64,
}

/// The `APIGatewayV2HTTPEvent` for `req` routed to `route` with `path_params`.
pub fn http_event(route: &Route, req: &IncomingRequest, path_params: &[(String, String)]) -> Value {
    // API Gateway joins repeated headers and query values with commas; cookies go apart.
    let mut headers = serde_json::Map::new();
    let mut cookies = Vec::new();
    for (k, v) in &req.headers {
        if k == "cookie" {
            cookies.extend(v.split(';').map(|c| c.trim().to_string()).filter(|c| !c.is_empty()));
            continue;
        }
        let joined = match headers.get(k).and_then(Value::as_str) {
            Some(prev) => format!("{prev},{v}"),
            None => v.clone(),
        };
        headers.insert(k.clone(), Value::String(joined));
    }
    let mut query = serde_json::Map::new();
    for (k, v) in form_urlencoded::parse(req.raw_query.as_bytes()) {
        let joined = match query.get(k.as_ref()).and_then(Value::as_str) {
            Some(prev) => format!("{prev},{v}"),
            None => v.to_string(),
        };
        query.insert(k.to_string(), Value::String(joined));
    }
    let (body, is_base64) = if req.body.is_empty() {
        (Value::Null, false)
    } else {
        match std::str::from_utf8(&req.body) {
            Ok(text) => (Value::String(text.to_string()), false),
            Err(_) => (Value::String(base64::engine::general_purpose::STANDARD.encode(&req.body)), true),
        }
    };
    let time = chrono::DateTime::from_timestamp_millis(req.time_epoch_ms).unwrap_or_default();
    let host = headers.get("host").and_then(Value::as_str).unwrap_or("localhost").to_string();
    let user_agent = headers.get("user-agent").and_then(Value::as_str).unwrap_or("").to_string();
    let mut event = json!({
        "version": "2.0",
        "routeKey": route.route_key(),
        "rawPath": req.path,
        "rawQueryString": req.raw_query,
        "headers": headers,
        "requestContext": {
            "accountId": crate::sqs::ACCOUNT_ID,
            "apiId": API_ID,
            "domainName": host,
            "domainPrefix": host.split('.').next().unwrap_or_default(),
            "http": {
                "method": req.method,
                "path": req.path,
                "protocol": "HTTP/1.1",
                "sourceIp": req.source_ip,
                "userAgent": user_agent,
            },
            "requestId": req.request_id,
            "routeKey": route.route_key(),
            "stage": "$default",
            "time": time.format("%d/%b/%Y:%H:%M:%S %z").to_string(),
            "timeEpoch": req.time_epoch_ms,
        },
        "isBase64Encoded": is_base64,
    });
    if !cookies.is_empty() {
        event["cookies"] = json!(cookies);
    }
    if !query.is_empty() {
        event["queryStringParameters"] = Value::Object(query);
    }
    if !path_params.is_empty() {
        event["pathParameters"] =
            Value::Object(path_params.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect());
    }
    if !body.is_null() {
        event["body"] = body;
    }
    event
}
