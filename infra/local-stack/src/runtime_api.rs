//! An emulator of the Lambda Runtime API (`2018-06-01`), for launching a function binary the
//! way Lambda does and timing it: `GET /runtime/invocation/next` hands out one event at a time,
//! `POST /runtime/invocation/{id}/response` and `…/error` complete it, `POST /runtime/init/error`
//! reports a failed start. One emulator serves one process.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::sync::{Notify, oneshot};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// How an invocation ended.
#[derive(Debug)]
pub enum Outcome {
    Response(Bytes),
    Error(Bytes),
}

#[derive(Default)]
struct Inner {
    queue: Mutex<VecDeque<(String, Bytes)>>,
    ready: Notify,
    first_next: Mutex<Option<Instant>>,
    waiting: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    init_error: Mutex<Option<Bytes>>,
    function_arn: String,
}

/// A running emulator; its address goes into `AWS_LAMBDA_RUNTIME_API`.
pub struct RuntimeApi {
    pub address: String,
    inner: Arc<Inner>,
    server: tokio::task::JoinHandle<()>,
    next_id: std::sync::atomic::AtomicU64,
}

impl RuntimeApi {
    pub async fn start(function_name: &str) -> Result<Self, BoxError> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?.to_string();
        let inner = Arc::new(Inner {
            function_arn: format!("arn:aws:lambda:us-east-1:000000000000:function:{function_name}"),
            ..Inner::default()
        });
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route("/2018-06-01/runtime/invocation/{id}/response", post(response))
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(inner.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { address, inner, server, next_id: Default::default() })
    }

    /// When the process first asked for an event (its init is over), waiting at most `limit`.
    /// `Err` carries the init error it reported, or says it never asked.
    pub async fn ready(&self, limit: Duration) -> Result<Instant, String> {
        // The time is taken by the `next` handler itself; this only has to notice it.
        let deadline = Instant::now() + limit;
        loop {
            if let Some(at) = *self.inner.first_next.lock().unwrap() {
                return Ok(at);
            }
            if let Some(e) = self.inner.init_error.lock().unwrap().as_ref() {
                return Err(format!("init error: {}", String::from_utf8_lossy(e)));
            }
            if Instant::now() > deadline {
                return Err("the process never asked for an event".into());
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// Hands `event` to the process and waits for its answer: the time from hand-over to answer.
    pub async fn invoke(&self, event: &[u8], limit: Duration) -> Result<(Duration, Outcome), String> {
        let n = self.next_id.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let id = format!("bench-{n:08}");
        let (tx, rx) = oneshot::channel();
        self.inner.waiting.lock().unwrap().insert(id.clone(), tx);
        let started = Instant::now();
        self.inner.queue.lock().unwrap().push_back((id, Bytes::copy_from_slice(event)));
        self.inner.ready.notify_one();
        match tokio::time::timeout(limit, rx).await {
            Ok(Ok(outcome)) => Ok((started.elapsed(), outcome)),
            Ok(Err(_)) => Err("the emulator stopped".into()),
            Err(_) => Err(format!("no answer within {limit:?}")),
        }
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn next(State(s): State<Arc<Inner>>) -> Response {
    {
        let mut first = s.first_next.lock().unwrap();
        if first.is_none() {
            *first = Some(Instant::now());
        }
    }
    // Long poll, as Lambda does: the request stays open until there is an event.
    let (id, body) = loop {
        let notified = s.ready.notified();
        if let Some(item) = s.queue.lock().unwrap().pop_front() {
            break item;
        }
        notified.await;
    };
    let deadline = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() + 30_000)
        .unwrap_or_default();
    let mut headers = HeaderMap::new();
    let put = |h: &mut HeaderMap, k: &'static str, v: String| {
        if let Ok(v) = HeaderValue::from_str(&v) {
            h.insert(k, v);
        }
    };
    put(&mut headers, "lambda-runtime-aws-request-id", id);
    put(&mut headers, "lambda-runtime-deadline-ms", deadline.to_string());
    put(&mut headers, "lambda-runtime-invoked-function-arn", s.function_arn.clone());
    put(&mut headers, "lambda-runtime-trace-id", "Root=1-00000000-000000000000000000000000;Sampled=0".into());
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    (StatusCode::OK, headers, body).into_response()
}

fn complete(s: &Inner, id: &str, outcome: Outcome) -> StatusCode {
    match s.waiting.lock().unwrap().remove(id) {
        Some(tx) => {
            let _ = tx.send(outcome);
            StatusCode::ACCEPTED
        }
        None => StatusCode::BAD_REQUEST,
    }
}

async fn response(State(s): State<Arc<Inner>>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    complete(&s, &id, Outcome::Response(body))
}

async fn error(State(s): State<Arc<Inner>>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    complete(&s, &id, Outcome::Error(body))
}

async fn init_error(State(s): State<Arc<Inner>>, body: Bytes) -> StatusCode {
    *s.init_error.lock().unwrap() = Some(body);
    StatusCode::ACCEPTED
}
