//! HTTP in and out: the request a handler sees (its body, parameters and caller) and the
//! response it returns. Running a route for a request is [`crate::dispatch`]'s work.

use std::collections::HashMap;

use http::{HeaderMap, HeaderValue, StatusCode, header};
use lambda_http::Body;
use serde::{Serialize, de::DeserializeOwned};

use crate::auth::Identity;
use crate::error::{ApiError, ApiResult, FieldProblem};
use crate::validate::{Validate, Validator};

pub const PROBLEM_JSON: &str = "application/problem+json";

/// Default body limit of JSON endpoints.
pub const DEFAULT_MAX_BODY: usize = 64 * 1024;

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

/// The people a signed-in user does not see: everyone they block or are blocked by. The guard
/// reads them with the session (one batch read) and hands them to the handler on its `Caller`
/// or `Viewer` (`crate::handler`).
pub type Hidden = std::sync::Arc<std::collections::HashSet<String>>;

/// What a handler sees of a request.
#[derive(Debug, Clone)]
pub struct ApiRequest {
    pub method: Method,
    pub path: String,
    pub path_params: HashMap<String, String>,
    pub query: HashMap<String, Vec<String>>,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub request_id: String,
    pub source_ip: Option<String>,
    /// The verified caller, when a valid token was sent.
    pub identity: Option<Identity>,
    /// Whom the caller does not see, read by the guard with the session.
    pub hidden: Hidden,
    pub(crate) max_body: usize,
}

impl ApiRequest {
    /// A request for handler tests and in-process callers.
    pub fn new(method: Method, path: &str) -> Self {
        Self {
            method,
            path: path.to_string(),
            path_params: HashMap::new(),
            query: HashMap::new(),
            headers: HeaderMap::new(),
            body: Vec::new(),
            request_id: String::new(),
            source_ip: None,
            identity: None,
            hidden: Default::default(),
            max_body: DEFAULT_MAX_BODY,
        }
    }

    /// The body as JSON of type `T`, validated. Wrong content type → 415; too large → 413;
    /// malformed or mistyped JSON → 400 naming the field; invalid values → 400 with every field.
    pub fn json<T: DeserializeOwned + Validate>(&self) -> ApiResult<T> {
        if self.body.len() > self.max_body {
            return Err(ApiError::PayloadTooLarge { limit: self.max_body });
        }
        let ct = self.header("content-type").unwrap_or("application/json");
        let mime = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        if mime != "application/json" && !mime.ends_with("+json") {
            return Err(ApiError::UnsupportedMediaType);
        }
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::bad_request("BODY_REQUIRED", "A JSON body is required."));
        }
        // Every body is an object: serde would otherwise read a struct from an array too.
        if self.body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(ApiError::bad_request("MALFORMED_JSON", "The body must be a JSON object."));
        }
        let de = &mut serde_json::Deserializer::from_slice(&self.body);
        let value: T = serde_path_to_error::deserialize(&mut *de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            if inner.is_syntax() || inner.is_eof() || path == "." {
                if inner.is_data() {
                    let field = missing_field(&inner.to_string()).unwrap_or_else(|| "body".into());
                    return ApiError::Validation(vec![FieldProblem::new(
                        field,
                        "INVALID",
                        clean_serde_message(&inner),
                    )]);
                }
                return ApiError::bad_request("MALFORMED_JSON", "The body is not valid JSON.");
            }
            ApiError::Validation(vec![FieldProblem::new(path, "INVALID", clean_serde_message(&inner))])
        })?;
        // Nothing but white space may follow the object.
        de.end().map_err(|_| ApiError::bad_request("MALFORMED_JSON", "The body is not valid JSON."))?;
        let mut v = Validator::new();
        value.validate(&mut v);
        v.finish()?;
        Ok(value)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// A path parameter the route declares.
    pub fn path_param(&self, name: &str) -> ApiResult<&str> {
        self.path_params
            .get(name)
            .map(String::as_str)
            .ok_or_else(|| ApiError::internal(format!("route has no path parameter {name}")))
    }

    /// The first value of a query parameter.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        first_value(&self.query, name).filter(|s| !s.is_empty())
    }

    /// A query parameter as sent, an empty value included.
    pub fn query_raw(&self, name: &str) -> Option<&str> {
        first_value(&self.query, name)
    }

    /// A page size from `?limit=`: default when absent, 400 when not a number in `1..=max`.
    pub fn limit(&self, default: usize, max: usize) -> ApiResult<usize> {
        limit_of(self.query_param("limit"), default, max)
    }

    /// The caller, or 401.
    pub fn caller(&self) -> ApiResult<&Identity> {
        self.identity.as_ref().ok_or_else(|| ApiError::unauthorized("AUTHENTICATION_REQUIRED", "Sign in to do this."))
    }
}

