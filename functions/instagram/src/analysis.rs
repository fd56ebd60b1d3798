//! The owner's analysis of a linked account: posts, the top three, the last 30 days against
//! the 30 before, six months of insights with the engagement split, follower history, comments
//! by sentiment and their statistics. Each is one GetItem of the link and one Query of a range
//! of the connection's partition.

use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Serialize;
use shared::handler;
use shared::handler::{Caller, Okay, Params, Path};
use shared::http::PageRequest;
use shared::routes::{Access, Function, Method, ParamDoc, Permission, enum_param, int_param, param};
use shared::table::{Entity, Gsi, Page, Query, SortKey};
use shared::{ApiError, ApiResult, AppContext};
use utoipa::ToSchema;

use crate::account::owned_link;
use crate::sync::month_start;
use crate::synced::{FollowerPoint, InstagramComment, InstagramMedia, MonthInsights, Sentiment, seoul_date};
use crate::{PKG, keys};

const READ: &[Permission] = &[Permission::TableRead];
const PAGE: &[ParamDoc] =
    &[param("cursor", false, "from nextCursor"), int_param("limit", false, "page size, default 20", 1, 50)];

macro_rules! owner_get {
    ($name:ident, $path:literal, $binary:literal, $handler:ident, $summary:literal) => {
        owner_get!($name, $path, $binary, $handler, $summary, &[]);
    };
    ($name:ident, $path:literal, $binary:literal, $handler:ident, $summary:literal, $query:expr) => {
        pub static $name: Function = Function::http(Method::Get, $path, $binary, PKG, Access::User, handler!($handler))
            .permissions(READ)
            .doc("instagram", $summary)
            .query($query)
            .errors(&[403, 404])
            .reads_with_session(crate::account::pet_and_link);
    };
}

owner_get!(MEDIA, "/pets/{id}/instagram/media", "instagram-media", media, "The account's posts, newest first", PAGE);
owner_get!(
    TOP,
    "/pets/{id}/instagram/media/top",
    "instagram-media-top",
    top,
    "The three most liked posts of the last 30 days"
);
owner_get!(
    MEDIA_ANALYSIS,
    "/pets/{id}/instagram/analysis/media",
    "instagram-analysis-media",
    media_analysis,
    "Likes and comments of the last 30 days against the 30 before"
);
owner_get!(
    INSIGHTS,
    "/pets/{id}/instagram/analysis/insights",
    "instagram-analysis-insights",
    insights,
    "Six months of reach, views, likes, comments and shares, with the engagement split"
);
owner_get!(
    FOLLOWERS,
    "/pets/{id}/instagram/followers/history",
    "instagram-followers-history",
    followers,
    "Followers day by day (`?days=`, default 30)",
    FOLLOWERS_QUERY
);
owner_get!(
    COMMENTS,
    "/pets/{id}/instagram/comments",
    "instagram-comments",
    comments,
    "Synced comments, newest first, optionally of one sentiment or holding some words",
    COMMENTS_QUERY
);
owner_get!(
    COMMENT_STATS,
    "/pets/{id}/instagram/comments/stats",
    "instagram-comment-stats",
    comment_stats,
    "Comments by sentiment, and how many were deleted"
);

/// Query parameters, documented on the routes that take them.
const FOLLOWERS_QUERY: &[ParamDoc] = &[int_param("days", false, "how many days back, default 30", 1, 365)];
const COMMENTS_QUERY: &[ParamDoc] = &[
    enum_param("sentiment", false, "only this sentiment", &["POSITIVE", "NEGATIVE", "NEUTRAL", "MIXED"]),
    param("q", false, "only comments of the last 30 days holding these words (then one page, no cursor)"),
    param("cursor", false, "from nextCursor"),
    int_param("limit", false, "page size, default 20", 1, 50),
];

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// The change from `previous` to `current` in %: (current − previous) ÷ previous × 100, and 100
/// when previous is 0.
pub fn change(current: f64, previous: f64) -> f64 {
    if previous == 0.0 { 100.0 } else { round2((current - previous) / previous * 100.0) }
}

/// Each of `parts` as a % of their sum, 0 when the sum is 0.
pub fn shares_of(parts: &[i64]) -> Vec<f64> {
    let sum: i64 = parts.iter().sum();
    parts.iter().map(|p| if sum == 0 { 0.0 } else { round2(*p as f64 / sum as f64 * 100.0) }).collect()
}

pub async fn media(
    ctx: Arc<AppContext>,
    caller: Caller,
    Path(pet): Path<String>,
    params: Params,
) -> ApiResult<Okay<Page<InstagramMedia>>> {
    let link = owned_link(&ctx, &caller.user_id, &pet).await?;
    let q = Query::partition(keys::data_partition(&link.connection_id))
        .begins_with(keys::MEDIA_PREFIX)
        .newest_first()
        .paged(&params, 20, 50)?;
    Ok(Okay(ctx.table.query::<InstagramMedia>(&q).await?))
}

