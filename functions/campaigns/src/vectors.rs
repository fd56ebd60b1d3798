//! The embedding vectors the recommendation blends with its words (see [`crate::rank`]): a
//! PetStar's, from the same text as its ranking document, and an ad's, from the ad's words.
//! Neither is computed on a request. The write that changes what a vector is made of queues a
//! message in its own transaction (outbox): a PetStar's document refresh names its revision,
//! an ad's creation or edit the digest of its text. The campaign events worker asks Bedrock for
//! the vector and stores it only while it still fits: the PetStar's document revision unchanged,
//! the ad's text digest unchanged (a later change has its own message coming).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use shared::bedrock::{self, ModelFailure};
use shared::table::{Entity, Write, n, s};
use shared::worker::MessageError;
use shared::{ApiResult, AppContext};

use crate::ads::Ad;
use crate::error::CampaignError;
use crate::events::CAMPAIGN_EVENTS;
use crate::keys;
use crate::petstars::PetStar;
use crate::rank::Vector;

/// A PetStar's document changed: its vector is to be made for revision `doc_rev`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PetStarVectorWanted {
    pub pet_id: String,
    pub doc_rev: u64,
}

/// An ad's words changed: its vector is to be made for the text with this digest.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdVectorWanted {
    pub ad_id: String,
    pub text_digest: String,
}

/// An ad's vector, beside the ad.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdVector {
    pub ad_id: String,
    pub vector: Vector,
    /// The digest of the text it was made from ([`digest`]): a vector of older words is not used.
    pub text_digest: String,
    pub model_id: String,
    pub computed_at: DateTime<Utc>,
}

impl Entity for AdVector {
    const TYPE: &'static str = "AdVector";
    fn pk(&self) -> String {
        keys::ad_vector_key(&self.ad_id).pk
    }
    fn sk(&self) -> String {
        keys::ad_vector_key(&self.ad_id).sk
    }
}

/// A short digest of a text.
pub fn digest(text: &str) -> String {
    hex::encode(&Sha256::digest(text.as_bytes())[..12])
}

/// The outbox message that has the worker make `star`'s vector (in the transaction that writes
/// its new document).
pub fn petstar_vector_wanted(ctx: &AppContext, star: &PetStar) -> ApiResult<Write> {
    shared::outbox::message(
        ctx,
        &CAMPAIGN_EVENTS,
        &PetStarVectorWanted { pet_id: star.pet_id.clone(), doc_rev: star.doc_rev },
    )
}

/// The outbox message that has the worker make `ad`'s vector (in the transaction that writes
/// the ad's words).
pub fn ad_vector_wanted(ctx: &AppContext, ad: &Ad) -> ApiResult<Write> {
    shared::outbox::message(
        ctx,
        &CAMPAIGN_EVENTS,
        &AdVectorWanted { ad_id: ad.id.clone(), text_digest: digest(&ad.text()) },
    )
}

/// The ad's vector, if one was made from its words as they are.
pub fn usable(ad: &Ad, vector: Option<AdVector>) -> Option<Vector> {
    vector.filter(|v| v.text_digest == digest(&ad.text())).map(|v| v.vector)
}

fn model_failed(f: ModelFailure) -> MessageError {
    match f {
        ModelFailure::Busy | ModelFailure::TimedOut => {
            MessageError::RetryAfter { after_secs: 30, reason: format!("the embedding model: {f:?}") }
        }
        ModelFailure::Failed(why) => MessageError::Retry(format!("the embedding model: {why}")),
    }
}

/// Makes and stores a PetStar's vector, if its document is still the revision asked for.
pub async fn embed_petstar(ctx: &AppContext, wanted: PetStarVectorWanted) -> Result<(), MessageError> {
    let Some(star) = crate::petstars::load(ctx, &wanted.pet_id).await? else { return Ok(()) };
    if star.doc_rev != wanted.doc_rev || star.search_text.trim().is_empty() {
        return Ok(());
    }
    let vector = bedrock::embed(ctx, &star.search_text).await.map_err(model_failed)?;
    let write = Write::update(keys::petstar_key(&star.pet_id), "SET #v = :v, vectorRev = :rev")
        .name("#v", "vector")
        .value(":v", s(Vector(vector).encoded()))
        .value(":rev", n(star.doc_rev))
        .when("docRev = :rev", CampaignError::Changed);
    match ctx.table.write(write).await {
        // Refreshed meanwhile: that refresh queued its own message.
        Err(e) if e.is(&CampaignError::Changed) => Ok(()),
        other => Ok(other?),
    }
}

/// Makes and stores an ad's vector, if its words are still the ones asked for.
pub async fn embed_ad(ctx: &AppContext, wanted: AdVectorWanted) -> Result<(), MessageError> {
    let Ok(ad) = crate::ads::load(ctx, &wanted.ad_id).await else { return Ok(()) };
    let text = ad.text();
    if digest(&text) != wanted.text_digest {
        return Ok(());
    }
    // Made already from these words (the ad was created, then approved unchanged).
    let stored = ctx.table.get::<AdVector>(&keys::ad_vector_key(&ad.id)).await?;
    if stored.is_some_and(|v| v.text_digest == wanted.text_digest) {
        return Ok(());
    }
    let vector = bedrock::embed(ctx, &text).await.map_err(model_failed)?;
    let stored = AdVector {
        ad_id: ad.id,
        vector: Vector(vector),
        text_digest: wanted.text_digest,
        model_id: bedrock::model_id(ctx, &bedrock::EMBEDDING_MODEL),
        computed_at: ctx.now(),
    };
    Ok(ctx.table.write(Write::put(&stored)?).await?)
}

/// The vector a PetStar item keeps. One made for an earlier revision of its document is used
/// until the worker has made the new one (seconds): nearly right beats words alone.
pub fn of_petstar(star: &PetStar) -> Option<&[f32]> {
    star.vector.as_ref().map(|v| v.0.as_slice())
}
