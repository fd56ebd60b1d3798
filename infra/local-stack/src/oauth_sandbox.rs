//! Sandboxes of the OAuth providers the product signs in with, speaking the same documented
//! endpoints as the real ones, so that the product's provider clients run unchanged locally:
//!
//! | provider | authorize (browser) | token | user info |
//! |---|---|---|---|
//! | Google | `GET /google/authorize` | `POST /google/token` | `GET /google/userinfo` |
//! | Kakao | `GET /kakao/oauth/authorize` | `POST /kakao/oauth/token` | `GET /kakao/v2/user/me` |
//!
//! The authorize endpoints sign in a test identity without a consent screen: `login_hint` is its
//! email, `name` (Google) or `nickname` (Kakao) its name, and `email_verified=false` makes an
//! unverified one. They redirect to `redirect_uri` with `code` and `state`, as the real ones do.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde_json::json;
use sha2::{Digest, Sha256};

pub const GOOGLE_CLIENT_ID: &str = "local-google-client";
pub const GOOGLE_CLIENT_SECRET: &str = "local-google-secret";
pub const KAKAO_CLIENT_ID: &str = "local-kakao-client";
pub const KAKAO_CLIENT_SECRET: &str = "local-kakao-secret";

#[derive(Debug, Clone)]
struct TestIdentity {
    subject: String,
    email: String,
    name: String,
    email_verified: bool,
}

#[derive(Debug)]
struct Grant {
    provider: &'static str,
    client_id: String,
    redirect_uri: String,
    who: TestIdentity,
    expires: Instant,
}

