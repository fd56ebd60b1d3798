//! Cold starts, side by side: launches function binaries the way Lambda does — a fresh process
//! with Lambda's environment, talking to a Runtime API emulator — and prints, per function, the
//! init time (spawn → first `invocation/next`), the first invocation, warm invocations and the
//! peak RSS, next to a bare `lambda_runtime` binary and a Node.js 20 function doing the same
//! DynamoDB read. Everything runs against one in-memory local stack. It prints figures; nothing
//! here passes or fails on timing.
//!
//! `infra/coldstart.sh [processes] [warm-invocations]` builds the binaries in release mode and
//! runs this; run directly, it expects them next to its own executable. `COLDSTART_ONLY=health,node`
//! measures some of them (with the baseline); `COLDSTART_ALSO=target/release-small` adds the
//! DynamoDB-only baseline and `health` from another build, in the same run.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use bench::{PASSWORD, call, email, user};
use local_stack::runtime_api::{Outcome, RuntimeApi};
use local_stack::{LocalStack, StackOptions};
use serde_json::{Value, json};

const MEMORY_MB: u32 = 128;

/// Environment a function gets beyond Lambda's.
type Env = &'static [(&'static str, &'static str)];

/// One function under test: how to start it and what to hand it.
struct Target {
    label: &'static str,
    /// The function's name (the binary's name for ours).
    name: &'static str,
    command: Vec<String>,
    /// The event of invocation `n` of process `p`.
    event: Box<dyn Fn(usize, usize) -> Value>,
    /// Whether an answer is a success (a 2xx for an HTTP function, no failures for a worker).
    ok: fn(&Value) -> bool,
    /// Environment beyond Lambda's (the SDK set-up variants of the DynamoDB-only baseline).
    env: Env,
}

#[derive(Default)]
struct Figures {
    init: Vec<Duration>,
    first: Vec<Duration>,
    warm: Vec<Duration>,
    rss_kb: Vec<u64>,
    failures: Vec<String>,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn pct(values: &[Duration], p: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort();
    if v.is_empty() {
        return f64::NAN;
    }
    ms(v[((v.len() as f64 - 1.0) * p).round() as usize])
}

fn http_ok(v: &Value) -> bool {
    v["statusCode"].as_u64().is_some_and(|s| (200..300).contains(&s))
}

fn batch_ok(v: &Value) -> bool {
    v["batchItemFailures"].as_array().is_some_and(Vec::is_empty)
}

/// An API Gateway HTTP API (v2) event, as Lambda would receive it.
fn http_event(method: &str, route: &str, path: &str, query: &str, token: Option<&str>, body: Option<Value>) -> Value {
    let mut headers = json!({"accept": "application/json", "host": "api.petplatform.local", "user-agent": "coldstart"});
    if let Some(t) = token {
        headers["authorization"] = json!(format!("Bearer {t}"));
    }
    if body.is_some() {
        headers["content-type"] = json!("application/json");
    }
    let query_params: serde_json::Map<String, Value> =
        query.split('&').filter_map(|kv| kv.split_once('=')).map(|(k, v)| (k.to_string(), json!(v))).collect();
    let id = path.rsplit('/').nth(1).unwrap_or_default();
    let now = chrono::Utc::now();
    json!({
        "version": "2.0",
        "routeKey": format!("{method} {route}"),
        "rawPath": path,
        "rawQueryString": query,
        "headers": headers,
        "queryStringParameters": if query_params.is_empty() { Value::Null } else { Value::Object(query_params) },
        "pathParameters": if route.contains("{id}") { json!({"id": id}) } else { Value::Null },
        "requestContext": {
            "accountId": "000000000000", "apiId": "local", "domainName": "api.petplatform.local",
            "domainPrefix": "api", "requestId": ulid::Ulid::new().to_string(),
            "routeKey": format!("{method} {route}"), "stage": "$default",
            "time": now.format("%d/%b/%Y:%H:%M:%S +0000").to_string(), "timeEpoch": now.timestamp_millis(),
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "coldstart"}
        },
        "body": body.map(|b| b.to_string()),
        "isBase64Encoded": false
    })
}

fn sqs_event(queue: &str, body: Value) -> Value {
    let now = chrono::Utc::now().timestamp_millis().to_string();
    json!({"Records": [{
        "messageId": ulid::Ulid::new().to_string(), "receiptHandle": "coldstart",
        "body": body.to_string(),
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": now, "SenderId": "000000000000",
                        "ApproximateFirstReceiveTimestamp": now},
        "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
        "eventSourceARN": format!("arn:aws:sqs:us-east-1:000000000000:{queue}"), "awsRegion": "us-east-1"
    }]})
}

