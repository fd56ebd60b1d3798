//! The DynamoDB calls each endpoint and worker makes, as the integration tests exercised them:
//! merges the ledgers the test stacks leave behind and prints Markdown tables: each endpoint's
//! usual request (the median success), the range, and the costliest request's operations (a
//! request that met a conflict or an injected fault counts its retries).
//!
//! `infra/calls-per-endpoint.sh` runs the tests with `CALLS_LEDGER_DIR` set and then this;
//! directly: `cargo run -p local-stack --bin calls-table <dir>`.

use std::collections::BTreeMap;

use shared::context::LedgerEntry;

/// The request-path goals: a read in at most 3 calls, a write in at most 4.
const READ_GOAL: u64 = 3;
const WRITE_GOAL: u64 = 4;

fn operations(e: &LedgerEntry) -> String {
    e.costliest
        .by_operation
        .iter()
        .map(|(op, n)| if *n == 1 { op.clone() } else { format!("{op} ×{n}") })
        .collect::<Vec<_>>()
        .join(", ")
}

fn calls(e: &LedgerEntry) -> String {
    if e.min == e.max { e.max.to_string() } else { format!("{}–{}", e.min, e.max) }
}

fn main() {
    let dir = std::env::args().nth(1).unwrap_or_else(|| {
        eprintln!("usage: calls-table <dir with the test stacks' ledgers>");
        std::process::exit(2)
    });
    let mut merged: BTreeMap<String, LedgerEntry> = BTreeMap::new();
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).expect("the ledger folder").flatten() {
        let Ok(text) = std::fs::read(entry.path()) else { continue };
        let Ok(ledger) = serde_json::from_slice::<BTreeMap<String, LedgerEntry>>(&text) else { continue };
        files += 1;
        for (key, e) in ledger {
            merged.entry(key).or_default().merge(&e);
        }
    }

    let routes = local_stack::catalog::routes();
    let (mut reads, mut writes, mut over, mut unexercised) = (0, 0, Vec::new(), Vec::new());
    println!("DynamoDB calls per successful request, from {files} test stacks\n");
    println!("| endpoint | requests | usual | calls | costliest request's operations | goal (usual) |");
    println!("|---|---|---|---|---|---|");
    for route in &routes {
        let key = route.route_key();
        let write = route.method.as_str() != "GET";
        let goal = if write { WRITE_GOAL } else { READ_GOAL };
        match merged.get(&key).filter(|e| e.successes > 0) {
            Some(e) => {
                if write {
                    writes += 1
                } else {
                    reads += 1
                }
                let usual = e.usual();
                let met = if usual <= goal { "✓".to_string() } else { format!("✗ (≤ {goal})") };
                if usual > goal {
                    over.push(format!("{key} ({usual})"));
                }
                println!("| `{key}` | {} | {usual} | {} | {} | {met} |", e.successes, calls(e), operations(e));
            }
            None => unexercised.push(key),
        }
    }
    println!("\nWork moved to queues (per message):\n");
    println!("| worker | messages | usual | calls | costliest message's operations |");
    println!("|---|---|---|---|---|");
    for (key, e) in merged.iter().filter(|(k, e)| k.starts_with("worker ") && e.successes > 0) {
        let name = key.trim_start_matches("worker ");
        println!("| `{name}` | {} | {} | {} | {} |", e.successes, e.usual(), calls(e), operations(e));
    }
    println!(
        "\n{reads} reads and {writes} writes exercised with a success; {} over their goal by their usual request{}",
        over.len(),
        if over.is_empty() { String::new() } else { format!(": {}", over.join(", ")) }
    );
    if !unexercised.is_empty() {
        println!("not exercised with a success by the tests: {}", unexercised.join(", "));
    }
}
