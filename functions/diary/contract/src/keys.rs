//! The diary's keys.
//!
//! | item | PK | SK | indexes |
//! |---|---|---|---|
//! | post | `POST#<id>` | `POST` | GSI1 `POSTS` / `<id>` (everyone's, newest first); GSI2 `AUTHOR#<user>` / `<id>` |
//! | a live comment's ticket, counted on the post from the stream | `POST#<post>` | `CC#<comment>` | |
//! | like | `POST#<post>` | `LIKE#<user>` | GSI1 `LIKES#<post>` / `<like id>` (who liked, newest first) |
//! | comment | `POST#<post>` | `C#<id>`, reply `C#<parent>#R#<id>` (thread order) | — |
//! | comment pointer | `COMMENTREF#<id>` | `REF` | — |
//! | an author's post, in their partition | `USER#<author>` | `POSTED#<postId>` | — |
//! | feed entry | `FEED#<viewer>` | `<postId>` (ULID: newest first is key order) | — |
//! | search posting | `SEARCH#<T|C|H>#<token>` | `<post id>` | — |
//! | index state of a post | `INDEXSTATE#<post>` | `STATE` | — |
//! | hashtag use | `TAGSTATS#<yyyy-mm-ddThh>` | `<tag>` | — |
//! | trending list | `TRENDING#<24h|7d>` | `TRENDING` | — |

use shared::table::Key;

/// The GSI1 partition listing every post.
/// The sort-key prefix of comments in a post's partition.
pub fn post_partition(id: &str) -> String {
    format!("POST#{id}")
}

pub fn post_key(id: &str) -> Key {
    Key::new(post_partition(id), "POST")
}

/// The sort-key prefix of the items that list an author's posts in their own partition,
/// written with each post: strongly consistent, where the author index lags (the author's
/// list, the feed backfill after a follow and the feed cleanup after an unfollow read them).
pub const POSTED_PREFIX: &str = "POSTED#";

pub fn posted_key(author: &str, post: &str) -> Key {
    Key::new(shared::keys::user_partition(author), format!("{POSTED_PREFIX}{post}"))
}

/// The GSI2 partition that lists an author's posts.
pub fn author_partition(author: &str) -> String {
    format!("AUTHOR#{author}")
}

/// The GSI1 partition listing who liked a post.
pub fn comment_ref_partition(id: &str) -> String {
    format!("COMMENTREF#{id}")
}

pub fn comment_ref_key(id: &str) -> Key {
    Key::new(comment_ref_partition(id), "REF")
}

pub fn feed_partition(viewer: &str) -> String {
    format!("FEED#{viewer}")
}

pub fn feed_entry_key(viewer: &str, post_id: &str) -> Key {
    Key::new(feed_partition(viewer), post_id)
}

/// The sort-key prefix of likes in a post's partition.
pub const LIKES: &str = "LIKE#";

pub fn like_sort(user: &str) -> String {
    format!("{LIKES}{user}")
}

/// The sort-key prefix of comment tickets in a post's partition: one per live comment, which the
/// post's `commentCount` counts from the stream.
pub const COMMENT_TICKETS: &str = "CC#";

pub fn comment_ticket_key(post: &str, comment: &str) -> Key {
    Key::new(post_partition(post), format!("{COMMENT_TICKETS}{comment}"))
}

/// The post whose partition `key` is in.
pub fn post_of(key: &Key) -> Option<&str> {
    key.pk.strip_prefix("POST#")
}
