//! Accounts as administrators see them: found by email or nickname prefix (indexes, no Scan),
//! filtered by status and role; one account with its counts, the open reports about it and the
//! history of its blocks.

use std::sync::Arc;

use identity_contract::AccountRecord;
use moderation_contract::reports::Report;
use serde::Serialize;
use shared::handler::{Caller, Okay, Params, Path};
use shared::routes::{Access, Function, Method, Permission, enum_param, int_param, param};
use shared::table::{Gsi, Page, Query};
use shared::{ApiError, ApiResult, AppContext, handler};
use utoipa::ToSchema;

use crate::PKG;
use crate::audit::Record;
use crate::error::AdminError;
use crate::keys;

pub static LIST: Function =
    Function::http(Method::Get, "/admin/users", "admin-users-list", PKG, Access::Admin, handler!(list))
        .permissions(&[Permission::TableRead])
        .doc("admin", "Find accounts by email or nickname prefix, of a status or role")
        .query(&[
            param("q", false, "an email (exact) or the start of a nickname"),
            enum_param(
                "status",
                false,
                "only accounts in this status",
                &["PENDING_VERIFICATION", "ACTIVE", "WITHDRAWN", "DEACTIVATED"],
            ),
            enum_param("role", false, "only accounts with this role", &["USER", "ADVERTISER", "ADMIN"]),
            param("cursor", false, "from nextCursor"),
            int_param("limit", false, "page size, default 20", 1, 100),
        ]);

pub static GET: Function =
    Function::http(Method::Get, "/admin/users/{id}", "admin-users-get", PKG, Access::Admin, handler!(get))
        .permissions(&[Permission::TableRead])
        .doc("admin", "One account: its counts, the open reports about it and its block history")
        .errors(&[404])
        .reads_with_session(the_account);

/// The account named in the path, read with the administrator's session.
fn the_account(path: &std::collections::HashMap<String, String>, _caller: &str) -> Vec<shared::table::Key> {
    shared::routes::id_param(path, "id").map(shared::keys::user_key).into_iter().collect()
}

pub async fn list(ctx: Arc<AppContext>, _admin: Caller, params: Params) -> ApiResult<Okay<Page<AccountRecord>>> {
    let status = params.raw("status").map(str::to_string);
    let role = params.raw("role").map(str::to_string);
    for (name, value, allowed) in [
        ("status", &status, &["PENDING_VERIFICATION", "ACTIVE", "WITHDRAWN", "DEACTIVATED"][..]),
        ("role", &role, &["USER", "ADVERTISER", "ADMIN"][..]),
    ] {
        if value.as_deref().is_some_and(|v| !allowed.contains(&v)) {
            return Err(ApiError::validation(name, "INVALID", allowed.join(", ")));
        }
    }
    let limit = params.limit(20, 100)?;
    let cursor = params.get("cursor").map(str::to_string);
    let q = params.get("q").map(|q| q.trim().to_lowercase()).filter(|q| !q.is_empty());
    let page = match q.as_deref() {
        Some(email) if email.contains('@') => {
            let ids = identity_contract::user_by_email(&ctx, email).await?.into_iter().collect();
            Page { items: ids, next_cursor: None }
        }
        prefix => identity_contract::account_ids(&ctx, prefix, limit, cursor).await?,
    };
    let records = identity_contract::account_records(&ctx, &page.items).await?;
    let wanted = |r: &AccountRecord| {
        status.as_deref().is_none_or(|s| name(&r.status) == s) && role.as_deref().is_none_or(|x| name(&r.role) == x)
    };
    let items = records.into_iter().filter(wanted).collect();
    Ok(Okay(Page { items, next_cursor: page.next_cursor }))
}

/// An enum's name as the API writes it (`ACTIVE`, `ADMIN`).
fn name<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

/// One account in full, for moderation.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountDetail {
    pub account: AccountRecord,
    /// Open reports about the account or its content, newest first.
    pub open_reports: Vec<Report>,
    /// Blocks, unblocks, role changes and administrators' edits, newest first.
    pub block_history: Vec<Record>,
}

pub async fn get(ctx: Arc<AppContext>, _admin: Caller, Path(id): Path<String>) -> ApiResult<Okay<AccountDetail>> {
    let account = identity_contract::account_records(&ctx, std::slice::from_ref(&id))
        .await?
        .into_iter()
        .next()
        .ok_or(AdminError::UserNotFound)?;
    let history = Query::partition(keys::on_target_partition(&id)).index(Gsi::Gsi3).newest_first().limit(100);
    let (reports, records) = futures::try_join!(
        moderation_contract::reports::open_reports_against(&ctx, &id),
        ctx.table.query::<Record>(&history)
    )?;
    let block_history = records.items.into_iter().filter(|r| r.action.starts_with("USER_")).collect();
    Ok(Okay(AccountDetail { account, open_reports: reports, block_history }))
}
