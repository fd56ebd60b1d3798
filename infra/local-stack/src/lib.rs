//! The pet platform on one machine.
//!
//! [`LocalStack::start`] brings up, in this process and on loopback, a stand-in for every AWS
//! part the product uses — DynamoDB (dynoxide), S3 (s3s-fs), SQS with the event source mapping,
//! DynamoDB Streams with its event source mapping, SES with a readable mailbox, EventBridge schedules — and the HTTP API built from the route
//! table. Functions reach the stand-ins through the real AWS SDK clients, pointed at loopback.

pub mod apigw;

pub mod bedrock;
pub mod catalog;
pub mod clova_sandbox;
pub mod comprehend;
pub mod contexts;
pub mod cors;
pub mod faults;
pub mod gateway;
pub mod iam;
pub mod infra_gen;
pub mod instagram_sandbox;
pub mod media_cdn;
pub mod metrics;
pub mod oauth_sandbox;
pub mod push_service;
pub mod region;
pub mod runtime_api;
pub mod schedule;
pub mod ses;
pub mod sigv4;
pub mod sqs;
pub mod streams;
pub mod toss_sandbox;
pub mod web;
pub mod websocket;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use shared::AppContext;
use shared::clock::{SharedClock, SystemClock};
use shared::config::Config;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub const TABLE_NAME: &str = "petplatform";
pub const MEDIA_BUCKET: &str = "petplatform-media";
pub const MAIL_FROM: &str = "no-reply@petplatform.local";
pub const OPS_EMAIL: &str = "ops@petplatform.local";
pub const REGION: &str = "us-east-1";
/// Credentials the local stand-ins accept (S3 checks SigV4 signatures with them).
pub const ACCESS_KEY_ID: &str = "local";
pub const SECRET_ACCESS_KEY: &str = "local-secret-access-key";

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Where and how to run.
#[derive(Debug, Clone)]
pub struct StackOptions {
    /// `None`: in-memory DynamoDB and a temporary folder for the rest (tests).
    pub data_dir: Option<PathBuf>,
    pub host: String,
    /// `0` picks a free port.
    pub http_port: u16,
    pub dynamodb_port: u16,
    pub s3_port: u16,
    /// The media CDN in front of the bucket.
    pub media_port: u16,
    pub sqs_port: u16,
    pub ses_port: u16,
    pub comprehend_port: u16,
    pub bedrock_port: u16,
    pub sandbox_port: u16,
    /// The WebSocket API (and its `@connections` endpoint).
    pub websocket_port: u16,
    /// API Gateway's WebSocket quotas (tests shorten the timeouts).
    pub websocket_limits: websocket::Limits,
    /// Extra environment for the functions (overrides the stack's own values).
    pub env: BTreeMap<String, String>,
    /// Serve the HTTP API and run workers and schedules (off: only the AWS stand-ins, for
    /// `cargo lambda watch`).
    pub run_functions: bool,
    /// Replace every queue's visibility timeout (tests use a short one).
    pub visibility_timeout: Option<Duration>,
    /// Run the schedules' timers (tests fire jobs by hand).
    pub run_schedules: bool,
    /// Whether a call a function's policy does not allow fails (the default) or is only logged
    /// (`LOCAL_IAM=report`).
    pub iam: iam::Mode,
    /// Index queries see a write this long after it commits, as in a region (`IndexLag`): 500
    /// ms unless `LOCAL_INDEX_LAG_MS` says otherwise (`0`: off).
    pub index_lag: Option<Duration>,
    pub clock: SharedClock,
}

/// The index lag of a stack: `LOCAL_INDEX_LAG_MS`, or half a second (a region's indexes are
/// typically well under a second behind; longer under load).
fn index_lag_from_env() -> Option<Duration> {
    let ms = std::env::var("LOCAL_INDEX_LAG_MS").ok().and_then(|v| v.trim().parse::<u64>().ok()).unwrap_or(500);
    (ms > 0).then(|| Duration::from_millis(ms))
}

impl StackOptions {
    /// Everything in memory on free ports: what integration tests use.
    pub fn ephemeral() -> Self {
        Self {
            data_dir: None,
            host: "127.0.0.1".into(),
            http_port: 0,
            dynamodb_port: 0,
            s3_port: 0,
            media_port: 0,
            sqs_port: 0,
            ses_port: 0,
            comprehend_port: 0,
            bedrock_port: 0,
            sandbox_port: 0,
            websocket_port: 0,
            websocket_limits: websocket::Limits::default(),
            // Tests send everything from one address, and race one user's writes by the hundred;
            // the limits are tested on their own.
            env: BTreeMap::from([
                ("RATE_LIMIT_PER_IP".to_string(), "1000000".to_string()),
                ("WRITE_RATE_LIMIT_PER_MINUTE".to_string(), "1000000".to_string()),
                // Workers back off from one second, not thirty.
                ("RETRY_BASE_SECS".to_string(), "1".to_string()),
            ]),
            run_functions: true,
            visibility_timeout: None,
            run_schedules: false,
            iam: iam::Mode::from_env(),
            index_lag: index_lag_from_env(),
            clock: Arc::new(SystemClock),
        }
    }

