//! The one error type of the product and its mapping to `application/problem+json` (RFC 9457).
//!
//! Every failure a client can cause is a variant with a stable machine-readable `code`; anything
//! else is `Internal`, which is logged with its cause and answered with a generic 500 that leaks
//! nothing.

use http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

/// One problem with one field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldProblem {
    /// The field, as a JSON pointer-ish path (`email`, `items[2].price`).
    pub field: String,
    /// A stable code for the problem (`REQUIRED`, `TOO_LONG`, `INVALID_FORMAT`, ...).
    pub code: String,
    /// A human-readable explanation.
    pub message: String,
}

impl FieldProblem {
    pub fn new(field: impl Into<String>, code: &str, message: impl Into<String>) -> Self {
        Self { field: field.into(), code: code.to_string(), message: message.into() }
    }
}

/// The body of every error response.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    /// A URI naming the problem type (`urn:problem:<code>`).
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Stable machine-readable code, e.g. `VALIDATION_FAILED`, `CONFLICT`, `INVALID_CURSOR`.
    pub code: String,
    /// Per-field problems of a validation error.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldProblem>,
    /// Extra members for particular codes (e.g. `until` for a blocked account).
    #[serde(flatten, skip_serializing_if = "serde_json::Map::is_empty")]
    #[schema(value_type = Object)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// Every error a handler, worker or job can return.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("the request is not valid")]
    Validation(Vec<FieldProblem>),
    #[error("{detail}")]
    BadRequest { code: &'static str, detail: String },
    #[error("{detail}")]
    Unauthorized { code: &'static str, detail: String },
    #[error("{detail}")]
    Forbidden { code: &'static str, detail: String, extra: serde_json::Map<String, serde_json::Value> },
    #[error("{detail}")]
    NotFound { code: &'static str, detail: String },
    #[error("{detail}")]
    Conflict { code: &'static str, detail: String },
    #[error("{detail}")]
    Locked { code: &'static str, detail: String },
    #[error("the request body is too large")]
    PayloadTooLarge { limit: usize },
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("too many requests")]
    TooManyRequests { code: &'static str, retry_after_secs: u64 },
    /// An external provider did not answer; the request may be retried later (`Retry-After`).
    #[error("{detail}")]
    Unavailable { code: &'static str, detail: String },
    /// A payment provider refused to take the money (a declined card, an expired session…):
    /// `extra` carries the provider's own code and message.
    #[error("{detail}")]
    PaymentRequired { code: &'static str, detail: String, extra: serde_json::Map<String, serde_json::Value> },
    /// A domain's own error (see [`DomainError`]), kept as its typed value so that the code that
    /// raised it can match it again with [`ApiError::is`].
    #[error("{detail}")]
    Domain { status: StatusCode, code: &'static str, detail: &'static str, raised: Raised },
    /// A failure of ours or of a dependency. The cause is logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
}

/// The typed value behind an [`ApiError::Domain`].
#[derive(Clone)]
pub struct Raised(std::sync::Arc<dyn std::any::Any + Send + Sync>);

impl std::fmt::Debug for Raised {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Raised(..)")
    }
}

/// The errors of one domain: an enum (declared with [`domain_errors!`](crate::domain_errors!)),
/// each variant with its status, stable code and message, turned into problem+json in one place
/// (`From<E> for ApiError`). Storage conditions name these variants (`Write::when(…, PostError::…)`)
/// and the caller matches the variant, not a string: `result.tolerate(&LikeError::AlreadyLiked)`.
pub trait DomainError: std::fmt::Debug + PartialEq + Send + Sync + 'static {
    fn status(&self) -> u16;
    fn code(&self) -> &'static str;
    fn detail(&self) -> &'static str;
}

impl<E: DomainError> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError::Domain {
            status: StatusCode::from_u16(e.status()).unwrap_or(StatusCode::CONFLICT),
            code: e.code(),
            detail: e.detail(),
            raised: Raised(std::sync::Arc::new(e)),
        }
    }
}

/// Declares a domain's error enum: `Variant => (status, "CODE", "message")`.
#[macro_export]
macro_rules! domain_errors {
    ($(#[$meta:meta])* $vis:vis enum $name:ident { $($(#[$vmeta:meta])* $variant:ident => ($status:expr, $code:expr, $detail:expr)),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        $vis enum $name { $($(#[$vmeta])* $variant),* }

        impl $crate::error::DomainError for $name {
            fn status(&self) -> u16 {
                match self { $(Self::$variant => $status),* }
            }
            fn code(&self) -> &'static str {
                match self { $(Self::$variant => $code),* }
            }
            fn detail(&self) -> &'static str {
                match self { $(Self::$variant => $detail),* }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str($crate::error::DomainError::detail(self))
            }
        }

        #[allow(dead_code)]
        impl $name {
            /// Every status and code this enum answers with (for the API reference).
            pub const CODES: &'static [(u16, &'static str)] = &[$(($status, $code)),*];
        }
    };
}

