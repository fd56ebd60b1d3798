//! Instagram's APIs through a real HTTP client: the OAuth code exchange, long-lived tokens and
//! their refresh, and the Graph API calls the sync makes (the account, media, insights,
//! comments and their deletion) — Instagram API with Instagram Login, as documented.
//!
//! Tokens travel in the query string, as the documentation shows; every error is stripped of its
//! URL before it goes anywhere (`reqwest::Error::without_url`), so no token reaches a log.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use shared::AppContext;
use shared::config::{ConfigError, ProviderSettings, Setting, Settings};

/// The permissions the app asks for.
pub const SCOPES: &str =
    "instagram_business_basic,instagram_business_manage_comments,instagram_business_manage_insights";

/// Why a call failed.
#[derive(Debug, Clone, PartialEq)]
pub enum GraphError {
    /// Instagram's rate limit (error codes 4, 17, 32, 613 or HTTP 429): try again after this long.
    RateLimited { after_secs: u32 },
    /// The token is expired or revoked (code 190): the link is over.
    TokenInvalid(String),
    /// Instagram refused the request as it is.
    Refused(String),
    /// No answer, or a server error: worth trying again.
    Transient(String),
}

impl std::fmt::Display for GraphError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GraphError::RateLimited { after_secs } => write!(f, "Instagram rate limit (again in {after_secs} s)"),
            GraphError::TokenInvalid(m) => write!(f, "Instagram token invalid: {m}"),
            GraphError::Refused(m) => write!(f, "Instagram refused: {m}"),
            GraphError::Transient(m) => write!(f, "Instagram unavailable: {m}"),
        }
    }
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    #[serde(default)]
    message: String,
    #[serde(default)]
    code: i64,
}

/// How long Instagram says to wait: `estimated_time_to_regain_access` (minutes) in the
/// `X-Business-Use-Case-Usage` header, when present.
fn regain_after_secs(headers: &reqwest::header::HeaderMap) -> Option<u32> {
    let raw = headers.get("x-business-use-case-usage")?.to_str().ok()?;
    let usage: serde_json::Value = serde_json::from_str(raw).ok()?;
    usage
        .as_object()?
        .values()
        .flat_map(|v| v.as_array().cloned().unwrap_or_default())
        .filter_map(|u| u.get("estimated_time_to_regain_access").and_then(|m| m.as_u64()))
        .max()
        .map(|minutes| (minutes * 60) as u32)
}

async fn answer<T: DeserializeOwned>(res: Result<reqwest::Response, reqwest::Error>) -> Result<T, GraphError> {
    let res = res.map_err(|e| GraphError::Transient(e.without_url().to_string()))?;
    let status = res.status();
    let regain = regain_after_secs(res.headers());
    let bytes = res.bytes().await.map_err(|e| GraphError::Transient(e.without_url().to_string()))?;
    if status.is_success() {
        return serde_json::from_slice(&bytes)
            .map_err(|e| GraphError::Transient(format!("unreadable Instagram answer: {e}")));
    }
    let detail = serde_json::from_slice::<ErrorBody>(&bytes).ok().map(|b| b.error);
    let code = detail.as_ref().map(|d| d.code).unwrap_or_default();
    let message = detail.map(|d| d.message).unwrap_or_else(|| format!("HTTP {status}"));
    Err(match code {
        4 | 17 | 32 | 613 => GraphError::RateLimited { after_secs: regain.unwrap_or(0) },
        190 => GraphError::TokenInvalid(message),
        _ if status.as_u16() == 429 => GraphError::RateLimited { after_secs: regain.unwrap_or(0) },
        _ if status.is_server_error() => GraphError::Transient(message),
        _ => GraphError::Refused(message),
    })
}

pub const APP_ID: Setting =
    Setting::public("INSTAGRAM_APP_ID", "InstagramAppId", "Instagram app id (empty: Instagram connection off)", "");
pub const REDIRECT_URI: Setting = Setting::public(
    "INSTAGRAM_REDIRECT_URI",
    "InstagramRedirectUri",
    "The redirect URI registered for the Instagram app (the web page that posts the code to /instagram/callback)",
    "",
);
pub const APP_SECRET: Setting =
    Setting::secret("INSTAGRAM_APP_SECRET", "InstagramAppSecret", "Instagram app secret (code and token exchanges)");

/// What the functions that call Instagram read (the token key with them).
pub const SETTINGS: &[&Setting] = &[&APP_ID, &REDIRECT_URI, &APP_SECRET, &crate::crypto::TOKEN_KEY];

