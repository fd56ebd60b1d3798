//! Who is calling: access tokens (JWT, HS256 pinned) and the identity they carry.
//!
//! The identity of a request comes only from a verified token, never from a request body.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::ApiError;

/// The audience every access token is issued for.
const AUDIENCE: &str = "petplatform-api";

/// The longest role name a token carries.
const ROLE_MAX: usize = 24;

/// A role an account holds, carried in its tokens by name (`"USER"`). The kernel knows the two
/// every product has, [`Role::USER`] and [`Role::ADMIN`]; a domain declares any other with
/// [`Role::named`] and the routes it opens ([`crate::routes::Access::Role`]). A name held inline,
/// so that a role is `Copy` and a constant.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Role {
    name: [u8; ROLE_MAX],
    len: u8,
}

impl Role {
    pub const USER: Role = Role::named("USER");
    pub const ADMIN: Role = Role::named("ADMIN");

    /// A role by its name: capital letters and `_`, at most 24 (checked when the constant is
    /// built).
    pub const fn named(name: &str) -> Role {
        let bytes = name.as_bytes();
        assert!(!bytes.is_empty() && bytes.len() <= ROLE_MAX, "a role name has 1 to 24 characters");
        let mut out = [0u8; ROLE_MAX];
        let mut i = 0;
        while i < bytes.len() {
            assert!(bytes[i].is_ascii_uppercase() || bytes[i] == b'_', "a role name is capitals and _");
            out[i] = bytes[i];
            i += 1;
        }
        Role { name: out, len: bytes.len() as u8 }
    }

    fn parse(name: &str) -> Option<Role> {
        let ok =
            !name.is_empty() && name.len() <= ROLE_MAX && name.bytes().all(|b| b.is_ascii_uppercase() || b == b'_');
        ok.then(|| Role::named(name))
    }

    pub fn as_str(&self) -> &str {
        // Built only from checked ASCII.
        std::str::from_utf8(&self.name[..self.len as usize]).unwrap_or_default()
    }
}

impl std::fmt::Debug for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Role {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Role {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = std::borrow::Cow::<'de, str>::deserialize(d)?;
        Role::parse(&name).ok_or_else(|| serde::de::Error::custom("not a role name"))
    }
}

impl utoipa::PartialSchema for Role {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some("`USER`, `ADMIN`, or a role a part of the product adds"))
            .pattern(Some("^[A-Z_]{1,24}$"))
            .examples([serde_json::json!("USER")])
            .into()
    }
}

impl ToSchema for Role {}

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
        self.role == Role::ADMIN
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
    fn roles_travel_by_name() {
        assert_eq!(serde_json::to_value(Role::ADMIN).unwrap(), serde_json::json!("ADMIN"));
        let r: Role = serde_json::from_value(serde_json::json!("SOME_ROLE")).unwrap();
        assert_eq!(r, Role::named("SOME_ROLE"));
        assert!(serde_json::from_value::<Role>(serde_json::json!("admin")).is_err());
        assert!(serde_json::from_value::<Role>(serde_json::json!("A".repeat(25))).is_err());
    }

    #[test]
    fn issues_and_verifies() {
        let k = keys();
        let now = chrono::Utc::now().timestamp();
        let t = k.issue("u1", Role::USER, TokenScope::Full, "s1", now).unwrap();
        let id = k.verify(&t).unwrap();
        assert_eq!(id.user_id, "u1");
        assert_eq!(id.scope, TokenScope::Full);
    }

    #[test]
    fn refuses_alg_none_expired_tampered_and_foreign_keys() {
        let k = keys();
        let now = chrono::Utc::now().timestamp();
        let t = k.issue("u1", Role::USER, TokenScope::Full, "s1", now).unwrap();
        let parts: Vec<&str> = t.split('.').collect();

        let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        assert!(k.verify(&format!("{none_header}.{}.", parts[1])).is_err());

        let admin_claims =
            String::from_utf8(URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap().replace("USER", "ADMIN");
        let tampered = format!("{}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode(admin_claims), parts[2]);
        assert_eq!(k.verify(&tampered).unwrap_err().code(), "INVALID_TOKEN");

        let old = k.issue("u1", Role::USER, TokenScope::Full, "s1", now - 3600).unwrap();
        assert_eq!(k.verify(&old).unwrap_err().code(), "TOKEN_EXPIRED");

        let other = TokenKeys::new(b"another secret of thirty-two byt", "petplatform", 900);
        assert!(k.verify(&other.issue("u1", Role::ADMIN, TokenScope::Full, "s", now).unwrap()).is_err());
    }

    #[test]
    fn parses_bearer_headers() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer  abc "), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearer "), None);
    }
}
