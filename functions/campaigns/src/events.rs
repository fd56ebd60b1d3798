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

use crate::error::CampaignError;
use crate::rank::Vector;
use crate::vectors::{AdVector, AdVectorWanted, PetStarVectorWanted};

pub use crate::model::CAMPAIGN_EVENTS;

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
    PetStarVector(PetStarVectorWanted),
    AdVector(AdVectorWanted),
    PetProfile(PetProfileChanged),
    Engagement(EngagementMeasured),
}

pub async fn handle(ctx: Arc<AppContext>, event: CampaignEvent) -> Result<(), MessageError> {
    match event {
        CampaignEvent::Engagement(e) => engagement(&ctx, e).await,
        CampaignEvent::PetProfile(p) => Ok(crate::petstars::refresh_document(&ctx, &p.pet_id).await?),
        CampaignEvent::PetStarVector(v) => embed_petstar(&ctx, v).await,
        CampaignEvent::AdVector(v) => embed_ad(&ctx, v).await,
    }
}

fn model_failed(f: shared::bedrock::ModelFailure) -> MessageError {
    use shared::bedrock::ModelFailure;
    match f {
        ModelFailure::Busy | ModelFailure::TimedOut => {
            MessageError::RetryAfter { after_secs: 30, reason: format!("the embedding model: {f:?}") }
        }
        ModelFailure::Failed(why) => MessageError::Retry(format!("the embedding model: {why}")),
    }
}

/// Makes and stores a PetStar's vector, if its document is still the revision asked for.
async fn embed_petstar(ctx: &AppContext, wanted: PetStarVectorWanted) -> Result<(), MessageError> {
    let Some(star) = crate::petstars::load(ctx, &wanted.pet_id).await? else { return Ok(()) };
    if star.doc_rev != wanted.doc_rev || star.search_text.trim().is_empty() {
        return Ok(());
    }
    let vector = shared::bedrock::embed(ctx, &star.search_text).await.map_err(model_failed)?;
    match ctx.table.write(crate::vectors::store_petstar_vector(&star.pet_id, star.doc_rev, Vector(vector))).await {
        // Refreshed meanwhile: that refresh queued its own message.
        Err(e) if e.is(&CampaignError::Changed) => Ok(()),
        other => Ok(other?),
    }
}

/// Makes and stores an ad's vector, if its words are still the ones asked for.
async fn embed_ad(ctx: &AppContext, wanted: AdVectorWanted) -> Result<(), MessageError> {
    let Ok(ad) = crate::ads::load(ctx, &wanted.ad_id).await else { return Ok(()) };
    let text = ad.text();
    if crate::vectors::digest(&text) != wanted.text_digest {
        return Ok(());
    }
    // Made already from these words (the ad was created, then approved unchanged).
    let stored = ctx.table.get::<AdVector>(&crate::keys::ad_vector_key(&ad.id)).await?;
    if stored.is_some_and(|v| v.text_digest == wanted.text_digest) {
        return Ok(());
    }
    let vector = shared::bedrock::embed(ctx, &text).await.map_err(model_failed)?;
    let stored = AdVector {
        ad_id: ad.id,
        vector: Vector(vector),
        text_digest: wanted.text_digest,
        model_id: shared::bedrock::model_id(ctx, &shared::bedrock::EMBEDDING_MODEL),
        computed_at: ctx.now(),
    };
    Ok(ctx.table.write(Write::put(&stored)?).await?)
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
