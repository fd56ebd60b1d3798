//! Likes on board posts, as on diary posts: one per user and post, idempotent both ways, hidden
//! across a block. The request writes the like alone; the post's `likeCount` follows from the
//! table's stream ([`community_contract::LIKES_COUNTED`]), so likes on a popular post never write
//! the post and never collide on it. The author is told through the notifications outbox, once an
//! hour per liker however often they like and unlike.

use std::sync::Arc;

use community_contract::keys;
use notifications_contract::{NotificationEvent, NotificationKind};
use serde::Serialize;
use shared::error::Tolerate;
use shared::handler::{Caller, Okay, Path};
use shared::routes::{Access, Function, Method, Permission, said};
use shared::table::Write;
use shared::{ApiResult, AppContext, handler};
use social_contract::not_blocked_checks;
use utoipa::ToSchema;

use crate::PKG;
use crate::error::CommunityError;
use crate::posts::existing_post;

const WRITE: &[Permission] = &[Permission::TableRead, Permission::TableWrite];

pub static LIKE: Function = Function::http(
    Method::Put,
    "/community/posts/{id}/like",
    "community-posts-like",
    PKG,
    Access::User,
    handler!(like),
)
.permissions(WRITE)
.doc("community", "Like a community post (idempotent)")
.responses(&[said(200, "Liked.")])
.errors(&[404])
.reads_with_session(crate::posts::the_post);

pub static UNLIKE: Function = Function::http(
    Method::Delete,
    "/community/posts/{id}/like",
    "community-posts-unlike",
    PKG,
    Access::User,
    handler!(unlike),
)
.permissions(WRITE)
.doc("community", "Take a like of a community post back (idempotent)")
.responses(&[said(200, "Not liked.")])
.errors(&[404])
.reads_with_session(crate::posts::the_post);

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommunityLikeState {
    pub liked: bool,
    /// The count as read plus this change: the stream applies it to the post within moments.
    pub like_count: i64,
}

fn like_item(post: &str, me: &str, like_id: &str) -> shared::table::Item {
    let mut item = keys::like_key(post, me).to_item();
    item.insert(shared::table::ENTITY_TYPE.into(), shared::table::s("CommunityLike"));
    item.insert("userId".into(), shared::table::s(me));
    item.insert("likeId".into(), shared::table::s(like_id));
    item
}

pub async fn like(ctx: Arc<AppContext>, caller: Caller, Path(id): Path<String>) -> ApiResult<Okay<CommunityLikeState>> {
    let me = caller.user_id.clone();
    let post = existing_post(&ctx, &id).await?;
    let like_id = shared::ids::new_id(ctx.now());
    // Hidden (404) across a block, both ways: checked in the like's own transaction.
    let mut writes = Vec::from(not_blocked_checks(&me, &post.author_id, CommunityError::PostNotFound));
    writes.push(Write::put_item(like_item(&post.id, &me, &like_id)).if_absent(CommunityError::AlreadyLiked));
    writes.extend(notifications_contract::outbox(
        &ctx,
        vec![NotificationEvent {
            event_id: format!("clike:{}:{me}:{like_id}", post.id),
            kind: NotificationKind::Like,
            actor_id: me.clone(),
            recipient_id: post.author_id.clone(),
            target_type: "COMMUNITY_POST".into(),
            target_id: post.id.clone(),
            excerpt: None,
        }],
    )?);
    let added = ctx.table.transact(writes).await.tolerate(&CommunityError::AlreadyLiked)?.is_some();
    Ok(Okay(CommunityLikeState { liked: true, like_count: post.like_count + i64::from(added) }))
}

pub async fn unlike(
    ctx: Arc<AppContext>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Okay<CommunityLikeState>> {
    let me = caller.user_id.clone();
    let post = existing_post(&ctx, &id).await?;
    let mut writes = Vec::from(not_blocked_checks(&me, &post.author_id, CommunityError::PostNotFound));
    writes.push(Write::delete(keys::like_key(&post.id, &me)).if_present(CommunityError::NotLiked));
    let removed = ctx.table.transact(writes).await.tolerate(&CommunityError::NotLiked)?.is_some();
    Ok(Okay(CommunityLikeState { liked: false, like_count: (post.like_count - i64::from(removed)).max(0) }))
}
