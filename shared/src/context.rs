//! Everything a handler needs, built once per cold start (or once per local stack) and shared.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};

use crate::auth::TokenKeys;
use crate::clock::{SharedClock, SystemClock};
use crate::config::Config;
use crate::table::Table;

/// Counts the DynamoDB calls this context makes (benchmarks and tests read it).
#[derive(Debug, Default)]
pub struct CallCounter(std::sync::atomic::AtomicU64);

impl CallCounter {
    pub fn get(&self) -> u64 {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
}

pub use crate::table::tally::CallTally;

/// One unit of work's own view of the context (a request, a message): a table handle whose
/// calls are tallied for this unit alone (an SDK interceptor holding the unit's tally rides on
/// each operation, so concurrent units do not blur each other's figures) and which carries the
/// unit's pending charge.
pub struct Unit {
    pub ctx: Arc<AppContext>,
    tally: crate::table::tally::Tally,
    charge: crate::table::charge::Slot,
    started: Instant,
}

impl Unit {
    /// The calls made so far through this unit's context, and the time since it began.
    pub fn tally(&self) -> CallTally {
        let mut tally = self.tally.snapshot();
        tally.elapsed = self.started.elapsed();
        tally
    }

    /// The write the unit owes as a whole, which its first transaction carries.
    pub fn charge(&self) -> &crate::table::charge::Slot {
        &self.charge
    }
}

#[derive(Debug, Clone)]
struct CountCalls(Arc<CallCounter>);

impl aws_sdk_dynamodb::config::Intercept for CountCalls {
    fn name(&self) -> &'static str {
        "CountCalls"
    }
    fn read_before_execution(
        &self,
        _: &aws_sdk_dynamodb::config::interceptors::BeforeSerializationInterceptorContextRef<'_>,
        _: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        self.0.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }
}

/// What each route and worker cost in DynamoDB calls, kept by the local stack (never in
/// Lambda, where the per-request log line carries the same figure): the source of the README's
/// calls-per-endpoint table.
#[derive(Debug, Default)]
pub struct CallLedger(std::sync::Mutex<std::collections::BTreeMap<String, LedgerEntry>>);

/// One route's or worker's figures: successes (2xx, or a message handled) and the rest apart.
#[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LedgerEntry {
    pub successes: u64,
    pub min: u64,
    pub max: u64,
    /// Successes by how many calls each made.
    #[serde(default)]
    pub by_calls: std::collections::BTreeMap<u64, u64>,
    /// The operations of the costliest success.
    pub costliest: CallTally,
    pub failures: u64,
    pub failure_max: u64,
    /// Where the time of every unit of work went, summed (successes and failures alike).
    #[serde(skip)]
    pub time: TimeSpent,
}

/// Sums of [`CallTally`]'s durations over the units of work a ledger entry saw.
#[derive(Debug, Default, Clone, Copy)]
pub struct TimeSpent {
    pub units: u64,
    /// DynamoDB calls, summed.
    pub calls: u64,
    pub elapsed: Duration,
    pub in_sdk: Duration,
    pub on_the_wire: Duration,
}

impl TimeSpent {
    pub fn add(&mut self, other: &TimeSpent) {
        self.units += other.units;
        self.calls += other.calls;
        self.elapsed += other.elapsed;
        self.in_sdk += other.in_sdk;
        self.on_the_wire += other.on_the_wire;
    }

    /// What was spent since `before` (an earlier reading of the same sums).
    pub fn since(&self, before: &TimeSpent) -> TimeSpent {
        TimeSpent {
            units: self.units.saturating_sub(before.units),
            calls: self.calls.saturating_sub(before.calls),
            elapsed: self.elapsed.saturating_sub(before.elapsed),
            in_sdk: self.in_sdk.saturating_sub(before.in_sdk),
            on_the_wire: self.on_the_wire.saturating_sub(before.on_the_wire),
        }
    }
}

impl LedgerEntry {
    /// The calls of the median success: the usual request, without the retries of the few that
    /// met a conflict or an injected fault.
    pub fn usual(&self) -> u64 {
        let mut left = self.successes / 2;
        for (calls, n) in &self.by_calls {
            if left < *n {
                return *calls;
            }
            left -= n;
        }
        self.max
    }

