//! How a message reaches a room and its members: the room's update that gives the message its
//! sequence number, then, once it commits, one frame to every member's connections (the message
//! and that member's unread count), and read positions for members who have the room open.

use std::collections::HashMap;

use futures::future::join_all;

use serde::Serialize;
use shared::error::Tolerate;
use shared::table::{Key, Write, n, s};
use shared::{ApiError, ApiResult, AppContext};

use crate::error::ChatError;
use crate::keys;
use crate::model::{Member, Message, MessageView, Room, RoomView};

/// What a system message changes in its room besides its sequence number.
#[derive(Debug, Clone, Default)]
pub struct RoomChange {
    /// The room's members from now on.
    pub members: Vec<String>,
    /// A room about a listing no longer lets its buyer pay.
    pub withdraw_approval: bool,
}

/// The room's update for a new message: the next sequence number, only if no other message took
/// it first; with `change`, the room's new member list (and approval) too (one update per item
/// and transaction).
pub fn advance_room(room: &Room, message: &Message, change: Option<&RoomChange>) -> ApiResult<Write> {
    let last = serde_dynamo::to_attribute_value(message.last())?;
    let mut set = "SET #c = :next, lastMessage = :last, updatedAt = :now".to_string();
    if let Some(c) = change {
        set.push_str(", memberIds = :members");
        if c.withdraw_approval {
            set.push_str(", purchaseApproved = :no");
        }
    }
    let mut w = Write::update(keys::room_key(&room.id), set);
    if let Some(c) = change {
        w = w.value(":members", serde_dynamo::to_attribute_value(&c.members)?);
        if c.withdraw_approval {
            w = w.value(":no", shared::table::b(false));
        }
    }
    Ok(w.name("#c", "count")
        .value(":next", n(message.seq))
        .value(":seen", n(room.count))
        .value(":last", last)
        .value(":now", s(message.sent_at.to_rfc3339()))
        .when("#c = :seen", ChatError::RoomMoved)
        // The loser of a race for the number reads the winner's room from the failure.
        .seeing())
}

/// Whether a message that did not get its room's next number tries again, after what: a failed
/// condition showed the room as the winner left it (the next read of it costs nothing), so it
/// goes at once; a transaction still in flight on the room is waited out for a few milliseconds
/// ([`crate::model::sequence_pause`]), not with the table's pauses of 20 ms and more. Any other
/// error is the answer.
pub async fn try_again(e: ApiError, attempt: u32) -> ApiResult<()> {
    if e.is(&ChatError::RoomMoved) {
        return Ok(());
    }
    if e.is(&shared::table::TableError::Contended) {
        tokio::time::sleep(crate::model::sequence_pause(attempt)).await;
        return Ok(());
    }
    Err(e)
}

/// After a message: members with the room open have read it; every member's connections get
/// it, with that member's unread count in the room (their room-list entry follows from it). One
/// frame a connection: pushes are best effort, the room is the record.
pub async fn announce(ctx: &AppContext, room: &Room, message: &Message) {
    if let Err(e) = try_announce(ctx, room, message).await {
        tracing::warn!(error = %e, room = %room.id, "a message was stored but not pushed to everyone");
    }
}

