//! Home feeds, fanned out on write: a post is copied (its id and author) into the feed partition
//! of its author and of every follower, so reading a feed is one query plus one batch read,
//! however many people one follows. The author's own entry is written in the request; the
//! followers' by the feed worker, from a [`FeedEvent`] on the feed queue, so that a post costs
//! the same whatever the author's follower count.
//!
//! | item | PK | SK |
//! |---|---|---|
//! | feed entry | `FEED#<viewer>` | `<postId>` (ULID: newest first is key order) |
//! | a post in its author's list | GSI2 `AUTHOR#<author>` | `<postId>` |

use serde::{Deserialize, Serialize};

use crate::context::AppContext;
use crate::error::{ApiError, ApiResult};
use crate::queues::FEED;
use crate::table::{AttrValue, Gsi, Key, Query, Write, s};

/// Posts copied into a new follower's feed.
pub const BACKFILL: usize = 50;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FeedEntry {
    pub viewer_id: String,
    pub post_id: String,
    pub author_id: String,
}

pub fn entry_key(viewer: &str, post_id: &str) -> Key {
    Key::new(format!("FEED#{viewer}"), post_id)
}

/// The GSI2 partition that lists an author's posts.
pub fn author_partition(author: &str) -> String {
    format!("AUTHOR#{author}")
}

fn put_request(e: &FeedEntry) -> ApiResult<aws_sdk_dynamodb::types::WriteRequest> {
    let mut item = std::collections::HashMap::new();
    item.insert(crate::table::PK.to_string(), s(format!("FEED#{}", e.viewer_id)));
    item.insert(crate::table::SK.to_string(), s(&e.post_id));
    item.insert(crate::table::ENTITY_TYPE.to_string(), s("FeedEntry"));
    item.insert("postId".to_string(), s(&e.post_id));
    item.insert("authorId".to_string(), s(&e.author_id));
    let put =
        aws_sdk_dynamodb::types::PutRequest::builder().set_item(Some(item)).build().map_err(ApiError::internal)?;
    Ok(aws_sdk_dynamodb::types::WriteRequest::builder().put_request(put).build())
}

fn delete_request(key: &Key) -> ApiResult<aws_sdk_dynamodb::types::WriteRequest> {
    let del = aws_sdk_dynamodb::types::DeleteRequest::builder()
        .set_key(Some(key.to_item()))
        .build()
        .map_err(ApiError::internal)?;
    Ok(aws_sdk_dynamodb::types::WriteRequest::builder().delete_request(del).build())
}

/// BatchWriteItem in chunks of 25, retrying unprocessed items.
pub async fn batch_write(ctx: &AppContext, requests: Vec<aws_sdk_dynamodb::types::WriteRequest>) -> ApiResult<()> {
    for chunk in requests.chunks(25) {
        let mut pending = chunk.to_vec();
        let mut attempt = 0;
        loop {
            let out =
                ctx.table.client().batch_write_item().request_items(ctx.table.name(), pending).send().await.map_err(
                    |e| {
                        ApiError::internal(format!(
                            "BatchWriteItem: {}",
                            aws_sdk_dynamodb::error::DisplayErrorContext(e)
                        ))
                    },
                )?;
            match out.unprocessed_items.and_then(|mut m| m.remove(ctx.table.name())) {
                Some(rest) if !rest.is_empty() => {
                    attempt += 1;
                    if attempt >= 8 {
                        // Never report success with items unwritten: the message is retried.
                        return Err(ApiError::internal(format!(
                            "BatchWriteItem left {} items unprocessed after {attempt} tries",
                            rest.len()
                        )));
                    }
                    pending = rest;
                    tokio::time::sleep(std::time::Duration::from_millis(20 << attempt)).await;
                }
                _ => break,
            }
        }
    }
    Ok(())
}

/// Everyone who follows `author` (their ids), page by page.
pub async fn followers(ctx: &AppContext, author: &str) -> ApiResult<Vec<String>> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = ctx
            .table
            .query_items(&Query::partition(format!("USER#{author}")).begins_with("FOLLOWER#").limit(500).cursor(cursor))
            .await?;
        for item in &page.items {
            if let Some(AttrValue::S(sk)) = item.get(crate::table::SK)
                && let Some(id) = sk.strip_prefix("FOLLOWER#")
            {
                out.push(id.to_string());
            }
        }
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return Ok(out),
        }
    }
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

