//! Messages: sending (the same operation over HTTP and the WebSocket), reading pages of a room,
//! and read positions. After a message commits, every member's connections get it, and every
//! member gets their room-list entry with their own unread count.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use shared::handler::{Caller, Created, Json, NoContent, Okay, Params, Path};
use shared::http::PageRequest;
use shared::routes::{Access, Function, Method, Permission, int_param, param, said};
use shared::table::{Page, Query, SortKey, Write, n, s};
use shared::validate::{Validate, Validator};
use shared::{ApiError, ApiResult, AppContext, handler};
use utoipa::ToSchema;

use crate::PKG;
use crate::delivery::{RoomFrame, advance_room, announce, move_read_position_with};
use crate::error::ChatError;
use crate::keys;
use crate::model::{Message, MessageKind, MessageView, Room};
use crate::rooms::member_of;
use crate::views::{people_and_listings, room_view_with};

const WRITE: &[Permission] =
    &[Permission::TableRead, Permission::TableWrite, Permission::MediaRead, Permission::ManageConnections];

pub static SEND: Function = Function::http(
    Method::Post,
    "/chat/rooms/{id}/messages",
    "chat-messages-send",
    PKG,
    Access::User,
    handler!(send_http),
)
.permissions(WRITE)
.doc("chat", "Send a message (as the WebSocket sendMessage, for clients without a socket)")
.example(r#"{"clientMessageId":"c-1","content":"안녕하세요!"}"#)
.responses(&[said(201, "Sent, or sent before with this clientMessageId (the same message).")])
.errors(&[404])
.reads_with_session(crate::rooms::room_and_membership);

pub static LIST: Function =
    Function::http(Method::Get, "/chat/rooms/{id}/messages", "chat-messages-list", PKG, Access::User, handler!(list))
        .permissions(&[Permission::TableRead, Permission::MediaRead])
        .doc("chat", "A room's messages, newest first (members only, from their joining on)")
        .query(&[param("cursor", false, "from nextCursor"), int_param("limit", false, "page size, default 30", 1, 100)])
        .errors(&[404])
        .reads_with_session(crate::rooms::room_and_membership);

pub static READ: Function =
    Function::http(Method::Put, "/chat/rooms/{id}/read", "chat-read", PKG, Access::User, handler!(read_http))
        .permissions(&[Permission::TableRead, Permission::TableWrite, Permission::ManageConnections])
        .doc("chat", "Move my read position forward to a message (an older one is ignored)")
        .example(r#"{"messageId":"01JD3K4Q5R6S7T8V9W0XYZABCD"}"#)
        .errors(&[404])
        .reads_with_session(crate::rooms::room_and_membership);

/// A message to send.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewMessage {
    /// The client's own id for this message: a resend with the same id stores nothing new.
    pub client_message_id: String,
    #[serde(default)]
    pub content: Option<String>,
    /// A key from `POST /uploads` with purpose `chat`.
    #[serde(default)]
    pub media_key: Option<String>,
}

impl Validate for NewMessage {
    fn validate(&self, v: &mut Validator) {
        v.line("clientMessageId", &self.client_message_id, 1, 64);
        if let Some(c) = &self.content {
            v.text("content", c, 0, 500);
        }
    }
}

/// What the sender gets back.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Sent {
    pub client_message_id: String,
    pub message: MessageView,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ReadFrame<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    room_id: &'a str,
    user_id: &'a str,
    message_id: &'a str,
}

