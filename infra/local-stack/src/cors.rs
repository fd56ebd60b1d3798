//! CORS as API Gateway applies it, from `infra/api-config.json` — the same file the template's
//! `CorsConfiguration` is generated from. Allowed origins are configuration: the deployed API
//! takes them as a stack parameter, the local stack from `CORS_ALLOW_ORIGINS` when set.

use std::time::Duration;

use http::{HeaderName, HeaderValue, Method, StatusCode, header};
use serde::{Deserialize, Serialize};
use tower_http::cors::{AllowHeaders, AllowOrigin, CorsLayer};

const API_CONFIG: &str = include_str!("../../api-config.json");

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Cors {
    pub allow_origins: Vec<String>,
    pub allow_methods: Vec<String>,
    pub allow_headers: Vec<String>,
    pub expose_headers: Vec<String>,
    pub allow_credentials: bool,
    pub max_age: u32,
}

#[derive(Debug, Deserialize)]
struct ApiConfig {
    cors: Cors,
}

impl Cors {
    /// The checked-in configuration.
    pub fn from_config_file() -> Self {
        serde_json::from_str::<ApiConfig>(API_CONFIG).expect("infra/api-config.json is valid (checked by a test)").cors
    }

    /// With `CORS_ALLOW_ORIGINS` (comma-separated) replacing the origins, when set.
    pub fn from_config_and_env() -> Self {
        let mut c = Self::from_config_file();
        if let Ok(v) = std::env::var("CORS_ALLOW_ORIGINS") {
            c.allow_origins = v.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
        }
        c
    }

    /// Credentials are allowed only with listed origins: a wildcard with credentials would let
    /// any site act with a user's cookies, so a wildcard turns them off (here and in the template).
    pub fn credentials_allowed(&self) -> bool {
        self.allow_credentials && !self.allow_origins.iter().any(|o| o.trim() == "*")
    }

    /// The HTTP API's CORS, as `tower-http`'s layer: the listed origins (or any, for `*`), the
    /// methods and headers a preflight allows, the headers a response exposes. Every `OPTIONS`
    /// is a preflight the layer answers, as API Gateway does with CORS configured.
    pub fn layer(&self) -> CorsLayer {
        let layer = CorsLayer::new()
            .allow_origin(self.origins())
            .allow_methods(self.allow_methods.iter().filter_map(|m| m.parse::<Method>().ok()).collect::<Vec<_>>())
            .allow_headers(names(&self.allow_headers))
            .expose_headers(names(&self.expose_headers))
            .max_age(Duration::from_secs(self.max_age.into()));
        if self.credentials_allowed() { layer.allow_credentials(true) } else { layer }
    }

    /// The media bucket's CORS rule (as the template writes it): browsers of the listed origins
    /// may read and upload with any headers, and read the `ETag`.
    /// The local bucket's: the configured origins, and the stack's own pages (the demo at
    /// `/demo` uploads photos from a loopback origin, on whatever port the stack took).
    pub fn bucket_layer(&self) -> CorsLayer {
        let listed: Vec<HeaderValue> =
            self.allow_origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
        let any = self.allow_origins.iter().any(|o| o.trim() == "*");
        let origins = AllowOrigin::predicate(move |origin: &HeaderValue, _| {
            let loopback = origin.to_str().is_ok_and(|o| {
                o.strip_prefix("http://").and_then(|rest| rest.rsplit_once(':')).is_some_and(|(host, port)| {
                    (host == "127.0.0.1" || host == "localhost") && port.parse::<u16>().is_ok()
                })
            });
            any || loopback || listed.contains(origin)
        });
        CorsLayer::new()
            .allow_origin(origins)
            .allow_methods([Method::GET, Method::PUT, Method::HEAD])
            .allow_headers(AllowHeaders::mirror_request())
            .expose_headers([header::ETAG])
            .max_age(Duration::from_secs(self.max_age.into()))
    }

    fn origins(&self) -> AllowOrigin {
        if self.allow_origins.iter().any(|o| o.trim() == "*") {
            return AllowOrigin::any();
        }
        AllowOrigin::list(self.allow_origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    }
}

fn names(list: &[String]) -> Vec<HeaderName> {
    list.iter().filter_map(|h| h.parse().ok()).collect()
}

/// API Gateway answers a preflight `204 No Content`; `tower-http` answers `200`. A preflight's
/// answer is the only one that carries `access-control-allow-methods`.
pub async fn preflight_as_api_gateway(mut res: axum::response::Response) -> axum::response::Response {
    if res.status() == StatusCode::OK && res.headers().contains_key(header::ACCESS_CONTROL_ALLOW_METHODS) {
        *res.status_mut() = StatusCode::NO_CONTENT;
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_file_parses() {
        let c = Cors::from_config_file();
        assert!(!c.allow_origins.is_empty());
        let _ = c.layer();
        let _ = c.bucket_layer();
    }

    #[test]
    fn a_wildcard_origin_never_comes_with_credentials() {
        let c = Cors { allow_origins: vec!["*".into()], allow_credentials: true, ..Cors::from_config_file() };
        assert!(!c.credentials_allowed());
        let listed = Cors { allow_origins: vec!["https://app.example".into()], allow_credentials: true, ..c };
        assert!(listed.credentials_allowed());
    }
}
