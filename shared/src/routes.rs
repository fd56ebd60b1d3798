//! The shape of the route table. Each domain package declares its endpoints, workers and jobs
//! as `static` values of these types; the Lambda binaries, the local gateway, `template.yaml`,
//! `events/` and the OpenAPI document are all derived from them.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use utoipa::openapi::{RefOr, Schema};

use crate::context::AppContext;
use crate::error::ApiResult;
use crate::http::{ApiRequest, ApiResponse};
use crate::queues::Queue;

pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

pub type HttpHandler = fn(Arc<AppContext>, ApiRequest) -> BoxFuture<ApiResult<ApiResponse>>;
pub type MessageHandler =
    fn(Arc<AppContext>, crate::worker::Message) -> BoxFuture<Result<(), crate::worker::MessageError>>;
pub type JobHandler = fn(Arc<AppContext>) -> BoxFuture<ApiResult<serde_json::Value>>;

/// Collects named schemas and answers a reference to the one asked for.
pub type SchemaFn = fn(&mut Vec<(String, RefOr<Schema>)>) -> RefOr<Schema>;

/// A [`SchemaFn`] for any `ToSchema` type.
pub fn schema<T: utoipa::ToSchema>(out: &mut Vec<(String, RefOr<Schema>)>) -> RefOr<Schema> {
    let name = T::name().to_string();
    if !out.iter().any(|(n, _)| *n == name) {
        out.push((name.clone(), T::schema()));
        T::schemas(out);
    }
    RefOr::Ref(utoipa::openapi::Ref::from_schema_name(name))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.to_ascii_uppercase().as_str() {
            "GET" => Method::Get,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "PATCH" => Method::Patch,
            "DELETE" => Method::Delete,
            _ => return None,
        })
    }
    /// Whether the method changes state (blocked accounts may not).
    pub fn is_write(self) -> bool {
        !matches!(self, Method::Get)
    }
}

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
    /// Read queue depths (the dead-letter watch).
    InspectQueues,
    ManageConnections,
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
}

#[derive(Debug, Clone, Copy)]
pub struct RouteDoc {
    pub summary: &'static str,
    pub tag: &'static str,
    pub query: &'static [ParamDoc],
    pub request: Option<SchemaFn>,
    pub responses: &'static [ResponseDoc],
    /// Error statuses this endpoint answers beyond those every endpoint may (400, 401, 403, 500).
    pub errors: &'static [u16],
    /// A sample request body (JSON), for `events/` and the documentation.
    pub example: Option<&'static str>,
}

/// One HTTP endpoint: one Lambda binary.
#[derive(Debug)]
pub struct Route {
    pub method: Method,
    /// API Gateway route path, with `{name}` parameters.
    pub path: &'static str,
    /// The binary (and Lambda function) name.
    pub binary: &'static str,
    /// The package under `functions/` that owns the binary.
    pub package: &'static str,
    pub access: Access,
    pub permissions: &'static [Permission],
    /// Largest request body accepted, in bytes.
    pub max_body: usize,
    pub handler: HttpHandler,
    pub doc: RouteDoc,
}

impl RouteDoc {
    pub const EMPTY: RouteDoc =
        RouteDoc { summary: "", tag: "", query: &[], request: None, responses: &[], errors: &[], example: None };
}

/// Shorthand for a documented response.
pub const fn respond(status: u16, description: &'static str, body: Option<SchemaFn>) -> ResponseDoc {
    ResponseDoc { status, description, body }
}

/// Shorthand for a documented query parameter.
pub const fn param(name: &'static str, required: bool, description: &'static str) -> ParamDoc {
    ParamDoc { name, required, description }
}

/// A `const` builder, so that a route reads as one declaration.
impl Route {
    pub const fn new(
        method: Method,
        path: &'static str,
        binary: &'static str,
        package: &'static str,
        access: Access,
        handler: HttpHandler,
    ) -> Self {
        Route {
            method,
            path,
            binary,
            package,
            access,
            permissions: &[],
            max_body: DEFAULT_MAX_BODY,
            handler,
            doc: RouteDoc::EMPTY,
        }
    }
    pub const fn permissions(mut self, permissions: &'static [Permission]) -> Self {
        self.permissions = permissions;
        self
    }
    pub const fn max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }
    pub const fn doc(mut self, tag: &'static str, summary: &'static str) -> Self {
        self.doc.tag = tag;
        self.doc.summary = summary;
        self
    }
    pub const fn query(mut self, query: &'static [ParamDoc]) -> Self {
        self.doc.query = query;
        self
    }
    pub const fn request(mut self, body: SchemaFn, example: &'static str) -> Self {
        self.doc.request = Some(body);
        self.doc.example = Some(example);
        self
    }
    pub const fn responses(mut self, responses: &'static [ResponseDoc]) -> Self {
        self.doc.responses = responses;
        self
    }
    pub const fn errors(mut self, errors: &'static [u16]) -> Self {
        self.doc.errors = errors;
        self
    }

    /// `GET /pets/{id}`: the API Gateway route key.
    pub fn route_key(&self) -> String {
        format!("{} {}", self.method.as_str(), self.path)
    }
}

/// Default body limit of JSON endpoints.
pub const DEFAULT_MAX_BODY: usize = 64 * 1024;

/// One SQS-driven worker: one Lambda binary with an SQS event source.
#[derive(Debug)]
pub struct Worker {
    pub name: &'static str,
    pub binary: &'static str,
    pub package: &'static str,
    pub queue: &'static Queue,
    pub batch_size: u32,
    pub permissions: &'static [Permission],
    pub handler: MessageHandler,
    pub summary: &'static str,
    /// A sample message body, for `events/`.
    pub example: &'static str,
}

/// One scheduled job: one Lambda binary with a schedule.
#[derive(Debug)]
pub struct Job {
    pub name: &'static str,
    pub binary: &'static str,
    pub package: &'static str,
    /// EventBridge schedule expression.
    pub schedule: &'static str,
    /// How often the local stack's timer fires it.
    pub local_every_secs: u64,
    pub permissions: &'static [Permission],
    pub handler: JobHandler,
    pub summary: &'static str,
}

pub type StreamHandler = fn(
    Arc<AppContext>,
    aws_lambda_events::dynamodb::Event,
) -> BoxFuture<aws_lambda_events::streams::DynamoDbEventResponse>;

/// One consumer of the table's stream: one Lambda binary with a DynamoDB Streams event source
/// (batch item failures, bisect on error, a failure destination).
#[derive(Debug)]
pub struct StreamConsumer {
    pub name: &'static str,
    pub binary: &'static str,
    pub package: &'static str,
    pub batch_size: u32,
    /// Tries of a failing record before it goes to the failure destination.
    pub max_retries: u32,
    /// Where records that kept failing go (its dead-letter queue).
    pub failure_queue: &'static Queue,
    pub permissions: &'static [Permission],
    pub handler: StreamHandler,
    pub summary: &'static str,
}

/// Everything a domain package contributes.
#[derive(Debug, Clone, Copy)]
pub struct Domain {
    pub name: &'static str,
    pub routes: &'static [&'static Route],
    pub workers: &'static [&'static Worker],
    pub jobs: &'static [&'static Job],
    pub streams: &'static [&'static StreamConsumer],
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

fn percent_decode(s: &str) -> Option<String> {
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