/// The Instagram app (Instagram API with Instagram Login): its id and secret, the redirect URI
/// registered for it, and where Instagram's OAuth and Graph endpoints are.
#[derive(Clone)]
pub struct InstagramApp {
    pub app_id: String,
    pub app_secret: String,
    pub redirect_uri: String,
    /// `https://www.instagram.com/oauth/authorize`.
    pub authorize_url: String,
    /// `https://api.instagram.com/oauth/access_token` (code → short-lived token).
    pub token_url: String,
    /// `https://graph.instagram.com` (long-lived tokens, refresh, the account, media, insights).
    pub graph_url: String,
    pub graph_version: String,
}

impl std::fmt::Debug for InstagramApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InstagramApp")
            .field("app_id", &self.app_id)
            .field("app_secret", &"<hidden>")
            .field("graph_url", &self.graph_url)
            .finish_non_exhaustive()
    }
}

impl ProviderSettings for InstagramApp {
    fn read(settings: &Settings) -> Result<Option<Self>, ConfigError> {
        let (Some(app_id), Some(redirect_uri)) = (settings.get(APP_ID.env_var), settings.get(REDIRECT_URI.env_var))
        else {
            return Ok(None);
        };
        Ok(Some(InstagramApp {
            app_id,
            app_secret: settings.get(APP_SECRET.env_var).unwrap_or_default(),
            redirect_uri,
            authorize_url: settings
                .get("INSTAGRAM_AUTHORIZE_URL")
                .unwrap_or_else(|| "https://www.instagram.com/oauth/authorize".into()),
            token_url: settings
                .get("INSTAGRAM_TOKEN_URL")
                .unwrap_or_else(|| "https://api.instagram.com/oauth/access_token".into()),
            graph_url: settings
                .get("INSTAGRAM_GRAPH_URL")
                .unwrap_or_else(|| "https://graph.instagram.com".into())
                .trim_end_matches('/')
                .to_string(),
            graph_version: settings.get("INSTAGRAM_GRAPH_VERSION").unwrap_or_else(|| "v23.0".into()),
        }))
    }
}

/// The Instagram app, when it is configured.
pub fn configured(ctx: &AppContext) -> Option<std::sync::Arc<InstagramApp>> {
    ctx.provider::<InstagramApp>().ok().flatten()
}

fn app(ctx: &AppContext) -> Result<std::sync::Arc<InstagramApp>, GraphError> {
    ctx.provider::<InstagramApp>()
        .map_err(|e| GraphError::Refused(e.to_string()))?
        .ok_or_else(|| GraphError::Refused("Instagram is not configured".into()))
}

/// Where the owner is sent to let the app read the account (`state` comes back with the code).
pub fn authorize_url(app: &InstagramApp, state: &str) -> String {
    reqwest::Url::parse_with_params(
        &app.authorize_url,
        &[
            ("client_id", app.app_id.as_str()),
            ("redirect_uri", app.redirect_uri.as_str()),
            ("response_type", "code"),
            ("scope", SCOPES),
            ("state", state),
        ],
    )
    .map(String::from)
    .unwrap_or_default()
}

/// A short-lived token and the account it is for.
#[derive(Debug, Deserialize)]
pub struct ShortLived {
    pub access_token: String,
    #[serde(deserialize_with = "id_string")]
    pub user_id: String,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum CodeAnswer {
    Wrapped { data: Vec<ShortLived> },
    Flat(ShortLived),
}

fn id_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => Ok(s),
        serde_json::Value::Number(n) => Ok(n.to_string()),
        _ => Err(serde::de::Error::custom("an id is a string or a number")),
    }
}

/// `POST https://api.instagram.com/oauth/access_token`: the code for a short-lived token.
pub async fn exchange_code(ctx: &AppContext, code: &str) -> Result<ShortLived, GraphError> {
    let app = &*app(ctx)?;
    let res = ctx
        .http
        .post(&app.token_url)
        .form(&[
            ("client_id", app.app_id.as_str()),
            ("client_secret", app.app_secret.as_str()),
            ("grant_type", "authorization_code"),
            ("redirect_uri", app.redirect_uri.as_str()),
            ("code", code),
        ])
        .send()
        .await;
    match answer::<CodeAnswer>(res).await? {
        CodeAnswer::Flat(t) => Ok(t),
        CodeAnswer::Wrapped { mut data } if !data.is_empty() => Ok(data.remove(0)),
        CodeAnswer::Wrapped { .. } => Err(GraphError::Refused("no token in the answer".into())),
    }
}

