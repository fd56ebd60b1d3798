//! Reads the reports test stacks leave in `IAM_REPORT_DIR` and prints every call a policy
//! refused, and every statement of a function's policy that no test used: the permissions to
//! question (`infra/iam-report.sh` runs the suite and this).

use std::collections::BTreeSet;

fn main() {
    let dir = std::env::args().nth(1).unwrap_or_else(|| "target/iam-report".into());
    let mut refusals = BTreeSet::new();
    let mut used = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("cannot read {dir}: {e}")).flatten() {
        let Ok(text) = std::fs::read_to_string(entry.path()) else { continue };
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else { continue };
        for r in v["refusals"].as_array().into_iter().flatten() {
            refusals.insert(format!(
                "{} {} {}",
                r["function"].as_str().unwrap_or(""),
                r["action"].as_str().unwrap_or(""),
                r["resource"].as_str().unwrap_or("")
            ));
        }
        for u in v["used"].as_array().into_iter().flatten() {
            used.insert((u[0].as_str().unwrap_or_default().to_string(), u[1].as_u64().unwrap_or_default() as usize));
        }
    }
    println!("refused calls ({}):", refusals.len());
    for r in &refusals {
        println!("  {r}");
    }
    let mut unused = 0;
    println!("statements no test used:");
    for f in local_stack::catalog::functions() {
        for (i, s) in local_stack::infra_gen::statements(f).iter().enumerate() {
            if !used.contains(&(f.binary.to_string(), i)) {
                unused += 1;
                println!("  {:<34} {} {}", f.binary, s["Action"], s["Resource"]);
            }
        }
    }
    println!("{unused} unused statements");
}
