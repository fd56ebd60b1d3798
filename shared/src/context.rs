//! Everything a handler needs, built once per cold start (or once per local stack) and shared.

use std::sync::Arc;

use aws_config::{BehaviorVersion, Region, SdkConfig};

use crate::auth::TokenKeys;
use crate::clock::{SharedClock, SystemClock};
use crate::config::Config;
use crate::table::Table;

/// Counts the DynamoDB calls this context makes (logged per request; benchmarks and tests read it).
#[derive(Debug, Default)]
pub struct CallCounter(std::sync::atomic::AtomicU64);

impl CallCounter {
    pub fn get(&self) -> u64 {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
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

/// Clients only a few functions use (Comprehend for the Instagram worker), built once per
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

#[derive(Debug, Clone)]
pub struct AppContext {
    pub config: Arc<Config>,
    pub table: Table,
    pub s3: aws_sdk_s3::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub ses: aws_sdk_ses::Client,
    /// The WebSocket API's `@connections` client, when the function may push.
    pub connections: Option<aws_sdk_apigatewaymanagement::Client>,
    pub tokens: TokenKeys,
    pub clock: SharedClock,
    /// For external providers' HTTP APIs (OAuth, payments, OCR, Instagram).
    pub http: reqwest::Client,
    pub dynamodb_calls: Arc<CallCounter>,
    /// The resolved SDK configuration (region, credentials), for the few functions that build
    /// a client of their own once (Comprehend for the Instagram worker), so that the others do
    /// not link it.
    pub sdk: SdkConfig,
    pub lazy: Arc<LazyClients>,
}

impl AppContext {
    /// Builds the SDK clients from the configuration: the real AWS endpoints with the function's
    /// role, or the local stack's endpoints with its static credentials.
    pub async fn build(config: Config, clock: SharedClock) -> Self {
        let sdk = sdk_config(&config).await;
        let e = &config.endpoints;

        let dynamodb_calls = Arc::new(CallCounter::default());
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
            aws_sdk_apigatewaymanagement::Client::from_conf(
                aws_sdk_apigatewaymanagement::config::Builder::from(&sdk).endpoint_url(url).build(),
            )
        });
        let table =
            Table::new(aws_sdk_dynamodb::Client::from_conf(ddb.build()), &config.table_name, &config.cursor_secret);
        let tokens = TokenKeys::new(&config.jwt_secret, &config.jwt_issuer, config.access_token_ttl_secs);
        Self {
            table,
            s3: aws_sdk_s3::Client::from_conf(s3.build()),
            sqs: aws_sdk_sqs::Client::from_conf(sqs.build()),
            ses: aws_sdk_ses::Client::from_conf(ses.build()),
            connections,
            tokens,
            clock,
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(10))
                .build()
                .expect("an HTTP client with a timeout builds"),
            config: Arc::new(config),
            dynamodb_calls,
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

    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }
}

async fn sdk_config(config: &Config) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).region(Region::new(config.region.clone()));
    if let Some((key, secret)) = &config.static_credentials {
        loader = loader.credentials_provider(aws_credential_types::Credentials::from_keys(key, secret, None));
    }
    loader.load().await
}
