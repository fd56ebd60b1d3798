//! Comments: one level of replies, oldest first with replies under their parent; the post's
//! comment count moves in the same transaction as the comment.

use shared::threads::Concerned;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use identity_contract::{Person, people};
use notifications_contract::{NotificationEvent, NotificationKind};
use serde::{Deserialize, Serialize};
use shared::handler;
use shared::handler::{Caller, Created, Json, NoContent, Okay, Params, Path, Viewer};
use shared::http::PageRequest;
use shared::routes::{Access, Function, Method, Permission, said};
use shared::table::{Entity, Key, Page, Query, Write};
use shared::validate::{Validate, Validator};
use shared::{ApiError, ApiResult, AppContext};
use social_contract::{RelationError, not_blocked_checks};
use utoipa::ToSchema;

use crate::PKG;
use crate::error::DiaryError;
use crate::keys;
use crate::model::{Comment, CommentRef, Post, comment_ref_key, post_key};
use crate::posts::{PAGE, READ, existing_post, visible_post};

// Notifications reach their queue through the outbox (the relay sends them).
const WRITE: &[Permission] = &[Permission::TableRead, Permission::TableWrite];
/// A write that answers with the comment shows its author's avatar: a presigned URL, which S3
/// checks against this function's `s3:GetObject`.
const WRITE_SHOWN: &[Permission] = &[Permission::TableRead, Permission::TableWrite, Permission::MediaRead];

/// The pointer to the comment named in the path, read with the caller's session.
fn the_comment(path: &std::collections::HashMap<String, String>, _caller: &str) -> Vec<Key> {
    shared::routes::id_param(path, "id").map(comment_ref_key).into_iter().collect()
}

