//! The diary's removal worker: posts and comments a moderator removed (see
//! [`moderation_contract::moderation`]) are deleted exactly as their author's delete does, and the author is
//! told why in the same transaction. Content already gone is a removal done.

use std::sync::Arc;

use moderation_contract::moderation::{Removal, TargetType, gone_is_done};
use shared::AppContext;
use shared::routes::{Function, Permission, Worker};
use shared::worker::MessageError;

use crate::error::DiaryError;
use crate::model::{Post, post_key};

pub static REMOVAL_WORKER: Function = Function::worker(
    "diary-removals-worker",
    crate::PKG,
    Worker {
        name: "diary-removals",
        queue: &diary_contract::DIARY_REMOVALS,
        batch_size: 10,
        handler: shared::consumer!(handle),
        summary: "Deletes the posts and comments moderators removed, as their authors would, and tells the authors why",
        example: r#"{"id":"01JD3K4Q5R6S7T8V9W0XYZABCE","targetType":"POST","targetId":"01JD3K4Q5R6S7T8V9W0XYZABCD","reason":"광고성 게시물","adminId":"01JD3K4Q5R6S7T8V9W0XYZABCF"}"#,
    },
)
.permissions(&[Permission::TableRead, Permission::TableWrite]);

/// What the diary answers for content already gone.
fn gone(e: &shared::ApiError) -> bool {
    e.is(&DiaryError::PostNotFound) || e.is(&DiaryError::CommentNotFound)
}

pub async fn handle(ctx: Arc<AppContext>, removal: Removal) -> Result<(), MessageError> {
    match removal.target_type {
        TargetType::Post => {
            let Some(post) = ctx.table.get::<Post>(&post_key(&removal.target_id)).await? else { return Ok(()) };
            let result = crate::posts::remove(
                &ctx,
                &post,
                notifications_contract::content_removed(&ctx, &removal, &post.author_id)?,
            )
            .await;
            gone_is_done(result, gone)
        }
        TargetType::Comment => {
            let (pointer, comment) = match crate::comments::find(&ctx, &removal.target_id).await {
                Ok(found) => found,
                Err(e) if gone(&e) => return Ok(()),
                Err(e) => return Err(e.into()),
            };
            if comment.deleted {
                return Ok(());
            }
            let result = crate::comments::remove(&ctx, &pointer, &comment, &|| {
                notifications_contract::content_removed(&ctx, &removal, &comment.author_id)
            })
            .await;
            gone_is_done(result, gone)
        }
        other => Err(MessageError::Permanent(format!("the diary holds no {}", other.as_str()))),
    }
}
