//! Influencer marketing (PetFul's core): pets become **PetStars** once an administrator accepts
//! them, **advertisers** (approved companies, see identity) publish **ads** that go through a
//! dated lifecycle, PetStars apply, advertisers select, selected PetStars post reviews; and the
//! PetStars that fit an ad best are ranked here, in Rust ([`rank`]).
//!
//! Keys and access patterns: [`keys`]. All dates are days in Asia/Seoul.

pub mod ads;
pub mod applications;
pub mod error;
pub mod events;
pub mod keys;
pub mod lifecycle;
pub mod model;
pub mod moderation;
pub mod petstars;
pub mod portfolio;
pub mod rank;
pub mod recommend;
pub mod report;
pub mod reviews;
pub mod vectors;

use chrono::{DateTime, NaiveDate, Utc};
use shared::routes::Domain;
use shared::table::Write;
use shared::{ApiResult, AppContext};

pub(crate) const PKG: &str = env!("CARGO_PKG_NAME");

pub const DOMAIN: Domain = Domain {
    tags: &[
        shared::routes::Tag {
            name: "petstars",
            description: "PetStars: pets administrators accepted as influencers, with their portfolios and activity histories, and the public PetStar pages.",
        },
        shared::routes::Tag {
            name: "ads",
            description: "Advertisers' ads: their lifecycle from approval to the end of the campaign, the PetStars recommended for them (words and meaning), and the result report.",
        },
        shared::routes::Tag {
            name: "applications",
            description: "PetStars applying to ads, advertisers selecting them, and the review posts of the campaign.",
        },
        shared::routes::Tag {
            name: "advertisers",
            description: "Advertiser accounts: sign-up with a business registration number, the approval an administrator gives, the company profile and documents.",
        },
    ],
    errors: &[error::CampaignError::CODES],
    name: "campaigns",
    uploads: &[],
    functions: &[
        &moderation::REMOVAL_WORKER,
        &petstars::APPLY,
        &petstars::ADMIN_LIST,
        &petstars::ADMIN_DECIDE,
        &petstars::LIST,
        &petstars::GET,
        &portfolio::PUT,
        &portfolio::GET,
        &portfolio::HISTORY_CREATE,
        &portfolio::HISTORY_LIST,
        &portfolio::HISTORY_GET,
        &portfolio::HISTORY_UPDATE,
        &portfolio::HISTORY_DELETE,
        &ads::CREATE,
        &ads::UPDATE,
        &ads::DELETE,
        &ads::GET,
        &report::REPORT,
        &ads::LIST,
        &ads::MINE,
        &ads::ADMIN_LIST,
        &ads::ADMIN_DECIDE,
        &lifecycle::JOB,
        &applications::APPLY,
        &applications::UPDATE,
        &applications::CANCEL,
        &applications::MINE,
        &applications::OF_PET,
        &applications::OF_AD,
        &applications::SELECT,
        &reviews::SUBMIT,
        &reviews::DECIDE,
        &recommend::RECOMMENDED,
        &events::EVENTS_WORKER,
    ],
};

/// Korean time: campaign dates are days in Seoul.
pub use shared::clock::seoul;

/// Today in Seoul.
pub fn today(now: DateTime<Utc>) -> NaiveDate {
    shared::clock::seoul_day(now)
}

/// The outbox write that tells `recipient` `text` (kind `CAMPAIGN`), once per `event_id`.
pub(crate) fn tell(
    ctx: &AppContext,
    event_id: String,
    actor: &str,
    recipient: &str,
    target: (&str, &str),
    text: String,
) -> ApiResult<Vec<Write>> {
    notifications_contract::outbox(
        ctx,
        vec![notifications_contract::NotificationEvent {
            event_id,
            kind: notifications_contract::NotificationKind::Campaign,
            actor_id: actor.to_string(),
            recipient_id: recipient.to_string(),
            target_type: target.0.to_string(),
            target_id: target.1.to_string(),
            excerpt: Some(text),
        }],
    )
}
