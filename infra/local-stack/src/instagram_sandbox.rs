//! A sandbox of Instagram's APIs (Instagram API with Instagram Login), speaking the documented
//! shapes so that the product's client runs unchanged against it:
//!
//! | call | what it does here |
//! |---|---|
//! | `GET /instagram/oauth/authorize?client_id&redirect_uri&response_type=code&scope&state` | the owner "signs in": a redirect to `redirect_uri?code=…&state=…#_` (`sandbox_user=<username>` picks the account, default `meongmeong_daily`) |
//! | `POST /instagram/oauth/access_token` (form: client id and secret, `authorization_code`, redirect URI, code) | `{data: [{access_token, user_id, permissions}]}`, a one-hour token; a code is good once |
//! | `GET /instagram/graph/access_token?grant_type=ig_exchange_token&client_secret&access_token` | a 60-day token `{access_token, token_type, expires_in}` |
//! | `GET /instagram/graph/refresh_access_token?grant_type=ig_refresh_token&access_token` | 60 more days (a token at least a day old) |
//! | `GET /instagram/graph/{v}/me?fields=…` | the account |
//! | `GET /instagram/graph/{v}/{user}/media?fields&since&limit&after` | posts, newest first, paged with `paging.cursors.after` |
//! | `GET /instagram/graph/{v}/{media}/comments?fields&limit&after` | a post's comments, paged |
//! | `DELETE /instagram/graph/{v}/{comment}` | `{success: true}` |
//! | `GET /instagram/graph/{v}/{user}/insights?metric=reach,views,likes,comments,shares&metric_type=total_value&since&until` | totals over at most 30 days |
//! | `GET /instagram/graph/{v}/{media}/insights?metric=reach` | a post's lifetime reach (`values: [{value}]`) |
//!
//! Errors are Graph's `{error: {message, type, code, fbtrace_id}}`: 190 for a bad or expired
//! token, 100 for a bad parameter, and 4 (with `X-Business-Use-Case-Usage`) for the rate limit,
//! which `POST /_local/instagram/rate-limit {calls}` switches on for the next `calls` Graph calls.
//!
//! Seeded accounts (relative to the stack's clock when it starts): `meongmeong_daily`, a busy
//! dog account with about 250 posts over six months, Korean captions and a few comments each of
//! mixed sentiment (and some advertising), and daily insights; `new_pup_coco`, a new account
//! with no followers, four posts this month, no comments and no insights. `GET
//! /_local/instagram/accounts/{username}` shows an account's data as seeded (each comment with
//! its intended tone), `GET /_local/instagram/tokens` the tokens handed out, and
//! `POST /_local/instagram/revoke {username}` revokes an account's tokens.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use shared::clock::SharedClock;

/// The app the sandbox knows.
pub const APP_ID: &str = "990011223344556";
pub const APP_SECRET: &str = "sandbox-instagram-app-secret-0000";
/// Where the product's web page receives the code.
pub const REDIRECT_URI: &str = "https://petplatform.local/instagram/callback";
pub const MAIN_ACCOUNT: &str = "meongmeong_daily";
pub const NEW_ACCOUNT: &str = "new_pup_coco";
const LONG_LIVED_SECS: i64 = 60 * 86_400;

#[derive(Debug, Clone)]
struct Comment {
    id: String,
    text: String,
    username: String,
    timestamp: DateTime<Utc>,
    tone: &'static str,
}

#[derive(Debug, Clone)]
struct Media {
    id: String,
    caption: String,
    media_type: &'static str,
    like_count: i64,
    timestamp: DateTime<Utc>,
    comments: Vec<Comment>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Day {
    reach: i64,
    views: i64,
    likes: i64,
    comments: i64,
    shares: i64,
}

#[derive(Debug)]
struct Account {
    user_id: String,
    username: String,
    followers: i64,
    /// Newest first.
    media: Vec<Media>,
    daily: Vec<(NaiveDate, Day)>,
    deleted: Vec<String>,
}

#[derive(Debug, Clone)]
struct Token {
    user_id: String,
    issued: DateTime<Utc>,
    expires: DateTime<Utc>,
    revoked: bool,
}

/// The sandbox's state.
#[derive(Debug)]
pub struct Instagram {
    clock: SharedClock,
    accounts: Mutex<HashMap<String, Account>>,
    codes: Mutex<HashMap<String, String>>,
    tokens: Mutex<HashMap<String, Token>>,
    rate_limited: AtomicU32,
    graph_calls: AtomicU64,
}

/// A small deterministic generator (the seed data is the same on every start).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % below.max(1)
    }
}

