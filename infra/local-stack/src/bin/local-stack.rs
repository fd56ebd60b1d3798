//! `cargo run` — the whole product on this machine.
//!
//! ```text
//! local-stack [--data-dir DIR] [--port N] [--host ADDR] [--services-only]
//! local-stack promote-admin EMAIL      make a verified account an administrator (stack running)
//! ```

use std::path::PathBuf;

use local_stack::{LocalStack, StackOptions};

fn usage() -> ! {
    eprintln!(
        "usage: local-stack [--data-dir DIR] [--port N] [--host ADDR] [--services-only] [--env KEY=VALUE]...\n\n\
         --data-dir DIR    where data lives (default .local/data)\n\
         --port N          HTTP API port (default 3000)\n\
         --host ADDR       listen address (default 127.0.0.1)\n\
         --services-only   only the AWS stand-ins, for `cargo lambda watch` (writes .local/lambda.env)\n\
         --env KEY=VALUE   a setting of the functions' environment (e.g. WRITE_RATE_LIMIT_PER_MINUTE=1000)\n\n\
         local-stack audit [--repair] [--data-dir DIR]\n\
         \x20                 with the stack running, recount every stored counter from its facts (and repair drift)\n\
         local-stack promote-admin EMAIL [--data-dir DIR]\n\
         \x20                 with the stack running, give the verified account EMAIL the ADMIN role"
    );
    std::process::exit(2)
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,s3s=warn,dynoxide=error".into()),
        )
        .init();

    let mut data_dir = PathBuf::from(".local/data");
    let mut opts = StackOptions::persistent(&data_dir);
    let mut args = std::env::args().skip(1).peekable();
    let mut promote: Option<String> = None;
    let mut audit: Option<bool> = None;
    if args.peek().map(String::as_str) == Some("promote-admin") {
        args.next();
        promote = Some(args.next().unwrap_or_else(|| usage()));
    } else if args.peek().map(String::as_str) == Some("audit") {
        args.next();
        let repair = args.peek().map(String::as_str) == Some("--repair");
        if repair {
            args.next();
        }
        audit = Some(repair);
    }
    while let Some(a) = args.next() {
        match a.as_str() {
            "--data-dir" => data_dir = args.next().map(PathBuf::from).unwrap_or_else(|| usage()),
            "--port" => opts.http_port = args.next().and_then(|p| p.parse().ok()).unwrap_or_else(|| usage()),
            "--host" => opts.host = args.next().unwrap_or_else(|| usage()),
            "--services-only" => opts.run_functions = false,
            "--env" => {
                let kv = args.next().unwrap_or_else(|| usage());
                let (k, v) = kv.split_once('=').unwrap_or_else(|| usage());
                opts.env.insert(k.to_string(), v.to_string());
            }
            _ => usage(),
        }
    }
    opts.data_dir = Some(data_dir.clone());
    if let Some(email) = promote {
        std::process::exit(promote_admin(&data_dir, &email).await);
    }
    if let Some(repair) = audit {
        std::process::exit(audit_counters(&data_dir, repair).await);
    }

    let stack = match LocalStack::start(opts).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("the local stack did not start: {e}");
            std::process::exit(1);
        }
    };
    let env_path = data_dir.parent().unwrap_or(&data_dir).join("lambda.env");
    // It holds the signing secrets: readable by its owner only.
    let written = std::fs::write(&env_path, stack.env_file()).and_then(|()| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&env_path, std::fs::Permissions::from_mode(0o600))
    });
    if let Err(e) = written {
        eprintln!("could not write {}: {e}", env_path.display());
    }
    let abs = |p: &std::path::Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf()).display().to_string();
    println!("Pet platform local stack is up.\n");
    if !stack.http_url.is_empty() {
        println!("  HTTP API          {}", stack.http_url);
        println!("  health            {}/health", stack.http_url);
        println!("  OpenAPI           {}/openapi.json", stack.http_url);
        println!("  mailbox           {}/_local/mail?to=<address>", stack.http_url);
        println!(
            "  Web Push          POST {}/_local/push/subscriptions, GET …/_local/push/messages?endpoint=<url>",
            stack.http_url
        );
        println!("  queues            {}/_local/queues", stack.http_url);
        println!("  run a job now     POST {}/_local/jobs/<name>/run", stack.http_url);
    } else {
        println!("  (services only: no HTTP API; run functions with cargo lambda)");
    }
    println!("  DynamoDB          {}  table {}", stack.dynamodb_url, local_stack::TABLE_NAME);
    println!("  S3                {}  bucket {}", stack.s3_url, local_stack::MEDIA_BUCKET);
    println!("  media (CDN)       {}", stack.media_url);
    println!("  SQS               {}", stack.sqs_url);
    println!("  SES               {}", stack.ses_url);
    println!("  OAuth sandboxes   {}/google/authorize, {}/kakao/oauth/authorize", stack.sandbox_url, stack.sandbox_url);
    println!("  data              {}", abs(&stack.data_dir));
    println!("  function env      {}  (cargo lambda watch --env-file {})", abs(&env_path), env_path.display());
    println!("\nPress Ctrl-C to stop.");

    let _ = tokio::signal::ctrl_c().await;
    println!("stopping…");
    stack.stop().await;
}

/// The functions' own context, built from the running stack's `lambda.env`.
async fn running_stack(data_dir: &std::path::Path) -> Result<shared::AppContext, String> {
    let env_path = data_dir.parent().unwrap_or(data_dir).join("lambda.env");
    let Ok(text) = std::fs::read_to_string(&env_path) else {
        return Err(format!("{} not found: start the stack first (cargo run)", env_path.display()));
    };
    let env: std::collections::HashMap<String, String> =
        text.lines().filter_map(|l| l.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let config = shared::config::Config::from_lookup(move |k| env.get(k).cloned())
        .map_err(|e| format!("{}: {e}", env_path.display()))?;
    Ok(shared::AppContext::build(config, std::sync::Arc::new(shared::clock::SystemClock)).await)
}

/// Recounts every stored counter from its facts and prints the drift (and repairs it).
async fn audit_counters(data_dir: &std::path::Path, repair: bool) -> i32 {
    let ctx = match running_stack(data_dir).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return 1;
        }
    };
    match local_stack::catalog::audit_all(&ctx, repair).await {
        Ok(reports) => {
            let mut drift = 0;
            for (domain, r) in &reports {
                println!("{domain:<14} {:>6} counters checked, {} drifted", r.checked, r.drift.len());
                for d in &r.drift {
                    let fixed = if d.repaired { " (repaired)" } else { "" };
                    println!(
                        "  {} at {} / {}: stored {}, counted {}{fixed}",
                        d.counter, d.pk, d.sk, d.stored, d.actual
                    );
                }
                drift += r.drift.iter().filter(|d| !d.repaired).count();
            }
            i32::from(drift > 0)
        }
        Err(e) => {
            eprintln!("the audit failed: {e}");
            1
        }
    }
}

/// Promotes an account through the running stack's DynamoDB, with the functions' own environment.
async fn promote_admin(data_dir: &std::path::Path, email: &str) -> i32 {
    let ctx = match running_stack(data_dir).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return 1;
        }
    };
    match identity::admin::promote_to_admin(&ctx, email).await {
        Ok(id) => {
            println!("{email} (user {id}) is now an administrator; it gets the role at its next sign-in.");
            0
        }
        Err(e) => {
            eprintln!("could not promote {email}: {}", e.to_problem().detail.unwrap_or_default());
            1
        }
    }
}
