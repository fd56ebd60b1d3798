//! SQS, locally: queues that speak the SQS JSON protocol (`X-Amz-Target: AmazonSQS.*`) the SDK
//! uses, with visibility timeouts, receive counts and redrive to a dead-letter queue; and the
//! event source mapping that feeds worker functions real `SqsEvent` batches.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use md5::{Digest, Md5};
use serde_json::{Value, json};
use shared::AppContext;
use shared::routes::Worker;
use tokio::sync::{Notify, watch};

pub const ACCOUNT_ID: &str = "000000000000";

#[derive(Debug, Clone)]
pub(crate) struct StoredMessage {
    id: String,
    body: String,
    md5: String,
    sent_epoch_ms: u128,
    receive_count: u32,
    first_receive_epoch_ms: Option<u128>,
    visible_at: Instant,
    receipt_handle: Option<String>,
}

impl StoredMessage {
    fn new(body: String) -> Self {
        StoredMessage {
            id: ulid::Ulid::new().to_string(),
            md5: md5_hex(&body),
            body,
            sent_epoch_ms: epoch_ms(),
            receive_count: 0,
            first_receive_epoch_ms: None,
            visible_at: Instant::now(),
            receipt_handle: None,
        }
    }
}

#[derive(Debug)]
struct QueueState {
    visibility_timeout: Duration,
    /// (dead-letter queue name, max receive count)
    redrive: Option<(String, u32)>,
    messages: Vec<StoredMessage>,
}

/// One delivery of messages to a worker, as the event source mapping made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    pub worker: String,
    /// `(message id, receive count)` of each message in the batch.
    pub messages: Vec<(String, u32)>,
    /// Message ids the worker reported as failed.
    pub failures: Vec<String>,
}

/// All queues of the local stack.
#[derive(Debug)]
pub struct Queues {
    base_url: Mutex<String>,
    region: String,
    state: Mutex<BTreeMap<String, QueueState>>,
    arrived: Notify,
    invocations: Mutex<Vec<Invocation>>,
    /// Fault switch: queue name → how many more `SendMessage` calls to it fail (as a throttled
    /// or unreachable SQS would).
    failing_sends: Mutex<BTreeMap<String, u32>>,
    /// Queues whose event source mapping is held (messages wait, as with a disabled mapping).
    held: Mutex<std::collections::BTreeSet<String>>,
}

fn epoch_ms() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_millis()
}

fn md5_hex(s: &str) -> String {
    hex::encode(Md5::digest(s.as_bytes()))
}

#[derive(Debug)]
pub struct SqsError {
    status: StatusCode,
    code: &'static str,
    query_code: &'static str,
    message: String,
}

impl SqsError {
    fn bad(code: &'static str, query_code: &'static str, message: impl Into<String>) -> Self {
        Self { status: StatusCode::BAD_REQUEST, code, query_code, message: message.into() }
    }
    fn internal(message: &str) -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "InternalError",
            query_code: "InternalError",
            message: message.into(),
        }
    }
    fn no_queue(url: &str) -> Self {
        Self::bad(
            "QueueDoesNotExist",
            "AWS.SimpleQueueService.NonExistentQueue",
            format!("The specified queue does not exist: {url}"),
        )
    }
}

impl IntoResponse for SqsError {
    fn into_response(self) -> Response {
        (
            self.status,
            [
                ("content-type", "application/x-amz-json-1.0".to_string()),
                ("x-amzn-query-error", format!("{};Sender", self.query_code)),
            ],
            json!({"__type": format!("com.amazonaws.sqs#{}", self.code), "message": self.message}).to_string(),
        )
            .into_response()
    }
}

impl Queues {
    pub fn new(region: &str) -> Arc<Self> {
        Arc::new(Self {
            base_url: Mutex::new(String::new()),
            region: region.to_string(),
            state: Mutex::new(BTreeMap::new()),
            arrived: Notify::new(),
            invocations: Mutex::new(Vec::new()),
            failing_sends: Mutex::new(BTreeMap::new()),
            held: Mutex::new(Default::default()),
        })
    }

    pub fn set_base_url(&self, url: &str) {
        *self.base_url.lock().unwrap() = url.trim_end_matches('/').to_string();
    }

    pub fn url_of(&self, name: &str) -> String {
        format!("{}/{ACCOUNT_ID}/{name}", self.base_url.lock().unwrap())
    }