const CAPTIONS: &[&str] = &[
    "오늘도 산책 완료! 🐾 #강아지 #산책",
    "간식 앞에서는 얌전해지는 우리 멍멍이 🦴",
    "한강 공원 나들이 다녀왔어요",
    "새로 산 장난감에 푹 빠졌어요 #강아지장난감",
    "목욕하고 뽀송뽀송 🛁",
    "비 오는 날은 집콕 중",
    "생일 축하해 멍멍아 🎂",
    "첫 눈을 본 날 ❄️",
];

const COMMENTS: &[(&str, &str)] = &[
    ("너무 귀여워요 ❤️", "POSITIVE"),
    ("사랑스러워요", "POSITIVE"),
    ("오늘도 최고예요!", "POSITIVE"),
    ("행복해 보여요 😍", "POSITIVE"),
    ("산책 사진 좋아요", "POSITIVE"),
    ("몇 살이에요?", "NEUTRAL"),
    ("어디서 찍었어요?", "NEUTRAL"),
    ("사료 뭐 먹여요?", "NEUTRAL"),
    ("광고 문의는 DM 주세요", "NEUTRAL"),
    ("맞팔 광고 환영합니다", "NEUTRAL"),
    ("사진이 별로네요", "NEGATIVE"),
    ("못생겼다", "NEGATIVE"),
    ("최악이야 이런 사진", "NEGATIVE"),
    ("귀여운데 사진이 별로예요", "MIXED"),
];

const COMMENTERS: &[&str] = &["dog_lover_kr", "catmom_seoul", "walkwalk", "petshop_ad", "hangang_runner"];

static IDS: AtomicU64 = AtomicU64::new(17_900_000_000_000_000);

fn next_id() -> String {
    IDS.fetch_add(1, Ordering::Relaxed).to_string()
}

fn ig_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S+0000").to_string()
}

fn seed_main(now: DateTime<Utc>) -> Account {
    let mut r = Lcg(20261123);
    let mut media = Vec::new();
    for days_ago in 0..183i64 {
        for _ in 0..r.next(3) {
            let at = now - Duration::days(days_ago) - Duration::minutes(30 + r.next(18 * 60) as i64);
            // Older months were quieter: the comparison has something to show.
            let base = if days_ago < 30 {
                220
            } else if days_ago < 60 {
                160
            } else {
                120
            };
            let like_count = base + r.next(300) as i64;
            let comments = (0..r.next(6))
                .map(|k| {
                    let (text, tone) = COMMENTS[r.next(COMMENTS.len() as u64) as usize];
                    Comment {
                        id: next_id(),
                        text: text.to_string(),
                        username: COMMENTERS[r.next(COMMENTERS.len() as u64) as usize].to_string(),
                        timestamp: at + Duration::minutes(5 + 7 * k as i64),
                        tone,
                    }
                })
                .filter(|c| c.timestamp < now)
                .collect();
            media.push(Media {
                id: next_id(),
                caption: CAPTIONS[r.next(CAPTIONS.len() as u64) as usize].to_string(),
                media_type: if r.next(5) == 0 { "VIDEO" } else { "IMAGE" },
                like_count,
                timestamp: at,
                comments,
            });
        }
    }
    // Newest first; posts of the same second by id, as Instagram lists them.
    media.sort_by(|a, b| b.timestamp.cmp(&a.timestamp).then(b.id.cmp(&a.id)));
    let today = now.date_naive();
    let daily = (0..200i64)
        .map(|d| {
            let reach = 600 + r.next(1500) as i64;
            (
                today - Duration::days(d),
                Day {
                    reach,
                    views: reach * 2 + r.next(800) as i64,
                    likes: 120 + r.next(350) as i64,
                    comments: 4 + r.next(30) as i64,
                    shares: r.next(25) as i64,
                },
            )
        })
        .collect();
    Account {
        user_id: "17841400000000001".into(),
        username: MAIN_ACCOUNT.into(),
        followers: 12_480,
        media,
        daily,
        deleted: Vec::new(),
    }
}

