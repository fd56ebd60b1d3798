//! The sync pipeline: a nightly job (02:00 in Seoul) queues one message per linked account on
//! `sns-sync`; an owner may queue one now. The worker, per message:
//!
//! 1. reads the link (a message for a link that is gone or was replaced is done) and opens the
//!    sealed token;
//! 2. the profile, and the day's follower point;
//! 3. posts of the last month (the first sync: six months);
//! 4. monthly insights (the first sync: six months; then this month and the last);
//! 5. comments on the last 30 days' posts: the new ones are classified by Comprehend 25 at a
//!    time, and with auto-delete on, a NEGATIVE comment or one with a banned word is deleted on
//!    Instagram and recorded as deleted;
//! 6. the link's summary and the PetStar's engagement figure.
//!
//! Every write is keyed by Instagram's ids, and a comment is stored (with its counters) only if
//! it is new, so a redelivered message stores nothing twice. Instagram's rate limit puts the
//! message back on the queue with a delay (a fresh message: the delays do not use up the
//! receive count); a revoked token ends the link.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use shared::routes::{Function, Job, Permission, Worker};
use shared::table::{Entity, Gsi, Key, Query, SortKey, Write, n, s};
use shared::worker::MessageError;
use shared::{ApiError, ApiResult, AppContext};

use crate::account::unlink;
use crate::error::InstagramError;
use crate::graph::{self, GraphError, GraphMedia};
use crate::link::{InstagramLink, SNS_SYNC, SealedToken, SyncOrder};
use crate::synced::{
    CommentCounters, DeletedFor, FollowerPoint, InstagramComment, InstagramMedia, MonthInsights, Sentiment, seoul,
    seoul_date,
};
use crate::{PKG, crypto, keys, sentiment};

/// Rate-limit delays one sync may take before it counts as failing.
const MAX_DEFERRALS: u32 = 24;
/// Comments are read on posts this recent.
const COMMENT_WINDOW_DAYS: i64 = 30;
/// Posts this recent have their reach read at each sync (Instagram's figure still moves)...
const REACH_WINDOW_DAYS: i64 = 30;
/// ...at most this many a sync (one Graph call each).
const REACH_POSTS: usize = 25;

pub static WORKER: Function = Function::worker(
    "instagram-sync-worker",
    PKG,
    Worker {
        name: "instagram-sync-worker",
        queue: &SNS_SYNC,
        batch_size: 5,
        handler: shared::consumer!(handle),
        summary: "Syncs one Instagram account (profile, posts, insights, comments), moderates its comments with Comprehend, purges unlinked accounts' data",
        example: r#"{"kind":"SYNC","petId":"01JD3K4Q5R6S7T8V9W0XYZABCD","connectionId":"01JD3K4Q5R6S7T8V9W0XYZABCE","deferrals":0}"#,
    },
)
.permissions(&[
    Permission::TableRead,
    Permission::TableWrite,
    Permission::DetectSentiment,
    Permission::SendTo(&SNS_SYNC),
])
.settings(crate::graph::SETTINGS)
.timeout(300)
.memory(512);

pub static NIGHTLY: Function = Function::job(
    "instagram-nightly",
    PKG,
    Job {
        name: "instagram-nightly",
        // 02:00 in Seoul is 17:00 UTC the day before.
        schedule: "cron(0 17 * * ? *)",
        handler: |ctx| Box::pin(nightly(ctx)),
        summary: "Queues one sync per linked Instagram account (02:00 KST)",
    },
)
.permissions(&[Permission::TableRead, Permission::SendTo(&SNS_SYNC)]);

/// Queues one message per linked account: ten to a `SendMessageBatch`, a page of links at a time.
pub async fn nightly(ctx: Arc<AppContext>) -> ApiResult<serde_json::Value> {
    let mut queued = 0usize;
    let mut cursor = None;
    loop {
        let page = ctx
            .table
            .query::<InstagramLink>(&Query::partition(keys::LINKS).index(Gsi::Gsi1).limit(100).cursor(cursor))
            .await?;
        for chunk in page.items.chunks(10) {
            let mut entries = Vec::with_capacity(chunk.len());
            for (i, l) in chunk.iter().enumerate() {
                let order =
                    SyncOrder::Sync { pet_id: l.pet_id.clone(), connection_id: l.connection_id.clone(), deferrals: 0 };
                entries.push(
                    aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .message_body(serde_json::to_string(&order)?)
                        .build()
                        .map_err(|e| ApiError::internal(e.to_string()))?,
                );
            }
            let out = ctx
                .sqs
                .send_message_batch()
                .queue_url(ctx.config.queue_url(&SNS_SYNC))
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| ApiError::internal(format!("sns-sync: {}", aws_sdk_sqs::Error::from(e))))?;
            if !out.failed().is_empty() {
                return Err(ApiError::internal(format!("sns-sync refused {} messages", out.failed().len())));
            }
            queued += chunk.len();
        }
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    Ok(serde_json::json!({ "queued": queued }))
}

