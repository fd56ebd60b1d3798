//! Content removed by a moderator: `DELETE /admin/posts/{id}`, `/admin/comments/{id}`,
//! `/admin/market/posts/{id}`, the community's and `/admin/ads/{id}`, each with a `reason`. The order is recorded (with the content as
//! it was) and committed to the content's own domain through the outbox; its removal worker
//! deletes it exactly as its author would — from every list, count, feed and search — and tells
//! the author why. So the answer is 202: the removal is certain, and done within moments.

use std::sync::Arc;

use moderation_contract::moderation::{Removal, Snapshot, TargetType};
use serde::Serialize;
use serde_json::json;
use shared::handler::{Accepted, Caller, Params, Path, RequestId};
use shared::routes::{Access, Function, Method, Permission, param, said};
use shared::{ApiError, ApiResult, AppContext, handler};
use utoipa::ToSchema;

use crate::PKG;
use crate::audit::record;
use crate::error::AdminError;

const REMOVE: &[Permission] = &[Permission::TableRead, Permission::TableWrite];

/// One removal route and its handler: the same order, for one kind of content.
macro_rules! removal_route {
    ($name:ident, $path:literal, $bin:literal, $handler:ident, $target:expr, $what:literal) => {
        pub static $name: Function =
            Function::http(Method::Delete, $path, $bin, PKG, Access::Admin, handler!($handler))
                .permissions(REMOVE)
                .doc("admin", concat!("Remove ", $what, " as its author would, and tell the author why"))
                .query(&[param("reason", true, "why, as the author is told (1–200 characters)")])
                .responses(&[said(202, "The removal is ordered.")])
                .errors(&[404]);

        pub async fn $handler(
            ctx: Arc<AppContext>,
            caller: Caller,
            Path(id): Path<String>,
            params: Params,
            request: RequestId,
        ) -> ApiResult<Accepted<RemovalOrdered>> {
            remove(&ctx, &caller.user_id, $target, &id, &params, &request).await
        }
    };
}

removal_route!(DELETE_POST, "/admin/posts/{id}", "admin-posts-delete", delete_post, TargetType::Post, "a diary post");
removal_route!(
    DELETE_COMMENT,
    "/admin/comments/{id}",
    "admin-comments-delete",
    delete_comment,
    TargetType::Comment,
    "a diary comment"
);
removal_route!(
    DELETE_LISTING,
    "/admin/market/posts/{id}",
    "admin-market-posts-delete",
    delete_listing,
    TargetType::MarketPost,
    "a market listing"
);

removal_route!(
    DELETE_AD,
    "/admin/ads/{id}",
    "admin-ads-delete",
    delete_ad,
    TargetType::Ad,
    "an ad (live or not; its applicants are told)"
);
removal_route!(
    DELETE_COMMUNITY_POST,
    "/admin/community/posts/{id}",
    "admin-community-posts-delete",
    delete_community_post,
    TargetType::CommunityPost,
    "a community post"
);
removal_route!(
    DELETE_COMMUNITY_COMMENT,
    "/admin/community/comments/{id}",
    "admin-community-comments-delete",
    delete_community_comment,
    TargetType::CommunityComment,
    "a community comment"
);

/// The removal ordered.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RemovalOrdered {
    pub removal_id: String,
    pub target_type: TargetType,
    pub target_id: String,
}

fn reason(params: &Params) -> ApiResult<String> {
    let reason = params.get("reason").map(str::trim).unwrap_or_default();
    if reason.is_empty() || reason.chars().count() > 200 || reason.chars().any(char::is_control) {
        return Err(ApiError::validation("reason", "REQUIRED", "why, in 1–200 characters on one line"));
    }
    Ok(reason.to_string())
}

async fn remove(
    ctx: &AppContext,
    admin: &str,
    target_type: TargetType,
    id: &str,
    params: &Params,
    request: &RequestId,
) -> ApiResult<Accepted<RemovalOrdered>> {
    let reason = reason(params)?;
    let owner = crate::registry::reportable(target_type).ok_or(AdminError::ContentNotFound)?;
    let queue = owner.removals.ok_or(AdminError::ContentNotFound)?;
    let found: Option<Snapshot> =
        (owner.snapshot)(ctx, moderation_contract::moderation::Target { id, context_id: None, asker: None }).await?;
    let snapshot = found.ok_or(AdminError::ContentNotFound)?;
    let removal = Removal {
        id: shared::ids::new_id(ctx.now()),
        target_type,
        target_id: id.to_string(),
        context_id: snapshot.context_id.clone(),
        reason: reason.clone(),
        admin_id: admin.to_string(),
    };
    let (_, audit) = record(
        ctx,
        admin,
        "CONTENT_DELETE",
        target_type.as_str(),
        id,
        json!({"snapshot": snapshot}),
        json!({"deleted": true, "reason": reason, "removalId": removal.id}),
        Some(&request.0),
    )?;
    ctx.table.transact(vec![shared::outbox::message(ctx, queue, &removal)?, audit]).await?;
    Ok(Accepted(RemovalOrdered { removal_id: removal.id, target_type, target_id: id.to_string() }))
}
