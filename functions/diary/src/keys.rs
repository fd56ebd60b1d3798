//! The diary's own keys; those other domains use too are in [`diary_contract::keys`] and
//! re-exported here. The item layout is documented there.

use shared::table::Key;

pub use diary_contract::keys::*;

/// The GSI1 partition listing every post.
pub const ALL_POSTS: &str = "POSTS";

/// The sort-key prefix of comments in a post's partition.
pub const COMMENTS: &str = "C#";

pub fn like_key(post: &str, user: &str) -> Key {
    Key::new(post_partition(post), like_sort(user))
}

/// The GSI1 partition listing who liked a post.
pub fn likers_partition(post: &str) -> String {
    format!("LIKES#{post}")
}

pub fn comment_sort(id: &str, parent: Option<&str>) -> String {
    match parent {
        None => format!("{COMMENTS}{id}"),
        Some(p) => format!("{COMMENTS}{p}#R#{id}"),
    }
}

/// A search posting partition: `field` is `T` (title), `C` (content) or `H` (hashtag).
pub fn posting_partition(field: char, token: &str) -> String {
    format!("SEARCH#{field}#{token}")
}

pub fn index_state_partition(post: &str) -> String {
    format!("INDEXSTATE#{post}")
}

pub fn index_state_key(post: &str) -> Key {
    Key::new(index_state_partition(post), "STATE")
}

/// The partition counting hashtag uses in one hour (`hour` as `yyyy-mm-ddThh`).
pub fn tag_stats_partition(hour: &str) -> String {
    format!("TAGSTATS#{hour}")
}

pub fn trending_key(window: &str) -> Key {
    Key::new(format!("TRENDING#{window}"), "TRENDING")
}
