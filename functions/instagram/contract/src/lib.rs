//! The Instagram domain's public surface: the summary of a pet's linked account that PetStar
//! pages show, read through a typed view of the link item.

pub mod keys {
    //! Where a pet's Instagram link lives (the whole layout is in `instagram::keys`).
    use shared::table::Key;

    pub const LINK: &str = "INSTAGRAM";

    pub fn link_key(pet: &str) -> Key {
        Key::new(pets_contract::keys::pet_partition(pet), LINK)
    }
}

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shared::table::Entity;
use shared::{ApiResult, AppContext};
use utoipa::ToSchema;

/// A pet's Instagram engagement was measured (a sync), or the account was unlinked (no figure
/// any more): for whoever weighs it in, such as the PetStar recommendation.
pub static ENGAGEMENT: shared::events::Topic =
    shared::events::Topic { name: "instagram.engagement", summary: "A pet's Instagram engagement was measured" };

/// What [`ENGAGEMENT`] carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EngagementMeasured {
    pub pet_id: String,
    /// Average likes and comments per recent post, as a % of the followers; `None`: unlinked.
    pub engagement: Option<f64>,
    /// When it was measured: a subscriber keeps the newest (events may come out of order).
    pub measured_at: DateTime<Utc>,
}

/// The writes that publish a measurement in the transaction that stores it.
pub fn engagement_measured(
    ctx: &AppContext,
    pet: &str,
    engagement: Option<f64>,
    measured_at: DateTime<Utc>,
) -> ApiResult<Vec<shared::table::Write>> {
    let event = EngagementMeasured { pet_id: pet.into(), engagement, measured_at };
    shared::outbox::publish(ctx, &ENGAGEMENT, &event)
}

/// What anyone may see of a pet's Instagram account: who it is and how it is doing.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InstagramSummary {
    pub username: String,
    pub followers_count: i64,
    pub media_count: i64,
    /// Average likes and comments per post of the last 30 days, as a % of the followers
    /// (0 with no followers or no posts); `null` before the first sync.
    pub engagement_rate: Option<f64>,
    pub last_synced_at: Option<DateTime<Utc>>,
}

/// The link item as far as the summary goes (serde ignores the rest).
#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
struct Linked {
    pet_id: String,
    username: String,
    #[serde(default)]
    followers_count: i64,
    #[serde(default)]
    media_count: i64,
    #[serde(default)]
    engagement_rate: Option<f64>,
    #[serde(default)]
    last_synced_at: Option<DateTime<Utc>>,
}

impl Entity for Linked {
    const TYPE: &'static str = "InstagramLink";
    fn pk(&self) -> String {
        keys::link_key(&self.pet_id).pk
    }
    fn sk(&self) -> String {
        keys::LINK.into()
    }
}

/// The summary of pet `pet`'s linked account, if one is linked.
pub async fn summary(ctx: &AppContext, pet: &str) -> ApiResult<Option<InstagramSummary>> {
    Ok(ctx.table.get::<Linked>(&keys::link_key(pet)).await?.map(|l| InstagramSummary {
        username: l.username,
        followers_count: l.followers_count,
        media_count: l.media_count,
        engagement_rate: l.engagement_rate,
        last_synced_at: l.last_synced_at,
    }))
}
