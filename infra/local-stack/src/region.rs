//! DynamoDB as it behaves in a region, in the proxy in front of the stand-in. The stand-in is
//! one SQLite database: it serialises every call, updates its indexes in the writer's own
//! transaction, and never leaves part of a batch undone. A region does all three differently,
//! and code that is correct only on the stand-in breaks there; so the proxy adds them back:
//!
//! - **Transaction conflicts, always.** The proxy knows which items the calls it is forwarding
//!   touch. A `TransactWriteItems` touching an item another call in flight is writing is
//!   cancelled (`TransactionCanceledException`, reason `TransactionConflict` on that item); a
//!   `PutItem`/`UpdateItem`/`DeleteItem` on an item an in-flight transaction holds is refused
//!   (`TransactionConflictException`); a `TransactGetItems` on an item being written is
//!   cancelled; a `BatchWriteItem` leaves such items unprocessed.
//! - **Partial batches, on a switch** (`{"service":"dynamodb","error":"UnprocessedItems",
//!   "share":0.5}`): that share of each `BatchWriteItem` and `BatchGetItem` (rounded down) is
//!   left unprocessed and handed back, as under load.
//! - **Index lag, on a switch** (`{"service":"dynamodb","error":"IndexLag","lagMs":500}`):
//!   queries on a global secondary index are answered from a copy of the table that the table's
//!   stream brings up to date `lagMs` after each commit; base-table reads stay consistent.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use shared::table::{PK, SK};

/// The name of the table copy that index queries read while lag is on.
fn view_name(table: &str) -> String {
    format!("{table}.index-view")
}

/// What one call in flight holds.
#[derive(Debug, Default, Clone, Copy)]
struct Holds {
    transactions: u32,
    singles: u32,
}

/// The items the calls being forwarded are writing.
#[derive(Debug, Default)]
pub struct InFlight {
    items: Mutex<HashMap<String, Holds>>,
    /// Calls refused or cancelled for a conflict, and batch items left over for one.
    pub conflicts: AtomicU64,
    /// The same, by the shape of the item conflicted on and the call that lost
    /// (`TransactWriteItems POST#… / COUNTS`), for a benchmark to say where they were.
    by_shape: Mutex<HashMap<String, u64>>,
}

/// A key with its ids left out: the letters-only segments of its partition and sort keys.
fn shape(key: &str) -> String {
    let part =
        |v: &str| -> String {
            let text = serde_json::from_str::<Value>(v).ok().and_then(|j| j["S"].as_str().map(str::to_string));
            let text = text.unwrap_or_else(|| v.to_string());
            text.split('#')
                .map(|seg| {
                    if !seg.is_empty() && seg.chars().all(|c| c.is_ascii_uppercase() || c == '_') { seg } else { "…" }
                })
                .collect::<Vec<_>>()
                .join("#")
        };
    let mut parts = key.split('\u{1}').skip(1);
    let (pk, sk) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
    format!("{} / {}", part(pk), part(sk))
}

/// How a call takes part in conflicts.
pub enum Admission {
    /// Forward it; release the keys after.
    Go(Held),
    /// Answer with this error without forwarding.
    Refuse(axum::response::Response),
    /// A batch write: forward the requests that are free, hand back the rest.
    Split { body: Value, held: Held, left: Vec<(String, Value)> },
}

/// Keys a forwarded call holds until it is answered.
pub struct Held {
    keys: Vec<String>,
    transaction: bool,
}

fn item_key(table: &str, key_holder: &Value) -> Option<String> {
    let pk = key_holder.get(PK)?;
    let sk = key_holder.get(SK)?;
    Some(format!("{table}\u{1}{pk}\u{1}{sk}"))
}

/// The table and key of each action of a transaction, in order.
fn transaction_keys(body: &Value) -> Vec<Option<String>> {
    body["TransactItems"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|item| {
                    let (action, holder) = ["Put", "Update", "Delete", "ConditionCheck", "Get"]
                        .iter()
                        .find_map(|a| item.get(*a).map(|v| (*a, v)))?;
                    let table = holder["TableName"].as_str()?;
                    let key = if action == "Put" { &holder["Item"] } else { &holder["Key"] };
                    item_key(table, key)
                })
                .collect()
        })
        .unwrap_or_default()
}