    /// [`StackOptions::ephemeral`] for a benchmark: the index view doubles every write in the
    /// stand-in, and a bench measures the product, so it is on only when `LOCAL_INDEX_LAG_MS`
    /// asks for it.
    pub fn bench() -> Self {
        let mut opts = Self::ephemeral();
        if std::env::var("LOCAL_INDEX_LAG_MS").is_err() {
            opts.index_lag = None;
        }
        opts
    }

    /// The developer's stack: data under `dir`, fixed well-known ports.
    pub fn persistent(dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: Some(dir.into()),
            http_port: 3000,
            dynamodb_port: 8000,
            s3_port: 9100,
            media_port: 9101,
            sqs_port: 9324,
            ses_port: 9325,
            comprehend_port: 9326,
            bedrock_port: 9327,
            sandbox_port: 9400,
            websocket_port: 3001,
            env: BTreeMap::new(),
            run_schedules: true,
            ..Self::ephemeral()
        }
    }
}

/// A running stack.
pub struct LocalStack {
    pub http_url: String,
    /// DynamoDB as the functions reach it (through the fault switch's proxy).
    pub dynamodb_url: String,
    /// The DynamoDB stand-in itself (the stream mapping reads it directly).
    dynamodb_direct_url: String,
    pub s3_url: String,
    /// Where clients read media (the CDN stand-in).
    pub media_url: String,
    pub sqs_url: String,
    pub ses_url: String,
    /// The Amazon Comprehend stand-in.
    pub comprehend_url: String,
    /// What the Comprehend stand-in was asked.
    pub comprehend: Arc<comprehend::Comprehend>,
    /// The Amazon Bedrock runtime stand-in, and what it was asked (also at `/_local/bedrock/`).
    pub bedrock_url: String,
    pub bedrock: Arc<bedrock::Bedrock>,
    /// What the functions' metric lines say (also at `/_local/metrics`).
    pub metrics: Arc<metrics::Collector>,
    /// The Instagram sandbox's state (also at `/_local/instagram/`).
    pub instagram: Arc<instagram_sandbox::Instagram>,
    /// The providers' sandboxes (Google under `/google`, Kakao under `/kakao`, Toss Payments
    /// under `/toss`, CLOVA OCR under `/clova`).
    pub sandbox_url: String,
    /// The fault switch (also at `/_local/faults`).
    pub faults: Arc<faults::Faults>,
    /// Every function's policy, and what they refused (also at `/_local/iam`).
    pub iam: Arc<iam::Iam>,
    /// Each function's context, under its own identity.
    pub contexts: Arc<contexts::Contexts>,
    /// The Toss Payments sandbox's state (also at `/_local/toss/`).
    pub toss: Arc<toss_sandbox::Toss>,
    /// The local Web Push service, browser side included (also at `/_local/push/`).
    pub push: Arc<push_service::PushService>,
    /// The WebSocket API (`ws://…`; its `@connections` API on the same port over HTTP).
    pub websocket_url: String,
    pub websocket: Option<Arc<websocket::WebSocketApi>>,
    pub data_dir: PathBuf,
    /// The environment a function of this stack reads (also written for `cargo lambda`).
    pub env: BTreeMap<String, String>,
    pub ctx: Arc<AppContext>,
    pub queues: Arc<sqs::Queues>,
    pub mailbox: Arc<ses::Mailbox>,
    /// The table stream's event source mappings (one switch for all of them).
    pub streams: Arc<streams::StreamMapping>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    _temp: Option<tempfile::TempDir>,
}

async fn bind(host: &str, port: u16) -> Result<(TcpListener, String), BoxError> {
    let listener = TcpListener::bind((host, port)).await.map_err(|e| format!("cannot listen on {host}:{port}: {e}"))?;
    let addr = listener.local_addr()?;
    Ok((listener, format!("http://{addr}")))
}

async fn stopped(mut rx: watch::Receiver<bool>) {
    while !*rx.borrow() {
        if rx.changed().await.is_err() {
            return;
        }
    }
}

/// Secrets the local functions sign with: made once, kept in the data folder so that tokens and
/// cursors survive a restart.
fn local_secrets(dir: &Path) -> Result<(String, String), BoxError> {
    let path = dir.join("secrets.json");
    if let Ok(text) = std::fs::read_to_string(&path) {
        let v: serde_json::Value = serde_json::from_str(&text)?;
        if let (Some(c), Some(j)) = (v["cursorSecret"].as_str(), v["jwtSecret"].as_str()) {
            return Ok((c.to_string(), j.to_string()));
        }
    }
    let make = || hex::encode(rand::random::<[u8; 32]>());
    let (c, j) = (make(), make());
    std::fs::write(&path, serde_json::json!({"cursorSecret": c, "jwtSecret": j}).to_string())?;
    Ok((c, j))
}

