//! The shape of the route table. Each domain package declares its endpoints, workers and jobs
//! as `static` values of these types; the Lambda binaries, the local gateway, `template.yaml`,
//! `events/` and the OpenAPI document are all derived from them.

use std::sync::Arc;

use crate::context::AppContext;
use crate::error::ApiResult;
use crate::queues::Queue;

pub use crate::handler::{BoxFuture, Endpoint, HttpHandler};
pub use crate::worker::MessageHandler;
pub type JobHandler = fn(Arc<AppContext>) -> BoxFuture<ApiResult<serde_json::Value>>;

pub use crate::schema::{SchemaFn, Schemas, page, schema};

pub use crate::http::Method;

/// Who may call an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone; a valid token, if sent, identifies the caller.
    Public,
    /// Any signed-in user with a full-scope token.
    User,
    /// Only administrators.
    Admin,
    /// A signed-in user holding a full or a password-change-only token.
    PasswordChange,
    /// Accounts holding one role (administrators too), declared by the domain that owns it.
    Role(&'static RoleAccess),
}

/// The routes of one role: who may call them, and what the others are told.
#[derive(Debug, PartialEq, Eq)]
pub struct RoleAccess {
    pub role: crate::auth::Role,
    /// The 403's code for a caller without the role (e.g. `…_ONLY`).
    pub code: &'static str,
    pub detail: &'static str,
    /// How the README's and the template's tables name these callers.
    pub callers: &'static str,
}

/// What a function may do in AWS; becomes its IAM policy in the template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    TableRead,
    TableWrite,
    MediaRead,
    MediaWrite,
    SendEmail,
    SendTo(&'static Queue),
    /// Send to every queue an outbox message can name ([`crate::outbox::targets`] of
    /// [`queues`]): the relay's.
    RelayOutbox,
    /// Read queue depths (the dead-letter watch).
    InspectQueues,
    ManageConnections,
    /// Comprehend's sentiment detection.
    DetectSentiment,
    /// Bedrock's `InvokeModel` (and Converse) on the one model the setting names
    /// ([`crate::bedrock::TEXT_MODEL`], [`crate::bedrock::EMBEDDING_MODEL`]).
    InvokeModel(&'static crate::config::Setting),
}

/// A documented response.
#[derive(Debug, Clone, Copy)]
pub struct ResponseDoc {
    pub status: u16,
    pub description: &'static str,
    pub body: Option<SchemaFn>,
}

/// A documented query parameter.
#[derive(Debug, Clone, Copy)]
pub struct ParamDoc {
    pub name: &'static str,
    pub required: bool,
    pub description: &'static str,
    pub kind: ParamKind,
}

/// What values a query parameter takes, for its OpenAPI schema.
#[derive(Debug, Clone, Copy)]
pub enum ParamKind {
    Text,
    Integer { min: i64, max: i64 },
    OneOf(&'static [&'static str]),
}

#[derive(Debug, Clone, Copy)]
pub struct RouteDoc {
    pub summary: &'static str,
    pub tag: &'static str,
    pub query: &'static [ParamDoc],
    /// Answers declared by hand, beyond (or describing) those the handler's return type gives.
    pub responses: &'static [ResponseDoc],
    /// Error statuses this endpoint answers beyond those every endpoint may (400, 401, 403, 500).
    pub errors: &'static [u16],
    /// A sample request body (JSON), for `events/` and the documentation.
    pub example: Option<&'static str>,
}

/// One Lambda function: its binary, what triggers it, and what it may use. Every function of the
/// product is one `static` of this type; the binaries, the local stack, `template.yaml`,
/// `events/`, the OpenAPI document and the README's tables all come from these declarations.
#[derive(Debug)]
pub struct Function {
    /// The binary (and Lambda function) name.
    pub binary: &'static str,
    /// The package under `functions/` that owns the binary.
    pub package: &'static str,
    pub trigger: Trigger,
    /// What it may do in AWS: its IAM policy.
    pub permissions: &'static [Permission],
    /// The settings it reads, declared by the part of the product they configure (a provider's
    /// keys and endpoints). Public ones reach every function; a secret reaches only the functions
    /// that declare it (HTTP functions always get [`crate::config::JWT_SECRET`] and
    /// [`crate::config::CURSOR_SECRET`]).
    pub settings: &'static [&'static Setting],
    pub memory_mb: u32,
    pub timeout_secs: u32,
    /// The topics a worker takes on its queue, besides the messages sent to it by name
    /// (see [`crate::events`]).
    pub subscribes: &'static [&'static crate::events::Topic],
}

