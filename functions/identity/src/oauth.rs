//! Google and Kakao sign-in: real clients for each provider's documented token and user-info
//! endpoints (base URLs are configuration, so the local stack points them at its sandbox), and the
//! single-use tickets that carry a provider identity between requests.

use identity_contract::keys;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use shared::config::{ConfigError, ProviderSettings, Setting, Settings};
use shared::table::{Entity, Write};
use shared::{ApiError, ApiResult, AppContext};

use crate::error::IdentityError;
use crate::model::Provider;

/// Who the provider says the user is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderIdentity {
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
}

/// Google's OAuth client id (empty: Google sign-in is off).
pub const GOOGLE_CLIENT_ID: Setting =
    Setting::public("GOOGLE_CLIENT_ID", "GoogleClientId", "Google OAuth client id (empty: Google sign-in off)", "");
pub const GOOGLE_CLIENT_SECRET: Setting =
    Setting::secret("GOOGLE_CLIENT_SECRET", "GoogleClientSecret", "Google OAuth client secret");
/// Kakao's REST API key (empty: Kakao sign-in is off).
pub const KAKAO_CLIENT_ID: Setting =
    Setting::public("KAKAO_CLIENT_ID", "KakaoClientId", "Kakao REST API key (empty: Kakao sign-in off)", "");
pub const KAKAO_CLIENT_SECRET: Setting =
    Setting::secret("KAKAO_CLIENT_SECRET", "KakaoClientSecret", "Kakao OAuth client secret");

/// What the sign-in functions read.
pub const SETTINGS: &[&Setting] = &[&GOOGLE_CLIENT_ID, &GOOGLE_CLIENT_SECRET, &KAKAO_CLIENT_ID, &KAKAO_CLIENT_SECRET];

/// One OAuth provider's client and endpoints (the documented token and user-info endpoints;
/// `<PROVIDER>_TOKEN_URL` and `_USERINFO_URL` move them, as the local stack does).
#[derive(Debug, Clone)]
pub struct OAuthClient {
    pub client_id: String,
    pub client_secret: String,
    pub token_url: String,
    pub userinfo_url: String,
}

/// The OAuth providers that are configured.
#[derive(Debug, Clone)]
pub struct OAuthProviders {
    pub google: Option<OAuthClient>,
    pub kakao: Option<OAuthClient>,
}

impl ProviderSettings for OAuthProviders {
    fn read(settings: &Settings) -> Result<Option<Self>, ConfigError> {
        let client = |prefix: &str, token: &str, userinfo: &str| -> Option<OAuthClient> {
            Some(OAuthClient {
                client_id: settings.get(&format!("{prefix}_CLIENT_ID"))?,
                client_secret: settings.get(&format!("{prefix}_CLIENT_SECRET")).unwrap_or_default(),
                token_url: settings.get(&format!("{prefix}_TOKEN_URL")).unwrap_or_else(|| token.to_string()),
                userinfo_url: settings.get(&format!("{prefix}_USERINFO_URL")).unwrap_or_else(|| userinfo.to_string()),
            })
        };
        Ok(Some(OAuthProviders {
            google: client(
                "GOOGLE",
                "https://oauth2.googleapis.com/token",
                "https://openidconnect.googleapis.com/v1/userinfo",
            ),
            kakao: client("KAKAO", "https://kauth.kakao.com/oauth/token", "https://kapi.kakao.com/v2/user/me"),
        }))
    }
}

fn config(ctx: &AppContext, provider: Provider) -> ApiResult<OAuthClient> {
    let providers = ctx.provider::<OAuthProviders>()?;
    let providers = providers.as_deref();
    match provider {
        Provider::Google => providers.and_then(|p| p.google.clone()),
        Provider::Kakao => providers.and_then(|p| p.kakao.clone()),
    }
    .ok_or_else(|| IdentityError::ProviderNotEnabled.into())
}