/// The key Instagram tokens are sealed with locally: generated once into the data folder (in
/// AWS, Secrets Manager generates it), so that stored tokens open after a restart.
fn local_token_key(dir: &Path) -> Result<String, BoxError> {
    local_key(dir, "instagram-token.key")
}

/// A generated secret kept in the data folder under `file` (made on first start), as Secrets
/// Manager generates and keeps one in AWS.
fn local_key(dir: &Path, file: &str) -> Result<String, BoxError> {
    let path = dir.join(file);
    if let Ok(key) = std::fs::read_to_string(&path)
        && key.trim().len() >= 32
    {
        return Ok(key.trim().to_string());
    }
    let key = hex::encode(rand::random::<[u8; 32]>());
    std::fs::write(&path, &key)?;
    Ok(key)
}

/// Where the data folder keeps the secret the VAPID key pair derives from.
const VAPID_KEY_FILE: &str = "webpush-vapid.key";

/// The stack's servers and background loops: each is spawned with the stop signal and awaited
/// by [`LocalStack::stop`].
struct Tasks {
    list: Vec<JoinHandle<()>>,
    stop: watch::Receiver<bool>,
}

impl Tasks {
    fn serve(&mut self, listener: TcpListener, app: axum::Router) {
        self.list.push(serve_axum(listener, app, self.stop.clone()));
    }

    fn spawn(&mut self, task: impl std::future::Future<Output = ()> + Send + 'static) {
        self.list.push(tokio::spawn(task));
    }
}

/// Where each stand-in listens, as the functions' environment names them.
struct Endpoints {
    dynamodb: String,
    s3: String,
    media: String,
    sqs: String,
    ses: String,
    comprehend: String,
    bedrock: String,
    sandbox: String,
    /// The WebSocket API over HTTP (`@connections`).
    websocket: String,
}

/// An AWS API stand-in as the functions reach it: behind the fault switch and the caller's
/// policy for `service`.
fn guarded(
    app: axum::Router,
    faults: &Arc<faults::Faults>,
    iam: &Arc<iam::Iam>,
    service: iam::Service,
) -> axum::Router {
    app.layer(axum::middleware::from_fn_with_state(faults.clone(), faults::guard))
        .layer(axum::middleware::from_fn_with_state((iam.clone(), service), iam::guard))
}

/// The stream indexes the stand-in lacks. dynoxide keeps the table's stream in `_stream_records`
/// with no index but its row id, and finds each write's sequence number
/// (`MAX(CAST(sequence_number AS INTEGER))`) and each `GetRecords`' records by reading the whole
/// stream: every write grew slower as the stream grew, and a long benchmark ended up measuring
/// that. The same expressions indexed make both a seek (the test below holds the plans). A
/// second connection to its database is the one way in.
fn index_the_stream(path: &str) -> Result<(), BoxError> {
    let c = rusqlite::Connection::open(path)?;
    c.execute_batch(STREAM_INDEXES)?;
    Ok(())
}

const STREAM_INDEXES: &str = "
    CREATE INDEX IF NOT EXISTS stream_by_table ON _stream_records (table_name, CAST(sequence_number AS INTEGER));
    CREATE INDEX IF NOT EXISTS stream_by_shard
        ON _stream_records (table_name, shard_id, CAST(sequence_number AS INTEGER));";

/// The DynamoDB stand-in (in memory, or a SQLite file in the data folder) with its TTL sweep;
/// its own URL.
async fn start_dynamodb(opts: &StackOptions, data_dir: &Path, tasks: &mut Tasks) -> Result<String, BoxError> {
    // An ephemeral stack's database is in memory, named so that a second connection reaches it.
    let path = match &opts.data_dir {
        Some(_) => data_dir.join("dynamodb.sqlite").to_str().ok_or("data folder path is not UTF-8")?.to_string(),
        None => format!("file:dynamodb-{}?mode=memory&cache=shared", ulid::Ulid::new()),
    };
    let db = dynoxide::Database::new(&path)?;
    index_the_stream(&path)?;
    let (listener, url) = bind(&opts.host, 0).await?;
    // The stand-in does its SQLite work inline, under one lock, on the thread that serves the
    // call: on the stack's runtime each call would stall a worker thread that the functions, the
    // workers and the clients need, and a burst of calls would stall them all. It gets a runtime
    // and a thread of its own, as DynamoDB is a service of its own.
    let listener = listener.into_std()?;
    let rx = tasks.stop.clone();
    let (done, finished) = tokio::sync::oneshot::channel::<()>();
    std::thread::Builder::new().name("dynamodb-stand-in".into()).spawn(move || {
        let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(r) => r,
            Err(e) => return tracing::error!(error = %e, "dynamodb stand-in has no runtime"),
        };
        runtime.block_on(async move {
            let listener = match TcpListener::from_std(listener) {
                Ok(l) => l,
                Err(e) => return tracing::error!(error = %e, "dynamodb stand-in cannot listen"),
            };
            // Sweep expired items now and then, as DynamoDB's TTL does (reads filter them anyway).
            let (swept, mut sweep_stop) = (db.clone(), rx.clone());
            tokio::spawn(async move {
                loop {
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(60)) => { let _ = swept.sweep_ttl(); }
                        _ = sweep_stop.changed() => return,
                    }
                }
            });
            if let Err(e) = dynoxide::server::serve_with_shutdown(listener, db, stopped(rx)).await {
                tracing::error!(error = %e, "dynamodb stand-in stopped");
            }
        });
        let _ = done.send(());
    })?;
    tasks.spawn(async move {
        let _ = finished.await;
    });
    Ok(url)
}