/// What invokes a function.
#[derive(Debug)]
pub enum Trigger {
    /// A route of the HTTP API.
    Http(Route),
    /// An SQS queue (event source mapping with partial batch failures).
    Sqs(Worker),
    /// The table's stream.
    Stream(StreamConsumer),
    /// An EventBridge schedule.
    Schedule(Job),
    /// A route of the WebSocket API (`$connect`, `$disconnect`, `$default` or an action).
    WebSocket(WsRoute),
}

/// A route of the WebSocket API.
#[derive(Debug)]
pub struct WsRoute {
    /// `$connect`, `$disconnect`, `$default`, or the `action` a frame names.
    pub route_key: &'static str,
    pub handler: crate::socket::WsEndpoint,
    pub summary: &'static str,
    /// A sample frame (message routes) for `events/` and the protocol table.
    pub example: Option<&'static str>,
}

pub use crate::config::{Setting, SettingSource};

pub const DEFAULT_MEMORY_MB: u32 = 256;
pub const DEFAULT_TIMEOUT_SECS: u32 = 15;

impl Function {
    const fn with(binary: &'static str, package: &'static str, trigger: Trigger) -> Self {
        Function {
            binary,
            package,
            trigger,
            permissions: &[],
            settings: &[],
            memory_mb: DEFAULT_MEMORY_MB,
            timeout_secs: DEFAULT_TIMEOUT_SECS,
            subscribes: &[],
        }
    }

    /// An HTTP endpoint: `method path`, handled by `handler`.
    pub const fn http(
        method: Method,
        path: &'static str,
        binary: &'static str,
        package: &'static str,
        access: Access,
        endpoint: Endpoint,
    ) -> Self {
        Self::with(
            binary,
            package,
            Trigger::Http(Route {
                method,
                path,
                access,
                max_body: DEFAULT_MAX_BODY,
                handler: endpoint.call,
                endpoint,
                doc: RouteDoc::EMPTY,
                open_while_held: false,
                reads_with_session: None,
            }),
        )
    }
    /// An SQS worker; its timeout follows the queue's visibility timeout.
    pub const fn worker(binary: &'static str, package: &'static str, worker: Worker) -> Self {
        let timeout = worker.queue.visibility_timeout_secs / 2 + 1;
        let mut f = Self::with(binary, package, Trigger::Sqs(worker));
        f.timeout_secs = if timeout > 900 { 900 } else { timeout };
        f
    }
    pub const fn stream(binary: &'static str, package: &'static str, consumer: StreamConsumer) -> Self {
        Self::with(binary, package, Trigger::Stream(consumer))
    }
    pub const fn job(binary: &'static str, package: &'static str, job: Job) -> Self {
        Self::with(binary, package, Trigger::Schedule(job))
    }
    /// A route of the WebSocket API; every WebSocket function may answer on its connection.
    pub const fn websocket(
        route_key: &'static str,
        binary: &'static str,
        package: &'static str,
        summary: &'static str,
        handler: crate::socket::WsEndpoint,
    ) -> Self {
        Self::with(binary, package, Trigger::WebSocket(WsRoute { route_key, handler, summary, example: None }))
    }
    /// A sample frame of a WebSocket message route.
    pub const fn frame(mut self, example: &'static str) -> Self {
        if let Trigger::WebSocket(r) = &mut self.trigger {
            r.example = Some(example);
        }
        self
    }