/// A long-lived token (60 days) and how long it lasts.
#[derive(Debug, Deserialize)]
pub struct LongLived {
    pub access_token: String,
    pub expires_in: i64,
}

/// `GET /access_token?grant_type=ig_exchange_token`: a short-lived token for a long-lived one.
pub async fn long_lived(ctx: &AppContext, short: &str) -> Result<LongLived, GraphError> {
    let app = &*app(ctx)?;
    let res = ctx
        .http
        .get(format!("{}/access_token", app.graph_url))
        .query(&[("grant_type", "ig_exchange_token"), ("client_secret", &app.app_secret), ("access_token", short)])
        .send()
        .await;
    answer(res).await
}

/// `GET /refresh_access_token?grant_type=ig_refresh_token`: another 60 days.
pub async fn refresh(ctx: &AppContext, token: &str) -> Result<LongLived, GraphError> {
    let app = &*app(ctx)?;
    let res = ctx
        .http
        .get(format!("{}/refresh_access_token", app.graph_url))
        .query(&[("grant_type", "ig_refresh_token"), ("access_token", token)])
        .send()
        .await;
    answer(res).await
}

fn node_url(app: &InstagramApp, path: &str) -> String {
    format!("{}/{}/{path}", app.graph_url, app.graph_version)
}

/// The professional account.
#[derive(Debug, Clone, Deserialize)]
pub struct Account {
    #[serde(deserialize_with = "id_string")]
    pub user_id: String,
    pub username: String,
    #[serde(default)]
    pub account_type: Option<String>,
    #[serde(default)]
    pub followers_count: i64,
    #[serde(default)]
    pub media_count: i64,
}

/// `GET /me?fields=…`.
pub async fn me(ctx: &AppContext, token: &str) -> Result<Account, GraphError> {
    let app = &*app(ctx)?;
    let res = ctx
        .http
        .get(node_url(app, "me"))
        .query(&[("fields", "user_id,username,account_type,followers_count,media_count"), ("access_token", token)])
        .send()
        .await;
    answer(res).await
}

#[derive(Debug, Deserialize)]
struct Cursors {
    #[serde(default)]
    after: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Paging {
    #[serde(default)]
    cursors: Option<Cursors>,
    #[serde(default)]
    next: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Listing<T> {
    data: Vec<T>,
    #[serde(default)]
    paging: Option<Paging>,
}

impl<T> Listing<T> {
    /// The cursor of the next page, when there is one.
    fn after(&self) -> Option<String> {
        let p = self.paging.as_ref()?;
        p.next.as_ref()?;
        p.cursors.as_ref()?.after.clone()
    }
}

/// Instagram's timestamps: `2024-05-01T12:00:00+0000`.
fn instagram_time<'de, D: serde::Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
    let s = String::deserialize(d)?;
    DateTime::parse_from_str(&s, "%Y-%m-%dT%H:%M:%S%z")
        .map(|t| t.with_timezone(&Utc))
        .or_else(|_| DateTime::parse_from_rfc3339(&s).map(|t| t.with_timezone(&Utc)))
        .or_else(|_| NaiveDateTime::parse_from_str(&s, "%Y-%m-%dT%H:%M:%S").map(|t| t.and_utc()))
        .map_err(serde::de::Error::custom)
}

/// One post as the Graph API gives it.
#[derive(Debug, Clone, Deserialize)]
pub struct GraphMedia {
    pub id: String,
    #[serde(default)]
    pub caption: Option<String>,
    #[serde(default)]
    pub media_type: Option<String>,
    #[serde(default)]
    pub like_count: i64,
    #[serde(default)]
    pub comments_count: i64,
    #[serde(deserialize_with = "instagram_time")]
    pub timestamp: DateTime<Utc>,
    #[serde(default)]
    pub permalink: Option<String>,
}

/// Every post published since `since`, newest first (following the pages).
pub async fn media_since(
    ctx: &AppContext,
    token: &str,
    user: &str,
    since: DateTime<Utc>,
) -> Result<Vec<GraphMedia>, GraphError> {
    let app = &*app(ctx)?;
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut query = vec![
            ("fields", "id,caption,media_type,like_count,comments_count,timestamp,permalink".to_string()),
            ("since", since.timestamp().to_string()),
            ("limit", "50".to_string()),
            ("access_token", token.to_string()),
        ];
        if let Some(a) = &after {
            query.push(("after", a.clone()));
        }
        let page: Listing<GraphMedia> =
            answer(ctx.http.get(node_url(app, &format!("{user}/media"))).query(&query).send().await).await?;
        after = page.after();
        let done = page.data.is_empty() || page.data.iter().any(|m| m.timestamp < since);
        out.extend(page.data.into_iter().filter(|m| m.timestamp >= since));
        if after.is_none() || done {
            return Ok(out);
        }
    }
}

