//! IAM, locally: every function signs its AWS calls with credentials of its own
//! ([`shared::config::local_function_credentials`]), and every stand-in checks each call against
//! the IAM statements the template gives that function ([`crate::infra_gen::statements`], the
//! same generator output as `template.yaml`): actions and resource ARNs with their wildcards,
//! and the conditions the generator writes. A call no statement allows fails as AWS fails it, in
//! that service's own protocol, and the stack logs the function, the action and the resource.
//! A call signed with a key the stack does not know is refused (`UnrecognizedClientException`,
//! `InvalidClientTokenId`, `InvalidAccessKeyId`).
//!
//! The stack's own key (the tests' set-up, the table's creation, the audits) may do anything,
//! as an operator's would. `LOCAL_IAM=report` lets refused calls through and only logs them.
//!
//! What is not modelled: the permissions SAM adds to event source mappings (reading the stream,
//! receiving from a queue: the local mappings call the stand-ins directly), resource policies,
//! and condition operators the generator does not write (an unknown operator never allows).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, RwLock};

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use shared::routes::Function;

use crate::sigv4::{self, SignatureError};

/// The account the local ARNs name.
pub const ACCOUNT_ID: &str = crate::sqs::ACCOUNT_ID;

/// Whether a refused call fails or is only logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Enforce,
    Report,
}

impl Mode {
    /// `LOCAL_IAM=report` reports; anything else (and nothing) enforces.
    pub fn from_env() -> Self {
        match std::env::var("LOCAL_IAM").as_deref() {
            Ok("report") => Mode::Report,
            _ => Mode::Enforce,
        }
    }
}

/// Who signed a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// The stack itself (and whoever holds its key): not checked.
    Operator,
    /// A function of the product, by its binary name.
    Function(String),
}

/// One condition of a statement: `{"StringEquals": {"ses:FromAddress": "…"}}`.
#[derive(Debug, Clone)]
pub struct Condition {
    pub operator: String,
    pub key: String,
    pub values: Vec<String>,
}

/// An `Allow` statement, its intrinsic functions resolved to the local stack's names.
#[derive(Debug, Clone)]
pub struct Statement {
    pub actions: Vec<String>,
    pub resources: Vec<String>,
    pub conditions: Vec<Condition>,
}

/// What one call asks to do: `dynamodb:PutItem` on the table, with the request's condition keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub action: String,
    pub resource: String,
    pub context: Vec<(&'static str, String)>,
}

impl Call {
    pub fn new(action: impl Into<String>, resource: impl Into<String>) -> Self {
        Call { action: action.into(), resource: resource.into(), context: Vec::new() }
    }
}

/// A call a policy did not allow.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Refusal {
    pub function: String,
    pub action: String,
    pub resource: String,
}

impl Refusal {
    /// AWS's own wording.
    fn message(&self) -> String {
        let (f, action, resource) = (&self.function, &self.action, &self.resource);
        format!(
            "User: arn:aws:sts::{ACCOUNT_ID}:assumed-role/petplatform-local-{f}/{f} is not authorized to perform: {action} on resource: {resource} because no identity-based policy allows the {action} action"
        )
    }
}

/// Why a call was not let through.
#[derive(Debug)]
pub enum Denial {
    /// Not signed, signed with a key nobody issued, or with a wrong signature.
    Unauthenticated(SignatureError),
    Refused(Refusal),
}

/// The policies of every function and the log of what they refused.
pub struct Iam {
    pub mode: Mode,
    operator_key: String,
    operator_secret: String,
    region: String,
    policies: RwLock<BTreeMap<String, Vec<Statement>>>,
    refusals: Mutex<Vec<Refusal>>,
    /// `(function, statement index)` of every statement that allowed a call: what a run never
    /// used is a permission to question.
    used: Mutex<BTreeSet<(String, usize)>>,
}

impl std::fmt::Debug for Iam {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Iam").field("mode", &self.mode).finish_non_exhaustive()
    }
}

