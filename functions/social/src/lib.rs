//! Relations between users: follows (with counters and feed effects) and blocks (which end
//! follows both ways and hide each other's content).

pub mod audit;
pub mod blocks;
pub mod error;
pub mod follows;
pub mod keys;

use crate::error::SocialError;
use shared::routes::Domain;

pub(crate) const PKG: &str = env!("CARGO_PKG_NAME");

pub const DOMAIN: Domain = Domain {
    tags: &[shared::routes::Tag {
        name: "social",
        description: "Following and blocking people, and the lists of followers and followings.",
    }],
    errors: &[error::SocialError::CODES],
    name: "social",
    uploads: &[],
    functions: &[
        &audit::AUDIT_JOB,
        &follows::FOLLOW,
        &follows::UNFOLLOW,
        &follows::STATUS,
        &follows::FOLLOWERS,
        &follows::FOLLOWING,
        &blocks::BLOCK,
        &blocks::UNBLOCK,
        &blocks::MY_BLOCKS,
    ],
};

use shared::table::{AttrValue, Item};
use shared::{ApiResult, AppContext};

/// The other user of a `/users/{id}/...` request: a real, active account that is not the caller.
pub(crate) async fn other_user(ctx: &AppContext, me: &str, id: &str, to_self: SocialError) -> ApiResult<()> {
    if id == me {
        return Err(to_self.into());
    }
    match identity_contract::is_active(ctx, id).await? {
        true => Ok(()),
        false => Err(SocialError::UserNotFound.into()),
    }
}

/// The user id after `prefix` in an item's sort key.
pub(crate) fn id_after(item: &Item, prefix: &str) -> Option<String> {
    match item.get(shared::table::SK) {
        Some(AttrValue::S(sk)) => sk.strip_prefix(prefix).map(str::to_string),
        _ => None,
    }
}