    pub const fn permissions(mut self, permissions: &'static [Permission]) -> Self {
        self.permissions = permissions;
        self
    }
    /// The topics this worker takes: each event published on them is also put on its queue.
    pub const fn subscribes(mut self, topics: &'static [&'static crate::events::Topic]) -> Self {
        self.subscribes = topics;
        self
    }
    pub const fn settings(mut self, settings: &'static [&'static Setting]) -> Self {
        self.settings = settings;
        self
    }
    pub const fn memory(mut self, mb: u32) -> Self {
        self.memory_mb = mb;
        self
    }
    pub const fn timeout(mut self, secs: u32) -> Self {
        self.timeout_secs = secs;
        self
    }

    // HTTP-only settings (no-ops on other triggers).
    pub const fn max_body(mut self, bytes: usize) -> Self {
        if let Trigger::Http(r) = &mut self.trigger {
            r.max_body = bytes;
        }
        self
    }
    /// An account whose writes are held ([`crate::account::WriteHold`]) may call this write
    /// too (sign-out, its profile, the documents that lift the hold).
    pub const fn open_while_held(mut self) -> Self {
        if let Trigger::Http(r) = &mut self.trigger {
            r.open_while_held = true;
        }
        self
    }
    /// The items its handler reads first, read with a signed-in caller's session in one batch
    /// (the handler's reads of them are answered from it; see [`crate::table::prefetch`]).
    pub const fn reads_with_session(mut self, keys: PathKeys) -> Self {
        if let Trigger::Http(r) = &mut self.trigger {
            r.reads_with_session = Some(keys);
        }
        self
    }
    pub const fn doc(mut self, tag: &'static str, summary: &'static str) -> Self {
        if let Trigger::Http(r) = &mut self.trigger {
            r.doc.tag = tag;
            r.doc.summary = summary;
        }
        self
    }
    pub const fn query(mut self, query: &'static [ParamDoc]) -> Self {
        if let Trigger::Http(r) = &mut self.trigger {
            r.doc.query = query;
        }
        self
    }
    /// A sample request body (JSON), for `events/` and the documentation; its schema comes from
    /// the handler's `Json` argument.
    pub const fn example(mut self, example: &'static str) -> Self {
        if let Trigger::Http(r) = &mut self.trigger {
            r.doc.example = Some(example);
        }
        self
    }
    pub const fn responses(mut self, responses: &'static [ResponseDoc]) -> Self {
        if let Trigger::Http(r) = &mut self.trigger {
            r.doc.responses = responses;
        }
        self
    }
    pub const fn errors(mut self, errors: &'static [u16]) -> Self {
        if let Trigger::Http(r) = &mut self.trigger {
            r.doc.errors = errors;
        }
        self
    }

    /// The HTTP route, for an HTTP function.
    pub fn route(&self) -> Option<&Route> {
        match &self.trigger {
            Trigger::Http(r) => Some(r),
            _ => None,
        }
    }
    pub fn worker_spec(&self) -> Option<&Worker> {
        match &self.trigger {
            Trigger::Sqs(w) => Some(w),
            _ => None,
        }
    }
    pub fn stream_spec(&self) -> Option<&StreamConsumer> {
        match &self.trigger {
            Trigger::Stream(c) => Some(c),
            _ => None,
        }
    }
    pub fn websocket_route(&self) -> Option<&WsRoute> {
        match &self.trigger {
            Trigger::WebSocket(r) => Some(r),
            _ => None,
        }
    }
    pub fn job_spec(&self) -> Option<&Job> {
        match &self.trigger {
            Trigger::Schedule(j) => Some(j),
            _ => None,
        }
    }

    /// Every secret this function receives, by environment variable.
    pub fn all_secrets(&self) -> Vec<&'static Setting> {
        let mut v: Vec<&'static Setting> = self.settings.iter().copied().filter(|s| s.is_secret()).collect();
        if matches!(self.trigger, Trigger::Http(_)) {
            v.extend([&crate::config::JWT_SECRET, &crate::config::CURSOR_SECRET]);
        }
        v.sort_by_key(|s| s.env_var);
        v.dedup_by_key(|s| s.env_var);
        v
    }

    /// One line for the README: what triggers it and what it does.
    pub fn summary(&self) -> &'static str {
        match &self.trigger {
            Trigger::Http(r) => r.doc.summary,
            Trigger::Sqs(w) => w.summary,
            Trigger::Stream(c) => c.summary,
            Trigger::Schedule(j) => j.summary,
            Trigger::WebSocket(r) => r.summary,
        }
    }
}

