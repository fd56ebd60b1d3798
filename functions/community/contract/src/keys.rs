//! The community board's keys.
//!
//! | item | PK | SK | index |
//! |---|---|---|---|
//! | post | `CPOST#<id>` | `POST` | GSI1 `CPOSTS` / `<id>`; GSI2 `CPOSTS#<type>` / `<id>`; GSI3 `CAUTHOR#<user>` / `<id>` (none once deleted) |
//! | an author's post, in their partition (consistent, where GSI3 lags: "my posts") | `USER#<author>` | `CPOSTED#<post>` | |
//! | comment | `CPOST#<post>` | `C#<id>`, a reply `C#<parent>#R#<id>` (replies sort after their parent) | |
//! | a live comment's ticket, counted on the post from the stream | `CPOST#<post>` | `CC#<comment>` | |
//! | like (one per user), counted on the post's `likeCount` from the stream | `CPOST#<post>` | `CL#<user>` (its `likeId`) | |
//! | where a comment lives | `CCOMMENT#<id>` | `REF` | |
//! | search posting (a token of the title or the content's opening) | `CSEARCH#A#<token>` | `<post>` | |
//! | what the index holds for a post | `CINDEX#<post>` | `STATE` | |

use shared::table::Key;

pub const ALL_POSTS: &str = "CPOSTS";
pub const COMMENTS: &str = "C#";

pub fn post_partition(id: &str) -> String {
    format!("CPOST#{id}")
}

pub fn post_key(id: &str) -> Key {
    Key::new(post_partition(id), "POST")
}

/// The sort-key prefix of comment tickets in a post's partition: one per live comment, which the
/// post's `commentCount` counts from the stream.
pub const COMMENT_TICKETS: &str = "CC#";

pub fn comment_ticket_key(post: &str, comment: &str) -> Key {
    Key::new(post_partition(post), format!("{COMMENT_TICKETS}{comment}"))
}

/// The sort-key prefix of likes in a post's partition: one per user, which the post's
/// `likeCount` counts from the stream.
pub const LIKES: &str = "CL#";

pub fn like_key(post: &str, user: &str) -> Key {
    Key::new(post_partition(post), format!("{LIKES}{user}"))
}

/// The post whose partition `key` is in.
pub fn post_of(key: &Key) -> Option<&str> {
    key.pk.strip_prefix("CPOST#")
}

pub fn type_partition(kind: &str) -> String {
    format!("CPOSTS#{kind}")
}

pub fn author_partition(user: &str) -> String {
    format!("CAUTHOR#{user}")
}

/// The sort-key prefix of the items listing an author's posts in their own partition.
pub const POSTED_PREFIX: &str = "CPOSTED#";

pub fn posted_key(author: &str, post: &str) -> Key {
    Key::new(shared::keys::user_partition(author), format!("{POSTED_PREFIX}{post}"))
}

pub fn comment_sort(id: &str, parent: Option<&str>) -> String {
    match parent {
        None => format!("{COMMENTS}{id}"),
        Some(p) => format!("{COMMENTS}{p}#R#{id}"),
    }
}

pub fn comment_ref_key(id: &str) -> Key {
    Key::new(format!("CCOMMENT#{id}"), "REF")
}

pub fn posting_partition(field: char, token: &str) -> String {
    format!("CSEARCH#{field}#{token}")
}

pub fn index_state_key(post: &str) -> Key {
    Key::new(format!("CINDEX#{post}"), "STATE")
}
