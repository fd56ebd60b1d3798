//! The market's public surface: a listing as a chat room about it shows it, and the counter of
//! rooms opened about a listing.

pub mod keys;

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use shared::table::{Key, Write, n};
use shared::{ApiResult, AppContext};
use utoipa::ToSchema;

/// A listing's photo.
pub const LISTING_PHOTO: shared::media::Purpose =
    shared::media::Purpose { name: "market", types: &[shared::media::IMAGES], max_bytes: 10 * shared::media::MB };

/// Listings a moderator removed, for the market to take down as their seller would.
pub const MARKET_REMOVALS: shared::queues::Queue =
    shared::queues::Queue { name: "market-removals", visibility_timeout_secs: 60, max_receive_count: 5 };

/// A listing as a room about it shows it.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ListingSummary {
    pub id: String,
    #[serde(skip)]
    pub seller_id: String,
    pub title: String,
    pub thumbnail_url: Option<String>,
    pub price: i64,
    /// `SALE`, `RESERVED` or `SOLD`.
    pub status: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListingItem {
    id: String,
    seller_id: String,
    title: String,
    price: i64,
    status: String,
    #[serde(default)]
    image_keys: Vec<String>,
    #[serde(default)]
    deleted: bool,
}

/// Summaries of the listings `ids` that exist and are not deleted (one batch read).
pub async fn summaries(ctx: &AppContext, ids: &[String]) -> ApiResult<HashMap<String, ListingSummary>> {
    summaries_from(ctx, ctx.table.batch_get_items(&summary_keys(ids)).await?).await
}

/// The items [`summaries_from`] needs, for a caller that reads them in its own batch
/// (`Table::batch_get_groups`).
pub fn summary_keys(ids: &[String]) -> Vec<Key> {
    ids.iter().filter(|id| shared::ids::is_valid_id(id)).map(|id| keys::listing_key(id)).collect()
}

/// The summaries in the items read at [`summary_keys`].
pub async fn summaries_from(
    ctx: &AppContext,
    items: Vec<Option<shared::table::Item>>,
) -> ApiResult<HashMap<String, ListingSummary>> {
    let mut out = HashMap::new();
    for item in items.into_iter().flatten() {
        let l: ListingItem = serde_dynamo::from_item(item)?;
        if l.deleted {
            continue;
        }
        let thumbnail_url = match l.image_keys.first() {
            Some(k) => Some(shared::media::url(ctx, k).await?),
            None => None,
        };
        out.insert(
            l.id.clone(),
            ListingSummary {
                id: l.id,
                seller_id: l.seller_id,
                title: l.title,
                thumbnail_url,
                price: l.price,
                status: l.status,
            },
        );
    }
    Ok(out)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListingText {
    seller_id: String,
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    image_keys: Vec<String>,
    #[serde(default)]
    deleted: bool,
}

/// The write that records (`true`) or withdraws (`false`) the seller's approval of `buyer`'s
/// purchase of `listing`. Chat commits it with the approval in the buyer's room, and withdraws
/// it when the buyer leaves that room; a payment holds to it in its own transaction.
pub fn purchase_approval(listing: &str, buyer: &str, approved: bool) -> shared::table::Write {
    let key = keys::approval_key(listing, buyer);
    if !approved {
        return shared::table::Write::delete(key);
    }
    let mut item = key.to_item();
    item.insert(shared::table::ENTITY_TYPE.into(), shared::table::s("PurchaseApproval"));
    item.insert("buyerId".into(), shared::table::s(buyer));
    shared::table::Write::put_item(item)
}

/// A listing's sale status changed through a payment (reserved, for sale again, sold): for
/// whoever shows it, such as the chat rooms about the listing.
pub static SALE_STATUS: shared::events::Topic =
    shared::events::Topic { name: "market.sale-status", summary: "A listing's sale status changed through a payment" };

/// What [`SALE_STATUS`] carries.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SaleStatusChanged {
    pub market_post_id: String,
    /// `SALE`, `RESERVED` or `SOLD`.
    pub status: String,
}

/// The market's content that can be reported and removed.
pub const REPORTABLE: &[moderation_contract::moderation::Reportable] = &[moderation_contract::moderation::Reportable {
    target_type: moderation_contract::moderation::TargetType::MarketPost,
    snapshot: |ctx, t| Box::pin(listing_snapshot(ctx, t.id)),
    removals: Some(&MARKET_REMOVALS),
}];

/// Listing `id` as it reads now (seller, title and description, photos), if it is listed.
pub async fn listing_snapshot(
    ctx: &AppContext,
    id: &str,
) -> ApiResult<Option<moderation_contract::moderation::Snapshot>> {
    if !shared::ids::is_valid_id(id) {
        return Ok(None);
    }
    let Some(item) = ctx.table.get_item(&keys::listing_key(id)).await? else { return Ok(None) };
    let l: ListingText = serde_dynamo::from_item(item)?;
    Ok((!l.deleted).then(|| moderation_contract::moderation::Snapshot {
        author_id: l.seller_id,
        text: format!("{}\n{}", l.title, l.description),
        media_keys: l.image_keys,
        context_id: None,
    }))
}

/// The write that counts a chat room opened about `listing` (it must still be listed).
pub fn room_opened(listing: &str, on_missing: impl Into<shared::ApiError>) -> Write {
    Write::update(keys::listing_key(listing), "ADD chatRoomCount :one")
        .value(":one", n(1))
        .value(":no", shared::table::b(false))
        .when("attribute_exists(PK) AND deleted = :no", on_missing)
}

/// What the stream counts on a listing ([`shared::counters`]): its wishes. Administration's
/// `stream-counters` applies it.
pub const WISHES_COUNTED: shared::counters::Counted = shared::counters::Counted {
    sort_prefix: keys::WISHES,
    counts: |k| {
        keys::listing_of(k).map(|l| shared::counters::Count::one(keys::listing_key(l), "wishCount")).unwrap_or_default()
    },
    removals: true,
    creates: false,
};
