//! Typed handlers. A handler's signature says what it takes and what it answers:
//!
//! ```ignore
//! async fn create(ctx: Arc<AppContext>, me: Caller, Json(body): Json<PostInput>) -> ApiResult<Created<PostView>>
//! ```
//!
//! Each argument after the context is an extractor ([`FromRequest`]): the signed-in [`Caller`],
//! an optional [`Viewer`], [`Path`] parameters, a validated [`Json`] body, query [`Params`], the
//! [`Source`] address. The return type is a [`Reply`]: [`Okay`], [`Created`], [`Accepted`],
//! [`NoContent`] (or a hand-built [`ApiResponse`] for the rare answer whose status depends on the
//! outcome). The route's OpenAPI request body and success responses are read off these types by
//! [`handler!`](crate::handler!), so the document cannot drift from what the handler does.

use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use utoipa::openapi::{RefOr, Schema};

use crate::auth::Identity;
use crate::context::AppContext;
use crate::error::{ApiError, ApiResult};
pub use crate::http::Params;
use crate::http::{ApiRequest, ApiResponse};
use crate::schema::{Documented, Schemas};
use crate::validate::Validate;

pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// What the runtime calls: a handler with its arguments extracted and its answer encoded.
pub type HttpHandler = fn(Arc<AppContext>, ApiRequest) -> BoxFuture<ApiResult<ApiResponse>>;

/// A success answer in the OpenAPI document.
#[derive(Clone)]
pub struct ReplyDoc {
    pub status: u16,
    pub body: Option<RefOr<Schema>>,
}

/// A typed handler made callable and documented; built by [`handler!`](crate::handler!).
#[derive(Debug, Clone, Copy)]
pub struct Endpoint {
    pub call: HttpHandler,
    /// The request body's schema, from the handler's [`Json`] argument.
    pub request: fn(&mut Schemas) -> Option<RefOr<Schema>>,
    /// The success answers, from the handler's return type (none for a hand-built response).
    pub replies: fn(&mut Schemas) -> Vec<ReplyDoc>,
}

/// Wraps a typed handler function into an [`Endpoint`] for `Function::http`.
#[macro_export]
macro_rules! handler {
    ($f:expr) => {
        $crate::handler::Endpoint {
            call: |ctx, req| $crate::handler::Handler::call($f, ctx, req),
            request: |out| $crate::handler::request_of(&$f, out),
            replies: |out| $crate::handler::replies_of(&$f, out),
        }
    };
}

/// Something a handler takes, read from the request.
pub trait FromRequest: Sized {
    fn from_request(req: &ApiRequest) -> ApiResult<Self>;
    /// The request body's schema, for an extractor that reads the body.
    fn body_schema(_out: &mut Schemas) -> Option<RefOr<Schema>> {
        None
    }
}

/// Something a handler answers.
pub trait Reply {
    fn into_response(self) -> ApiResult<ApiResponse>;
    fn document(out: &mut Schemas) -> Vec<ReplyDoc>;
}

/// A function usable as a handler: `async fn(Arc<AppContext>, A, B, …) -> Result<R, E>`.
pub trait Handler<Args>: Copy + Send + Sync + 'static {
    fn call(self, ctx: Arc<AppContext>, req: ApiRequest) -> BoxFuture<ApiResult<ApiResponse>>;
    fn request(out: &mut Schemas) -> Option<RefOr<Schema>>;
    fn replies(out: &mut Schemas) -> Vec<ReplyDoc>;
}

pub fn request_of<H: Handler<A>, A>(_: &H, out: &mut Schemas) -> Option<RefOr<Schema>> {
    H::request(out)
}

pub fn replies_of<H: Handler<A>, A>(_: &H, out: &mut Schemas) -> Vec<ReplyDoc> {
    H::replies(out)
}