fn entry_item(e: &FeedEntry) -> crate::table::Item {
    let mut item = entry_key(&e.viewer_id, &e.post_id).to_item();
    item.insert(crate::table::ENTITY_TYPE.to_string(), s("FeedEntry"));
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
    Ok(vec![Write::put_item(entry_item(&own)), crate::outbox::message(ctx, &FEED, &event)?])
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
    Ok(vec![Write::delete(entry_key(author, post_id)), crate::outbox::message(ctx, &FEED, &event)?])
}

/// The message a new follow adds to its transaction: the author's recent posts into the feed.
pub fn followed(ctx: &AppContext, viewer: &str, author: &str) -> ApiResult<Write> {
    let event = FeedEvent {
        change: FeedChange::Followed,
        author_id: author.into(),
        post_id: None,
        viewer_id: Some(viewer.into()),
    };
    crate::outbox::message(ctx, &FEED, &event)
}

/// The message an unfollow or a block adds to its transaction: the author's posts out of the feed.
pub fn unfollowed(ctx: &AppContext, viewer: &str, author: &str) -> ApiResult<Write> {
    let event = FeedEvent {
        change: FeedChange::Unfollowed,
        author_id: author.into(),
        post_id: None,
        viewer_id: Some(viewer.into()),
    };
    crate::outbox::message(ctx, &FEED, &event)
}

/// The feed worker's work (idempotent, and right whatever order the messages come in).
pub async fn apply(ctx: &AppContext, event: &FeedEvent) -> ApiResult<()> {
    let author = &event.author_id;
    match (event.change, &event.post_id, &event.viewer_id) {
        (FeedChange::Posted, Some(post_id), _) => {
            let requests = followers(ctx, author)
                .await?
                .into_iter()
                .map(|v| put_request(&FeedEntry { viewer_id: v, post_id: post_id.clone(), author_id: author.clone() }))
                .collect::<ApiResult<Vec<_>>>()?;
            batch_write(ctx, requests).await
        }
        (FeedChange::Deleted, Some(post_id), _) => {
            let requests = followers(ctx, author)
                .await?
                .iter()
                .map(|v| delete_request(&entry_key(v, post_id)))
                .collect::<ApiResult<Vec<_>>>()?;
            batch_write(ctx, requests).await
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
    Ok(ctx.table.get_item(&crate::people::following_key(viewer, author)).await?.is_some())
}

/// The ids of `author`'s posts, newest first, at most `max` (`None`: all).
async fn post_ids(ctx: &AppContext, author: &str, max: Option<usize>) -> ApiResult<Vec<String>> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = ctx
            .table
            .query_items(
                &Query::partition(author_partition(author)).index(Gsi::Gsi2).newest_first().limit(200).cursor(cursor),
            )
            .await?;
        for item in &page.items {
            if let Some(AttrValue::S(id)) = item.get("id") {
                out.push(id.clone());
            }
        }
        if max.is_some_and(|m| out.len() >= m) {
            out.truncate(max.unwrap_or(usize::MAX));
            return Ok(out);
        }
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return Ok(out),
        }
    }
}

/// A new follower sees the author's recent posts.
async fn backfill(ctx: &AppContext, viewer: &str, author: &str) -> ApiResult<()> {
    let ids = post_ids(ctx, author, Some(BACKFILL)).await?;
    let requests = ids
        .into_iter()
        .map(|p| put_request(&FeedEntry { viewer_id: viewer.into(), post_id: p, author_id: author.into() }))
        .collect::<ApiResult<Vec<_>>>()?;
    batch_write(ctx, requests).await
}

/// After an unfollow or a block, `viewer`'s feed no longer holds `author`'s posts.
async fn remove_author(ctx: &AppContext, viewer: &str, author: &str) -> ApiResult<()> {
    let ids = post_ids(ctx, author, None).await?;
    let requests = ids.iter().map(|p| delete_request(&entry_key(viewer, p))).collect::<ApiResult<Vec<_>>>()?;
    batch_write(ctx, requests).await
}