    pub fn merge(&mut self, other: &LedgerEntry) {
        if other.successes > 0 {
            self.min = if self.successes == 0 { other.min } else { self.min.min(other.min) };
            if other.max > self.max || self.successes == 0 {
                self.max = other.max;
                self.costliest = other.costliest.clone();
            }
            self.successes += other.successes;
            for (calls, n) in &other.by_calls {
                *self.by_calls.entry(*calls).or_default() += n;
            }
        }
        self.failures += other.failures;
        self.failure_max = self.failure_max.max(other.failure_max);
        self.time.add(&other.time);
    }
}

impl CallLedger {
    pub fn record(&self, key: String, success: bool, tally: &CallTally) {
        let mut all = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let e = all.entry(key).or_default();
        e.time.add(&TimeSpent {
            units: 1,
            calls: tally.total,
            elapsed: tally.elapsed,
            in_sdk: tally.in_sdk,
            on_the_wire: tally.on_the_wire,
        });
        if success {
            e.merge(&LedgerEntry {
                successes: 1,
                min: tally.total,
                max: tally.total,
                by_calls: [(tally.total, 1)].into(),
                costliest: tally.clone(),
                ..LedgerEntry::default()
            });
        } else {
            e.failures += 1;
            e.failure_max = e.failure_max.max(tally.total);
        }
    }

    pub fn snapshot(&self) -> std::collections::BTreeMap<String, LedgerEntry> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// Clients only a few functions use (such as Comprehend), built once per
/// context on first use: the functions that never ask for one do not link its SDK, and each
/// local stack in a test process keeps its own.
#[derive(Default)]
pub struct LazyClients(
    std::sync::Mutex<std::collections::HashMap<std::any::TypeId, Arc<dyn std::any::Any + Send + Sync>>>,
);

impl std::fmt::Debug for LazyClients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LazyClients(..)")
    }
}

/// A client built on first use and kept: most functions never touch S3, SQS or SES, and each
/// client built at cold start costs about a millisecond of init (measured: `infra/coldstart.sh`).
/// It dereferences to the client, so `ctx.s3.put_object()` reads as before.
#[derive(Clone)]
pub struct LazyClient<T> {
    cell: Arc<std::sync::OnceLock<T>>,
    make: Arc<dyn Fn() -> T + Send + Sync>,
}

impl<T> LazyClient<T> {
    pub fn new(make: impl Fn() -> T + Send + Sync + 'static) -> Self {
        Self { cell: Arc::default(), make: Arc::new(make) }
    }
}

impl<T> std::ops::Deref for LazyClient<T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.cell.get_or_init(|| (self.make)())
    }
}

impl<T> std::fmt::Debug for LazyClient<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.cell.get().is_some() { "LazyClient(built)" } else { "LazyClient(not yet)" })
    }
}

#[derive(Debug, Clone)]
pub struct AppContext {
    pub config: Arc<Config>,
    pub table: Table,
    pub s3: LazyClient<aws_sdk_s3::Client>,
    pub sqs: LazyClient<aws_sdk_sqs::Client>,
    pub ses: LazyClient<aws_sdk_ses::Client>,
    /// The WebSocket API's `@connections` client, when the function may push (built on first
    /// push: a worker that pushes only now and then does not pay for it at init).
    pub connections: Option<LazyClient<aws_sdk_apigatewaymanagement::Client>>,
    pub tokens: TokenKeys,
    pub clock: SharedClock,
    /// For external providers' HTTP APIs (sign-in, payments, OCR, social media), built on first
    /// use: most functions call none.
    pub http: LazyClient<reqwest::Client>,
    pub dynamodb_calls: Arc<CallCounter>,
    /// Calls per route and worker, when something (the local stack) wants them kept.
    pub call_ledger: Option<Arc<CallLedger>>,
    /// The figures of this unit of work (a request's, a message's), written as one EMF line
    /// when it ends ([`crate::metrics`]).
    pub metrics: crate::metrics::Metrics,
    /// Where those lines go: `None`, standard output (the function's log); the local stack's
    /// collector locally.
    pub metrics_sink: Option<crate::metrics::Sink>,
    /// The resolved SDK configuration (region, credentials), for the few functions that build
    /// a client of their own once (Comprehend), so that the others do
    /// not link it.
    pub sdk: SdkConfig,
    pub lazy: Arc<LazyClients>,
}

