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
use crate::table::{AttrValue, Gsi, Key, Query, s};

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
        for attempt in 0..8 {
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

/// What happened to a post, for the followers' feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FeedChange {
    Posted,
    Deleted,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FeedEvent {
    pub change: FeedChange,
    pub author_id: String,
    pub post_id: String,
}

/// A new post: in the author's feed now, in the followers' through the feed worker.
pub async fn posted(ctx: &AppContext, author: &str, post_id: &str) -> ApiResult<()> {
    let own = put_request(&FeedEntry { viewer_id: author.into(), post_id: post_id.into(), author_id: author.into() })?;
    batch_write(ctx, vec![own]).await?;
    publish(ctx, FeedEvent { change: FeedChange::Posted, author_id: author.into(), post_id: post_id.into() }).await
}

/// A deleted post: out of the author's feed now, out of the followers' through the feed worker.
pub async fn deleted(ctx: &AppContext, author: &str, post_id: &str) -> ApiResult<()> {
    batch_write(ctx, vec![delete_request(&entry_key(author, post_id))?]).await?;
    publish(ctx, FeedEvent { change: FeedChange::Deleted, author_id: author.into(), post_id: post_id.into() }).await
}

async fn publish(ctx: &AppContext, event: FeedEvent) -> ApiResult<()> {
    ctx.sqs
        .send_message()
        .queue_url(ctx.config.queue_url(&crate::queues::FEED))
        .message_body(serde_json::to_string(&event)?)
        .send()
        .await
        .map_err(|e| ApiError::internal(format!("SQS SendMessage: {}", aws_sdk_sqs::error::DisplayErrorContext(e))))?;
    Ok(())
}

/// The feed worker's work: copy a post into, or out of, every follower's feed (idempotent).
pub async fn apply(ctx: &AppContext, event: &FeedEvent) -> ApiResult<()> {
    let viewers = followers(ctx, &event.author_id).await?;
    let requests = viewers
        .iter()
        .map(|v| match event.change {
            FeedChange::Posted => put_request(&FeedEntry {
                viewer_id: v.clone(),
                post_id: event.post_id.clone(),
                author_id: event.author_id.clone(),
            }),
            FeedChange::Deleted => delete_request(&entry_key(v, &event.post_id)),
        })
        .collect::<ApiResult<Vec<_>>>()?;
    batch_write(ctx, requests).await
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

/// A new follower sees the author's recent posts at once.
pub async fn backfill(ctx: &AppContext, viewer: &str, author: &str) -> ApiResult<()> {
    let ids = post_ids(ctx, author, Some(BACKFILL)).await?;
    let requests = ids
        .into_iter()
        .map(|p| put_request(&FeedEntry { viewer_id: viewer.into(), post_id: p, author_id: author.into() }))
        .collect::<ApiResult<Vec<_>>>()?;
    batch_write(ctx, requests).await
}

/// After an unfollow or a block, `viewer`'s feed no longer holds `author`'s posts.
pub async fn remove_author(ctx: &AppContext, viewer: &str, author: &str) -> ApiResult<()> {
    let ids = post_ids(ctx, author, None).await?;
    let requests = ids.iter().map(|p| delete_request(&entry_key(viewer, p))).collect::<ApiResult<Vec<_>>>()?;
    batch_write(ctx, requests).await
}
