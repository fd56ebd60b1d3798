//! Blocking: ends follows both ways, stops follows, likes, comments and mentions between the
//! two, and hides the other's content from the blocker's lists and searches.

use std::sync::Arc;

use identity_contract::Person;
use serde::Serialize;
use shared::error::Tolerate;
use shared::handler;
use shared::handler::{Caller, Okay, Params, Path};
use shared::routes::{Access, Function, Method, Permission, int_param, param, said};
use shared::table::Page;
use shared::table::{Query, Write};
use shared::{ApiResult, AppContext};
use social_contract::{blocked_by_key, blocks_key, following_key, hidden_changes};
use utoipa::ToSchema;

use crate::error::SocialError;
use crate::follows::{counters, end_follow_items};
use crate::{PKG, id_after, other_user};

const WRITE: &[Permission] = &[Permission::TableRead, Permission::TableWrite];

pub static BLOCK: Function =
    Function::http(Method::Put, "/users/{id}/block", "social-block", PKG, Access::User, handler!(block))
        .permissions(WRITE)
        .doc("social", "Block a user (idempotent); follows between you end")
        .responses(&[said(200, "Blocked.")])
        .errors(&[404]);

pub static UNBLOCK: Function =
    Function::http(Method::Delete, "/users/{id}/block", "social-unblock", PKG, Access::User, handler!(unblock))
        .permissions(WRITE)
        .doc("social", "Unblock a user (idempotent)")
        .responses(&[said(200, "Not blocked.")])
        .errors(&[404]);

pub static MY_BLOCKS: Function =
    Function::http(Method::Get, "/users/me/blocks", "social-my-blocks", PKG, Access::User, handler!(my_blocks))
        .permissions(&[Permission::TableRead, Permission::MediaRead])
        .doc("social", "Whom I block")
        .query(&[param("cursor", false, "from nextCursor"), int_param("limit", false, "page size, default 9", 1, 50)])
        .responses(&[said(200, "A page of users.")]);

#[derive(Debug, Serialize, ToSchema)]
pub struct BlockState {
    pub blocked: bool,
}

pub async fn block(ctx: Arc<AppContext>, caller: Caller, Path(target): Path<String>) -> ApiResult<Okay<BlockState>> {
    let me = caller.user_id.clone();
    other_user(&ctx, &me, &target, SocialError::CannotBlockSelf).await?;
    let now = ctx.now().to_rfc3339();
    let item = |key: shared::table::Key| {
        let mut i = key.to_item();
        i.insert(shared::table::ENTITY_TYPE.into(), shared::table::s("Block"));
        i.insert("since".into(), shared::table::s(&now));
        i
    };
    // Read which follows exist, then end exactly those in the block's transaction; a follow
    // that appears or vanishes meanwhile fails the transaction, and we read again.
    for _ in 0..3 {
        let follows = ctx.table.batch_get_items(&[following_key(&me, &target), following_key(&target, &me)]).await?;
        let mut writes = vec![
            Write::put_item(item(blocks_key(&me, &target))).if_absent(SocialError::AlreadyBlocked),
            Write::put_item(item(blocked_by_key(&target, &me))),
        ];
        writes.extend(hidden_changes(&me, &target, 1));
        let (mine, theirs) = (follows[0].is_some(), follows[1].is_some());
        if mine {
            writes.extend(end_follow_items(&me, &target));
        } else {
            writes.push(Write::check(
                following_key(&me, &target),
                "attribute_not_exists(PK)",
                SocialError::FollowsMoved,
            ));
        }
        if theirs {
            writes.extend(end_follow_items(&target, &me));
        } else {
            writes.push(Write::check(
                following_key(&target, &me),
                "attribute_not_exists(PK)",
                SocialError::FollowsMoved,
            ));
        }
        if mine || theirs {
            writes.push(counters(&me, -i64::from(mine), -i64::from(theirs)));
            writes.push(counters(&target, -i64::from(theirs), -i64::from(mine)));
        }
        writes.extend(social_contract::follow_changed(&ctx, &me, &target, false)?);
        writes.extend(social_contract::follow_changed(&ctx, &target, &me, false)?);
        match ctx.table.transact(writes).await {
            Ok(()) => return Ok(Okay(BlockState { blocked: true })),
            Err(e) if e.is(&SocialError::AlreadyBlocked) => return Ok(Okay(BlockState { blocked: true })),
            // A follow between the two changed meanwhile: plan again.
            Err(e) if e.is(&SocialError::FollowsMoved) || e.is(&SocialError::NotFollowing) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(SocialError::RelationChanged.into())
}

pub async fn unblock(ctx: Arc<AppContext>, caller: Caller, Path(target): Path<String>) -> ApiResult<Okay<BlockState>> {
    let me = caller.user_id.clone();
    other_user(&ctx, &me, &target, SocialError::CannotBlockSelf).await?;
    let mut writes = vec![
        Write::delete(blocks_key(&me, &target)).if_present(SocialError::NotBlocked),
        Write::delete(blocked_by_key(&target, &me)),
    ];
    writes.extend(hidden_changes(&me, &target, -1));
    // Unblocking someone not blocked is a success too.
    ctx.table.transact(writes).await.tolerate(&SocialError::NotBlocked)?;
    Ok(Okay(BlockState { blocked: false }))
}

pub async fn my_blocks(ctx: Arc<AppContext>, caller: Caller, params: Params) -> ApiResult<Okay<Page<Person>>> {
    let me = caller.user_id.clone();
    let limit = params.limit(9, 50)?;
    let page = ctx
        .table
        .query_items(
            &Query::partition(shared::keys::user_partition(&me))
                .begins_with(social_contract::keys::BLOCKS)
                .limit(limit)
                .cursor(params.get("cursor").map(str::to_string)),
        )
        .await?;
    let ids: Vec<String> = page.items.iter().filter_map(|i| id_after(i, social_contract::keys::BLOCKS)).collect();
    Ok(Okay(identity_contract::page_of_people(&ctx, &ids, page.next_cursor).await?))
}
