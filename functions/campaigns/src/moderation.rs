//! Campaigns' removal worker: an ad a moderator removed (see [`moderation_contract::moderation`]),
//! live or not, is deleted (it leaves every list and the lifecycle's due list), its advertiser is
//! told why in the same transaction, and every applicant whose application still stands is told
//! that the campaign is off. Redelivered, it deletes nothing twice and tells nobody twice (each
//! notice's event id is the removal's and the application's).

use std::sync::Arc;

use moderation_contract::moderation::{Removal, TargetType};
use shared::AppContext;
use shared::routes::{Function, Permission, Worker};
use shared::table::{Write, s};
use shared::worker::MessageError;

use crate::ads::{Ad, AdStatus};
use crate::applications::{Application, ApplicationStatus};
use crate::error::CampaignError;
use crate::keys;

pub static REMOVAL_WORKER: Function = Function::worker(
    "campaigns-removals-worker",
    crate::PKG,
    Worker {
        name: "ad-removals",
        queue: &campaigns_contract::AD_REMOVALS,
        batch_size: 5,
        handler: shared::consumer!(handle),
        summary: "Deletes the ads moderators removed, tells their advertisers why and their applicants that the campaign is off",
        example: r#"{"id":"01JD3K4Q5R6S7T8V9W0XYZABCE","targetType":"AD","targetId":"01JD3K4Q5R6S7T8V9W0XYZABCD","reason":"허위 광고","adminId":"01JD3K4Q5R6S7T8V9W0XYZABCF"}"#,
    },
)
.permissions(&[Permission::TableRead, Permission::TableWrite]);

pub async fn handle(ctx: Arc<AppContext>, removal: Removal) -> Result<(), MessageError> {
    if removal.target_type != TargetType::Ad {
        return Err(MessageError::Permanent(format!("campaigns hold no {}", removal.target_type.as_str())));
    }
    if !shared::ids::is_valid_id(&removal.target_id) {
        return Ok(());
    }
    let Some(ad) = ctx.table.get::<Ad>(&keys::ad_key(&removal.target_id)).await? else { return Ok(()) };
    if ad.status != AdStatus::Deleted {
        let mut gone = ad.clone();
        gone.status = AdStatus::Deleted;
        gone.updated_at = ctx.now();
        let mut writes = vec![
            Write::put(&gone)?
                .name("#st", "status")
                .value(":seen", s(ad.status.as_str()))
                .when("#st = :seen", CampaignError::Changed),
        ];
        writes.extend(notifications_contract::content_removed(&ctx, &removal, &ad.advertiser_id)?);
        match ctx.table.transact(writes).await {
            // The lifecycle moved it meanwhile: read it again on the next delivery.
            Err(e) if e.is(&CampaignError::Changed) => return Err(MessageError::Retry(e.to_string())),
            other => other?,
        }
    }
    tell_applicants(&ctx, &ad, &removal).await
}

/// Every applicant whose application still stands hears that the campaign is off. The
/// applications are found through their claims in the ad's partition (consistent).
async fn tell_applicants(ctx: &AppContext, ad: &Ad, removal: &Removal) -> Result<(), MessageError> {
    let ids = crate::applications::ids_of_ad(ctx, &ad.id).await?;
    for chunk in ids.chunks(100) {
        let app_keys: Vec<_> = chunk.iter().map(|id| keys::application_key(id)).collect();
        let mut writes = Vec::new();
        for app in ctx.table.batch_get::<Application>(&app_keys).await?.into_iter().flatten() {
            if matches!(app.status, ApplicationStatus::Cancelled) {
                continue;
            }
            writes.extend(crate::tell(
                ctx,
                format!("ad-removed-{}-{}", removal.id, app.id),
                notifications_contract::SYSTEM_ACTOR,
                &app.owner_id,
                ("APPLICATION", &app.id),
                format!("지원하신 광고 '{}'이(가) 운영 정책에 따라 삭제되어 캠페인이 취소되었습니다.", ad.title),
            )?);
        }
        // Outbox messages are conditional puts (each queued once), so they go in transactions,
        // not a batch write: at most 50 a transaction.
        let mut writes = writes.into_iter().peekable();
        while writes.peek().is_some() {
            ctx.table.transact(writes.by_ref().take(50).collect()).await?;
        }
    }
    Ok(())
}
