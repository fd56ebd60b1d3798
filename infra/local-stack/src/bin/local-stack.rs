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
        "usage: local-stack [--data-dir DIR] [--port N] [--host ADDR] [--services-only]\n\n\
         --data-dir DIR    where data lives (default .local/data)\n\
         --port N          HTTP API port (default 3000)\n\
         --host ADDR       listen address (default 127.0.0.1)\n\
         --services-only   only the AWS stand-ins, for `cargo lambda watch` (writes .local/lambda.env)\n\n\
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
    if args.peek().map(String::as_str) == Some("promote-admin") {
        args.next();
        promote = Some(args.next().unwrap_or_else(|| usage()));
    }
    while let Some(a) = args.next() {
        match a.as_str() {
            "--data-dir" => data_dir = args.next().map(PathBuf::from).unwrap_or_else(|| usage()),
            "--port" => opts.http_port = args.next().and_then(|p| p.parse().ok()).unwrap_or_else(|| usage()),
            "--host" => opts.host = args.next().unwrap_or_else(|| usage()),
            "--services-only" => opts.run_functions = false,
            _ => usage(),
        }
    }
    opts.data_dir = Some(data_dir.clone());
    if let Some(email) = promote {
        std::process::exit(promote_admin(&data_dir, &email).await);
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

/// Promotes an account through the running stack's DynamoDB, with the functions' own environment.
async fn promote_admin(data_dir: &std::path::Path, email: &str) -> i32 {
    let env_path = data_dir.parent().unwrap_or(data_dir).join("lambda.env");
    let Ok(text) = std::fs::read_to_string(&env_path) else {
        eprintln!("{} not found: start the stack first (cargo run)", env_path.display());
        return 1;
    };
    let env: std::collections::HashMap<String, String> =
        text.lines().filter_map(|l| l.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let config = match shared::config::Config::from_lookup(|k| env.get(k).cloned()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{}: {e}", env_path.display());
            return 1;
        }
    };
    let ctx = shared::AppContext::build(config, std::sync::Arc::new(shared::clock::SystemClock)).await;
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
