//! What can go wrong between users: follows and blocks: one enum, each variant a status, a stable code and a message;
//! mapped to problem+json by the kernel. Conditions of writes name these variants, and code
//! that expects one (an idempotent repeat) matches it by value.

shared::domain_errors! {
    /// What can go wrong between users: follows and blocks.
    pub enum SocialError {
        UserNotFound => (404, "USER_NOT_FOUND", "No such user."),
        CannotFollowSelf => (400, "CANNOT_FOLLOW_SELF", "You cannot do this to yourself."),
        CannotBlockSelf => (400, "CANNOT_BLOCK_SELF", "You cannot do this to yourself."),
        Blocked => (403, "USER_BLOCKED", "One of you has blocked the other."),
        RelationChanged => (409, "CONCURRENT_UPDATE", "The relation changed meanwhile. Try again."),
        FollowsMoved => (409, "RETRY", "A follow between the two changed while blocking."),
        AlreadyBlocked => (409, "ALREADY_BLOCKED", "The block exists already (blocking is idempotent)."),
        NotBlocked => (409, "NOT_BLOCKED", "There is no block to remove (unblocking is idempotent)."),
        AlreadyFollowing => (409, "ALREADY_FOLLOWING", "The follow exists already (following is idempotent)."),
        NotFollowing => (409, "NOT_FOLLOWING", "There is no follow to remove (unfollowing is idempotent)."),
    }
}
