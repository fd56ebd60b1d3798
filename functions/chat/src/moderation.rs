//! Chat's removal worker: a message a moderator removed (see [`moderation_contract::moderation`]) loses its
//! text and photo but keeps its place, so the conversation still reads in order; the room's
//! members are told at once (`chat.messageDeleted`) and the sender is told why.

use std::sync::Arc;

use moderation_contract::moderation::{Removal, TargetType};
use serde::Serialize;
use shared::AppContext;
use shared::routes::{Function, Permission, Worker};
use shared::table::{Write, b, s};
use shared::worker::MessageError;

use crate::error::ChatError;
use crate::keys;
use crate::model::{Message, Room};

pub static REMOVAL_WORKER: Function = Function::worker(
    "chat-removals-worker",
    crate::PKG,
    Worker {
        name: "chat-removals",
        queue: &chat_contract::CHAT_REMOVALS,
        batch_size: 10,
        handler: shared::consumer!(handle),
        summary: "Blanks the chat messages moderators removed, tells their rooms and their senders",
        example: r#"{"id":"01JD3K4Q5R6S7T8V9W0XYZABCE","targetType":"CHAT_MESSAGE","targetId":"01JD3K4Q5R6S7T8V9W0XYZABCD","contextId":"01JD3K4Q5R6S7T8V9W0XYZABCG","reason":"욕설","adminId":"01JD3K4Q5R6S7T8V9W0XYZABCF"}"#,
    },
)
.permissions(&[Permission::TableRead, Permission::TableWrite, Permission::ManageConnections]);

/// What a removed message reads as in the room list.
const REMOVED_PREVIEW: &str = "(삭제된 메시지)";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Deleted<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    room_id: &'a str,
    message_id: &'a str,
}

pub async fn handle(ctx: Arc<AppContext>, removal: Removal) -> Result<(), MessageError> {
    if removal.target_type != TargetType::ChatMessage {
        return Err(MessageError::Permanent(format!("chat holds no {}", removal.target_type.as_str())));
    }
    let Some(room_id) = removal.context_id.as_deref() else {
        return Err(MessageError::Permanent("a chat message is found through its room".into()));
    };
    let key = keys::message_key(room_id, &removal.target_id);
    let Some(message) = ctx.table.get::<Message>(&key).await? else { return Ok(()) };
    if message.deleted {
        return Ok(());
    }
    let mut writes = vec![
        Write::update(key, "SET deleted = :yes, content = :empty REMOVE mediaKey")
            .value(":yes", b(true))
            .value(":empty", s(""))
            .value(":no", b(false))
            .when("attribute_exists(PK) AND (attribute_not_exists(deleted) OR deleted = :no)", ChatError::RoomMoved),
    ];
    writes.extend(notifications_contract::content_removed(&ctx, &removal, &message.sender_id)?);
    match ctx.table.transact(writes).await {
        // Removed by an earlier delivery meanwhile.
        Err(e) if e.is(&ChatError::RoomMoved) => return Ok(()),
        other => other?,
    }
    // The room list's preview, when this was the last message (best effort: a newer message
    // replaces it anyway).
    let preview = Write::update(keys::room_key(room_id), "SET lastMessage.preview = :p")
        .value(":p", s(REMOVED_PREVIEW))
        .value(":id", s(&message.id))
        .when("lastMessage.id = :id", ChatError::RoomMoved);
    if let Err(e) = ctx.table.write(preview).await
        && !e.is(&ChatError::RoomMoved)
    {
        tracing::warn!(error = %e, "a removed message's preview was left");
    }
    if let Some(room) = ctx.table.get::<Room>(&keys::room_key(room_id)).await? {
        let frame = Deleted { kind: "chat.messageDeleted", room_id, message_id: &message.id };
        if let Err(e) = shared::push::to_users(&ctx, &room.member_ids, &frame).await {
            tracing::warn!(error = %e, "a removal was stored but not pushed");
        }
    }
    Ok(())
}