pub static CREATE: Function =
    Function::http(Method::Post, "/posts/{id}/comments", "comments-create", PKG, Access::User, handler!(create))
        .permissions(WRITE_SHOWN)
        .doc("diary", "Comment on a post, or reply to a comment (one level)")
        .example(r#"{"content":"귀여워요!","parentId":null,"mentionUserId":null}"#)
        .responses(&[said(201, "Commented.")])
        .errors(&[404])
        .reads_with_session(crate::posts::the_post);

pub static LIST: Function =
    Function::http(Method::Get, "/posts/{id}/comments", "comments-list", PKG, Access::Public, handler!(list))
        .permissions(READ)
        .doc("diary", "A post's comments, oldest first, each reply after its parent")
        .query(PAGE)
        .responses(&[said(200, "A page of comments.")])
        .errors(&[404])
        .reads_with_session(crate::posts::the_post);

pub static UPDATE: Function =
    Function::http(Method::Patch, "/comments/{id}", "comments-update", PKG, Access::User, handler!(update))
        .permissions(WRITE_SHOWN)
        .doc("diary", "Edit my comment")
        .example(r#"{"content":"정말 귀여워요!"}"#)
        .responses(&[said(200, "The comment.")])
        .errors(&[404])
        .reads_with_session(the_comment);

pub static DELETE: Function =
    Function::http(Method::Delete, "/comments/{id}", "comments-delete", PKG, Access::User, handler!(delete))
        .permissions(WRITE)
        .doc("diary", "Delete a comment (its author or the post's author); one with replies shows as deleted")
        .responses(&[said(204, "Deleted.")])
        .errors(&[404])
        .reads_with_session(the_comment);

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CommentInput {
    pub content: String,
    #[serde(default)]
    pub parent_id: Option<String>,
    #[serde(default)]
    pub mention_user_id: Option<String>,
}

impl Validate for CommentInput {
    fn validate(&self, v: &mut Validator) {
        v.text("content", &self.content, 1, 1000);
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CommentPatch {
    pub content: String,
}

impl Validate for CommentPatch {
    fn validate(&self, v: &mut Validator) {
        v.text("content", &self.content, 1, 1000);
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommentView {
    pub id: String,
    pub post_id: String,
    pub parent_id: Option<String>,
    /// Absent for a deleted comment.
    pub author: Option<Person>,
    pub content: String,
    pub mention: Option<Person>,
    pub deleted: bool,
    pub reply_count: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

async fn views(ctx: &AppContext, comments: Vec<Comment>) -> ApiResult<Vec<CommentView>> {
    let ids: Vec<String> =
        comments.iter().flat_map(|c| std::iter::once(c.author_id.clone()).chain(c.mention_user_id.clone())).collect();
    let persons = people(ctx, &ids).await?;
    Ok(comments
        .into_iter()
        .map(|c| CommentView {
            author: (!c.deleted).then(|| persons.get(&c.author_id).cloned()).flatten(),
            content: if c.deleted { String::new() } else { c.content },
            mention: if c.deleted { None } else { c.mention_user_id.as_ref().and_then(|m| persons.get(m).cloned()) },
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
    DiaryError::CommentNotFound.into()
}

async fn load(ctx: &AppContext, id: &str) -> ApiResult<(CommentRef, Comment)> {
    if !shared::ids::is_valid_id(id) {
        return Err(not_found());
    }
    let r = ctx.table.get::<CommentRef>(&comment_ref_key(id)).await?.ok_or_else(not_found)?;
    let c = ctx
        .table
        .get::<Comment>(&Key::new(keys::post_partition(&r.post_id), &r.sort_key))
        .await?
        .ok_or_else(not_found)?;
    Ok((r, c))
}

pub async fn create(
    ctx: Arc<AppContext>,
    caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<CommentInput>,
) -> ApiResult<Created<CommentView>> {
    let me = caller.user_id.clone();
    let post = existing_post(&ctx, id.as_str()).await?;
    let parent = match &body.parent_id {
        Some(pid) => {
            let (_, parent) = load(&ctx, pid).await?;
            shared::threads::check_parent(&parent, &post.id)?;
            Some(parent)
        }
        None => None,
    };
    if let Some(m) = &body.mention_user_id
        && (!shared::ids::is_valid_id(m) || ctx.table.get_item(&shared::account::user_key(m)).await?.is_none())
    {
        return Err(ApiError::validation("mentionUserId", "NOT_FOUND", "no such user"));
    }
    let now = ctx.now();
    let comment = Comment {
        id: shared::ids::new_id(now),
        post_id: post.id.clone(),
        parent_id: parent.as_ref().map(|p| p.id.clone()),
        author_id: me.clone(),
        content: body.content.trim().to_string(),
        mention_user_id: body.mention_user_id.clone(),
        deleted: false,
        reply_count: 0,
        created_at: now,
        updated_at: now,
    };
    let pointer = CommentRef {
        comment_id: comment.id.clone(),
        post_id: post.id.clone(),
        sort_key: comment.sk(),
        author_id: me.clone(),
    };
    // No comment across a block, checked in the comment's own transaction: the post is hidden
    // (404) from anyone its author blocks or is blocked by; the replied-to and the mentioned
    // user refuse it (403). Each other user once: a transaction touches an item once.
    let mut writes = Vec::new();
    let parent_author = parent.as_ref().map(|p| p.author_id.as_str());
    for (who, other) in
        shared::threads::concerned(&me, &post.author_id, parent_author, comment.mention_user_id.as_deref())
    {
        writes.extend(match who {
            Concerned::PostAuthor => not_blocked_checks(&me, other, DiaryError::PostNotFound),
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
    let excerpt: String = comment.content.chars().take(40).collect();
    let event = |kind, recipient: &str| NotificationEvent {
        event_id: format!("{kind:?}:{}:{recipient}", comment.id).to_lowercase(),
        kind,
        actor_id: me.clone(),
        recipient_id: recipient.to_string(),
        target_type: "POST".into(),
        target_id: post.id.clone(),
        excerpt: Some(excerpt.clone()),
    };
    let mut events = vec![event(NotificationKind::Comment, &post.author_id)];
    if let Some(p) = &parent {
        events.push(event(NotificationKind::Reply, &p.author_id));
    }
    if let Some(m) = &comment.mention_user_id {
        events.push(event(NotificationKind::Mention, m));
    }
    // The post's author decides who may hear of what is said under it: nobody they block (or
    // who blocks them) is told, whoever wrote the comment.
    let mut told = Vec::with_capacity(events.len());
    for e in events {
        if e.recipient_id == post.author_id
            || !social_contract::blocked_between(&ctx, &post.author_id, &e.recipient_id).await?
        {
            told.push(e);
        }
    }
    let events = told;
    writes.extend(notifications_contract::outbox(&ctx, events)?);
    writes.push(moderation_contract::stats::count(ctx.now(), &[(moderation_contract::stats::Metric::Comments, 1)]));
    ctx.table.transact(writes).await?;
    Ok(Created(views(&ctx, vec![comment]).await?.remove(0)))
}

pub async fn list(
    ctx: Arc<AppContext>,
    viewer: Viewer,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Okay<Page<CommentView>>> {
    let post = visible_post(&ctx, &viewer, id.as_str()).await?;
    let query = Query::partition(keys::post_partition(&post.id)).begins_with(keys::COMMENTS).paged(&params, 10, 50)?;
    let page = ctx.table.query::<Comment>(&query).await?;
    let comments = page.items.into_iter().filter(|c| !viewer.hides(&c.author_id)).collect();
    Ok(Okay(Page { items: views(&ctx, comments).await?, next_cursor: page.next_cursor }))
}

pub async fn update(
    ctx: Arc<AppContext>,
    caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<CommentPatch>,
) -> ApiResult<Okay<CommentView>> {
    let me = caller.user_id.clone();
    let (_, comment) = load(&ctx, id.as_str()).await?;
    if comment.deleted {
        return Err(not_found());
    }
    if comment.author_id != me {
        return Err(DiaryError::MayNotEditComment.into());
    }
    let w = shared::threads::edit(comment.key(), &body.content, ctx.now(), not_found());
    let fresh = ctx.table.write_returning(w).await?.ok_or_else(not_found)?;
    Ok(Okay(views(&ctx, vec![Comment::from_item(fresh)?]).await?.remove(0)))
}

pub async fn delete(ctx: Arc<AppContext>, caller: Caller, Path(id): Path<String>) -> ApiResult<NoContent> {
    let me = caller.user_id.clone();
    let (pointer, comment) = load(&ctx, id.as_str()).await?;
    if comment.deleted {
        return Err(not_found());
    }
    let post_author = ctx.table.get::<Post>(&post_key(&comment.post_id)).await?.map(|p| p.author_id);
    if comment.author_id != me && post_author.as_deref() != Some(me.as_str()) {
        return Err(DiaryError::MayNotDeleteComment.into());
    }
    remove(&ctx, &pointer, &comment, &|| Ok(Vec::new())).await?;
    Ok(NoContent)
}

/// Removes a comment as its author's delete does (see [`shared::threads::remove_comment`]),
/// with `extra` writes in the same transaction.
pub async fn remove(
    ctx: &AppContext,
    pointer: &CommentRef,
    comment: &Comment,
    extra: &(dyn Fn() -> ApiResult<Vec<Write>> + Sync),
) -> ApiResult<()> {
    let place = shared::threads::CommentPlace {
        comment: comment.key(),
        pointer: pointer.key(),
        ticket: keys::comment_ticket_key(&comment.post_id, &comment.id),
        parent: comment
            .parent_id
            .as_ref()
            .map(|p| Key::new(keys::post_partition(&comment.post_id), Comment::sort_key(p, None))),
        reply_count: comment.reply_count,
    };
    shared::threads::remove_comment(ctx, &place, &not_found, extra).await
}

/// A comment and its pointer by the comment's id (404 when either is missing).
pub async fn find(ctx: &AppContext, id: &str) -> ApiResult<(CommentRef, Comment)> {
    load(ctx, id).await
}
