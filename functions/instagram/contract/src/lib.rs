//! The Instagram domain's public surface: the summary of a pet's linked account that PetStar
//! pages show, read through a typed view of the link item, and synced posts' figures by their
//! permalinks (campaign reports).

pub mod keys;

/// The shortcode of an Instagram post's permalink (`https://www.instagram.com/p/<code>/`, also
/// `/reel/<code>/`), if it is one.
pub fn shortcode(permalink: &str) -> Option<String> {
    let rest = permalink.trim().split_once("instagram.com/")?.1;
    let mut parts = rest.split(['/', '?', '#']).filter(|p| !p.is_empty());
    let kind = parts.next()?;
    let code = parts.next()?;
    (matches!(kind, "p" | "reel" | "tv")
        && code.len() <= 64
        && code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'))
    .then(|| code.to_string())
}

/// A synced post's figures, as the last sync read them.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostFigures {
    pub media_id: String,
    pub like_count: i64,
    pub comments_count: i64,
    /// Accounts that saw the post (Instagram's lifetime `reach`), for posts of the last 30 days
    /// when synced; `null` when not measured.
    pub reach: Option<i64>,
    pub synced_at: DateTime<Utc>,
}

/// The stored figures item (its key fields beside [`PostFigures`]).
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredPostFigures {
    pub connection_id: String,
    pub shortcode: String,
    #[serde(flatten)]
    pub figures: PostFigures,
}

impl Entity for StoredPostFigures {
    const TYPE: &'static str = "InstagramPostFigures";
    fn pk(&self) -> String {
        keys::data_partition(&self.connection_id)
    }
    fn sk(&self) -> String {
        keys::post_figures_key(&self.connection_id, &self.shortcode).sk
    }
}

/// The figures of posts by their permalinks, each on the account linked to its pet: `(pet,
/// permalink)` pairs in, figures out by permalink for those synced. Two batch reads: the links,
/// then the posts.
pub async fn post_figures(ctx: &AppContext, posts: &[(String, String)]) -> ApiResult<HashMap<String, PostFigures>> {
    let mut pets: Vec<String> = posts.iter().map(|(pet, _)| pet.clone()).collect();
    pets.sort();
    pets.dedup();
    let links = ctx.table.batch_get_items(&link_keys(&pets)).await?;
    post_figures_from(ctx, &pets, links, posts).await
}

/// The keys of `pets`' links, for a caller that reads them in its own batch
/// ([`post_figures_from`]).
pub fn link_keys(pets: &[String]) -> Vec<shared::table::Key> {
    pets.iter().filter(|p| shared::ids::is_valid_id(p)).map(|p| keys::link_key(p)).collect()
}

/// [`post_figures`], given `pets`' links as read at [`link_keys`] (one batch read: the posts).
pub async fn post_figures_from(
    ctx: &AppContext,
    pets: &[String],
    links: Vec<Option<shared::table::Item>>,
    posts: &[(String, String)],
) -> ApiResult<HashMap<String, PostFigures>> {
    let pets: Vec<&String> = pets.iter().filter(|p| shared::ids::is_valid_id(p)).collect();
    // The link names the connection its sync stored under.
    let mut connection_of: HashMap<String, String> = HashMap::new();
    for (pet, item) in pets.into_iter().zip(links) {
        if let Some(shared::table::AttrValue::S(c)) = item.as_ref().and_then(|i| i.get("connectionId")) {
            connection_of.insert(pet.to_string(), c.clone());
        }
    }
    let wanted: Vec<(String, shared::table::Key)> = posts
        .iter()
        .filter_map(|(pet, link)| {
            let connection = connection_of.get(pet)?;
            Some((link.clone(), keys::post_figures_key(connection, &shortcode(link)?)))
        })
        .collect();
    let figure_keys: Vec<shared::table::Key> = wanted.iter().map(|(_, k)| k.clone()).collect();
    let mut out = HashMap::new();
    for ((link, _), item) in wanted.into_iter().zip(ctx.table.batch_get_items(&figure_keys).await?) {
        if let Some(item) = item {
            out.insert(link, StoredPostFigures::from_item(item)?.figures);
        }
    }
    Ok(out)
}

use std::collections::HashMap;

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