#[derive(Debug, Default)]
pub struct Sandbox {
    codes: Mutex<HashMap<String, Grant>>,
    tokens: Mutex<HashMap<String, (&'static str, TestIdentity)>>,
}

fn random() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

/// A stable numeric id for an email, as providers give each person one id.
fn subject_of(email: &str) -> String {
    let d = Sha256::digest(email.as_bytes());
    (u64::from_be_bytes(d[..8].try_into().expect("8 bytes")) >> 12).to_string()
}

pub fn router() -> Router {
    Router::new()
        .route("/google/authorize", get(google_authorize))
        .route("/google/token", post(token))
        .route("/google/userinfo", get(google_userinfo))
        .route("/kakao/oauth/authorize", get(kakao_authorize))
        .route("/kakao/oauth/token", post(token))
        .route("/kakao/v2/user/me", get(kakao_me))
        .with_state(Arc::new(Sandbox::default()))
}

fn authorize(sb: &Sandbox, provider: &'static str, q: &HashMap<String, String>, name_param: &str) -> Response {
    let (Some(client_id), Some(redirect_uri), Some(email)) =
        (q.get("client_id"), q.get("redirect_uri"), q.get("login_hint"))
    else {
        return (StatusCode::BAD_REQUEST, "client_id, redirect_uri and login_hint are required").into_response();
    };
    let who = TestIdentity {
        subject: q.get("sub").or_else(|| q.get("id")).cloned().unwrap_or_else(|| subject_of(email)),
        email: email.clone(),
        name: q.get(name_param).cloned().unwrap_or_else(|| email.split('@').next().unwrap_or_default().to_string()),
        email_verified: q.get("email_verified").is_none_or(|v| v != "false"),
    };
    let code = random();
    sb.codes.lock().unwrap().insert(
        code.clone(),
        Grant {
            provider,
            client_id: client_id.clone(),
            redirect_uri: redirect_uri.clone(),
            who,
            expires: Instant::now() + Duration::from_secs(300),
        },
    );
    let sep = if redirect_uri.contains('?') { '&' } else { '?' };
    let state = q
        .get("state")
        .map(|s| format!("&state={}", form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>()))
        .unwrap_or_default();
    Redirect::to(&format!("{redirect_uri}{sep}code={code}{state}")).into_response()
}

async fn google_authorize(State(sb): State<Arc<Sandbox>>, Query(q): Query<HashMap<String, String>>) -> Response {
    authorize(&sb, "google", &q, "name")
}

async fn kakao_authorize(State(sb): State<Arc<Sandbox>>, Query(q): Query<HashMap<String, String>>) -> Response {
    authorize(&sb, "kakao", &q, "nickname")
}

fn grant_error(provider: &str, description: &str) -> Response {
    let body = if provider == "kakao" {
        json!({"error": "invalid_grant", "error_description": description, "error_code": "KOE320"})
    } else {
        json!({"error": "invalid_grant", "error_description": description})
    };
    (StatusCode::BAD_REQUEST, axum::Json(body)).into_response()
}

/// The token endpoint of both providers (`application/x-www-form-urlencoded`).
async fn token(State(sb): State<Arc<Sandbox>>, body: axum::body::Bytes) -> Response {
    let form: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    if form.get("grant_type").map(String::as_str) != Some("authorization_code") {
        return (StatusCode::BAD_REQUEST, axum::Json(json!({"error": "unsupported_grant_type"}))).into_response();
    }
    let code = form.get("code").cloned().unwrap_or_default();
    // Codes are single use, whatever happens next.
    let Some(grant) = sb.codes.lock().unwrap().remove(&code) else { return grant_error("google", "Bad Request") };
    let secret_ok = match grant.provider {
        "google" => form.get("client_secret").map(String::as_str) == Some(GOOGLE_CLIENT_SECRET),
        _ => form.get("client_secret").is_none_or(|s| s.is_empty() || s == KAKAO_CLIENT_SECRET),
    };
    if grant.expires < Instant::now()
        || form.get("client_id") != Some(&grant.client_id)
        || form.get("redirect_uri") != Some(&grant.redirect_uri)
        || !secret_ok
    {
        return grant_error(grant.provider, "authorization code is invalid, expired, or was issued to another client");
    }
    let access = random();
    sb.tokens.lock().unwrap().insert(access.clone(), (grant.provider, grant.who));
    let body = if grant.provider == "kakao" {
        json!({"token_type": "bearer", "access_token": access, "expires_in": 21599, "refresh_token": random(), "refresh_token_expires_in": 5183999, "scope": "account_email profile_nickname"})
    } else {
        json!({"access_token": access, "expires_in": 3599, "token_type": "Bearer", "scope": "openid email profile", "id_token": "sandbox.id.token"})
    };
    axum::Json(body).into_response()
}

fn bearer_identity(sb: &Sandbox, headers: &HeaderMap, provider: &str) -> Option<TestIdentity> {
    let token = headers.get("authorization")?.to_str().ok()?.strip_prefix("Bearer ")?;
    let tokens = sb.tokens.lock().unwrap();
    let (p, who) = tokens.get(token)?;
    (*p == provider).then(|| who.clone())
}

async fn google_userinfo(State(sb): State<Arc<Sandbox>>, headers: HeaderMap) -> Response {
    match bearer_identity(&sb, &headers, "google") {
        Some(who) => axum::Json(json!({
            "sub": who.subject, "email": who.email, "email_verified": who.email_verified, "name": who.name,
            "picture": "https://lh3.googleusercontent.com/a/default-user"
        }))
        .into_response(),
        None => (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"error": "invalid_token", "error_description": "Invalid Credentials"})),
        )
            .into_response(),
    }
}

async fn kakao_me(State(sb): State<Arc<Sandbox>>, headers: HeaderMap) -> Response {
    match bearer_identity(&sb, &headers, "kakao") {
        Some(who) => axum::Json(json!({
            "id": who.subject.parse::<i64>().unwrap_or(1),
            "connected_at": chrono::Utc::now().to_rfc3339(),
            "kakao_account": {
                "profile_nickname_needs_agreement": false,
                "profile": {"nickname": who.name},
                "has_email": true,
                "email_needs_agreement": false,
                "is_email_valid": true,
                "is_email_verified": who.email_verified,
                "email": who.email
            }
        }))
        .into_response(),
        None => {
            (StatusCode::UNAUTHORIZED, axum::Json(json!({"msg": "this access token does not exist", "code": -401})))
                .into_response()
        }
    }
}