/// Matching a domain error that is an expected outcome rather than a failure.
pub trait Tolerate<T> {
    /// `Ok(Some(v))` on success, `Ok(None)` when the error is `expected`, the error otherwise:
    /// `ctx.table.transact(writes).await.tolerate(&LikeError::AlreadyLiked)?`.
    fn tolerate<E: DomainError>(self, expected: &E) -> ApiResult<Option<T>>;
}

impl<T> Tolerate<T> for ApiResult<T> {
    fn tolerate<E: DomainError>(self, expected: &E) -> ApiResult<Option<T>> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.is(expected) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// A code read from stored data (a [`crate::account::WriteHold`]) as the `&'static str` every
/// error carries. Each distinct code is kept once; past a few dozen, a stored code is answered as
/// plain `FORBIDDEN` rather than kept, so stored data cannot grow the process.
pub fn stored_code(code: &str) -> &'static str {
    static KEPT: std::sync::Mutex<Vec<&'static str>> = std::sync::Mutex::new(Vec::new());
    let mut kept = KEPT.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(k) = kept.iter().find(|k| **k == code) {
        return k;
    }
    let plain = !code.is_empty() && code.len() <= 64 && code.bytes().all(|b| b.is_ascii_uppercase() || b == b'_');
    if !plain || kept.len() >= 32 {
        return "FORBIDDEN";
    }
    let k: &'static str = Box::leak(code.to_string().into_boxed_str());
    kept.push(k);
    k
}

impl ApiError {
    pub fn validation(field: impl Into<String>, code: &str, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldProblem::new(field, code, message)])
    }
    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        Self::BadRequest { code, detail: detail.into() }
    }
    pub fn unauthorized(code: &'static str, detail: impl Into<String>) -> Self {
        Self::Unauthorized { code, detail: detail.into() }
    }
    pub fn forbidden(code: &'static str, detail: impl Into<String>) -> Self {
        Self::Forbidden { code, detail: detail.into(), extra: Default::default() }
    }
    pub fn not_found(code: &'static str, detail: impl Into<String>) -> Self {
        Self::NotFound { code, detail: detail.into() }
    }
    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        Self::Conflict { code, detail: detail.into() }
    }
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Self::Internal(cause.to_string())
    }

    /// Whether this is the domain error `e`.
    pub fn is<E: DomainError>(&self, e: &E) -> bool {
        matches!(self, Self::Domain { raised, .. } if raised.0.downcast_ref::<E>() == Some(e))
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::Domain { status, .. } => *status,
            Self::Validation(_) | Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            Self::Forbidden { .. } => StatusCode::FORBIDDEN,
            Self::NotFound { .. } => StatusCode::NOT_FOUND,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::Locked { .. } => StatusCode::LOCKED,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::PaymentRequired { .. } => StatusCode::PAYMENT_REQUIRED,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::Validation(_) => "VALIDATION_FAILED",
            Self::BadRequest { code, .. }
            | Self::Unauthorized { code, .. }
            | Self::Forbidden { code, .. }
            | Self::NotFound { code, .. }
            | Self::Conflict { code, .. }
            | Self::Locked { code, .. }
            | Self::Unavailable { code, .. }
            | Self::PaymentRequired { code, .. }
            | Self::TooManyRequests { code, .. }
            | Self::Domain { code, .. } => code,
            Self::PayloadTooLarge { .. } => "PAYLOAD_TOO_LARGE",
            Self::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            Self::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            Self::Internal(_) => "INTERNAL_ERROR",
        }
    }

    /// The `Retry-After` seconds of a rate-limit or unavailable answer.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Self::TooManyRequests { retry_after_secs, .. } => Some(*retry_after_secs),
            Self::Unavailable { .. } => Some(2),
            Self::Domain { status, .. } if *status == StatusCode::SERVICE_UNAVAILABLE => Some(1),
            _ => None,
        }
    }

    /// The problem document a client sees. Internal causes are replaced by a generic text.
    pub fn to_problem(&self) -> Problem {
        let status = self.status();
        let detail = match self {
            Self::Internal(_) => Some("Something went wrong on our side. Try again later.".to_string()),
            Self::Validation(_) => Some("One or more fields are invalid.".to_string()),
            Self::PayloadTooLarge { limit } => Some(format!("The body may be at most {limit} bytes.")),
            other => Some(other.to_string()),
        };
        let errors = match self {
            Self::Validation(list) => list.clone(),
            _ => Vec::new(),
        };
        let extra = match self {
            Self::Forbidden { extra, .. } | Self::PaymentRequired { extra, .. } => extra.clone(),
            Self::TooManyRequests { retry_after_secs, .. } => {
                let mut m = serde_json::Map::new();
                m.insert("retryAfter".into(), (*retry_after_secs).into());
                m
            }
            _ => Default::default(),
        };
        Problem {
            problem_type: format!("urn:problem:{}", self.code().to_ascii_lowercase().replace('_', "-")),
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            status: status.as_u16(),
            detail,
            code: self.code().to_string(),
            errors,
            extra,
        }
    }
}