/// The queues of every domain, each with its dead-letter queue.
fn create_queues(queues: &sqs::Queues, visibility_timeout: Option<Duration>) {
    for q in catalog::queues() {
        let vis = visibility_timeout.unwrap_or(Duration::from_secs(q.visibility_timeout_secs.into()));
        queues.create(&q.dlq_name(), vis, None);
        queues.create(q.name, vis, Some((q.dlq_name(), q.max_receive_count)));
    }
}

/// What the providers' settings are locally: the sandboxes' credentials and URLs.
fn sandbox_settings(sandbox: &str) -> Vec<(&'static str, String)> {
    vec![
        ("GOOGLE_CLIENT_ID", oauth_sandbox::GOOGLE_CLIENT_ID.to_string()),
        ("GOOGLE_CLIENT_SECRET", oauth_sandbox::GOOGLE_CLIENT_SECRET.to_string()),
        ("GOOGLE_TOKEN_URL", format!("{sandbox}/google/token")),
        ("GOOGLE_USERINFO_URL", format!("{sandbox}/google/userinfo")),
        ("KAKAO_CLIENT_ID", oauth_sandbox::KAKAO_CLIENT_ID.to_string()),
        ("KAKAO_CLIENT_SECRET", oauth_sandbox::KAKAO_CLIENT_SECRET.to_string()),
        ("KAKAO_TOKEN_URL", format!("{sandbox}/kakao/oauth/token")),
        ("KAKAO_USERINFO_URL", format!("{sandbox}/kakao/v2/user/me")),
        ("TOSS_SECRET_KEY", toss_sandbox::SECRET_KEY.to_string()),
        ("TOSS_API_BASE", format!("{sandbox}/toss")),
        ("CLOVA_OCR_INVOKE_URL", format!("{sandbox}/clova")),
        ("CLOVA_OCR_SECRET", clova_sandbox::SECRET.to_string()),
        ("INSTAGRAM_APP_ID", instagram_sandbox::APP_ID.to_string()),
        ("INSTAGRAM_APP_SECRET", instagram_sandbox::APP_SECRET.to_string()),
        ("INSTAGRAM_REDIRECT_URI", instagram_sandbox::REDIRECT_URI.to_string()),
        ("INSTAGRAM_AUTHORIZE_URL", format!("{sandbox}/instagram/oauth/authorize")),
        ("INSTAGRAM_TOKEN_URL", format!("{sandbox}/instagram/oauth/access_token")),
        ("INSTAGRAM_GRAPH_URL", format!("{sandbox}/instagram/graph")),
        // Shorter than the sandbox's slow answer, so that a `TIMEOUT` payment times out.
        ("TOSS_TIMEOUT_MS", "1500".to_string()),
    ]
}

