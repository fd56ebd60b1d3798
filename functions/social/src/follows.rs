//! Following: `PUT`/`DELETE /users/{id}/follow`, status, and the two lists.

use std::sync::Arc;

use identity_contract::Person;
use serde::Serialize;
use shared::error::Tolerate;
use shared::handler;
use shared::handler::{Caller, Okay, Params, Path, Viewer};
use shared::http::PageRequest;
use shared::routes::{Access, Function, Method, Permission, int_param, param, said};
use shared::table::Page;
use shared::table::{Query, Write};
use shared::{ApiError, ApiResult, AppContext};
use social_contract::{blocks_key, follower_key, following_key};
use utoipa::ToSchema;

use crate::error::SocialError;
use crate::{PKG, id_after, other_user};
use identity_contract::{Counter, counter};
use social_contract::keys;

const WRITE: &[Permission] = &[Permission::TableRead, Permission::TableWrite];
const READ: &[Permission] = &[Permission::TableRead, Permission::MediaRead];
const PAGE: &[shared::routes::ParamDoc] =
    &[param("cursor", false, "from nextCursor"), int_param("limit", false, "page size, default 9", 1, 50)];

pub static FOLLOW: Function =
    Function::http(Method::Put, "/users/{id}/follow", "social-follow", PKG, Access::User, handler!(follow))
        .permissions(WRITE)
        .doc("social", "Follow a user (idempotent)")
        .responses(&[said(200, "Following.")])
        .errors(&[404]);

pub static UNFOLLOW: Function =
    Function::http(Method::Delete, "/users/{id}/follow", "social-unfollow", PKG, Access::User, handler!(unfollow))
        .permissions(WRITE)
        .doc("social", "Stop following a user (idempotent)")
        .responses(&[said(200, "Not following.")])
        .errors(&[404]);

pub static STATUS: Function = Function::http(
    Method::Get,
    "/users/{id}/follow-status",
    "social-follow-status",
    PKG,
    Access::User,
    handler!(status),
)
// Two booleans: nobody's picture, so no media to sign.
.permissions(&[Permission::TableRead])
.doc("social", "Whether I follow the user and whether they follow me")
.responses(&[said(200, "The status.")]);

pub static FOLLOWERS: Function =
    Function::http(Method::Get, "/users/{id}/followers", "social-followers", PKG, Access::Public, handler!(followers))
        .permissions(READ)
        .doc("social", "Who follows the user")
        .query(PAGE)
        .responses(&[said(200, "A page of users.")]);

pub static FOLLOWING: Function =
    Function::http(Method::Get, "/users/{id}/following", "social-following", PKG, Access::Public, handler!(following))
        .permissions(READ)
        .doc("social", "Whom the user follows")
        .query(PAGE)
        .responses(&[said(200, "A page of users.")]);

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FollowState {
    pub following: bool,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FollowStatus {
    pub following: bool,
    pub followed_by: bool,
}

/// The writes that end `a` following `b`, without the counters (see [`counters`]).
pub fn end_follow_items(a: &str, b: &str) -> Vec<Write> {
    vec![Write::delete(following_key(a, b)).if_present(SocialError::NotFollowing), Write::delete(follower_key(b, a))]
}

/// The writes that end `a` following `b`, with the counters (only valid if the follow exists).
pub fn end_follow(a: &str, b: &str) -> Vec<Write> {
    let mut w = end_follow_items(a, b);
    w.push(counter(a, Counter::Following, -1));
    w.push(counter(b, Counter::Followers, -1));
    w
}

/// One counter update per user: a transaction may touch an item only once.
pub fn counters(user: &str, following: i64, followers: i64) -> Write {
    identity_contract::counters(user, &[(Counter::Following, following), (Counter::Followers, followers)])
}

pub async fn follow(ctx: Arc<AppContext>, caller: Caller, Path(target): Path<String>) -> ApiResult<Okay<FollowState>> {
    let me = caller.user_id.clone();
    other_user(&ctx, &me, &target, SocialError::CannotFollowSelf).await?;
    let blocked = || -> ApiError { SocialError::Blocked.into() };
    let now = ctx.now().to_rfc3339();
    let item = |key: shared::table::Key| {
        let mut i = key.to_item();
        i.insert(shared::table::ENTITY_TYPE.into(), shared::table::s("Follow"));
        i.insert("since".into(), shared::table::s(&now));
        i
    };
    let mut writes = vec![
        Write::check(blocks_key(&me, &target), "attribute_not_exists(PK)", blocked()),
        Write::check(blocks_key(&target, &me), "attribute_not_exists(PK)", blocked()),
        Write::put_item(item(following_key(&me, &target))).if_absent(SocialError::AlreadyFollowing),
        Write::put_item(item(follower_key(&target, &me))),
        counter(&me, Counter::Following, 1),
        counter(&target, Counter::Followers, 1),
    ];
    writes.extend(social_contract::follow_changed(&ctx, &me, &target, true)?);
    // Following twice is following once.
    ctx.table.transact(writes).await.tolerate(&SocialError::AlreadyFollowing)?;
    Ok(Okay(FollowState { following: true }))
}

pub async fn unfollow(
    ctx: Arc<AppContext>,
    caller: Caller,
    Path(target): Path<String>,
) -> ApiResult<Okay<FollowState>> {
    let me = caller.user_id.clone();
    other_user(&ctx, &me, &target, SocialError::CannotFollowSelf).await?;
    let mut writes = end_follow(&me, &target);
    writes.extend(social_contract::follow_changed(&ctx, &me, &target, false)?);
    ctx.table.transact(writes).await.tolerate(&SocialError::NotFollowing)?;
    Ok(Okay(FollowState { following: false }))
}

pub async fn status(ctx: Arc<AppContext>, caller: Caller, Path(target): Path<String>) -> ApiResult<Okay<FollowStatus>> {
    let me = caller.user_id.clone();
    let other = target.as_str();
    let found = ctx.table.batch_get_items(&[following_key(&me, other), following_key(other, &me)]).await?;
    Ok(Okay(FollowStatus { following: found[0].is_some(), followed_by: found[1].is_some() }))
}

async fn list(
    ctx: &AppContext,
    viewer: &Viewer,
    user: &str,
    params: &Params,
    prefix: &str,
) -> ApiResult<Okay<Page<Person>>> {
    let query = Query::partition(shared::keys::user_partition(user)).begins_with(prefix).paged(params, 9, 50)?;
    let page = ctx.table.query_items(&query).await?;
    let hidden = viewer.hidden.clone();
    let ids: Vec<String> =
        page.items.iter().filter_map(|i| id_after(i, prefix)).filter(|id| !hidden.contains(id)).collect();
    Ok(Okay(identity_contract::page_of_people(ctx, &ids, page.next_cursor).await?))
}

pub async fn followers(
    ctx: Arc<AppContext>,
    viewer: Viewer,
    Path(user): Path<String>,
    params: Params,
) -> ApiResult<Okay<Page<Person>>> {
    list(&ctx, &viewer, &user, &params, keys::FOLLOWER).await
}

pub async fn following(
    ctx: Arc<AppContext>,
    viewer: Viewer,
    Path(user): Path<String>,
    params: Params,
) -> ApiResult<Okay<Page<Person>>> {
    list(&ctx, &viewer, &user, &params, keys::FOLLOWING).await
}