    pub(crate) fn arn_of(&self, name: &str) -> String {
        format!("arn:aws:sqs:{}:{ACCOUNT_ID}:{name}", self.region)
    }

    /// Creates a queue (idempotent), with an optional dead-letter queue and max receive count.
    pub fn create(&self, name: &str, visibility_timeout: Duration, redrive: Option<(String, u32)>) {
        let mut st = self.state.lock().unwrap();
        let q = st.entry(name.to_string()).or_insert_with(|| QueueState {
            visibility_timeout,
            redrive: None,
            messages: Vec::new(),
        });
        q.visibility_timeout = visibility_timeout;
        q.redrive = redrive;
    }

    fn name_from_url(&self, url: &str) -> String {
        url.trim_end_matches('/').rsplit('/').next().unwrap_or_default().to_string()
    }

    /// The worker deliveries made so far (for tests and the local console).
    /// Holds (or releases) the delivery of `queue`'s messages to its worker, as disabling the
    /// event source mapping does.
    pub fn hold(&self, queue: &str, held: bool) {
        let mut set = self.held.lock().unwrap();
        if held {
            set.insert(queue.to_string());
        } else {
            set.remove(queue);
        }
    }

    pub fn is_held(&self, queue: &str) -> bool {
        self.held.lock().unwrap().contains(queue)
    }

    /// Makes the next `n` `SendMessage` calls to `queue` fail with a 500 `InternalError`.
    pub fn fail_next_sends(&self, queue: &str, n: u32) {
        self.failing_sends.lock().unwrap().insert(queue.to_string(), n);
    }

    fn injected_failure(&self, queue: &str) -> Result<(), SqsError> {
        let mut failing = self.failing_sends.lock().unwrap();
        match failing.get_mut(queue) {
            Some(n) if *n > 0 => {
                *n -= 1;
                Err(SqsError::internal("injected failure"))
            }
            _ => Ok(()),
        }
    }

    /// The bodies of the messages in `queue` now, in order (visible or not), for tests.
    pub fn bodies(&self, queue: &str) -> Vec<String> {
        let st = self.state.lock().unwrap();
        st.get(queue).map(|q| q.messages.iter().map(|m| m.body.clone()).collect()).unwrap_or_default()
    }

    pub fn invocations(&self) -> Vec<Invocation> {
        self.invocations.lock().unwrap().clone()
    }

    /// `(visible, in flight)` message counts.
    pub fn depth(&self, name: &str) -> Option<(usize, usize)> {
        let st = self.state.lock().unwrap();
        let q = st.get(name)?;
        let now = Instant::now();
        let visible = q.messages.iter().filter(|m| m.visible_at <= now).count();
        Some((visible, q.messages.len() - visible))
    }

    pub(crate) fn send(&self, name: &str, body: String) -> Result<StoredMessage, SqsError> {
        if body.is_empty() {
            return Err(SqsError::bad(
                "InvalidParameterValue",
                "InvalidParameterValue",
                "The message body must not be empty.",
            ));
        }
        if body.len() > 256 * 1024 {
            return Err(SqsError::bad(
                "InvalidParameterValue",
                "InvalidParameterValue",
                "The message is larger than 256 KiB.",
            ));
        }
        let mut st = self.state.lock().unwrap();
        let q = st.get_mut(name).ok_or_else(|| SqsError::no_queue(name))?;
        let m = StoredMessage::new(body);
        q.messages.push(m.clone());
        drop(st);
        self.arrived.notify_waiters();
        Ok(m)
    }