/// The environment every function of the stack reads, as the template gives it in AWS: the
/// stand-ins' endpoints, the local credentials, the secrets kept in the data folder, each
/// queue's URL, the declared lists, the sandboxes' settings, then `extra` over all of them.
fn function_env(
    at: &Endpoints,
    data_dir: &Path,
    queues: &sqs::Queues,
    extra: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, BoxError> {
    let (cursor_secret, jwt_secret) = local_secrets(data_dir)?;
    let mut env: BTreeMap<String, String> = [
        ("STAGE", "local".to_string()),
        ("AWS_REGION", REGION.into()),
        ("TABLE_NAME", TABLE_NAME.into()),
        ("MEDIA_BUCKET", MEDIA_BUCKET.into()),
        ("MEDIA_BASE_URL", at.media.clone()),
        ("WEBSOCKET_ENDPOINT", at.websocket.clone()),
        ("MAIL_FROM", MAIL_FROM.into()),
        ("OPS_EMAIL", OPS_EMAIL.into()),
        ("CURSOR_SECRET", cursor_secret),
        ("JWT_SECRET", jwt_secret),
        ("S3_FORCE_PATH_STYLE", "true".into()),
        ("AWS_ENDPOINT_URL_DYNAMODB", at.dynamodb.clone()),
        ("AWS_ENDPOINT_URL_S3", at.s3.clone()),
        ("AWS_ENDPOINT_URL_SQS", at.sqs.clone()),
        ("AWS_ENDPOINT_URL_SES", at.ses.clone()),
        ("AWS_ENDPOINT_URL_COMPREHEND", at.comprehend.clone()),
        ("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", at.bedrock.clone()),
        ("INSTAGRAM_TOKEN_KEY", local_token_key(data_dir)?),
        ("WEBPUSH_VAPID_KEY", local_key(data_dir, VAPID_KEY_FILE)?),
        ("PAYOUT_ACCOUNT_KEY", local_key(data_dir, "payout-account.key")?),
        // The local push service is the one loopback origin pushes may go to (stage `local` only).
        (notifications::webpush::LOCAL_ORIGIN_VAR, at.sandbox.clone()),
        ("LOCAL_ACCESS_KEY_ID", ACCESS_KEY_ID.into()),
        ("LOCAL_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY.into()),
        ("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID.into()),
        ("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY.into()),
    ]
    .into_iter()
    .chain(sandbox_settings(&at.sandbox))
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let all_queues = catalog::queues();
    for q in &all_queues {
        env.insert(q.url_var(), queues.url_of(q.name));
        env.insert(q.dlq_url_var(), queues.url_of(&q.dlq_name()));
    }
    env.insert(shared::queues::QUEUES_ENV.into(), shared::routes::encode_queue_names(&all_queues));
    env.insert(shared::media::PURPOSES_ENV.into(), shared::media::encode_purposes(&catalog::upload_purposes()));
    env.insert(
        shared::events::SUBSCRIBERS_ENV.into(),
        shared::events::encode_subscriptions(&shared::routes::subscriptions(catalog::functions())),
    );
    env.extend(extra.clone());
    Ok(env)
}

impl LocalStack {
    /// Starts the stand-ins, then (with `run_functions`) the functions' triggers and the APIs.
    pub async fn start(opts: StackOptions) -> Result<Self, BoxError> {
        let (temp, data_dir) = match &opts.data_dir {
            Some(d) => (None, d.clone()),
            // An ephemeral stack lives in memory-backed storage where there is some (tmpfs).
            None => {
                let shm = Path::new("/dev/shm");
                let t = if shm.is_dir() { tempfile::tempdir_in(shm)? } else { tempfile::tempdir()? };
                let p = t.path().to_path_buf();
                (Some(t), p)
            }
        };
        std::fs::create_dir_all(&data_dir)?;
        let (stop, stop_rx) = watch::channel(false);
        let mut tasks = Tasks { list: Vec::new(), stop: stop_rx };

        let dynamodb_direct_url = start_dynamodb(&opts, &data_dir, &mut tasks).await?;
        // Each function's policy, as the template gives it, checked by every stand-in.
        let iam = iam::Iam::new(
            opts.iam,
            ACCESS_KEY_ID,
            SECRET_ACCESS_KEY,
            REGION,
            &catalog::functions(),
            &infra_gen::local_parameters(REGION, iam::ACCOUNT_ID, TABLE_NAME, MEDIA_BUCKET, MAIL_FROM),
        )?;
        // The endpoint the functions call: the fault switch's proxy in front of the stand-in.
        let faults = Arc::new(faults::Faults::new(TABLE_NAME, dynamodb_direct_url.clone()));
        let (view, rx) = (faults.index_view.clone(), tasks.stop.clone());
        tasks.spawn(async move { view.run(rx).await });
        let (listener, dynamodb_url) = bind(&opts.host, opts.dynamodb_port).await?;
        tasks.serve(listener, faults::dynamodb_proxy(faults.clone(), iam.clone(), dynamodb_direct_url.clone()));

        // S3, and the media CDN in front of the bucket.
        let media_root = data_dir.join("s3");
        std::fs::create_dir_all(media_root.join(MEDIA_BUCKET))?;
        let (listener, s3_url) = bind(&opts.host, opts.s3_port).await?;
        tasks.spawn(serve_s3(listener, media_root, cors::Cors::from_config_and_env(), iam.clone(), tasks.stop.clone()));
        let (listener, media_url) = bind(&opts.host, opts.media_port).await?;
        tasks.serve(listener, media_cdn::router(s3_url.clone()));

        let queues = sqs::Queues::new(REGION);
        let (listener, sqs_url) = bind(&opts.host, opts.sqs_port).await?;
        queues.set_base_url(&sqs_url);
        create_queues(&queues, opts.visibility_timeout);
        let sqs = axum::Router::new().fallback(axum::routing::post(sqs::endpoint)).with_state(queues.clone());
        tasks.serve(listener, guarded(sqs, &faults, &iam, iam::Service::Sqs));

        let mailbox = ses::Mailbox::open(Some(data_dir.join("mail")), vec![MAIL_FROM.to_string()])?;
        let (listener, ses_url) = bind(&opts.host, opts.ses_port).await?;
        let ses = axum::Router::new().fallback(axum::routing::post(ses::endpoint)).with_state(mailbox.clone());
        tasks.serve(listener, guarded(ses, &faults, &iam, iam::Service::Ses));

        let comprehend = Arc::new(comprehend::Comprehend::default());
        let (listener, comprehend_url) = bind(&opts.host, opts.comprehend_port).await?;
        let api =
            axum::Router::new().fallback(axum::routing::post(comprehend::endpoint)).with_state(comprehend.clone());
        tasks.serve(listener, guarded(api, &faults, &iam, iam::Service::Comprehend));

        // Bedrock consults the fault switch itself, in its own error shape.
        let bedrock = bedrock::Bedrock::new(faults.clone());
        let (listener, bedrock_url) = bind(&opts.host, opts.bedrock_port).await?;
        let api = bedrock::router(bedrock.clone())
            .layer(axum::middleware::from_fn_with_state((iam.clone(), iam::Service::Bedrock), iam::guard));
        tasks.serve(listener, api);

        // The providers' sandboxes (OAuth, payments, OCR, Instagram).
        let toss = Arc::new(toss_sandbox::Toss::default());
        let instagram = instagram_sandbox::Instagram::new(opts.clock.clone());
        let (listener, sandbox_url) = bind(&opts.host, opts.sandbox_port).await?;
        let push = push_service::PushService::new(
            opts.clock.clone(),
            &sandbox_url,
            Some(&local_key(&data_dir, VAPID_KEY_FILE)?),
        );
        let sandboxes = oauth_sandbox::router()
            .merge(toss_sandbox::router(toss.clone()))
            .merge(push_service::router(push.clone()))
            .merge(clova_sandbox::router())
            .merge(instagram_sandbox::router(instagram.clone()))
            .layer(axum::extract::DefaultBodyLimit::max(32 * 1024 * 1024))
            .layer(axum::middleware::from_fn_with_state(faults.clone(), faults::guard));
        tasks.serve(listener, sandboxes);

        // The WebSocket API's port is known before the functions' environment, which names it.
        let (websocket_listener, websocket_http) = bind(&opts.host, opts.websocket_port).await?;

        // The functions' environment, and their context built from it exactly as in Lambda.
        let endpoints = Endpoints {
            dynamodb: dynamodb_url.clone(),
            s3: s3_url.clone(),
            media: media_url.clone(),
            sqs: sqs_url.clone(),
            ses: ses_url.clone(),
            comprehend: comprehend_url.clone(),
            bedrock: bedrock_url.clone(),
            sandbox: sandbox_url.clone(),
            websocket: websocket_http.clone(),
        };
        let env = function_env(&endpoints, &data_dir, &queues, &opts.env)?;
        let config = {
            let env = env.clone();
            Config::from_lookup(move |k| env.get(k).cloned())?
        };
        let mut ctx = AppContext::build(config, opts.clock.clone()).await;
        // Calls per route and worker, for the README's table (`calls-table`).
        ctx.call_ledger = Some(Arc::default());
        // The functions' EMF lines, as CloudWatch would chart them (`/_local/metrics`).
        let collector = Arc::new(metrics::Collector::default());
        ctx.metrics_sink = Some(metrics::sink(collector.clone()));
        let ctx = Arc::new(ctx);
        ensure_table(&ctx).await?;
        if let Some(lag) = opts.index_lag {
            faults.add_in_force(faults::Rule::index_lag(lag)).await?;
        }
        let contexts = contexts::Contexts::new(ctx.clone(), env.clone(), &catalog::functions());

        let mut stack = Self {
            http_url: String::new(),
            dynamodb_url,
            dynamodb_direct_url,
            s3_url,
            media_url,
            sqs_url,
            ses_url,
            comprehend_url,
            comprehend,
            bedrock_url,
            bedrock,
            metrics: collector,
            instagram,
            sandbox_url,
            faults,
            iam,
            contexts,
            toss,
            push,
            websocket_url: websocket_http.replacen("http://", "ws://", 1),
            websocket: None,
            data_dir,
            env,
            ctx,
            queues,
            mailbox,
            streams: Arc::new(streams::StreamMapping::default()),
            stop,
            tasks: Vec::new(),
            _temp: temp,
        };
        stack.start_websocket_api(&opts, websocket_listener, &websocket_http, &mut tasks);
        if opts.run_functions {
            stack.start_triggers(&opts, &mut tasks)?;
            stack.start_http_api(&opts, &mut tasks).await?;
        }
        stack.tasks = tasks.list;
        Ok(stack)
    }

    /// The WebSocket API (with no routes in services-only mode: the functions run elsewhere,
    /// `@connections` still answers).
    fn start_websocket_api(&mut self, opts: &StackOptions, listener: TcpListener, http: &str, tasks: &mut Tasks) {
        let ws = websocket::WebSocketApi::new(
            if opts.run_functions { catalog::websocket_routes() } else { Vec::new() },
            self.contexts.clone(),
            opts.websocket_limits,
        );
        ws.set_domain(http.trim_start_matches("http://"));
        self.websocket = Some(ws.clone());
        let app = websocket::router(ws)
            .layer(axum::middleware::from_fn_with_state((self.iam.clone(), iam::Service::Connections), iam::guard))
            .into_make_service_with_connect_info::<SocketAddr>();
        let rx = tasks.stop.clone();
        tasks.spawn(async move {
            if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(stopped(rx)).await {
                tracing::error!(error = %e, "websocket api stopped");
            }
        });
    }

    /// What starts the functions besides requests: the queues' and the table stream's event
    /// source mappings, and (with `run_schedules`) each job at the times its schedule expression
    /// gives EventBridge ([`schedule`]).
    fn start_triggers(&self, opts: &StackOptions, tasks: &mut Tasks) -> Result<(), BoxError> {
        for w in catalog::workers() {
            tasks.spawn(sqs::run_event_source(self.queues.clone(), w, self.contexts.of_trigger(w), tasks.stop.clone()));
        }
        for consumer in catalog::streams() {
            tasks.spawn(streams::run(
                self.streams.clone(),
                self.dynamodb_direct_url.clone(),
                TABLE_NAME,
                consumer,
                self.contexts.of_trigger(consumer),
                self.queues.clone(),
                self.data_dir.join(format!("stream-{}.checkpoint", consumer.name)),
                tasks.stop.clone(),
            ));
        }
        if !opts.run_schedules {
            return Ok(());
        }
        for job in catalog::jobs() {
            let schedule: schedule::Schedule = job.schedule.parse().map_err(|e| format!("{}: {e}", job.name))?;
            let (ctx, mut rx) = (self.contexts.of_trigger(job), tasks.stop.clone());
            tasks.spawn(async move {
                let mut next = schedule.next_after(ctx.now());
                while let Some(at) = next {
                    // Wake when it is due, or within a minute to notice a clock moved on.
                    let wait = (at - ctx.now()).to_std().unwrap_or_default().min(Duration::from_secs(60));
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        _ = rx.changed() => return,
                    }
                    if ctx.now() >= at {
                        let _ = shared::runtime::run_job_once(job, ctx.clone()).await;
                        next = schedule.next_after(ctx.now());
                    }
                }
            });
        }
        Ok(())
    }

    /// The HTTP API: API Gateway's routes to each function, and the `/_local` pages.
    async fn start_http_api(&mut self, opts: &StackOptions, tasks: &mut Tasks) -> Result<(), BoxError> {
        let routes = gateway::route_table(&catalog::routes()).map_err(|e| format!("the route table: {e}"))?;
        let gw = Arc::new(gateway::Gateway {
            routes,
            jobs: catalog::jobs(),
            contexts: self.contexts.clone(),
            mailbox: self.mailbox.clone(),
            queues: self.queues.clone(),
            cors: cors::Cors::from_config_and_env(),
            faults: self.faults.clone(),
            iam: self.iam.clone(),
            toss: self.toss.clone(),
            push: self.push.clone(),
            bedrock: self.bedrock.clone(),
            metrics: self.metrics.clone(),
            websocket_url: self.websocket_url.clone(),
            openapi: catalog::openapi_json(),
            mailbox_open: opts
                .host
                .parse::<std::net::IpAddr>()
                .map(|ip| ip.is_loopback())
                .unwrap_or(opts.host == "localhost"),
        });
        let (listener, http_url) = bind(&opts.host, opts.http_port).await?;
        // Toss's webhooks go to the stack's own endpoint, as registered in Toss's console.
        self.toss.deliver_webhooks_to(format!("{http_url}/payments/webhooks/toss"));
        self.http_url = http_url;
        let app = gateway::router(gw).into_make_service_with_connect_info::<SocketAddr>();
        let rx = tasks.stop.clone();
        tasks.spawn(async move {
            if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(stopped(rx)).await {
                tracing::error!(error = %e, "gateway stopped");
            }
        });
        Ok(())
    }

    /// The environment file for `cargo lambda watch --env-file`.
    pub fn env_file(&self) -> String {
        self.env.iter().map(|(k, v)| format!("{k}={v}\n")).collect()
    }

    /// Whether the background work of earlier requests is done: the outbox relayed and every
    /// queue not held drained.
    pub fn is_idle(&self) -> bool {
        self.streams.caught_up()
            && catalog::queues()
                .into_iter()
                .filter(|q| !self.queues.is_held(q.name))
                .all(|q| self.queues.depth(q.name) == Some((0, 0)))
    }

    /// Waits (at most `limit`) until [`LocalStack::is_idle`] holds twice, a few stream polls
    /// apart (a commit made just before is relayed in between); whether it did.
    pub async fn settle(&self, limit: std::time::Duration) -> bool {
        let until = std::time::Instant::now() + limit;
        while std::time::Instant::now() < until {
            if self.is_idle() {
                tokio::time::sleep(std::time::Duration::from_millis(150)).await;
                if self.is_idle() {
                    // And the indexes show it all, when they lag.
                    self.faults.index_view.caught_up().await;
                    return true;
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        false
    }

    /// Stops every server and waits for them (the data folder is closed when this returns).
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
        }
    }
}

/// Creates the table from its one definition, unless it is there already.
async fn ensure_table(ctx: &AppContext) -> Result<(), BoxError> {
    let client = ctx.table.client();
    let exists = client.describe_table().table_name(TABLE_NAME).send().await.is_ok();
    if !exists {
        shared::table::definition::create_table(client, TABLE_NAME)
            .send()
            .await
            .map_err(|e| format!("CreateTable: {}", aws_sdk_dynamodb::error::DisplayErrorContext(e)))?;
        client
            .update_time_to_live()
            .table_name(TABLE_NAME)
            .time_to_live_specification(
                aws_sdk_dynamodb::types::TimeToLiveSpecification::builder()
                    .attribute_name(shared::table::TTL_ATTRIBUTE)
                    .enabled(true)
                    .build()?,
            )
            .send()
            .await
            .map_err(|e| format!("UpdateTimeToLive: {}", aws_sdk_dynamodb::error::DisplayErrorContext(e)))?;
    }
    Ok(())
}

fn serve_axum(listener: TcpListener, app: axum::Router, stop: watch::Receiver<bool>) -> JoinHandle<()> {
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(stopped(stop)).await {
            tracing::error!(error = %e, "stand-in stopped");
        }
    })
}

/// The first `x-amz-*` header of a presigned request that its signature does not cover.
fn unsigned_amz_header<B>(req: &http::Request<B>) -> Option<String> {
    let query = req.uri().query()?;
    let signed =
        form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "X-Amz-SignedHeaders")?.1.to_ascii_lowercase();
    let signed: Vec<&str> = signed.split(';').collect();
    req.headers()
        .keys()
        .map(|k| k.as_str())
        .find(|k| k.starts_with("x-amz-") && !signed.contains(k))
        .map(str::to_string)
}

/// S3 on the file system, checking SigV4 signatures (presigned URLs included), with the bucket
/// CORS rule the template gives the real bucket, so a browser can upload to presigned URLs.
async fn serve_s3(
    listener: TcpListener,
    root: PathBuf,
    cors: cors::Cors,
    iam: Arc<iam::Iam>,
    mut stop: watch::Receiver<bool>,
) {
    use hyper_util::rt::{TokioExecutor, TokioIo};
    let fs = match s3s_fs::FileSystem::new(&root) {
        Ok(fs) => fs,
        Err(e) => {
            tracing::error!(error = ?e, "s3 stand-in cannot open its folder");
            return;
        }
    };
    let mut builder = s3s::service::S3ServiceBuilder::new(fs);
    // The stack's keys, and each operation held to its signer's policy.
    builder.set_auth(iam::S3Iam(iam.clone()));
    builder.set_access(iam::S3Iam(iam));
    let service = builder.build();
    let bucket = tower::service_fn(move |req: http::Request<hyper::body::Incoming>| {
        let service = service.clone();
        async move {
            if let Some(header) = unsigned_amz_header(&req) {
                // As S3 does: a presigned request may not carry x-amz-* headers its signature
                // does not cover (an ACL or metadata the signer never allowed).
                let body = format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>AccessDenied</Code><Message>There were headers present in the request which were not signed</Message><HeadersNotSigned>{header}</HeadersNotSigned></Error>"
                );
                let mut r = http::Response::new(s3s::Body::from(body));
                *r.status_mut() = http::StatusCode::FORBIDDEN;
                r.headers_mut().insert("content-type", http::HeaderValue::from_static("application/xml"));
                return Ok(r);
            }
            hyper::service::Service::call(&service, req).await
        }
    });
    let with_cors = tower::Layer::layer(&cors.bucket_layer(), bucket);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let with_cors = hyper_util::service::TowerToHyperService::new(with_cors.clone());
                tokio::spawn(async move {
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), with_cors)
                        .await;
                });
            }
            _ = stop.changed() => return,
        }
    }
}

