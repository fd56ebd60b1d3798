//! The feed worker: copies new posts into followers' feeds and deleted ones out of them, fills a
//! new follower's feed and empties it after an unfollow or a block (see [`diary_contract`]).

use std::sync::Arc;

use diary_contract::{BACKFILL, FeedChange, FeedEntry, FeedEvent};
use shared::routes::{Function, Permission, Worker};
use shared::table::{Key, Query, Write, s};
use shared::worker::MessageError;
use shared::{ApiError, ApiResult, AppContext};

use crate::keys::{feed_entry_key, feed_partition};
pub static FEED_WORKER: Function = Function::worker(
    "feed-worker",
    crate::PKG,
    Worker {
        name: "feed",
        queue: &diary_contract::FEED,
        batch_size: 10,
        handler: shared::consumer!(handle),
        summary: "Copies new posts into followers' feeds and deleted posts out of them, and a followed author's posts into (or out of) the follower's feed",
        example: r#"{"change":"POSTED","authorId":"01JD3K4Q5R6S7T8V9W0XYZABCE","postId":"01JD3K4Q5R6S7T8V9W0XYZABCD"}"#,
    },
)
.permissions(&[Permission::TableRead, Permission::TableWrite])
.subscribes(&[&social_contract::FOLLOWS]);

/// What the feed queue carries: the diary's own events, and the social graph's follows.
#[derive(Debug, serde::Deserialize)]
#[serde(untagged)]
pub enum FeedMessage {
    Feed(FeedEvent),
    Follow(social_contract::FollowEvent),
}

pub async fn handle(ctx: Arc<AppContext>, message: FeedMessage) -> Result<(), MessageError> {
    let event = match message {
        FeedMessage::Feed(e) => e,
        FeedMessage::Follow(f) => FeedEvent {
            change: if f.following { FeedChange::Followed } else { FeedChange::Unfollowed },
            author_id: f.followed_id,
            post_id: None,
            viewer_id: Some(f.follower_id),
        },
    };
    apply(&ctx, &event).await?;
    Ok(())
}

fn put_request(e: &FeedEntry) -> ApiResult<Write> {
    let mut item = std::collections::HashMap::new();
    item.insert(shared::table::PK.to_string(), s(feed_partition(&e.viewer_id)));
    item.insert(shared::table::SK.to_string(), s(&e.post_id));
    item.insert(shared::table::ENTITY_TYPE.to_string(), s("FeedEntry"));
    item.insert("postId".to_string(), s(&e.post_id));
    item.insert("authorId".to_string(), s(&e.author_id));
    Ok(Write::put_item(item))
}

fn delete_request(key: &Key) -> ApiResult<Write> {
    Ok(Write::delete(key.clone()))
}

/// The feed worker's work (idempotent, and right whatever order the messages come in).
pub async fn apply(ctx: &AppContext, event: &FeedEvent) -> ApiResult<()> {
    let author = &event.author_id;
    match (event.change, &event.post_id, &event.viewer_id) {
        (FeedChange::Posted, Some(post_id), _) => {
            let requests = social_contract::followers(ctx, author)
                .await?
                .into_iter()
                .map(|v| put_request(&FeedEntry { viewer_id: v, post_id: post_id.clone(), author_id: author.clone() }))
                .collect::<ApiResult<Vec<_>>>()?;
            ctx.table.batch_write(requests).await
        }
        (FeedChange::Deleted, Some(post_id), _) => {
            let requests = social_contract::followers(ctx, author)
                .await?
                .iter()
                .map(|v| delete_request(&feed_entry_key(v, post_id)))
                .collect::<ApiResult<Vec<_>>>()?;
            ctx.table.batch_write(requests).await
        }
        (FeedChange::Followed, _, Some(viewer)) => {
            if !follows(ctx, viewer, author).await? {
                return Ok(());
            }
            backfill(ctx, viewer, author).await?;
            // An unfollow that committed while the backfill ran must not leave its posts behind:
            // either its own message runs after these writes, or this check sees it.
            if !follows(ctx, viewer, author).await? {
                remove_author(ctx, viewer, author).await?;
            }
            Ok(())
        }
        (FeedChange::Unfollowed, _, Some(viewer)) => {
            if follows(ctx, viewer, author).await? {
                return Ok(()); // followed again meanwhile: that follow's message fills the feed
            }
            remove_author(ctx, viewer, author).await
        }
        _ => Err(ApiError::internal(format!("malformed feed event: {event:?}"))),
    }
}

/// Whether `viewer` follows `author` now.
async fn follows(ctx: &AppContext, viewer: &str, author: &str) -> ApiResult<bool> {
    Ok(ctx.table.get_item(&social_contract::following_key(viewer, author)).await?.is_some())
}

/// The ids of `author`'s posts, newest first, at most `max` (`None`: all), from the author's
/// own partition: a post committed a moment before the follow is backfilled too.
async fn post_ids(ctx: &AppContext, author: &str, max: Option<usize>) -> ApiResult<Vec<String>> {
    let q = Query::partition(shared::keys::user_partition(author))
        .begins_with(crate::keys::POSTED_PREFIX)
        .newest_first()
        .limit(200);
    Ok(ctx.table.query_items_all(&q, max).await?.iter().filter_map(crate::posts::posted_id).collect())
}

/// A new follower sees the author's recent posts.
async fn backfill(ctx: &AppContext, viewer: &str, author: &str) -> ApiResult<()> {
    let ids = post_ids(ctx, author, Some(BACKFILL)).await?;
    let requests = ids
        .into_iter()
        .map(|p| put_request(&FeedEntry { viewer_id: viewer.into(), post_id: p, author_id: author.into() }))
        .collect::<ApiResult<Vec<_>>>()?;
    ctx.table.batch_write(requests).await
}

/// After an unfollow or a block, `viewer`'s feed no longer holds `author`'s posts.
async fn remove_author(ctx: &AppContext, viewer: &str, author: &str) -> ApiResult<()> {
    let ids = post_ids(ctx, author, None).await?;
    let requests = ids.iter().map(|p| delete_request(&feed_entry_key(viewer, p))).collect::<ApiResult<Vec<_>>>()?;
    ctx.table.batch_write(requests).await
}