/// Stores a message from `sender` (a member) exactly once per client message id, and tells the
/// members. Returns the message and whether it is new.
/// Sends `m` as `sender`. `charge`, when given, makes the write that counts the send against a
/// limit (a WebSocket frame's): it joins each attempt's transaction, so a message that is sent
/// is counted once and one that is not costs nothing (over HTTP the dispatcher's charge rides
/// along the same way).
pub async fn send(
    ctx: &AppContext,
    sender: &str,
    room_id: &str,
    m: NewMessage,
    charge: Option<&(dyn Fn() -> Write + Sync)>,
) -> ApiResult<(Message, bool)> {
    let content = m.content.as_deref().map(str::trim).unwrap_or_default().to_string();
    if content.is_empty() && m.media_key.is_none() {
        return Err(ChatError::EmptyMessage.into());
    }
    if let Some(k) = &m.media_key {
        shared::media::verify(ctx, sender, k, &[&chat_contract::ATTACHMENT]).await?;
    }
    let claim = keys::client_message_key(room_id, sender, &m.client_message_id);
    let mut room = member_of(ctx, room_id, sender).await?.0;
    let mut moved = false;
    for attempt in 0..crate::model::SEQUENCE_TRIES {
        // The first attempt has the room and the membership from the session's read; a retry
        // after another message took the number has the room as the failed condition saw it, at
        // no call (the transaction checks the membership again); one after a transaction still
        // in flight keeps the room it had.
        if std::mem::take(&mut moved) {
            room = ctx.table.get::<Room>(&keys::room_key(room_id)).await?.ok_or(ChatError::RoomNotFound)?;
        }
        let now = ctx.now();
        let message = Message {
            id: crate::model::next_message_id(room.last_message.as_ref().map(|l| l.id.as_str()), now),
            room_id: room_id.to_string(),
            sender_id: sender.to_string(),
            content: content.clone(),
            media_key: m.media_key.clone(),
            kind: MessageKind::User,
            seq: room.count + 1,
            sent_at: now,
            deleted: false,
        };
        let mut claim_item = claim.to_item();
        claim_item.insert("messageId".into(), s(&message.id));
        let mut writes = vec![
            // First, so that a repeat is the failure reported (and answered with the original).
            Write::put_item(claim_item).if_absent(ChatError::AlreadySent),
        ];
        writes.extend(charge.map(|c| c()));
        // A direct room stops at a block, checked in this transaction: no read of its own, and a
        // block made while the message is on its way still stops it.
        if !room.group
            && let Some(other) = room.member_ids.iter().find(|u| *u != sender)
        {
            writes.extend(social_contract::not_blocked_checks(sender, other, social_contract::RelationError::Blocked));
        }
        // The members not in the room are found, and notified, by the chat events worker.
        let sent = crate::model::MessageSent {
            room_id: room_id.to_string(),
            message_id: message.id.clone(),
            seq: message.seq,
            sender_id: sender.to_string(),
            excerpt: excerpt_of(&message),
            sent_at: Some(message.sent_at),
        };
        writes.push(shared::outbox::message_later(
            ctx,
            &crate::model::CHAT_EVENTS,
            &sent,
            crate::model::NOTICE_DELAY_SECS,
        )?);
        writes.extend([
            Write::put(&message)?.if_absent(ChatError::RoomMoved),
            advance_room(&room, &message, None)?,
            // Sending reads everything before: the sender's position moves to their message.
            Write::update(keys::member_key(room_id, sender), "SET readCount = :c, lastReadMessageId = :m")
                .value(":c", n(message.seq))
                .value(":m", s(&message.id))
                .if_present(ChatError::NotAMember),
            moderation_contract::stats::count(now, &[(moderation_contract::stats::Metric::ChatMessages, 1)]),
        ]);
        match ctx.table.transact_racing(writes).await {
            Ok(()) => {
                ctx.metrics.count(crate::figures::MESSAGES, 1.0);
                announce(ctx, &room, &message).await;
                return Ok((message, true));
            }
            Err(e) if e.is(&ChatError::AlreadySent) => {
                let item = ctx.table.get_item(&claim).await?.ok_or(ChatError::RoomMoved)?;
                let id = match item.get("messageId") {
                    Some(shared::table::AttrValue::S(id)) => id.clone(),
                    _ => return Err(ApiError::internal("a client message claim without its message")),
                };
                let message =
                    ctx.table.get::<Message>(&keys::message_key(room_id, &id)).await?.ok_or(ChatError::RoomMoved)?;
                return Ok((message, false));
            }
            // Another message took the number, or is taking it: the next try is for the next.
            Err(e) => {
                moved = e.is(&ChatError::RoomMoved);
                crate::delivery::try_again(e, attempt).await?;
            }
        }
    }
    Err(ChatError::RoomMoved.into())
}

/// What a notification of `message` shows of it.
fn excerpt_of(message: &Message) -> String {
    if message.content.is_empty() {
        return "파일을 보냈습니다.".into();
    }
    message.content.chars().take(notifications_contract::CHAT_EXCERPT_CHARS).collect()
}

