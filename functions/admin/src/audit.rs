//! The audit trail: who did what to which target, before and after, when, in which request.
//! Records are written in the same transaction as the action; the API only lists them.

use std::sync::Arc;

use shared::handler::{Caller, Okay, Params};
use shared::http::PageRequest;
use shared::routes::{Access, Function, Method, Permission, int_param, param};
use shared::table::{Gsi, Page, Query};
use shared::{ApiResult, AppContext, handler};

use crate::PKG;
use crate::keys;

pub static LIST: Function =
    Function::http(Method::Get, "/admin/audit", "admin-audit", PKG, Access::Admin, handler!(list))
        .permissions(&[Permission::TableRead])
        .doc("admin", "The audit trail, newest first: everything, one administrator's actions, or one target's")
        .query(&[
            param("actorId", false, "only this administrator's actions"),
            param("targetId", false, "only actions on this target"),
            param("cursor", false, "from nextCursor"),
            int_param("limit", false, "page size, default 20", 1, 100),
        ]);

pub use moderation_contract::trail::{Record, record};

pub async fn list(ctx: Arc<AppContext>, _admin: Caller, params: Params) -> ApiResult<Okay<Page<Record>>> {
    let query = match (params.get("actorId"), params.get("targetId")) {
        (Some(a), _) => Query::partition(keys::by_actor_partition(a)).index(Gsi::Gsi2),
        (None, Some(t)) => Query::partition(keys::on_target_partition(t)).index(Gsi::Gsi3),
        (None, None) => Query::partition(keys::ALL_RECORDS).index(Gsi::Gsi1),
    };
    let mut page = ctx.table.query::<Record>(&query.newest_first().paged(&params, 20, 100)?).await?;
    // Both filters: the actor's records on the target.
    if let (Some(_), Some(t)) = (params.get("actorId"), params.get("targetId")) {
        page.items.retain(|r| r.target_id == t);
    }
    Ok(Okay(page))
}
