//! The statistics counters, kept from the table's stream: every counted fact commits a tally
//! (see [`moderation_contract::stats`]), and this consumer adds each batch's tallies to their
//! day's shards, one update per shard and metric ([`shared::counters`]).

use shared::routes::Function;

use crate::PKG;

pub static COUNTER: Function = shared::counter_consumer!(
    "admin-stats-counters",
    PKG,
    &[moderation_contract::keys::TALLIES],
    &[moderation_contract::stats::COUNTED],
    "Adds the statistics tallies the table's stream delivers to their day's counters"
);
