//! Pets' public surface: who owns a pet, and pets as posts and campaign pages show them — read through typed views, never by attribute name elsewhere.

pub mod keys;
pub mod species;

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use shared::{ApiResult, AppContext};
use utoipa::ToSchema;

/// A pet's photo.
pub const PET_PHOTO: shared::media::Purpose =
    shared::media::Purpose { name: "pet", types: &[shared::media::IMAGES], max_bytes: 10 * shared::media::MB };

/// A pet as a post or a profile shows it.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PetSummary {
    pub id: String,
    pub name: String,
    pub species_id: String,
    pub photo_url: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PetItem {
    id: String,
    owner_id: String,
    name: String,
    species_id: String,
    #[serde(default)]
    photo_key: Option<String>,
}

async fn summary(ctx: &AppContext, p: PetItem) -> ApiResult<PetSummary> {
    let photo_url = match &p.photo_key {
        Some(k) => Some(shared::media::url(ctx, k).await?),
        None => None,
    };
    Ok(PetSummary { id: p.id, name: p.name, species_id: p.species_id, photo_url })
}

/// Summaries of the pets `ids` that exist (one BatchGetItem per 100 ids).
pub async fn summaries(ctx: &AppContext, ids: &[String]) -> ApiResult<HashMap<String, PetSummary>> {
    let items = ctx.table.batch_get_items(&summary_keys(ids)).await?;
    summaries_from(ctx, items).await
}

/// The items [`summaries_from`] needs, for a caller that reads them in its own batch
/// (`Table::batch_get_groups`).
pub fn summary_keys(ids: &[String]) -> Vec<shared::table::Key> {
    ids.iter().map(|id| keys::pet_key(id)).collect()
}

/// Summaries of the pets found among `items` (read at [`summary_keys`]).
pub async fn summaries_from(
    ctx: &AppContext,
    items: Vec<Option<shared::table::Item>>,
) -> ApiResult<HashMap<String, PetSummary>> {
    let mut out = HashMap::new();
    for item in items.into_iter().flatten() {
        let pet: PetItem = serde_dynamo::from_item(item)?;
        if !out.contains_key(&pet.id) {
            out.insert(pet.id.clone(), summary(ctx, pet).await?);
        }
    }
    Ok(out)
}

/// The pet named in the path (`{id}`), read with the caller's session: the routes about a pet
/// read it first, for its owner (`Function::reads_with_session`).
pub fn the_pet(path: &std::collections::HashMap<String, String>, _caller: &str) -> Vec<shared::table::Key> {
    shared::routes::id_param(path, "id").map(keys::pet_key).into_iter().collect()
}

/// A transaction's check that pet `id` exists and `owner` owns it (`on_fail` otherwise): an
/// owner check at no read of its own, and true when the write commits.
pub fn owned_by(id: &str, owner: &str, on_fail: impl Into<shared::ApiError>) -> shared::table::Write {
    shared::table::Write::check(keys::pet_key(id), "ownerId = :petOwner", on_fail)
        .value(":petOwner", shared::table::s(owner))
}

/// The owner of pet `id`, if it exists.
pub async fn owner_of(ctx: &AppContext, id: &str) -> ApiResult<Option<String>> {
    if !shared::ids::is_valid_id(id) {
        return Ok(None);
    }
    let pet: Option<PetItem> =
        ctx.table.get_item(&keys::pet_key(id)).await?.map(serde_dynamo::from_item).transpose()?;
    Ok(pet.map(|p| p.owner_id))
}

/// A pet as the campaign pages describe it: who owns it, what it is.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PetProfile {
    pub id: String,
    pub owner_id: String,
    pub name: String,
    pub species_id: String,
    /// `DOG` or `CAT`.
    pub kind: species::Kind,
    /// The breed's Korean name.
    pub breed: String,
    /// `SMALL`, `MEDIUM` or `LARGE`.
    pub size: species::Size,
    pub introduction: String,
    pub photo_url: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PetProfileItem {
    id: String,
    owner_id: String,
    name: String,
    species_id: String,
    #[serde(default)]
    introduction: String,
    #[serde(default)]
    photo_key: Option<String>,
}

