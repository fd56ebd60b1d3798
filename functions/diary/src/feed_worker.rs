//! The feed worker: copies new posts into followers' feeds and deleted ones out of them.

use std::sync::Arc;

use shared::AppContext;
use shared::feed::FeedEvent;
use shared::queues;
use shared::routes::{Function, Permission, Worker};
use shared::worker::{Message, MessageError};

pub static FEED_WORKER: Function = Function::worker(
    "feed-worker",
    crate::PKG,
    Worker {
        name: "feed",
        queue: &queues::FEED,
        batch_size: 10,
        handler: |ctx, msg| Box::pin(handle(ctx, msg)),
        summary: "Copies new posts into followers' feeds and deleted posts out of them",
        example: r#"{"change":"POSTED","authorId":"01JD3K4Q5R6S7T8V9W0XYZABCE","postId":"01JD3K4Q5R6S7T8V9W0XYZABCD"}"#,
    },
)
.permissions(&[Permission::TableRead, Permission::TableWrite]);

pub async fn handle(ctx: Arc<AppContext>, msg: Message) -> Result<(), MessageError> {
    let event: FeedEvent = msg.json()?;
    shared::feed::apply(&ctx, &event).await?;
    Ok(())
}