#[cfg(test)]
mod stream_index_tests {
    /// The plans of the stand-in's own stream queries (copied from dynoxide's storage) seek
    /// through the indexes rather than reading the stream.
    #[test]
    fn the_stand_ins_stream_queries_seek_through_the_indexes() {
        let path = format!("file:plans-{}?mode=memory&cache=shared", ulid::Ulid::new());
        let _db = dynoxide::Database::new(&path).unwrap();
        super::index_the_stream(&path).unwrap();
        let c = rusqlite::Connection::open(&path).unwrap();
        let plan = |sql: &str| -> String {
            let mut stmt = c.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
            let rows = stmt.query_map([], |r| r.get::<_, String>(3)).unwrap();
            rows.map(Result::unwrap).collect::<Vec<_>>().join(" | ")
        };
        let next = plan(
            "SELECT COALESCE(MAX(CAST(sequence_number AS INTEGER)), 0) + 1 FROM _stream_records WHERE table_name = 'T'",
        );
        assert!(next.contains("stream_by_table") || next.contains("stream_by_shard"), "{next}");
        assert!(!next.starts_with("SCAN"), "{next}");
        let read = plan(
            "SELECT event_name FROM _stream_records WHERE table_name = 'T' AND shard_id = 's' \
             AND CAST(sequence_number AS INTEGER) > 5 ORDER BY CAST(sequence_number AS INTEGER) ASC LIMIT 100",
        );
        assert!(read.contains("USING INDEX stream_by_shard"), "{read}");
        assert!(!read.contains("TEMP B-TREE"), "sorted by the index: {read}");
    }
}
