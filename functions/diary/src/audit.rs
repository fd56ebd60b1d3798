//! The diary's counters against their facts: each post's likes and comments, each comment's
//! replies, and each author's post count (kept on the profile through identity's contract).

use std::collections::HashMap;

use identity_contract::Counter;
use shared::audit::{Audit, Report, all};
use shared::routes::Function;
use shared::table::{Entity, Gsi, Query};
use shared::{ApiResult, AppContext};

use crate::PKG;
use crate::keys;
use crate::model::{Comment, Post, post_key};

pub static AUDIT_JOB: Function = shared::audit::daily_job(
    "diary-audit-counters",
    PKG,
    "Recounts likes, comments, replies and post counts from their facts and reports drift",
    |ctx| Box::pin(async move { shared::audit::logged("diary", run(&ctx, false).await?) }),
);

/// Recounts every post's likes and comments, every comment's replies, every author's posts.
pub async fn run(ctx: &AppContext, repair: bool) -> ApiResult<Report> {
    let mut audit = Audit::new(ctx, repair);
    for item in all(ctx, Query::partition(keys::ALL_POSTS).index(Gsi::Gsi1)).await? {
        let post = Post::from_item(item)?;
        let partition = keys::post_partition(&post.id);
        let likes = all(ctx, Query::partition(&partition).begins_with(keys::like_sort(""))).await?.len() as i64;
        audit.check("likeCount of a post", post_key(&post.id), "likeCount", post.like_count, likes).await?;
        let comments: Vec<Comment> = all(ctx, Query::partition(&partition).begins_with(keys::COMMENTS))
            .await?
            .into_iter()
            .map(Comment::from_item)
            .collect::<ApiResult<_>>()?;
        let live = comments.iter().filter(|c| !c.deleted).count() as i64;
        audit.check("commentCount of a post", post_key(&post.id), "commentCount", post.comment_count, live).await?;
        let mut replies: HashMap<&str, i64> = HashMap::new();
        for c in &comments {
            if let Some(parent) = &c.parent_id {
                *replies.entry(parent.as_str()).or_default() += 1;
            }
        }
        for c in comments.iter().filter(|c| c.parent_id.is_none()) {
            let actual = replies.get(c.id.as_str()).copied().unwrap_or(0);
            audit.check("replyCount of a comment", c.key(), "replyCount", c.reply_count, actual).await?;
        }
    }
    // Each author's posts are counted from their own partition (consistent): the index of every
    // post may not show one made a moment ago.
    for user in identity_contract::every_account(ctx).await? {
        let mine = Query::partition(shared::keys::user_partition(&user.id)).begins_with(keys::POSTED_PREFIX);
        let actual = all(ctx, mine).await?.len() as i64;
        identity_contract::audit_counter(&mut audit, &user, Counter::Posts, actual).await?;
    }
    Ok(audit.finish())
}
