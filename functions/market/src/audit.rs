//! The market's counters against their facts: each listing's wishes, each user's point balance
//! (the sum of their ledger).

use serde::Deserialize;
use shared::audit::{Audit, Report, all};
use shared::routes::Function;
use shared::table::{Entity, Gsi, Query};
use shared::{ApiResult, AppContext};

use crate::PKG;
use crate::keys;
use crate::model::Listing;
use crate::points::Entry;

pub static AUDIT_JOB: Function = shared::audit::daily_job(
    "market-audit-counters",
    PKG,
    "Recounts wishes per listing and every point balance from its ledger and reports drift",
    |ctx| Box::pin(async move { shared::audit::logged("market", run(&ctx, false).await?) }),
);

#[derive(Deserialize)]
struct StoredBalance {
    #[serde(default)]
    balance: i64,
}

pub async fn run(ctx: &AppContext, repair: bool) -> ApiResult<Report> {
    let mut audit = Audit::new(ctx, repair);
    for item in all(ctx, Query::partition(keys::ALL_LISTINGS).index(Gsi::Gsi1)).await? {
        let l = Listing::from_item(item)?;
        let wishes =
            all(ctx, Query::partition(keys::listing_partition(&l.id)).begins_with(keys::wish_sort(""))).await?.len();
        audit
            .check("wishCount of a listing", keys::listing_key(&l.id), "wishCount", l.wish_count, wishes as i64)
            .await?;
    }
    for user in identity_contract::every_account(ctx).await? {
        let ledger: i64 = all(ctx, Query::partition(keys::ledger_partition(&user.id)))
            .await?
            .into_iter()
            .map(Entry::from_item)
            .collect::<ApiResult<Vec<_>>>()?
            .iter()
            .map(|e| e.kind.signed(e.amount))
            .sum();
        let stored = match ctx.table.get_item(&keys::balance_key(&user.id)).await? {
            Some(item) => serde_dynamo::from_item::<_, StoredBalance>(item)?.balance,
            None => 0,
        };
        audit.check("point balance of a user", keys::balance_key(&user.id), "balance", stored, ledger).await?;
    }
    Ok(audit.finish())
}
