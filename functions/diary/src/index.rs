//! Keeping the search postings and hashtag statistics in step with posts, on every write.

use std::collections::BTreeSet;

use aws_sdk_dynamodb::types::{DeleteRequest, PutRequest, WriteRequest};
use chrono::{DateTime, Utc};
use shared::table::{Key, Write, n, s};
use shared::{ApiError, ApiResult, AppContext};

use crate::model::{Post, tokens};

/// Search tokens indexed per text: a post's writes stay bounded however long or varied its
/// text (a 2,000-character post of random Hangul has ~2,000 distinct bigrams).
pub const MAX_TOKENS_PER_TEXT: usize = 200;

/// Every posting of a post: `(field, token)`.
pub fn postings(title: &str, content: &str, tags: &[String]) -> BTreeSet<(char, String)> {
    let mut out = BTreeSet::new();
    out.extend(tokens(title).into_iter().take(MAX_TOKENS_PER_TEXT).map(|t| ('T', t)));
    out.extend(first_tokens(content).into_iter().map(|t| ('C', t)));
    out.extend(tags.iter().map(|t| ('H', t.to_lowercase())));
    out
}

/// The first [`MAX_TOKENS_PER_TEXT`] distinct tokens in reading order (the opening of a text is
/// what searches find it by).
fn first_tokens(text: &str) -> Vec<String> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for word in text.split(|c: char| !c.is_alphanumeric()) {
        for t in tokens(word) {
            if out.len() == MAX_TOKENS_PER_TEXT {
                return out;
            }
            if seen.insert(t.clone()) {
                out.push(t);
            }
        }
    }
    out
}

pub fn posting_partition(field: char, token: &str) -> String {
    format!("SEARCH#{field}#{token}")
}

/// Writes the postings a post gained and deletes those it lost.
pub async fn reindex(
    ctx: &AppContext,
    post_id: &str,
    author: &str,
    old: &BTreeSet<(char, String)>,
    new: &BTreeSet<(char, String)>,
) -> ApiResult<()> {
    let mut requests = Vec::new();
    for (f, t) in new.difference(old) {
        let mut item = Key::new(posting_partition(*f, t), post_id).to_item();
        item.insert(shared::table::ENTITY_TYPE.into(), s("SearchPosting"));
        item.insert("authorId".into(), s(author));
        requests.push(
            WriteRequest::builder()
                .put_request(PutRequest::builder().set_item(Some(item)).build().map_err(ApiError::internal)?)
                .build(),
        );
    }
    for (f, t) in old.difference(new) {
        let key = Key::new(posting_partition(*f, t), post_id).to_item();
        requests.push(
            WriteRequest::builder()
                .delete_request(DeleteRequest::builder().set_key(Some(key)).build().map_err(ApiError::internal)?)
                .build(),
        );
    }
    shared::feed::batch_write(ctx, requests).await
}

fn hour_bucket(t: DateTime<Utc>) -> String {
    format!("TAGSTATS#{}", t.format("%Y-%m-%dT%H"))
}

/// Counts hashtag uses in the hour the post was written (negative `by` takes them back).
pub async fn count_tags(ctx: &AppContext, post: &Post, tags: &[String], by: i64) -> ApiResult<()> {
    // One update per tag (hot tags' counters must not conflict in a transaction), sent together.
    let updates = tags.iter().map(|tag| {
        let w = Write::update(
            Key::new(hour_bucket(post.created_at), tag.to_lowercase()),
            "ADD #c :d SET tag = :t, #ttl = :ttl",
        )
        .name("#c", "count")
        .name("#ttl", shared::table::TTL_ATTRIBUTE)
        .value(":d", n(by))
        .value(":t", s(tag.to_lowercase()))
        .value(":ttl", n(post.created_at.timestamp() + 8 * 24 * 3600));
        ctx.table.write(w)
    });
    futures::future::try_join_all(updates).await?;
    Ok(())
}

/// The hour buckets of the last `hours` hours, newest first.
pub fn buckets(now: DateTime<Utc>, hours: i64) -> Vec<String> {
    (0..hours).map(|h| hour_bucket(now - chrono::Duration::hours(h))).collect()
}
