//! Each user's unread count against their unread notifications.

use serde::Deserialize;
use shared::audit::{Audit, Report, all};
use shared::routes::Function;
use shared::table::{Entity, Query};
use shared::{ApiResult, AppContext};

use crate::PKG;
use crate::keys::{self, counter_key};
use crate::model::Notification;

pub static AUDIT_JOB: Function = shared::audit::daily_job(
    "notifications-audit-counters",
    PKG,
    "Recounts every user's unread notifications and reports drift",
    |ctx| Box::pin(async move { shared::audit::logged("notifications", run(&ctx, false).await?) }),
);

#[derive(Deserialize)]
struct StoredUnread {
    #[serde(default)]
    unread: i64,
}

pub async fn run(ctx: &AppContext, repair: bool) -> ApiResult<Report> {
    let mut audit = Audit::new(ctx, repair);
    for user in identity_contract::every_account(ctx).await? {
        let partition = shared::keys::user_partition(&user.id);
        let unread = all(ctx, Query::partition(&partition).begins_with(keys::NOTIFICATIONS))
            .await?
            .into_iter()
            .map(Notification::from_item)
            .collect::<ApiResult<Vec<_>>>()?
            .iter()
            .filter(|n| !n.read)
            .count() as i64;
        let stored = match ctx.table.get_item(&counter_key(&user.id)).await? {
            Some(item) => serde_dynamo::from_item::<_, StoredUnread>(item)?.unread,
            None => 0,
        };
        audit.check("unread notifications of a user", counter_key(&user.id), "unread", stored, unread).await?;
    }
    Ok(audit.finish())
}