async fn profile_of(ctx: &AppContext, p: PetProfileItem) -> ApiResult<Option<PetProfile>> {
    let Some(sp) = species::by_id(&p.species_id) else { return Ok(None) };
    let photo_url = match &p.photo_key {
        Some(k) => Some(shared::media::url(ctx, k).await?),
        None => None,
    };
    Ok(Some(PetProfile {
        id: p.id,
        owner_id: p.owner_id,
        name: p.name,
        species_id: p.species_id,
        kind: sp.kind,
        breed: sp.name_ko.to_string(),
        size: sp.size,
        introduction: p.introduction,
        photo_url,
    }))
}

/// Profiles of the pets `ids` that exist (one BatchGetItem per 100 ids).
pub async fn profiles(ctx: &AppContext, ids: &[String]) -> ApiResult<HashMap<String, PetProfile>> {
    profiles_from(ctx, ctx.table.batch_get_items(&profile_keys(ids)).await?).await
}

/// The items [`profiles_from`] needs, for a caller that reads them in its own batch
/// (`Table::batch_get_groups`).
pub fn profile_keys(ids: &[String]) -> Vec<shared::table::Key> {
    let mut unique: Vec<&String> = ids.iter().filter(|id| shared::ids::is_valid_id(id)).collect();
    unique.sort();
    unique.dedup();
    unique.iter().map(|id| keys::pet_key(id)).collect()
}

/// The profiles in the items read at [`profile_keys`], by pet.
pub async fn profiles_from(
    ctx: &AppContext,
    items: Vec<Option<shared::table::Item>>,
) -> ApiResult<HashMap<String, PetProfile>> {
    let mut out = HashMap::new();
    for item in items.into_iter().flatten() {
        let pet: PetProfileItem = serde_dynamo::from_item(item)?;
        if let Some(p) = profile_of(ctx, pet).await? {
            out.insert(p.id.clone(), p);
        }
    }
    Ok(out)
}

/// The profile of pet `id`, if it exists.
pub async fn profile(ctx: &AppContext, id: &str) -> ApiResult<Option<PetProfile>> {
    Ok(profiles(ctx, &[id.to_string()]).await?.remove(id))
}

/// What a pet's care advice is made from: what it is, how old and how heavy.
#[derive(Debug, Clone, PartialEq)]
pub struct PetFacts {
    pub id: String,
    pub owner_id: String,
    pub name: String,
    /// `DOG` or `CAT`.
    pub kind: species::Kind,
    /// The breed's Korean name.
    pub breed: String,
    pub birthday: Option<chrono::NaiveDate>,
    pub weight_kg: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PetFactsItem {
    id: String,
    owner_id: String,
    name: String,
    species_id: String,
    #[serde(default)]
    birthday: Option<chrono::NaiveDate>,
    #[serde(default)]
    weight_kg: Option<f64>,
}

/// The facts of pet `id`, if it exists (read with the session when the route asks for
/// [`the_pet`]).
pub async fn facts(ctx: &AppContext, id: &str) -> ApiResult<Option<PetFacts>> {
    if !shared::ids::is_valid_id(id) {
        return Ok(None);
    }
    let Some(item) = ctx.table.get_item(&keys::pet_key(id)).await? else { return Ok(None) };
    let p: PetFactsItem = serde_dynamo::from_item(item)?;
    let Some(sp) = species::by_id(&p.species_id) else { return Ok(None) };
    Ok(Some(PetFacts {
        id: p.id,
        owner_id: p.owner_id,
        name: p.name,
        kind: sp.kind,
        breed: sp.name_ko.to_string(),
        birthday: p.birthday,
        weight_kg: p.weight_kg,
    }))
}

/// A pet's profile changed in what others describe it by (its name, breed or introduction):
/// for whoever keeps a copy of it, such as the PetStar ranking document.
pub static PROFILE_CHANGED: shared::events::Topic =
    shared::events::Topic { name: "pets.profile", summary: "A pet's name, breed or introduction changed" };

/// What [`PROFILE_CHANGED`] carries: which pet, and when (the subscriber reads the pet as it is).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PetProfileChanged {
    pub pet_id: String,
    pub changed_at: chrono::DateTime<chrono::Utc>,
}