impl AppContext {
    /// Builds the SDK clients from the configuration: the real AWS endpoints with the function's
    /// role, or the local stack's endpoints with its static credentials.
    pub async fn build(config: Config, clock: SharedClock) -> Self {
        let started = std::time::Instant::now();
        let sdk = sdk_config(&config).await;
        let sdk_ms = started.elapsed().as_secs_f64() * 1000.0;
        Self::assemble(config, clock, sdk, Arc::default(), started, sdk_ms)
    }

    /// This context as another function sees it: `config` (with that function's credentials)
    /// on the same resolved SDK configuration, so the local stack's functions share one
    /// connection pool, one clock and one call counter while each signs as itself.
    pub fn for_function(&self, config: Config) -> Self {
        let mut sdk = self.sdk.to_builder();
        if let Some((key, secret)) = &config.static_credentials {
            sdk.set_credentials_provider(Some(aws_credential_types::provider::SharedCredentialsProvider::new(
                aws_credential_types::Credentials::from_keys(key, secret, None),
            )));
        }
        let mut ctx = Self::assemble(
            config,
            self.clock.clone(),
            sdk.build(),
            self.dynamodb_calls.clone(),
            std::time::Instant::now(),
            0.0,
        );
        ctx.call_ledger = self.call_ledger.clone();
        ctx.metrics_sink = self.metrics_sink.clone();
        ctx
    }

    fn assemble(
        config: Config,
        clock: SharedClock,
        sdk: SdkConfig,
        dynamodb_calls: Arc<CallCounter>,
        started: std::time::Instant,
        sdk_ms: f64,
    ) -> Self {
        let e = &config.endpoints;
        let mut ddb = aws_sdk_dynamodb::config::Builder::from(&sdk).interceptor(CountCalls(dynamodb_calls.clone()));
        if let Some(url) = &e.dynamodb {
            ddb = ddb.endpoint_url(url);
        }
        let mut s3 = aws_sdk_s3::config::Builder::from(&sdk).force_path_style(config.s3_force_path_style);
        if let Some(url) = &e.s3 {
            s3 = s3.endpoint_url(url);
        }
        let mut sqs = aws_sdk_sqs::config::Builder::from(&sdk);
        if let Some(url) = &e.sqs {
            sqs = sqs.endpoint_url(url);
        }
        let mut ses = aws_sdk_ses::config::Builder::from(&sdk);
        if let Some(url) = &e.ses {
            ses = ses.endpoint_url(url);
        }

        let connections = config.websocket_endpoint.as_ref().map(|url| {
            let conf = aws_sdk_apigatewaymanagement::config::Builder::from(&sdk).endpoint_url(url).build();
            LazyClient::new(move || aws_sdk_apigatewaymanagement::Client::from_conf(conf.clone()))
        });
        let table =
            Table::new(aws_sdk_dynamodb::Client::from_conf(ddb.build()), &config.table_name, &config.cursor_secret);
        let tokens = TokenKeys::new(&config.jwt_secret, &config.jwt_issuer, config.access_token_ttl_secs);
        let clients_ms = started.elapsed().as_secs_f64() * 1000.0 - sdk_ms;
        let http = LazyClient::new(|| {
            reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(10))
                .build()
                .expect("an HTTP client with a timeout builds")
        });
        // What a cold start spends building the context (`RUST_LOG=debug`).
        tracing::debug!(sdk_ms, clients_ms, "context built");
        Self {
            table,
            s3: LazyClient::new(move || aws_sdk_s3::Client::from_conf(s3.clone().build())),
            sqs: LazyClient::new(move || aws_sdk_sqs::Client::from_conf(sqs.clone().build())),
            ses: LazyClient::new(move || aws_sdk_ses::Client::from_conf(ses.clone().build())),
            connections,
            tokens,
            clock,
            http,
            config: Arc::new(config),
            dynamodb_calls,
            call_ledger: None,
            metrics: crate::metrics::Metrics::default(),
            metrics_sink: None,
            sdk,
            lazy: Arc::default(),
        }
    }

    /// For a Lambda cold start: configuration from the environment, the system clock.
    pub async fn from_env() -> Result<Arc<Self>, crate::config::ConfigError> {
        let config = Config::from_env()?;
        Ok(Arc::new(Self::build(config, Arc::new(SystemClock)).await))
    }

    /// The client of type `T` this context built, building it with `make` the first time.
    pub fn client<T: Clone + Send + Sync + 'static>(&self, make: impl FnOnce(&AppContext) -> T) -> T {
        let id = std::any::TypeId::of::<T>();
        let mut clients = self.lazy.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = clients.get(&id).and_then(|c| c.downcast_ref::<T>()) {
            return c.clone();
        }
        let client = make(self);
        clients.insert(id, Arc::new(client.clone()));
        client
    }

    /// A provider's settings ([`crate::config::ProviderSettings`]), read on first use and kept:
    /// `None` while the provider is not configured. A wrongly configured one is a 500 whose
    /// detail stays in the log.
    pub fn provider<P: crate::config::ProviderSettings>(&self) -> crate::error::ApiResult<Option<Arc<P>>> {
        struct Read<P>(Arc<Result<Option<Arc<P>>, String>>);
        impl<P> Clone for Read<P> {
            fn clone(&self) -> Self {
                Read(self.0.clone())
            }
        }
        let read = self.client(|ctx| {
            Read::<P>(Arc::new(P::read(&ctx.config.settings).map(|p| p.map(Arc::new)).map_err(|e| e.to_string())))
        });
        match &*read.0 {
            Ok(p) => Ok(p.clone()),
            Err(e) => Err(crate::ApiError::internal(e.clone())),
        }
    }

    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    /// This context for one unit of work (see [`Unit`]): the same clients, with a table handle
    /// whose calls count for this unit only (each operation it sends carries the unit's tally
    /// interceptor) and which carries the unit's charge.
    pub fn for_unit(&self) -> Unit {
        let tally = crate::table::tally::Tally::default();
        let (table, charge) = self.table.for_request(tally.clone(), None);
        let ctx = AppContext { table, metrics: crate::metrics::Metrics::default(), ..self.clone() };
        Unit { ctx: Arc::new(ctx), tally, charge, started: Instant::now() }
    }

    /// Writes this context's figures as one EMF line, as `function`'s, with `calls` when the
    /// unit counted its table calls.
    pub fn emit_metrics(&self, function: &str, calls: Option<&CallTally>) {
        crate::metrics::emit(self.metrics_sink.as_ref(), function, &self.metrics, calls, self.now().timestamp_millis());
    }
}