fn first_value<'a>(query: &'a HashMap<String, Vec<String>>, name: &str) -> Option<&'a str> {
    query.get(name).and_then(|v| v.first()).map(String::as_str)
}

fn limit_of(value: Option<&str>, default: usize, max: usize) -> ApiResult<usize> {
    match value {
        None => Ok(default),
        Some(v) => v.parse::<usize>().ok().filter(|n| (1..=max).contains(n)).ok_or_else(|| {
            ApiError::validation("limit", "OUT_OF_RANGE", format!("limit must be a number from 1 to {max}"))
        }),
    }
}

/// The query string's parameters, as a handler takes them.
#[derive(Debug, Clone, Default)]
pub struct Params(pub HashMap<String, Vec<String>>);

impl Params {
    /// The first value of a parameter, unless empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        first_value(&self.0, name).filter(|s| !s.is_empty())
    }
    /// A parameter as sent, an empty value included (`?type=` is not the same as no `type`: a
    /// parameter that takes one of some values refuses it).
    pub fn raw(&self, name: &str) -> Option<&str> {
        first_value(&self.0, name)
    }
    /// A page size from `?limit=`: default when absent, 400 when not a number in `1..=max`.
    pub fn limit(&self, default: usize, max: usize) -> ApiResult<usize> {
        limit_of(self.get("limit"), default, max)
    }
}

/// Reading a list request's page: `?limit=` (default, at most `max`) and `?cursor=`.
pub trait PageRequest: Sized {
    fn paged(self, params: &Params, default: usize, max: usize) -> ApiResult<Self>;
}

impl PageRequest for crate::table::Query {
    fn paged(self, params: &Params, default: usize, max: usize) -> ApiResult<Self> {
        Ok(self.limit(params.limit(default, max)?).cursor(params.get("cursor").map(str::to_string)))
    }
}