pub async fn handle(ctx: Arc<AppContext>, order: SyncOrder) -> Result<(), MessageError> {
    match order {
        SyncOrder::Rejudge { pet_id, connection_id } => {
            if !shared::ids::is_valid_id(&pet_id) || !shared::ids::is_valid_id(&connection_id) {
                return Err(MessageError::Permanent("not a pet or connection id".into()));
            }
            let removed = crate::comments::rejudge(&ctx, &pet_id, &connection_id).await?;
            tracing::info!(pet = %pet_id, removed, "stored comments re-judged");
            Ok(())
        }
        SyncOrder::Purge { connection_id } => {
            if !shared::ids::is_valid_id(&connection_id) {
                return Err(MessageError::Permanent("not a connection id".into()));
            }
            purge(&ctx, &connection_id).await.map_err(MessageError::from)
        }
        SyncOrder::Sync { pet_id, connection_id, deferrals } => {
            if !shared::ids::is_valid_id(&pet_id) || !shared::ids::is_valid_id(&connection_id) {
                return Err(MessageError::Permanent("not a pet or connection id".into()));
            }
            match sync(&ctx, &pet_id, &connection_id).await {
                Ok(()) => Ok(()),
                Err(Failure::Graph(GraphError::RateLimited { after_secs })) => {
                    defer(&ctx, &pet_id, &connection_id, deferrals, after_secs).await
                }
                Err(Failure::Graph(GraphError::TokenInvalid(reason))) => {
                    tracing::warn!(pet = %pet_id, reason = %reason, "Instagram token no longer valid; unlinking");
                    end_link(&ctx, &pet_id, &connection_id).await.map_err(MessageError::from)
                }
                Err(Failure::Graph(GraphError::Refused(reason))) => {
                    Err(MessageError::Permanent(format!("Instagram refused the sync: {reason}")))
                }
                Err(Failure::Graph(GraphError::Transient(reason))) => Err(MessageError::Retry(reason)),
                Err(Failure::Broken(reason)) => Err(MessageError::Permanent(reason)),
                Err(Failure::Store(e)) => Err(MessageError::from(e)),
            }
        }
    }
}

/// Puts the sync back for later: a fresh message with a delay, so that waiting out Instagram's
/// rate limit never counts as a failed delivery.
async fn defer(
    ctx: &AppContext,
    pet: &str,
    connection: &str,
    deferrals: u32,
    after_secs: u32,
) -> Result<(), MessageError> {
    if deferrals >= MAX_DEFERRALS {
        return Err(MessageError::Retry(format!("still rate-limited after {deferrals} delays")));
    }
    // Back off from the configured base, or as long as Instagram says, within SQS's 15 minutes.
    let backoff = ctx.config.retry_base_secs.saturating_mul(1 << deferrals.min(5));
    let delay = after_secs.max(backoff).min(900);
    let order = SyncOrder::Sync { pet_id: pet.into(), connection_id: connection.into(), deferrals: deferrals + 1 };
    ctx.sqs
        .send_message()
        .queue_url(ctx.config.queue_url(&SNS_SYNC))
        .message_body(serde_json::to_string(&order).map_err(|e| MessageError::Retry(e.to_string()))?)
        .delay_seconds(delay as i32)
        .send()
        .await
        .map_err(|e| MessageError::Retry(format!("could not put the sync back: {}", aws_sdk_sqs::Error::from(e))))?;
    tracing::info!(pet = %pet, delay, deferrals = deferrals + 1, "Instagram rate limit: sync put back");
    Ok(())
}

enum Failure {
    Graph(GraphError),
    Store(ApiError),
    Broken(String),
}

impl From<GraphError> for Failure {
    fn from(e: GraphError) -> Self {
        Failure::Graph(e)
    }
}

impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Self {
        Failure::Store(e)
    }
}

async fn current_link(ctx: &AppContext, pet: &str, connection: &str) -> ApiResult<Option<InstagramLink>> {
    Ok(ctx.table.get::<InstagramLink>(&keys::link_key(pet)).await?.filter(|l| l.connection_id == connection))
}

