//! What can go wrong in the diary: posts, likes, comments, search: one enum, each variant a status, a stable code and a message;
//! mapped to problem+json by the kernel. Conditions of writes name these variants, and code
//! that expects one (an idempotent repeat) matches it by value.

shared::domain_errors! {
    /// What can go wrong in the diary: posts, likes, comments, search.
    pub enum DiaryError {
        PostNotFound => (404, "POST_NOT_FOUND", "No such post."),
        NotYourPost => (403, "NOT_YOUR_POST", "Only the author may do this."),
        PostChanged => (409, "CONCURRENT_UPDATE", "The post changed meanwhile. Try again."),
        CommentNotFound => (404, "COMMENT_NOT_FOUND", "No such comment."),
        MayNotEditComment => (403, "NOT_YOUR_COMMENT", "Only the author may edit it."),
        MayNotDeleteComment => (403, "NOT_YOUR_COMMENT", "Only its author or the post's author may delete it."),
        AlreadyLiked => (409, "ALREADY_LIKED", "The like exists already (liking is idempotent)."),
        NotLiked => (409, "NOT_LIKED", "There is no like to remove (unliking is idempotent)."),
        IndexChanged => (409, "INDEX_CHANGED", "Another worker indexed this post meanwhile."),
    }
}