macro_rules! impl_handler {
    ($($arg:ident),*) => {
        #[allow(non_snake_case, unused_mut, unused_variables)]
        impl<F, Fut, R, E, $($arg,)*> Handler<($($arg,)*)> for F
        where
            F: Fn(Arc<AppContext>, $($arg),*) -> Fut + Copy + Send + Sync + 'static,
            Fut: Future<Output = Result<R, E>> + Send + 'static,
            R: Reply,
            E: Into<ApiError>,
            $($arg: FromRequest + Send + 'static,)*
        {
            fn call(self, ctx: Arc<AppContext>, req: ApiRequest) -> BoxFuture<ApiResult<ApiResponse>> {
                $(let $arg = $arg::from_request(&req);)*
                Box::pin(async move {
                    $(let $arg = $arg?;)*
                    self(ctx, $($arg),*).await.map_err(Into::into)?.into_response()
                })
            }
            fn request(out: &mut Schemas) -> Option<RefOr<Schema>> {
                let mut body = None;
                $(body = body.or_else(|| $arg::body_schema(out));)*
                body
            }
            fn replies(out: &mut Schemas) -> Vec<ReplyDoc> {
                R::document(out)
            }
        }
    };
}

impl_handler!();
impl_handler!(A1);
impl_handler!(A1, A2);
impl_handler!(A1, A2, A3);
impl_handler!(A1, A2, A3, A4);
impl_handler!(A1, A2, A3, A4, A5);

// ---- extractors ----

pub use crate::http::Hidden;

/// The signed-in caller (the route's access rule has already let them in); 401 otherwise.
#[derive(Debug, Clone)]
pub struct Caller {
    pub identity: Identity,
    /// Whom the caller does not see (read with the session).
    pub hidden: Hidden,
}

impl Caller {
    /// Whether a block stands between the caller and `other`.
    pub fn hides(&self, other: &str) -> bool {
        self.hidden.contains(other)
    }
    /// The caller as the viewer of something public.
    pub fn as_viewer(&self) -> Viewer {
        Viewer { identity: Some(self.identity.clone()), hidden: self.hidden.clone() }
    }
}

impl Deref for Caller {
    type Target = Identity;
    fn deref(&self) -> &Identity {
        &self.identity
    }
}

impl FromRequest for Caller {
    fn from_request(req: &ApiRequest) -> ApiResult<Self> {
        Ok(Caller { identity: req.caller()?.clone(), hidden: req.hidden.clone() })
    }
}

/// Whoever is looking at a public resource: a signed-in user or nobody.
#[derive(Debug, Clone, Default)]
pub struct Viewer {
    pub identity: Option<Identity>,
    /// Whom a signed-in viewer does not see (empty for nobody).
    pub hidden: Hidden,
}

impl Viewer {
    /// Nobody signed in.
    pub fn anonymous() -> Self {
        Self::default()
    }
    pub fn id(&self) -> Option<&str> {
        self.identity.as_ref().map(|i| i.user_id.as_str())
    }
    /// Whether a block stands between the viewer and `other` (never for nobody).
    pub fn hides(&self, other: &str) -> bool {
        self.hidden.contains(other)
    }
    pub fn is_admin(&self) -> bool {
        self.identity.as_ref().is_some_and(Identity::is_admin)
    }
}

impl FromRequest for Viewer {
    fn from_request(req: &ApiRequest) -> ApiResult<Self> {
        Ok(Viewer { identity: req.identity.clone(), hidden: req.hidden.clone() })
    }
}

/// The route's path parameters: one parameter reads as a string (or a newtype of one), several as
/// a struct with a field per parameter.
#[derive(Debug, Clone)]
pub struct Path<T>(pub T);

impl<T: DeserializeOwned> FromRequest for Path<T> {
    fn from_request(req: &ApiRequest) -> ApiResult<Self> {
        let value = if req.path_params.len() == 1 {
            serde_json::Value::String(req.path_params.values().next().cloned().unwrap_or_default())
        } else {
            serde_json::Value::Object(
                req.path_params.iter().map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone()))).collect(),
            )
        };
        serde_json::from_value(value)
            .map(Path)
            .map_err(|e| ApiError::internal(format!("path parameters do not fit the handler: {e}")))
    }
}

/// A JSON object body, parsed and validated (see [`ApiRequest::json`]).
#[derive(Debug, Clone)]
pub struct Json<T>(pub T);

impl<T: DeserializeOwned + Validate + utoipa::ToSchema> FromRequest for Json<T> {
    fn from_request(req: &ApiRequest) -> ApiResult<Self> {
        req.json().map(Json)
    }
    fn body_schema(out: &mut Schemas) -> Option<RefOr<Schema>> {
        Some(crate::schema::schema::<T>(out))
    }
}

/// A JSON body that may be left out: an empty body reads as `T::default()`.
#[derive(Debug, Clone)]
pub struct OptionalJson<T>(pub T);

impl<T: DeserializeOwned + Validate + Default + utoipa::ToSchema> FromRequest for OptionalJson<T> {
    fn from_request(req: &ApiRequest) -> ApiResult<Self> {
        if req.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(T::default()));
        }
        req.json().map(OptionalJson)
    }
    fn body_schema(out: &mut Schemas) -> Option<RefOr<Schema>> {
        Some(crate::schema::schema::<T>(out))
    }
}

