//! The table's one counting consumer ([`shared::counters`]): every domain declares in its
//! contract what the stream counts for it (a post's likes and comment tickets, a listing's wishes,
//! a board post's comment tickets, the statistics tallies), and this consumer applies them all.
//! One consumer, because a DynamoDB stream serves at most two readers a shard at once (the outbox
//! relay is the other).

use shared::counters::Counted;
use shared::routes::Function;

use crate::PKG;

/// Everything the stream counts.
pub const COUNTED: &[Counted] = &[
    diary_contract::LIKES_COUNTED,
    diary_contract::COMMENTS_COUNTED,
    community_contract::COMMENTS_COUNTED,
    community_contract::LIKES_COUNTED,
    market_contract::WISHES_COUNTED,
    moderation_contract::stats::COUNTED,
];

pub static COUNTER: Function = shared::counter_consumer!(
    "stream-counters",
    PKG,
    &[
        diary_contract::keys::LIKES,
        diary_contract::keys::COMMENT_TICKETS,
        community_contract::keys::COMMENT_TICKETS,
        community_contract::keys::LIKES,
        market_contract::keys::WISHES,
        moderation_contract::keys::TALLIES,
    ],
    COUNTED,
    "Moves the counters the table's stream counts: likes, comments and wishes on their posts (diary and board) and listings, the statistics tallies on their days"
);