impl Iam {
    /// The policies of `functions`, resolved with `parameters` (see
    /// [`crate::infra_gen::local_parameters`]); an intrinsic function that does not resolve is an
    /// error, since the policy could not be what AWS enforces.
    pub fn new(
        mode: Mode,
        operator_key: &str,
        operator_secret: &str,
        region: &str,
        functions: &[&'static Function],
        parameters: &BTreeMap<String, String>,
    ) -> Result<Arc<Self>, String> {
        let mut policies = BTreeMap::new();
        for f in functions {
            let statements = crate::infra_gen::statements(f)
                .iter()
                .map(|s| parse_statement(&resolve(s, parameters)?))
                .collect::<Result<Vec<_>, String>>()
                .map_err(|e| format!("the policy of {}: {e}", f.binary))?;
            policies.insert(f.binary.to_string(), statements);
        }
        Ok(Arc::new(Iam {
            mode,
            operator_key: operator_key.into(),
            operator_secret: operator_secret.into(),
            region: region.into(),
            policies: RwLock::new(policies),
            refusals: Mutex::default(),
            used: Mutex::default(),
        }))
    }

    /// The secret of an access key the stack issued.
    pub fn secret_of(&self, key: &str) -> Option<String> {
        if key == self.operator_key {
            return Some(self.operator_secret.clone());
        }
        let function = key.strip_prefix(&self.operator_key)?.strip_prefix('.')?;
        self.policies
            .read()
            .expect("policies")
            .contains_key(function)
            .then(|| shared::config::local_function_credentials(&self.operator_key, &self.operator_secret, function).1)
    }

    /// Who holds an access key the stack issued.
    pub fn principal_of(&self, key: &str) -> Option<Principal> {
        self.secret_of(key)?;
        Some(match key.strip_prefix(&self.operator_key).and_then(|k| k.strip_prefix('.')) {
            Some(f) => Principal::Function(f.to_string()),
            None => Principal::Operator,
        })
    }

    /// Checks a request signed in its headers: who signed it, if the signature holds.
    pub fn authenticate(
        &self,
        method: &str,
        path: &str,
        query: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Principal, SignatureError> {
        let key = sigv4::access_key(headers).ok_or(SignatureError::Missing)?;
        let secret = self.secret_of(&key).ok_or(SignatureError::UnknownKey)?;
        sigv4::verify(method, path, query, headers, body, &key, &secret)?;
        self.principal_of(&key).ok_or(SignatureError::UnknownKey)
    }

    /// Whether `principal` may make every one of `calls`; a refusal is logged (and, when only
    /// reporting, let through).
    pub fn authorize(&self, principal: &Principal, calls: &[Call]) -> Result<(), Refusal> {
        let Principal::Function(function) = principal else { return Ok(()) };
        let policies = self.policies.read().expect("policies");
        let statements = policies.get(function).map(Vec::as_slice).unwrap_or_default();
        for call in calls {
            match statements.iter().position(|s| allows(s, call)) {
                Some(i) => {
                    self.used.lock().expect("used").insert((function.clone(), i));
                }
                None => {
                    let refusal = Refusal {
                        function: function.clone(),
                        action: call.action.clone(),
                        resource: call.resource.clone(),
                    };
                    tracing::warn!(
                        function = %refusal.function,
                        action = %refusal.action,
                        resource = %refusal.resource,
                        enforced = self.mode == Mode::Enforce,
                        "IAM: the function's policy does not allow this call"
                    );
                    self.refusals.lock().expect("refusals").push(refusal.clone());
                    if self.mode == Mode::Enforce {
                        return Err(refusal);
                    }
                }
            }
        }
        Ok(())
    }

    /// Every call refused so far.
    pub fn refusals(&self) -> Vec<Refusal> {
        self.refusals.lock().expect("refusals").clone()
    }

    /// Statements that allowed no call so far, as `(function, action list, resources)`.
    pub fn unused(&self) -> Vec<(String, Vec<String>, Vec<String>)> {
        let used = self.used.lock().expect("used");
        let policies = self.policies.read().expect("policies");
        policies
            .iter()
            .flat_map(|(f, statements)| {
                statements
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| !used.contains(&(f.clone(), *i)))
                    .map(|(_, s)| (f.clone(), s.actions.clone(), s.resources.clone()))
            })
            .collect()
    }

    /// What this stack's run refused and which statements it used, for `iam-report`.
    pub fn report(&self) -> Value {
        let used: Vec<_> = self.used.lock().expect("used").iter().map(|(f, i)| json!([f, i])).collect();
        json!({"refusals": self.refusals(), "used": used})
    }

    /// Takes `resource` away from every statement of `function` that grants `action` on it: a
    /// test's way to plant a missing permission. Whether anything was taken.
    pub fn revoke(&self, function: &str, action: &str, resource: &str) -> bool {
        let mut policies = self.policies.write().expect("policies");
        let Some(statements) = policies.get_mut(function) else { return false };
        let mut taken = false;
        for s in statements.iter_mut() {
            if s.actions.iter().any(|a| matches(a, action, true)) {
                let before = s.resources.len();
                s.resources.retain(|r| r != resource);
                taken |= s.resources.len() != before;
            }
        }
        taken
    }

    fn table_arn(&self, table: &str) -> String {
        format!("arn:aws:dynamodb:{}:{ACCOUNT_ID}:table/{table}", self.region)
    }
}

/// Resolves `Ref`, `Fn::Sub` and `Fn::GetAtt … Arn` against the local names.
fn resolve(v: &Value, parameters: &BTreeMap<String, String>) -> Result<Value, String> {
    let lookup = |name: &str| parameters.get(name).cloned().ok_or_else(|| format!("no local value for {name}"));
    Ok(match v {
        Value::Object(o) if o.len() == 1 && o.contains_key("Ref") => {
            json!(lookup(o["Ref"].as_str().unwrap_or_default())?)
        }
        Value::Object(o) if o.len() == 1 && o.contains_key("Fn::GetAtt") => {
            let parts: Vec<&str> = o["Fn::GetAtt"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
            json!(lookup(&parts.concat())?)
        }
        Value::Object(o) if o.len() == 1 && o.contains_key("Fn::Sub") => {
            let mut text = o["Fn::Sub"].as_str().ok_or("Fn::Sub with variables is not generated")?.to_string();
            while let Some(start) = text.find("${") {
                let end = text[start..].find('}').ok_or("an unclosed ${ in Fn::Sub")? + start;
                let name = text[start + 2..end].replace(".Arn", "Arn");
                text.replace_range(start..=end, &lookup(&name)?);
            }
            json!(text)
        }
        Value::Object(o) => Value::Object(
            o.iter().map(|(k, v)| Ok((k.clone(), resolve(v, parameters)?))).collect::<Result<_, String>>()?,
        ),
        Value::Array(a) => Value::Array(a.iter().map(|v| resolve(v, parameters)).collect::<Result<_, String>>()?),
        other => other.clone(),
    })
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a.iter().filter_map(Value::as_str).map(str::to_string).collect(),
        _ => Vec::new(),
    }
}

fn parse_statement(v: &Value) -> Result<Statement, String> {
    if v["Effect"] != "Allow" {
        return Err(format!("only Allow statements are generated, not {}", v["Effect"]));
    }
    let mut conditions = Vec::new();
    for (operator, keys) in v["Condition"].as_object().into_iter().flatten() {
        for (key, values) in keys.as_object().into_iter().flatten() {
            conditions.push(Condition { operator: operator.clone(), key: key.clone(), values: strings(values) });
        }
    }
    Ok(Statement { actions: strings(&v["Action"]), resources: strings(&v["Resource"]), conditions })
}

/// IAM's wildcard match: `*` any run of characters, `?` one character.
fn matches(pattern: &str, value: &str, ignore_case: bool) -> bool {
    let (p, v): (Vec<char>, Vec<char>) = if ignore_case {
        (pattern.to_lowercase().chars().collect(), value.to_lowercase().chars().collect())
    } else {
        (pattern.chars().collect(), value.chars().collect())
    };
    // Iterative glob match with backtracking to the last `*`.
    let (mut pi, mut vi, mut star, mut mark) = (0, 0, None, 0);
    while vi < v.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == v[vi]) {
            pi += 1;
            vi += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = vi;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            vi = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

fn allows(s: &Statement, call: &Call) -> bool {
    s.actions.iter().any(|a| matches(a, &call.action, true))
        && s.resources.iter().any(|r| matches(r, &call.resource, false))
        && s.conditions.iter().all(|c| {
            let value = call.context.iter().find(|(k, _)| k.eq_ignore_ascii_case(&c.key)).map(|(_, v)| v.as_str());
            match (c.operator.as_str(), value) {
                ("StringEquals", Some(v)) => c.values.iter().any(|x| x == v),
                ("StringLike", Some(v)) => c.values.iter().any(|x| matches(x, v, false)),
                _ => false,
            }
        })
}

// ---- What each service's requests ask to do ----

/// DynamoDB (JSON protocol): the actions and resources of one request. A transaction asks for
/// each of its items' actions, as IAM evaluates it.
pub fn dynamodb_calls(iam: &Iam, operation: &str, body: &[u8]) -> Vec<Call> {
    let v: Value = serde_json::from_slice(body).unwrap_or_default();
    let table = |name: &Value| iam.table_arn(name.as_str().unwrap_or_default());
    let action = |op: &str| format!("dynamodb:{op}");
    match operation {
        "BatchGetItem" | "BatchWriteItem" => v["RequestItems"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(t, _)| Call::new(action(operation), iam.table_arn(t)))
            .collect(),
        "TransactWriteItems" | "TransactGetItems" => v["TransactItems"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|item| item.as_object()?.iter().next())
            .map(|(kind, item)| {
                let op = match kind.as_str() {
                    "Put" => "PutItem",
                    "Update" => "UpdateItem",
                    "Delete" => "DeleteItem",
                    "ConditionCheck" => "ConditionCheckItem",
                    _ => "GetItem",
                };
                Call::new(action(op), table(&item["TableName"]))
            })
            .collect(),
        "Query" | "Scan" => {
            let mut resource = table(&v["TableName"]);
            if let Some(index) = v["IndexName"].as_str() {
                resource = format!("{resource}/index/{index}");
            }
            vec![Call::new(action(operation), resource)]
        }
        _ if v["TableName"].is_string() => vec![Call::new(action(operation), table(&v["TableName"]))],
        _ => vec![Call::new(action(operation), "*")],
    }
}

/// SQS (JSON protocol): the queue a request names, by its URL (or name).
/// Both Converse and InvokeModel are `bedrock:InvokeModel` on the model's ARN.
fn bedrock_call(iam: &Iam, path: &str) -> Call {
    let model = crate::bedrock::model_of(path).unwrap_or_default();
    Call::new("bedrock:InvokeModel", format!("arn:aws:bedrock:{}::foundation-model/{model}", iam.region))
}

fn sqs_calls(iam: &Iam, operation: &str, body: &[u8]) -> Vec<Call> {
    let v: Value = serde_json::from_slice(body).unwrap_or_default();
    let action = match operation {
        "SendMessageBatch" => "SendMessage",
        "DeleteMessageBatch" => "DeleteMessage",
        "ChangeMessageVisibilityBatch" => "ChangeMessageVisibility",
        other => other,
    };
    let queue = v["QueueUrl"]
        .as_str()
        .and_then(|u| u.rsplit('/').next())
        .or_else(|| v["QueueName"].as_str())
        .map(|q| format!("arn:aws:sqs:{}:{ACCOUNT_ID}:{q}", iam.region))
        .unwrap_or_else(|| "*".into());
    vec![Call::new(format!("sqs:{action}"), queue)]
}

/// SES (query protocol): sending as an identity, with `ses:FromAddress`.
fn ses_calls(iam: &Iam, form: &[(String, String)]) -> Vec<Call> {
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let action = get("Action").unwrap_or_default();
    let from = get("Source").unwrap_or_default();
    let address = from.rsplit_once('<').map(|(_, a)| a.trim_end_matches('>').to_string()).unwrap_or(from);
    let mut call =
        Call::new(format!("ses:{action}"), format!("arn:aws:ses:{}:{ACCOUNT_ID}:identity/{address}", iam.region));
    call.context.push(("ses:FromAddress", address));
    vec![call]
}

/// API Gateway's `@connections`: managing one connection of the WebSocket API.
fn connections_call(iam: &Iam, method: &str, path: &str) -> Call {
    let id = path.rsplit('/').next().unwrap_or_default();
    let api = crate::infra_gen::LOCAL_WEBSOCKET_API_ID;
    Call::new(
        "execute-api:ManageConnections",
        format!("arn:aws:execute-api:{}:{ACCOUNT_ID}:{api}/{api}/{method}/@connections/{id}", iam.region),
    )
}

/// S3: the action an operation of the S3 API needs, on its bucket or object.
pub fn s3_call(operation: &str, bucket: Option<&str>, key: Option<&str>) -> Call {
    let action = match operation {
        "HeadObject" | "GetObjectAttributes" => "GetObject",
        "CopyObject" | "CreateMultipartUpload" | "UploadPart" | "UploadPartCopy" | "CompleteMultipartUpload" => {
            "PutObject"
        }
        "DeleteObjects" => "DeleteObject",
        "ListObjects" | "ListObjectsV2" | "HeadBucket" => "ListBucket",
        other => other,
    };
    let resource = match (bucket, key) {
        (Some(b), Some(k)) => format!("arn:aws:s3:::{b}/{k}"),
        (Some(b), None) if operation == "DeleteObjects" => format!("arn:aws:s3:::{b}/*"),
        (Some(b), None) => format!("arn:aws:s3:::{b}"),
        _ => "*".into(),
    };
    Call::new(format!("s3:{action}"), resource)
}

// ---- The guards in front of the stand-ins, answering in each service's protocol ----

/// A JSON-protocol error (DynamoDB, Comprehend, SQS).
fn json_error(status: StatusCode, kind: &str, message: &str, query_code: Option<&str>) -> Response {
    let mut res = (
        status,
        [("content-type", "application/x-amz-json-1.0"), ("x-amzn-errortype", kind)],
        json!({"__type": format!("com.amazon.coral.service#{kind}"), "Message": message, "message": message})
            .to_string(),
    )
        .into_response();
    if let Some(code) = query_code
        && let Ok(v) = format!("{code};Sender").parse()
    {
        res.headers_mut().insert("x-amzn-query-error", v);
    }
    res
}

const INVALID_TOKEN: &str = "The security token included in the request is invalid.";

fn signature_message(e: &SignatureError) -> &'static str {
    match e {
        SignatureError::Missing => "Request is missing Authentication Token",
        SignatureError::UnknownKey => INVALID_TOKEN,
        SignatureError::Mismatch => {
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method."
        }
    }
}

/// DynamoDB's (and Comprehend's) answer to a call it does not let through.
pub fn dynamodb_denial(d: &Denial) -> Response {
    match d {
        Denial::Unauthenticated(SignatureError::Missing) => json_error(
            StatusCode::BAD_REQUEST,
            "MissingAuthenticationTokenException",
            signature_message(&SignatureError::Missing),
            None,
        ),
        Denial::Unauthenticated(SignatureError::UnknownKey) => {
            json_error(StatusCode::BAD_REQUEST, "UnrecognizedClientException", INVALID_TOKEN, None)
        }
        Denial::Unauthenticated(e) => {
            json_error(StatusCode::BAD_REQUEST, "InvalidSignatureException", signature_message(e), None)
        }
        Denial::Refused(r) => json_error(StatusCode::BAD_REQUEST, "AccessDeniedException", &r.message(), None),
    }
}

/// Checks a JSON-protocol request (`X-Amz-Target`) in front of DynamoDB.
pub fn check_dynamodb(iam: &Iam, path: &str, query: &str, headers: &HeaderMap, body: &[u8]) -> Result<(), Denial> {
    let principal = iam.authenticate("POST", path, query, headers, body).map_err(Denial::Unauthenticated)?;
    let operation = target_operation(headers);
    iam.authorize(&principal, &dynamodb_calls(iam, &operation, body)).map_err(Denial::Refused)
}

fn target_operation(headers: &HeaderMap) -> String {
    headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.rsplit('.').next())
        .unwrap_or_default()
        .to_string()
}

