//! The media CDN stand-in: what the CloudFront distribution in front of the media bucket does
//! (`MediaDistribution` in the template). It forwards `GET`/`HEAD` with path and query to the
//! bucket under the bucket's own host — so a presigned URL's signature holds and S3 still checks
//! it — and adds the response headers policy's security headers, which S3 itself cannot send.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;

/// The content security policy media is served with: nothing in a media file may run or load.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; sandbox";
/// The referrer policy media is served with.
pub const REFERRER_POLICY: &str = "no-referrer";

/// Headers of the bucket's answer that pass through to the client.
const PASSED: &[&str] = &[
    "content-type",
    "content-length",
    "content-range",
    "accept-ranges",
    "etag",
    "last-modified",
    "cache-control",
    "content-disposition",
];

#[derive(Clone)]
struct Origin {
    bucket_url: String,
    http: reqwest::Client,
}

/// A router forwarding to the S3 stand-in at `bucket_url`.
pub fn router(bucket_url: String) -> axum::Router {
    axum::Router::new().fallback(forward).with_state(Origin { bucket_url, http: reqwest::Client::new() })
}

async fn forward(State(origin): State<Origin>, req: Request) -> Response {
    let method = req.method().clone();
    let mut res = if method != http::Method::GET && method != http::Method::HEAD {
        // The distribution allows only reading methods.
        let mut r = Response::new(Body::from("method not allowed"));
        *r.status_mut() = http::StatusCode::METHOD_NOT_ALLOWED;
        r.headers_mut().insert("allow", http::HeaderValue::from_static("GET, HEAD"));
        r
    } else {
        let path = req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let mut out = origin.http.request(method, format!("{}{path}", origin.bucket_url));
        if let Some(range) = req.headers().get("range") {
            out = out.header("range", range);
        }
        match out.send().await {
            Ok(answer) => {
                let mut r = Response::builder().status(answer.status().as_u16());
                for name in PASSED {
                    if let Some(v) = answer.headers().get(*name) {
                        r = r.header(*name, v.as_bytes());
                    }
                }
                let body = answer.bytes().await.unwrap_or_default();
                r.body(Body::from(body)).unwrap_or_default()
            }
            Err(_) => {
                let mut r = Response::new(Body::from("the origin did not answer"));
                *r.status_mut() = http::StatusCode::BAD_GATEWAY;
                r
            }
        }
    };
    let h = res.headers_mut();
    h.insert("x-content-type-options", http::HeaderValue::from_static("nosniff"));
    h.insert("content-security-policy", http::HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    h.insert("referrer-policy", http::HeaderValue::from_static(REFERRER_POLICY));
    res
}