fn unavailable(provider: Provider, e: impl std::fmt::Display) -> ApiError {
    tracing::warn!(provider = provider.as_str(), error = %e, "provider call failed");
    ApiError::Unavailable {
        code: "PROVIDER_UNAVAILABLE",
        detail: format!("{} did not answer. Try again later.", provider.as_str()),
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
}

#[derive(Deserialize)]
struct GoogleUser {
    sub: String,
    email: Option<String>,
    #[serde(default)]
    email_verified: bool,
    name: Option<String>,
}

#[derive(Deserialize)]
struct KakaoUser {
    id: i64,
    #[serde(default)]
    kakao_account: KakaoAccount,
}

#[derive(Deserialize, Default)]
struct KakaoAccount {
    email: Option<String>,
    #[serde(default)]
    is_email_verified: bool,
    #[serde(default)]
    is_email_valid: bool,
    #[serde(default)]
    profile: Option<KakaoProfile>,
}

#[derive(Deserialize)]
struct KakaoProfile {
    nickname: Option<String>,
}

/// Exchanges an authorization code and reads the user's identity.
pub async fn identify(
    ctx: &AppContext,
    provider: Provider,
    code: &str,
    redirect_uri: &str,
) -> ApiResult<ProviderIdentity> {
    let cfg = config(ctx, provider)?;
    // Google: POST https://oauth2.googleapis.com/token; Kakao: POST https://kauth.kakao.com/oauth/token.
    let form = [
        ("grant_type", "authorization_code"),
        ("client_id", cfg.client_id.as_str()),
        ("client_secret", cfg.client_secret.as_str()),
        ("redirect_uri", redirect_uri),
        ("code", code),
    ];
    let res = ctx.http.post(&cfg.token_url).form(&form).send().await.map_err(|e| unavailable(provider, e))?;
    if res.status().is_client_error() {
        return Err(IdentityError::OAuthCodeInvalid.into());
    }
    if !res.status().is_success() {
        return Err(unavailable(provider, res.status()));
    }
    let token: TokenResponse = res.json().await.map_err(|e| unavailable(provider, e))?;
    let res = ctx
        .http
        .get(&cfg.userinfo_url)
        .bearer_auth(&token.access_token)
        .send()
        .await
        .map_err(|e| unavailable(provider, e))?;
    if !res.status().is_success() {
        return Err(unavailable(provider, res.status()));
    }
    Ok(match provider {
        Provider::Google => {
            let u: GoogleUser = res.json().await.map_err(|e| unavailable(provider, e))?;
            ProviderIdentity { subject: u.sub, email: u.email, email_verified: u.email_verified, name: u.name }
        }
        Provider::Kakao => {
            let u: KakaoUser = res.json().await.map_err(|e| unavailable(provider, e))?;
            let a = u.kakao_account;
            ProviderIdentity {
                subject: u.id.to_string(),
                email: a.email,
                email_verified: a.is_email_verified && a.is_email_valid,
                name: a.profile.and_then(|p| p.nickname),
            }
        }
    })
}

pub const TICKET_SECS: i64 = 15 * 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TicketKind {
    Link,
    Signup,
}

/// A provider identity waiting to be linked to an account or to become one.
/// Item `TICKET#<sha256(ticket)>` / `TICKET`, TTL 15 minutes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ticket {
    pub digest: String,
    pub kind: TicketKind,
    pub provider: Provider,
    pub subject: String,
    pub email: String,
    #[serde(default)]
    pub name: Option<String>,
    /// The account to link to (link tickets).
    #[serde(default)]
    pub user_id: Option<String>,
    pub expires: i64,
}

impl Entity for Ticket {
    const TYPE: &'static str = "OAuthTicket";
    fn pk(&self) -> String {
        keys::ticket_partition(&self.digest)
    }
    fn sk(&self) -> String {
        keys::ticket_key(&self.digest).sk
    }
    fn expires_at(&self) -> Option<i64> {
        Some(self.expires)
    }
}

fn digest(ticket: &str) -> String {
    hex::encode(Sha256::digest(ticket.as_bytes()))
}

/// Stores a ticket and answers its secret.
pub async fn issue(ctx: &AppContext, mut ticket: Ticket) -> ApiResult<String> {
    use base64::Engine;
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    ticket.digest = digest(&secret);
    ticket.expires = ctx.now().timestamp() + TICKET_SECS;
    ctx.table.write(Write::put(&ticket)?).await?;
    Ok(secret)
}

pub fn invalid_ticket() -> ApiError {
    IdentityError::InvalidTicket.into()
}

/// Reads a live ticket of `kind`.
pub async fn load(ctx: &AppContext, secret: &str, kind: TicketKind) -> ApiResult<Ticket> {
    let t: Ticket = ctx.table.get(&keys::ticket_key(&digest(secret))).await?.ok_or_else(invalid_ticket)?;
    if t.kind != kind || t.expires <= ctx.now().timestamp() {
        return Err(invalid_ticket());
    }
    Ok(t)
}

/// The write that uses a ticket up, for the transaction that acts on it: only one can.
pub fn consume(t: &Ticket) -> Write {
    Write::delete(t.key()).if_present(invalid_ticket())
}