impl FromRequest for Params {
    fn from_request(req: &ApiRequest) -> ApiResult<Self> {
        Ok(Params(req.query.clone()))
    }
}

/// The address the request came from (per-source rate limits).
#[derive(Debug, Clone)]
pub struct Source(pub Option<String>);

impl Source {
    pub fn as_deref(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

impl FromRequest for Source {
    fn from_request(req: &ApiRequest) -> ApiResult<Self> {
        Ok(Source(req.source_ip.clone()))
    }
}

/// The request's id (API Gateway's), for records that must point back to the request.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

impl FromRequest for RequestId {
    fn from_request(req: &ApiRequest) -> ApiResult<Self> {
        Ok(RequestId(req.request_id.clone()))
    }
}

/// Whether the client asked for CSV (`Accept: text/csv`) rather than JSON, for the few reports
/// that offer both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WantsCsv(pub bool);

impl FromRequest for WantsCsv {
    fn from_request(req: &ApiRequest) -> ApiResult<Self> {
        let accept = req.header("accept").unwrap_or_default().to_ascii_lowercase();
        Ok(WantsCsv(accept.split(',').any(|m| m.split(';').next().unwrap_or_default().trim() == "text/csv")))
    }
}

// ---- replies ----

/// 200 with a JSON body.
#[derive(Debug)]
pub struct Okay<T>(pub T);
/// 201 with the created thing.
#[derive(Debug)]
pub struct Created<T>(pub T);
/// 202: taken, to be done later.
#[derive(Debug)]
pub struct Accepted<T>(pub T);
/// 204, no body.
#[derive(Debug)]
pub struct NoContent;

macro_rules! json_reply {
    ($ty:ident, $status:expr) => {
        impl<T: Serialize + Documented> Reply for $ty<T> {
            fn into_response(self) -> ApiResult<ApiResponse> {
                ApiResponse::json(http::StatusCode::from_u16($status).unwrap_or_default(), &self.0)
            }
            fn document(out: &mut Schemas) -> Vec<ReplyDoc> {
                vec![ReplyDoc { status: $status, body: Some(T::schema(out)) }]
            }
        }
    };
}
json_reply!(Okay, 200);
json_reply!(Created, 201);
json_reply!(Accepted, 202);

impl Reply for NoContent {
    fn into_response(self) -> ApiResult<ApiResponse> {
        ApiResponse::no_content()
    }
    fn document(_: &mut Schemas) -> Vec<ReplyDoc> {
        vec![ReplyDoc { status: 204, body: None }]
    }
}

/// A hand-built answer: its statuses are declared on the route with `responses`.
impl Reply for ApiResponse {
    fn into_response(self) -> ApiResult<ApiResponse> {
        Ok(self)
    }
    fn document(_: &mut Schemas) -> Vec<ReplyDoc> {
        Vec::new()
    }
}

/// 200 with a CSV document (`text/csv; charset=utf-8`, offered as a download named
/// `filename`): the alternative a route gives to a client that sent [`WantsCsv`]. The route's
/// JSON answer is the documented one; its description says CSV is offered.
#[derive(Debug)]
pub struct Csv {
    pub filename: String,
    pub body: String,
}

impl Reply for Csv {
    fn into_response(self) -> ApiResult<ApiResponse> {
        let mut headers = http::HeaderMap::new();
        headers.insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("text/csv; charset=utf-8"));
        let disposition = format!("attachment; filename=\"{}\"", self.filename.replace(['"', '\\', '\r', '\n'], "_"));
        if let Ok(v) = http::HeaderValue::from_str(&disposition) {
            headers.insert(http::header::CONTENT_DISPOSITION, v);
        }
        Ok(ApiResponse { status: http::StatusCode::OK, headers, body: self.body.into_bytes() })
    }
    fn document(_: &mut Schemas) -> Vec<ReplyDoc> {
        Vec::new()
    }
}

/// One of two answers, e.g. 200 for a returning user or 201 for a new one; both are documented.
#[derive(Debug)]
pub enum Either<A, B> {
    First(A),
    Second(B),
}

impl<A: Reply, B: Reply> Reply for Either<A, B> {
    fn into_response(self) -> ApiResult<ApiResponse> {
        match self {
            Either::First(a) => a.into_response(),
            Either::Second(b) => b.into_response(),
        }
    }
    fn document(out: &mut Schemas) -> Vec<ReplyDoc> {
        let mut docs = A::document(out);
        docs.extend(B::document(out));
        docs
    }
}
