//! Typed configuration, read from environment variables and validated once at cold start.
//!
//! Every function gets the same variables (the template's `Globals`), so one struct serves all
//! and a missing or malformed value stops the cold start with a clear message instead of failing
//! a request later.

use std::collections::HashMap;
use std::sync::Arc;

/// The environment a function was given, kept for what reads its own settings when first needed
/// (a queue's URL, a provider's client). Values are never printed.
#[derive(Clone)]
pub struct Settings(Arc<Lookup>);

/// How a value is looked up by its variable's name.
type Lookup = dyn Fn(&str) -> Option<String> + Send + Sync;

impl Settings {
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Self {
        Settings(Arc::new(lookup))
    }
    /// The variable's value, if it is set and not blank.
    pub fn get(&self, name: &str) -> Option<String> {
        (self.0)(name).filter(|v| !v.trim().is_empty())
    }
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Settings(<environment>)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("missing environment variable {0}")]
    Missing(String),
    #[error("invalid environment variable {name}: {reason}")]
    Invalid { name: &'static str, reason: String },
}

/// Where the AWS SDK clients should be sent instead of the real AWS endpoints (the local stack).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndpointOverrides {
    pub dynamodb: Option<String>,
    pub s3: Option<String>,
    pub sqs: Option<String>,
    pub ses: Option<String>,
    pub comprehend: Option<String>,
    pub bedrock: Option<String>,
}

/// A value a part of the product is configured with, carried from the deployment's parameters
/// to the functions' environment. The part that reads it declares it (a provider's keys beside
/// its client) and the functions that need it list it (`Function::settings`); the template's
/// parameters and each function's environment are generated from those declarations.
#[derive(Debug, PartialEq, Eq)]
pub struct Setting {
    /// The environment variable carrying it.
    pub env_var: &'static str,
    /// The template parameter carrying it (root and nested stacks).
    pub parameter: &'static str,
    pub description: &'static str,
    pub source: SettingSource,
}

