//! The benchmarks, out of the local stack they drive (`src/bin/`: the load run, the
//! recommendation, the WebSocket fan-out, cold starts, the scale simulation), and what they
//! share: users made through the API, calls, percentiles.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{Value, json};

use local_stack::LocalStack;

/// Every benchmark account's password.
pub const PASSWORD: &str = "walks4ever";

/// The `n`-th benchmark account's address.
pub fn email(n: usize) -> String {
    format!("bench{n}@example.com")
}

pub async fn call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = http.request(method, url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.expect("the stack answers");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

pub async fn user(stack: &LocalStack, http: &reqwest::Client, n: usize) -> (String, String) {
    let base = &stack.http_url;
    let email = email(n);
    let (s, b) = call(
        http,
        reqwest::Method::POST,
        format!("{base}/auth/signup"),
        None,
        Some(json!({"email": email, "password": PASSWORD, "name": "Bench", "nickname": format!("bench{n}")})),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let code = loop {
        if let Some(m) = stack.mailbox.to(Some(&email)).first() {
            break m.text.lines().find_map(|l| l.strip_prefix("인증 코드: ").map(str::to_string)).expect("a code");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    call(
        http,
        reqwest::Method::POST,
        format!("{base}/auth/email/verify"),
        None,
        Some(json!({"email": email, "code": code})),
    )
    .await;
    let (_, b) = call(
        http,
        reqwest::Method::POST,
        format!("{base}/auth/login"),
        None,
        Some(json!({"email": email, "password": PASSWORD})),
    )
    .await;
    (b["user"]["id"].as_str().unwrap().to_string(), b["accessToken"].as_str().unwrap().to_string())
}

pub fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

/// The items conflicts were on since `before` (a `conflicts_by_shape` taken earlier), as the four
/// most conflicted-on shapes with their counts, or `None` when there were none.
pub fn conflicts_since(stack: &LocalStack, before: &HashMap<String, u64>) -> Option<String> {
    let mut shapes: Vec<(String, u64)> = stack
        .faults
        .in_flight
        .conflicts_by_shape()
        .into_iter()
        .map(|(k, v)| {
            let was = before.get(&k).copied().unwrap_or_default();
            (k, v - was)
        })
        .filter(|(_, v)| *v > 0)
        .collect();
    shapes.sort_by_key(|s| std::cmp::Reverse(s.1));
    let top: Vec<String> = shapes.iter().take(4).map(|(k, v)| format!("{k} ×{v}")).collect();
    (!top.is_empty()).then(|| top.join(", "))
}
