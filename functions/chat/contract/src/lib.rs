//! Chat's public surface: its room keys (the rooms' own items), and for moderation what a
//! message said.

pub mod keys;

use serde::Deserialize;
use shared::{ApiResult, AppContext};

/// A file sent in a room: photos, documents, short videos, text and archives, up to 50 MB.
pub const ATTACHMENT: shared::media::Purpose = shared::media::Purpose {
    name: "chat",
    types: &[
        shared::media::IMAGES,
        shared::media::PDF,
        &["video/mp4", "video/quicktime", "text/plain", "application/zip"],
    ],
    max_bytes: 50 * shared::media::MB,
};

/// Chat messages a moderator removed, for chat to blank and tell the room.
pub const CHAT_REMOVALS: shared::queues::Queue =
    shared::queues::Queue { name: "chat-removals", visibility_timeout_secs: 60, max_receive_count: 5 };

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RoomItem {
    member_ids: Vec<String>,
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
    removals: Some(&CHAT_REMOVALS),
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