impl InFlight {
    fn lost(&self, operation: &str, key: &str) {
        self.conflicts.fetch_add(1, Ordering::Relaxed);
        let mut by = self.by_shape.lock().expect("conflict shapes");
        *by.entry(format!("{operation} {}", shape(key))).or_default() += 1;
    }

    /// How many conflicts each shape of item has seen so far.
    pub fn conflicts_by_shape(&self) -> HashMap<String, u64> {
        self.by_shape.lock().expect("conflict shapes").clone()
    }

    /// Whether `operation` with `body` may go ahead now.
    pub fn admit(&self, operation: &str, body: &[u8]) -> Admission {
        let Ok(v) = serde_json::from_slice::<Value>(body) else { return Admission::Go(Held::none()) };
        let mut items = self.items.lock().expect("in-flight items");
        match operation {
            "TransactWriteItems" | "TransactGetItems" => {
                let keys = transaction_keys(&v);
                let busy = |k: &Option<String>| {
                    k.as_ref().and_then(|k| items.get(k)).is_some_and(|h| h.transactions + h.singles > 0)
                };
                if let Some(k) = keys.iter().find(|k| busy(k)) {
                    self.lost(operation, k.as_deref().unwrap_or_default());
                    let reasons: Vec<Value> = keys
                        .iter()
                        .map(|k| {
                            if busy(k) {
                                json!({"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"})
                            } else {
                                json!({"Code": "None"})
                            }
                        })
                        .collect();
                    return Admission::Refuse(cancelled(&reasons));
                }
                if operation == "TransactGetItems" {
                    return Admission::Go(Held::none());
                }
                let keys: Vec<String> = keys.into_iter().flatten().collect();
                for k in &keys {
                    items.entry(k.clone()).or_default().transactions += 1;
                }
                Admission::Go(Held { keys, transaction: true })
            }
            "PutItem" | "UpdateItem" | "DeleteItem" => {
                let table = v["TableName"].as_str().unwrap_or_default();
                let holder = if operation == "PutItem" { &v["Item"] } else { &v["Key"] };
                let Some(key) = item_key(table, holder) else { return Admission::Go(Held::none()) };
                if items.get(&key).is_some_and(|h| h.transactions > 0) {
                    self.lost(operation, &key);
                    return Admission::Refuse(error(
                        "TransactionConflictException",
                        "Transaction is ongoing for the item",
                        json!({}),
                    ));
                }
                items.entry(key.clone()).or_default().singles += 1;
                Admission::Go(Held { keys: vec![key], transaction: false })
            }
            "BatchWriteItem" => {
                let mut body = v.clone();
                let mut keys = Vec::new();
                let mut left = Vec::new();
                let mut lost_keys = Vec::new();
                if let Some(tables) = body["RequestItems"].as_object_mut() {
                    for (table, requests) in tables.iter_mut() {
                        let Some(list) = requests.as_array_mut() else { continue };
                        list.retain(|r| {
                            let holder = r
                                .get("PutRequest")
                                .map(|p| &p["Item"])
                                .or_else(|| r.get("DeleteRequest").map(|d| &d["Key"]));
                            let key = holder.and_then(|h| item_key(table, h));
                            match key {
                                Some(k) if items.get(&k).is_some_and(|h| h.transactions > 0) => {
                                    lost_keys.push(k);
                                    left.push((table.clone(), r.clone()));
                                    false
                                }
                                Some(k) => {
                                    keys.push(k);
                                    true
                                }
                                None => true,
                            }
                        });
                    }
                }
                for k in &keys {
                    items.entry(k.clone()).or_default().singles += 1;
                }
                let held = Held { keys, transaction: false };
                if let Some(k) = lost_keys.first() {
                    self.lost(operation, k);
                }
                if left.is_empty() { Admission::Go(held) } else { Admission::Split { body, held, left } }
            }
            _ => Admission::Go(Held::none()),
        }
    }

