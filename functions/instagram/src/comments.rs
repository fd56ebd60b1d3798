//! Moderating an account's comments beyond the sync's own pass: the owner deletes one by hand
//! (through the Graph API), searches the stored ones by their words, and every deletion is on
//! record (`GET /pets/{id}/instagram/deletions`). A banned word added later, or auto-delete
//! turned on, re-judges the stored comments of the last 30 days in the sync worker
//! ([`SyncOrder::Rejudge`](crate::link::SyncOrder)): bounded, and idempotent, since a comment
//! is deleted only while it is not marked deleted.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use shared::handler::{Caller, NoContent, Okay, Params, Path};
use shared::http::PageRequest;
use shared::routes::{Access, Function, Method, Permission, param, said};
use shared::table::{Entity, Page, Query, SortKey, Write, n, s, time};
use shared::{ApiError, ApiResult, AppContext, handler};
use utoipa::ToSchema;

use crate::PKG;
use crate::account::owned_link;
use crate::error::InstagramError;
use crate::keys;
use crate::link::SealedToken;
use crate::synced::{DeletedFor, InstagramComment, Sentiment};

/// How far back a re-judgement and a search reach.
pub const REJUDGE_DAYS: i64 = 30;
/// At most this many stored comments are read by one re-judgement, or one search.
const MAX_READ: usize = 2_000;

pub static DELETE: Function = Function::http(
    Method::Delete,
    "/pets/{id}/instagram/comments/{commentId}",
    "instagram-comment-delete",
    PKG,
    Access::User,
    handler!(delete),
)
.permissions(&[Permission::TableRead, Permission::TableWrite])
.doc("instagram", "Delete one comment on my pet's account (on Instagram too); it goes on record")
.responses(&[said(204, "Deleted (or deleted already).")])
.errors(&[403, 404, 503])
.reads_with_session(pet_link_and_token);

/// The pet, its link and the link's token, read with the session (the deletion needs all three).
fn pet_link_and_token(path: &std::collections::HashMap<String, String>, caller: &str) -> Vec<shared::table::Key> {
    let mut keys_ = crate::account::pet_and_link(path, caller);
    if let Some(pet) = shared::routes::id_param(path, "id") {
        keys_.push(keys::token_key(pet));
    }
    keys_
}

pub static DELETIONS: Function = Function::http(
    Method::Get,
    "/pets/{id}/instagram/deletions",
    "instagram-deletions",
    PKG,
    Access::User,
    handler!(deletions),
)
.permissions(&[Permission::TableRead])
.doc("instagram", "Every comment deleted on my pet's account, newest first: by whom or what rule, and why")
.query(&[
    param("cursor", false, "from nextCursor"),
    shared::routes::int_param("limit", false, "page size, default 20", 1, 50),
])
.errors(&[403, 404])
.reads_with_session(crate::account::pet_and_link);

/// Why a comment was deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DeletedBy {
    /// The sync's pass over new comments (auto-delete on).
    Sync,
    /// A re-judgement of stored comments after a banned word was added or auto-delete turned on.
    Rejudge,
    /// The owner, by hand.
    Owner,
}

/// One deletion, on record in the connection's partition.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Deletion {
    #[serde(skip_serializing, default)]
    #[schema(ignore)]
    pub connection_id: String,
    pub comment_id: String,
    pub media_id: String,
    pub text: String,
    pub username: Option<String>,
    pub by: DeletedBy,
    /// The rule, for automatic deletions.
    pub reason: Option<DeletedFor>,
    /// The banned word it contained, if that was the reason.
    pub word: Option<String>,
    pub deleted_at: DateTime<Utc>,
}

impl Entity for Deletion {
    const TYPE: &'static str = "InstagramDeletion";
    fn pk(&self) -> String {
        keys::data_partition(&self.connection_id)
    }
    fn sk(&self) -> String {
        keys::deletion_sort(self.deleted_at, &self.comment_id)
    }
}

