//! Comment threads with one level of replies, one mechanism for every part of the product that
//! lets people comment under a post: a comment lives in its post's partition (replies sort after
//! their parent), a pointer finds it by id, and the post and the parent count it. Adding,
//! checking a reply's parent, choosing whom to check for blocks and whom to tell, editing and
//! removing are the same everywhere; a domain gives its keys, its errors and its own words (the
//! notification it sends, the extra people it names).

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

/// What the thread mechanics read of a comment.
pub trait ThreadComment {
    fn id(&self) -> &str;
    fn post_id(&self) -> &str;
    fn parent_id(&self) -> Option<&str>;
    fn author_id(&self) -> &str;
    fn deleted(&self) -> bool;
}

/// Implements [`ThreadComment`] for a comment type with the fields `id`, `post_id`,
/// `parent_id: Option<String>`, `author_id` and `deleted`.
#[macro_export]
macro_rules! thread_comment {
    ($t:ty) => {
        impl $crate::threads::ThreadComment for $t {
            fn id(&self) -> &str {
                &self.id
            }
            fn post_id(&self) -> &str {
                &self.post_id
            }
            fn parent_id(&self) -> Option<&str> {
                self.parent_id.as_deref()
            }
            fn author_id(&self) -> &str {
                &self.author_id
            }
            fn deleted(&self) -> bool {
                self.deleted
            }
        }
    };
}

/// Checks that `parent` can take a reply on `post_id`: on that post, not deleted, and not a
/// reply itself (one level of replies). 400 on `parentId` otherwise.
pub fn check_parent(parent: &impl ThreadComment, post_id: &str) -> ApiResult<()> {
    if parent.post_id() != post_id || parent.deleted() {
        return Err(ApiError::validation("parentId", "NOT_FOUND", "no such comment on this post"));
    }
    if parent.parent_id().is_some() {
        return Err(ApiError::validation("parentId", "TOO_DEEP", "replies go one level deep"));
    }
    Ok(())
}

/// Someone a new comment concerns besides its author.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Concerned {
    /// The post's author: blocked people do not see the post (a block answers 404).
    PostAuthor,
    /// The author of the comment replied to (a block answers 403).
    ParentAuthor,
    /// Someone the comment names (a block answers 403).
    Mentioned,
}

/// The people a new comment by `me` concerns, each once and never `me`, in this order: the
/// post's author, the replied-to author, the mentioned. The domain checks each for a block in
/// the comment's transaction and tells each of it.
pub fn concerned<'a>(
    me: &str,
    post_author: &'a str,
    parent_author: Option<&'a str>,
    mentioned: Option<&'a str>,
) -> Vec<(Concerned, &'a str)> {
    let mut out: Vec<(Concerned, &'a str)> = Vec::new();
    for (who, id) in [
        (Concerned::PostAuthor, Some(post_author)),
        (Concerned::ParentAuthor, parent_author),
        (Concerned::Mentioned, mentioned),
    ] {
        if let Some(id) = id.filter(|id| *id != me && !out.iter().any(|(_, o)| o == id)) {
            out.push((who, id));
        }
    }
    out
}

/// The writes that add `comment` (with its `pointer`) to a thread: its ticket (an item in the
/// post's partition that the post's `commentCount` counts from the stream, see
/// [`crate::counters`], so comments on a popular post do not write the post), and a reply's
/// parent's `replyCount`, exact in the transaction because it decides whether the parent may be
/// removed for good. The post was read just before: a comment that lands as the post goes is
/// left under a post nobody sees, and counted on nothing.
pub fn add(comment: Write, pointer: Write, ticket: Key, parent: Option<Key>, comment_gone: ApiError) -> Vec<Write> {
    let mut writes = vec![comment, pointer, Write::put_item(ticket.to_item())];
    if let Some(parent) = parent {
        writes.push(Write::update(parent, "ADD replyCount :one").value(":one", n(1)).if_present(comment_gone));
    }
    writes
}

/// The write that edits a comment's text (not a deleted one: `comment_gone`).
pub fn edit(comment: Key, content: &str, now: chrono::DateTime<chrono::Utc>, comment_gone: ApiError) -> Write {
    Write::update(comment, "SET content = :c, updatedAt = :u")
        .value(":c", s(content.trim()))
        .value(":u", crate::table::time(now))
        .value(":no", b(false))
        .when("deleted = :no", comment_gone)
}

/// Where a comment and what counts it live.
pub struct CommentPlace {
    pub comment: Key,
    pub pointer: Key,
    /// Its ticket in the post's partition, which the post's `commentCount` counts while the
    /// comment is live.
    pub ticket: Key,
    /// The parent of a reply, whose `replyCount` counts it.
    pub parent: Option<Key>,
    pub reply_count: i64,
}

/// Removes a comment as its author's delete does, with `extra` writes in the same transaction:
/// for good while it has no reply, otherwise it shows as deleted (blanked) above its replies. A
/// reply that lands meanwhile turns the removal into the soft one, so no reply is ever left
/// without its parent. `comment_gone` is the domain's 404.
pub async fn remove_comment(
    ctx: &AppContext,
    place: &CommentPlace,
    comment_gone: &(dyn Fn() -> ApiError + Sync),
    extra: &(dyn Fn() -> ApiResult<Vec<Write>> + Sync),
) -> ApiResult<()> {
    let count_down = || Write::delete(place.ticket.clone());
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_comment_concerns_each_other_person_once() {
        assert_eq!(concerned("me", "me", None, None), vec![]);
        assert_eq!(
            concerned("me", "a", Some("a"), Some("b")),
            vec![(Concerned::PostAuthor, "a"), (Concerned::Mentioned, "b")]
        );
        assert_eq!(
            concerned("me", "a", Some("c"), Some("me")),
            vec![(Concerned::PostAuthor, "a"), (Concerned::ParentAuthor, "c")]
        );
    }
}
