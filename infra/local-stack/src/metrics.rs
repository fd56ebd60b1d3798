//! What CloudWatch would make of the functions' Embedded Metric Format lines, locally: the
//! stack's functions hand their EMF documents here instead of to standard output
//! (`AppContext::metrics_sink`), and `GET /_local/metrics` shows, per metric, the sum, the
//! number of values and the largest, over all functions and by function, with the last 200
//! documents as written.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use serde_json::{Value, json};

/// Documents kept as written.
const KEPT: usize = 200;

#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Figure {
    pub sum: f64,
    pub count: u64,
    pub max: f64,
}

impl Figure {
    fn add(&mut self, v: f64) {
        self.sum += v;
        self.count += 1;
        self.max = if self.count == 1 { v } else { self.max.max(v) };
    }
}

#[derive(Debug, Default)]
pub struct Collector {
    totals: Mutex<BTreeMap<String, Figure>>,
    by_function: Mutex<BTreeMap<String, BTreeMap<String, Figure>>>,
    documents: Mutex<VecDeque<Value>>,
}

impl Collector {
    /// Takes one EMF document: every metric its directives name, with its value (or values).
    pub fn take(&self, document: &Value) {
        let function = document["Function"].as_str().unwrap_or("?").to_string();
        let names: Vec<&str> = document["_aws"]["CloudWatchMetrics"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|d| d["Metrics"].as_array().into_iter().flatten())
            .filter_map(|m| m["Name"].as_str())
            .collect();
        let mut totals = self.totals.lock().expect("totals");
        let mut by_function = self.by_function.lock().expect("by function");
        for name in names {
            let values: Vec<f64> = match &document[name] {
                Value::Array(a) => a.iter().filter_map(Value::as_f64).collect(),
                v => v.as_f64().into_iter().collect(),
            };
            for v in values {
                totals.entry(name.to_string()).or_default().add(v);
                by_function.entry(function.clone()).or_default().entry(name.to_string()).or_default().add(v);
            }
        }
        let mut kept = self.documents.lock().expect("documents");
        if kept.len() == KEPT {
            kept.pop_front();
        }
        kept.push_back(document.clone());
    }

    /// The totals of one metric, over every function.
    pub fn total(&self, name: &str) -> Figure {
        self.totals.lock().expect("totals").get(name).copied().unwrap_or_default()
    }

    fn view(&self) -> Value {
        json!({
            "namespace": shared::metrics::NAMESPACE,
            "totals": *self.totals.lock().expect("totals"),
            "byFunction": *self.by_function.lock().expect("by function"),
            "documents": *self.documents.lock().expect("documents"),
        })
    }
}

/// The functions' sink: into `collector`.
pub fn sink(collector: Arc<Collector>) -> shared::metrics::Sink {
    shared::metrics::Sink::new(move |d| collector.take(d))
}

/// `GET /_local/metrics`, served by the local HTTP API.
pub fn console(collector: Arc<Collector>) -> Router {
    Router::new().route("/_local/metrics", get(show)).with_state(collector)
}

async fn show(State(c): State<Arc<Collector>>) -> Response {
    axum::Json(c.view()).into_response()
}
