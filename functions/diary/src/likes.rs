//! Likes: one per user and post, idempotent both ways; the count lives on the post and changes
//! in the same transaction as the like, so lists and details always agree.

use std::sync::Arc;

use identity_contract::Person;
use notifications_contract::{NotificationEvent, NotificationKind};
use serde::Serialize;
use shared::error::Tolerate;
use shared::handler;
use shared::handler::{Caller, Okay, Params, Path, Viewer};
use shared::http::PageRequest;
use shared::routes::{Access, Function, Method, Permission, said};
use shared::table::Page;
use shared::table::{AttrValue, Gsi, Query, Write};
use shared::{ApiResult, AppContext};
use social_contract::not_blocked_checks;
use utoipa::ToSchema;

use crate::PKG;
use crate::error::DiaryError;
use crate::model::{Like, like_key};
use crate::posts::{PAGE, READ, existing_post, visible_post};

const WRITE: &[Permission] = &[Permission::TableRead, Permission::TableWrite];

pub static LIKE: Function =
    Function::http(Method::Put, "/posts/{id}/like", "posts-like", PKG, Access::User, handler!(like))
        .permissions(WRITE)
        .doc("diary", "Like a post (idempotent)")
        .responses(&[said(200, "Liked.")])
        .errors(&[404])
        .reads_with_session(crate::posts::the_post);

pub static UNLIKE: Function =
    Function::http(Method::Delete, "/posts/{id}/like", "posts-unlike", PKG, Access::User, handler!(unlike))
        .permissions(WRITE)
        .doc("diary", "Take a like back (idempotent)")
        .responses(&[said(200, "Not liked.")])
        .errors(&[404])
        .reads_with_session(crate::posts::the_post);

pub static LIKERS: Function =
    Function::http(Method::Get, "/posts/{id}/likes", "posts-likers", PKG, Access::Public, handler!(likers))
        .permissions(READ)
        .doc("diary", "Who liked a post, newest first")
        .query(PAGE)
        .responses(&[said(200, "A page of users.")])
        .errors(&[404])
        .reads_with_session(crate::posts::the_post);

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LikeState {
    pub liked: bool,
    pub like_count: i64,
}

pub async fn like(ctx: Arc<AppContext>, caller: Caller, Path(id): Path<String>) -> ApiResult<Okay<LikeState>> {
    let me = caller.user_id.clone();
    let post = existing_post(&ctx, id.as_str()).await?;
    let like = Like { post_id: post.id.clone(), user_id: me.clone(), like_id: shared::ids::new_id(ctx.now()) };
    // Hidden (404) across a block, both ways: checked in the like's own transaction.
    let mut writes = Vec::from(not_blocked_checks(&me, &post.author_id, DiaryError::PostNotFound));
    // The like alone: the post's count follows from the stream (`counts`), so likes on a
    // popular post do not write the post and do not collide on it.
    writes.push(Write::put(&like)?.if_absent(DiaryError::AlreadyLiked));
    writes.extend(notifications_contract::outbox(
        &ctx,
        vec![NotificationEvent {
            event_id: format!("like:{}:{me}:{}", post.id, like.like_id),
            kind: NotificationKind::Like,
            actor_id: me.clone(),
            recipient_id: post.author_id.clone(),
            target_type: "POST".into(),
            target_id: post.id.clone(),
            excerpt: None,
        }],
    )?);
    // Liking twice is liking once. The count shown is the one read plus this like: a re-read
    // would cost a call per like and be stale just as soon under concurrent likes.
    let added = ctx.table.transact(writes).await.tolerate(&DiaryError::AlreadyLiked)?.is_some();
    Ok(Okay(LikeState { liked: true, like_count: post.like_count + i64::from(added) }))
}

pub async fn unlike(ctx: Arc<AppContext>, caller: Caller, Path(id): Path<String>) -> ApiResult<Okay<LikeState>> {
    let me = caller.user_id.clone();
    let post = existing_post(&ctx, id.as_str()).await?;
    let mut writes = Vec::from(not_blocked_checks(&me, &post.author_id, DiaryError::PostNotFound));
    writes.push(Write::delete(like_key(&post.id, &me)).if_present(DiaryError::NotLiked));
    let removed = ctx.table.transact(writes).await.tolerate(&DiaryError::NotLiked)?.is_some();
    Ok(Okay(LikeState { liked: false, like_count: (post.like_count - i64::from(removed)).max(0) }))
}

pub async fn likers(
    ctx: Arc<AppContext>,
    viewer: Viewer,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Okay<Page<Person>>> {
    let post = visible_post(&ctx, &viewer, id.as_str()).await?;
    let query = Query::partition(crate::keys::likers_partition(&post.id))
        .index(Gsi::Gsi1)
        .newest_first()
        .paged(&params, 9, 50)?;
    let page = ctx.table.query_items(&query).await?;
    let hidden = viewer.hidden.clone();
    let ids: Vec<String> = page
        .items
        .iter()
        .filter_map(|i| match i.get("userId") {
            Some(AttrValue::S(u)) if !hidden.contains(u) => Some(u.clone()),
            _ => None,
        })
        .collect();
    Ok(Okay(identity_contract::page_of_people(&ctx, &ids, page.next_cursor).await?))
}