/// Which service a guard stands in front of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Sqs,
    Ses,
    Comprehend,
    /// Bedrock's runtime API (`/model/<id>/converse`, `/model/<id>/invoke`).
    Bedrock,
    /// The WebSocket API: only its `@connections` paths are checked.
    Connections,
}

/// The middleware in front of SQS, SES, Comprehend and `@connections`.
pub async fn guard(
    State((iam, service)): State<(Arc<Iam>, Service)>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let path = req.uri().path().to_string();
    if service == Service::Connections && !(path.starts_with("/@connections/") || path.starts_with("/%40connections/"))
    {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 32 * 1024 * 1024).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    let method = parts.method.as_str().to_string();
    let query = parts.uri.query().unwrap_or_default().to_string();
    let denial = match iam.authenticate(&method, &path, &query, &parts.headers, &bytes) {
        Err(e) => Some(Denial::Unauthenticated(e)),
        Ok(principal) => {
            let calls = match service {
                Service::Sqs => sqs_calls(&iam, &target_operation(&parts.headers), &bytes),
                Service::Ses => {
                    let form: Vec<(String, String)> =
                        form_urlencoded::parse(&bytes).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
                    ses_calls(&iam, &form)
                }
                Service::Comprehend => vec![Call::new(format!("comprehend:{}", target_operation(&parts.headers)), "*")],
                Service::Bedrock => vec![bedrock_call(&iam, &path)],
                Service::Connections => vec![connections_call(&iam, &method, &path.replace("%40", "@"))],
            };
            iam.authorize(&principal, &calls).err().map(Denial::Refused)
        }
    };
    if let Some(d) = &denial {
        tracing::warn!(?service, %path, denial = ?d, "refused before the stand-in");
    }
    let Some(denial) = denial else {
        return next.run(axum::extract::Request::from_parts(parts, Body::from(bytes))).await;
    };
    match service {
        Service::Comprehend => dynamodb_denial(&denial),
        Service::Bedrock => {
            let (status, kind, message) = match &denial {
                Denial::Unauthenticated(SignatureError::UnknownKey) => {
                    (StatusCode::FORBIDDEN, "UnrecognizedClientException", INVALID_TOKEN.to_string())
                }
                Denial::Unauthenticated(e) => {
                    (StatusCode::FORBIDDEN, "InvalidSignatureException", signature_message(e).to_string())
                }
                Denial::Refused(r) => (StatusCode::FORBIDDEN, "AccessDeniedException", r.message()),
            };
            crate::bedrock::error(status, kind, &message)
        }
        Service::Sqs => match &denial {
            Denial::Unauthenticated(e) => {
                let code = match e {
                    SignatureError::Missing => "MissingAuthenticationToken",
                    SignatureError::UnknownKey => "InvalidClientTokenId",
                    SignatureError::Mismatch => "SignatureDoesNotMatch",
                };
                json_error(StatusCode::FORBIDDEN, code, signature_message(e), Some(code))
            }
            Denial::Refused(r) => json_error(StatusCode::FORBIDDEN, "AccessDenied", &r.message(), Some("AccessDenied")),
        },
        Service::Ses => {
            let (code, message) = match &denial {
                Denial::Unauthenticated(SignatureError::Missing) => {
                    ("MissingAuthenticationToken", signature_message(&SignatureError::Missing).to_string())
                }
                Denial::Unauthenticated(SignatureError::UnknownKey) => {
                    ("InvalidClientTokenId", INVALID_TOKEN.to_string())
                }
                Denial::Unauthenticated(e) => ("SignatureDoesNotMatch", signature_message(e).to_string()),
                Denial::Refused(r) => ("AccessDenied", r.message()),
            };
            let xml = format!(
                "<ErrorResponse xmlns=\"http://ses.amazonaws.com/doc/2010-12-01/\"><Error><Type>Sender</Type><Code>{code}</Code><Message>{}</Message></Error><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>",
                message.replace('&', "&amp;").replace('<', "&lt;")
            );
            (StatusCode::FORBIDDEN, [("content-type", "text/xml")], xml).into_response()
        }
        Service::Connections => {
            let message = match &denial {
                Denial::Unauthenticated(e) => signature_message(e).to_string(),
                Denial::Refused(r) => r.message(),
            };
            (
                StatusCode::FORBIDDEN,
                [("content-type", "application/json"), ("x-amzn-errortype", "ForbiddenException")],
                json!({"message": message}).to_string(),
            )
                .into_response()
        }
    }
}

