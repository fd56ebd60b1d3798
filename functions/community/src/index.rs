//! What a community post write asks of the search index: the queue and the message it commits
//! with the write (through the outbox); the worker in [`crate::search`] takes them.

use serde::{Deserialize, Serialize};
use shared::table::Write;
use shared::{ApiResult, AppContext};

/// Community posts to (re)index for search, committed with each post write.
pub const COMMUNITY_INDEX: shared::queues::Queue =
    shared::queues::Queue { name: "community-index", visibility_timeout_secs: 60, max_receive_count: 5 };

/// The message every community post write commits: index this post as it is now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IndexCommunityPost {
    pub post_id: String,
}

pub fn index_later(ctx: &AppContext, post_id: &str) -> ApiResult<Write> {
    shared::outbox::message(ctx, &COMMUNITY_INDEX, &IndexCommunityPost { post_id: post_id.to_string() })
}
