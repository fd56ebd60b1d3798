//! The count on a board post that many people move at once, kept from the table's stream
//! ([`shared::counters`]): a comment commits its ticket (see [`shared::threads::add`]), and this
//! consumer moves the post's `commentCount` by the net change of each batch.

use shared::counters::{Count, Counted};
use shared::routes::Function;
use shared::table::Key;

use crate::PKG;
use community_contract::keys;

/// What the stream counts: a live comment's ticket, on its post.
pub const COUNTED: &[Counted] = &[Counted {
    sort_prefix: keys::COMMENT_TICKETS,
    counts: |k: &Key| keys::post_of(k).map(|p| Count::one(keys::post_key(p), "commentCount")).unwrap_or_default(),
    removals: true,
    creates: false,
}];

pub static COUNTER: Function = shared::counter_consumer!(
    "community-counters",
    PKG,
    &[keys::COMMENT_TICKETS],
    COUNTED,
    "Moves each board post's comment count by the comments and their removals the table's stream delivers"
);