    /// Receives up to `max` visible messages, hiding them for the visibility timeout. A message
    /// that was already received the queue's maximum number of times moves to its DLQ instead.
    fn receive(&self, name: &str, max: usize, visibility: Option<Duration>) -> Result<Vec<StoredMessage>, SqsError> {
        let mut st = self.state.lock().unwrap();
        let now = Instant::now();
        let (redrive, vis) = {
            let q = st.get(name).ok_or_else(|| SqsError::no_queue(name))?;
            (q.redrive.clone(), visibility.unwrap_or(q.visibility_timeout))
        };
        let mut out = Vec::new();
        let mut dead = Vec::new();
        let q = st.get_mut(name).expect("checked above");
        let mut i = 0;
        while i < q.messages.len() && out.len() < max {
            if q.messages[i].visible_at > now {
                i += 1;
                continue;
            }
            if let Some((_, max_receives)) = &redrive
                && q.messages[i].receive_count >= *max_receives
            {
                dead.push(q.messages.remove(i));
                continue;
            }
            let m = &mut q.messages[i];
            m.receive_count += 1;
            m.first_receive_epoch_ms.get_or_insert(epoch_ms());
            m.visible_at = now + vis;
            m.receipt_handle = Some(format!("{}:{}", m.id, ulid::Ulid::new()));
            out.push(m.clone());
            i += 1;
        }
        if let Some((dlq, _)) = redrive
            && !dead.is_empty()
            && let Some(d) = st.get_mut(&dlq)
        {
            for mut m in dead {
                tracing::warn!(queue = name, dlq = %dlq, message_id = %m.id, "message moved to the dead-letter queue");
                m.receive_count = 0;
                m.receipt_handle = None;
                m.visible_at = now;
                d.messages.push(m);
            }
        }
        Ok(out)
    }

    fn delete(&self, name: &str, receipt: &str) -> Result<(), SqsError> {
        let mut st = self.state.lock().unwrap();
        let q = st.get_mut(name).ok_or_else(|| SqsError::no_queue(name))?;
        // Deleting with a stale handle is not an error in SQS; it simply does nothing.
        q.messages.retain(|m| m.receipt_handle.as_deref() != Some(receipt));
        Ok(())
    }

    fn change_visibility(&self, name: &str, receipt: &str, secs: u64) -> Result<(), SqsError> {
        let mut st = self.state.lock().unwrap();
        let q = st.get_mut(name).ok_or_else(|| SqsError::no_queue(name))?;
        let m = q.messages.iter_mut().find(|m| m.receipt_handle.as_deref() == Some(receipt)).ok_or_else(|| {
            SqsError::bad("ReceiptHandleIsInvalid", "ReceiptHandleIsInvalid", "The receipt handle is not valid.")
        })?;
        m.visible_at = Instant::now() + Duration::from_secs(secs);
        Ok(())
    }

    fn attributes(&self, name: &str) -> Result<HashMap<String, String>, SqsError> {
        let (visible, in_flight) = self.depth(name).ok_or_else(|| SqsError::no_queue(name))?;
        let st = self.state.lock().unwrap();
        let q = st.get(name).expect("depth found it");
        let mut a = HashMap::from([
            ("ApproximateNumberOfMessages".to_string(), visible.to_string()),
            ("ApproximateNumberOfMessagesNotVisible".to_string(), in_flight.to_string()),
            ("ApproximateNumberOfMessagesDelayed".to_string(), "0".to_string()),
            ("VisibilityTimeout".to_string(), q.visibility_timeout.as_secs().to_string()),
            ("QueueArn".to_string(), self.arn_of(name)),
        ]);
        if let Some((dlq, max)) = &q.redrive {
            a.insert(
                "RedrivePolicy".into(),
                json!({"deadLetterTargetArn": self.arn_of(dlq), "maxReceiveCount": max}).to_string(),
            );
        }
        Ok(a)
    }

    fn message_json(&self, m: &StoredMessage, with_attributes: bool) -> Value {
        let mut v = json!({
            "MessageId": m.id,
            "ReceiptHandle": m.receipt_handle,
            "MD5OfBody": m.md5,
            "Body": m.body,
        });
        if with_attributes {
            v["Attributes"] = json!(self.system_attributes(m));
        }
        v
    }

    fn system_attributes(&self, m: &StoredMessage) -> HashMap<String, String> {
        HashMap::from([
            ("ApproximateReceiveCount".to_string(), m.receive_count.to_string()),
            ("SentTimestamp".to_string(), m.sent_epoch_ms.to_string()),
            ("SenderId".to_string(), ACCOUNT_ID.to_string()),
            ("ApproximateFirstReceiveTimestamp".to_string(), m.first_receive_epoch_ms.unwrap_or_default().to_string()),
        ])
    }

    /// Hides a just-sent message for its delay (`DelaySeconds`).
    fn delay(&self, name: &str, id: &str, delay: Duration) {
        let mut st = self.state.lock().unwrap();
        if let Some(m) = st.get_mut(name).and_then(|q| q.messages.iter_mut().find(|m| m.id == id)) {
            m.visible_at = Instant::now() + delay;
        }
    }