    /// The call was answered: its keys are free.
    pub fn release(&self, held: Held) {
        if held.keys.is_empty() {
            return;
        }
        let mut items = self.items.lock().expect("in-flight items");
        for k in held.keys {
            if let Some(h) = items.get_mut(&k) {
                if held.transaction {
                    h.transactions = h.transactions.saturating_sub(1);
                } else {
                    h.singles = h.singles.saturating_sub(1);
                }
                if h.transactions + h.singles == 0 {
                    items.remove(&k);
                }
            }
        }
    }
}

impl Held {
    fn none() -> Self {
        Self { keys: Vec::new(), transaction: false }
    }
}

/// An error in DynamoDB's JSON protocol, with extra fields.
pub fn error(kind: &str, message: &str, extra: Value) -> axum::response::Response {
    use axum::response::IntoResponse;
    let mut body = json!({"__type": format!("com.amazonaws.dynamodb.v20120810#{kind}"), "message": message});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    let status = if kind == "InternalServerError" {
        axum::http::StatusCode::INTERNAL_SERVER_ERROR
    } else {
        axum::http::StatusCode::BAD_REQUEST
    };
    (status, [("content-type", "application/x-amz-json-1.0"), ("x-amzn-errortype", kind)], body.to_string())
        .into_response()
}

/// A cancelled transaction with one reason per action.
pub fn cancelled(reasons: &[Value]) -> axum::response::Response {
    error(
        "TransactionCanceledException",
        "Transaction cancelled, please refer cancellation reasons for specific reasons",
        json!({"CancellationReasons": reasons}),
    )
}

/// A batch with `share` of its requests taken out: what to forward (`None` when nothing is
/// left to do) and what to hand back, per table, in the operation's own shape.
pub fn split_batch(operation: &str, body: &[u8], share: f64) -> Option<(Option<Value>, Value)> {
    let mut v: Value = serde_json::from_slice(body).ok()?;
    let tables = v["RequestItems"].as_object_mut()?;
    let mut unprocessed = serde_json::Map::new();
    let mut any_left = false;
    for (table, requests) in tables.iter_mut() {
        let list = if operation == "BatchGetItem" { requests["Keys"].as_array_mut() } else { requests.as_array_mut() };
        let Some(list) = list else { continue };
        let n = list.len();
        let take = ((n as f64) * share).floor() as usize;
        if take == 0 {
            any_left |= n > 0;
            continue;
        }
        // Which ones: chosen at random, as a region's partitions would.
        let mut idx: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            idx.swap(i, rand::random_range(0..=i));
        }
        let mut chosen: Vec<usize> = idx.into_iter().take(take).collect();
        chosen.sort_unstable_by(|a, b| b.cmp(a));
        let mut out = Vec::new();
        for i in chosen {
            out.push(list.remove(i));
        }
        out.reverse();
        any_left |= !list.is_empty();
        let handed_back = if operation == "BatchGetItem" {
            let mut same = requests.clone();
            same["Keys"] = Value::Array(out);
            same
        } else {
            Value::Array(out)
        };
        unprocessed.insert(table.clone(), handed_back);
    }
    if unprocessed.is_empty() {
        return None;
    }
    tables.retain(|_, r| {
        let list = if operation == "BatchGetItem" { r["Keys"].as_array() } else { r.as_array() };
        list.is_some_and(|l| !l.is_empty())
    });
    Some((any_left.then_some(v), Value::Object(unprocessed)))
}

/// Adds handed-back requests to a batch answer (`UnprocessedItems` / `UnprocessedKeys`).
pub fn merge_unprocessed(operation: &str, answer: &mut Value, handed_back: Value) {
    let field = if operation == "BatchGetItem" { "UnprocessedKeys" } else { "UnprocessedItems" };
    if !answer[field].is_object() {
        answer[field] = json!({});
    }
    let Value::Object(back) = handed_back else { return };
    for (table, requests) in back {
        let slot = &mut answer[field][&table];
        if operation == "BatchGetItem" {
            if slot.is_null() {
                *slot = requests;
            } else if let (Some(have), Some(more)) = (slot["Keys"].as_array_mut(), requests["Keys"].as_array()) {
                have.extend(more.iter().cloned());
            }
        } else if let (Some(have), Some(more)) = (slot.as_array_mut(), requests.as_array()) {
            have.extend(more.iter().cloned());
        } else {
            *slot = requests;
        }
    }
    if operation == "BatchGetItem" && !answer["Responses"].is_object() {
        answer["Responses"] = json!({});
    }
}

