//! Keeping the search postings and hashtag statistics in step with posts, off the request path:
//! every post write commits an [`IndexPost`] message with it (through the outbox), and the
//! post-index worker brings the post's postings and hashtag counts in line with the post as it
//! is now — so the result is right whatever order or how often the messages come.
//!
//! | item | PK | SK |
//! |---|---|---|
//! | what the index holds for a post | `INDEXSTATE#<post>` | `STATE` (postings, tags, version) |

use chrono::{DateTime, Utc};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use shared::routes::{Function, Permission, Worker};
use shared::table::{Entity, Key, Write, n, s};
use shared::worker::MessageError;
use shared::{ApiError, ApiResult, AppContext};

use crate::error::DiaryError;
use crate::model::{Post, post_key};
use shared::search::{PostingIndex, Postings};

/// Diary posts: title (`T`) and the opening of the content (`C`) as bigrams, hashtags (`H`)
/// whole. Each posting carries its author (a search can leave out people hidden from the viewer
/// before reading the posts).
pub const POSTS: PostingIndex =
    PostingIndex { partition: crate::keys::posting_partition, entity_type: "SearchPosting", max_tokens_per_text: 200 };

/// Every posting of a post.
pub fn postings(title: &str, content: &str, tags: &[String]) -> Postings {
    let mut out = POSTS.text('T', title);
    out.extend(POSTS.text('C', content));
    out.extend(POSTS.values('H', tags));
    out
}

pub use crate::keys::posting_partition;

/// Writes the postings a post gained and deletes those it lost.
pub async fn reindex(ctx: &AppContext, post_id: &str, author: &str, old: &Postings, new: &Postings) -> ApiResult<()> {
    ctx.table.batch_write(POSTS.refile(post_id, old, new, &[("authorId", author)])).await
}

fn hour_bucket(t: DateTime<Utc>) -> String {
    crate::keys::tag_stats_partition(&t.format("%Y-%m-%dT%H").to_string())
}

/// The update that counts a hashtag use in the hour its post was written (negative `by` takes
/// it back).
fn count_tag(created_at: DateTime<Utc>, tag: &str, by: i64) -> Write {
    Write::update(Key::new(hour_bucket(created_at), tag.to_lowercase()), "ADD #c :d SET tag = :t, #ttl = :ttl")
        .name("#c", "count")
        .name("#ttl", shared::table::TTL_ATTRIBUTE)
        .value(":d", n(by))
        .value(":t", s(tag.to_lowercase()))
        .value(":ttl", n(created_at.timestamp() + 8 * 24 * 3600))
}

/// The message every post write commits: index this post as it is now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IndexPost {
    pub post_id: String,
}

/// The outbox write that asks the worker to index `post_id`.
pub fn index_later(ctx: &AppContext, post_id: &str) -> ApiResult<Write> {
    shared::outbox::message(ctx, &POST_INDEX, &IndexPost { post_id: post_id.to_string() })
}

/// What the index holds for one post.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct IndexState {
    post_id: String,
    author_id: String,
    /// `F#token`: field letter and token.
    postings: Vec<String>,
    tags: Vec<String>,
    created_at: DateTime<Utc>,
    version: u64,
}

impl Entity for IndexState {
    const TYPE: &'static str = "PostIndexState";
    fn pk(&self) -> String {
        crate::keys::index_state_partition(&self.post_id)
    }
    fn sk(&self) -> String {
        state_key(&self.post_id).sk
    }
}

use crate::keys::index_state_key as state_key;

/// Posts whose search postings and hashtag counts must follow a write (created, edited, deleted).
pub const POST_INDEX: shared::queues::Queue =
    shared::queues::Queue { name: "post-index", visibility_timeout_secs: 60, max_receive_count: 5 };

/// Brings one post's postings and hashtag counts in line with the post as it is now (gone:
/// none). Postings are keyed writes (a repeat is harmless); the counts change in one transaction
/// with the new state, conditional on the state read, so they change exactly once.
pub async fn sync(ctx: &AppContext, post_id: &str) -> ApiResult<()> {
    let post = ctx.table.get::<Post>(&post_key(post_id)).await?;
    let state = ctx.table.get::<IndexState>(&state_key(post_id)).await?;
    let (Some(author), Some(created_at)) = (
        post.as_ref().map(|p| p.author_id.clone()).or_else(|| state.as_ref().map(|s| s.author_id.clone())),
        post.as_ref().map(|p| p.created_at).or_else(|| state.as_ref().map(|s| s.created_at)),
    ) else {
        return Ok(()); // never indexed and gone already
    };
    let old = state.as_ref().map(|s| PostingIndex::decode(&s.postings)).unwrap_or_default();
    let new = post.as_ref().map(|p| postings(&p.title, &p.content, &p.hashtags)).unwrap_or_default();
    reindex(ctx, post_id, &author, &old, &new).await?;

    let old_tags: Vec<String> = state.as_ref().map(|s| s.tags.clone()).unwrap_or_default();
    let new_tags: Vec<String> =
        post.as_ref().map(|p| p.hashtags.iter().map(|t| t.to_lowercase()).collect()).unwrap_or_default();
    let mut writes: Vec<Write> = Vec::new();
    for t in old_tags.iter().filter(|t| !new_tags.contains(t)) {
        writes.push(count_tag(created_at, t, -1));
    }
    for t in new_tags.iter().filter(|t| !old_tags.contains(t)) {
        writes.push(count_tag(created_at, t, 1));
    }
    let changed = || -> ApiError { DiaryError::IndexChanged.into() };
    let version = state.as_ref().map(|s| s.version);
    let guard = |w: Write| match version {
        Some(v) => w.when("version = :v", changed()).value(":v", n(v)),
        None => w.if_absent(changed()),
    };
    writes.push(match post {
        Some(_) => guard(Write::put(&IndexState {
            post_id: post_id.to_string(),
            author_id: author,
            postings: PostingIndex::encode(&new),
            tags: new_tags,
            created_at,
            version: version.map_or(0, |v| v + 1),
        })?),
        None if version.is_some() => guard(Write::delete(state_key(post_id))),
        None => return Ok(()),
    });
    ctx.table.transact(writes).await
}

pub static POST_INDEX_WORKER: Function = Function::worker(
    "post-index-worker",
    crate::PKG,
    Worker {
        name: "post-index",
        queue: &POST_INDEX,
        batch_size: 10,
        handler: shared::consumer!(handle),
        summary: "Keeps posts' search postings and hashtag counts in step with their writes",
        example: r#"{"postId":"01JD3K4Q5R6S7T8V9W0XYZABCD"}"#,
    },
)
.permissions(&[Permission::TableRead, Permission::TableWrite]);

pub async fn handle(ctx: Arc<AppContext>, request: IndexPost) -> Result<(), MessageError> {
    // Two messages about one post in one batch race each other: the loser reads again.
    for _ in 0..5 {
        match sync(&ctx, &request.post_id).await {
            Err(e) if e.is(&DiaryError::IndexChanged) => continue,
            other => return Ok(other?),
        }
    }
    Err(MessageError::Retry("the post's index kept changing; trying again later".into()))
}

/// The hour buckets of the last `hours` hours, newest first.
pub fn buckets(now: DateTime<Utc>, hours: i64) -> Vec<String> {
    (0..hours).map(|h| hour_bucket(now - chrono::Duration::hours(h))).collect()
}