/// The environment Lambda sets for a function, plus the stack's endpoints and settings.
fn lambda_env(stack: &LocalStack, name: &str, runtime_api: &str, node: bool) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = stack.env.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let region = stack.env.get("AWS_REGION").cloned().unwrap_or_else(|| "us-east-1".into());
    env.extend(
        [
            ("AWS_LAMBDA_RUNTIME_API", runtime_api.to_string()),
            ("AWS_LAMBDA_FUNCTION_NAME", name.to_string()),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", MEMORY_MB.to_string()),
            ("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}")),
            ("AWS_LAMBDA_LOG_STREAM_NAME", "2026/11/23/[$LATEST]coldstart".into()),
            ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".into()),
            ("AWS_REGION", region.clone()),
            ("AWS_DEFAULT_REGION", region),
            ("AWS_SESSION_TOKEN", "coldstart-session".into()),
            ("AWS_EXECUTION_ENV", if node { "AWS_Lambda_nodejs20.x" } else { "AWS_Lambda_provided.al2023" }.into()),
            ("_HANDLER", if node { "index.handler" } else { "bootstrap" }.into()),
            ("LAMBDA_TASK_ROOT", "/var/task".into()),
            ("TZ", ":UTC".into()),
            ("LANG", "en_US.UTF-8".into()),
            ("PATH", std::env::var("PATH").unwrap_or_default()),
        ]
        .map(|(k, v)| (k.to_string(), v)),
    );
    // `RUST_LOG=debug` shows each function's init breakdown in the kept logs.
    if let Ok(filter) = std::env::var("RUST_LOG") {
        env.push(("RUST_LOG".into(), filter));
    }
    if node {
        // The managed runtime's default for a 128 MB function.
        env.push(("NODE_OPTIONS".into(), "--max-old-space-size=108".into()));
    }
    env
}

fn peak_rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("VmHWM:").and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
            })
        })
        .unwrap_or(0)
}

/// One fresh process: init, the first invocation, then the warm ones.
async fn one_process(stack: &LocalStack, target: &Target, p: usize, warm: usize, log: &Path, figures: &mut Figures) {
    let api = RuntimeApi::start(target.name).await.expect("the emulator starts");
    let node = target.label.starts_with("Node");
    let log_file = std::fs::OpenOptions::new().create(true).append(true).open(log).expect("a log file");
    let mut command = tokio::process::Command::new(&target.command[0]);
    command
        .args(&target.command[1..])
        .env_clear()
        .envs(lambda_env(stack, target.name.split('@').next().unwrap_or(target.name), &api.address, node))
        .envs(target.env.iter().copied())
        .stdin(Stdio::null())
        .stdout(log_file.try_clone().expect("log"))
        .stderr(log_file)
        .kill_on_drop(true);
    let spawned = Instant::now();
    let mut child = match command.spawn() {
        Ok(c) => c,
        Err(e) => {
            figures.failures.push(format!("{}: cannot start: {e}", target.command[0]));
            return;
        }
    };
    let pid = child.id().unwrap_or(0);
    match api.ready(Duration::from_secs(30)).await {
        Ok(at) => figures.init.push(at.duration_since(spawned)),
        Err(e) => {
            figures.failures.push(e);
            let _ = child.kill().await;
            return;
        }
    }
    for n in 0..=warm {
        let event = serde_json::to_vec(&(target.event)(p, n)).expect("an event");
        match api.invoke(&event, Duration::from_secs(30)).await {
            Ok((took, Outcome::Response(body))) => {
                let answer: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                if !(target.ok)(&answer) {
                    figures.failures.push(String::from_utf8_lossy(&body).chars().take(300).collect::<String>());
                }
                if n == 0 { figures.first.push(took) } else { figures.warm.push(took) }
            }
            Ok((_, Outcome::Error(body))) => figures.failures.push(String::from_utf8_lossy(&body).into_owned()),
            Err(e) => {
                figures.failures.push(e);
                break;
            }
        }
    }
    figures.rss_kb.push(peak_rss_kb(pid));
    let _ = child.kill().await;
}

