//! Chat's events worker: what other domains publish that chat shows — a listing's new sale
//! status, pushed to everyone in the rooms about the listing — and connections that ended with
//! rooms open, which close those rooms on them (the members see the presence change).

use std::sync::Arc;

use market_contract::SaleStatusChanged;
use serde::{Deserialize, Serialize};
use shared::routes::{Function, Permission, Worker};
use shared::table::{Gsi, Query};
use shared::worker::MessageError;
use shared::{ApiResult, AppContext};

use crate::keys;

/// Events chat subscribes to (a listing's sale status changed, a connection ended), for its
/// events worker.
pub const CHAT_EVENTS: shared::queues::Queue =
    shared::queues::Queue { name: "chat-events", visibility_timeout_secs: 30, max_receive_count: 5 };

pub static EVENTS_WORKER: Function = Function::worker(
    "chat-events-worker",
    crate::PKG,
    Worker {
        name: "chat-events",
        queue: &CHAT_EVENTS,
        batch_size: 10,
        handler: shared::consumer!(handle),
        summary: "Pushes a listing's new sale status to everyone in the rooms about it; closes the rooms an ended connection had open",
        example: r#"{"marketPostId":"01JD3K4Q5R6S7T8V9W0XYZABCD","status":"RESERVED"}"#,
    },
)
.permissions(&[Permission::TableRead, Permission::TableWrite, Permission::ManageConnections])
.subscribes(&[&market_contract::SALE_STATUS, &shared::push::CONNECTION_CLOSED]);

/// What the chat events queue carries.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum ChatEvent {
    SaleStatus(SaleStatusChanged),
    ConnectionClosed(shared::push::ConnectionClosed),
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SaleStatusFrame<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    market_post_id: &'a str,
    status: &'a str,
}

/// Tells everyone in a room about the listing its new status (the push is best effort: the
/// status is stored, and a room read shows it).
pub async fn handle(ctx: Arc<AppContext>, event: ChatEvent) -> Result<(), MessageError> {
    match event {
        ChatEvent::SaleStatus(e) => sale_status(&ctx, e).await,
        ChatEvent::ConnectionClosed(c) => Ok(crate::socket::connection_closed(&ctx, &c).await?),
    }
}

async fn sale_status(ctx: &AppContext, event: SaleStatusChanged) -> Result<(), MessageError> {
    let mut people = members_of_rooms_about(ctx, &event.market_post_id).await?;
    people.sort();
    people.dedup();
    let frame =
        SaleStatusFrame { kind: "market.saleStatus", market_post_id: &event.market_post_id, status: &event.status };
    if let Err(e) = shared::push::to_users(ctx, &people, &frame).await {
        tracing::warn!(error = %e, "a sale status was stored but not pushed");
    }
    Ok(())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RoomMembers {
    member_ids: Vec<String>,
}

/// Everyone in a room about `listing` (one query of GSI1, read to the end).
async fn members_of_rooms_about(ctx: &AppContext, listing: &str) -> ApiResult<Vec<String>> {
    let query = Query::partition(keys::rooms_about_partition(listing)).index(Gsi::Gsi1);
    let items = ctx.table.query_items_all(&query, Some(10_000)).await?;
    let mut out = Vec::new();
    for item in items {
        let r: RoomMembers = serde_dynamo::from_item(item)?;
        out.extend(r.member_ids);
    }
    Ok(out)
}
