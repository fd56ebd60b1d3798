//! The DynamoDB Streams event source mapping: reads the table's stream from the DynamoDB
//! stand-in with the Streams API (`DescribeTable`, `DescribeStream`, `GetShardIterator`,
//! `GetRecords`) and invokes the consumer with real `DynamoDBEvent` batches, as Lambda does:
//! in order, retrying from the first reported failure, sending a record that keeps failing to
//! the failure destination and moving on. Its position is kept in the data folder, so records
//! committed while the stack was down are delivered after a restart.
//!
//! Faults for tests: [`StreamMapping::pause`] stops delivery (the relay is down), and
//! [`StreamMapping::lose_next_results`] throws away the consumer's answer after it ran, as when
//! a function dies after its side effects and before it reports (the batch comes again).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use shared::AppContext;
use shared::routes::StreamConsumer;
use tokio::sync::watch;

use crate::sqs::Queues;

/// Switches and counters of one mapping.
#[derive(Debug, Default)]
pub struct StreamMapping {
    paused: AtomicBool,
    /// The mapping has seen the pause: it reads nothing more until it resumes.
    stopped: AtomicBool,
    lose_results: AtomicU32,
    /// The consumers whose last read found something new (or that have not read yet): each
    /// consumer reads the stream on its own, so the mapping is caught up only when none is behind.
    behind: std::sync::Mutex<std::collections::BTreeSet<&'static str>>,
    /// Consumers that have read the stream at least once.
    started: std::sync::Mutex<std::collections::BTreeSet<&'static str>>,
    /// Batches handed to the consumer.
    pub invocations: AtomicU64,
    /// Records handed over, repeats included.
    pub records_delivered: AtomicU64,
}

impl StreamMapping {
    pub fn pause(&self) {
        self.stopped.store(false, Ordering::SeqCst);
        self.paused.store(true, Ordering::SeqCst);
    }
    /// Whether the mapping has seen the pause (no read or delivery is under way, and none
    /// starts until it resumes).
    pub fn stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }
    pub fn resume(&self) {
        self.paused.store(false, Ordering::SeqCst);
    }
    /// Whether every record committed so far has been handed to the consumer.
    pub fn caught_up(&self) -> bool {
        let behind = self.behind.lock().expect("the set is not poisoned");
        let started = self.started.lock().expect("the set is not poisoned");
        !started.is_empty() && behind.is_empty() && !self.paused.load(Ordering::SeqCst)
    }

    fn set_caught_up(&self, consumer: &'static str, caught_up: bool) {
        self.started.lock().expect("the set is not poisoned").insert(consumer);
        let mut behind = self.behind.lock().expect("the set is not poisoned");
        if caught_up {
            behind.remove(consumer);
        } else {
            behind.insert(consumer);
        }
    }
    /// The next `n` invocations run, but their answers are lost: the batches are delivered again.
    pub fn lose_next_results(&self, n: u32) {
        self.lose_results.store(n, Ordering::SeqCst);
    }
}

/// The DynamoDB stand-in's JSON API, called directly as the stack's own machinery (the
/// stream mappings, the index view), with a credential it accepts.
pub(crate) struct StreamsApi {
    http: reqwest::Client,
    url: String,
}

impl StreamsApi {
    pub(crate) fn new(url: String) -> Self {
        Self { http: reqwest::Client::new(), url }
    }

    pub(crate) async fn call(&self, target: &str, body: Value) -> Result<Value, String> {
        let res = self
            .http
            .post(&self.url)
            .header("content-type", "application/x-amz-json-1.0")
            .header("x-amz-target", target)
            // The stand-in wants a credential, as DynamoDB does (it does not check signatures).
            .header("x-amz-date", "20250101T000000Z")
            .header(
                "authorization",
                format!(
                    "AWS4-HMAC-SHA256 Credential={}/20250101/{}/dynamodb/aws4_request, SignedHeaders=host, Signature=0",
                    crate::ACCESS_KEY_ID,
                    crate::REGION
                ),
            )
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = res.status();
        let v: Value = res.json().await.map_err(|e| e.to_string())?;
        if !status.is_success() {
            return Err(format!("{target}: {v}"));
        }
        Ok(v)
    }