fn seed_new(now: DateTime<Utc>) -> Account {
    let media = (0..4i64)
        .map(|i| Media {
            id: next_id(),
            caption: format!("코코의 첫 {}번째 사진 🐶", i + 1),
            media_type: "IMAGE",
            like_count: 3 + 2 * i,
            timestamp: now - Duration::days(2 + 3 * i) - Duration::hours(2),
            comments: Vec::new(),
        })
        .collect();
    Account {
        user_id: "17841400000000002".into(),
        username: NEW_ACCOUNT.into(),
        followers: 0,
        media,
        daily: Vec::new(),
        deleted: Vec::new(),
    }
}

impl Instagram {
    pub fn new(clock: SharedClock) -> Arc<Self> {
        let now = clock.now();
        let accounts = [seed_main(now), seed_new(now)].into_iter().map(|a| (a.user_id.clone(), a)).collect();
        Arc::new(Self {
            clock,
            accounts: Mutex::new(accounts),
            codes: Mutex::default(),
            tokens: Mutex::default(),
            rate_limited: AtomicU32::new(0),
            graph_calls: AtomicU64::new(0),
        })
    }

    /// Graph API calls answered (rate-limited ones included).
    pub fn graph_calls(&self) -> u64 {
        self.graph_calls.load(Ordering::Relaxed)
    }

    /// Answers the next `calls` Graph calls with the rate-limit error.
    pub fn rate_limit(&self, calls: u32) {
        self.rate_limited.store(calls, Ordering::SeqCst);
    }

    /// Every token handed out so far.
    pub fn issued_tokens(&self) -> Vec<String> {
        self.tokens.lock().unwrap().keys().cloned().collect()
    }

    fn token(&self, user_id: &str, lifetime: Duration) -> (String, i64) {
        let now = self.clock.now();
        let token = format!("IGAA{}", hex::encode(rand::random::<[u8; 24]>()));
        self.tokens.lock().unwrap().insert(
            token.clone(),
            Token { user_id: user_id.into(), issued: now, expires: now + lifetime, revoked: false },
        );
        (token, lifetime.num_seconds())
    }

    /// The account a token is good for.
    fn holder(&self, token: Option<&str>) -> Result<Token, Box<Response>> {
        let now = self.clock.now();
        let t = token.and_then(|t| self.tokens.lock().unwrap().get(t).cloned());
        match t {
            Some(t) if !t.revoked && t.expires > now => Ok(t),
            Some(t) if t.expires <= now => Err(Box::new(graph_error(
                190,
                "Error validating access token: Session has expired.",
                StatusCode::BAD_REQUEST,
            ))),
            _ => Err(Box::new(graph_error(
                190,
                "Invalid OAuth access token - Cannot parse access token",
                StatusCode::BAD_REQUEST,
            ))),
        }
    }

    /// A Graph API call: its token's holder, unless the token is bad or the rate limit is on.
    fn graph_call(&self, q: &HashMap<String, String>) -> Result<Token, Box<Response>> {
        let holder = self.holder(q.get("access_token").map(String::as_str))?;
        self.gate()?;
        Ok(holder)
    }

    /// Counts a Graph call, and answers it with the rate limit while that is switched on.
    fn gate(&self) -> Result<(), Box<Response>> {
        self.graph_calls.fetch_add(1, Ordering::Relaxed);
        let limited = self.rate_limited.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok();
        if limited {
            let usage = json!({"17841400000000001": [{"type": "instagram", "call_count": 100, "total_cputime": 12, "total_time": 14, "estimated_time_to_regain_access": 0}]});
            let mut r = graph_error(4, "(#4) Application request limit reached", StatusCode::BAD_REQUEST);
            if let Ok(v) = usage.to_string().parse() {
                r.headers_mut().insert("x-business-use-case-usage", v);
            }
            return Err(Box::new(r));
        }
        Ok(())
    }
}

fn graph_error(code: i64, message: &str, status: StatusCode) -> Response {
    let kind = if code == 190 { "OAuthException" } else { "IGApiException" };
    (
        status,
        axum::Json(json!({"error": {"message": message, "type": kind, "code": code, "fbtrace_id": "AsandboxTrace"}})),
    )
        .into_response()
}

fn oauth_error(message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({"error_type": "OAuthException", "code": 400, "error_message": message})),
    )
        .into_response()
}