/// The roots AWS's endpoints chain to (Amazon Trust Services, with the Starfield root that
/// cross-signs them), compiled in: loading and parsing the system's whole store cost each client
/// a few milliseconds of init (measured: `infra/coldstart.sh`, `SDK_SETUP` rows).
const AWS_ROOTS: &[u8] = include_bytes!("../certs/amazon-trust-services.pem");

/// The one HTTPS client every AWS SDK client of a context shares (one connector, one pool),
/// trusting [`AWS_ROOTS`].
pub fn aws_https_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    use aws_smithy_http_client::tls::{self, TlsContext, TrustStore, rustls_provider::CryptoMode};
    let trust = TrustStore::empty().with_native_roots(false).with_pem_certificate(AWS_ROOTS);
    let context = TlsContext::builder().with_trust_store(trust).build().expect("the compiled-in roots are valid PEM");
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
        .tls_context(context)
        .build_https()
}

async fn sdk_config(config: &Config) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(config.region.clone()))
        .http_client(aws_https_client());
    if let Some((key, secret)) = &config.static_credentials {
        loader = loader.credentials_provider(aws_credential_types::Credentials::from_keys(key, secret, None));
    } else if std::env::var_os("AWS_ACCESS_KEY_ID").is_some() {
        // Lambda puts the role's credentials in the environment for the life of the execution
        // environment; the default chain would find them there first too, after building
        // providers (profile files, web identity, containers, IMDS) a function never uses.
        loader = loader.credentials_provider(aws_config::environment::EnvironmentVariableCredentialsProvider::new());
    }
    loader.load().await
}
