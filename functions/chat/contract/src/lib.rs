//! Chat's public surface for the market: whether the seller let a buyer pay (in the buyer's room
//! about the listing), and who is in the rooms about a listing (to tell them its sale status);
//! for moderation, what a message said.

pub mod keys;

use serde::Deserialize;
use shared::table::{AttrValue, Gsi, Query};
use shared::{ApiResult, AppContext};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RoomItem {
    id: String,
    member_ids: Vec<String>,
    #[serde(default)]
    purchase_approved: bool,
}

/// Whether the seller of `listing` lets `buyer` pay for it now: the buyer's room about the
/// listing exists, the buyer is still in it, and the approval stands. Two key reads.
pub async fn purchase_approved(ctx: &AppContext, listing: &str, buyer: &str) -> ApiResult<bool> {
    let Some(claim) = ctx.table.get_item(&keys::listing_room_key(listing, buyer)).await? else { return Ok(false) };
    let Some(AttrValue::S(room)) = claim.get("roomId") else { return Ok(false) };
    let Some(item) = ctx.table.get_item(&keys::room_key(room)).await? else { return Ok(false) };
    let room: RoomItem = serde_dynamo::from_item(item)?;
    Ok(room.purchase_approved && room.member_ids.iter().any(|m| m == buyer))
}

/// The condition checks that hold a purchase to the seller's approval as it is when the
/// payment commits: the buyer's room about the listing still approves it and still has the
/// buyer as a member (the room item and the member item), checked in the payment's own
/// transaction, so that a withdrawal or a leave racing the payment wins or loses whole.
/// `None` when there is no such room (no approval to hold to).
pub async fn purchase_approval_checks<E>(
    ctx: &AppContext,
    listing: &str,
    buyer: &str,
    on_fail: E,
) -> ApiResult<Option<[shared::table::Write; 2]>>
where
    E: Into<shared::ApiError> + Clone,
{
    let Some(claim) = ctx.table.get_item(&keys::listing_room_key(listing, buyer)).await? else { return Ok(None) };
    let Some(AttrValue::S(room)) = claim.get("roomId") else { return Ok(None) };
    Ok(Some([
        shared::table::Write::check(keys::room_key(room), "purchaseApproved = :yes", on_fail.clone())
            .value(":yes", shared::table::b(true)),
        shared::table::Write::check(keys::member_key(room, buyer), "attribute_exists(PK)", on_fail),
    ]))
}

/// A room about a listing and its members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomAbout {
    pub room_id: String,
    pub member_ids: Vec<String>,
}

/// Every room about `listing` with its members (one query of GSI1, read to the end).
pub async fn rooms_about(ctx: &AppContext, listing: &str) -> ApiResult<Vec<RoomAbout>> {
    let query = Query::partition(keys::rooms_about_partition(listing)).index(Gsi::Gsi1);
    let items = ctx.table.query_items_all(&query, Some(10_000)).await?;
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let r: RoomItem = serde_dynamo::from_item(item)?;
        out.push(RoomAbout { room_id: r.id, member_ids: r.member_ids });
    }
    Ok(out)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct MessageItem {
    sender_id: String,
    #[serde(default)]
    content: String,
    #[serde(default)]
    media_key: Option<String>,
    #[serde(default)]
    deleted: bool,
}

/// Chat's content that can be reported and removed: a message, found through its room.
pub const REPORTABLE: &[moderation_contract::moderation::Reportable] = &[moderation_contract::moderation::Reportable {
    target_type: moderation_contract::moderation::TargetType::ChatMessage,
    snapshot: |ctx, t| Box::pin(message_snapshot(ctx, t.context_id.unwrap_or_default(), t.id, t.asker)),
    removals: Some(&shared::queues::CHAT_REMOVALS),
}];

/// Message `id` of `room` as it reads now, if `reader` is in the room (only what one saw can be
/// reported; a moderator, `None`, reads any) and the message is there. Two key reads, together.
pub async fn message_snapshot(
    ctx: &AppContext,
    room: &str,
    id: &str,
    reader: Option<&str>,
) -> ApiResult<Option<moderation_contract::moderation::Snapshot>> {
    if !shared::ids::is_valid_id(room) || !shared::ids::is_valid_id(id) {
        return Ok(None);
    }
    let mut found = ctx.table.batch_get_items(&[keys::room_key(room), keys::message_key(room, id)]).await?;
    let (Some(message), Some(room_item)) = (found.pop().flatten(), found.pop().flatten()) else { return Ok(None) };
    let r: RoomItem = serde_dynamo::from_item(room_item)?;
    let m: MessageItem = serde_dynamo::from_item(message)?;
    if m.deleted || reader.is_some_and(|reader| !r.member_ids.iter().any(|u| u == reader)) {
        return Ok(None);
    }
    Ok(Some(moderation_contract::moderation::Snapshot {
        author_id: m.sender_id,
        text: m.content,
        media_keys: m.media_key.into_iter().collect(),
        context_id: Some(room.to_string()),
    }))
}
