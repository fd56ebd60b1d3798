//! A load benchmark of the local stack, printing figures (not a test: nothing here can fail on
//! timing). It starts an in-memory stack on free loopback ports, creates users, follows and
//! posts through the API, then runs concurrent clients, each signed in as its own user, for a
//! bounded number of requests per scenario. It prints throughput and latency percentiles, and
//! where the time of an average request went: the function (its own code, the AWS SDK's work on
//! its DynamoDB calls, the round trips to the table stand-in) and everything outside it (the API
//! Gateway stand-in, HTTP on loopback, the client).
//!
//! `cargo run --release -p bench --bin bench [requests-per-scenario] [concurrency]`
//!
//! The DynamoDB proxy emulates a region's transaction conflicts: the `conflicts` column counts
//! the calls it refused or cancelled (the table layer retries them, then answers 503 `BUSY`).
//! The spread scenarios give each client a post of its own; the hot-item scenarios put every
//! client on the same three posts. Under each scenario with conflicts, the items they were on.

use std::time::{Duration, Instant};

use bench::{PASSWORD, call, percentile, user};
use local_stack::{LocalStack, StackOptions};
use reqwest::Method;
use serde_json::{Value, json};
use shared::context::TimeSpent;

/// Sign-ins per account within the ten-minute limit of 20 (one is spent making the account).
const SIGN_INS_PER_ACCOUNT: usize = 18;

/// What one client sends as its `i`-th request of a scenario.
type Request = (Method, String, Option<Value>);
/// Makes a client's `i`-th request.
type MakeRequest = Box<dyn Fn(&Client, usize) -> Request + Send + Sync>;

struct Client {
    /// The client's number, 0 to concurrency − 1.
    n: usize,
    token: String,
    email: String,
}

/// The HTTP API's time in the stack's ledger so far (the workers' entries left out).
fn function_time(stack: &LocalStack) -> TimeSpent {
    let mut sum = TimeSpent::default();
    let ledger = stack.ctx.call_ledger.as_ref().expect("the local stack keeps a ledger");
    for (key, entry) in ledger.snapshot() {
        if !key.starts_with("worker ") {
            sum.add(&entry.time);
        }
    }
    sum
}

