//! The settling job: payments whose confirmation, and refunds whose cancel, got no answer from
//! Toss are finished by asking Toss what happened ([`crate::payments`], [`crate::refunds`]);
//! virtual accounts past their due date are closed, releasing their listings.

use shared::routes::{Function, Job};
use shared::{ApiResult, AppContext};

use crate::PKG;
use crate::payments::SETTLE;
use crate::toss;

pub static SETTLE_JOB: Function = Function::job(
    "market-settle-payments",
    PKG,
    Job {
        name: "settle-payments",
        schedule: "rate(1 minute)",
        handler: |ctx| Box::pin(async move { run(&ctx).await }),
        summary: "Finishes payments whose confirmation, and refunds whose cancel, got no answer, by asking Toss what happened",
    },
)
.permissions(SETTLE)
.settings(toss::SETTINGS)
.timeout(120);

/// What the payments' settling found, with the refunds' under `refunds`.
pub async fn run(ctx: &AppContext) -> ApiResult<serde_json::Value> {
    let mut out = crate::payments::settle_stuck(ctx).await?;
    out["deposits"] = crate::payments::expire_deposits(ctx).await?;
    out["refunds"] = crate::refunds::settle_stuck(ctx).await?;
    Ok(out)
}