impl From<serde_dynamo::Error> for ApiError {
    fn from(e: serde_dynamo::Error) -> Self {
        Self::internal(format!("item mapping: {e}"))
    }
}

impl From<serde_json::Error> for ApiError {
    fn from(e: serde_json::Error) -> Self {
        Self::internal(format!("json: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_leak_nothing() {
        let p = ApiError::internal("dynamodb at 10.0.0.1 said secret things").to_problem();
        let text = serde_json::to_string(&p).unwrap();
        assert_eq!(p.status, 500);
        assert_eq!(p.code, "INTERNAL_ERROR");
        assert!(!text.contains("10.0.0.1"), "{text}");
    }

    #[test]
    fn validation_errors_list_fields() {
        let p = ApiError::validation("email", "INVALID_FORMAT", "not an email").to_problem();
        let v = serde_json::to_value(&p).unwrap();
        assert_eq!(v["status"], 400);
        assert_eq!(v["code"], "VALIDATION_FAILED");
        assert_eq!(v["type"], "urn:problem:validation-failed");
        assert_eq!(v["errors"][0]["field"], "email");
    }

    crate::domain_errors! {
        enum SampleError {
            Taken => (409, "NAME_TAKEN", "This name is taken."),
            Missing => (404, "THING_NOT_FOUND", "No such thing."),
        }
    }

    #[test]
    fn domain_errors_are_problems_and_match_by_value() {
        let e: ApiError = SampleError::Taken.into();
        let p = serde_json::to_value(e.to_problem()).unwrap();
        assert_eq!((p["status"].as_u64(), p["code"].as_str()), (Some(409), Some("NAME_TAKEN")));
        assert_eq!(p["detail"], "This name is taken.");
        assert!(e.is(&SampleError::Taken));
        assert!(!e.is(&SampleError::Missing));
        assert!(!ApiError::conflict("NAME_TAKEN", "x").is(&SampleError::Taken), "a string code is not the variant");
        let r: ApiResult<()> = Err(SampleError::Taken.into());
        assert_eq!(r.tolerate(&SampleError::Taken).unwrap(), None);
        let r: ApiResult<()> = Err(SampleError::Missing.into());
        assert!(r.tolerate(&SampleError::Taken).is_err());
    }

    #[test]
    fn rate_limits_carry_retry_after() {
        let e = ApiError::TooManyRequests { code: "RATE_LIMITED", retry_after_secs: 42 };
        assert_eq!(e.retry_after(), Some(42));
        assert_eq!(serde_json::to_value(e.to_problem()).unwrap()["retryAfter"], 42);
    }
}