pub fn router(ig: Arc<Instagram>) -> Router {
    Router::new()
        .route("/instagram/oauth/authorize", get(authorize))
        .route("/instagram/oauth/access_token", post(exchange_code))
        .route("/instagram/graph/access_token", get(long_lived))
        .route("/instagram/graph/refresh_access_token", get(refresh))
        .route("/instagram/graph/{version}/{node}", get(node).delete(delete_node))
        .route("/instagram/graph/{version}/{node}/{edge}", get(edge))
        .route("/_local/instagram/accounts/{username}", get(raw_account))
        .route("/_local/instagram/tokens", get(raw_tokens))
        .route("/_local/instagram/rate-limit", post(set_rate_limit))
        .route("/_local/instagram/revoke", post(revoke))
        .with_state(ig)
}

type Params = Query<HashMap<String, String>>;

async fn authorize(State(ig): State<Arc<Instagram>>, Query(q): Params) -> Response {
    let p = |k: &str| q.get(k).cloned().unwrap_or_default();
    if p("client_id") != APP_ID {
        return oauth_error("Invalid platform app");
    }
    if p("redirect_uri") != REDIRECT_URI {
        return oauth_error("Invalid redirect_uri");
    }
    if p("response_type") != "code" || !p("scope").contains("instagram_business_basic") {
        return oauth_error("Invalid scope or response type");
    }
    let who = q.get("sandbox_user").cloned().unwrap_or_else(|| MAIN_ACCOUNT.into());
    let Some(user_id) = ig.accounts.lock().unwrap().values().find(|a| a.username == who).map(|a| a.user_id.clone())
    else {
        return oauth_error("No such sandbox user");
    };
    let code = format!("AQ{}", hex::encode(rand::random::<[u8; 16]>()));
    ig.codes.lock().unwrap().insert(code.clone(), user_id);
    let location = format!("{REDIRECT_URI}?code={code}&state={}#_", p("state"));
    (StatusCode::FOUND, [("location", location)]).into_response()
}

#[derive(Deserialize)]
struct CodeForm {
    client_id: String,
    client_secret: String,
    grant_type: String,
    redirect_uri: String,
    code: String,
}

async fn exchange_code(State(ig): State<Arc<Instagram>>, axum::Form(f): axum::Form<CodeForm>) -> Response {
    if f.client_id != APP_ID || f.client_secret != APP_SECRET {
        return oauth_error("Invalid client secret");
    }
    if f.grant_type != "authorization_code" || f.redirect_uri != REDIRECT_URI {
        return oauth_error("Invalid grant_type or redirect_uri");
    }
    let Some(user_id) = ig.codes.lock().unwrap().remove(f.code.trim_end_matches("#_")) else {
        return oauth_error("This authorization code has been used");
    };
    let (token, _) = ig.token(&user_id, Duration::hours(1));
    axum::Json(json!({"data": [{"access_token": token, "user_id": user_id, "permissions": "instagram_business_basic,instagram_business_manage_comments,instagram_business_manage_insights"}]}))
        .into_response()
}

async fn long_lived(State(ig): State<Arc<Instagram>>, Query(q): Params) -> Response {
    if q.get("grant_type").map(String::as_str) != Some("ig_exchange_token")
        || q.get("client_secret").map(String::as_str) != Some(APP_SECRET)
    {
        return graph_error(100, "Invalid parameter", StatusCode::BAD_REQUEST);
    }
    let holder = match ig.holder(q.get("access_token").map(String::as_str)) {
        Ok(h) => h,
        Err(r) => return *r,
    };
    let (token, expires_in) = ig.token(&holder.user_id, Duration::seconds(LONG_LIVED_SECS));
    axum::Json(json!({"access_token": token, "token_type": "bearer", "expires_in": expires_in})).into_response()
}

async fn refresh(State(ig): State<Arc<Instagram>>, Query(q): Params) -> Response {
    if q.get("grant_type").map(String::as_str) != Some("ig_refresh_token") {
        return graph_error(100, "Invalid parameter", StatusCode::BAD_REQUEST);
    }
    let holder = match ig.holder(q.get("access_token").map(String::as_str)) {
        Ok(h) => h,
        Err(r) => return *r,
    };
    if holder.issued > ig.clock.now() - Duration::hours(24) {
        return graph_error(100, "The token must be at least 24 hours old to be refreshed", StatusCode::BAD_REQUEST);
    }
    let (token, expires_in) = ig.token(&holder.user_id, Duration::seconds(LONG_LIVED_SECS));
    axum::Json(json!({"access_token": token, "token_type": "bearer", "expires_in": expires_in})).into_response()
}

