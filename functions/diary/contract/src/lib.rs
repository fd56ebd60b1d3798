//! The diary's public surface. Home feeds are fanned out on write: a post is copied (its id and
//! author) into the feed partition of its author and of every follower, so reading a feed is one
//! query plus one batch read. The writes here join the transaction of the fact that causes them
//! (a post, a follow): the author's own entry directly, everyone else's through a [`FeedEvent`]
//! on the feed queue (via the outbox), which the diary's feed worker applies. Other domains also
//! read here what a post or a comment says, for reports.

pub mod keys;

use moderation_contract::moderation::{Reportable, Snapshot, Target, TargetType};
use serde::{Deserialize, Serialize};
use shared::table::{Write, s};
use shared::{ApiResult, AppContext};

/// New and deleted posts, copied into (or out of) every follower's feed by the feed worker.
pub const FEED: shared::queues::Queue =
    shared::queues::Queue { name: "feed", visibility_timeout_secs: 60, max_receive_count: 5 };

/// Content a moderator removed, for the diary to delete as its author would (posts, comments).
pub const DIARY_REMOVALS: shared::queues::Queue =
    shared::queues::Queue { name: "diary-removals", visibility_timeout_secs: 60, max_receive_count: 5 };

/// The diary's content that can be reported and removed (its removal worker takes both).
pub const REPORTABLE: &[Reportable] = &[
    Reportable {
        target_type: TargetType::Post,
        snapshot: |ctx, t: Target<'_>| Box::pin(post_snapshot(ctx, t.id)),
        removals: Some(&DIARY_REMOVALS),
    },
    Reportable {
        target_type: TargetType::Comment,
        snapshot: |ctx, t: Target<'_>| Box::pin(comment_snapshot(ctx, t.id)),
        removals: Some(&DIARY_REMOVALS),
    },
];

/// Posts copied into a new follower's feed.
pub const BACKFILL: usize = 50;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FeedEntry {
    pub viewer_id: String,
    pub post_id: String,
    pub author_id: String,
}

/// What happened, for the feeds it touches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FeedChange {
    /// `post_id` by `author_id` is new: into every follower's feed.
    Posted,
    /// `post_id` is gone: out of every follower's feed.
    Deleted,
    /// `viewer_id` follows `author_id` now: the author's recent posts into the viewer's feed.
    Followed,
    /// `viewer_id` no longer follows (or blocked) `author_id`: the author's posts out of the
    /// viewer's feed.
    Unfollowed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FeedEvent {
    pub change: FeedChange,
    pub author_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub viewer_id: Option<String>,
}

/// A feed entry's item.
pub fn entry_item(e: &FeedEntry) -> shared::table::Item {
    let mut item = keys::feed_entry_key(&e.viewer_id, &e.post_id).to_item();
    item.insert(shared::table::ENTITY_TYPE.to_string(), s("FeedEntry"));
    item.insert("postId".to_string(), s(&e.post_id));
    item.insert("authorId".to_string(), s(&e.author_id));
    item
}

/// The writes a new post adds to its transaction: the author's own feed entry, and the message
/// that fans it out to the followers (through the outbox, so it exists iff the post does).
pub fn posted(ctx: &AppContext, author: &str, post_id: &str) -> ApiResult<Vec<Write>> {
    let own = FeedEntry { viewer_id: author.into(), post_id: post_id.into(), author_id: author.into() };
    let event = FeedEvent {
        change: FeedChange::Posted,
        author_id: author.into(),
        post_id: Some(post_id.into()),
        viewer_id: None,
    };
    Ok(vec![Write::put_item(entry_item(&own)), shared::outbox::message(ctx, &FEED, &event)?])
}

/// The writes a deleted post adds to its transaction: out of the author's feed, and out of the
/// followers' through the outbox.
pub fn deleted(ctx: &AppContext, author: &str, post_id: &str) -> ApiResult<Vec<Write>> {
    let event = FeedEvent {
        change: FeedChange::Deleted,
        author_id: author.into(),
        post_id: Some(post_id.into()),
        viewer_id: None,
    };
    Ok(vec![Write::delete(keys::feed_entry_key(author, post_id)), shared::outbox::message(ctx, &FEED, &event)?])
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Written {
    author_id: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    content: String,
    #[serde(default)]
    media_keys: Vec<String>,
    #[serde(default)]
    deleted: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CommentPointer {
    post_id: String,
    sort_key: String,
}

fn snapshot(w: Written) -> Option<Snapshot> {
    Snapshot::of_writing(w.author_id, &w.title, w.content, w.media_keys, w.deleted)
}

/// Post `id` as it reads now (its author, text and photos), if it exists.
pub async fn post_snapshot(ctx: &AppContext, id: &str) -> ApiResult<Option<Snapshot>> {
    if !shared::ids::is_valid_id(id) {
        return Ok(None);
    }
    let found: Option<Written> =
        ctx.table.get_item(&keys::post_key(id)).await?.map(serde_dynamo::from_item).transpose()?;
    Ok(found.and_then(snapshot))
}

/// Comment `id` as it reads now, if it exists and is not deleted (two reads: its pointer, then
/// the comment in its post's partition).
pub async fn comment_snapshot(ctx: &AppContext, id: &str) -> ApiResult<Option<Snapshot>> {
    if !shared::ids::is_valid_id(id) {
        return Ok(None);
    }
    let Some(pointer) = ctx.table.get_item(&keys::comment_ref_key(id)).await? else { return Ok(None) };
    let pointer: CommentPointer = serde_dynamo::from_item(pointer)?;
    let key = shared::table::Key::new(keys::post_partition(&pointer.post_id), pointer.sort_key);
    let found: Option<Written> = ctx.table.get_item(&key).await?.map(serde_dynamo::from_item).transpose()?;
    Ok(found.and_then(snapshot).map(|s| Snapshot { context_id: Some(pointer.post_id), ..s }))
}

/// What the stream counts on a post ([`shared::counters`]): its likes, and a ticket per live
/// comment. Administration's `stream-counters` applies them.
pub const LIKES_COUNTED: shared::counters::Counted = shared::counters::Counted {
    sort_prefix: keys::LIKES,
    counts: |k| on_post(k, "likeCount"),
    removals: true,
    creates: false,
};
pub const COMMENTS_COUNTED: shared::counters::Counted = shared::counters::Counted {
    sort_prefix: keys::COMMENT_TICKETS,
    counts: |k| on_post(k, "commentCount"),
    removals: true,
    creates: false,
};

fn on_post(k: &shared::table::Key, attribute: &'static str) -> Vec<shared::counters::Count> {
    keys::post_of(k).map(|p| shared::counters::Count::one(keys::post_key(p), attribute)).unwrap_or_default()
}
