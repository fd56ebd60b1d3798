//! How a message reaches a room and its members: the room's update that gives the message its
//! sequence number, then, once it commits, the frame to every member's connections, read
//! positions for members who have the room open, and each member's room-list entry.

use std::collections::HashMap;

use futures::future::join_all;

use serde::Serialize;
use shared::error::Tolerate;
use shared::table::{Key, Write, n, s};
use shared::{ApiResult, AppContext};

use crate::error::ChatError;
use crate::keys;
use crate::model::{Member, Message, MessageView, Room, RoomView};
use crate::views::{listings_of, room_view_with};

/// The room's update for a new message: the next sequence number, only if no other message took
/// it first; with `members`, the room's new member list too (one update per item and transaction).
pub fn advance_room(room: &Room, message: &Message, members: Option<&[String]>) -> ApiResult<Write> {
    let last = serde_dynamo::to_attribute_value(message.last())?;
    let mut set = "SET #c = :next, lastMessage = :last, updatedAt = :now".to_string();
    if members.is_some() {
        set.push_str(", memberIds = :members");
    }
    let mut w = Write::update(keys::room_key(&room.id), set);
    if let Some(m) = members {
        w = w.value(":members", serde_dynamo::to_attribute_value(m)?);
    }
    Ok(w.name("#c", "count")
        .value(":next", n(message.seq))
        .value(":seen", n(room.count))
        .value(":last", last)
        .value(":now", s(message.sent_at.to_rfc3339()))
        .when("#c = :seen", ChatError::RoomMoved))
}

/// After a message: members with the room open have read it; every member's connections get it
/// and their room-list entry. Pushes are best effort: the room is the record.
pub async fn announce(ctx: &AppContext, room: &Room, message: &Message) {
    if let Err(e) = try_announce(ctx, room, message).await {
        tracing::warn!(error = %e, room = %room.id, "a message was stored but not pushed to everyone");
    }
}

async fn try_announce(ctx: &AppContext, room: &Room, message: &Message) -> ApiResult<()> {
    // Everything the two frames need, read once and together: who is connected (one batch for
    // the whole room), the members' read positions, the people and listing the room list shows.
    let rooms = [room];
    let (connections, mut members, people, listings, view) = tokio::try_join!(
        shared::push::connections_of_users(ctx, &room.member_ids),
        members_of(ctx, room),
        identity_contract::people(ctx, &room.member_ids),
        listings_of(ctx, &rooms),
        MessageView::of(ctx, message),
    )?;
    let everyone: Vec<String> = connections.iter().flat_map(|(_, c)| c.iter().cloned()).collect();
    let frame = MessageFrame { kind: "chat.message", room_id: &room.id, message: &view };
    shared::push::to_connections(ctx, &everyone, &frame).await?;
    // A member with the room open on a live connection has read the message.
    let live: HashMap<&str, &[String]> = connections.iter().map(|(u, c)| (u.as_str(), c.as_slice())).collect();
    let reading: Vec<String> = members
        .values()
        .filter(|m| m.user_id != message.sender_id)
        .filter(|m| live.get(m.user_id.as_str()).is_some_and(|l| m.open.iter().any(|c| l.contains(c))))
        .map(|m| m.user_id.clone())
        .collect();
    let moved = join_all(reading.iter().map(|u| move_read_position(ctx, &room.id, u, message))).await;
    for (user, r) in reading.iter().zip(moved) {
        r?;
        if let Some(m) = members.get_mut(user) {
            m.read_count = m.read_count.max(message.seq);
        }
    }
    let mut room = room.clone();
    room.count = room.count.max(message.seq);
    room.last_message = Some(message.last());
    room.updated_at = message.sent_at;
    // Every member's room-list entry, with their own unread count, to their connections.
    let sends = connections.iter().filter(|(_, c)| !c.is_empty()).map(|(user, c)| {
        let read = members.get(user).map(|m| m.read_count).unwrap_or(room.count);
        let view = room_view_with(&room, &people, read, &listings);
        async move { shared::push::to_connections(ctx, c, &RoomFrame { kind: "chat.room", room: &view }).await }
    });
    for r in join_all(sends).await {
        r?;
    }
    Ok(())
}

/// The member items of a room (one batch read).
pub async fn members_of(ctx: &AppContext, room: &Room) -> ApiResult<HashMap<String, Member>> {
    let keys: Vec<Key> = room.member_ids.iter().map(|u| keys::member_key(&room.id, u)).collect();
    Ok(ctx.table.batch_get::<Member>(&keys).await?.into_iter().flatten().map(|m| (m.user_id.clone(), m)).collect())
}

/// Moves `user`'s read position forward to `message` (never back).
pub async fn move_read_position(ctx: &AppContext, room: &str, user: &str, message: &Message) -> ApiResult<bool> {
    let w = Write::update(keys::member_key(room, user), "SET readCount = :c, lastReadMessageId = :m")
        .value(":c", n(message.seq))
        .value(":m", s(&message.id))
        .when("attribute_exists(PK) AND (attribute_not_exists(readCount) OR readCount < :c)", ChatError::AlreadyMember);
    Ok(ctx.table.write(w).await.tolerate(&ChatError::AlreadyMember)?.is_some())
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageFrame<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub room_id: &'a str,
    pub message: &'a MessageView,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RoomFrame<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub room: &'a RoomView,
}