/// The index view: a copy of the table that index queries read while lag is on, brought up to
/// date from the table's stream `lag` after each commit.
pub struct IndexView {
    table: &'static str,
    api: crate::streams::StreamsApi,
    lag_ms: AtomicU64,
    ready: AtomicBool,
    tail: tokio::sync::Mutex<Option<Tail>>,
    /// Stream records applied to the view.
    pub applied: AtomicU64,
}

struct Tail {
    iterator: String,
    /// Records read, with when the read that found them started, waiting for their lag.
    waiting: VecDeque<(Instant, Value)>,
    /// When the last read that reached the end of the stream started.
    read_through: Option<Instant>,
}

impl IndexView {
    pub fn new(table: &'static str, direct_url: String) -> Self {
        Self {
            table,
            api: crate::streams::StreamsApi::new(direct_url),
            lag_ms: AtomicU64::new(0),
            ready: AtomicBool::new(false),
            tail: tokio::sync::Mutex::new(None),
            applied: AtomicU64::new(0),
        }
    }

    /// The lag index queries see now, if any.
    pub fn lag(&self) -> Option<Duration> {
        self.ready.load(Ordering::SeqCst).then(|| Duration::from_millis(self.lag_ms.load(Ordering::SeqCst)))
    }

    /// The request to forward instead of an index query while lag is on.
    pub fn redirect(&self, operation: &str, body: &[u8]) -> Option<Vec<u8>> {
        if !matches!(operation, "Query" | "Scan") || !self.ready.load(Ordering::SeqCst) {
            return None;
        }
        let mut v: Value = serde_json::from_slice(body).ok()?;
        v.get("IndexName")?;
        if v["TableName"].as_str() != Some(self.table) {
            return None;
        }
        v["TableName"] = json!(view_name(self.table));
        Some(v.to_string().into_bytes())
    }

    async fn call(&self, target: &str, body: Value) -> Result<Value, String> {
        self.api.call(target, body).await
    }

    /// Turns lag on (or changes it): on the first switch the view is made a copy of the table,
    /// from a stream position taken before the copy, so that nothing committed meanwhile is
    /// missed (a record applied twice only writes the same image again).
    pub async fn enable(&self, lag: Duration) -> Result<(), String> {
        self.lag_ms.store(lag.as_millis() as u64, Ordering::SeqCst);
        let mut tail = self.tail.lock().await;
        if tail.is_some() {
            return Ok(());
        }
        let (arn, shard) = self.api.shard(self.table).await?;
        let it = self
            .call(
                "DynamoDBStreams_20120810.GetShardIterator",
                json!({"StreamArn": arn, "ShardId": shard, "ShardIteratorType": "LATEST"}),
            )
            .await?;
        let iterator = it["ShardIterator"].as_str().ok_or("no shard iterator")?.to_string();
        let view = view_name(self.table);
        let _ = self.call("DynamoDB_20120810.DeleteTable", json!({"TableName": view})).await;
        let mut def = shared::table::definition::cloudformation_properties();
        let mut create = json!({"TableName": view});
        for f in ["BillingMode", "AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes"] {
            create[f] = def[f].take();
        }
        self.call("DynamoDB_20120810.CreateTable", create).await?;
        let mut start: Option<Value> = None;
        loop {
            let mut scan = json!({"TableName": self.table, "Limit": 500});
            if let Some(s) = start.take() {
                scan["ExclusiveStartKey"] = s;
            }
            let page = self.call("DynamoDB_20120810.Scan", scan).await?;
            let items = page["Items"].as_array().cloned().unwrap_or_default();
            for chunk in items.chunks(25) {
                let puts: Vec<Value> = chunk.iter().map(|i| json!({"PutRequest": {"Item": i}})).collect();
                self.call("DynamoDB_20120810.BatchWriteItem", json!({"RequestItems": {view.clone(): puts}})).await?;
            }
            match page.get("LastEvaluatedKey") {
                Some(k) if k.is_object() => start = Some(k.clone()),
                _ => break,
            }
        }
        *tail = Some(Tail { iterator, waiting: VecDeque::new(), read_through: None });
        self.ready.store(true, Ordering::SeqCst);
        Ok(())
    }

