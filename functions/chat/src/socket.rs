//! Chat's WebSocket actions. The sender is always the connection's user; every action checks
//! membership. Refused frames are answered with an error frame by the kernel.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use shared::routes::{Function, Permission};
use shared::socket::Sender;
use shared::table::{Write, s};
use shared::validate::{Validate, Validator};
use shared::{ApiResult, AppContext, ws_handler};

use crate::PKG;
use crate::delivery::{member_keys, members_from};
use crate::keys;
use crate::messages::{NewMessage, Sent};
use crate::model::{Message, MessageView, Room};
use crate::rooms::member_of;

const PUSH: &[Permission] =
    &[Permission::TableRead, Permission::TableWrite, Permission::MediaRead, Permission::ManageConnections];

pub static SEND_MESSAGE: Function = Function::websocket(
    "sendMessage",
    "chat-ws-send-message",
    PKG,
    "Sends a message to a room: {type: chat.ack} to the sender, {type: chat.message} to every member",
    ws_handler!(send_message),
)
.permissions(PUSH)
.frame(
    r#"{"action":"sendMessage","roomId":"01JD3K4Q5R6S7T8V9W0XYZABCD","clientMessageId":"c-1","content":"안녕하세요!"}"#,
);

pub static READ: Function = Function::websocket(
    "read",
    "chat-ws-read",
    PKG,
    "Moves my read position forward; members get {type: chat.read}",
    ws_handler!(read),
)
.permissions(PUSH)
.frame(r#"{"action":"read","roomId":"01JD3K4Q5R6S7T8V9W0XYZABCD","messageId":"01JD3K4Q5R6S7T8V9W0XYZABCE"}"#);

pub static ENTER: Function = Function::websocket(
    "enterRoom",
    "chat-ws-enter-room",
    PKG,
    "Opens a room on this connection: its messages count as read at once; members get {type: chat.presence}",
    ws_handler!(enter),
)
.permissions(PUSH)
.frame(r#"{"action":"enterRoom","roomId":"01JD3K4Q5R6S7T8V9W0XYZABCD"}"#);

pub static LEAVE: Function = Function::websocket(
    "leaveRoom",
    "chat-ws-leave-room",
    PKG,
    "Closes a room on this connection; members get {type: chat.presence}",
    ws_handler!(leave),
)
// Presence frames carry ids only: no media to sign.
.permissions(&[Permission::TableRead, Permission::TableWrite, Permission::ManageConnections])
.frame(r#"{"action":"leaveRoom","roomId":"01JD3K4Q5R6S7T8V9W0XYZABCD"}"#);

pub static TYPING: Function = Function::websocket(
    "typing",
    "chat-ws-typing",
    PKG,
    "Tells the other members I am typing ({type: chat.typing}; not stored)",
    ws_handler!(typing),
)
.permissions(&[Permission::TableRead, Permission::TableWrite, Permission::ManageConnections])
.frame(r#"{"action":"typing","roomId":"01JD3K4Q5R6S7T8V9W0XYZABCD"}"#);

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SendFrame {
    pub room_id: String,
    #[serde(flatten)]
    pub message: NewMessage,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Ack<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(flatten)]
    sent: &'a Sent,
}

pub async fn send_message(ctx: Arc<AppContext>, from: Sender, frame: SendFrame) -> ApiResult<()> {
    // A connection outlives a block or a withdrawal: its writes stop with them. The room and the
    // sender's membership, which the send reads first, come in the same batch.
    let room = [("id".to_string(), frame.room_id.clone())].into();
    let also = crate::rooms::room_and_membership(&room, &from.user_id);
    shared::account::ensure_active(&ctx, &from.user_id, true, &also).await?;
    let mut v = Validator::new();
    frame.message.validate(&mut v);
    v.finish()?;
    // The same per-user limit as sending over HTTP, on the same counter and in the send's own
    // transaction: a socket is no way around it (over it, an error frame with `retryAfter`).
    let route = crate::messages::SEND.route().map(|r| r.route_key()).unwrap_or_default();
    let charge = || shared::ratelimit::write_counter(&ctx, &from.user_id, &route);
    let client_message_id = frame.message.client_message_id.clone();
    let (message, _) = crate::messages::send(&ctx, &from.user_id, &frame.room_id, frame.message, Some(&charge)).await?;
    ack(&ctx, &from, client_message_id, &message).await
}

async fn ack(ctx: &AppContext, from: &Sender, client_message_id: String, message: &Message) -> ApiResult<()> {
    let sent = Sent { client_message_id, message: MessageView::of(ctx, message).await? };
    shared::push::to_connection(ctx, &from.connection_id, &Ack { kind: "chat.ack", sent: &sent }).await?;
    Ok(())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReadFrame {
    pub room_id: String,
    pub message_id: String,
}

pub async fn read(ctx: Arc<AppContext>, from: Sender, frame: ReadFrame) -> ApiResult<()> {
    crate::messages::read(&ctx, &from.user_id, &frame.room_id, &frame.message_id).await
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoomFrame {
    pub room_id: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Presence<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    room_id: &'a str,
    online: Vec<String>,
}

/// Tells the members who has the room open, from the members and their connections as they
/// are now (one batch read; `room` was read by the caller): a member is there while one of
/// their live connections has the room open, so a connection that ended counts for nothing even
/// before its room marks are cleared.
pub async fn presence(ctx: &AppContext, room: &Room) -> ApiResult<()> {
    let ids = &room.member_ids;
    let [members, listed] =
        ctx.table.batch_get_groups([&member_keys(room), &shared::push::connections_keys(ids)]).await?;
    let members = members_from(members)?;
    let connections = shared::push::connections_from(ctx, ids, &listed);
    let online = connections
        .iter()
        .filter(|(u, live)| members.get(u).is_some_and(|m| m.open.iter().any(|c| live.contains(c))))
        .map(|(u, _)| u.clone())
        .collect();
    let frame = Presence { kind: "chat.presence", room_id: &room.id, online };
    shared::push::to_listed(ctx, &connections, &frame).await?;
    Ok(())
}

/// The label an open room puts on its connection: when the connection ends, the chat events
/// worker closes the room on it ([`crate::events`]).
pub const OPEN_ROOM_LABEL: &str = "chat-room:";

pub async fn enter(ctx: Arc<AppContext>, from: Sender, frame: RoomFrame) -> ApiResult<()> {
    let (room, member) = member_of(&ctx, &frame.room_id, &from.user_id).await?;
    // The user's live connections only: marks left by connections that ended go.
    let live = shared::push::connections_of(&ctx, &from.user_id).await?;
    let mut open: Vec<String> = member.open.into_iter().filter(|c| live.contains(c)).collect();
    if !open.contains(&from.connection_id) {
        open.push(from.connection_id.clone());
    }
    // The connection carries the room, so that its end closes the room on it.
    ctx.table
        .transact(vec![
            open_write(&room.id, &from.user_id, &open),
            shared::push::label(
                &from.connection_id,
                &format!("{OPEN_ROOM_LABEL}{}", room.id),
                crate::error::ChatError::NotAMember,
            ),
        ])
        .await?;
    // Opening the room reads it, and clears its CHAT notification.
    if let Some(last) = &room.last_message {
        let notice = notifications_contract::keys::chat_notice_key(&from.user_id, &room.id);
        let found = ctx.table.batch_get_items(&[keys::message_key(&room.id, &last.id), notice]).await?;
        let [message, notice] =
            <[_; 2]>::try_from(found).map_err(|_| shared::ApiError::internal("a batch read answers each key"))?;
        if let Some(message) = message.map(serde_dynamo::from_item::<_, Message>).transpose()? {
            let clear = crate::messages::clear_notice(&from.user_id, &room.id, message.seq, notice.as_ref());
            let clear_write = clear.as_ref().map(|r| || notifications_contract::chat_read(&ctx, r));
            let also = clear_write.as_ref().map(|w| w as &(dyn Fn() -> ApiResult<Write> + Sync));
            crate::delivery::move_read_position_with(&ctx, &room.id, &from.user_id, &message, also).await?;
        }
    }
    presence(&ctx, &room).await
}

pub async fn leave(ctx: Arc<AppContext>, from: Sender, frame: RoomFrame) -> ApiResult<()> {
    let (room, member) = member_of(&ctx, &frame.room_id, &from.user_id).await?;
    let open: Vec<String> = member.open.into_iter().filter(|c| *c != from.connection_id).collect();
    ctx.table.write(open_write(&room.id, &from.user_id, &open)).await?;
    let label = format!("{OPEN_ROOM_LABEL}{}", room.id);
    match ctx.table.write(shared::push::unlabel(&from.connection_id, &label)).await {
        Err(e) if !shared::push::is_gone(&e) => return Err(e),
        _ => {}
    }
    presence(&ctx, &room).await
}

/// The connections that have the room open for `user`, as a write.
fn open_write(room: &str, user: &str, open: &[String]) -> Write {
    Write::update(keys::member_key(room, user), "SET #o = :o")
        .name("#o", "open")
        .value(":o", shared::table::AttrValue::L(open.iter().map(s).collect()))
        .if_present(crate::error::ChatError::NotAMember)
}

/// A connection that had rooms open ended: it leaves them, and their members are told.
pub async fn connection_closed(ctx: &AppContext, closed: &shared::push::ConnectionClosed) -> ApiResult<()> {
    for room_id in closed.labels.iter().filter_map(|l| l.strip_prefix(OPEN_ROOM_LABEL)) {
        let (room, member) = match member_of(ctx, room_id, &closed.user_id).await {
            Ok(found) => found,
            // Left the room, or the room is gone: nothing open there.
            Err(e) if e.is(&crate::error::ChatError::NotAMember) || e.is(&crate::error::ChatError::RoomNotFound) => {
                continue;
            }
            Err(e) => return Err(e),
        };
        if member.open.contains(&closed.connection_id) {
            let open: Vec<String> = member.open.iter().filter(|c| **c != closed.connection_id).cloned().collect();
            // Only over the list as read: one entered meanwhile wins, and its own write
            // dropped this connection's mark already (marks of ended connections go then).
            let was = shared::table::AttrValue::L(member.open.iter().map(s).collect());
            let w = open_write(&room.id, &closed.user_id, &open)
                .value(":was", was)
                .when("attribute_exists(PK) AND #o = :was", crate::error::ChatError::RoomMoved);
            match ctx.table.write(w).await {
                Err(e) if !e.is(&crate::error::ChatError::RoomMoved) => return Err(e),
                _ => {}
            }
        }
        presence(ctx, &room).await?;
    }
    Ok(())
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Typing<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    room_id: &'a str,
    user_id: &'a str,
}

/// A member's typing reaches the others at most once in this many milliseconds.
const TYPING_EVERY_MS: i64 = 3_000;

pub async fn typing(ctx: Arc<AppContext>, from: Sender, frame: RoomFrame) -> ApiResult<()> {
    let (room, _) = member_of(&ctx, &frame.room_id, &from.user_id).await?;
    // One fan-out per member and room every few seconds: a flood of typing frames is dropped,
    // not pushed to every member.
    let now = ctx.now().timestamp_millis();
    let mark = Write::update(keys::typing_key(&room.id, &from.user_id), "SET #at = :now, #ttl = :ttl")
        .name("#at", "at")
        .name("#ttl", shared::table::TTL_ATTRIBUTE)
        .value(":now", shared::table::n(now))
        .value(":ttl", shared::table::n(now / 1000 + 60))
        .value(":cutoff", shared::table::n(now - TYPING_EVERY_MS))
        .when("attribute_not_exists(#at) OR #at < :cutoff", crate::error::ChatError::TypingTooOften);
    match ctx.table.write(mark).await {
        Ok(()) => {}
        Err(e) if e.is(&crate::error::ChatError::TypingTooOften) => return Ok(()),
        Err(e) => return Err(e),
    }
    let others: Vec<String> = room.member_ids.iter().filter(|u| **u != from.user_id).cloned().collect();
    shared::push::to_users(&ctx, &others, &Typing { kind: "chat.typing", room_id: &room.id, user_id: &from.user_id })
        .await?;
    Ok(())
}
