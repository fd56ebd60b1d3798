//! Pets: a user's animals, one of which is their main pet.
//!
//! Keys and layout: [`pets_contract::keys`].

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use shared::handler;
use shared::handler::{Caller, Created, Json, NoContent, Okay, Path, Viewer};
use shared::routes::{Access, Function, Method, Permission, said};
use shared::table::{AttrValue, Entity, Gsi, Query, Write, n, s};
use shared::validate::{Validate, Validator};
use shared::{ApiError, ApiResult, AppContext};
use utoipa::ToSchema;

use crate::PKG;
use crate::error::PetError;
use crate::species::{self, Species};
use pets_contract::keys;

/// A write that answers no body presigns no media URL.
const REMOVE: &[Permission] = &[Permission::TableRead, Permission::TableWrite];
const WRITE: &[Permission] = &[Permission::TableRead, Permission::TableWrite, Permission::MediaRead];
const READ: &[Permission] = &[Permission::TableRead, Permission::MediaRead];
/// Pets one user may keep.
const MAX_PETS: usize = 30;
/// No pet alive today was born earlier.
const EARLIEST_BIRTHDAY: NaiveDate = NaiveDate::from_ymd_opt(1990, 1, 1).expect("a valid date");

pub static CREATE: Function = Function::http(Method::Post, "/pets", "pets-create", PKG, Access::User, handler!(create))
    .permissions(WRITE)
    .doc("pets", "Register a pet; the first one becomes the main pet")
    .example(r#"{"name":"초코","speciesId":"dog-maltese","gender":"FEMALE","birthday":"2021-03-14","weightKg":3.2,"neutered":true}"#)
.responses(&[said(201, "Registered.")])
    .errors(&[409]);

pub static MINE: Function = Function::http(Method::Get, "/pets", "pets-mine", PKG, Access::User, handler!(mine))
    .permissions(READ)
    .doc("pets", "My pets")
    .responses(&[said(200, "My pets.")]);

pub static OF_USER: Function =
    Function::http(Method::Get, "/users/{id}/pets", "pets-of-user", PKG, Access::Public, handler!(of_user))
        .permissions(READ)
        .doc("pets", "A user's pets")
        .responses(&[said(200, "Their pets.")]);

pub static GET: Function = Function::http(Method::Get, "/pets/{id}", "pets-get", PKG, Access::Public, handler!(get))
    .permissions(READ)
    .doc("pets", "A pet")
    .responses(&[said(200, "The pet.")])
    .errors(&[404])
    .reads_with_session(pets_contract::the_pet);

pub static UPDATE: Function =
    Function::http(Method::Patch, "/pets/{id}", "pets-update", PKG, Access::User, handler!(update))
        .permissions(WRITE)
        .doc("pets", "Change my pet")
        .example(r#"{"weightKg":3.4,"introduction":"산책을 제일 좋아해요"}"#)
        .responses(&[said(200, "The pet.")])
        .errors(&[404, 409])
        .reads_with_session(pets_contract::the_pet);

pub static DELETE: Function =
    Function::http(Method::Delete, "/pets/{id}", "pets-delete", PKG, Access::User, handler!(delete))
        .permissions(REMOVE)
        .doc("pets", "Remove my pet; if it was the main pet another one becomes main")
        .responses(&[said(204, "Removed.")])
        .errors(&[404])
        .reads_with_session(pets_contract::the_pet);

pub static SET_MAIN: Function =
    Function::http(Method::Put, "/users/me/main-pet", "pets-set-main", PKG, Access::User, handler!(set_main))
        .permissions(WRITE)
        .doc("pets", "Choose my main pet")
        .example(r#"{"petId":"01JD3K4Q5R6S7T8V9W0XYZABCD"}"#)
        .responses(&[said(200, "The new main pet.")])
        .errors(&[404]);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Gender {
    Male,
    Female,
    Unknown,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pet {
    pub id: String,
    pub owner_id: String,
    pub name: String,
    pub species_id: String,
    pub gender: Gender,
    #[serde(default)]
    pub birthday: Option<NaiveDate>,
    #[serde(default)]
    pub weight_kg: Option<f64>,
    #[serde(default)]
    pub neutered: Option<bool>,
    #[serde(default)]
    pub introduction: String,
    #[serde(default)]
    pub photo_key: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Entity for Pet {
    const TYPE: &'static str = "Pet";
    fn pk(&self) -> String {
        keys::pet_partition(&self.id)
    }
    fn sk(&self) -> String {
        keys::pet_key(&self.id).sk
    }
    fn index_keys(&self) -> Vec<(Gsi, String, String)> {
        vec![(Gsi::Gsi1, keys::owner_partition(&self.owner_id), keys::pet_partition(&self.id))]
    }
}

pub use pets_contract::keys::{name_key, pet_key};

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PetView {
    pub id: String,
    pub owner_id: String,
    pub name: String,
    pub species: Species,
    pub gender: Gender,
    pub birthday: Option<NaiveDate>,
    pub weight_kg: Option<f64>,
    pub neutered: Option<bool>,
    pub introduction: String,
    pub photo_url: Option<String>,
    pub is_main: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PetList {
    pub items: Vec<PetView>,
}

async fn view(ctx: &AppContext, p: &Pet, main: Option<&str>) -> ApiResult<PetView> {
    let species = *species::by_id(&p.species_id).ok_or_else(|| ApiError::internal("pet with an unknown species"))?;
    Ok(PetView {
        id: p.id.clone(),
        owner_id: p.owner_id.clone(),
        name: p.name.clone(),
        species,
        gender: p.gender,
        birthday: p.birthday,
        weight_kg: p.weight_kg,
        neutered: p.neutered,
        introduction: p.introduction.clone(),
        photo_url: match &p.photo_key {
            Some(k) => Some(shared::media::url(ctx, k).await?),
            None => None,
        },
        is_main: main == Some(p.id.as_str()),
        created_at: p.created_at,
    })
}

impl Pet {
    /// The pet as its owner's profile shows it, kept on the account item while it is the main pet.
    fn as_main(&self) -> identity_contract::MainPet {
        identity_contract::MainPet {
            id: self.id.clone(),
            name: self.name.clone(),
            species_id: self.species_id.clone(),
            photo_key: self.photo_key.clone(),
        }
    }
}

/// What pets keeps on its owner's account item: which pet is the main one (and, beside it,
/// the copy `identity_contract::MainPet` the profile shows).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct MainPetOf {
    #[serde(default)]
    main_pet_id: Option<String>,
}

/// The owner's main pet id, from the user item.
async fn main_pet_of(ctx: &AppContext, user: &str) -> ApiResult<Option<String>> {
    let found: Option<MainPetOf> =
        ctx.table.get_item(&shared::account::user_key(user)).await?.map(serde_dynamo::from_item).transpose()?;
    Ok(found.and_then(|f| f.main_pet_id))
}

/// The owner's pets, oldest first, read from the name claims in the owner's own partition and
/// the pets they point at: both strongly consistent, so a pet created or deleted a moment ago is
/// seen as it is (the owner index lags, as every global secondary index does).
async fn pets_of(ctx: &AppContext, owner: &str) -> ApiResult<Vec<Pet>> {
    let claims = Query::partition(shared::keys::user_partition(owner)).begins_with(keys::NAME_PREFIX).limit(MAX_PETS);
    let ids: Vec<String> = ctx
        .table
        .query_items_all(&claims, Some(MAX_PETS))
        .await?
        .into_iter()
        .filter_map(|claim| match claim.get("petId") {
            Some(AttrValue::S(id)) => Some(id.clone()),
            _ => None,
        })
        .collect();
    let keys: Vec<_> = ids.iter().map(|id| pet_key(id)).collect();
    let mut pets: Vec<Pet> = ctx.table.batch_get::<Pet>(&keys).await?.into_iter().flatten().collect();
    // Ids are time-ordered: oldest first, as the owner index lists them.
    pets.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(pets)
}

async fn list_of(ctx: &AppContext, owner: &str) -> ApiResult<Okay<PetList>> {
    let pets = pets_of(ctx, owner).await?;
    let main = main_pet_of(ctx, owner).await?;
    let mut items = Vec::new();
    for p in &pets {
        items.push(view(ctx, p, main.as_deref()).await?);
    }
    Ok(Okay(PetList { items }))
}

fn not_found() -> ApiError {
    PetError::PetNotFound.into()
}

async fn load(ctx: &AppContext, id: &str) -> ApiResult<Pet> {
    if !shared::ids::is_valid_id(id) {
        return Err(not_found());
    }
    ctx.table.get::<Pet>(&pet_key(id)).await?.ok_or_else(not_found)
}

/// The pet, if the caller owns it; someone else's pet answers 403.
async fn load_own(ctx: &AppContext, me: &str, id: &str) -> ApiResult<Pet> {
    let pet = load(ctx, id).await?;
    if pet.owner_id != me {
        return Err(PetError::NotYourPet.into());
    }
    Ok(pet)
}

fn date_or_null<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<NaiveDate>>, D::Error> {
    Option::<NaiveDate>::deserialize(d).map(Some)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PetInput {
    pub name: String,
    pub species_id: String,
    pub gender: Gender,
    #[serde(default)]
    pub birthday: Option<NaiveDate>,
    #[serde(default)]
    pub weight_kg: Option<f64>,
    #[serde(default)]
    pub neutered: Option<bool>,
    #[serde(default)]
    pub introduction: Option<String>,
    #[serde(default)]
    pub photo_key: Option<String>,
}

fn check_common(
    v: &mut Validator,
    species_id: Option<&str>,
    birthday: Option<NaiveDate>,
    weight: Option<f64>,
    intro: Option<&str>,
) {
    if let Some(id) = species_id {
        v.check(species::by_id(id).is_some(), "speciesId", "UNKNOWN_SPECIES", "see GET /species");
    }
    if let Some(b) = birthday {
        v.check(b <= Utc::now().date_naive(), "birthday", "IN_FUTURE", "a birthday cannot be in the future");
    }
    if let Some(b) = birthday {
        v.check(b >= EARLIEST_BIRTHDAY, "birthday", "OUT_OF_RANGE", "a birthday from 1990 on");
    }
    if let Some(w) = weight {
        v.number("weightKg", w, 0.01, 150.0);
    }
    if let Some(i) = intro {
        v.text("introduction", i, 0, 500);
    }
}

impl Validate for PetInput {
    fn validate(&self, v: &mut Validator) {
        v.text("name", &self.name, 1, 20);
        check_common(v, Some(&self.species_id), self.birthday, self.weight_kg, self.introduction.as_deref());
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PetPatch {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub species_id: Option<String>,
    #[serde(default)]
    pub gender: Option<Gender>,
    #[serde(default, deserialize_with = "date_or_null")]
    #[schema(value_type = Option<String>)]
    pub birthday: Option<Option<NaiveDate>>,
    #[serde(default)]
    pub weight_kg: Option<f64>,
    #[serde(default)]
    pub neutered: Option<bool>,
    #[serde(default)]
    pub introduction: Option<String>,
    #[serde(default)]
    pub photo_key: Option<String>,
}

impl Validate for PetPatch {
    fn validate(&self, v: &mut Validator) {
        if let Some(n) = &self.name {
            v.text("name", n, 1, 20);
        }
        check_common(
            v,
            self.species_id.as_deref(),
            self.birthday.flatten(),
            self.weight_kg,
            self.introduction.as_deref(),
        );
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MainPetRequest {
    pub pet_id: String,
}

impl Validate for MainPetRequest {
    fn validate(&self, _: &mut Validator) {}
}

fn name_taken() -> ApiError {
    PetError::PetNameTaken.into()
}

fn claim_name(owner: &str, name: &str, pet_id: &str) -> Write {
    let mut item = name_key(owner, name).to_item();
    item.insert("petId".into(), s(pet_id));
    Write::put_item(item).if_absent(name_taken())
}

pub async fn create(ctx: Arc<AppContext>, caller: Caller, Json(body): Json<PetInput>) -> ApiResult<Created<PetView>> {
    let me = caller.user_id.clone();
    if let Some(k) = &body.photo_key {
        shared::media::verify(&ctx, &me, k, &[&pets_contract::PET_PHOTO]).await?;
    }
    let now = ctx.now();
    let pet = Pet {
        id: shared::ids::new_id(now),
        owner_id: me.clone(),
        name: body.name.trim().to_string(),
        species_id: body.species_id,
        gender: body.gender,
        birthday: body.birthday,
        weight_kg: body.weight_kg,
        neutered: body.neutered,
        introduction: body.introduction.unwrap_or_default().trim().to_string(),
        photo_key: body.photo_key,
        created_at: now,
        updated_at: now,
    };
    ctx.table
        .transact(vec![
            Write::put(&pet)?.if_absent(ApiError::internal("pet id collision")),
            claim_name(&me, &pet.name, &pet.id),
            // The first pet becomes the main pet; later ones leave it as it is. At most
            // MAX_PETS pets, counted in the same transaction.
            Write::update(
                shared::account::user_key(&me),
                "SET mainPetId = if_not_exists(mainPetId, :p), #mp = if_not_exists(#mp, :mp) ADD petCount :one",
            )
            .name("#mp", identity_contract::MAIN_PET_ATTRIBUTE)
            .value(":p", s(&pet.id))
            .value(":mp", pet.as_main().value()?)
            .value(":one", n(1))
            .value(":max", n(MAX_PETS))
            .when("attribute_not_exists(petCount) OR petCount < :max", PetError::TooManyPets),
        ])
        .await?;
    let main = main_pet_of(&ctx, &me).await?;
    Ok(Created(view(&ctx, &pet, main.as_deref()).await?))
}

pub async fn mine(ctx: Arc<AppContext>, caller: Caller) -> ApiResult<Okay<PetList>> {
    list_of(&ctx, &caller.user_id).await
}

pub async fn of_user(ctx: Arc<AppContext>, _: Viewer, Path(user): Path<String>) -> ApiResult<Okay<PetList>> {
    if !shared::ids::is_valid_id(&user) {
        return Err(PetError::UserNotFound.into());
    }
    list_of(&ctx, &user).await
}

pub async fn get(ctx: Arc<AppContext>, Path(id): Path<String>) -> ApiResult<Okay<PetView>> {
    let pet = load(&ctx, &id).await?;
    let main = main_pet_of(&ctx, &pet.owner_id).await?;
    Ok(Okay(view(&ctx, &pet, main.as_deref()).await?))
}

pub async fn update(
    ctx: Arc<AppContext>,
    caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<PetPatch>,
) -> ApiResult<Okay<PetView>> {
    let mut pet = load_own(&ctx, &caller.user_id, &id).await?;
    let (old_name, seen) = (pet.name.clone(), pet.updated_at);
    let described = |p: &Pet| (p.name.clone(), p.species_id.clone(), p.introduction.clone());
    let was = described(&pet);
    if let Some(k) = &body.photo_key {
        shared::media::verify(&ctx, &pet.owner_id, k, &[&pets_contract::PET_PHOTO]).await?;
        pet.photo_key = Some(k.clone());
    }
    if let Some(n) = body.name {
        pet.name = n.trim().to_string();
    }
    if let Some(sp) = body.species_id {
        pet.species_id = sp;
    }
    if let Some(g) = body.gender {
        pet.gender = g;
    }
    if let Some(b) = body.birthday {
        pet.birthday = b;
    }
    if let Some(w) = body.weight_kg {
        pet.weight_kg = Some(w);
    }
    if let Some(n) = body.neutered {
        pet.neutered = Some(n);
    }
    if let Some(i) = body.introduction {
        pet.introduction = i.trim().to_string();
    }
    pet.updated_at = ctx.now();
    // Optimistic: the put only applies to the version we read. The main pet's copy on the
    // account follows it in the same transaction, held to the main pet as read: a change of
    // the main pet meanwhile fails it, and it is planned again.
    for _ in 0..5 {
        let main = main_pet_of(&ctx, &pet.owner_id).await?;
        let mut writes = vec![
            Write::put(&pet)?.when("updatedAt = :seen", PetError::PetChanged).value(":seen", shared::table::time(seen)),
        ];
        if old_name.to_lowercase() != pet.name.to_lowercase() {
            writes.push(claim_name(&pet.owner_id, &pet.name, &pet.id));
            writes.push(Write::delete(name_key(&pet.owner_id, &old_name)));
        }
        if described(&pet) != was {
            let changed = pets_contract::PetProfileChanged { pet_id: pet.id.clone(), changed_at: pet.updated_at };
            writes.extend(shared::outbox::publish(&ctx, &pets_contract::PROFILE_CHANGED, &changed)?);
        }
        let user = shared::account::user_key(&pet.owner_id);
        writes.push(if main.as_deref() == Some(pet.id.as_str()) {
            Write::update(user, "SET #mp = :mp")
                .name("#mp", identity_contract::MAIN_PET_ATTRIBUTE)
                .value(":mp", pet.as_main().value()?)
                .value(":p", s(&pet.id))
                .when("mainPetId = :p", PetError::MainPetMoved)
        } else {
            Write::check(user, "attribute_not_exists(mainPetId) OR mainPetId <> :p", PetError::MainPetMoved)
                .value(":p", s(&pet.id))
        });
        match ctx.table.transact(writes).await {
            Ok(()) => return Ok(Okay(view(&ctx, &pet, main.as_deref()).await?)),
            Err(e) if e.is(&PetError::MainPetMoved) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(PetError::PetsChanged.into())
}

pub async fn delete(ctx: Arc<AppContext>, caller: Caller, Path(id): Path<String>) -> ApiResult<NoContent> {
    let pet = load_own(&ctx, &caller.user_id, &id).await?;
    let owner = pet.owner_id.clone();
    let user = shared::account::user_key(&owner);
    let retry = || -> ApiError { PetError::MainPetMoved.into() };
    // One transaction: the pet goes, and if it was the main pet "main" moves to the oldest
    // remaining pet (checked to still exist) or is cleared. A concurrent change of the main
    // pet or of that successor fails the transaction, which is then planned again, so the
    // owner is never left with a main pet that does not exist, or none while pets remain.
    for _ in 0..5 {
        let main = main_pet_of(&ctx, &owner).await?;
        let mut writes =
            vec![Write::delete(pet.key()).if_present(not_found()), Write::delete(name_key(&owner, &pet.name))];
        if main.as_deref() == Some(pet.id.as_str()) {
            let next = pets_of(&ctx, &owner).await?.into_iter().find(|p| p.id != pet.id);
            let moved = match &next {
                Some(successor) => {
                    // The successor as read: its copy on the account is what it is.
                    writes.push(
                        Write::check(successor.key(), "updatedAt = :seen", retry())
                            .value(":seen", shared::table::time(successor.updated_at)),
                    );
                    Write::update(user.clone(), "SET mainPetId = :next, #mp = :mp ADD petCount :m")
                        .name("#mp", identity_contract::MAIN_PET_ATTRIBUTE)
                        .value(":next", s(&successor.id))
                        .value(":mp", successor.as_main().value()?)
                }
                None => Write::update(user.clone(), "REMOVE mainPetId, #mp ADD petCount :m")
                    .name("#mp", identity_contract::MAIN_PET_ATTRIBUTE),
            };
            writes.push(moved.value(":m", n(-1)).value(":p", s(&pet.id)).when("mainPetId = :p", retry()));
        } else {
            writes.push(
                Write::update(user.clone(), "ADD petCount :m")
                    .value(":m", n(-1))
                    .value(":p", s(&pet.id))
                    .when("attribute_not_exists(mainPetId) OR mainPetId <> :p", retry()),
            );
        }
        match ctx.table.transact(writes).await {
            Ok(()) => return Ok(NoContent),
            Err(e) if e.is(&PetError::MainPetMoved) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(PetError::PetsChanged.into())
}

pub async fn set_main(
    ctx: Arc<AppContext>,
    caller: Caller,
    Json(body): Json<MainPetRequest>,
) -> ApiResult<Okay<PetView>> {
    let me = caller.user_id.clone();
    let pet = load(&ctx, &body.pet_id).await?;
    if pet.owner_id != me {
        return Err(PetError::MayNotChoosePet.into());
    }
    ctx.table
        .transact(vec![
            // The pet as read, so that its copy on the account is what it is.
            Write::check(pet.key(), "ownerId = :me AND updatedAt = :seen", PetError::PetChanged)
                .value(":me", s(&me))
                .value(":seen", shared::table::time(pet.updated_at)),
            Write::update(shared::account::user_key(&me), "SET mainPetId = :p, #mp = :mp")
                .name("#mp", identity_contract::MAIN_PET_ATTRIBUTE)
                .value(":p", s(&pet.id))
                .value(":mp", pet.as_main().value()?),
        ])
        .await?;
    Ok(Okay(view(&ctx, &pet, Some(&pet.id)).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(input: serde_json::Value) -> Vec<(String, String)> {
        let input: PetInput = serde_json::from_value(input).unwrap();
        let mut v = Validator::new();
        input.validate(&mut v);
        match v.finish() {
            Ok(()) => Vec::new(),
            Err(ApiError::Validation(list)) => list.into_iter().map(|p| (p.field, p.code)).collect(),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn a_pet_is_a_real_animal_of_this_world() {
        let ok = serde_json::json!({"name": "초코", "speciesId": "dog-maltese", "gender": "FEMALE", "birthday": "2021-03-14", "weightKg": 3.2});
        assert!(problems(ok.clone()).is_empty());
        let with = |k: &str, v: serde_json::Value| {
            let mut x = ok.clone();
            x[k] = v;
            problems(x).into_iter().map(|(f, _)| f).collect::<Vec<_>>()
        };
        assert_eq!(with("speciesId", "dog-unicorn".into()), ["speciesId"]);
        assert_eq!(with("birthday", "1980-01-01".into()), ["birthday"], "born before 1990");
        assert_eq!(with("birthday", "2999-01-01".into()), ["birthday"], "not born yet");
        assert_eq!(with("weightKg", 1e-200.into()), ["weightKg"], "a number DynamoDB cannot keep");
        assert_eq!(with("weightKg", 500.0.into()), ["weightKg"]);
        assert_eq!(with("name", "".into()), ["name"]);
        assert_eq!(with("name", "\u{200b}\u{200b}".into()), ["name"], "invisible only");
        assert_eq!(with("introduction", "가".repeat(501).into()), ["introduction"]);
    }
}