async fn try_announce(ctx: &AppContext, room: &Room, message: &Message) -> ApiResult<()> {
    // Read once and together, in one batch (a call per hundred keys): who is connected and where
    // each member has read to.
    let (listed, member_keys) = (shared::push::connections_keys(&room.member_ids), member_keys(room));
    let ([listed, found], view) =
        tokio::try_join!(ctx.table.batch_get_groups([&listed, &member_keys]), MessageView::of(ctx, message))?;
    let connections = shared::push::connections_from(ctx, &room.member_ids, &listed);
    let members = members_from(found)?;
    // A member with the room open on a live connection has read the message.
    let reading: Vec<&str> = connections
        .iter()
        .filter(|(user, _)| *user != message.sender_id)
        .filter(|(user, live)| members.get(user).is_some_and(|m| m.open.iter().any(|c| live.contains(c))))
        .map(|(user, _)| user.as_str())
        .collect();
    let unread = |user: &str| {
        if reading.contains(&user) {
            return 0;
        }
        let read = members.get(user).map_or(message.seq, |m| m.read_count);
        (message.seq - read).max(0)
    };
    let frames = connections.iter().filter(|(_, c)| !c.is_empty()).map(|(user, c)| {
        let frame =
            MessageFrame { kind: "chat.message", room_id: &room.id, message: &view, unread_count: unread(user) };
        async move { shared::push::to_connections(ctx, c, &frame).await }
    });
    let moved = reading.iter().map(|u| move_read_position(ctx, &room.id, u, message));
    let (frames, moved) = tokio::join!(join_all(frames), join_all(moved));
    for r in frames {
        r?;
    }
    let mut readers = Vec::new();
    for (user, r) in reading.iter().zip(moved) {
        if r? {
            readers.push(*user);
        }
    }
    // The sender sees at once who read it with the room open (as `read` tells for the others),
    // in rooms small enough for a receipt a reader to mean something.
    let senders: Vec<String> = connections
        .iter()
        .filter(|(user, _)| *user == message.sender_id)
        .flat_map(|(_, c)| c.iter().cloned())
        .collect();
    if !senders.is_empty() && room.member_ids.len() <= LIVE_RECEIPTS_UP_TO {
        for reader in readers {
            let frame = ReceiptFrame { kind: "chat.read", room_id: &room.id, user_id: reader, message_id: &message.id };
            shared::push::to_connections(ctx, &senders, &frame).await?;
        }
    }
    Ok(())
}

/// Rooms of at most this many members tell a sender each member who read a message live.
pub const LIVE_RECEIPTS_UP_TO: usize = 20;

/// A member read up to a message (the same frame `read` pushes).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReceiptFrame<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    room_id: &'a str,
    user_id: &'a str,
    message_id: &'a str,
}

/// The keys of a room's member items.
pub fn member_keys(room: &Room) -> Vec<Key> {
    room.member_ids.iter().map(|u| keys::member_key(&room.id, u)).collect()
}

/// The members found at [`member_keys`], by user.
pub fn members_from(items: Vec<Option<shared::table::Item>>) -> ApiResult<HashMap<String, Member>> {
    let mut members = HashMap::new();
    for item in items.into_iter().flatten() {
        let m: Member = serde_dynamo::from_item(item)?;
        members.insert(m.user_id.clone(), m);
    }
    Ok(members)
}

/// Moves `user`'s read position forward to `message` (never back).
pub async fn move_read_position(ctx: &AppContext, room: &str, user: &str, message: &Message) -> ApiResult<bool> {
    move_read_position_with(ctx, room, user, message, None).await
}

/// The same, with the write `also` makes in the same transaction (or alone, when the position
/// was there already).
pub async fn move_read_position_with(
    ctx: &AppContext,
    room: &str,
    user: &str,
    message: &Message,
    also: Option<&(dyn Fn() -> ApiResult<Write> + Sync)>,
) -> ApiResult<bool> {
    let w = Write::update(keys::member_key(room, user), "SET readCount = :c, lastReadMessageId = :m")
        .value(":c", n(message.seq))
        .value(":m", s(&message.id))
        .when("attribute_exists(PK) AND (attribute_not_exists(readCount) OR readCount < :c)", ChatError::AlreadyMember);
    let Some(also) = also else { return Ok(ctx.table.write(w).await.tolerate(&ChatError::AlreadyMember)?.is_some()) };
    match ctx.table.transact(vec![w, also()?]).await {
        Ok(()) => Ok(true),
        Err(e) if e.is(&ChatError::AlreadyMember) => {
            ctx.table.write(also()?).await?;
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageFrame<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub room_id: &'a str,
    pub message: &'a MessageView,
    /// The receiving member's unread messages in the room, this one included unless read.
    pub unread_count: i64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RoomFrame<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub room: &'a RoomView,
}
