//! The kernel every function of the pet platform uses.
//!
//! | module | what it holds |
//! |---|---|
//! | [`config`] | typed configuration from environment variables, validated at cold start |
//! | [`context`] | the clients and keys a handler uses, built once |
//! | [`error`] | the one error type and its `application/problem+json` mapping |
//! | [`http`] | the request a handler sees and the response it returns |
//! | [`handler`] | typed handlers: extractors (`Caller`, `Path`, `Json`, …) and replies (`Ok`, `Created`, …) |
//! | [`schema`] | named JSON schemas for the OpenAPI document |
//! | [`dispatch`] | one route for one API Gateway request, shared by Lambda and the local gateway |
//! | [`routes`] | the function table: one `Function` per Lambda, with its trigger, permissions and secrets |
//! | [`table`] | the single-table access layer: entities, writes, transactions, queries, cursors |
//! | [`keys`] | the kernel's keys (the user partition, account and session items, its own mechanics) |
//! | [`auth`] | access tokens and the caller's identity |
//! | [`worker`], [`idempotency`] | SQS batch processing with partial failures, idempotent effects |
//! | [`outbox`] | messages committed in the same transaction as their facts, relayed from the stream |
//! | [`runtime`] | the Lambda entry points each binary calls |
//! | [`socket`], [`push`] | WebSocket routes with typed handlers; pushing frames to a user's live connections |

pub mod account;
pub mod audit;
pub mod auth;
pub mod clock;
pub mod config;
pub mod context;
pub mod dispatch;
pub mod error;
pub mod handler;
pub mod http;
pub mod idempotency;
pub mod idempotent_http;
pub mod ids;
pub mod keys;
pub mod logging;
pub mod mail;
pub mod media;
pub mod openapi;
pub mod outbox;
pub mod push;
pub mod queues;
pub mod ratelimit;
pub mod routes;
pub mod runtime;
pub mod schema;
pub mod socket;
pub mod table;
pub mod text;
pub mod threads;
pub mod validate;
pub mod worker;

pub use context::AppContext;
pub use error::{ApiError, ApiResult};
pub use http::{ApiRequest, ApiResponse};

/// The kernel's modules depend on each other without a cycle: each can be read (and changed)
/// knowing only the ones below it. Checked from the source, so a new `crate::` path that closes a
/// loop fails here.
#[cfg(test)]
mod module_graph {
    use std::collections::{BTreeMap, BTreeSet};

    fn graph() -> BTreeMap<String, BTreeSet<String>> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut files = Vec::new();
        // Only Rust sources, and only those still there: another test may plant and remove a
        // file meanwhile.
        let rust = |p: &std::path::Path| p.extension().is_some_and(|e| e == "rs");
        for p in std::fs::read_dir(&root).unwrap().filter_map(Result::ok).map(|e| e.path()) {
            if p.is_dir() {
                for f in std::fs::read_dir(&p).into_iter().flatten().filter_map(Result::ok).map(|e| e.path()) {
                    if rust(&f) {
                        files.push((p.file_name().unwrap().to_string_lossy().to_string(), f));
                    }
                }
            } else if rust(&p) {
                files.push((p.file_stem().unwrap().to_string_lossy().to_string(), p));
            }
        }
        for (module, path) in files {
            if module == "lib" {
                continue;
            }
            let Ok(text) = std::fs::read_to_string(&path) else { continue };
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            let deps = g.entry(module.clone()).or_default();
            for line in code.lines().map(str::trim).filter(|l| !l.starts_with("//")) {
                for (i, _) in line.match_indices("crate::") {
                    let name: String =
                        line[i + 7..].chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect();
                    if !name.is_empty() && name != module {
                        deps.insert(name);
                    }
                }
            }
        }
        g
    }

    #[test]
    fn the_kernel_modules_form_no_cycle() {
        let g = graph();
        fn visit(m: &str, g: &BTreeMap<String, BTreeSet<String>>, path: &mut Vec<String>, done: &mut BTreeSet<String>) {
            if done.contains(m) {
                return;
            }
            assert!(!path.iter().any(|p| p == m), "import cycle: {} -> {m}", path.join(" -> "));
            path.push(m.to_string());
            for d in g.get(m).into_iter().flatten() {
                visit(d, g, path, done);
            }
            path.pop();
            done.insert(m.to_string());
        }
        let mut done = BTreeSet::new();
        for m in g.keys() {
            visit(m, &g, &mut Vec::new(), &mut done);
        }
        assert!(g["table"].contains("error") && !g["table"].contains("http"), "{:?}", g["table"]);
    }
}