    /// Index queries read the table again.
    pub async fn disable(&self) {
        self.ready.store(false, Ordering::SeqCst);
        *self.tail.lock().await = None;
    }

    /// Waits until the indexes show every write committed before the call (at once when lag is
    /// off): tests use it before reading a list that is allowed to lag. That is: a read of the
    /// stream that started after the call reached its end, and every record it or an earlier
    /// read found is applied.
    pub async fn caught_up(&self) {
        let Some(lag) = self.lag() else { return };
        let asked = Instant::now();
        tokio::time::sleep(lag).await;
        let mut through: Option<Instant> = None;
        let until = Instant::now() + Duration::from_secs(120);
        while Instant::now() < until {
            {
                let guard = self.tail.lock().await;
                let Some(tail) = guard.as_ref() else { return };
                if through.is_none() {
                    through = tail.read_through.filter(|r| *r >= asked);
                }
                if let Some(r) = through
                    && tail.waiting.front().is_none_or(|(seen, _)| *seen > r)
                {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        tracing::warn!("the index view did not catch up within two minutes");
    }

    /// Reads the stream and applies what is old enough; runs while the stack does.
    pub async fn run(&self, mut stop: tokio::sync::watch::Receiver<bool>) {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(10)) => {}
                _ = stop.changed() => return,
            }
            if let Err(e) = self.step().await {
                tracing::warn!(error = %e, "index view cannot follow the stream");
            }
        }
    }

    async fn step(&self) -> Result<(), String> {
        let mut guard = self.tail.lock().await;
        let Some(tail) = guard.as_mut() else { return Ok(()) };
        // Read to the end of the stream.
        let started = Instant::now();
        loop {
            let got = self
                .call("DynamoDBStreams_20120810.GetRecords", json!({"ShardIterator": tail.iterator, "Limit": 1000}))
                .await?;
            let records = got["Records"].as_array().cloned().unwrap_or_default();
            let more = records.len() >= 1000;
            tail.waiting.extend(records.into_iter().map(|r| (started, r)));
            if let Some(next) = got["NextShardIterator"].as_str() {
                tail.iterator = next.to_string();
            }
            if !more {
                break;
            }
        }
        tail.read_through = Some(started);
        // Apply what is old enough, in order, 25 a batch (a batch never names a key twice: a
        // second change of the same item starts the next batch).
        let lag = Duration::from_millis(self.lag_ms.load(Ordering::SeqCst));
        let view = view_name(self.table);
        loop {
            let mut batch: Vec<Value> = Vec::new();
            let mut keys = std::collections::HashSet::new();
            for (seen, r) in tail.waiting.iter() {
                if seen.elapsed() < lag || batch.len() == 25 || !keys.insert(r["dynamodb"]["Keys"].to_string()) {
                    break;
                }
                batch.push(match r["eventName"].as_str() {
                    Some("REMOVE") => json!({"DeleteRequest": {"Key": r["dynamodb"]["Keys"]}}),
                    _ => json!({"PutRequest": {"Item": r["dynamodb"]["NewImage"]}}),
                });
            }
            if batch.is_empty() {
                return Ok(());
            }
            let n = batch.len();
            // Taken off the queue only once applied: a failed call is tried again next round.
            self.call("DynamoDB_20120810.BatchWriteItem", json!({"RequestItems": {view.clone(): batch}})).await?;
            tail.waiting.drain(..n);
            self.applied.fetch_add(n as u64, Ordering::Relaxed);
        }
    }
}
