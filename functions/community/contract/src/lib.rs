//! The community board's public surface: what a report or a moderator sees of a post or a
//! comment, read through typed views, never by attribute name elsewhere.

pub mod keys;

use moderation_contract::moderation::{Reportable, Snapshot, Target, TargetType};
use serde::Deserialize;
use shared::{ApiResult, AppContext};

/// Community posts and comments a moderator removed, for the community's removal worker.
pub const COMMUNITY_REMOVALS: shared::queues::Queue =
    shared::queues::Queue { name: "community-removals", visibility_timeout_secs: 60, max_receive_count: 5 };

/// The board's content that can be reported and removed (its removal worker takes both).
pub const REPORTABLE: &[Reportable] = &[
    Reportable {
        target_type: TargetType::CommunityPost,
        snapshot: |ctx, t: Target<'_>| Box::pin(post_snapshot(ctx, t.id)),
        removals: Some(&COMMUNITY_REMOVALS),
    },
    Reportable {
        target_type: TargetType::CommunityComment,
        snapshot: |ctx, t: Target<'_>| Box::pin(comment_snapshot(ctx, t.id)),
        removals: Some(&COMMUNITY_REMOVALS),
    },
];

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Written {
    author_id: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    content: String,
    #[serde(default)]
    image_keys: Vec<String>,
    #[serde(default)]
    deleted: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Pointer {
    post_id: String,
    sort_key: String,
}

fn snapshot(w: Written) -> Option<Snapshot> {
    Snapshot::of_writing(w.author_id, &w.title, w.content, w.image_keys, w.deleted)
}

/// Community post `id` as it reads now, if it exists and is not deleted.
pub async fn post_snapshot(ctx: &AppContext, id: &str) -> ApiResult<Option<Snapshot>> {
    if !shared::ids::is_valid_id(id) {
        return Ok(None);
    }
    let found: Option<Written> =
        ctx.table.get_item(&keys::post_key(id)).await?.map(serde_dynamo::from_item).transpose()?;
    Ok(found.and_then(snapshot))
}

/// Community comment `id` as it reads now, if it exists and is not deleted.
pub async fn comment_snapshot(ctx: &AppContext, id: &str) -> ApiResult<Option<Snapshot>> {
    if !shared::ids::is_valid_id(id) {
        return Ok(None);
    }
    let Some(pointer) = ctx.table.get_item(&keys::comment_ref_key(id)).await? else { return Ok(None) };
    let pointer: Pointer = serde_dynamo::from_item(pointer)?;
    let key = shared::table::Key::new(keys::post_partition(&pointer.post_id), pointer.sort_key);
    let found: Option<Written> = ctx.table.get_item(&key).await?.map(serde_dynamo::from_item).transpose()?;
    Ok(found.and_then(snapshot).map(|s| Snapshot { context_id: Some(pointer.post_id), ..s }))
}

/// What the stream counts on a board post ([`shared::counters`]): a ticket per live comment, and
/// each like.
/// Administration's `stream-counters` applies it.
pub const COMMENTS_COUNTED: shared::counters::Counted = shared::counters::Counted {
    sort_prefix: keys::COMMENT_TICKETS,
    counts: |k| on_post(k, "commentCount"),
    removals: true,
    creates: false,
};

/// A like on a board post, counted on its `likeCount` the same way.
pub const LIKES_COUNTED: shared::counters::Counted = shared::counters::Counted {
    sort_prefix: keys::LIKES,
    counts: |k| on_post(k, "likeCount"),
    removals: true,
    creates: false,
};

fn on_post(k: &shared::table::Key, attribute: &'static str) -> Vec<shared::counters::Count> {
    keys::post_of(k).map(|p| shared::counters::Count::one(keys::post_key(p), attribute)).unwrap_or_default()
}