/// Where a deployed setting's value comes from.
#[derive(Debug, PartialEq, Eq)]
pub enum SettingSource {
    /// A root template parameter with this default (empty: the part is off until it is set);
    /// every function's environment.
    Public { default: &'static str },
    /// A secret root parameter (`NoEcho`, empty by default): only the functions that list it.
    SecretParameter,
    /// A secret in SSM Parameter Store at `/petplatform/<stage>/<name>`.
    Ssm { name: &'static str },
    /// A secret Secrets Manager generates once (`petplatform/<stage>/<name>`) and keeps.
    Generated { name: &'static str },
}

impl Setting {
    /// A root template parameter with `default`, in every function's environment.
    pub const fn public(
        env_var: &'static str,
        parameter: &'static str,
        description: &'static str,
        default: &'static str,
    ) -> Self {
        Setting { env_var, parameter, description, source: SettingSource::Public { default } }
    }
    /// A `NoEcho` parameter, only in the environment of the functions that list it.
    pub const fn secret(env_var: &'static str, parameter: &'static str, description: &'static str) -> Self {
        Setting { env_var, parameter, description, source: SettingSource::SecretParameter }
    }
    pub fn is_secret(&self) -> bool {
        !matches!(self.source, SettingSource::Public { .. })
    }
}

/// Signs and verifies access tokens, and keys one-time code digests.
pub const JWT_SECRET: Setting = Setting {
    env_var: "JWT_SECRET",
    parameter: "JwtSecret",
    description: "Signs access tokens (≥ 32 bytes)",
    source: SettingSource::Ssm { name: "jwt-secret" },
};

/// Signs list cursors.
pub const CURSOR_SECRET: Setting = Setting {
    env_var: "CURSOR_SECRET",
    parameter: "CursorSecret",
    description: "Signs list cursors (≥ 32 bytes)",
    source: SettingSource::Ssm { name: "cursor-secret" },
};

/// A provider's settings, read from the function's environment when first needed and kept for
/// the context ([`crate::AppContext::provider`]).
pub trait ProviderSettings: Sized + Send + Sync + 'static {
    /// `Ok(None)`: the provider is not configured (the feature is off).
    fn read(settings: &Settings) -> Result<Option<Self>, ConfigError>;
}

#[derive(Debug, Clone)]
pub struct Config {
    /// Deployment stage name (`local`, `dev`, `prod`, ...).
    pub stage: String,
    /// The build's version, reported by `/health`.
    pub version: String,
    pub region: String,
    /// The single DynamoDB table.
    pub table_name: String,
    /// The media bucket.
    pub media_bucket: String,
    /// Where clients read media: the CDN in front of the bucket (it adds the security headers S3
    /// cannot send). Unset: straight from the bucket.
    pub media_base_url: Option<String>,
    /// The WebSocket API's `@connections` endpoint (`https://<api>.execute-api.<region>.amazonaws.com/<stage>`),
    /// for functions that push to clients. Unset: nothing is pushed.
    pub websocket_endpoint: Option<String>,
    /// Every queue's name (see `crate::queues`); each one's URLs are checked at cold start.
    pub queue_names: Vec<String>,
    /// The environment, for what reads its own settings (see [`Settings`]).
    pub settings: Settings,
    /// The queues subscribed to each topic (see `crate::events`).
    pub topic_subscribers: HashMap<String, Vec<String>>,
    /// Sender address of every email.
    pub mail_from: String,
    /// Where operational alerts (dead letters) are emailed.
    pub ops_email: String,
    /// Key for cursor signatures (≥ 32 bytes).
    pub cursor_secret: Vec<u8>,
    /// Key for access-token signatures (≥ 32 bytes, HS256).
    pub jwt_secret: Vec<u8>,
    pub jwt_issuer: String,
    /// Lifetime of access tokens.
    pub access_token_ttl_secs: i64,
    /// Path-style S3 addressing (the local stack serves buckets by path).
    pub s3_force_path_style: bool,
    /// Requests per source address and sensitive action (sign-up, login, ...) per 10 minutes.
    pub ip_rate_limit: u32,
    /// Writes one user may send to one route per minute.
    pub write_rate_limit: u32,
    /// The first delay of a worker's backoff (doubling each try).
    pub retry_base_secs: u32,
    /// Explicit endpoints (local stack); in AWS this is empty.
    pub endpoints: EndpointOverrides,
    /// Static credentials for the local stack; in AWS the role's credentials are used.
    pub static_credentials: Option<(String, String)>,
}

/// The local stack's credentials for one function, derived from its operator key pair: the
/// access key names the function, the secret is keyed by the operator's secret, so the stack
/// knows who signed a call and can check the signature.
pub fn local_function_credentials(key: &str, secret: &str, function: &str) -> (String, String) {
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(function.as_bytes());
    (format!("{key}.{function}"), hex::encode(mac.finalize().into_bytes()))
}

/// A number setting: `default` when it is not set; otherwise it must read as a number of
/// `what` within `range`.
fn number<T>(
    settings: &Settings,
    name: &'static str,
    default: T,
    range: std::ops::RangeInclusive<T>,
    what: &str,
) -> Result<T, ConfigError>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display,
{
    let Some(v) = settings.get(name) else { return Ok(default) };
    v.trim().parse::<T>().ok().filter(|n| range.contains(n)).ok_or_else(|| ConfigError::Invalid {
        name,
        reason: format!("a number of {what} from {} to {}", range.start(), range.end()),
    })
}

/// A signing secret. A function is given only the secrets it declares; one that was not given
/// this one gets a random key of its own: it can neither forge nor accept what the real key
/// signs.
fn signing_secret(settings: &Settings, name: &'static str) -> Result<Vec<u8>, ConfigError> {
    let Some(v) = settings.get(name) else { return Ok(rand::random::<[u8; 32]>().to_vec()) };
    if v.len() < 32 {
        return Err(ConfigError::Invalid { name, reason: "must be at least 32 bytes".into() });
    }
    Ok(v.into_bytes())
}

/// The queues the function may send to ([`crate::queues::QUEUES_ENV`]; without it, mail and the
/// outbox). Every one's URLs must be there: a missing one stops the cold start, not a request.
fn queue_names(settings: &Settings) -> Result<Vec<String>, ConfigError> {
    let names: Vec<String> = match settings.get(crate::queues::QUEUES_ENV) {
        Some(v) => v.split(',').map(str::trim).filter(|n| !n.is_empty()).map(str::to_string).collect(),
        None => [crate::queues::MAIL, crate::queues::OUTBOX].iter().map(|q| q.name.to_string()).collect(),
    };
    for var in names.iter().flat_map(|n| [crate::queues::url_var(n), crate::queues::dlq_url_var(n)]) {
        if settings.get(&var).is_none() {
            return Err(ConfigError::Missing(var));
        }
    }
    Ok(names)
}

/// The queues each topic's events go to ([`crate::events::SUBSCRIBERS_ENV`]), each one of
/// `queue_names`.
fn topic_subscribers(settings: &Settings, queue_names: &[String]) -> Result<HashMap<String, Vec<String>>, ConfigError> {
    let name = crate::events::SUBSCRIBERS_ENV;
    let Some(v) = settings.get(name) else { return Ok(HashMap::new()) };
    let subscribers: HashMap<String, Vec<String>> = crate::events::decode_subscriptions(&v)
        .map_err(|reason| ConfigError::Invalid { name, reason })?
        .into_iter()
        .map(|(topic, queues)| (topic, queues.into_iter().collect()))
        .collect();
    if let Some(q) = subscribers.values().flatten().find(|q| !queue_names.contains(q)) {
        return Err(ConfigError::Invalid { name, reason: format!("no queue named {q}") });
    }
    Ok(subscribers)
}

/// Locally each function signs as itself (the stack checks its calls against the policy the
/// template gives it); without a function name, as the stack's operator. In AWS: none (the
/// function's role).
fn local_credentials(settings: &Settings) -> Option<(String, String)> {
    let (key, secret) = (settings.get("LOCAL_ACCESS_KEY_ID")?, settings.get("LOCAL_SECRET_ACCESS_KEY")?);
    Some(match settings.get("AWS_LAMBDA_FUNCTION_NAME") {
        Some(function) => local_function_credentials(&key, &secret, &function),
        None => (key, secret),
    })
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads configuration through `lookup`, so that the local stack can configure functions
    /// in-process with the very same keys a deployed function reads.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Result<Self, ConfigError> {
        let settings = Settings::from_lookup(lookup);
        let get = |name: &str| settings.get(name).ok_or_else(|| ConfigError::Missing(name.to_string()));
        let opt = |name: &str| settings.get(name);
        let queue_names = queue_names(&settings)?;
        let topic_subscribers = topic_subscribers(&settings, &queue_names)?;
        let mail_from = get("MAIL_FROM")?;
        if !crate::validate::looks_like_email(&mail_from) {
            return Err(ConfigError::Invalid { name: "MAIL_FROM", reason: "not an email address".into() });
        }
        Ok(Self {
            stage: opt("STAGE").unwrap_or_else(|| "dev".into()),
            version: opt("APP_VERSION").unwrap_or_else(|| env!("CARGO_PKG_VERSION").to_string()),
            region: opt("AWS_REGION").unwrap_or_else(|| "us-east-1".into()),
            table_name: get("TABLE_NAME")?,
            media_bucket: get("MEDIA_BUCKET")?,
            media_base_url: opt("MEDIA_BASE_URL").map(|u| u.trim_end_matches('/').to_string()),
            websocket_endpoint: opt("WEBSOCKET_ENDPOINT").map(|u| u.trim_end_matches('/').to_string()),
            queue_names,
            topic_subscribers,
            mail_from,
            ops_email: opt("OPS_EMAIL").unwrap_or_else(|| "ops@petplatform.local".into()),
            cursor_secret: signing_secret(&settings, "CURSOR_SECRET")?,
            jwt_secret: signing_secret(&settings, "JWT_SECRET")?,
            jwt_issuer: opt("JWT_ISSUER").unwrap_or_else(|| "petplatform".into()),
            access_token_ttl_secs: number(&settings, "ACCESS_TOKEN_TTL_SECS", 900, 60..=86_400, "seconds")?,
            ip_rate_limit: number(&settings, "RATE_LIMIT_PER_IP", 60, 1..=u32::MAX, "requests")?,
            write_rate_limit: number(&settings, "WRITE_RATE_LIMIT_PER_MINUTE", 120, 1..=u32::MAX, "writes")?,
            retry_base_secs: number(&settings, "RETRY_BASE_SECS", 30, 1..=900, "seconds")?,
            s3_force_path_style: opt("S3_FORCE_PATH_STYLE").is_some_and(|v| v == "true" || v == "1"),
            endpoints: EndpointOverrides {
                dynamodb: opt("AWS_ENDPOINT_URL_DYNAMODB"),
                s3: opt("AWS_ENDPOINT_URL_S3"),
                sqs: opt("AWS_ENDPOINT_URL_SQS"),
                ses: opt("AWS_ENDPOINT_URL_SES"),
                comprehend: opt("AWS_ENDPOINT_URL_COMPREHEND"),
                bedrock: opt("AWS_ENDPOINT_URL_BEDROCK_RUNTIME"),
            },
            static_credentials: local_credentials(&settings),
            settings,
        })
    }

    /// The queues subscribed to `topic` (none: nobody takes it yet).
    pub fn subscribers(&self, topic: &crate::events::Topic) -> &[String] {
        self.topic_subscribers.get(topic.name).map(Vec::as_slice).unwrap_or_default()
    }

    /// The URL of a queue (checked at cold start for every queue of [`Config::queue_names`]).
    pub fn queue_url(&self, queue: &crate::queues::Queue) -> String {
        self.settings.get(&queue.url_var()).unwrap_or_default()
    }

    /// The URL of a queue known by name (an outbox message's), if there is such a queue.
    pub fn queue_url_named(&self, name: &str) -> Option<String> {
        self.settings.get(&crate::queues::url_var(name))
    }

    /// The URL of a queue's dead-letter queue.
    pub fn dlq_url(&self, queue: &crate::queues::Queue) -> String {
        self.dlq_url_named(queue.name)
    }

    /// The URL of the dead-letter queue of the queue named `name`.
    pub fn dlq_url_named(&self, name: &str) -> String {
        self.settings.get(&crate::queues::dlq_url_var(name)).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> HashMap<&'static str, String> {
        let mut m = HashMap::new();
        m.insert("TABLE_NAME", "pets".to_string());
        m.insert("MEDIA_BUCKET", "media".to_string());
        m.insert("MAIL_FROM", "no-reply@example.com".to_string());
        m.insert("CURSOR_SECRET", "c".repeat(32));
        m.insert("JWT_SECRET", "j".repeat(32));
        m.insert("MAIL_QUEUE_URL", "http://sqs/mail".into());
        m.insert("MAIL_DLQ_URL", "http://sqs/mail-dlq".into());
        m.insert("OUTBOX_QUEUE_URL", "http://sqs/outbox".into());
        m.insert("OUTBOX_DLQ_URL", "http://sqs/outbox-dlq".into());
        m
    }

    fn config(env: &HashMap<&'static str, String>) -> Result<Config, ConfigError> {
        let env = env.clone();
        Config::from_lookup(move |k| env.get(k).cloned())
    }

    #[test]
    fn every_listed_queue_must_have_its_urls() {
        let mut env = base();
        env.insert("QUEUE_NAMES", "mail,outbox,sns-sync".into());
        assert!(matches!(config(&env), Err(ConfigError::Missing(v)) if v == "SNS_SYNC_QUEUE_URL"));
        env.insert("SNS_SYNC_QUEUE_URL", "http://sqs/sns-sync".into());
        env.insert("SNS_SYNC_DLQ_URL", "http://sqs/sns-sync-dlq".into());
        env.insert("TOPIC_SUBSCRIBERS", "a.b:feed".into());
        assert!(config(&env).unwrap_err().to_string().contains("no queue named feed"));
        env.insert("TOPIC_SUBSCRIBERS", "a.b:sns-sync".into());
        let c = config(&env).unwrap();
        assert_eq!(c.queue_url_named("sns-sync").as_deref(), Some("http://sqs/sns-sync"));
        assert_eq!(c.queue_url_named("feed"), None);
    }

    #[test]
    fn reads_a_complete_environment() {
        let env = base();
        let c = config(&env).unwrap();
        assert_eq!(c.table_name, "pets");
        assert_eq!(c.access_token_ttl_secs, 900);
        assert_eq!(c.queue_url(&crate::queues::MAIL), "http://sqs/mail");
    }

    #[test]
    fn a_function_without_a_secret_cannot_use_the_real_one() {
        let mut env = base();
        env.remove("JWT_SECRET");
        let a = config(&env).unwrap();
        let b = config(&env).unwrap();
        assert_eq!(a.jwt_secret.len(), 32);
        assert_ne!(a.jwt_secret, b.jwt_secret, "a random key each cold start");
        assert_ne!(a.jwt_secret, "j".repeat(32).into_bytes());
    }

    #[test]
    fn refuses_short_secrets_and_missing_values() {
        let mut env = base();
        env.insert("JWT_SECRET", "short".into());
        let err = config(&env).unwrap_err();
        assert!(err.to_string().contains("JWT_SECRET"));
        env.remove("TABLE_NAME");
        assert!(matches!(config(&env), Err(ConfigError::Missing(v)) if v == "TABLE_NAME"));
    }

    #[test]
    fn numbers_are_read_within_their_range_or_refused() {
        let mut env = base();
        let c = config(&env).unwrap();
        assert_eq!((c.access_token_ttl_secs, c.ip_rate_limit, c.retry_base_secs), (900, 60, 30), "the defaults");
        env.insert("ACCESS_TOKEN_TTL_SECS", "3600".into());
        env.insert("RATE_LIMIT_PER_IP", " 5 ".into());
        let c = config(&env).unwrap();
        assert_eq!((c.access_token_ttl_secs, c.ip_rate_limit), (3600, 5));
        for (name, bad) in [("ACCESS_TOKEN_TTL_SECS", "59"), ("RATE_LIMIT_PER_IP", "0"), ("RETRY_BASE_SECS", "ten")] {
            let mut env = base();
            env.insert(name, bad.into());
            assert!(
                matches!(config(&env), Err(ConfigError::Invalid { name: n, .. }) if n == name),
                "{name}={bad} is refused"
            );
        }
    }
}
