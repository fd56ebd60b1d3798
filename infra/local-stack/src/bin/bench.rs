//! A load benchmark of the local stack, printing figures (not a test: nothing here can fail on
//! timing). It starts an in-memory stack on free loopback ports, creates users, follows and
//! posts through the API, then runs concurrent clients for a bounded number of requests per
//! scenario and prints throughput, latency percentiles and DynamoDB calls per request.
//!
//! `cargo run --release -p local-stack --bin bench [requests-per-scenario] [concurrency]`

use std::time::{Duration, Instant};

use local_stack::bench_support::{call, percentile, user};
use local_stack::{LocalStack, StackOptions};
use serde_json::json;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let requests: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(2000);
    let concurrency: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(16);
    let stack = LocalStack::start(StackOptions::ephemeral()).await.expect("the stack starts");
    let http = reqwest::Client::new();
    let base = stack.http_url.clone();

    let mut people = Vec::new();
    for n in 0..10 {
        people.push(user(&stack, &http, n).await);
    }
    let (viewer_id, viewer) = people[0].clone();
    let _ = viewer_id;
    let mut post_ids = Vec::new();
    for (id, token) in &people[1..] {
        call(&http, reqwest::Method::PUT, format!("{base}/users/{id}/follow"), Some(&viewer), None).await;
        for i in 0..5 {
            let (_, b) = call(
                &http,
                reqwest::Method::POST,
                format!("{base}/posts"),
                Some(token),
                Some(json!({"content": format!("산책 일기 {i} #산책")})),
            )
            .await;
            post_ids.push(b["id"].as_str().unwrap().to_string());
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;

    println!(
        "{requests} requests per scenario, {concurrency} concurrent clients, in-memory stack, debug or release as built\n"
    );
    println!("{:<28} {:>9} {:>8} {:>8} {:>8} {:>10}", "scenario", "req/s", "p50 ms", "p95 ms", "p99 ms", "ddb/req");
    let scenarios: Vec<(&str, reqwest::Method, String)> = vec![
        ("GET /health", reqwest::Method::GET, format!("{base}/health")),
        ("GET /posts?limit=20", reqwest::Method::GET, format!("{base}/posts?limit=20")),
        ("GET /feed?limit=20", reqwest::Method::GET, format!("{base}/feed?limit=20")),
        ("GET /posts/{id}", reqwest::Method::GET, format!("{base}/posts/{}", post_ids[0])),
        ("GET /search/posts?q=산책", reqwest::Method::GET, format!("{base}/search/posts?q=%EC%82%B0%EC%B1%85")),
        ("PUT /posts/{id}/like", reqwest::Method::PUT, format!("{base}/posts/{}/like", post_ids[1])),
    ];
    for (name, method, url) in scenarios {
        let calls_before = stack.ctx.dynamodb_calls.get();
        let started = Instant::now();
        let per_client = requests / concurrency;
        let clients = (0..concurrency).map(|_| {
            let (http, method, url, token) = (http.clone(), method.clone(), url.clone(), viewer.clone());
            tokio::spawn(async move {
                let mut lat = Vec::with_capacity(per_client);
                for _ in 0..per_client {
                    let t = Instant::now();
                    let (status, _) = call(&http, method.clone(), url.clone(), Some(&token), None).await;
                    assert!(status < 500, "{status}");
                    lat.push(t.elapsed());
                }
                lat
            })
        });
        let mut lat: Vec<Duration> =
            futures::future::join_all(clients).await.into_iter().flat_map(|r| r.expect("client")).collect();
        let elapsed = started.elapsed().as_secs_f64();
        lat.sort();
        let calls = (stack.ctx.dynamodb_calls.get() - calls_before) as f64 / lat.len() as f64;
        println!(
            "{:<28} {:>9.0} {:>8.2} {:>8.2} {:>8.2} {:>10.1}",
            name,
            lat.len() as f64 / elapsed,
            percentile(&lat, 0.50),
            percentile(&lat, 0.95),
            percentile(&lat, 0.99),
            calls
        );
    }
    // The run ends with the counter audit: every counter must still equal its facts.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let reports = local_stack::catalog::audit_all(&stack.ctx, false).await.expect("the audit runs");
    let checked: usize = reports.iter().map(|(_, r)| r.checked).sum();
    let drift: Vec<_> = reports.iter().flat_map(|(_, r)| r.drift.iter()).collect();
    println!("\ncounter audit: {checked} counters checked, {} drifted", drift.len());
    assert!(drift.is_empty(), "{drift:?}");
    stack.stop().await;
}
