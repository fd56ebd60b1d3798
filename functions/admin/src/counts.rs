//! The statistics counters, kept from the table's stream: every counted fact commits a tally
//! (see [`moderation_contract::stats`]), and this consumer adds each batch's tallies to their
//! day's shards, one update per shard and metric ([`shared::counters`]).

use shared::routes::{Function, Permission, StreamConsumer, StreamFilter};

use crate::PKG;

pub static COUNTER: Function = Function::stream(
    "admin-stats-counters",
    PKG,
    StreamConsumer {
        name: "admin-stats-counters",
        batch_size: 100,
        max_retries: 10,
        failure_queue: &shared::counters::FAILURES,
        filter: StreamFilter::FactsUnder(&[moderation_contract::keys::TALLIES]),
        handler: |ctx, event| {
            Box::pin(async move { shared::counters::apply(&ctx, event, &[moderation_contract::stats::COUNTED]).await })
        },
        summary: "Adds the statistics tallies the table's stream delivers to their day's counters",
    },
)
.permissions(&[Permission::TableRead, Permission::TableWrite]);