    /// Handles one SQS API call.
    fn call(&self, action: &str, input: &Value) -> Result<Value, SqsError> {
        let url = input["QueueUrl"].as_str().unwrap_or_default();
        let name = self.name_from_url(url);
        match action {
            "SendMessage" => {
                self.injected_failure(&name)?;
                let delay = delay_of(&input["DelaySeconds"])?;
                let m = self.send(&name, input["MessageBody"].as_str().unwrap_or_default().to_string())?;
                if !delay.is_zero() {
                    self.delay(&name, &m.id, delay);
                }
                Ok(json!({"MessageId": m.id, "MD5OfMessageBody": m.md5}))
            }
            "SendMessageBatch" => {
                let entries = input["Entries"].as_array().cloned().unwrap_or_default();
                if entries.is_empty() || entries.len() > 10 {
                    return Err(SqsError::bad(
                        "TooManyEntriesInBatchRequest",
                        "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
                        "A batch holds 1 to 10 entries.",
                    ));
                }
                // Insert the whole batch under one lock so that it is received as one batch.
                let mut st = self.state.lock().unwrap();
                let q = st.get_mut(&name).ok_or_else(|| SqsError::no_queue(url))?;
                let mut ok = Vec::new();
                for e in entries {
                    let body = e["MessageBody"].as_str().unwrap_or_default().to_string();
                    let mut m = StoredMessage::new(body);
                    m.visible_at += delay_of(&e["DelaySeconds"])?;
                    ok.push(json!({"Id": e["Id"], "MessageId": m.id, "MD5OfMessageBody": m.md5}));
                    q.messages.push(m);
                }
                drop(st);
                self.arrived.notify_waiters();
                Ok(json!({"Successful": ok, "Failed": []}))
            }
            "ReceiveMessage" => {
                let max = input["MaxNumberOfMessages"].as_u64().unwrap_or(1).clamp(1, 10) as usize;
                let vis = input["VisibilityTimeout"].as_u64().map(Duration::from_secs);
                let msgs = self.receive(&name, max, vis)?;
                let with_attrs =
                    input.get("AttributeNames").is_some() || input.get("MessageSystemAttributeNames").is_some();
                Ok(json!({"Messages": msgs.iter().map(|m| self.message_json(m, with_attrs)).collect::<Vec<_>>()}))
            }
            "DeleteMessage" => {
                self.delete(&name, input["ReceiptHandle"].as_str().unwrap_or_default())?;
                Ok(json!({}))
            }
            "DeleteMessageBatch" => {
                let mut ok = Vec::new();
                for e in input["Entries"].as_array().cloned().unwrap_or_default() {
                    self.delete(&name, e["ReceiptHandle"].as_str().unwrap_or_default())?;
                    ok.push(json!({"Id": e["Id"]}));
                }
                Ok(json!({"Successful": ok, "Failed": []}))
            }
            "ChangeMessageVisibility" => {
                let secs = input["VisibilityTimeout"].as_u64().unwrap_or(0);
                self.change_visibility(&name, input["ReceiptHandle"].as_str().unwrap_or_default(), secs)?;
                Ok(json!({}))
            }
            "GetQueueUrl" => {
                let qn = input["QueueName"].as_str().unwrap_or_default();
                if !self.state.lock().unwrap().contains_key(qn) {
                    return Err(SqsError::no_queue(qn));
                }
                Ok(json!({"QueueUrl": self.url_of(qn)}))
            }
            "GetQueueAttributes" => Ok(json!({"Attributes": self.attributes(&name)?})),
            "ListQueues" => {
                let prefix = input["QueueNamePrefix"].as_str().unwrap_or_default();
                let urls: Vec<String> = self
                    .state
                    .lock()
                    .unwrap()
                    .keys()
                    .filter(|n| n.starts_with(prefix))
                    .map(|n| self.url_of(n))
                    .collect();
                Ok(json!({"QueueUrls": urls}))
            }
            "PurgeQueue" => {
                let mut st = self.state.lock().unwrap();
                st.get_mut(&name).ok_or_else(|| SqsError::no_queue(url))?.messages.clear();
                Ok(json!({}))
            }
            other => Err(SqsError::bad(
                "UnsupportedOperation",
                "AWS.SimpleQueueService.UnsupportedOperation",
                format!("{other} is not supported locally"),
            )),
        }
    }

