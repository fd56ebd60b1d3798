//! The social graph's public surface: its keys, and the checks other domains make between two
//! users (blocks hide content and forbid interaction).

pub mod keys;

use shared::keys::user_partition;
use shared::table::Query;
use shared::{ApiResult, AppContext};

pub use keys::{blocked_by_key, blocks_key, follower_key, following_key};

shared::domain_errors! {
    /// What the graph refuses.
    pub enum RelationError {
        Blocked => (403, "USER_BLOCKED", "One of you has blocked the other."),
    }
}

/// A follow began or ended (an unfollow, or a block ending follows both ways): for the domains
/// that keep something per follower, such as the diary's home feeds.
pub static FOLLOWS: shared::events::Topic =
    shared::events::Topic { name: "social.follows", summary: "A follow began or ended" };

/// What [`FOLLOWS`] carries.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FollowEvent {
    pub follower_id: String,
    pub followed_id: String,
    /// Whether the follower follows now (`false`: the follow ended).
    pub following: bool,
    /// When it happened (with the two users, it names the event).
    pub at: chrono::DateTime<chrono::Utc>,
}

/// The writes that publish a follow's beginning or end in its own transaction.
pub fn follow_changed(
    ctx: &AppContext,
    follower: &str,
    followed: &str,
    following: bool,
) -> ApiResult<Vec<shared::table::Write>> {
    let event = FollowEvent { follower_id: follower.into(), followed_id: followed.into(), following, at: ctx.now() };
    shared::outbox::publish(ctx, &FOLLOWS, &event)
}

/// Whether either of two users blocks the other, when neither is the caller (one
/// BatchGetItem; for the caller, `Caller::hides` and `Viewer::hides` know it already).
pub async fn blocked_between(ctx: &AppContext, a: &str, b: &str) -> ApiResult<bool> {
    Ok(ctx.table.batch_get_items(&block_keys(a, b)).await?.iter().any(Option::is_some))
}

/// The two items either of which is a block between `a` and `b`, for a caller that reads them in
/// its own batch: any found is a block.
pub fn block_keys(a: &str, b: &str) -> [shared::table::Key; 2] {
    [blocks_key(a, b), blocks_key(b, a)]
}

/// The same test as [`blocked_between`] as two condition checks in the caller's own
/// transaction, failing it with `on_fail`: a write across a block costs no read of its own, and
/// a block made between the caller's read and write still stops it. Put them first, so that the
/// block is the error reported when other conditions fail too.
pub fn not_blocked_checks<E>(a: &str, b: &str, on_fail: E) -> [shared::table::Write; 2]
where
    E: Into<shared::ApiError> + Clone,
{
    [
        shared::table::Write::check(blocks_key(a, b), "attribute_not_exists(PK)", on_fail.clone()),
        shared::table::Write::check(blocked_by_key(a, b), "attribute_not_exists(PK)", on_fail),
    ]
}

/// The writes that count one more (`+1`) or one less (`-1`) block between `a` and `b` in both
/// users' hidden-people items (`shared::account::hidden_key`); part of every block's and
/// unblock's transaction.
pub fn hidden_changes(a: &str, b: &str, by: i64) -> [shared::table::Write; 2] {
    let change = |user: &str, other: &str| {
        shared::table::Write::update(shared::account::hidden_key(user), "ADD #h :by")
            .name("#h", &shared::account::hidden_attribute(other))
            .value(":by", shared::table::n(by))
    };
    [change(a, b), change(b, a)]
}

/// Everyone who follows `author` (their ids), page by page.
pub async fn followers(ctx: &AppContext, author: &str) -> ApiResult<Vec<String>> {
    let q = Query::partition(user_partition(author)).begins_with(keys::FOLLOWER).limit(500);
    Ok(others(&ctx.table.query_items_all(&q, None).await?).collect())
}

/// The other user of each relation item (the id after the sort key's `#`).
fn others(items: &[shared::table::Item]) -> impl Iterator<Item = String> + '_ {
    items.iter().filter_map(|item| match item.get(shared::table::SK) {
        Some(shared::table::AttrValue::S(sk)) => sk.split_once('#').map(|(_, other)| other.to_string()),
        _ => None,
    })
}
