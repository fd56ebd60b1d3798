//! The test harness: a whole local stack per test, in this process, on ephemeral ports, with
//! in-memory DynamoDB and a temporary folder; and a small HTTP client for driving it.

use std::time::{Duration, Instant};

use local_stack::{LocalStack, StackOptions};
use serde_json::Value;

pub struct TestStack {
    pub stack: LocalStack,
    pub http: reqwest::Client,
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl TestStack {
    pub async fn start() -> Self {
        Self::start_with(StackOptions::ephemeral()).await
    }

    pub async fn start_with(opts: StackOptions) -> Self {
        let stack = LocalStack::start(opts).await.expect("the local stack starts");
        Self { stack, http: reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("client") }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.stack.http_url, path)
    }

    pub async fn send(&self, req: reqwest::RequestBuilder) -> Reply {
        let res = req.send().await.expect("the request reaches the stack");
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let bytes = res.bytes().await.expect("a body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        Reply { status, headers, body }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(self.http.get(self.url(path))).await
    }

    /// Mail the local SES delivered to `to`, newest first, read over HTTP.
    pub async fn mail_to(&self, to: &str) -> Vec<Value> {
        let r = self.get(&format!("/_local/mail?to={to}")).await;
        assert_eq!(r.status, 200);
        r.body.as_array().cloned().unwrap_or_default()
    }

    /// Polls `check` until it returns `Some`, or panics after `timeout`.
    pub async fn eventually<T, F, Fut>(&self, timeout: Duration, what: &str, mut check: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(v) = check().await {
                return v;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn stop(self) {
        self.stack.stop().await;
    }
}