    /// Waits until a message may have arrived, or `max` passes.
    async fn wait_for_messages(&self, max: Duration) {
        let _ = tokio::time::timeout(max, self.arrived.notified()).await;
    }
}

/// The SQS endpoint (axum handler).
pub async fn endpoint(State(queues): State<Arc<Queues>>, headers: HeaderMap, body: Bytes) -> Response {
    // Signatures and policies are checked in front of the queues (`iam::guard`).
    let target = headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let Some(action) = target.strip_prefix("AmazonSQS.") else {
        return SqsError::bad("InvalidAction", "InvalidAction", "Only the SQS JSON protocol is served here.")
            .into_response();
    };
    let input: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    // Long polling: wait briefly for a message when the queue is empty.
    if action == "ReceiveMessage" {
        let wait = input["WaitTimeSeconds"].as_u64().unwrap_or(0).min(20);
        let deadline = Instant::now() + Duration::from_secs(wait);
        loop {
            match queues.call(action, &input) {
                Ok(v) if v["Messages"].as_array().is_some_and(|a| a.is_empty()) && Instant::now() < deadline => {
                    queues.wait_for_messages(Duration::from_millis(200)).await;
                }
                other => return reply(other),
            }
        }
    }
    reply(queues.call(action, &input))
}

fn reply(result: Result<Value, SqsError>) -> Response {
    match result {
        Ok(v) => ([("content-type", "application/x-amz-json-1.0")], v.to_string()).into_response(),
        Err(e) => e.into_response(),
    }
}

/// Lambda's SQS event source mapping for one worker: receive a batch, invoke the worker with a
/// real `SqsEvent`, delete what succeeded, leave the reported failures to reappear after the
/// visibility timeout.
pub async fn run_event_source(
    queues: Arc<Queues>,
    worker: &'static Worker,
    ctx: Arc<AppContext>,
    mut stop: watch::Receiver<bool>,
) {
    let name = worker.queue.name;
    let arn = queues.arn_of(name);
    loop {
        if *stop.borrow() {
            return;
        }
        if queues.held.lock().unwrap().contains(name) {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(20)) => {}
                _ = stop.changed() => return,
            }
            continue;
        }
        let batch = match queues.receive(name, worker.batch_size as usize, None) {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(queue = name, error = ?e, "event source cannot read its queue");
                return;
            }
        };
        if batch.is_empty() {
            tokio::select! {
                _ = queues.wait_for_messages(Duration::from_millis(100)) => {}
                _ = stop.changed() => return,
            }
            continue;
        }
        let records = batch
            .iter()
            .map(|m| {
                let mut r = SqsMessage::default();
                r.message_id = Some(m.id.clone());
                r.receipt_handle = m.receipt_handle.clone();
                r.body = Some(m.body.clone());
                r.md5_of_body = Some(m.md5.clone());
                r.attributes = queues.system_attributes(m);
                r.event_source = Some("aws:sqs".into());
                r.event_source_arn = Some(arn.clone());
                r.aws_region = Some(queues.region.clone());
                r
            })
            .collect();
        let mut event = SqsEvent::default();
        event.records = records;
        let response = shared::runtime::process_batch(worker, ctx.clone(), event).await;
        let failed: Vec<String> = response.batch_item_failures.iter().map(|f| f.item_identifier.clone()).collect();
        for m in &batch {
            if !failed.contains(&m.id)
                && let Some(h) = &m.receipt_handle
            {
                let _ = queues.delete(name, h);
            }
        }
        queues.invocations.lock().unwrap().push(Invocation {
            worker: worker.name.to_string(),
            messages: batch.iter().map(|m| (m.id.clone(), m.receive_count)).collect(),
            failures: failed,
        });
    }
}

/// A message's `DelaySeconds`: 0 to 900, as SQS allows.
fn delay_of(v: &Value) -> Result<Duration, SqsError> {
    match v.as_u64() {
        None if v.is_null() => Ok(Duration::ZERO),
        Some(secs) if secs <= 900 => Ok(Duration::from_secs(secs)),
        _ => Err(SqsError::bad("InvalidParameterValue", "InvalidParameterValue", "DelaySeconds is 0 to 900.")),
    }
}
