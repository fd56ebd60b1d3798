//! Counters kept from the table's stream. A request commits only its own fact (a like, with its
//! uniqueness condition); the consumer of the stream then moves the counter the fact counts for,
//! one `UpdateItem` per counter per batch with the net change. So requests on a popular item do
//! not write that item at all, and do not collide on it; the count follows within the stream's
//! delay (the README gives the figure).
//!
//! Exactly once, under any redelivery: a fact lives in the partition of the item it is counted
//! on (a post's likes in the post's partition), so its stream records arrive in one shard, in
//! order, with rising sequence numbers. Each counter records beside its number the sequence
//! number of the last record it applied (`<attribute>CountedTo`): a batch reads those (one
//! consistent batch read), applies only the records after them, and writes on condition that the
//! mark is still what it read. A batch delivered again, whole or in part, applies nothing twice.

use std::collections::HashMap;

use aws_lambda_events::dynamodb::Event;
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};

use crate::context::AppContext;
use crate::error::{ApiError, ApiResult};
use crate::table::{AttrValue, Item, Key, PK, SK, Write, n, s};

crate::domain_errors! {
    /// What can happen to a counter's move.
    pub enum CounterError {
        Moved => (409, "COUNTER_MOVED", "The counter was moved by another batch meanwhile."),
    }
}

/// Where the records a counter consumer could not apply after its retries go (its dead-letter
/// queue, which the dead-letter watch alarms on); the audit then finds the drift.
pub const FAILURES: crate::queues::Queue =
    crate::queues::Queue { name: "counter-failures", visibility_timeout_secs: 30, max_receive_count: 3 };

/// One kind of fact and the counters it moves: an insert of the fact adds its counts, its
/// removal (when `removals`) takes them away.
#[derive(Debug)]
pub struct Counted {
    /// The sort-key prefix of the fact's items (the consumer's stream filter lists it too).
    pub sort_prefix: &'static str,
    /// What the fact at this key counts for; each counter's item must be in the fact's partition.
    pub counts: fn(&Key) -> Vec<Count>,
    /// Whether a removal of the fact takes its counts away (a like's does; a tally that expires
    /// was counted for good).
    pub removals: bool,
    /// Whether the first count makes the counter's item (a day's statistics), or a counter
    /// whose item is gone counts nothing (a deleted post's likes).
    pub creates: bool,
}

/// One counter a fact moves, and by how much.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Count {
    pub key: Key,
    pub attribute: &'static str,
    pub by: i64,
}

impl Count {
    pub fn one(key: Key, attribute: &'static str) -> Vec<Count> {
        vec![Count { key, attribute, by: 1 }]
    }
}

/// The stream consumer of a domain's counters: `$counted` (a `&[Counted]`), reading the facts
/// under `$prefixes`, failures to [`FAILURES`].
#[macro_export]
macro_rules! counter_consumer {
    ($name:literal, $package:expr, $prefixes:expr, $counted:expr, $summary:literal) => {
        $crate::routes::Function::stream(
            $name,
            $package,
            $crate::routes::StreamConsumer {
                name: $name,
                batch_size: 100,
                // A count must not skip a record, and moving again is harmless: retry (the
                // stream keeps records a day) rather than give the records up.
                max_retries: 10_000,
                failure_queue: &$crate::counters::FAILURES,
                filter: $crate::routes::StreamFilter::FactsUnder($prefixes),
                handler: |ctx, event| Box::pin(async move { $crate::counters::apply(&ctx, event, $counted).await }),
                summary: $summary,
            },
        )
        .permissions(&[$crate::routes::Permission::TableRead, $crate::routes::Permission::TableWrite])
    };
}

/// The attribute where a counter keeps the sequence number of the last record it applied.
pub fn mark_of(attribute: &str) -> String {
    format!("{attribute}CountedTo")
}

/// Whether stream sequence number `a` comes after `b` (both are decimal digits).
fn after(a: &str, b: &str) -> bool {
    (a.len(), a) > (b.len(), b)
}

#[derive(Debug)]
struct Move {
    seq: String,
    delta: i64,
}

/// The moves of one counter in a batch, in stream order.
#[derive(Debug)]
struct Moves {
    key: Key,
    attribute: &'static str,
    creates: bool,
    moves: Vec<Move>,
}

fn string(item: &serde_dynamo::Item, name: &str) -> Option<String> {
    match item.get(name) {
        Some(serde_dynamo::AttributeValue::S(v)) => Some(v.clone()),
        _ => None,
    }
}