async fn end_link(ctx: &AppContext, pet: &str, connection: &str) -> ApiResult<()> {
    match current_link(ctx, pet, connection).await? {
        Some(link) => unlink(ctx, &link).await,
        None => Ok(()),
    }
}

/// The first day of the (Seoul) month `months_back` months before `at`'s, as a UTC instant,
/// and its `yyyy-mm` name.
pub fn month_start(at: DateTime<Utc>, months_back: u32) -> (DateTime<Utc>, String) {
    let local = at.with_timezone(&seoul());
    let total = local.year() * 12 + local.month0() as i32 - months_back as i32;
    let (y, m) = (total.div_euclid(12), total.rem_euclid(12) as u32 + 1);
    let first = NaiveDate::from_ymd_opt(y, m, 1).expect("the first of a month exists");
    let start = seoul()
        .from_local_datetime(&first.and_hms_opt(0, 0, 0).expect("midnight exists"))
        .single()
        .expect("a fixed offset is unambiguous")
        .with_timezone(&Utc);
    (start, format!("{y:04}-{m:02}"))
}

async fn sync(ctx: &AppContext, pet: &str, connection: &str) -> Result<(), Failure> {
    let Some(link) = current_link(ctx, pet, connection).await? else { return Ok(()) };
    // A pet deleted since: its link ends here.
    if pets_contract::owner_of(ctx, pet).await?.is_none() {
        unlink(ctx, &link).await?;
        return Ok(());
    }
    let key = ctx
        .provider::<crate::crypto::TokenKey>()
        .map_err(Failure::Store)?
        .ok_or(Failure::Store(ApiError::internal("INSTAGRAM_TOKEN_KEY is not configured")))?;
    let sealed = ctx
        .table
        .get::<SealedToken>(&keys::token_key(pet))
        .await?
        .filter(|t| t.connection_id == connection)
        .ok_or_else(|| Failure::Broken("the link has no token".into()))?;
    let token = crypto::open(&key, pet, connection, &sealed.sealed).map_err(Failure::Broken)?;
    let now = ctx.now();
    let first = link.last_synced_at.is_none();
    let user = link.instagram_user_id.as_str();

    // The profile and the day's follower point.
    let account = graph::me(ctx, &token).await?;
    let point = FollowerPoint {
        connection_id: connection.into(),
        date: seoul_date(now),
        followers_count: account.followers_count,
    };
    ctx.table.write(Write::put(&point)?).await?;

    // Posts.
    let since = now - Duration::days(if first { 183 } else { 31 });
    let media = graph::media_since(ctx, &token, user, since).await?;
    let stored: Vec<InstagramMedia> = media.iter().map(|m| as_media(connection, m)).collect();
    put_all(ctx, &stored).await?;
    // Each post's figures by its permalink, with the reach of the recent ones (a call each, at
    // most REACH_POSTS a sync): what campaign reports read for a review's URL.
    let mut figures = Vec::with_capacity(media.len());
    let mut measured = 0;
    for m in &media {
        let Some(code) = m.permalink.as_deref().and_then(instagram_contract::shortcode) else { continue };
        let reach = if m.timestamp >= now - Duration::days(REACH_WINDOW_DAYS) && measured < REACH_POSTS {
            measured += 1;
            Some(graph::media_reach(ctx, &token, &m.id).await?)
        } else {
            None
        };
        figures.push(instagram_contract::StoredPostFigures {
            connection_id: connection.into(),
            shortcode: code,
            figures: instagram_contract::PostFigures {
                media_id: m.id.clone(),
                like_count: m.like_count,
                comments_count: m.comments_count,
                reach,
                synced_at: now,
            },
        });
    }
    put_all(ctx, &figures).await?;

    // Monthly insights.
    let months = if first { 6 } else { 2 };
    let mut insights = Vec::with_capacity(months as usize);
    for back in (0..months).rev() {
        let (from, name) = month_start(now, back);
        let (until, _) = if back == 0 { (now, String::new()) } else { month_start(now, back - 1) };
        let t = graph::insights(ctx, &token, user, from, until).await?;
        insights.push(MonthInsights {
            connection_id: connection.into(),
            month: name,
            reach: t.reach,
            views: t.views,
            likes: t.likes,
            comments: t.comments,
            shares: t.shares,
        });
    }
    put_all(ctx, &insights).await?;

    // Comments on recent posts.
    let recent: Vec<&GraphMedia> = media
        .iter()
        .filter(|m| m.timestamp >= now - Duration::days(COMMENT_WINDOW_DAYS) && m.comments_count > 0)
        .collect();
    let auto_delete = link.auto_delete;
    let banned = if auto_delete { crate::banned::words(ctx, pet).await? } else { Vec::new() };
    let mut comments = Vec::new();
    for m in recent {
        comments.extend(graph::comments(ctx, &token, &m.id).await?.into_iter().map(|c| (m.id.clone(), c)));
    }
    moderate(ctx, &token, connection, comments, auto_delete, &banned).await?;

    // The summary on the link, and the PetStar's engagement figure.
    let engagement = engagement_rate(&stored, account.followers_count, now);
    let mut writes = vec![
        Write::update(keys::link_key(pet), "SET #u = :u, #f = :f, #m = :m, #e = :e, #s = :s, #t = :t")
            .when("#c = :c", InstagramError::LinkChanged)
            .name("#u", "username")
            .name("#f", "followersCount")
            .name("#m", "mediaCount")
            .name("#e", "engagementRate")
            .name("#s", "lastSyncedAt")
            .name("#t", "accountType")
            .name("#c", "connectionId")
            .value(":u", s(&account.username))
            .value(":f", n(account.followers_count))
            .value(":m", n(account.media_count))
            .value(":e", n(engagement))
            .value(":s", shared::table::time(now))
            .value(":t", s(account.account_type.clone().unwrap_or_default()))
            .value(":c", s(connection)),
    ];
    writes.extend(instagram_contract::engagement_measured(ctx, pet, Some(engagement), now)?);
    let done = ctx.table.transact(writes).await;
    match done {
        Ok(()) => Ok(()),
        // Unlinked while this sync ran: what it wrote goes with the rest.
        Err(e) if e.is(&InstagramError::LinkChanged) => {
            purge(ctx, connection).await?;
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

fn as_media(connection: &str, m: &GraphMedia) -> InstagramMedia {
    InstagramMedia {
        connection_id: connection.into(),
        id: m.id.clone(),
        caption: m.caption.clone().unwrap_or_default(),
        media_type: m.media_type.clone().unwrap_or_else(|| "IMAGE".into()),
        like_count: m.like_count,
        comments_count: m.comments_count,
        timestamp: m.timestamp,
        permalink: m.permalink.clone(),
    }
}

/// Average likes and comments per post of the last 30 days, as a % of the followers, to two
/// decimals; 0 without followers or posts.
pub fn engagement_rate(media: &[InstagramMedia], followers: i64, now: DateTime<Utc>) -> f64 {
    let recent: Vec<&InstagramMedia> =
        media.iter().filter(|m| m.timestamp > now - Duration::days(30) && m.timestamp <= now).collect();
    if followers <= 0 || recent.is_empty() {
        return 0.0;
    }
    let interactions: i64 = recent.iter().map(|m| m.like_count + m.comments_count).sum();
    let rate = interactions as f64 / recent.len() as f64 / followers as f64 * 100.0;
    (rate * 100.0).round() / 100.0
}

async fn put_all<E: Entity>(ctx: &AppContext, entities: &[E]) -> ApiResult<()> {
    let requests = entities.iter().map(shared::table::Write::put).collect::<ApiResult<Vec<_>>>()?;
    ctx.table.batch_write(requests).await
}

/// Stores the comments (with their posts) not stored yet: classified 25 to a Comprehend call
/// across all posts, and with auto-delete on, deleted on Instagram when NEGATIVE or banned. Each
/// is stored with its counters in one transaction that only a new comment passes.
async fn moderate(
    ctx: &AppContext,
    token: &str,
    connection: &str,
    comments: Vec<(String, graph::GraphComment)>,
    auto_delete: bool,
    banned: &[String],
) -> Result<(), Failure> {
    if comments.is_empty() {
        return Ok(());
    }
    let keys: Vec<Key> = comments
        .iter()
        .map(|(_, c)| Key::new(keys::data_partition(connection), keys::comment_sort(c.timestamp, &c.id)))
        .collect();
    let known: HashSet<String> = ctx
        .table
        .batch_get_items(&keys)
        .await?
        .into_iter()
        .zip(&comments)
        .filter_map(|(found, (_, c))| found.map(|_| c.id.clone()))
        .collect();
    let fresh: Vec<(String, graph::GraphComment)> =
        comments.into_iter().filter(|(_, c)| !known.contains(&c.id)).collect();
    if fresh.is_empty() {
        return Ok(());
    }
    let texts: Vec<&str> = fresh.iter().map(|(_, c)| c.text.as_str()).collect();
    let sentiments = sentiment::classify(ctx, &texts).await.map_err(|e| Failure::Store(ApiError::internal(e)))?;
    for ((media, c), sentiment) in fresh.into_iter().zip(sentiments) {
        let reason = if !auto_delete {
            None
        } else if sentiment::banned_word(&c.text, banned).is_some() {
            Some(DeletedFor::BannedWord)
        } else if sentiment == Sentiment::Negative {
            Some(DeletedFor::Negative)
        } else {
            None
        };
        if reason.is_some() {
            // Deleted first, stored after: a failure here leaves the comment new for the retry.
            graph::delete_comment(ctx, token, &c.id).await?;
        }
        let stored = InstagramComment {
            connection_id: connection.into(),
            id: c.id,
            media_id: media,
            text: c.text,
            username: c.username,
            timestamp: c.timestamp,
            sentiment,
            deleted_for: reason,
            deleted_at: reason.map(|_| ctx.now()),
        };
        let counters = format!(
            "ADD #total :one, #{s} :one{d}",
            s = sentiment.counter(),
            d = if reason.is_some() { ", #deleted :one" } else { "" }
        );
        let mut update = Write::update(keys::stats_key(connection), counters)
            .name("#total", "total")
            .name(&format!("#{}", sentiment.counter()), sentiment.counter())
            .value(":one", n(1));
        if reason.is_some() {
            update = update.name("#deleted", "deleted");
        }
        let mut writes = vec![
            Write::put(&stored)?.if_absent(InstagramError::CommentStored),
            update,
            crate::comments::pointer(&stored),
        ];
        if let Some(why) = reason {
            let word = sentiment::banned_word(&stored.text, banned).map(str::to_string);
            writes.push(crate::comments::record(
                &stored,
                crate::comments::DeletedBy::Sync,
                Some(why),
                word,
                ctx.now(),
            )?);
        }
        let stored_now = ctx.table.transact(writes).await;
        match stored_now {
            Ok(()) => {}
            // Another delivery stored it first.
            Err(e) if e.is(&InstagramError::CommentStored) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Deletes everything synced under `connection` (a page at a time, 25 to a batch).
pub async fn purge(ctx: &AppContext, connection: &str) -> ApiResult<()> {
    loop {
        let page = ctx
            .table
            .query_items(&Query::partition(keys::data_partition(connection)).sort(SortKey::All).limit(500))
            .await?;
        if page.items.is_empty() {
            return Ok(());
        }
        let requests = page
            .items
            .iter()
            .filter_map(|item| {
                let key = |name| match item.get(name) {
                    Some(shared::table::AttrValue::S(v)) => Some(v.clone()),
                    _ => None,
                };
                Some(shared::table::Write::delete(Key::new(key(shared::table::PK)?, key(shared::table::SK)?)))
            })
            .collect();
        ctx.table.batch_write(requests).await?;
    }
}

/// Reads the comment counters (absent: nothing counted yet).
pub async fn counters(ctx: &AppContext, connection: &str) -> ApiResult<CommentCounters> {
    Ok(ctx
        .table
        .get_item(&keys::stats_key(connection))
        .await?
        .map(serde_dynamo::from_item)
        .transpose()
        .map_err(|e: serde_dynamo::Error| ApiError::internal(e.to_string()))?
        .unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_are_seouls() {
        // 2026-11-30 16:00 UTC is already December 1st in Seoul.
        let at = Utc.with_ymd_and_hms(2026, 11, 30, 16, 0, 0).unwrap();
        let (start, name) = month_start(at, 0);
        assert_eq!(name, "2026-12");
        assert_eq!(start, Utc.with_ymd_and_hms(2026, 11, 30, 15, 0, 0).unwrap());
        assert_eq!(month_start(at, 12).1, "2025-12");
        assert_eq!(month_start(at, 11).1, "2026-01");
    }

    #[test]
    fn engagement_is_zero_without_followers_or_posts() {
        let now = Utc::now();
        let m = |likes, comments, days| InstagramMedia {
            connection_id: String::new(),
            id: "1".into(),
            caption: String::new(),
            media_type: "IMAGE".into(),
            like_count: likes,
            comments_count: comments,
            timestamp: now - Duration::days(days),
            permalink: None,
        };
        assert_eq!(engagement_rate(&[], 100, now), 0.0);
        assert_eq!(engagement_rate(&[m(10, 0, 1)], 0, now), 0.0);
        // (10+2 + 30+0) / 2 posts / 200 followers = 10.5 %; the 40-day-old post is left out.
        assert_eq!(engagement_rate(&[m(10, 2, 1), m(30, 0, 3), m(999, 9, 40)], 200, now), 10.5);
    }
}