    /// The stream's ARN and its one shard.
    pub(crate) async fn shard(&self, table: &str) -> Result<(String, String), String> {
        let t = self.call("DynamoDB_20120810.DescribeTable", json!({"TableName": table})).await?;
        let arn = t["Table"]["LatestStreamArn"].as_str().ok_or("the table has no stream")?.to_string();
        let s = self.call("DynamoDBStreams_20120810.DescribeStream", json!({"StreamArn": arn})).await?;
        let shard =
            s["StreamDescription"]["Shards"][0]["ShardId"].as_str().ok_or("the stream has no shard")?.to_string();
        Ok((arn, shard))
    }

    async fn iterator(&self, arn: &str, shard: &str, after: Option<&str>) -> Result<String, String> {
        let mut req = json!({"StreamArn": arn, "ShardId": shard, "ShardIteratorType": "TRIM_HORIZON"});
        if let Some(seq) = after {
            req["ShardIteratorType"] = json!("AFTER_SEQUENCE_NUMBER");
            req["SequenceNumber"] = json!(seq);
        }
        let v = self.call("DynamoDBStreams_20120810.GetShardIterator", req).await?;
        Ok(v["ShardIterator"].as_str().ok_or("no shard iterator")?.to_string())
    }

    async fn records(&self, iterator: &str, limit: u32) -> Result<Vec<Value>, String> {
        let v = self
            .call("DynamoDBStreams_20120810.GetRecords", json!({"ShardIterator": iterator, "Limit": limit}))
            .await?;
        Ok(v["Records"].as_array().cloned().unwrap_or_default())
    }
}

fn sequence_of(record: &Value) -> Option<String> {
    record["dynamodb"]["SequenceNumber"].as_str().map(str::to_string)
}

/// Whether a stream record passes the consumer's filter (`FilterCriteria`).
fn passes_filter(record: &Value, consumer: &StreamConsumer) -> bool {
    consumer.filter.passes(
        record["eventName"].as_str().unwrap_or_default(),
        record["dynamodb"]["Keys"][shared::table::SK]["S"].as_str(),
        record["dynamodb"]["NewImage"][shared::table::ENTITY_TYPE]["S"].as_str(),
    )
}

