//! Each user's follower and following counts (kept on the profile through identity's contract)
//! against the follow relations.

use std::sync::Arc;

use identity_contract::Counter;
use shared::audit::{Audit, Report, all};
use shared::routes::{Function, Job, Permission};
use shared::table::Query;
use shared::{ApiResult, AppContext};

use crate::PKG;
use crate::keys;

pub static AUDIT_JOB: Function = Function::job(
    "social-audit-counters",
    PKG,
    Job {
        name: "social-audit-counters",
        schedule: "rate(1 day)",
        local_every_secs: 3600,
        handler: |ctx| Box::pin(job(ctx)),
        summary: "Recounts every user's followers and followings and reports drift",
    },
)
.permissions(&[Permission::TableRead])
.timeout(900);

async fn job(ctx: Arc<AppContext>) -> ApiResult<serde_json::Value> {
    shared::audit::logged("social", run(&ctx, false).await?)
}

pub async fn run(ctx: &AppContext, repair: bool) -> ApiResult<Report> {
    let mut audit = Audit::new(ctx, repair);
    for user in identity_contract::every_account(ctx).await? {
        let partition = shared::keys::user_partition(&user.id);
        let followers = all(ctx, Query::partition(&partition).begins_with(keys::FOLLOWER)).await?.len() as i64;
        let following = all(ctx, Query::partition(&partition).begins_with(keys::FOLLOWING)).await?.len() as i64;
        identity_contract::audit_counter(&mut audit, &user, Counter::Followers, followers).await?;
        identity_contract::audit_counter(&mut audit, &user, Counter::Following, following).await?;
    }
    Ok(audit.finish())
}
