//! Comment threads with one level of replies, as the diary and the community board keep them:
//! a comment lives in its post's partition (replies sort after their parent), a pointer finds
//! it by id, and the post and the parent count it. Removing one is the same for both.

use crate::context::AppContext;
use crate::error::{ApiError, ApiResult};
use crate::table::{Key, Write, b, n, s};

crate::domain_errors! {
    /// What can happen to a removal.
    pub enum ThreadError {
        /// A reply arrived while the comment was removed for good: it is kept as deleted instead.
        HasReplies => (409, "COMMENT_HAS_REPLIES", "A reply arrived meanwhile: the comment is kept as deleted."),
    }
}

/// Where a comment and what counts it live.
pub struct CommentPlace {
    pub comment: Key,
    pub pointer: Key,
    /// The post, whose `commentCount` counts it.
    pub post: Key,
    /// The parent of a reply, whose `replyCount` counts it.
    pub parent: Option<Key>,
    pub reply_count: i64,
}

/// Removes a comment as its author's delete does, with `extra` writes in the same transaction:
/// for good while it has no reply, otherwise it shows as deleted (blanked) above its replies. A
/// reply that lands meanwhile turns the removal into the soft one, so no reply is ever left
/// without its parent. `comment_gone` and `post_gone` are the domain's 404s.
pub async fn remove_comment(
    ctx: &AppContext,
    place: &CommentPlace,
    comment_gone: &(dyn Fn() -> ApiError + Sync),
    post_gone: &(dyn Fn() -> ApiError + Sync),
    extra: &(dyn Fn() -> ApiResult<Vec<Write>> + Sync),
) -> ApiResult<()> {
    let count_down =
        || Write::update(place.post.clone(), "ADD commentCount :m").value(":m", n(-1)).if_present(post_gone());
    let soft_delete = || {
        vec![
            Write::update(place.comment.clone(), "SET deleted = :yes, content = :empty")
                .value(":yes", b(true))
                .value(":empty", s(""))
                .value(":no", b(false))
                .when("deleted = :no", comment_gone()),
            count_down(),
        ]
    };
    let writes = if place.reply_count > 0 {
        soft_delete()
    } else {
        let mut w = vec![
            Write::delete(place.comment.clone()).value(":zero", n(0)).when(
                "attribute_exists(PK) AND (attribute_not_exists(replyCount) OR replyCount = :zero)",
                ThreadError::HasReplies,
            ),
            Write::delete(place.pointer.clone()),
            count_down(),
        ];
        if let Some(parent) = &place.parent {
            w.push(Write::update(parent.clone(), "ADD replyCount :m").value(":m", n(-1)).if_present(comment_gone()));
        }
        w
    };
    let with_extra = |mut w: Vec<Write>| -> ApiResult<Vec<Write>> {
        w.extend(extra()?);
        Ok(w)
    };
    match ctx.table.transact(with_extra(writes)?).await {
        Ok(()) => Ok(()),
        Err(e) if e.is(&ThreadError::HasReplies) => ctx.table.transact(with_extra(soft_delete())?).await,
        Err(e) => Err(e),
    }
}