/// The writes that mark stored comment `c` deleted and put it on record, only while it is not
/// marked deleted (`on_deleted` otherwise), with the stats counter.
pub fn deleted(
    c: &InstagramComment,
    by: DeletedBy,
    reason: Option<DeletedFor>,
    word: Option<String>,
    at: DateTime<Utc>,
    on_deleted: impl Into<ApiError>,
) -> ApiResult<Vec<Write>> {
    let reason_value = serde_dynamo::to_attribute_value(reason.unwrap_or(DeletedFor::Manual))?;
    Ok(vec![
        Write::update(comment_key(c), "SET deletedFor = :why, deletedAt = :at")
            .value(":why", reason_value)
            .value(":at", time(at))
            .when("attribute_exists(PK) AND (attribute_not_exists(deletedFor) OR deletedFor = :null)", on_deleted)
            .value(":null", shared::table::AttrValue::Null(true)),
        Write::update(keys::stats_key(&c.connection_id), "ADD #deleted :one")
            .name("#deleted", "deleted")
            .value(":one", n(1)),
        record(c, by, reason, word, at)?,
    ])
}

/// The write that puts a deletion the sync made on record (the sync stores the comment as
/// deleted in the same transaction, with the counters).
pub fn record(
    c: &InstagramComment,
    by: DeletedBy,
    reason: Option<DeletedFor>,
    word: Option<String>,
    at: DateTime<Utc>,
) -> ApiResult<Write> {
    Write::put(&Deletion {
        connection_id: c.connection_id.clone(),
        comment_id: c.id.clone(),
        media_id: c.media_id.clone(),
        text: c.text.clone(),
        username: c.username.clone(),
        by,
        reason,
        word,
        deleted_at: at,
    })
}

/// A stored comment's key.
fn comment_key(c: &InstagramComment) -> shared::table::Key {
    keys::comment_key(&c.connection_id, c.timestamp, &c.id)
}

/// The write that points from a comment's id to where it is stored (the manual delete finds it
/// by its id alone).
pub fn pointer(c: &InstagramComment) -> Write {
    let mut item = keys::comment_ref_key(&c.connection_id, &c.id).to_item();
    item.insert(shared::table::ENTITY_TYPE.into(), s("InstagramCommentRef"));
    item.insert("at".into(), time(c.timestamp));
    Write::put_item(item)
}

/// The account's token, opened, if the link still has one.
pub async fn token_for(ctx: &AppContext, pet: &str, connection: &str) -> ApiResult<Option<String>> {
    let key = ctx
        .provider::<crate::crypto::TokenKey>()?
        .ok_or(ApiError::internal("INSTAGRAM_TOKEN_KEY is not configured"))?;
    let Some(sealed) =
        ctx.table.get::<SealedToken>(&keys::token_key(pet)).await?.filter(|t| t.connection_id == connection)
    else {
        return Ok(None);
    };
    crate::crypto::open(&key, pet, connection, &sealed.sealed).map(Some).map_err(ApiError::internal)
}

fn unavailable(why: impl std::fmt::Display) -> ApiError {
    ApiError::Unavailable {
        code: "INSTAGRAM_UNAVAILABLE",
        detail: format!("Instagram did not take the deletion: {why}"),
    }
}

/// `/pets/{id}/instagram/comments/{commentId}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommentPath {
    pub id: String,
    pub comment_id: String,
}

pub async fn delete(ctx: Arc<AppContext>, caller: Caller, Path(path): Path<CommentPath>) -> ApiResult<NoContent> {
    let (pet, comment) = (path.id, path.comment_id);
    let link = owned_link(&ctx, &caller.user_id, &pet).await?;
    let not_found = || ApiError::from(InstagramError::CommentNotFound);
    if comment.is_empty() || comment.len() > 64 || !comment.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(not_found());
    }
    let at = match ctx.table.get_item(&keys::comment_ref_key(&link.connection_id, &comment)).await? {
        Some(item) => match item.get("at") {
            Some(shared::table::AttrValue::S(t)) => {
                DateTime::parse_from_rfc3339(t).map(|t| t.with_timezone(&Utc)).map_err(|_| not_found())?
            }
            _ => return Err(not_found()),
        },
        None => return Err(not_found()),
    };
    let key = keys::comment_key(&link.connection_id, at, &comment);
    let mut stored = ctx.table.get::<InstagramComment>(&key).await?.ok_or_else(not_found)?;
    // The connection is the item's partition, not an attribute of it.
    stored.connection_id = link.connection_id.clone();
    if stored.deleted_for.is_some() {
        return Ok(NoContent);
    }
    let token =
        token_for(&ctx, &pet, &link.connection_id).await?.ok_or_else(|| unavailable("the link has no token"))?;
    crate::graph::delete_comment(&ctx, &token, &comment).await.map_err(|e| unavailable(format!("{e:?}")))?;
    let writes = deleted(&stored, DeletedBy::Owner, None, None, ctx.now(), InstagramError::CommentStored)?;
    match ctx.table.transact(writes).await {
        // Deleted meanwhile by a re-judgement: on record already.
        Err(e) if e.is(&InstagramError::CommentStored) => Ok(NoContent),
        other => other.map(|_| NoContent),
    }
}