/// serde's message without its " at line 1 column 9" tail.
fn clean_serde_message(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match s.find(" at line ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

fn missing_field(msg: &str) -> Option<String> {
    let rest = msg.strip_prefix("missing field `")?;
    Some(rest.split('`').next()?.to_string())
}

/// What a handler returns.
#[derive(Debug, Clone)]
pub struct ApiResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl ApiResponse {
    pub fn json<T: Serialize>(status: StatusCode, value: &T) -> ApiResult<Self> {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        Ok(Self { status, headers, body: serde_json::to_vec(value)? })
    }
    pub fn ok<T: Serialize>(value: &T) -> ApiResult<Self> {
        Self::json(StatusCode::OK, value)
    }
    pub fn created<T: Serialize>(value: &T) -> ApiResult<Self> {
        Self::json(StatusCode::CREATED, value)
    }
    pub fn accepted<T: Serialize>(value: &T) -> ApiResult<Self> {
        Self::json(StatusCode::ACCEPTED, value)
    }
    pub fn no_content() -> ApiResult<Self> {
        Ok(Self { status: StatusCode::NO_CONTENT, headers: HeaderMap::new(), body: Vec::new() })
    }

    pub fn problem(err: &ApiError) -> Self {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(secs) = err.retry_after() {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if err.status() == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        let body = serde_json::to_vec(&err.to_problem()).unwrap_or_default();
        Self { status: err.status(), headers, body }
    }

    pub fn into_lambda(self) -> lambda_http::Response<Body> {
        let mut res = lambda_http::Response::new(if self.body.is_empty() {
            Body::Empty
        } else {
            match String::from_utf8(self.body) {
                Ok(text) => Body::Text(text),
                Err(e) => Body::Binary(e.into_bytes()),
            }
        });
        *res.status_mut() = self.status;
        *res.headers_mut() = self.headers;
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct SignUp {
        email: String,
        age: u8,
    }

    impl Validate for SignUp {
        fn validate(&self, v: &mut Validator) {
            v.email("email", &self.email);
            v.check(self.age >= 14, "age", "TOO_YOUNG", "you must be 14 or older");
        }
    }

    fn req(body: &str) -> ApiRequest {
        let mut r = ApiRequest::new(Method::Post, "/x");
        r.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
        r.body = body.as_bytes().to_vec();
        r.max_body = 100;
        r
    }

    #[test]
    fn parses_and_validates() {
        let ok: SignUp = req(r#"{"email":"a@b.co","age":20}"#).json().unwrap();
        assert_eq!(ok.age, 20);

        let err = req(r#"{"email":"nope","age":3}"#).json::<SignUp>().unwrap_err();
        let p = err.to_problem();
        assert_eq!((p.status, p.code.as_str()), (400, "VALIDATION_FAILED"));
        assert_eq!(p.errors.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(), ["email", "age"]);
    }

    #[test]
    fn names_the_field_a_bad_body_broke() {
        let err = req(r#"{"email":"a@b.co","age":"old"}"#).json::<SignUp>().unwrap_err();
        assert_eq!(err.to_problem().errors[0].field, "age");
        let err = req(r#"{"email":"a@b.co"}"#).json::<SignUp>().unwrap_err();
        assert_eq!(err.to_problem().errors[0].field, "age");
        let err = req(r#"{"email":"a@b.co","age":1,"role":"ADMIN"}"#).json::<SignUp>().unwrap_err();
        assert_eq!(err.code(), "VALIDATION_FAILED");
    }

    #[test]
    fn refuses_malformed_empty_oversized_and_non_json_bodies() {
        assert_eq!(req("{not json").json::<SignUp>().unwrap_err().code(), "MALFORMED_JSON");
        assert_eq!(req("  ").json::<SignUp>().unwrap_err().code(), "BODY_REQUIRED");
        assert_eq!(req(&format!(r#"{{"email":"{}"}}"#, "a".repeat(200))).json::<SignUp>().unwrap_err().status(), 413);
        let mut r = req(r#"{"email":"a@b.co","age":20}"#);
        r.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        assert_eq!(r.json::<SignUp>().unwrap_err().status(), 415);
    }

    #[test]
    fn refuses_arrays_for_objects_and_trailing_garbage() {
        assert_eq!(req(r#"["a@b.co", 20]"#).json::<SignUp>().unwrap_err().code(), "MALFORMED_JSON");
        assert_eq!(
            req(r#"{"email":"a@b.co","age":20} garbage"#).json::<SignUp>().unwrap_err().code(),
            "MALFORMED_JSON"
        );
        assert_eq!(req(r#"{"email":"a@b.co","age":20}{}"#).json::<SignUp>().unwrap_err().code(), "MALFORMED_JSON");
        assert_eq!(req("  {\"email\":\"a@b.co\",\"age\":20}\n ").json::<SignUp>().unwrap().age, 20);
    }

    #[test]
    fn page_limits_are_bounded() {
        let mut r = ApiRequest::new(Method::Get, "/x");
        assert_eq!(r.limit(9, 50).unwrap(), 9);
        r.query.insert("limit".into(), vec!["50".into()]);
        assert_eq!(r.limit(9, 50).unwrap(), 50);
        for bad in ["0", "51", "-1", "ten"] {
            r.query.insert("limit".into(), vec![bad.into()]);
            assert_eq!(r.limit(9, 50).unwrap_err().code(), "VALIDATION_FAILED", "{bad}");
        }
    }
}
