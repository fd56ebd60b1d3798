//! The administrators' view of the market: listings filtered by status, by seller, or by open
//! reports, newest first, with what a moderator needs beside each (the seller, the counts, the
//! open reports).
//!
//! Without `reported`, one query: the seller's index partition (`sellerId`) or every listing's;
//! a `status` filter applies within each page (pages may be short; follow `nextCursor`). With
//! `reported=true`, the open reports (newest first, the latest 500) name the listings, which are
//! read in one batch: at most 100, no further page.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;
use shared::handler::{Okay, Params};
use shared::http::PageRequest;
use shared::routes::{Access, Function, Method, Permission, enum_param, int_param, param};
use shared::table::{Entity, Gsi, Page, Query};
use shared::{ApiError, ApiResult, AppContext, handler};
use utoipa::ToSchema;

use crate::PKG;
use crate::keys;
use crate::model::{Category, Listing, Status};

pub static LISTINGS: Function =
    Function::http(Method::Get, "/admin/market/posts", "market-admin-posts", PKG, Access::Admin, handler!(listings))
        .permissions(&[Permission::TableRead])
        .doc("admin", "Market listings for moderators, newest first: by status, by seller, or those with open reports")
        .query(&[
            enum_param("status", false, "only this sale status", &["SALE", "RESERVED", "SOLD"]),
            param("sellerId", false, "only this seller's listings"),
            enum_param("reported", false, "true: only listings with open reports (the latest 100)", &["true", "false"]),
            param("cursor", false, "from nextCursor"),
            int_param("limit", false, "page size, default 20", 1, 50),
        ]);

/// A listing as moderators see it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdminListing {
    pub id: String,
    pub seller_id: String,
    pub title: String,
    pub price: i64,
    pub category: Category,
    pub status: Status,
    pub wish_count: i64,
    pub chat_room_count: i64,
    /// Open reports on it (with `reported=true`; otherwise not counted: null).
    pub open_reports: Option<u32>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn view(l: Listing, open_reports: Option<u32>) -> AdminListing {
    AdminListing {
        id: l.id,
        seller_id: l.seller_id,
        title: l.title,
        price: l.price,
        category: l.category,
        status: l.status,
        wish_count: l.wish_count,
        chat_room_count: l.chat_room_count,
        open_reports,
        created_at: l.created_at,
        updated_at: l.updated_at,
    }
}

fn status_of(params: &Params) -> ApiResult<Option<Status>> {
    match params.get("status") {
        None => Ok(None),
        Some("SALE") => Ok(Some(Status::Sale)),
        Some("RESERVED") => Ok(Some(Status::Reserved)),
        Some("SOLD") => Ok(Some(Status::Sold)),
        Some(_) => Err(ApiError::validation("status", "ONE_OF", "SALE, RESERVED or SOLD")),
    }
}

pub async fn listings(ctx: Arc<AppContext>, params: Params) -> ApiResult<Okay<Page<AdminListing>>> {
    let status = status_of(&params)?;
    let seller = params.get("sellerId").map(str::to_string);
    if seller.as_deref().is_some_and(|s| !shared::ids::is_valid_id(s)) {
        return Err(ApiError::validation("sellerId", "INVALID_FORMAT", "a user id"));
    }
    let keep = |l: &Listing| {
        !l.deleted && status.is_none_or(|s| l.status == s) && seller.as_deref().is_none_or(|s| l.seller_id == s)
    };
    match params.get("reported") {
        Some("true") => {}
        None | Some("false") => {
            let query = match &seller {
                Some(s) => Query::partition(keys::seller_partition(s)).index(Gsi::Gsi2),
                None => Query::partition(keys::ALL_LISTINGS).index(Gsi::Gsi1),
            };
            let page = ctx.table.query::<Listing>(&query.newest_first().paged(&params, 20, 50)?).await?;
            let items = page.items.into_iter().filter(|l| keep(l)).map(|l| view(l, None)).collect();
            return Ok(Okay(Page { items, next_cursor: page.next_cursor }));
        }
        Some(_) => return Err(ApiError::validation("reported", "ONE_OF", "true or false")),
    }
    // The listings the open reports name, newest report first, with how many each has.
    let open = moderation_contract::reports::with_status(moderation_contract::reports::ReportStatus::Open);
    let mut order: Vec<String> = Vec::new();
    let mut counts: HashMap<String, u32> = HashMap::new();
    for item in ctx.table.query_items_all(&open, Some(500)).await? {
        let r = moderation_contract::reports::Report::from_item(item)?;
        if r.target_type != moderation_contract::moderation::TargetType::MarketPost
            || !shared::ids::is_valid_id(&r.target_id)
        {
            continue;
        }
        let n = counts.entry(r.target_id.clone()).or_insert(0);
        if *n == 0 {
            order.push(r.target_id);
        }
        *n += 1;
    }
    order.truncate(100);
    let found =
        ctx.table.batch_get::<Listing>(&order.iter().map(|id| keys::listing_key(id)).collect::<Vec<_>>()).await?;
    let items = found
        .into_iter()
        .flatten()
        .filter(|l| keep(l))
        .map(|l| {
            let n = counts.get(&l.id).copied();
            view(l, n)
        })
        .collect();
    Ok(Okay(Page { items, next_cursor: None }))
}