/// One comment.
#[derive(Debug, Clone, Deserialize)]
pub struct GraphComment {
    pub id: String,
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(deserialize_with = "instagram_time")]
    pub timestamp: DateTime<Utc>,
}

/// Every comment on post `media` (following the pages).
pub async fn comments(ctx: &AppContext, token: &str, media: &str) -> Result<Vec<GraphComment>, GraphError> {
    let app = &*app(ctx)?;
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut query = vec![
            ("fields", "id,text,username,timestamp".to_string()),
            ("limit", "50".to_string()),
            ("access_token", token.to_string()),
        ];
        if let Some(a) = &after {
            query.push(("after", a.clone()));
        }
        let page: Listing<GraphComment> =
            answer(ctx.http.get(node_url(app, &format!("{media}/comments"))).query(&query).send().await).await?;
        after = page.after();
        out.extend(page.data);
        if after.is_none() {
            return Ok(out);
        }
    }
}

#[derive(Deserialize)]
struct Success {
    #[serde(default)]
    success: bool,
}

/// `DELETE /{comment-id}`. A comment already gone counts as deleted.
pub async fn delete_comment(ctx: &AppContext, token: &str, comment: &str) -> Result<(), GraphError> {
    let app = &*app(ctx)?;
    let res = ctx.http.delete(node_url(app, comment)).query(&[("access_token", token)]).send().await;
    match answer::<Success>(res).await {
        Ok(s) if s.success => Ok(()),
        Ok(_) => Err(GraphError::Transient("the deletion was not confirmed".into())),
        Err(GraphError::Refused(m)) if m.contains("does not exist") => Ok(()),
        Err(e) => Err(e),
    }
}

/// One month's account insights.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub reach: i64,
    pub views: i64,
    pub likes: i64,
    pub comments: i64,
    pub shares: i64,
}

#[derive(Deserialize)]
struct TotalValue {
    #[serde(default)]
    value: i64,
}

#[derive(Deserialize)]
struct Metric {
    name: String,
    #[serde(default)]
    total_value: Option<TotalValue>,
    /// A post's lifetime metrics come as `values: [{value}]`.
    #[serde(default)]
    values: Vec<TotalValue>,
}

/// `GET /{media}/insights?metric=reach`: how many accounts saw post `media` (its lifetime).
pub async fn media_reach(ctx: &AppContext, token: &str, media: &str) -> Result<i64, GraphError> {
    let app = &*app(ctx)?;
    let page: Listing<Metric> = answer(
        ctx.http
            .get(node_url(app, &format!("{media}/insights")))
            .query(&[("metric", "reach"), ("access_token", token)])
            .send()
            .await,
    )
    .await?;
    Ok(page
        .data
        .iter()
        .find(|m| m.name == "reach")
        .and_then(|m| m.total_value.as_ref().or(m.values.first()).map(|v| v.value))
        .unwrap_or_default())
}

/// `GET /{user}/insights?metric=reach,views,likes,comments,shares&metric_type=total_value` over
/// `[since, until)` (Instagram takes at most 30 days a call: one call a month, split in two
/// when a month is longer).
pub async fn insights(
    ctx: &AppContext,
    token: &str,
    user: &str,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Totals, GraphError> {
    let app = &*app(ctx)?;
    let mut totals = Totals::default();
    let mut from = since;
    while from < until {
        let to = (from + chrono::Duration::days(30)).min(until);
        let page: Listing<Metric> = answer(
            ctx.http
                .get(node_url(app, &format!("{user}/insights")))
                .query(&[
                    ("metric", "reach,views,likes,comments,shares"),
                    ("period", "day"),
                    ("metric_type", "total_value"),
                    ("since", &from.timestamp().to_string()),
                    ("until", &to.timestamp().to_string()),
                    ("access_token", token),
                ])
                .send()
                .await,
        )
        .await?;
        for m in page.data {
            let v = m.total_value.map(|t| t.value).unwrap_or_default();
            match m.name.as_str() {
                "reach" => totals.reach += v,
                "views" => totals.views += v,
                "likes" => totals.likes += v,
                "comments" => totals.comments += v,
                "shares" => totals.shares += v,
                _ => {}
            }
        }
        from = to;
    }
    Ok(totals)
}
