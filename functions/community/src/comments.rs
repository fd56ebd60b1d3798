//! Community comments: one level of replies, oldest first with each reply after its parent; the
//! post's `commentCount` moves in the same transaction as the comment. A deleted comment with
//! replies stays, blanked, above them.

use shared::threads::Concerned;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use community_contract::keys;
use identity_contract::{Person, people};
use notifications_contract::{NotificationEvent, NotificationKind};
use serde::{Deserialize, Serialize};
use shared::handler;
use shared::handler::{Caller, Created, Json, NoContent, Okay, Params, Path, Viewer};
use shared::http::PageRequest;
use shared::routes::{Access, Function, Method, Permission, int_param, param, said};
use shared::table::{Entity, Key, Page, Query, Write};
use shared::validate::{Validate, Validator};
use shared::{ApiError, ApiResult, AppContext};
use social_contract::{RelationError, not_blocked_checks};
use utoipa::ToSchema;

use crate::PKG;
use crate::error::CommunityError;
use crate::posts::{READ, existing_post, visible_post};

// Notifications reach their queue through the outbox (the relay sends them).
const WRITE: &[Permission] = &[Permission::TableRead, Permission::TableWrite];
/// A write that answers with the comment shows its author's avatar: a presigned URL, which S3
/// checks against this function's `s3:GetObject`.
const WRITE_SHOWN: &[Permission] = &[Permission::TableRead, Permission::TableWrite, Permission::MediaRead];

/// The pointer to the comment named in the path, read with the caller's session.
fn the_comment(path: &std::collections::HashMap<String, String>, _caller: &str) -> Vec<shared::table::Key> {
    shared::routes::id_param(path, "id").map(keys::comment_ref_key).into_iter().collect()
}