/// One HTTP endpoint.
#[derive(Debug)]
pub struct Route {
    pub method: Method,
    /// API Gateway route path, with `{name}` parameters.
    pub path: &'static str,
    pub access: Access,
    /// Largest request body accepted, in bytes.
    pub max_body: usize,
    pub handler: HttpHandler,
    /// The typed handler behind `handler`, with what its types document.
    pub endpoint: Endpoint,
    pub doc: RouteDoc,
    /// Whether an account whose writes are held may call it (a write; reads always).
    pub open_while_held: bool,
    /// The keys its handler reads first, from the path: read with the session (see
    /// [`crate::table::prefetch`]).
    pub reads_with_session: Option<PathKeys>,
}

/// The keys a route reads first, from its path parameters and the signed-in caller's id (none
/// for a malformed parameter).
pub type PathKeys = fn(&std::collections::HashMap<String, String>, &str) -> Vec<crate::table::Key>;

/// Path parameter `name`, if it is a well-formed id: what a [`PathKeys`] makes keys of.
pub fn id_param<'a>(params: &'a std::collections::HashMap<String, String>, name: &str) -> Option<&'a str> {
    params.get(name).map(String::as_str).filter(|id| crate::ids::is_valid_id(id))
}

impl RouteDoc {
    pub const EMPTY: RouteDoc =
        RouteDoc { summary: "", tag: "", query: &[], responses: &[], errors: &[], example: None };
}

/// Shorthand for a documented response.
pub const fn respond(status: u16, description: &'static str, body: Option<SchemaFn>) -> ResponseDoc {
    ResponseDoc { status, description, body }
}

/// What an answer means on this route, when more than its type says ("Posted.", "Sent, if the
/// account exists."); status and schema come from the handler's return type.
pub const fn said(status: u16, description: &'static str) -> ResponseDoc {
    ResponseDoc { status, description, body: None }
}

/// Shorthand for a documented text query parameter.
pub const fn param(name: &'static str, required: bool, description: &'static str) -> ParamDoc {
    ParamDoc { name, required, description, kind: ParamKind::Text }
}

/// A whole-number query parameter within `min..=max`.
pub const fn int_param(name: &'static str, required: bool, description: &'static str, min: i64, max: i64) -> ParamDoc {
    ParamDoc { name, required, description, kind: ParamKind::Integer { min, max } }
}

/// A query parameter that takes one of `values`.
pub const fn enum_param(
    name: &'static str,
    required: bool,
    description: &'static str,
    values: &'static [&'static str],
) -> ParamDoc {
    ParamDoc { name, required, description, kind: ParamKind::OneOf(values) }
}

impl Route {
    /// Whether a retry may carry an `Idempotency-Key`: signed-in requests that create something
    /// (answer 201). Sign-in and other public answers are never stored, since they hold tokens.
    pub fn takes_idempotency_key(&self) -> bool {
        self.method == Method::Post && self.access != Access::Public && self.statuses().contains(&201)
    }

    /// Every success status the route answers: from the handler's type and declared by hand.
    pub fn statuses(&self) -> Vec<u16> {
        let mut v: Vec<u16> = (self.endpoint.replies)(&mut Vec::new()).iter().map(|r| r.status).collect();
        v.extend(self.doc.responses.iter().map(|r| r.status));
        v.sort();
        v.dedup();
        v
    }

    /// Whether a signed-in caller's request counts against the per-user write-rate limit
    /// (`dispatch`): the function then updates the caller's counter in the table, whatever its
    /// own permissions (the template gives it that `dynamodb:UpdateItem`).
    pub fn counts_writes(&self) -> bool {
        self.method.is_write()
    }

