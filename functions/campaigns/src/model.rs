//! The records more than one module of the domain reads: a pet's portfolio and histories (the
//! PetStar page and the ranking document show them), and reviews (an application shows its own).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use shared::table::Entity;
use utoipa::ToSchema;

use crate::keys;

/// A pet's portfolio. The item also counts the pet's histories (`historyCount`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Portfolio {
    #[serde(default)]
    pub pet_id: String,
    #[serde(default)]
    pub introduction: String,
    #[serde(default)]
    pub strengths: Vec<String>,
    #[serde(default)]
    pub keywords: Vec<String>,
    #[serde(default)]
    pub media_keys: Vec<String>,
    #[serde(default)]
    pub history_count: u32,
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
}

impl Entity for Portfolio {
    const TYPE: &'static str = "Portfolio";
    fn pk(&self) -> String {
        keys::pet_partition(&self.pet_id)
    }
    fn sk(&self) -> String {
        keys::PORTFOLIO.into()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct History {
    pub id: String,
    pub pet_id: String,
    pub title: String,
    pub date: NaiveDate,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub image_keys: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Entity for History {
    const TYPE: &'static str = "History";
    fn pk(&self) -> String {
        keys::pet_partition(&self.pet_id)
    }
    fn sk(&self) -> String {
        keys::history_sort(&self.id)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReviewStatus {
    Pending,
    Submitted,
    Approved,
    Rejected,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Review {
    /// The application's id.
    pub id: String,
    pub ad_id: String,
    pub advertiser_id: String,
    pub pet_id: String,
    pub owner_id: String,
    pub status: ReviewStatus,
    #[serde(default)]
    pub url: Option<String>,
    /// Why the advertiser rejected it.
    #[serde(default)]
    pub reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Entity for Review {
    const TYPE: &'static str = "Review";
    fn pk(&self) -> String {
        keys::review_key(&self.id).pk
    }
    fn sk(&self) -> String {
        keys::review_key(&self.id).sk
    }
}

/// The campaign events worker's queue: events other domains publish that campaigns keeps (an
/// Instagram engagement measured, a pet's profile edited) and the vectors its own writes ask for.
pub const CAMPAIGN_EVENTS: shared::queues::Queue =
    shared::queues::Queue { name: "campaign-events", visibility_timeout_secs: 30, max_receive_count: 5 };
