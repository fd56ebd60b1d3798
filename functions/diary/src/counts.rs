//! The counts on a post that many people move at once, kept from the table's stream
//! ([`shared::counters`]): a like or unlike commits only the like item, a comment its ticket
//! (see [`shared::threads::add`]), and this consumer moves the post's `likeCount` and
//! `commentCount` by the net change of each batch. A list shows a new like's count once
//! the stream has delivered it (the README gives the measured delay).

use shared::counters::{Count, Counted};
use shared::routes::Function;
use shared::table::Key;

use crate::{PKG, keys};

/// What the stream counts: a like under a post, and a live comment's ticket, on the post.
pub const COUNTED: &[Counted] = &[
    Counted { sort_prefix: keys::LIKES, counts: |k| on_post(k, "likeCount"), removals: true, creates: false },
    Counted {
        sort_prefix: keys::COMMENT_TICKETS,
        counts: |k| on_post(k, "commentCount"),
        removals: true,
        creates: false,
    },
];

/// One more (or less) on the post whose partition `k` is in.
fn on_post(k: &Key, attribute: &'static str) -> Vec<Count> {
    keys::post_of(k).map(|p| Count::one(keys::post_key(p), attribute)).unwrap_or_default()
}

pub static COUNTER: Function = shared::counter_consumer!(
    "diary-counters",
    PKG,
    &[keys::LIKES, keys::COMMENT_TICKETS],
    COUNTED,
    "Moves each post's like and comment counts by the likes, comments and their removals the table's stream delivers"
);