fn moves_of(event: Event, counted: &[Counted]) -> Vec<Moves> {
    let mut by_counter: HashMap<(Key, &'static str), usize> = HashMap::new();
    let mut out: Vec<Moves> = Vec::new();
    for record in event.records {
        let sign = match record.event_name.as_str() {
            "INSERT" => 1,
            "REMOVE" => -1,
            _ => continue,
        };
        let keys = &record.change.keys;
        let (Some(pk), Some(sk), Some(seq)) = (string(keys, PK), string(keys, SK), record.change.sequence_number)
        else {
            continue;
        };
        // Each declaration reads the key for itself: two may share a prefix (a diary and a board
        // post's comment tickets), and only the one whose partition it is counts it.
        let key = Key::new(pk, sk);
        let matching = counted.iter().filter(|c| key.sk.starts_with(c.sort_prefix) && (sign > 0 || c.removals));
        for (c, count) in matching.flat_map(|c| (c.counts)(&key).into_iter().map(move |n| (c, n))) {
            let at = *by_counter.entry((count.key.clone(), count.attribute)).or_insert_with(|| {
                out.push(Moves { key: count.key, attribute: count.attribute, creates: c.creates, moves: Vec::new() });
                out.len() - 1
            });
            out[at].moves.push(Move { seq: seq.clone(), delta: sign * count.by });
        }
    }
    out
}

/// The write that applies the moves after `mark` (none: nothing new, or no net change), on
/// condition that the mark is still `mark`.
fn update(m: &Moves, mark: Option<&str>) -> Option<Write> {
    let fresh: Vec<&Move> = m.moves.iter().filter(|x| mark.is_none_or(|seen| after(&x.seq, seen))).collect();
    let last = fresh.last()?;
    let delta: i64 = fresh.iter().map(|x| x.delta).sum();
    let w = Write::update(m.key.clone(), "SET #m = :last ADD #a :d")
        .name("#m", &mark_of(m.attribute))
        .name("#a", m.attribute)
        .value(":last", s(&last.seq))
        .value(":d", n(delta));
    Some(match mark {
        Some(seen) => w.value(":seen", s(seen)).when("#m = :seen", CounterError::Moved),
        None if m.creates => w.when("attribute_not_exists(#m)", CounterError::Moved),
        None => w.when("attribute_exists(PK) AND attribute_not_exists(#m)", CounterError::Moved),
    })
}

fn mark_in(item: &Item, attribute: &str) -> Option<String> {
    match item.get(&mark_of(attribute)) {
        Some(AttrValue::S(v)) => Some(v.clone()),
        _ => None,
    }
}

/// Applies one counter's moves, starting from the item as read (`None`: not there, so nothing
/// to count on, unless the counter makes its item).
async fn apply_one(ctx: &AppContext, m: &Moves, mut read: Option<Item>) -> ApiResult<()> {
    for _ in 0..8 {
        let mark = match &read {
            Some(item) => mark_in(item, m.attribute),
            None if m.creates => None,
            None => return Ok(()),
        };
        let Some(w) = update(m, mark.as_deref()) else { return Ok(()) };
        match ctx.table.write(w).await {
            Err(e) if e.is(&CounterError::Moved) => read = ctx.table.get_item(&m.key).await?,
            other => return other,
        }
    }
    Err(ApiError::internal(format!("the counter {} kept moving", m.attribute)))
}

/// Applies a batch of the stream to the counters `counted` describes. A counter that could not be
/// moved is reported from its first record, so the batch comes again from there; what was
/// applied is not applied again.
pub async fn apply(ctx: &AppContext, event: Event, counted: &[Counted]) -> DynamoDbEventResponse {
    let all = moves_of(event, counted);
    let mut response = DynamoDbEventResponse::default();
    let keys: Vec<Key> = all.iter().map(|m| m.key.clone()).collect();
    let read = match ctx.table.batch_get_items(&keys).await {
        Ok(items) => items,
        Err(e) => {
            tracing::warn!(error = %e, "counters not read; the batch comes again");
            if let Some(first) = all.iter().flat_map(|m| m.moves.first()).min_by(|a, b| order(&a.seq, &b.seq)) {
                response.batch_item_failures.push(failure(&first.seq));
            }
            return response;
        }
    };
    let results = futures::future::join_all(all.iter().zip(read).map(|(m, item)| apply_one(ctx, m, item))).await;
    let failed = all.iter().zip(&results).filter(|(_, r)| r.is_err());
    if let Some((m, r)) = failed.min_by(|(a, _), (b, _)| order(&a.moves[0].seq, &b.moves[0].seq)) {
        if let Err(e) = r {
            tracing::warn!(error = %e, counter = m.attribute, "a counter not moved; the batch comes again from it");
        }
        response.batch_item_failures.push(failure(&m.moves[0].seq));
    }
    tracing::info!(
        counters = all.len(),
        failed = response.batch_item_failures.len(),
        cold_start = crate::logging::take_cold_start(),
        "counted"
    );
    response
}

fn order(a: &str, b: &str) -> std::cmp::Ordering {
    (a.len(), a).cmp(&(b.len(), b))
}

fn failure(seq: &str) -> DynamoDbBatchItemFailure {
    let mut f = DynamoDbBatchItemFailure::default();
    f.item_identifier = Some(seq.to_string());
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    fn moves(list: &[(&str, i64)]) -> Moves {
        Moves {
            key: Key::new("POST#1", "POST"),
            attribute: "likeCount",
            creates: false,
            moves: list.iter().map(|(seq, delta)| Move { seq: seq.to_string(), delta: *delta }).collect(),
        }
    }

    #[test]
    fn only_records_after_the_mark_count() {
        let m = moves(&[("98", 1), ("99", 1), ("100", -1), ("101", 1)]);
        assert!(after("100", "99") && !after("99", "100") && !after("100", "100"));
        let fmt = |w: Option<Write>| format!("{w:?}");
        let all = fmt(update(&m, None));
        assert!(all.contains("N(\"2\")") && all.contains("S(\"101\")"), "{all}");
        let rest = fmt(update(&m, Some("99")));
        assert!(rest.contains("N(\"0\")") && rest.contains("S(\"99\")"), "{rest}");
        assert!(update(&m, Some("101")).is_none(), "a batch delivered again moves nothing");
    }
}