/// What clears `user`'s CHAT notification of the room, when reading up to `read_seq` covers it
/// (its item, read at `notifications_contract::keys::chat_notice_key`, is `notice`).
pub fn clear_notice(
    user: &str,
    room_id: &str,
    read_seq: i64,
    notice: Option<&shared::table::Item>,
) -> Option<notifications_contract::ChatRoomRead> {
    notifications_contract::chat_notice_covered(notice, read_seq).then(|| notifications_contract::ChatRoomRead {
        room_id: room_id.into(),
        reader_id: user.into(),
        read_seq,
    })
}

/// Marks `message_id` read for `user` and tells the members (an older message changes nothing).
pub async fn read(ctx: &AppContext, user: &str, room_id: &str, message_id: &str) -> ApiResult<()> {
    let (room, member) = member_of(ctx, room_id, user).await?;
    if !shared::ids::is_valid_id(message_id) {
        return Err(ChatError::MessageNotFound.into());
    }
    // The message, and what telling the members needs (their connections, the room-list entry's
    // people and listing), in one batch read.
    let mut also = vec![keys::message_key(room_id, message_id)];
    also.extend(shared::push::connections_keys(&room.member_ids));
    // And whether a CHAT notification of the room waits in my inbox.
    also.push(notifications_contract::keys::chat_notice_key(user, room_id));
    let (people, listings, mut found) = people_and_listings(ctx, &[&room], &also).await?;
    let notice = found.pop().flatten();
    let listed = found.split_off(1);
    let message: Message =
        found.remove(0).map(serde_dynamo::from_item).transpose()?.ok_or(ChatError::MessageNotFound)?;
    if message.id.as_str() <= member.joined_after.as_str() {
        return Err(ChatError::MessageNotFound.into());
    }
    let clear = clear_notice(user, room_id, message.seq, notice.as_ref());
    let clear_write = clear.as_ref().map(|r| move || notifications_contract::chat_read(ctx, r));
    let also = clear_write.as_ref().map(|w| w as &(dyn Fn() -> ApiResult<Write> + Sync));
    if move_read_position_with(ctx, room_id, user, &message, also).await? {
        let connections = shared::push::connections_from(ctx, &room.member_ids, &listed);
        let frame = ReadFrame { kind: "chat.read", room_id, user_id: user, message_id: &message.id };
        let _ = shared::push::to_listed(ctx, &connections, &frame).await;
        let view = room_view_with(&room, &people, message.seq, &listings);
        let mine = connections.into_iter().find(|(u, _)| u == user).map(|(_, c)| c).unwrap_or_default();
        let _ = shared::push::to_connections(ctx, &mine, &RoomFrame { kind: "chat.room", room: &view }).await;
    }
    Ok(())
}

pub async fn send_http(
    ctx: Arc<AppContext>,
    caller: Caller,
    Path(room): Path<String>,
    Json(body): Json<NewMessage>,
) -> ApiResult<Created<Sent>> {
    let client_message_id = body.client_message_id.clone();
    let (message, _) = send(&ctx, &caller.user_id, &room, body, None).await?;
    Ok(Created(Sent { client_message_id, message: MessageView::of(&ctx, &message).await? }))
}

pub async fn list(
    ctx: Arc<AppContext>,
    caller: Caller,
    Path(room): Path<String>,
    params: Params,
) -> ApiResult<Okay<Page<MessageView>>> {
    let (_, member) = member_of(&ctx, &room, &caller.user_id).await?;
    let (from, to) = keys::messages_after(&member.joined_after);
    let query = Query::partition(keys::room_partition(&room))
        .sort(SortKey::Between(from, to))
        .newest_first()
        .paged(&params, 30, 100)?;
    let page = ctx.table.query::<Message>(&query).await?;
    let mut items = Vec::with_capacity(page.items.len());
    for m in &page.items {
        items.push(MessageView::of(&ctx, m).await?);
    }
    Ok(Okay(Page { items, next_cursor: page.next_cursor }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReadRequest {
    pub message_id: String,
}

impl Validate for ReadRequest {
    fn validate(&self, v: &mut Validator) {
        v.line("messageId", &self.message_id, 1, 40);
    }
}

pub async fn read_http(
    ctx: Arc<AppContext>,
    caller: Caller,
    Path(room): Path<String>,
    Json(body): Json<ReadRequest>,
) -> ApiResult<NoContent> {
    read(&ctx, &caller.user_id, &room, &body.message_id).await?;
    Ok(NoContent)
}
