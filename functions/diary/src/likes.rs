//! Likes: one per user and post, idempotent both ways; the count lives on the post and changes
//! in the same transaction as the like, so lists and details always agree.

use std::sync::Arc;

use serde::Serialize;
use shared::events::{NotificationEvent, NotificationKind};
use shared::http::PageRequest;
use shared::people::{Person, hidden_for};
use shared::routes::{Access, Function, Method, Permission, page, respond, schema};
use shared::table::{AttrValue, Entity, Gsi, Query, Write, n};
use shared::{ApiError, ApiRequest, ApiResponse, ApiResult, AppContext, queues};
use utoipa::ToSchema;

use crate::PKG;
use crate::model::{Like, Post, like_key, post_key};
use crate::posts::{PAGE, READ, not_found, visible_post};

const WRITE: &[Permission] =
    &[Permission::TableRead, Permission::TableWrite, Permission::SendTo(&queues::NOTIFICATIONS)];

pub static LIKE: Function =
    Function::http(Method::Put, "/posts/{id}/like", "posts-like", PKG, Access::User, |c, r| Box::pin(like(c, r)))
        .permissions(WRITE)
        .doc("diary", "Like a post (idempotent)")
        .responses(&[respond(200, "Liked.", Some(schema::<LikeState>))])
        .errors(&[404]);

pub static UNLIKE: Function =
    Function::http(Method::Delete, "/posts/{id}/like", "posts-unlike", PKG, Access::User, |c, r| {
        Box::pin(unlike(c, r))
    })
    .permissions(WRITE)
    .doc("diary", "Take a like back (idempotent)")
    .responses(&[respond(200, "Not liked.", Some(schema::<LikeState>))])
    .errors(&[404]);

pub static LIKERS: Function =
    Function::http(Method::Get, "/posts/{id}/likes", "posts-likers", PKG, Access::Public, |c, r| {
        Box::pin(likers(c, r))
    })
    .permissions(READ)
    .doc("diary", "Who liked a post, newest first")
    .query(PAGE)
    .responses(&[respond(200, "A page of users.", Some(page::<Person>))])
    .errors(&[404]);

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LikeState {
    pub liked: bool,
    pub like_count: i64,
}

async fn count(ctx: &AppContext, post: &str) -> ApiResult<i64> {
    Ok(ctx.table.get::<Post>(&post_key(post)).await?.ok_or_else(not_found)?.like_count)
}

pub async fn like(ctx: Arc<AppContext>, req: ApiRequest) -> ApiResult<ApiResponse> {
    let me = req.caller()?.user_id.clone();
    let post = visible_post(&ctx, Some(&me), req.path_param("id")?).await?;
    shared::people::ensure_not_blocked(&ctx, &me, &post.author_id).await?;
    let like = Like { post_id: post.id.clone(), user_id: me.clone(), like_id: shared::ids::new_id(ctx.now()) };
    let mut writes = vec![
        Write::put(&like)?.if_absent(ApiError::conflict("ALREADY_LIKED", "already")),
        Write::update(post.key(), "ADD likeCount :one").value(":one", n(1)).if_present(not_found()),
    ];
    writes.extend(shared::events::outbox(
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
    match ctx.table.transact(writes).await {
        Ok(()) => {}
        Err(e) if e.code() == "ALREADY_LIKED" => {}
        Err(e) => return Err(e),
    }
    ApiResponse::ok(&LikeState { liked: true, like_count: count(&ctx, &post.id).await? })
}

pub async fn unlike(ctx: Arc<AppContext>, req: ApiRequest) -> ApiResult<ApiResponse> {
    let me = req.caller()?.user_id.clone();
    let post = visible_post(&ctx, Some(&me), req.path_param("id")?).await?;
    let writes = vec![
        Write::delete(like_key(&post.id, &me)).if_present(ApiError::conflict("NOT_LIKED", "not liked")),
        Write::update(post.key(), "ADD likeCount :m").value(":m", n(-1)).if_present(not_found()),
    ];
    match ctx.table.transact(writes).await {
        Ok(()) => {}
        Err(e) if e.code() == "NOT_LIKED" => {}
        Err(e) => return Err(e),
    }
    ApiResponse::ok(&LikeState { liked: false, like_count: count(&ctx, &post.id).await? })
}

pub async fn likers(ctx: Arc<AppContext>, req: ApiRequest) -> ApiResult<ApiResponse> {
    let viewer = req.identity.as_ref().map(|i| i.user_id.clone());
    let post = visible_post(&ctx, viewer.as_deref(), req.path_param("id")?).await?;
    let query = Query::partition(format!("LIKES#{}", post.id)).index(Gsi::Gsi1).newest_first().paged(&req, 9, 50)?;
    let page = ctx.table.query_items(&query).await?;
    let hidden = hidden_for(&ctx, viewer.as_deref()).await?;
    let ids: Vec<String> = page
        .items
        .iter()
        .filter_map(|i| match i.get("userId") {
            Some(AttrValue::S(u)) if !hidden.contains(u) => Some(u.clone()),
            _ => None,
        })
        .collect();
    ApiResponse::ok(&shared::people::page_of_people(&ctx, &ids, page.next_cursor).await?)
}