fn ms(d: Duration, n: u64) -> f64 {
    d.as_secs_f64() * 1000.0 / n.max(1) as f64
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let requests: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(2000);
    let concurrency: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(16);
    let stack = LocalStack::start(StackOptions::bench()).await.expect("the stack starts");
    // What each request's own view of the context costs (`AppContext::for_unit`: a table handle
    // with the request's tally and charge; the clients are shared).
    let started = Instant::now();
    for _ in 0..10_000 {
        std::hint::black_box(stack.ctx.for_unit());
    }
    println!("per-request context: {:.1} µs", started.elapsed().as_secs_f64() * 1e6 / 10_000.0);
    let http = reqwest::Client::new();
    let base = stack.http_url.clone();

    // Nine authors with five posts each; every client follows them all, so each feed is full.
    let mut authors = Vec::new();
    for n in 0..9 {
        authors.push(user(&stack, &http, 100 + n).await);
    }
    let mut clients = Vec::new();
    for n in 0..concurrency {
        let (_, token) = user(&stack, &http, n).await;
        clients.push(Client { n, token, email: bench::email(n) });
    }
    let mut post_ids = Vec::new();
    for (id, token) in &authors {
        for c in &clients {
            call(&http, Method::PUT, format!("{base}/users/{id}/follow"), Some(&c.token), None).await;
        }
        for i in 0..5 {
            let (_, b) = call(
                &http,
                Method::POST,
                format!("{base}/posts"),
                Some(token),
                Some(json!({"content": format!("산책 일기 {i} #산책")})),
            )
            .await;
            post_ids.push(b["id"].as_str().expect("a post id").to_string());
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;

    println!(
        "{requests} requests per scenario (sign-in: at most {} a client), {concurrency} concurrent clients, each its own user; in-memory stack, as built\n",
        SIGN_INS_PER_ACCOUNT
    );
    println!(
        "{:<38} {:>6} {:>5} {:>9} {:>7} {:>7} {:>7} {:>7} | {:>7} {:>8} {:>8} {:>8} {:>8} {:>9}",
        "scenario",
        "non2xx",
        "5xx",
        "conflicts",
        "req/s",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "mean ms",
        "function",
        "own code",
        "SDK",
        "table",
        "outside",
    );
    let posts = post_ids.clone();
    let scenarios: Vec<(&str, usize, MakeRequest)> = vec![
        ("GET /health", requests, Box::new(|_, _| (Method::GET, "/health".into(), None))),
        ("GET /posts?limit=20", requests, Box::new(|_, _| (Method::GET, "/posts?limit=20".into(), None))),
        ("GET /feed?limit=20", requests, Box::new(|_, _| (Method::GET, "/feed?limit=20".into(), None))),
        ("GET /posts/{id}", requests, {
            let posts = posts.clone();
            Box::new(move |_, i| (Method::GET, format!("/posts/{}", posts[i % posts.len()]), None))
        }),
        (
            "GET /search/posts?q=산책",
            requests,
            Box::new(|_, _| (Method::GET, "/search/posts?q=%EC%82%B0%EC%B1%85".into(), None)),
        ),
        // Like and unlike in turn, so that every request changes something; each client on a
        // post of its own.
        ("PUT·DELETE /posts/{id}/like", requests, {
            let posts = posts.clone();
            Box::new(move |c, i| {
                let method = if i % 2 == 0 { Method::PUT } else { Method::DELETE };
                (method, format!("/posts/{}/like", posts[c.n % posts.len()]), None)
            })
        }),
        ("POST /posts/{id}/comments", requests, {
            let posts = posts.clone();
            Box::new(move |c, i| {
                let body = json!({"content": format!("귀여워요 {i}")});
                (Method::POST, format!("/posts/{}/comments", posts[c.n % posts.len()]), Some(body))
            })
        }),
        // Every client on the same three posts: a popular post's writes meet in flight.
        ("PUT·DELETE like, 3 hot posts", requests, {
            let hot = posts[..3].to_vec();
            Box::new(move |c, i| {
                let method = if i % 2 == 0 { Method::PUT } else { Method::DELETE };
                (method, format!("/posts/{}/like", hot[(c.n + i / 2) % hot.len()]), None)
            })
        }),
        ("POST comments, 3 hot posts", requests, {
            let hot = posts[..3].to_vec();
            Box::new(move |c, i| {
                let body = json!({"content": format!("인기 글이네요 {i}")});
                (Method::POST, format!("/posts/{}/comments", hot[(c.n + i) % hot.len()]), Some(body))
            })
        }),
        (
            "POST /auth/login",
            requests.min(SIGN_INS_PER_ACCOUNT * concurrency),
            Box::new(|c, _| {
                (Method::POST, "/auth/login".into(), Some(json!({"email": c.email, "password": PASSWORD})))
            }),
        ),
    ];
    let clients = std::sync::Arc::new(clients);
    let mut refused_any = false;
    let mut failed_any = 0usize;
    let conflicts = || stack.faults.in_flight.conflicts.load(std::sync::atomic::Ordering::Relaxed);
    for (name, total, make) in scenarios {
        let make = std::sync::Arc::new(make);
        let before = function_time(&stack);
        let conflicts_before = conflicts();
        let shapes_before = stack.faults.in_flight.conflicts_by_shape();
        let started = Instant::now();
        let per_client = total / concurrency;
        let tasks = (0..concurrency).map(|c| {
            let (http, base, clients, make) = (http.clone(), base.clone(), clients.clone(), make.clone());
            tokio::spawn(async move {
                let client = &clients[c];
                let mut lat = Vec::with_capacity(per_client);
                let mut refused = 0usize;
                let mut failed = 0usize;
                for i in 0..per_client {
                    let (method, path, body) = make(client, i);
                    let signed_in = (method != Method::POST || path != "/auth/login").then_some(client.token.as_str());
                    let t = Instant::now();
                    let (status, answer) = call(&http, method, format!("{base}{path}"), signed_in, body).await;
                    lat.push(t.elapsed());
                    if status >= 500 {
                        failed += 1;
                        // A 503 `BUSY` tells the client to come back; anything else is a fault.
                        assert!(status == 503 && answer["code"] == "BUSY", "{status} {answer}");
                    }
                    if !(200..300).contains(&status) {
                        refused += 1;
                    }
                }
                (lat, refused, failed)
            })
        });
        let mut lat: Vec<Duration> = Vec::new();
        let mut refused = 0;
        let mut failed = 0;
        for result in futures::future::join_all(tasks).await {
            let (l, r, f) = result.expect("a client");
            lat.extend(l);
            refused += r;
            failed += f;
        }
        failed_any += failed;
        let elapsed = started.elapsed().as_secs_f64();
        let spent = function_time(&stack).since(&before);
        let n = lat.len() as u64;
        let end_to_end: Duration = lat.iter().sum();
        lat.sort();
        refused_any |= refused > 0;
        // Concurrent calls in one request add up beyond its wall time, so the own-code share is
        // the function's time less the SDK's, floored at zero.
        let function = ms(spent.elapsed, spent.units);
        let sdk = ms(spent.in_sdk.saturating_sub(spent.on_the_wire), spent.units);
        let table = ms(spent.on_the_wire, spent.units);
        println!(
            "{:<38} {:>6} {:>5} {:>9} {:>7.0} {:>7.2} {:>7.2} {:>7.2} | {:>7.2} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>9.2}   {:.1} calls",
            name,
            refused,
            failed,
            conflicts() - conflicts_before,
            n as f64 / elapsed,
            percentile(&lat, 0.50),
            percentile(&lat, 0.95),
            percentile(&lat, 0.99),
            ms(end_to_end, n),
            function,
            (function - sdk - table).max(0.0),
            sdk,
            table,
            (ms(end_to_end, n) - function).max(0.0),
            spent.calls as f64 / spent.units.max(1) as f64,
        );
        // Where the conflicts were (requests and the workers they set off alike).
        if let Some(top) = bench::conflicts_since(&stack, &shapes_before) {
            println!("{:<38} conflicts on: {top}", "");
        }
    }
    println!(
        "\nmean ms: the client's view; function: the handler with its authorisation (what Lambda bills); own code: \
         the function less its DynamoDB calls; SDK: building, signing and parsing those calls; table: their HTTP \
         round trips to the DynamoDB stand-in, its work included; outside: the API Gateway stand-in, loopback HTTP \
         and the client."
    );
    // What each route's costliest request called, so the calls column can be read.
    println!("\ncostliest request per route:");
    let ledger = stack.ctx.call_ledger.as_ref().expect("the local stack keeps a ledger").snapshot();
    for (route, entry) in ledger.iter().filter(|(k, e)| !k.starts_with("worker ") && e.time.units >= concurrency as u64)
    {
        println!("  {route}: {:?}", entry.costliest.by_operation);
    }
    if refused_any {
        println!("some requests were refused (non2xx): their figures are of the refusal, not of the work");
    }
    println!("5xx answers: {failed_any} (each a 503 BUSY after the table layer's retries; never a 500)");
    // The run ends with the counter audit, once the workers the writes set off are done: every
    // counter must still equal its facts.
    let waiting = Instant::now();
    while !stack.settle(Duration::from_secs(15)).await {
        let depths: Vec<_> = local_stack::catalog::queues()
            .into_iter()
            .filter_map(|q| stack.queues.depth(q.name).filter(|d| *d != (0, 0)).map(|d| (q.name, d)))
            .collect();
        println!(
            "waiting for the workers: queues (visible, in flight) {depths:?}, outbox relayed: {}",
            stack.streams.caught_up()
        );
        assert!(waiting.elapsed() < Duration::from_secs(600), "the workers did not go idle within 10 minutes");
    }
    println!("workers idle {:.1} s after the last request", waiting.elapsed().as_secs_f64());
    // How long a like takes to show in the post's count, which the stream keeps: each client in
    // turn likes a post no scenario touched, and reads the post until the count says so.
    let post = post_ids.last().expect("a post").clone();
    let mut windows = Vec::new();
    for c in clients.iter() {
        call(&http, Method::DELETE, format!("{base}/posts/{post}/like"), Some(&c.token), None).await;
        stack.settle(Duration::from_secs(15)).await;
        let (_, b) = call(&http, Method::GET, format!("{base}/posts/{post}"), None, None).await;
        let start = b["likeCount"].as_i64().unwrap_or_default();
        let liked = Instant::now();
        call(&http, Method::PUT, format!("{base}/posts/{post}/like"), Some(&c.token), None).await;
        loop {
            let (_, b) = call(&http, Method::GET, format!("{base}/posts/{post}"), None, None).await;
            if b["likeCount"].as_i64().unwrap_or_default() > start || liked.elapsed() > Duration::from_secs(10) {
                break;
            }
        }
        windows.push(liked.elapsed().as_secs_f64() * 1000.0);
    }
    windows.sort_by(f64::total_cmp);
    println!(
        "a like shows in the post's count after: p50 {:.0} ms, max {:.0} ms ({} likes, the stream read every 20 ms)",
        windows[windows.len() / 2],
        windows[windows.len() - 1],
        windows.len()
    );
    let reports = local_stack::catalog::audit_all(&stack.ctx, false).await.expect("the audit runs");
    let checked: usize = reports.iter().map(|(_, r)| r.checked).sum();
    let drift: Vec<_> = reports.iter().flat_map(|(_, r)| r.drift.iter()).collect();
    println!("counter audit: {checked} counters checked, {} drifted", drift.len());
    assert!(drift.is_empty(), "{drift:?}");
    stack.stop().await;
}
