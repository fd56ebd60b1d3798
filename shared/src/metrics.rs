//! Metrics operators chart, written in CloudWatch's Embedded Metric Format (EMF): one JSON line
//! per unit of work (a request, a message, a relayed batch) in the function's log, which
//! CloudWatch turns into metrics with no call of ours (no `PutMetricData`, no agent).
//!
//! A unit's context carries its [`Metrics`]; code that did something worth charting says so
//! (`ctx.metrics.count("SignUps", 1.0)`, each domain naming its own figures), and the dispatcher
//! writes the line when the unit ends, with the unit's DynamoDB calls and the transaction
//! conflicts it retried. A domain's figures go to namespace [`NAMESPACE`] without dimensions
//! (the product's totals); the kernel's own ([`names`]) also by `Function`.
//!
//! Written here, not with a crate: the maintained EMF crate (`metrics_cloudwatch_embedded`) is
//! a recorder for the `metrics` facade, a process-wide global flushed per Lambda invocation.
//! The local stack runs every function in one process, many units at once, where a global
//! recorder cannot tell one unit's figures from another's; a unit's own list, carried in the
//! context its handler is given, can. The format itself is a few fields.
//!
//! Where the line goes is the context's [`Sink`]: standard output in Lambda (the log), the
//! local stack's collector locally (`GET /_local/metrics`).

use std::sync::{Arc, Mutex};

use serde_json::{Map, Value, json};

use crate::table::tally::CallTally;

/// The CloudWatch namespace of every figure.
pub const NAMESPACE: &str = "PetPlatform";

/// The kernel's own figures: what its table handle and its outbox see.
pub mod names {
    /// How long an outbox message waited between its transaction and its queue.
    pub const OUTBOX_AGE: &str = "OutboxAgeMs";
    pub const DYNAMODB_CALLS: &str = "DynamoDBCalls";
    pub const CONFLICTS_RETRIED: &str = "ConflictsRetried";
}

/// A figure's unit, as CloudWatch names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Milliseconds,
    /// Money (won) and other plain numbers.
    None,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Milliseconds => "Milliseconds",
            Unit::None => "None",
        }
    }
}

/// One unit of work's figures, in the order recorded (a name recorded twice is summed; EMF
/// also takes a list of values, which `Max` of an age needs: see [`Metrics::observe`]).
#[derive(Debug, Clone, Default)]
pub struct Metrics(Arc<Mutex<Vec<Recorded>>>);

/// One figure of a unit: its name, unit and value (or values).
pub type Recorded = (&'static str, Unit, Vec<f64>);

impl Metrics {
    /// Adds `n` to a count.
    pub fn count(&self, name: &'static str, n: f64) {
        self.add(name, Unit::Count, n, true);
    }
    /// Adds an amount (money: won).
    pub fn amount(&self, name: &'static str, value: f64) {
        self.add(name, Unit::None, value, true);
    }
    /// One more observation of a figure that is not summed (an age): CloudWatch keeps each.
    pub fn observe(&self, name: &'static str, unit: Unit, value: f64) {
        self.add(name, unit, value, false);
    }

    fn add(&self, name: &'static str, unit: Unit, value: f64, summed: bool) {
        let mut all = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match all.iter_mut().find(|(n, _, _)| *n == name) {
            Some((_, _, values)) if summed => values[0] += value,
            // EMF takes at most 100 values a metric in one document.
            Some((_, _, values)) if values.len() < 100 => values.push(value),
            Some(_) => {}
            None => all.push((name, unit, vec![value])),
        }
    }

    fn take(&self) -> Vec<Recorded> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// Where EMF documents go, when not to standard output.
#[derive(Clone)]
pub struct Sink(Arc<dyn Fn(&Value) + Send + Sync>);

impl Sink {
    pub fn new(f: impl Fn(&Value) + Send + Sync + 'static) -> Self {
        Sink(Arc::new(f))
    }
}

impl std::fmt::Debug for Sink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sink")
    }
}

/// Writes the unit's document: its recorded figures, its DynamoDB calls and conflicts retried
/// (when it was a unit with a table tally), by `function`. Nothing is written for a unit with
/// nothing to say.
pub fn emit(sink: Option<&Sink>, function: &str, metrics: &Metrics, calls: Option<&CallTally>, at_ms: i64) {
    let recorded = metrics.take();
    if recorded.is_empty() && calls.is_none_or(|c| c.total == 0) {
        return;
    }
    let document = document(function, &recorded, calls, at_ms);
    match sink {
        Some(sink) => (sink.0)(&document),
        None => println!("{document}"),
    }
}

/// The EMF document of one unit.
pub fn document(function: &str, recorded: &[Recorded], calls: Option<&CallTally>, at_ms: i64) -> Value {
    let mut root = Map::new();
    root.insert("Function".into(), json!(function));
    let mut business = Vec::new();
    for (name, unit, values) in recorded {
        business.push(json!({"Name": name, "Unit": unit.as_str()}));
        root.insert((*name).into(), if values.len() == 1 { json!(values[0]) } else { json!(values) });
    }
    let mut directives = Vec::new();
    if !business.is_empty() {
        directives.push(json!({"Namespace": NAMESPACE, "Dimensions": [[]], "Metrics": business}));
    }
    if let Some(c) = calls {
        root.insert(names::DYNAMODB_CALLS.into(), json!(c.total));
        root.insert(names::CONFLICTS_RETRIED.into(), json!(c.conflicts_retried));
        directives.push(json!({"Namespace": NAMESPACE, "Dimensions": [["Function"]], "Metrics": [
            {"Name": names::DYNAMODB_CALLS, "Unit": "Count"},
            {"Name": names::CONFLICTS_RETRIED, "Unit": "Count"},
        ]}));
    }
    root.insert("_aws".into(), json!({"Timestamp": at_ms, "CloudWatchMetrics": directives}));
    Value::Object(root)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_units_figures_make_one_emf_document() {
        let m = Metrics::default();
        m.count("Sales", 1.0);
        m.amount("SalesAmountKrw", 15_000.0);
        m.amount("SalesAmountKrw", 5_000.0);
        m.observe(names::OUTBOX_AGE, Unit::Milliseconds, 12.0);
        m.observe(names::OUTBOX_AGE, Unit::Milliseconds, 30.0);
        let calls = CallTally { total: 3, conflicts_retried: 1, ..CallTally::default() };
        let d = document("POST /payments/confirm", &m.take(), Some(&calls), 1_700_000_000_000);
        assert_eq!(d["Sales"], 1.0);
        assert_eq!(d["SalesAmountKrw"], 20_000.0);
        assert_eq!(d["OutboxAgeMs"], json!([12.0, 30.0]));
        assert_eq!((d["DynamoDBCalls"].as_u64(), d["ConflictsRetried"].as_u64()), (Some(3), Some(1)));
        let directives = d["_aws"]["CloudWatchMetrics"].as_array().unwrap();
        assert_eq!(directives[0]["Namespace"], "PetPlatform");
        assert_eq!(directives[0]["Dimensions"], json!([[]]));
        assert_eq!(directives[0]["Metrics"][2], json!({"Name": "OutboxAgeMs", "Unit": "Milliseconds"}));
        assert_eq!(directives[1]["Dimensions"], json!([["Function"]]));
        assert_eq!(d["_aws"]["Timestamp"], 1_700_000_000_000i64);
        assert!(m.take().is_empty(), "taken once");
    }
}
