//! The campaigns domain's events worker: what other domains publish that campaigns keeps — a
//! pet's Instagram engagement, which the recommendation weighs in (`crate::rank`), on its
//! PetStar item; a pet's profile edit, which its PetStar document is made from — and the
//! embedding vectors of PetStars and ads the domain's own writes ask for (`crate::vectors`).

use std::sync::Arc;

use campaigns_contract::keys;
use instagram_contract::EngagementMeasured;
use pets_contract::PetProfileChanged;
use serde::Deserialize;
use shared::AppContext;
use shared::routes::{Function, Permission, Worker};
use shared::table::{Write, n, time};
use shared::worker::MessageError;

/// Events the campaigns domain subscribes to (an Instagram engagement measured), for its
/// events worker.
pub const CAMPAIGN_EVENTS: shared::queues::Queue =
    shared::queues::Queue { name: "campaign-events", visibility_timeout_secs: 30, max_receive_count: 5 };

shared::domain_errors! {
    /// Why an event changes nothing (not an error of the worker's).
    enum Skipped {
        NotNewer => (409, "NOT_NEWER", "not a PetStar, or a newer figure is stored"),
    }
}

pub static EVENTS_WORKER: Function = Function::worker(
    "campaigns-events-worker",
    crate::PKG,
    Worker {
        name: "campaign-events",
        queue: &CAMPAIGN_EVENTS,
        batch_size: 10,
        handler: shared::consumer!(handle),
        summary: "Keeps each PetStar's Instagram engagement figure, the newest measured; refreshes a PetStar's document when its pet's profile changes; makes PetStars' and ads' embedding vectors",
        example: r#"{"petId":"01JD3K4Q5R6S7T8V9W0XYZABCD","engagement":4.2,"measuredAt":"2026-03-01T03:00:00Z"}"#,
    },
)
.permissions(&[
    Permission::TableRead,
    Permission::TableWrite,
    Permission::InvokeModel(&shared::bedrock::EMBEDDING_MODEL),
])
.settings(&[&shared::bedrock::EMBEDDING_MODEL])
.subscribes(&[&instagram_contract::ENGAGEMENT, &pets_contract::PROFILE_CHANGED]);

/// What the campaign events queue carries (told apart by their fields).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum CampaignEvent {
    PetStarVector(crate::vectors::PetStarVectorWanted),
    AdVector(crate::vectors::AdVectorWanted),
    PetProfile(PetProfileChanged),
    Engagement(EngagementMeasured),
}

pub async fn handle(ctx: Arc<AppContext>, event: CampaignEvent) -> Result<(), MessageError> {
    match event {
        CampaignEvent::Engagement(e) => engagement(&ctx, e).await,
        CampaignEvent::PetProfile(p) => Ok(crate::petstars::refresh_document(&ctx, &p.pet_id).await?),
        CampaignEvent::PetStarVector(v) => crate::vectors::embed_petstar(&ctx, v).await,
        CampaignEvent::AdVector(v) => crate::vectors::embed_ad(&ctx, v).await,
    }
}

/// Records the measured engagement on the pet's PetStar item (or clears it: unlinked) unless a
/// newer one is there. A pet that is not a PetStar has nothing to record.
async fn engagement(ctx: &AppContext, event: EngagementMeasured) -> Result<(), MessageError> {
    let write = match event.engagement {
        Some(e) => Write::update(keys::petstar_key(&event.pet_id), "SET #e = :e, #at = :at").value(":e", n(e)),
        None => Write::update(keys::petstar_key(&event.pet_id), "REMOVE #e SET #at = :at"),
    }
    .name("#e", "engagement")
    .name("#at", "engagementAt")
    .value(":at", time(event.measured_at))
    .when("attribute_exists(PK) AND (attribute_not_exists(#at) OR #at < :at)", Skipped::NotNewer);
    match ctx.table.write(write).await {
        Err(e) if e.is(&Skipped::NotNewer) => Ok(()),
        other => Ok(other?),
    }
}