    /// `GET /pets/{id}`: the API Gateway route key.
    pub fn route_key(&self) -> String {
        format!("{} {}", self.method.as_str(), self.path)
    }
}

/// Default body limit of JSON endpoints.
pub use crate::http::DEFAULT_MAX_BODY;

/// An SQS-driven worker's trigger.
#[derive(Debug)]
pub struct Worker {
    pub name: &'static str,
    pub queue: &'static Queue,
    pub batch_size: u32,
    /// The typed handler (see [`crate::consumer!`]): the message contract is its argument type.
    pub handler: crate::worker::Consumer,
    pub summary: &'static str,
    /// A sample message body, for `events/` (a test checks the handler reads it).
    pub example: &'static str,
}

/// A scheduled job's trigger.
#[derive(Debug)]
pub struct Job {
    pub name: &'static str,
    /// EventBridge schedule expression (`rate(...)` or `cron(...)`, UTC); the local stack fires
    /// the job by the same expression.
    pub schedule: &'static str,
    pub handler: JobHandler,
    pub summary: &'static str,
}

pub type StreamHandler = fn(
    Arc<AppContext>,
    aws_lambda_events::dynamodb::Event,
) -> BoxFuture<aws_lambda_events::streams::DynamoDbEventResponse>;

/// A consumer of the table's stream (batch item failures, bisect on error, a failure destination).
#[derive(Debug)]
pub struct StreamConsumer {
    pub name: &'static str,
    pub batch_size: u32,
    /// Tries of a failing record before it goes to the failure destination.
    pub max_retries: u32,
    /// Where records that kept failing go (its dead-letter queue).
    pub failure_queue: &'static Queue,
    /// The only records that invoke it (the mapping's `FilterCriteria` in AWS, the same filter in
    /// the local mapping).
    pub filter: StreamFilter,
    pub handler: StreamHandler,
    pub summary: &'static str,
}

/// Which of the table's stream records a consumer reads.
#[derive(Debug, Clone, Copy)]
pub enum StreamFilter {
    /// Inserts of items of this entity type.
    InsertsOf(&'static str),
    /// Inserts and removals of the items whose sort key starts with one of these: facts that
    /// counters count ([`crate::counters`]).
    FactsUnder(&'static [&'static str]),
}

impl StreamFilter {
    /// Whether a record passes, from its event name (`INSERT`, `MODIFY`, `REMOVE`), its sort key
    /// and the entity type of its new image.
    pub fn passes(&self, event_name: &str, sort_key: Option<&str>, entity_type: Option<&str>) -> bool {
        match self {
            StreamFilter::InsertsOf(t) => event_name == "INSERT" && entity_type == Some(*t),
            StreamFilter::FactsUnder(prefixes) => {
                matches!(event_name, "INSERT" | "REMOVE")
                    && sort_key.is_some_and(|sk| prefixes.iter().any(|p| sk.starts_with(p)))
            }
        }
    }

    /// The `FilterCriteria` pattern of the event source mapping.
    pub fn pattern(&self) -> serde_json::Value {
        match self {
            StreamFilter::InsertsOf(t) => serde_json::json!({
                "eventName": ["INSERT"],
                "dynamodb": {"NewImage": {crate::table::ENTITY_TYPE: {"S": [t]}}}
            }),
            StreamFilter::FactsUnder(prefixes) => serde_json::json!({
                "eventName": ["INSERT", "REMOVE"],
                "dynamodb": {"Keys": {crate::table::SK: {"S": prefixes.iter().map(|p| serde_json::json!({"prefix": p})).collect::<Vec<_>>()}}}
            }),
        }
    }
}