#[allow(clippy::too_many_arguments)]
pub async fn run(
    mapping: Arc<StreamMapping>,
    dynamodb_url: String,
    table: &'static str,
    consumer: &'static StreamConsumer,
    ctx: Arc<AppContext>,
    queues: Arc<Queues>,
    checkpoint_file: PathBuf,
    mut stop: watch::Receiver<bool>,
) {
    // Behind until its first read finds nothing new.
    mapping.set_caught_up(consumer.name, false);
    let api = StreamsApi::new(dynamodb_url);
    let (arn, shard) = match api.shard(table).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "stream mapping cannot find the table stream");
            return;
        }
    };
    let mut checkpoint: Option<String> = std::fs::read_to_string(&checkpoint_file).ok().map(|s| s.trim().to_string());
    let mut tries_of_first: u32 = 0;
    loop {
        if *stop.borrow() {
            return;
        }
        let idle = mapping.paused.load(Ordering::SeqCst);
        let batch = if idle {
            mapping.stopped.store(true, Ordering::SeqCst);
            Vec::new()
        } else {
            match api.iterator(&arn, &shard, checkpoint.as_deref()).await {
                Ok(it) => api.records(&it, consumer.batch_size).await.unwrap_or_default(),
                Err(e) => {
                    tracing::warn!(error = %e, "stream mapping cannot read the stream");
                    Vec::new()
                }
            }
        };
        mapping.set_caught_up(consumer.name, batch.is_empty() && !idle);
        // The mapping's filter: only inserts of the consumer's entity type invoke it; the others
        // are passed over (the position moves past them).
        let last_read = batch.last().and_then(sequence_of);
        let batch: Vec<Value> = batch.into_iter().filter(|r| passes_filter(r, consumer)).collect();
        if batch.is_empty() && last_read.is_some() {
            checkpoint = last_read;
            if let Some(c) = &checkpoint {
                let _ = std::fs::write(&checkpoint_file, c);
            }
            continue;
        }
        if batch.is_empty() {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(20)) => {}
                _ = stop.changed() => return,
            }
            continue;
        }
        let records: Vec<Value> = batch
            .iter()
            .cloned()
            .map(|mut r| {
                r["eventSourceARN"] = json!(arn);
                r
            })
            .collect();
        let event: aws_lambda_events::dynamodb::Event = match serde_json::from_value(json!({"Records": records})) {
            Ok(e) => e,
            Err(e) => {
                tracing::error!(error = %e, "stream records do not parse as a DynamoDB event");
                return;
            }
        };
        mapping.invocations.fetch_add(1, Ordering::SeqCst);
        mapping.records_delivered.fetch_add(batch.len() as u64, Ordering::SeqCst);
        let response = (consumer.handler)(ctx.clone(), event).await;
        let lost = mapping.lose_results.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok();
        if lost {
            continue; // as if the function died before answering: the same batch comes again
        }
        let failed_at = response
            .batch_item_failures
            .iter()
            .filter_map(|f| f.item_identifier.clone())
            .filter_map(|seq| batch.iter().position(|r| sequence_of(r).as_deref() == Some(seq.as_str())))
            .min();
        let done = match failed_at {
            None => batch.len(),
            Some(i) => {
                if i > 0 {
                    tries_of_first = 0;
                    i
                } else {
                    tries_of_first += 1;
                    if tries_of_first > consumer.max_retries {
                        // Give up on this record. As Lambda does, the failure destination gets
                        // the batch's whereabouts in the stream, never the record itself (which
                        // the stream keeps 24 hours): what is lost here only the table can redo.
                        let seq = sequence_of(&batch[0]).unwrap_or_default();
                        let arrival = &batch[0]["dynamodb"]["ApproximateCreationDateTime"];
                        let note = json!({
                            "requestContext": {
                                "requestId": hex::encode(rand::random::<[u8; 16]>()),
                                "functionArn": format!("arn:aws:lambda:{}:{}:function:{}", crate::REGION, crate::iam::ACCOUNT_ID, consumer.name),
                                "condition": "RetryAttemptsExhausted",
                                "approximateInvokeCount": tries_of_first,
                            },
                            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": null},
                            "version": "1.0",
                            "timestamp": chrono::Utc::now().to_rfc3339(),
                            "DDBStreamBatchInfo": {
                                "shardId": shard,
                                "startSequenceNumber": seq,
                                "endSequenceNumber": seq,
                                "approximateArrivalOfFirstRecord": arrival,
                                "approximateArrivalOfLastRecord": arrival,
                                "batchSize": 1,
                                "streamArn": arn,
                            },
                        });
                        let _ = queues.send(&consumer.failure_queue.dlq_name(), note.to_string());
                        tries_of_first = 0;
                        1
                    } else {
                        tokio::time::sleep(Duration::from_millis(50 * u64::from(tries_of_first.min(10)))).await;
                        0
                    }
                }
            }
        };
        if done > 0 {
            if failed_at.is_none() {
                tries_of_first = 0;
            }
            checkpoint = if done == batch.len() { last_read } else { sequence_of(&batch[done - 1]) };
            if let Some(c) = &checkpoint {
                let _ = std::fs::write(&checkpoint_file, c);
            }
        }
    }
}