pub async fn deletions(
    ctx: Arc<AppContext>,
    caller: Caller,
    Path(pet): Path<String>,
    params: Params,
) -> ApiResult<Okay<Page<Deletion>>> {
    let link = owned_link(&ctx, &caller.user_id, &pet).await?;
    let q = Query::partition(keys::data_partition(&link.connection_id))
        .begins_with(keys::DELETION_PREFIX)
        .newest_first()
        .paged(&params, 20, 50)?;
    Ok(Okay(ctx.table.query::<Deletion>(&q).await?))
}

/// The stored comments of the last `REJUDGE_DAYS` days whose text holds `words` (case-folded),
/// newest first, at most `limit`.
pub async fn search(ctx: &AppContext, connection: &str, words: &str, limit: usize) -> ApiResult<Vec<InstagramComment>> {
    let needle = words.trim().to_lowercase();
    let since = keys::comment_sort(ctx.now() - Duration::days(REJUDGE_DAYS), "");
    let q = Query::partition(keys::data_partition(connection))
        .sort(SortKey::Between(since, format!("{}~", keys::COMMENT_PREFIX)))
        .newest_first();
    let mut out = Vec::new();
    for item in ctx.table.query_items_all(&q, Some(MAX_READ)).await? {
        let mut c = InstagramComment::from_item(item)?;
        c.connection_id = connection.to_string();
        if c.text.to_lowercase().contains(&needle) {
            out.push(c);
            if out.len() >= limit {
                break;
            }
        }
    }
    Ok(out)
}

/// Re-judges the stored comments of the last 30 days under the account's rules now: with
/// auto-delete on, a comment holding a banned word, or negative, is deleted on Instagram and put
/// on record. Answers how many were deleted.
pub async fn rejudge(ctx: &AppContext, pet: &str, connection: &str) -> ApiResult<u32> {
    let Some(link) = ctx.table.get::<crate::link::InstagramLink>(&keys::link_key(pet)).await? else { return Ok(0) };
    if link.connection_id != connection || !link.auto_delete {
        return Ok(0);
    }
    let Some(token) = token_for(ctx, pet, connection).await? else { return Ok(0) };
    let banned = crate::banned::words(ctx, pet).await?;
    let since = keys::comment_sort(ctx.now() - Duration::days(REJUDGE_DAYS), "");
    let q = Query::partition(keys::data_partition(connection))
        .sort(SortKey::Between(since, format!("{}~", keys::COMMENT_PREFIX)))
        .newest_first();
    let mut removed = 0;
    for item in ctx.table.query_items_all(&q, Some(MAX_READ)).await? {
        let mut c = InstagramComment::from_item(item)?;
        c.connection_id = connection.to_string();
        if c.deleted_for.is_some() {
            continue;
        }
        let word = crate::sentiment::banned_word(&c.text, &banned).map(str::to_string);
        let reason = if word.is_some() {
            DeletedFor::BannedWord
        } else if c.sentiment == Sentiment::Negative {
            DeletedFor::Negative
        } else {
            continue;
        };
        crate::graph::delete_comment(ctx, &token, &c.id).await.map_err(|e| unavailable(format!("{e:?}")))?;
        let writes = deleted(&c, DeletedBy::Rejudge, Some(reason), word, ctx.now(), InstagramError::CommentStored)?;
        match ctx.table.transact(writes).await {
            Err(e) if e.is(&InstagramError::CommentStored) => {}
            other => {
                other?;
                removed += 1;
            }
        }
    }
    Ok(removed)
}