/// Posts published in `(from, to]`.
async fn media_between(
    ctx: &AppContext,
    connection: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> ApiResult<Vec<InstagramMedia>> {
    let q = Query::partition(keys::data_partition(connection))
        .sort(SortKey::Between(
            format!("{}{}", keys::MEDIA_PREFIX, keys::time_sort(from)),
            format!("{}{}~", keys::MEDIA_PREFIX, keys::time_sort(to)),
        ))
        .limit(500);
    let items = ctx.table.query_items_all(&q, Some(5_000)).await?;
    let media: Vec<InstagramMedia> = items.into_iter().map(InstagramMedia::from_item).collect::<ApiResult<_>>()?;
    Ok(media.into_iter().filter(|m| m.timestamp > from && m.timestamp <= to).collect())
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TopMedia {
    pub items: Vec<InstagramMedia>,
}

pub async fn top(ctx: Arc<AppContext>, caller: Caller, Path(pet): Path<String>) -> ApiResult<Okay<TopMedia>> {
    let link = owned_link(&ctx, &caller.user_id, &pet).await?;
    let now = ctx.now();
    let mut items = media_between(&ctx, &link.connection_id, now - Duration::days(30), now).await?;
    // Most liked first; a tie goes to the newer post (then the larger id).
    items.sort_by(|a, b| b.like_count.cmp(&a.like_count).then(b.timestamp.cmp(&a.timestamp)).then(b.id.cmp(&a.id)));
    items.truncate(3);
    Ok(Okay(TopMedia { items }))
}

/// Likes and comments over one period's posts.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PeriodFigures {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub posts: usize,
    pub average_likes: f64,
    pub top_likes: i64,
    pub average_comments: f64,
    pub top_comments: i64,
}

fn figures(media: &[InstagramMedia], from: DateTime<Utc>, to: DateTime<Utc>) -> (PeriodFigures, f64, f64) {
    let posts = media.len();
    let avg = |f: fn(&InstagramMedia) -> i64| {
        if posts == 0 { 0.0 } else { media.iter().map(f).sum::<i64>() as f64 / posts as f64 }
    };
    let (likes, comments) = (avg(|m| m.like_count), avg(|m| m.comments_count));
    (
        PeriodFigures {
            from,
            to,
            posts,
            average_likes: round2(likes),
            top_likes: media.iter().map(|m| m.like_count).max().unwrap_or(0),
            average_comments: round2(comments),
            top_comments: media.iter().map(|m| m.comments_count).max().unwrap_or(0),
        },
        likes,
        comments,
    )
}

/// Changes in %, from the previous period to the current one.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PeriodChange {
    pub average_likes: f64,
    pub top_likes: f64,
    pub average_comments: f64,
    pub top_comments: f64,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MediaComparison {
    /// The last 30 days.
    pub current: PeriodFigures,
    /// The 30 days before.
    pub previous: PeriodFigures,
    /// (current − previous) ÷ previous × 100; 100 when previous is 0.
    pub change: PeriodChange,
}

pub async fn media_analysis(
    ctx: Arc<AppContext>,
    caller: Caller,
    Path(pet): Path<String>,
) -> ApiResult<Okay<MediaComparison>> {
    let link = owned_link(&ctx, &caller.user_id, &pet).await?;
    let now = ctx.now();
    let (mid, start) = (now - Duration::days(30), now - Duration::days(60));
    let all = media_between(&ctx, &link.connection_id, start, now).await?;
    let (cur, prev): (Vec<_>, Vec<_>) = all.into_iter().partition(|m| m.timestamp > mid);
    let (current, cl, cc) = figures(&cur, mid, now);
    let (previous, pl, pc) = figures(&prev, start, mid);
    let change = PeriodChange {
        average_likes: change(cl, pl),
        top_likes: change(current.top_likes as f64, previous.top_likes as f64),
        average_comments: change(cc, pc),
        top_comments: change(current.top_comments as f64, previous.top_comments as f64),
    };
    Ok(Okay(MediaComparison { current, previous, change }))
}

/// Likes, comments and shares, each as a % of their sum (0 when the sum is 0).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EngagementSplit {
    pub likes: f64,
    pub comments: f64,
    pub shares: f64,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MonthFigures {
    /// `2026-11` (Seoul).
    pub month: String,
    pub reach: i64,
    pub views: i64,
    pub likes: i64,
    pub comments: i64,
    pub shares: i64,
    pub engagement: EngagementSplit,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InsightsReport {
    /// The last six months, oldest first (this month so far last).
    pub months: Vec<MonthFigures>,
}

pub async fn insights(
    ctx: Arc<AppContext>,
    caller: Caller,
    Path(pet): Path<String>,
) -> ApiResult<Okay<InsightsReport>> {
    let link = owned_link(&ctx, &caller.user_id, &pet).await?;
    let now = ctx.now();
    let names: Vec<String> = (0..6).rev().map(|back| month_start(now, back).1).collect();
    let q = Query::partition(keys::data_partition(&link.connection_id))
        .sort(SortKey::Between(keys::insights_sort(&names[0]), keys::insights_sort(&names[5])))
        .limit(12);
    let stored: Vec<MonthInsights> = ctx.table.query::<MonthInsights>(&q).await?.items;
    let months = names
        .into_iter()
        .map(|month| {
            let m = stored.iter().find(|m| m.month == month);
            let (reach, views, likes, comments, shares) =
                m.map(|m| (m.reach, m.views, m.likes, m.comments, m.shares)).unwrap_or_default();
            let split = shares_of(&[likes, comments, shares]);
            MonthFigures {
                month,
                reach,
                views,
                likes,
                comments,
                shares,
                engagement: EngagementSplit { likes: split[0], comments: split[1], shares: split[2] },
            }
        })
        .collect();
    Ok(Okay(InsightsReport { months }))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FollowerHistory {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// One point per day a sync ran, oldest first.
    pub points: Vec<FollowerPoint>,
}

pub async fn followers(
    ctx: Arc<AppContext>,
    caller: Caller,
    Path(pet): Path<String>,
    params: Params,
) -> ApiResult<Okay<FollowerHistory>> {
    let days = match params.get("days") {
        None => 30,
        Some(d) => d
            .parse::<i64>()
            .ok()
            .filter(|d| (1..=365).contains(d))
            .ok_or_else(|| ApiError::validation("days", "OUT_OF_RANGE", "a number of days from 1 to 365"))?,
    };
    let link = owned_link(&ctx, &caller.user_id, &pet).await?;
    let to = seoul_date(ctx.now());
    let from = to - Duration::days(days - 1);
    let q = Query::partition(keys::data_partition(&link.connection_id))
        .sort(SortKey::Between(keys::followers_sort(from), keys::followers_sort(to)))
        .limit(400);
    let points = ctx.table.query::<FollowerPoint>(&q).await?.items;
    Ok(Okay(FollowerHistory { from, to, points }))
}

pub async fn comments(
    ctx: Arc<AppContext>,
    caller: Caller,
    Path(pet): Path<String>,
    params: Params,
) -> ApiResult<Okay<Page<InstagramComment>>> {
    let sentiment = match params.raw("sentiment") {
        None => None,
        Some(s) => Some(
            Sentiment::parse(s)
                .ok_or_else(|| ApiError::validation("sentiment", "INVALID", "POSITIVE, NEGATIVE, NEUTRAL or MIXED"))?,
        ),
    };
    let link = owned_link(&ctx, &caller.user_id, &pet).await?;
    if let Some(words) = params.get("q").map(str::trim).filter(|w| !w.is_empty()) {
        if words.chars().count() > 50 {
            return Err(ApiError::validation("q", "TOO_LONG", "at most 50 characters"));
        }
        let limit = params.limit(20, 50)?;
        let mut found = crate::comments::search(&ctx, &link.connection_id, words, limit).await?;
        if let Some(s) = sentiment {
            found.retain(|c| c.sentiment == s);
        }
        return Ok(Okay(Page { items: found, next_cursor: None }));
    }
    let q = match sentiment {
        None => Query::partition(keys::data_partition(&link.connection_id)).begins_with(keys::COMMENT_PREFIX),
        Some(s) => Query::partition(keys::sentiment_partition(&link.connection_id, s.as_str())).index(Gsi::Gsi1),
    };
    Ok(Okay(ctx.table.query::<InstagramComment>(&q.newest_first().paged(&params, 20, 50)?).await?))
}

/// Each sentiment's share of the comments, in %.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SentimentRatio {
    pub positive: f64,
    pub negative: f64,
    pub neutral: f64,
    pub mixed: f64,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommentStats {
    pub total: i64,
    pub positive: i64,
    pub negative: i64,
    pub neutral: i64,
    pub mixed: i64,
    pub ratio: SentimentRatio,
    pub deleted: i64,
    /// Deleted comments as a % of all (0 with none).
    pub deletion_rate: f64,
}

pub async fn comment_stats(
    ctx: Arc<AppContext>,
    caller: Caller,
    Path(pet): Path<String>,
) -> ApiResult<Okay<CommentStats>> {
    let link = owned_link(&ctx, &caller.user_id, &pet).await?;
    let c = crate::sync::counters(&ctx, &link.connection_id).await?;
    let r = shares_of(&[c.positive, c.negative, c.neutral, c.mixed]);
    Ok(Okay(CommentStats {
        total: c.total,
        positive: c.positive,
        negative: c.negative,
        neutral: c.neutral,
        mixed: c.mixed,
        ratio: SentimentRatio { positive: r[0], negative: r[1], neutral: r[2], mixed: r[3] },
        deleted: c.deleted,
        deletion_rate: if c.total == 0 { 0.0 } else { round2(c.deleted as f64 / c.total as f64 * 100.0) },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_zero_cases() {
        assert_eq!(change(5.0, 0.0), 100.0);
        assert_eq!(change(0.0, 0.0), 100.0);
        assert_eq!(change(15.0, 10.0), 50.0);
        assert_eq!(change(5.0, 10.0), -50.0);
        assert_eq!(shares_of(&[0, 0, 0]), vec![0.0, 0.0, 0.0]);
        assert_eq!(shares_of(&[1, 1, 2]), vec![25.0, 25.0, 50.0]);
    }
}