/// S3's side: the stack's keys for signature checks, and each operation checked against the
/// signer's policy (a presigned URL is the signer's call, as in S3).
#[derive(Clone)]
pub struct S3Iam(pub Arc<Iam>);

#[async_trait::async_trait]
impl s3s::auth::S3Auth for S3Iam {
    async fn get_secret_key(&self, access_key: &str) -> s3s::S3Result<s3s::auth::SecretKey> {
        self.0.secret_of(access_key).map(s3s::auth::SecretKey::from).ok_or_else(|| {
            s3s::s3_error!(InvalidAccessKeyId, "The AWS Access Key Id you provided does not exist in our records.")
        })
    }
}

#[async_trait::async_trait]
impl s3s::access::S3Access for S3Iam {
    async fn check(&self, cx: &mut s3s::access::S3AccessContext<'_>) -> s3s::S3Result<()> {
        let Some(credentials) = cx.credentials() else {
            return Err(s3s::s3_error!(AccessDenied, "Access Denied"));
        };
        let principal =
            self.0.principal_of(&credentials.access_key).ok_or_else(|| s3s::s3_error!(InvalidAccessKeyId))?;
        let (bucket, key) = match cx.s3_path() {
            s3s::path::S3Path::Root => (None, None),
            s3s::path::S3Path::Bucket { bucket } => (Some(bucket.as_ref()), None),
            s3s::path::S3Path::Object { bucket, key } => (Some(bucket.as_ref()), Some(key.as_ref())),
        };
        let call = s3_call(cx.s3_op().name(), bucket, key);
        self.0.authorize(&principal, &[call]).map_err(|r| s3s::s3_error!(AccessDenied, "{}", r.message()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_as_iam_matches() {
        assert!(matches("arn:aws:s3:::b/*", "arn:aws:s3:::b/users/1/a.jpg", false));
        assert!(!matches("arn:aws:s3:::b/*", "arn:aws:s3:::b", false));
        assert!(matches("dynamodb:Get*", "dynamodb:getitem", true));
        assert!(matches("a?c", "abc", false));
        assert!(!matches("a?c", "ac", false));
        assert!(matches("*", "", false));
        assert!(matches("arn:x:t/index/*", "arn:x:t/index/GSI1", false));
        assert!(!matches("arn:x:t", "arn:x:t/index/GSI1", false));
    }

    #[test]
    fn a_condition_must_hold() {
        let s = Statement {
            actions: vec!["ses:SendEmail".into()],
            resources: vec!["*".into()],
            conditions: vec![Condition {
                operator: "StringEquals".into(),
                key: "ses:FromAddress".into(),
                values: vec!["a@x".into()],
            }],
        };
        let mut call = Call::new("ses:SendEmail", "arn:aws:ses:r:1:identity/a@x");
        assert!(!allows(&s, &call));
        call.context.push(("ses:FromAddress", "a@x".into()));
        assert!(allows(&s, &call));
        call.context[0].1 = "b@x".into();
        assert!(!allows(&s, &call));
    }
}