/// Everything a domain package contributes.
#[derive(Debug, Clone, Copy)]
pub struct Domain {
    pub name: &'static str,
    pub functions: &'static [&'static Function],
    /// The upload purposes this domain declares (`POST /uploads` offers them all).
    pub uploads: &'static [&'static crate::media::Purpose],
    /// The API reference's words for the tags its routes are filed under (a tag several domains
    /// use is described by one of them).
    pub tags: &'static [Tag],
    /// Every status and `code` its errors answer with (`domain_errors!`'s `CODES`): the
    /// reference lists them on each of its operations' error responses.
    pub errors: &'static [&'static [(u16, &'static str)]],
}

/// A tag of the API reference and what it covers.
#[derive(Debug, Clone, Copy)]
pub struct Tag {
    pub name: &'static str,
    pub description: &'static str,
}

impl Domain {
    /// The HTTP functions with their routes.
    pub fn routes(&self) -> impl Iterator<Item = (&'static Function, &'static Route)> {
        self.functions.iter().filter_map(|f| f.route().map(|r| (*f, r)))
    }
}

/// Matches a concrete path against a route path with `{name}` segments, returning the parameters.
pub fn match_path(pattern: &str, path: &str) -> Option<Vec<(String, String)>> {
    let mut params = Vec::new();
    let mut pat = pattern.trim_matches('/').split('/');
    let mut got = path.trim_matches('/').split('/');
    loop {
        match (pat.next(), got.next()) {
            (None, None) => return Some(params),
            (Some(p), Some(g)) => {
                if let Some(name) = p.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                    if g.is_empty() {
                        return None;
                    }
                    params.push((name.to_string(), percent_decode(g)?));
                } else if p != g {
                    return None;
                }
            }
            _ => return None,
        }
    }
}

/// A path segment with its `%XX` escapes decoded (none if they do not make UTF-8).
pub fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Every queue of the product, from the declarations: the kernel's own (mail, the outbox's),
/// each worker's, and each one a function may send to; once each, in that order.
pub fn queues<'a>(functions: impl IntoIterator<Item = &'a Function>) -> Vec<&'static Queue> {
    let mut out: Vec<&'static Queue> = vec![&crate::queues::MAIL, &crate::queues::OUTBOX];
    let mut add = |q: &'static Queue| {
        if !out.iter().any(|o| o.name == q.name) {
            out.push(q);
        }
    };
    for f in functions {
        match &f.trigger {
            Trigger::Sqs(w) => add(w.queue),
            Trigger::Stream(c) => add(c.failure_queue),
            _ => {}
        }
        for p in f.permissions {
            if let Permission::SendTo(q) = p {
                add(q);
            }
        }
    }
    out
}

/// Every setting the functions declare (the kernel's signing secrets too), once each, by
/// environment variable.
pub fn settings<'a>(functions: impl IntoIterator<Item = &'a Function>) -> Vec<&'static Setting> {
    let mut out: Vec<&'static Setting> = vec![&crate::config::JWT_SECRET, &crate::config::CURSOR_SECRET];
    for f in functions {
        out.extend(f.settings.iter().copied());
    }
    out.sort_by_key(|s| s.env_var);
    out.dedup_by_key(|s| s.env_var);
    out
}

/// The queue names as [`crate::queues::QUEUES_ENV`] carries them.
pub fn encode_queue_names(queues: &[&Queue]) -> String {
    queues.iter().map(|q| q.name).collect::<Vec<_>>().join(",")
}

/// Which queues take which topic, from the workers' declarations (`Function::subscribes`).
pub fn subscriptions<'a>(functions: impl IntoIterator<Item = &'a Function>) -> crate::events::Subscriptions {
    let mut out = crate::events::Subscriptions::new();
    for f in functions {
        if let Trigger::Sqs(w) = &f.trigger {
            for topic in f.subscribes {
                out.entry(topic.name.to_string()).or_default().insert(w.queue.name.to_string());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_parameters() {
        assert_eq!(match_path("/pets/{id}", "/pets/01H"), Some(vec![("id".into(), "01H".into())]));
        assert_eq!(match_path("/health", "/health"), Some(vec![]));
        assert_eq!(match_path("/pets/{id}", "/pets"), None);
        assert_eq!(match_path("/pets/{id}", "/pets/"), None);
        assert_eq!(match_path("/pets/{id}/like", "/pets/1/likes"), None);
        assert_eq!(match_path("/tags/{t}", "/tags/%EC%82%B0"), Some(vec![("t".into(), "산".into())]));
    }
}
