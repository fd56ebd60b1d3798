//! Chat's events worker: what other domains publish that chat shows — a listing's new sale
//! status, pushed to everyone in the rooms about the listing — connections that ended with
//! rooms open, which close those rooms on them (the members see the presence change), and chat's
//! own messages, whose members not in the room are handed to the notifications worker.

use std::sync::Arc;

use market_contract::SaleStatusChanged;
use serde::{Deserialize, Serialize};
use shared::routes::{Function, Permission, Worker};
use shared::table::{Gsi, Query, SortKey};
use shared::worker::MessageError;
use shared::{ApiResult, AppContext};

use crate::keys;
use crate::model::same_notice_window;

pub use crate::model::{CHAT_EVENTS, MessageSent};

pub static EVENTS_WORKER: Function = Function::worker(
    "chat-events-worker",
    crate::PKG,
    Worker {
        name: "chat-events",
        queue: &CHAT_EVENTS,
        batch_size: 10,
        handler: shared::consumer!(handle),
        summary: "Pushes a listing's new sale status to everyone in the rooms about it; closes the rooms an ended connection had open; has members not in a room notified of its messages",
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
    MessageSent(MessageSent),
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
        ChatEvent::MessageSent(m) => Ok(notify_absent(&ctx, m).await?),
    }
}

/// Hands the members of the room who are not in it, and have not read the message, to the
/// notifications worker (a message delivered twice is told twice, which it takes as once).
async fn notify_absent(ctx: &AppContext, m: MessageSent) -> ApiResult<()> {
    let Some(room) = ctx.table.get::<crate::model::Room>(&keys::room_key(&m.room_id)).await? else { return Ok(()) };
    if covered(ctx, &m, &room).await? {
        return Ok(());
    }
    let recipients = absentees(ctx, &room, &m.sender_id, m.seq).await?;
    if recipients.is_empty() {
        return Ok(());
    }
    let notice = notifications_contract::ChatNotice {
        room_id: m.room_id,
        message_id: m.message_id,
        seq: m.seq,
        sender_id: m.sender_id,
        excerpt: m.excerpt,
        recipients,
    };
    ctx.table.write(notifications_contract::chat_notice(ctx, &notice)?).await
}

/// Whether a later message of a member, in the same window, is in the room already: its own event
/// tells whoever is still away (with their count to it), and whoever came back or sent it needs
/// no word of this one. A burst, or a long conversation, in a busy room is told once a window,
/// not once a message. A room that has moved on to a later window is asked for the message after
/// this one (one query, once a window): the last of a window tells.
async fn covered(ctx: &AppContext, m: &MessageSent, room: &crate::model::Room) -> ApiResult<bool> {
    let (Some(last), Some(at)) = (room.last_message.as_ref(), m.sent_at) else { return Ok(false) };
    if room.count <= m.seq || last.sender_id.is_empty() {
        return Ok(false);
    }
    if same_notice_window(at, last.sent_at) {
        return Ok(true);
    }
    let (from, to) = keys::messages_after(&m.message_id);
    let next = Query::partition(keys::room_partition(&room.id)).sort(SortKey::Between(from, to)).limit(1);
    let next = ctx.table.query::<crate::model::Message>(&next).await?.items.into_iter().next();
    Ok(next.is_some_and(|n| !n.sender_id.is_empty() && same_notice_window(at, n.sent_at)))
}

/// The members of `room` besides `sender` who are not in it (no live connection of theirs has
/// it open) and have not read message `seq`: its members and their connections in one batch
/// read.
async fn absentees(
    ctx: &AppContext,
    room: &crate::model::Room,
    sender: &str,
    seq: i64,
) -> ApiResult<Vec<notifications_contract::ChatRecipient>> {
    let others: Vec<String> = room.member_ids.iter().filter(|u| *u != sender).cloned().collect();
    let members: Vec<_> = others.iter().map(|u| keys::member_key(&room.id, u)).collect();
    let [found, listed] = ctx.table.batch_get_groups([&members, &shared::push::connections_keys(&others)]).await?;
    let members = crate::delivery::members_from(found)?;
    let mut out = Vec::new();
    for (user, live) in shared::push::connections_from(ctx, &others, &listed) {
        let Some(m) = members.get(&user) else { continue };
        if m.read_count < seq && !m.open.iter().any(|c| live.contains(c)) {
            out.push(notifications_contract::ChatRecipient { user_id: user, unread: seq - m.read_count });
        }
    }
    Ok(out)
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
