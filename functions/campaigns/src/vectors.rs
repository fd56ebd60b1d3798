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
use shared::table::{Entity, Write, n, s};
use shared::{ApiResult, AppContext};

use crate::error::CampaignError;
use crate::keys;
use crate::model::CAMPAIGN_EVENTS;
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

/// The outbox message that has the worker make PetStar `pet`'s vector for document revision
/// `doc_rev` (in the transaction that writes that revision).
pub fn petstar_vector_wanted(ctx: &AppContext, pet: &str, doc_rev: u64) -> ApiResult<Write> {
    shared::outbox::message(ctx, &CAMPAIGN_EVENTS, &PetStarVectorWanted { pet_id: pet.to_string(), doc_rev })
}

/// The outbox message that has the worker make ad `ad`'s vector of `text` (in the transaction
/// that writes the ad's words).
pub fn ad_vector_wanted(ctx: &AppContext, ad: &str, text: &str) -> ApiResult<Write> {
    shared::outbox::message(ctx, &CAMPAIGN_EVENTS, &AdVectorWanted { ad_id: ad.to_string(), text_digest: digest(text) })
}

/// The stored vector, if it was made from `text` as it is.
pub fn usable(text: &str, vector: Option<AdVector>) -> Option<Vector> {
    vector.filter(|v| v.text_digest == digest(text)).map(|v| v.vector)
}

/// The write that keeps a PetStar's vector, made for document revision `doc_rev`, while the
/// document is still that revision (`CampaignError::Changed` otherwise).
pub fn store_petstar_vector(pet: &str, doc_rev: u64, vector: Vector) -> Write {
    Write::update(keys::petstar_key(pet), "SET #v = :v, vectorRev = :rev")
        .name("#v", "vector")
        .value(":v", s(vector.encoded()))
        .value(":rev", n(doc_rev))
        .when("docRev = :rev", CampaignError::Changed)
}