/// Installs the Node.js function's one dependency from npm, once.
fn node_function(dir: &Path) -> Option<Vec<String>> {
    let node = std::process::Command::new("node").arg("--version").output().ok()?;
    let version = String::from_utf8_lossy(&node.stdout).trim().to_string();
    if !dir.join("node_modules/@aws-sdk/client-dynamodb").exists() {
        eprintln!("installing @aws-sdk/client-dynamodb from npm into {}", dir.display());
        let ok = std::process::Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(dir)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            eprintln!("npm install failed: the Node.js column is left out");
            return None;
        }
    }
    eprintln!("node {version}");
    Some(vec!["node".into(), dir.join("bootstrap.mjs").display().to_string()])
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let processes: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(20);
    let warm: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(20);
    let bin_dir: PathBuf = std::env::current_exe().expect("own path").parent().expect("a folder").to_path_buf();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");

    let stack = LocalStack::start(StackOptions::bench()).await.expect("the stack starts");
    let http = reqwest::Client::new();
    let base = stack.http_url.clone();
    // Seed through the API: a reader, and authors with enough posts that every like is new
    // (an author may post 30 times an hour).
    let (reader_id, reader) = user(&stack, &http, 0).await;
    let posts_needed = processes * (warm + 1);
    let mut posts = Vec::with_capacity(posts_needed);
    let mut authors = Vec::new();
    while posts.len() < posts_needed {
        let (author_id, author) = user(&stack, &http, authors.len() + 1).await;
        for i in 0..25.min(posts_needed - posts.len()) {
            let (s, b) = call(
                &http,
                reqwest::Method::POST,
                format!("{base}/posts"),
                Some(&author),
                Some(json!({"content": format!("산책 일기 {i} #산책")})),
            )
            .await;
            assert_eq!(s, 201, "{b}");
            posts.push(b["id"].as_str().expect("an id").to_string());
        }
        authors.push(author_id);
    }
    let author_id = authors[0].clone();
    // Accounts to sign in with: each may sign in 20 times in 10 minutes.
    let mut accounts = authors.len() + 1;
    while accounts * 18 < posts_needed {
        user(&stack, &http, accounts).await;
        accounts += 1;
    }
    let posts = std::sync::Arc::new(posts);
    let per_process = warm + 1;

    let bin = |name: &str| vec![bin_dir.join(name).display().to_string()];
    let mut targets = vec![
        Target {
            label: "bare lambda_runtime",
            name: "lambda-hello",
            command: bin("lambda-hello"),
            event: Box::new(|_, _| json!({"hello": "world"})),
            ok: |v| v["statusCode"] == 200,
            env: &[],
        },
        Target {
            label: "lambda_runtime + DynamoDB client only",
            name: "lambda-dynamodb-only",
            command: bin("lambda-dynamodb-only"),
            event: Box::new(|_, _| json!({})),
            ok: http_ok,
            env: &[],
        },
        // The SDK's set-up piece by piece (`SDK_SETUP`, see the baseline's source): credentials
        // straight from Lambda's environment instead of the default chain; compiled-in AWS roots
        // instead of the system's store; both, as the kernel does.
        Target {
            label: "health",
            name: "health",
            command: bin("health"),
            event: Box::new(|_, _| http_event("GET", "/health", "/health", "", None, None)),
            ok: http_ok,
            env: &[],
        },
        Target {
            label: "auth-login",
            name: "auth-login",
            command: bin("auth-login"),
            event: Box::new(move |p, n| {
                let account = (p * per_process + n) % accounts;
                let body = json!({"email": email(account), "password": PASSWORD});
                http_event("POST", "/auth/login", "/auth/login", "", None, Some(body))
            }),
            ok: http_ok,
            env: &[],
        },
        {
            let token = reader.clone();
            Target {
                label: "posts-list",
                name: "posts-list",
                command: bin("posts-list"),
                event: Box::new(move |_, _| http_event("GET", "/posts", "/posts", "limit=20", Some(&token), None)),
                ok: http_ok,
                env: &[],
            }
        },
        {
            let (token, posts) = (reader.clone(), posts.clone());
            Target {
                label: "posts-like",
                name: "posts-like",
                command: bin("posts-like"),
                event: Box::new(move |p, n| {
                    let id = &posts[p * per_process + n];
                    http_event("PUT", "/posts/{id}/like", &format!("/posts/{id}/like"), "", Some(&token), None)
                }),
                ok: http_ok,
                env: &[],
            }
        },
        {
            let (reader_id, author_id, posts) = (reader_id.clone(), author_id.clone(), posts.clone());
            Target {
                label: "notifications-worker (SQS)",
                name: "notifications-worker",
                command: bin("notifications-worker"),
                event: Box::new(move |p, n| {
                    let post = &posts[p * per_process + n];
                    sqs_event(
                        "notifications",
                        json!({"eventId": format!("like:{post}:{reader_id}:coldstart"), "kind": "LIKE", "actorId": reader_id,
                               "recipientId": author_id, "targetType": "POST", "targetId": post}),
                    )
                }),
                ok: batch_ok,
                env: &[],
            }
        },
    ];
    // The SDK's set-up piece by piece (`SDK_SETUP`, see the baseline's source): credentials
    // straight from Lambda's environment instead of the default chain; compiled-in AWS roots
    // instead of the system's store; both, as the kernel does. Listed after the baseline.
    let setups: [(&'static str, &'static str, Env); 3] = [
        ("  … credentials from the environment", "env-credentials", &[("SDK_SETUP", "env-credentials")]),
        ("  … compiled-in AWS roots", "aws-roots", &[("SDK_SETUP", "aws-roots")]),
        ("  … both", "light", &[("SDK_SETUP", "light")]),
    ];
    for (i, (label, tag, env)) in setups.into_iter().enumerate() {
        let target = Target {
            label,
            name: Box::leak(format!("lambda-dynamodb-only@{tag}").into_boxed_str()),
            command: bin("lambda-dynamodb-only"),
            event: Box::new(|_, _| json!({})),
            ok: http_ok,
            env,
        };
        targets.insert(2 + i, target);
    }
    // COLDSTART_ALSO=<folder>: the same baseline and `health` built another way (another profile,
    // say), measured in the same run beside these.
    if let Ok(other) = std::env::var("COLDSTART_ALSO") {
        let other = PathBuf::from(other);
        let tag = other.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        for (name, event) in
            [("lambda-dynamodb-only", json!({})), ("health", http_event("GET", "/health", "/health", "", None, None))]
        {
            targets.push(Target {
                label: Box::leak(format!("{name} ({tag})").into_boxed_str()),
                // `<function>@<build>`: the process is still that function (its identity).
                name: Box::leak(format!("{name}@{tag}").into_boxed_str()),
                command: vec![other.join(name).display().to_string()],
                event: Box::new(move |_, _| event.clone()),
                ok: http_ok,
                env: &[],
            });
        }
    }
    // COLDSTART_ONLY=<name,name,…>: a shorter run over some of the functions (the baseline stays).
    if let Ok(only) = std::env::var("COLDSTART_ONLY") {
        let only: Vec<&str> = only.split(',').collect();
        targets.retain(|t| t.name == "lambda-hello" || only.iter().any(|o| t.name.starts_with(o)));
    }
    for t in &targets {
        assert!(Path::new(&t.command[0]).exists(), "{} is not built: run infra/coldstart.sh", t.command[0]);
    }
    let node_wanted = std::env::var("COLDSTART_ONLY").map_or(true, |o| o.split(',').any(|n| n == "node"));
    if let Some(command) = node_function(&repo.join("infra/bench/node")).filter(|_| node_wanted) {
        targets.push(Target {
            label: "Node.js 20 (GetItem)",
            name: "node-health",
            command,
            event: Box::new(|_, _| json!({})),
            ok: http_ok,
            env: &[],
        });
    }

    let logs = tempfile::tempdir().expect("a folder for logs");
    let mut figures: Vec<Figures> = targets.iter().map(|_| Figures::default()).collect();
    // Round-robin over the functions, so that every one meets the same machine.
    for p in 0..processes {
        for (t, target) in targets.iter().enumerate() {
            let log = logs.path().join(format!("{}.log", target.name));
            one_process(&stack, target, p, warm, &log, &mut figures[t]).await;
        }
        eprint!("\r{}/{processes} processes per function", p + 1);
    }
    eprintln!();

    let init_p50 = |f: &Figures| pct(&f.init, 0.5);
    let bare = init_p50(&figures[0]);
    let node = targets.iter().position(|t| t.label.starts_with("Node")).map(|i| init_p50(&figures[i]));
    println!(
        "\n{processes} fresh processes per function, {warm} warm invocations each, {MEMORY_MB} MB, {} build, {}\n",
        if cfg!(debug_assertions) { "debug" } else { "release" },
        std::env::consts::ARCH
    );
    println!(
        "| function | init p50 ms | init p99 ms | first invocation p50 ms | warm p50 ms | warm p99 ms | first ÷ warm | peak RSS MB | init ÷ bare | Node init ÷ init |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for (t, f) in targets.iter().zip(&figures) {
        let init = init_p50(f);
        let rss = f.rss_kb.iter().max().copied().unwrap_or(0) as f64 / 1024.0;
        let first = pct(&f.first, 0.5);
        let warm50 = pct(&f.warm, 0.5);
        println!(
            "| {} | {:.1} | {:.1} | {:.2} | {:.2} | {:.2} | {:.1} | {:.1} | {:.2} | {} |",
            t.label,
            init,
            pct(&f.init, 0.99),
            first,
            warm50,
            pct(&f.warm, 0.99),
            first / warm50,
            rss,
            init / bare,
            node.map(|n| format!("{:.1}", n / init)).unwrap_or_else(|| "—".into()),
        );
    }
    let mut failed = false;
    for (t, f) in targets.iter().zip(&figures) {
        if !f.failures.is_empty() {
            failed = true;
            eprintln!("\n{}: {} failed invocations, e.g. {}", t.label, f.failures.len(), f.failures[0]);
        }
    }
    if failed || std::env::var_os("COLDSTART_KEEP_LOGS").is_some() {
        eprintln!("(process logs in {})", logs.keep().display());
    }
    if failed {
        std::process::exit(1);
    }
    stack.stop().await;
}
