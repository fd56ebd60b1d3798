//! Each user's follower and following counts (kept on the profile through identity's contract)
//! against the follow relations.

use std::collections::BTreeMap;

use identity_contract::Counter;
use shared::audit::{Audit, Report, all};
use shared::routes::Function;
use shared::table::Query;
use shared::{ApiResult, AppContext};

use crate::PKG;
use crate::keys;

pub static AUDIT_JOB: Function = shared::audit::daily_job(
    "social-audit-counters",
    PKG,
    "Recounts every user's followers and followings and reports drift",
    |ctx| Box::pin(async move { shared::audit::logged("social", run(&ctx, false).await?) }),
);

pub async fn run(ctx: &AppContext, repair: bool) -> ApiResult<Report> {
    let mut audit = Audit::new(ctx, repair);
    for user in identity_contract::every_account(ctx).await? {
        let partition = shared::keys::user_partition(&user.id);
        let followers = all(ctx, Query::partition(&partition).begins_with(keys::FOLLOWER)).await?.len() as i64;
        let following = all(ctx, Query::partition(&partition).begins_with(keys::FOLLOWING)).await?.len() as i64;
        identity_contract::audit_counter(&mut audit, &user, Counter::Followers, followers).await?;
        identity_contract::audit_counter(&mut audit, &user, Counter::Following, following).await?;
        audit_hidden(&mut audit, &user.id).await?;
    }
    Ok(audit.finish())
}

/// The user's hidden-people item (`shared::account::hidden_key`) against their block relations:
/// for each other user, the blocks between the two that stand.
async fn audit_hidden(audit: &mut Audit<'_>, user: &str) -> ApiResult<()> {
    let ctx = audit.ctx;
    let partition = shared::keys::user_partition(user);
    let mut actual: BTreeMap<String, i64> = BTreeMap::new();
    for item in all(ctx, Query::partition(&partition).begins_with(social_contract::keys::ANY_BLOCK)).await? {
        if let Some((_, other)) = shared::audit::text(&item, shared::table::SK).and_then(|sk| sk.split_once('#')) {
            *actual.entry(other.to_string()).or_default() += 1;
        }
    }
    let key = shared::account::hidden_key(user);
    let stored_item = ctx.table.get_item(&key).await?.unwrap_or_default();
    let stored: BTreeMap<String, i64> =
        shared::account::hidden_counts(&stored_item).map(|(other, n)| (other.to_string(), n)).collect();
    let others: std::collections::BTreeSet<&String> = actual.keys().chain(stored.keys()).collect();
    for other in others {
        let (s, a) = (stored.get(other).copied().unwrap_or(0), actual.get(other).copied().unwrap_or(0));
        audit.check("blocks between two users", key.clone(), &shared::account::hidden_attribute(other), s, a).await?;
    }
    Ok(())
}
