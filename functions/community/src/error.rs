//! What can go wrong on the community board.

shared::domain_errors! {
    /// What can go wrong on the community board.
    pub enum CommunityError {
        PostNotFound => (404, "POST_NOT_FOUND", "No such post."),
        NotYourPost => (403, "NOT_YOUR_POST", "Only the author may change this post."),
        CommentNotFound => (404, "COMMENT_NOT_FOUND", "No such comment."),
        NotYourComment => (403, "NOT_YOUR_COMMENT", "Only the author may change this comment."),
        Changed => (409, "CONCURRENT_UPDATE", "It changed meanwhile. Try again."),
        AlreadyLiked => (409, "ALREADY_LIKED", "Liked already (liking is idempotent)."),
        NotLiked => (409, "NOT_LIKED", "Not liked (unliking is idempotent)."),
        IndexChanged => (409, "CONCURRENT_UPDATE", "The post's index changed meanwhile."),
    }
}
