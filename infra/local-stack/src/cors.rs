//! CORS as API Gateway applies it, from `infra/api-config.json` — the same file the template's
//! `CorsConfiguration` is generated from. Allowed origins are configuration: the deployed API
//! takes them as a stack parameter, the local stack from `CORS_ALLOW_ORIGINS` when set.

use serde::{Deserialize, Serialize};

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

    pub fn allows_origin(&self, origin: &str) -> bool {
        self.allow_origins.iter().any(|o| o == "*" || o.eq_ignore_ascii_case(origin))
    }

    /// Headers of a preflight answer for an allowed origin.
    pub fn preflight_headers(&self, origin: &str) -> Vec<(&'static str, String)> {
        let mut h = vec![
            ("access-control-allow-origin", origin.to_string()),
            ("access-control-allow-methods", self.allow_methods.join(",")),
            ("access-control-allow-headers", self.allow_headers.join(",")),
            ("access-control-max-age", self.max_age.to_string()),
            ("vary", "origin".to_string()),
        ];
        if self.credentials_allowed() {
            h.push(("access-control-allow-credentials", "true".into()));
        }
        h
    }

    /// Headers added to an actual response for an allowed origin.
    pub fn response_headers(&self, origin: &str) -> Vec<(&'static str, String)> {
        let mut h = vec![("access-control-allow-origin", origin.to_string()), ("vary", "origin".to_string())];
        if !self.expose_headers.is_empty() {
            h.push(("access-control-expose-headers", self.expose_headers.join(",")));
        }
        if self.credentials_allowed() {
            h.push(("access-control-allow-credentials", "true".into()));
        }
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_file_parses() {
        let c = Cors::from_config_file();
        assert!(!c.allow_origins.is_empty());
        assert!(c.allows_origin(&c.allow_origins[0].clone()));
        assert!(!c.allows_origin("https://evil.example"));
    }

    #[test]
    fn a_wildcard_origin_never_comes_with_credentials() {
        let c = Cors { allow_origins: vec!["*".into()], allow_credentials: true, ..Cors::from_config_file() };
        assert!(c.allows_origin("https://any.example"));
        assert!(!c.credentials_allowed());
        for (k, _) in
            c.preflight_headers("https://any.example").into_iter().chain(c.response_headers("https://any.example"))
        {
            assert_ne!(k, "access-control-allow-credentials");
        }
        let listed = Cors { allow_origins: vec!["https://app.example".into()], allow_credentials: true, ..c };
        assert!(listed.credentials_allowed());
    }
}
