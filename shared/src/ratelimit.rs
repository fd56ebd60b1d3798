//! Fixed-window rate limits kept in the table: one counter item per action, subject and window,
//! incremented with a conditional update, so that concurrent requests cannot overshoot.

use chrono::{DateTime, Utc};

use crate::context::AppContext;
use crate::error::{ApiError, ApiResult};
use crate::table::{Write, n};

/// How many times an action may happen per subject within a window.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub action: &'static str,
    pub max: u32,
    pub window_secs: i64,
}

fn window_start(now: DateTime<Utc>, window_secs: i64) -> i64 {
    let t = now.timestamp();
    t - t.rem_euclid(window_secs)
}

/// Counts one occurrence of `limit.action` for `subject` (an email, an IP address); 429 with
/// `Retry-After` when the window is full.
pub async fn hit(ctx: &AppContext, limit: Limit, subject: &str) -> ApiResult<()> {
    ctx.table.write(counter(ctx, limit, subject)).await
}

/// The write that counts one occurrence, failing with 429 when the window is full: written by
/// [`hit`], or carried in the request's own transaction (`table::charge`).
pub fn counter(ctx: &AppContext, limit: Limit, subject: &str) -> Write {
    let now = ctx.now();
    let start = window_start(now, limit.window_secs);
    let end = start + limit.window_secs;
    let key = crate::keys::rate_key(limit.action, subject, start);
    Write::update(key, "ADD #c :one SET #ttl = :ttl")
        .name("#c", "count")
        .name("#ttl", crate::table::TTL_ATTRIBUTE)
        .value(":one", n(1))
        .value(":max", n(limit.max))
        .value(":ttl", n(end + 60))
        .when(
            "attribute_not_exists(#c) OR #c < :max",
            ApiError::TooManyRequests { code: "RATE_LIMITED", retry_after_secs: (end - now.timestamp()).max(1) as u64 },
        )
}

/// The per-user write limit: `WRITE_RATE_LIMIT_PER_MINUTE` writes a minute on one route (or
/// one WebSocket action that writes what the route does).
pub fn write_limit(ctx: &AppContext) -> Limit {
    Limit { action: "write", max: ctx.config.write_rate_limit, window_secs: 60 }
}

/// The counter of `user`'s writes on the route `route_key` (`POST /chat/rooms/{id}/messages`).
pub fn write_counter(ctx: &AppContext, user: &str, route_key: &str) -> Write {
    counter(ctx, write_limit(ctx), &format!("{user}|{route_key}"))
}

/// The per-IP limit of an action, scaled by configuration.
pub fn per_ip(action: &'static str, ctx: &AppContext) -> Limit {
    Limit { action, max: ctx.config.ip_rate_limit, window_secs: 600 }
}

/// Counts the action for the request's source address, when it has one.
pub async fn hit_ip(ctx: &AppContext, action: &'static str, ip: Option<&str>) -> ApiResult<()> {
    match ip {
        Some(ip) if !ip.is_empty() => hit(ctx, per_ip(action, ctx), ip).await,
        _ => Ok(()),
    }
}

/// Counts the action for `subject` (an email) *from one source address*: attempts made elsewhere
/// cannot use up the quota of the subject's owner. Without a source, the subject alone counts.
pub async fn hit_from(ctx: &AppContext, limit: Limit, subject: &str, ip: Option<&str>) -> ApiResult<()> {
    match ip {
        Some(ip) if !ip.is_empty() => hit(ctx, limit, &format!("{subject}|{ip}")).await,
        _ => hit(ctx, limit, subject).await,
    }
}