fn page(items: Vec<Value>, q: &HashMap<String, String>, default_limit: usize) -> Value {
    let limit = q.get("limit").and_then(|l| l.parse::<usize>().ok()).unwrap_or(default_limit).clamp(1, 100);
    let start = q
        .get("after")
        .and_then(|a| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(a).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(0);
    let end = (start + limit).min(items.len());
    let data: Vec<Value> = items.get(start..end).map(|s| s.to_vec()).unwrap_or_default();
    let cursor = |i: usize| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(i.to_string());
    let mut paging = json!({"cursors": {"before": cursor(start), "after": cursor(end)}});
    if end < items.len() {
        paging["next"] = json!(format!("https://graph.instagram.com/?after={}", cursor(end)));
    }
    json!({"data": data, "paging": paging})
}

fn media_json(m: &Media) -> Value {
    json!({
        "id": m.id,
        "caption": m.caption,
        "media_type": m.media_type,
        "like_count": m.like_count,
        "comments_count": m.comments.len(),
        "timestamp": ig_time(m.timestamp),
        "permalink": format!("https://www.instagram.com/p/{}/", m.id),
    })
}

async fn node(
    State(ig): State<Arc<Instagram>>,
    Path((_version, node)): Path<(String, String)>,
    Query(q): Params,
) -> Response {
    let holder = match ig.graph_call(&q) {
        Ok(h) => h,
        Err(r) => return *r,
    };
    if node != "me" && node != holder.user_id {
        return graph_error(100, "Unsupported get request", StatusCode::BAD_REQUEST);
    }
    let accounts = ig.accounts.lock().unwrap();
    let Some(a) = accounts.get(&holder.user_id) else {
        return graph_error(100, "Unsupported get request", StatusCode::BAD_REQUEST);
    };
    axum::Json(json!({
        "id": a.user_id,
        "user_id": a.user_id,
        "username": a.username,
        "account_type": "MEDIA_CREATOR",
        "followers_count": a.followers,
        "media_count": a.media.len(),
    }))
    .into_response()
}

async fn edge(
    State(ig): State<Arc<Instagram>>,
    Path((_version, node, edge)): Path<(String, String, String)>,
    Query(q): Params,
) -> Response {
    let holder = match ig.graph_call(&q) {
        Ok(h) => h,
        Err(r) => return *r,
    };
    let accounts = ig.accounts.lock().unwrap();
    let Some(a) = accounts.get(&holder.user_id) else {
        return graph_error(100, "Unsupported get request", StatusCode::BAD_REQUEST);
    };
    let own = node == "me" || node == a.user_id;
    match edge.as_str() {
        "media" if own => {
            let since = q.get("since").and_then(|s| s.parse::<i64>().ok()).unwrap_or(0);
            let items = a.media.iter().filter(|m| m.timestamp.timestamp() >= since).map(media_json).collect();
            axum::Json(page(items, &q, 25)).into_response()
        }
        // A post's lifetime reach: about four accounts a like, ten a comment, and fifty more.
        "insights" if a.media.iter().any(|m| m.id == node) => {
            let Some(m) = a.media.iter().find(|m| m.id == node) else {
                return graph_error(100, "Unsupported get request", StatusCode::BAD_REQUEST);
            };
            if q.get("metric").map(String::as_str) != Some("reach") {
                return graph_error(100, "(#100) metric must be reach", StatusCode::BAD_REQUEST);
            }
            let reach = m.like_count * 4 + m.comments.len() as i64 * 10 + 50;
            axum::Json(json!({"data": [{"name": "reach", "period": "lifetime", "values": [{"value": reach}], "title": "Reach", "id": format!("{}/insights/reach/lifetime", m.id)}]})).into_response()
        }
        "insights" if own => {
            let (Some(since), Some(until)) = (
                q.get("since").and_then(|s| s.parse::<i64>().ok()),
                q.get("until").and_then(|s| s.parse::<i64>().ok()),
            ) else {
                return graph_error(100, "since and until are required", StatusCode::BAD_REQUEST);
            };
            if until <= since || until - since > 30 * 86_400 {
                return graph_error(100, "The range may be at most 30 days", StatusCode::BAD_REQUEST);
            }
            let in_range = |d: &NaiveDate| {
                let t = d.and_hms_opt(0, 0, 0).map(|t| t.and_utc().timestamp()).unwrap_or_default();
                t >= since && t < until
            };
            let mut total = Day::default();
            for (_, day) in a.daily.iter().filter(|(d, _)| in_range(d)) {
                total.reach += day.reach;
                total.views += day.views;
                total.likes += day.likes;
                total.comments += day.comments;
                total.shares += day.shares;
            }
            let metrics = q.get("metric").cloned().unwrap_or_default();
            let data: Vec<Value> = metrics
                .split(',')
                .filter_map(|name| {
                    let v = match name {
                        "reach" => total.reach,
                        "views" => total.views,
                        "likes" => total.likes,
                        "comments" => total.comments,
                        "shares" => total.shares,
                        _ => return None,
                    };
                    Some(json!({"name": name, "period": "day", "total_value": {"value": v}, "id": format!("{}/insights/{name}/day", a.user_id)}))
                })
                .collect();
            axum::Json(json!({"data": data})).into_response()
        }
        "comments" => match a.media.iter().find(|m| m.id == node) {
            Some(m) => {
                let items = m
                    .comments
                    .iter()
                    .map(|c| json!({"id": c.id, "text": c.text, "username": c.username, "timestamp": ig_time(c.timestamp)}))
                    .collect();
                axum::Json(page(items, &q, 25)).into_response()
            }
            None => graph_error(100, "Unsupported get request", StatusCode::BAD_REQUEST),
        },
        _ => graph_error(100, "Unsupported get request", StatusCode::BAD_REQUEST),
    }
}

async fn delete_node(
    State(ig): State<Arc<Instagram>>,
    Path((_version, node)): Path<(String, String)>,
    Query(q): Params,
) -> Response {
    let holder = match ig.graph_call(&q) {
        Ok(h) => h,
        Err(r) => return *r,
    };
    let mut accounts = ig.accounts.lock().unwrap();
    let Some(a) = accounts.get_mut(&holder.user_id) else {
        return graph_error(100, "Unsupported delete request", StatusCode::BAD_REQUEST);
    };
    for m in a.media.iter_mut() {
        if let Some(i) = m.comments.iter().position(|c| c.id == node) {
            m.comments.remove(i);
            a.deleted.push(node);
            return axum::Json(json!({"success": true})).into_response();
        }
    }
    graph_error(100, "Object with ID does not exist", StatusCode::BAD_REQUEST)
}

async fn raw_account(State(ig): State<Arc<Instagram>>, Path(username): Path<String>) -> Response {
    let accounts = ig.accounts.lock().unwrap();
    let Some(a) = accounts.values().find(|a| a.username == username) else {
        return (StatusCode::NOT_FOUND, "no such sandbox account").into_response();
    };
    let media: Vec<Value> = a
        .media
        .iter()
        .map(|m| {
            let mut v = media_json(m);
            v["timestamp"] = json!(m.timestamp.to_rfc3339());
            v["comments"] = m
                .comments
                .iter()
                .map(|c| json!({"id": c.id, "text": c.text, "username": c.username, "timestamp": c.timestamp.to_rfc3339(), "tone": c.tone}))
                .collect();
            v
        })
        .collect();
    let daily: Vec<Value> = a
        .daily
        .iter()
        .map(|(d, x)| json!({"date": d, "reach": x.reach, "views": x.views, "likes": x.likes, "comments": x.comments, "shares": x.shares}))
        .collect();
    axum::Json(json!({"userId": a.user_id, "username": a.username, "followers": a.followers, "media": media, "daily": daily, "deleted": a.deleted}))
        .into_response()
}

async fn raw_tokens(State(ig): State<Arc<Instagram>>) -> Response {
    axum::Json(json!({"tokens": ig.issued_tokens(), "graphCalls": ig.graph_calls()})).into_response()
}

#[derive(Deserialize)]
struct RateLimit {
    calls: u32,
}

async fn set_rate_limit(State(ig): State<Arc<Instagram>>, axum::Json(r): axum::Json<RateLimit>) -> Response {
    ig.rate_limit(r.calls);
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Deserialize)]
struct Revoke {
    username: String,
}

async fn revoke(State(ig): State<Arc<Instagram>>, _headers: HeaderMap, axum::Json(r): axum::Json<Revoke>) -> Response {
    let user_id = ig.accounts.lock().unwrap().values().find(|a| a.username == r.username).map(|a| a.user_id.clone());
    let Some(user_id) = user_id else { return (StatusCode::NOT_FOUND, "no such sandbox account").into_response() };
    for t in ig.tokens.lock().unwrap().values_mut().filter(|t| t.user_id == user_id) {
        t.revoked = true;
    }
    StatusCode::NO_CONTENT.into_response()
}
