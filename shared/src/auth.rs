//! Who is calling: access tokens (JWT, HS256 pinned) and the identity they carry.
//!
//! The identity of a request comes only from a verified token, never from a request body.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::ApiError;

/// The audience every access token is issued for.
const AUDIENCE: &str = "petplatform-api";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    User,
    Advertiser,
    Admin,
}

/// What a token may be used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TokenScope {
    /// Everything the role allows.
    #[default]
    Full,
    /// Only changing the password (after signing in with a temporary password).
    PasswordChange,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: Role,
    #[serde(default)]
    pub scope: TokenScope,
    /// The refresh-token family (session) this token belongs to.
    pub sid: String,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
}

/// The verified caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub user_id: String,
    pub role: Role,
    pub scope: TokenScope,
    pub session_id: String,
}

impl Identity {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

/// Issues and verifies access tokens with one key and a pinned algorithm.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    issuer: String,
    ttl_secs: i64,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenKeys").field("issuer", &self.issuer).finish_non_exhaustive()
    }
}

impl TokenKeys {
    pub fn new(secret: &[u8], issuer: impl Into<String>, ttl_secs: i64) -> Self {
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            issuer: issuer.into(),
            ttl_secs,
        }
    }

    pub fn ttl_secs(&self) -> i64 {
        self.ttl_secs
    }

    pub fn issue(
        &self,
        user_id: &str,
        role: Role,
        scope: TokenScope,
        session_id: &str,
        now_epoch: i64,
    ) -> Result<String, ApiError> {
        let claims = Claims {
            sub: user_id.to_string(),
            role,
            scope,
            sid: session_id.to_string(),
            iss: self.issuer.clone(),
            aud: AUDIENCE.to_string(),
            iat: now_epoch,
            exp: now_epoch + self.ttl_secs,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).map_err(ApiError::internal)
    }

    /// Verifies signature (HS256 only: `none` and every other algorithm are refused), issuer,
    /// audience and expiry.
    pub fn verify(&self, token: &str) -> Result<Identity, ApiError> {
        let mut v = Validation::new(Algorithm::HS256);
        v.algorithms = vec![Algorithm::HS256];
        v.set_issuer(&[&self.issuer]);
        v.set_audience(&[AUDIENCE]);
        v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        v.leeway = 5;
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &v).map_err(|e| {
            let expired = matches!(e.kind(), jsonwebtoken::errors::ErrorKind::ExpiredSignature);
            if expired {
                ApiError::unauthorized("TOKEN_EXPIRED", "The access token has expired.")
            } else {
                ApiError::unauthorized("INVALID_TOKEN", "The access token is not valid.")
            }
        })?;
        let c = data.claims;
        Ok(Identity { user_id: c.sub, role: c.role, scope: c.scope, session_id: c.sid })
    }
}

/// The bearer token of an `Authorization` header value.
pub fn bearer(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    fn keys() -> TokenKeys {
        TokenKeys::new(b"0123456789abcdef0123456789abcdef", "petplatform", 900)
    }

    #[test]
    fn issues_and_verifies() {
        let k = keys();
        let now = chrono::Utc::now().timestamp();
        let t = k.issue("u1", Role::User, TokenScope::Full, "s1", now).unwrap();
        let id = k.verify(&t).unwrap();
        assert_eq!(id.user_id, "u1");
        assert_eq!(id.scope, TokenScope::Full);
    }

    #[test]
    fn refuses_alg_none_expired_tampered_and_foreign_keys() {
        let k = keys();
        let now = chrono::Utc::now().timestamp();
        let t = k.issue("u1", Role::User, TokenScope::Full, "s1", now).unwrap();
        let parts: Vec<&str> = t.split('.').collect();

        let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        assert!(k.verify(&format!("{none_header}.{}.", parts[1])).is_err());

        let admin_claims =
            String::from_utf8(URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap().replace("USER", "ADMIN");
        let tampered = format!("{}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode(admin_claims), parts[2]);
        assert_eq!(k.verify(&tampered).unwrap_err().code(), "INVALID_TOKEN");

        let old = k.issue("u1", Role::User, TokenScope::Full, "s1", now - 3600).unwrap();
        assert_eq!(k.verify(&old).unwrap_err().code(), "TOKEN_EXPIRED");

        let other = TokenKeys::new(b"another secret of thirty-two byt", "petplatform", 900);
        assert!(k.verify(&other.issue("u1", Role::Admin, TokenScope::Full, "s", now).unwrap()).is_err());
    }

    #[test]
    fn parses_bearer_headers() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer  abc "), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearer "), None);
    }
}
