//! The audit trail: who did what to which target, before and after, when, in which request.
//! Records are written in the same transaction as the action; the API only lists them.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shared::handler::{Caller, Okay, Params};
use shared::http::PageRequest;
use shared::routes::{Access, Function, Method, Permission, int_param, param};
use shared::table::{Entity, Gsi, Page, Query, Write};
use shared::{ApiError, ApiResult, AppContext, handler};
use utoipa::ToSchema;

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

/// One administrative action.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    pub id: String,
    /// The administrator, or `SYSTEM` for the scheduled jobs.
    pub actor_id: String,
    /// `USER_BLOCK`, `USER_UNBLOCK`, `USER_AUTO_UNBLOCK`, …
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    #[schema(value_type = Object)]
    pub before: serde_json::Value,
    #[schema(value_type = Object)]
    pub after: serde_json::Value,
    pub request_id: Option<String>,
    pub at: DateTime<Utc>,
}

impl Entity for Record {
    const TYPE: &'static str = "AuditRecord";
    fn pk(&self) -> String {
        keys::record_key(&self.id).pk
    }
    fn sk(&self) -> String {
        keys::record_key(&self.id).sk
    }
    fn index_keys(&self) -> Vec<(Gsi, String, String)> {
        vec![
            (Gsi::Gsi1, keys::ALL_RECORDS.into(), self.id.clone()),
            (Gsi::Gsi2, keys::by_actor_partition(&self.actor_id), self.id.clone()),
            (Gsi::Gsi3, keys::on_target_partition(&self.target_id), self.id.clone()),
        ]
    }
}

/// The write that records an action (in the action's own transaction; never overwritten).
#[allow(clippy::too_many_arguments)]
pub fn record(
    ctx: &AppContext,
    actor: &str,
    action: &str,
    target_type: &str,
    target_id: &str,
    before: serde_json::Value,
    after: serde_json::Value,
    request_id: Option<&str>,
) -> ApiResult<(Record, Write)> {
    let now = ctx.now();
    let r = Record {
        id: shared::ids::new_id(now),
        actor_id: actor.into(),
        action: action.into(),
        target_type: target_type.into(),
        target_id: target_id.into(),
        before,
        after,
        request_id: request_id.map(str::to_string),
        at: now,
    };
    let w = Write::put(&r)?.if_absent(ApiError::internal("audit record id collision"));
    Ok((r, w))
}

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
