//! The diary's removal worker: posts and comments a moderator removed (see
//! [`shared::moderation`]) are deleted exactly as their author's delete does, and the author is
//! told why in the same transaction. Content already gone is a removal done.

use std::sync::Arc;

use notifications_contract::{NotificationEvent, NotificationKind};
use shared::moderation::{Removal, TargetType};
use shared::routes::{Function, Permission, Worker};
use shared::table::Write;
use shared::worker::MessageError;
use shared::{ApiResult, AppContext, queues};

use crate::model::{Post, post_key};

pub static REMOVAL_WORKER: Function = Function::worker(
    "diary-removals-worker",
    crate::PKG,
    Worker {
        name: "diary-removals",
        queue: &queues::DIARY_REMOVALS,
        batch_size: 10,
        handler: shared::consumer!(handle),
        summary: "Deletes the posts and comments moderators removed, as their authors would, and tells the authors why",
        example: r#"{"id":"01JD3K4Q5R6S7T8V9W0XYZABCE","targetType":"POST","targetId":"01JD3K4Q5R6S7T8V9W0XYZABCD","reason":"광고성 게시물","adminId":"01JD3K4Q5R6S7T8V9W0XYZABCF"}"#,
    },
)
.permissions(&[Permission::TableRead, Permission::TableWrite]);

/// The author's notice, with the removal's own id: told once however often it is delivered.
pub fn told(ctx: &AppContext, removal: &Removal, author: &str) -> ApiResult<Vec<Write>> {
    notifications_contract::outbox(
        ctx,
        vec![NotificationEvent {
            event_id: format!("removed-{}", removal.id),
            kind: NotificationKind::ContentRemoved,
            actor_id: notifications_contract::SYSTEM_ACTOR.into(),
            recipient_id: author.to_string(),
            target_type: removal.target_type.as_str().into(),
            target_id: removal.target_id.clone(),
            excerpt: Some(removal.reason.clone()),
        }],
    )
}

pub async fn handle(ctx: Arc<AppContext>, removal: Removal) -> Result<(), MessageError> {
    match removal.target_type {
        TargetType::Post => {
            let Some(post) = ctx.table.get::<Post>(&post_key(&removal.target_id)).await? else { return Ok(()) };
            let result = crate::posts::remove(&ctx, &post, told(&ctx, &removal, &post.author_id)?).await;
            gone_is_done(result)
        }
        TargetType::Comment => {
            let (pointer, comment) = match crate::comments::find(&ctx, &removal.target_id).await {
                Ok(found) => found,
                Err(e) if e.status().as_u16() == 404 => return Ok(()),
                Err(e) => return Err(e.into()),
            };
            if comment.deleted {
                return Ok(());
            }
            let result =
                crate::comments::remove(&ctx, &pointer, &comment, &|| told(&ctx, &removal, &comment.author_id)).await;
            gone_is_done(result)
        }
        other => Err(MessageError::Permanent(format!("the diary holds no {}", other.as_str()))),
    }
}

/// Deleted meanwhile (by its author, or by an earlier delivery): nothing left to do.
fn gone_is_done(result: ApiResult<()>) -> Result<(), MessageError> {
    match result {
        Err(e) if e.status().as_u16() == 404 => Ok(()),
        other => Ok(other?),
    }
}