pub static CREATE: Function = Function::http(
    Method::Post,
    "/community/posts/{id}/comments",
    "community-comments-create",
    PKG,
    Access::User,
    handler!(create),
)
.permissions(WRITE_SHOWN)
.doc("community", "Comment on a community post, or reply to a comment (one level)")
.example(r#"{"content":"저희는 하루 두 번 해요!","parentId":null}"#)
.responses(&[said(201, "Commented.")])
.errors(&[404])
.reads_with_session(crate::posts::the_post);

pub static LIST: Function = Function::http(
    Method::Get,
    "/community/posts/{id}/comments",
    "community-comments-list",
    PKG,
    Access::Public,
    handler!(list),
)
.permissions(READ)
.doc("community", "A community post's comments, oldest first, each reply after its parent")
.query(&[param("cursor", false, "from nextCursor"), int_param("limit", false, "page size, default 20", 1, 50)])
.errors(&[404])
.reads_with_session(crate::posts::the_post);

pub static UPDATE: Function = Function::http(
    Method::Patch,
    "/community/comments/{id}",
    "community-comments-update",
    PKG,
    Access::User,
    handler!(update),
)
.permissions(WRITE_SHOWN)
.doc("community", "Edit my community comment")
.example(r#"{"content":"저희는 하루 세 번 해요!"}"#)
.responses(&[said(200, "The comment.")])
.errors(&[403, 404])
.reads_with_session(the_comment);

pub static DELETE: Function = Function::http(
    Method::Delete,
    "/community/comments/{id}",
    "community-comments-delete",
    PKG,
    Access::User,
    handler!(delete),
)
.permissions(WRITE)
.doc("community", "Delete my community comment (one with replies shows as deleted)")
.responses(&[said(204, "Deleted.")])
.errors(&[403, 404])
.reads_with_session(the_comment);

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommunityComment {
    pub id: String,
    pub post_id: String,
    #[serde(default)]
    pub parent_id: Option<String>,
    pub author_id: String,
    pub content: String,
    #[serde(default)]
    pub deleted: bool,
    #[serde(default)]
    pub reply_count: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

shared::thread_comment!(CommunityComment);

impl Entity for CommunityComment {
    const TYPE: &'static str = "CommunityComment";
    fn pk(&self) -> String {
        keys::post_partition(&self.post_id)
    }
    fn sk(&self) -> String {
        keys::comment_sort(&self.id, self.parent_id.as_deref())
    }
}

/// Where a comment lives, by its id alone.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommunityCommentRef {
    pub comment_id: String,
    pub post_id: String,
    pub sort_key: String,
    pub author_id: String,
}

impl Entity for CommunityCommentRef {
    const TYPE: &'static str = "CommunityCommentRef";
    fn pk(&self) -> String {
        keys::comment_ref_key(&self.comment_id).pk
    }
    fn sk(&self) -> String {
        keys::comment_ref_key(&self.comment_id).sk
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CommunityCommentInput {
    pub content: String,
    #[serde(default)]
    pub parent_id: Option<String>,
}

impl Validate for CommunityCommentInput {
    fn validate(&self, v: &mut Validator) {
        v.text("content", &self.content, 1, 1000);
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CommunityCommentPatch {
    pub content: String,
}

impl Validate for CommunityCommentPatch {
    fn validate(&self, v: &mut Validator) {
        v.text("content", &self.content, 1, 1000);
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommunityCommentView {
    pub id: String,
    pub post_id: String,
    pub parent_id: Option<String>,
    /// Absent for a deleted comment.
    pub author: Option<Person>,
    pub content: String,
    pub deleted: bool,
    pub reply_count: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

async fn views(ctx: &AppContext, comments: Vec<CommunityComment>) -> ApiResult<Vec<CommunityCommentView>> {
    let ids: Vec<String> = comments.iter().map(|c| c.author_id.clone()).collect();
    let persons = people(ctx, &ids).await?;
    Ok(comments
        .into_iter()
        .map(|c| CommunityCommentView {
            author: (!c.deleted).then(|| persons.get(&c.author_id).cloned()).flatten(),
            content: if c.deleted { String::new() } else { c.content },
            id: c.id,
            post_id: c.post_id,
            parent_id: c.parent_id,
            deleted: c.deleted,
            reply_count: c.reply_count,
            created_at: c.created_at,
            updated_at: c.updated_at,
        })
        .collect())
}

fn not_found() -> ApiError {
    CommunityError::CommentNotFound.into()
}

/// A comment and its pointer by the comment's id (404 when either is missing).
pub async fn find(ctx: &AppContext, id: &str) -> ApiResult<(CommunityCommentRef, CommunityComment)> {
    if !shared::ids::is_valid_id(id) {
        return Err(not_found());
    }
    let r = ctx.table.get::<CommunityCommentRef>(&keys::comment_ref_key(id)).await?.ok_or_else(not_found)?;
    let c = ctx
        .table
        .get::<CommunityComment>(&Key::new(keys::post_partition(&r.post_id), &r.sort_key))
        .await?
        .ok_or_else(not_found)?;
    Ok((r, c))
}

pub async fn create(
    ctx: Arc<AppContext>,
    caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<CommunityCommentInput>,
) -> ApiResult<Created<CommunityCommentView>> {
    let me = caller.user_id.clone();
    let post = existing_post(&ctx, &id).await?;
    let parent = match &body.parent_id {
        Some(pid) => {
            let (_, parent) = find(&ctx, pid).await?;
            shared::threads::check_parent(&parent, &post.id)?;
            Some(parent)
        }
        None => None,
    };
    let now = ctx.now();
    let comment = CommunityComment {
        id: shared::ids::new_id(now),
        post_id: post.id.clone(),
        parent_id: parent.as_ref().map(|p| p.id.clone()),
        author_id: me.clone(),
        content: body.content.trim().to_string(),
        deleted: false,
        reply_count: 0,
        created_at: now,
        updated_at: now,
    };
    let pointer = CommunityCommentRef {
        comment_id: comment.id.clone(),
        post_id: post.id.clone(),
        sort_key: comment.sk(),
        author_id: me.clone(),
    };
    // No comment across a block, checked in the comment's own transaction: the post is hidden
    // (404) from anyone its author blocks or is blocked by; a replied-to author refuses it (403).
    let mut writes = Vec::new();
    let concerned =
        shared::threads::concerned(&me, &post.author_id, parent.as_ref().map(|p| p.author_id.as_str()), None);
    for (who, other) in &concerned {
        writes.extend(match who {
            Concerned::PostAuthor => not_blocked_checks(&me, other, CommunityError::PostNotFound),
            _ => not_blocked_checks(&me, other, RelationError::Blocked),
        });
    }
    writes.extend(shared::threads::add(
        Write::put(&comment)?,
        Write::put(&pointer)?,
        keys::comment_ticket_key(&post.id, &comment.id),
        parent.as_ref().map(|p| p.key()),
        not_found(),
    ));
    // The post's author, and the parent's author for a reply — never oneself (the outbox drops
    // those), and nobody blocked by the post's author.
    let excerpt: String = comment.content.chars().take(40).collect();
    let mut recipients = Vec::new();
    for (who, other) in concerned {
        if who == Concerned::PostAuthor || !social_contract::blocked_between(&ctx, &post.author_id, other).await? {
            recipients.push(other.to_string());
        }
    }
    let events = recipients
        .into_iter()
        .map(|r| NotificationEvent {
            event_id: format!("community:{}:{r}", comment.id),
            kind: NotificationKind::Community,
            actor_id: me.clone(),
            recipient_id: r,
            target_type: "COMMUNITY_POST".into(),
            target_id: post.id.clone(),
            excerpt: Some(excerpt.clone()),
        })
        .collect();
    writes.extend(notifications_contract::outbox(&ctx, events)?);
    ctx.table.transact(writes).await?;
    Ok(Created(views(&ctx, vec![comment]).await?.remove(0)))
}

pub async fn list(
    ctx: Arc<AppContext>,
    viewer: Viewer,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Okay<Page<CommunityCommentView>>> {
    let post = visible_post(&ctx, &viewer, &id).await?;
    let query = Query::partition(keys::post_partition(&post.id)).begins_with(keys::COMMENTS).paged(&params, 20, 50)?;
    let page = ctx.table.query::<CommunityComment>(&query).await?;
    let hidden = viewer.hidden.clone();
    let comments = page.items.into_iter().filter(|c| !hidden.contains(&c.author_id)).collect();
    Ok(Okay(Page { items: views(&ctx, comments).await?, next_cursor: page.next_cursor }))
}

async fn load_own(ctx: &AppContext, me: &str, id: &str) -> ApiResult<(CommunityCommentRef, CommunityComment)> {
    let (pointer, comment) = find(ctx, id).await?;
    if comment.deleted {
        return Err(not_found());
    }
    if comment.author_id != me {
        return Err(CommunityError::NotYourComment.into());
    }
    Ok((pointer, comment))
}

pub async fn update(
    ctx: Arc<AppContext>,
    caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<CommunityCommentPatch>,
) -> ApiResult<Okay<CommunityCommentView>> {
    let (_, comment) = load_own(&ctx, &caller.user_id, &id).await?;
    let w = shared::threads::edit(comment.key(), &body.content, ctx.now(), not_found());
    let fresh = ctx.table.write_returning(w).await?.ok_or_else(not_found)?;
    Ok(Okay(views(&ctx, vec![CommunityComment::from_item(fresh)?]).await?.remove(0)))
}

pub async fn delete(ctx: Arc<AppContext>, caller: Caller, Path(id): Path<String>) -> ApiResult<NoContent> {
    let (pointer, comment) = load_own(&ctx, &caller.user_id, &id).await?;
    remove(&ctx, &pointer, &comment, &|| Ok(Vec::new())).await?;
    Ok(NoContent)
}

/// Removes a comment as its author's delete does (see [`shared::threads::remove_comment`]),
/// with `extra` writes in the same transaction.
pub async fn remove(
    ctx: &AppContext,
    pointer: &CommunityCommentRef,
    comment: &CommunityComment,
    extra: &(dyn Fn() -> ApiResult<Vec<Write>> + Sync),
) -> ApiResult<()> {
    let place = shared::threads::CommentPlace {
        comment: comment.key(),
        pointer: pointer.key(),
        ticket: keys::comment_ticket_key(&comment.post_id, &comment.id),
        parent: comment
            .parent_id
            .as_ref()
            .map(|p| Key::new(keys::post_partition(&comment.post_id), keys::comment_sort(p, None))),
        reply_count: comment.reply_count,
    };
    shared::threads::remove_comment(ctx, &place, &not_found, extra).await
}
