//! The board's counters against their facts: each post's likes and live comments (both moved
//! from the stream, so the audit is what shows a lost or doubled move).

use community_contract::keys;
use shared::audit::{Audit, Report, all};
use shared::routes::Function;
use shared::table::{Entity, Gsi, Query};
use shared::{ApiResult, AppContext};

use crate::PKG;
use crate::posts::CommunityPost;

pub static AUDIT_JOB: Function = shared::audit::daily_job(
    "community-audit-counters",
    PKG,
    "Recounts the board posts' likes and comments from their facts and reports drift",
    |ctx| Box::pin(async move { shared::audit::logged("community", run(&ctx, false).await?) }),
);

pub async fn run(ctx: &AppContext, repair: bool) -> ApiResult<Report> {
    let mut audit = Audit::new(ctx, repair);
    for item in all(ctx, Query::partition(keys::ALL_POSTS).index(Gsi::Gsi1)).await? {
        let post = CommunityPost::from_item(item)?;
        let partition = keys::post_partition(&post.id);
        let likes = all(ctx, Query::partition(&partition).begins_with(keys::LIKES)).await?.len() as i64;
        audit.check("likeCount of a board post", keys::post_key(&post.id), "likeCount", post.like_count, likes).await?;
        let comments = all(ctx, Query::partition(&partition).begins_with(keys::COMMENT_TICKETS)).await?.len() as i64;
        audit
            .check(
                "commentCount of a board post",
                keys::post_key(&post.id),
                "commentCount",
                post.comment_count,
                comments,
            )
            .await?;
    }
    Ok(audit.finish())
}
