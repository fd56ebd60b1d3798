//! Counter audits: each domain recomputes the counters it keeps from the facts they count (with
//! Queries on known keys, never a Scan) and reports — or repairs — any drift. Every domain's
//! audit runs as a daily job in AWS (its report is one log line, `drift` a number to alarm on)
//! and locally with `cargo run -- audit [--repair]`.

use serde::Serialize;

use crate::context::AppContext;
use crate::error::ApiResult;
use crate::routes::{Function, Job, JobHandler, Permission};
use crate::table::{Item, Key, Query, Write, n};

/// A domain's daily audit job: it reads only, may take Lambda's 15 minutes, and logs its
/// report (`handler` runs the audit and returns [`logged`]).
pub const fn daily_job(
    name: &'static str,
    package: &'static str,
    summary: &'static str,
    handler: JobHandler,
) -> Function {
    Function::job(name, package, Job { name, schedule: "rate(1 day)", handler, summary })
        .permissions(&[Permission::TableRead])
        .timeout(900)
}

crate::domain_errors! {
    /// What can happen to a repair.
    pub enum AuditError {
        CounterMoved => (409, "COUNTER_MOVED", "The counter changed while it was audited."),
    }
}

/// One counter that does not match its facts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Drift {
    /// What counts (`likeCount of a post`, …).
    pub counter: String,
    pub pk: String,
    pub sk: String,
    pub stored: i64,
    pub actual: i64,
    /// Whether it was set right.
    pub repaired: bool,
}

/// What an audit found.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// Counters checked.
    pub checked: usize,
    pub drift: Vec<Drift>,
}

impl Report {
    pub fn merge(&mut self, other: Report) {
        self.checked += other.checked;
        self.drift.extend(other.drift);
    }
}

/// An audit: reports only, or repairs too.
pub struct Audit<'a> {
    pub ctx: &'a AppContext,
    pub repair: bool,
    pub report: Report,
}

impl<'a> Audit<'a> {
    pub fn new(ctx: &'a AppContext, repair: bool) -> Self {
        Self { ctx, repair, report: Report::default() }
    }

    /// Compares the counter `attribute` of the item at `key` (stored: `stored`) with `actual`;
    /// a repair sets it only if it still holds what was read (a concurrent change wins).
    pub async fn check(&mut self, counter: &str, key: Key, attribute: &str, stored: i64, actual: i64) -> ApiResult<()> {
        self.report.checked += 1;
        if stored == actual {
            return Ok(());
        }
        let mut repaired = false;
        if self.repair {
            let w = Write::update(key.clone(), "SET #c = :actual")
                .name("#c", attribute)
                .value(":actual", n(actual))
                .value(":stored", n(stored))
                .when("#c = :stored OR attribute_not_exists(#c)", AuditError::CounterMoved);
            match self.ctx.table.write(w).await {
                Ok(()) => repaired = true,
                Err(e) if e.is(&AuditError::CounterMoved) => {}
                Err(e) => return Err(e),
            }
        }
        self.report.drift.push(Drift {
            counter: counter.to_string(),
            pk: key.pk,
            sk: key.sk,
            stored,
            actual,
            repaired,
        });
        Ok(())
    }

    pub fn finish(self) -> Report {
        self.report
    }
}

/// Every item a query finds (page after page). Items found through an index are read again
/// from the table (a batch read per 100): an index lags, and an audit compares the counters
/// stored now with the facts counted now.
pub async fn all(ctx: &AppContext, query: Query) -> ApiResult<Vec<Item>> {
    let on_index = query.index.is_some();
    let found = ctx.table.query_items_all(&query.limit(1000), None).await?;
    if !on_index {
        return Ok(found);
    }
    let keys: Vec<Key> = found
        .iter()
        .filter_map(|i| match (i.get(crate::table::PK), i.get(crate::table::SK)) {
            (Some(crate::table::AttrValue::S(pk)), Some(crate::table::AttrValue::S(sk))) => Some(Key::new(pk, sk)),
            _ => None,
        })
        .collect();
    Ok(ctx.table.batch_get_items(&keys).await?.into_iter().flatten().collect())
}

/// How many items a query finds that `keep` accepts.
pub async fn count(ctx: &AppContext, query: Query, keep: impl Fn(&Item) -> bool) -> ApiResult<i64> {
    Ok(all(ctx, query).await?.iter().filter(|i| keep(i)).count() as i64)
}

/// A number attribute of an item (0 when absent).
pub fn number(item: &Item, attribute: &str) -> i64 {
    match item.get(attribute) {
        Some(crate::table::AttrValue::N(v)) => v.parse().unwrap_or(0),
        _ => 0,
    }
}

/// A text attribute of an item.
pub fn text<'i>(item: &'i Item, attribute: &str) -> Option<&'i str> {
    match item.get(attribute) {
        Some(crate::table::AttrValue::S(v)) => Some(v),
        _ => None,
    }
}

/// Whether a boolean attribute is true.
pub fn flag(item: &Item, attribute: &str) -> bool {
    matches!(item.get(attribute), Some(crate::table::AttrValue::Bool(true)))
}

/// Logs a job's report as one line (`drift` is what to alarm on) and hands it back.
pub fn logged(domain: &str, report: Report) -> ApiResult<serde_json::Value> {
    tracing::info!(domain, checked = report.checked, drift = report.drift.len(), "counter audit");
    for d in &report.drift {
        tracing::warn!(domain, counter = %d.counter, pk = %d.pk, sk = %d.sk, stored = d.stored, actual = d.actual, "counter drift");
    }
    Ok(serde_json::to_value(report)?)
}
