//! Applications: an active PetStar's owner applies to an approved ad inside its announcement
//! window, once per pet and ad; the advertiser selects during selection. Statuses:
//!
//! APPLIED → (owner) CANCELLED; APPLIED → (announcement over) PENDING → (advertiser)
//! SELECTED ⇄ PENDING; on the selection date PENDING → REJECTED, SELECTED stays and gets a
//! review; SELECTED → (review submitted) REVIEWING → (approved) COMPLETED, (rejected) SELECTED.
//!
//! The ad's `applicantsCount` and `selectedCount` change in the transaction of each change.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shared::handler;
use shared::handler::{Caller, Created, Json, NoContent, Okay, Params, Path};
use shared::http::PageRequest;
use shared::routes::{Access, Function, Method, Permission, enum_param, param, said};
use shared::table::{Entity, Gsi, Item, Key, Page, Query, Write, b, n, s};
use shared::validate::{Validate, Validator};
use shared::{ApiError, ApiResult, AppContext};
use utoipa::ToSchema;

use crate::ads::{Ad, AdStatus};
use crate::error::CampaignError;
use crate::model::Review;
use crate::petstars::own_pet;
use crate::{PKG, keys, today};

const READ: &[Permission] = &[Permission::TableRead, Permission::MediaRead];
/// A write that answers no body presigns no media URL.
const REMOVE: &[Permission] = &[Permission::TableRead, Permission::TableWrite];
const WRITE: &[Permission] = &[Permission::TableRead, Permission::TableWrite, Permission::MediaRead];

/// The application named in the path, read with the caller's session.
pub fn the_application(path: &std::collections::HashMap<String, String>, _caller: &str) -> Vec<shared::table::Key> {
    shared::routes::id_param(path, "id").map(keys::application_key).into_iter().collect()
}

pub static APPLY: Function =
    Function::http(Method::Post, "/ads/{id}/applications", "applications-create", PKG, Access::User, handler!(apply))
        .permissions(WRITE)
        .doc("applications", "Apply to an ad with my PetStar, inside its announcement window (once per pet)")
        .example(r#"{"petId":"01JD3K4Q5R6S7T8V9W0XYZABCD","content":"간식 리뷰라면 자신 있어요!"}"#)
        .responses(&[said(201, "Applied.")])
        .errors(&[403, 404, 409])
        .reads_with_session(crate::ads::the_ad);

pub static UPDATE: Function =
    Function::http(Method::Patch, "/applications/{id}", "applications-update", PKG, Access::User, handler!(update))
        .permissions(WRITE)
        .doc("applications", "Change my application's words while it is APPLIED")
        .example(r#"{"content":"매일 산책하는 활발한 아이예요"}"#)
        .responses(&[said(200, "The application.")])
        .errors(&[403, 404, 409])
        .reads_with_session(the_application);

pub static CANCEL: Function =
    Function::http(Method::Delete, "/applications/{id}", "applications-cancel", PKG, Access::User, handler!(cancel))
        .permissions(REMOVE)
        .doc("applications", "Cancel my application while it is APPLIED")
        .responses(&[said(204, "Cancelled.")])
        .errors(&[403, 404, 409])
        .reads_with_session(the_application);

pub static MINE: Function =
    Function::http(Method::Get, "/users/me/applications", "applications-mine", PKG, Access::User, handler!(mine))
        .permissions(READ)
        .doc("applications", "My applications, newest first")
        .query(&[param("cursor", false, "from nextCursor")]);

pub static OF_PET: Function =
    Function::http(Method::Get, "/pets/{id}/applications", "applications-of-pet", PKG, Access::User, handler!(of_pet))
        .permissions(READ)
        .doc("applications", "My pet's applications, newest first")
        .query(&[param("cursor", false, "from nextCursor")])
        .errors(&[403, 404])
        .reads_with_session(pets_contract::the_pet);

pub static OF_AD: Function = Function::http(
    Method::Get,
    "/ads/{id}/applications",
    "applications-of-ad",
    PKG,
    identity_contract::ADVERTISERS_ONLY,
    handler!(of_ad),
)
.permissions(READ)
.doc("applications", "The applications to my ad, oldest first")
.query(&[
    enum_param(
        "status",
        false,
        "only these",
        &["APPLIED", "PENDING", "SELECTED", "REJECTED", "REVIEWING", "COMPLETED", "CANCELLED"],
    ),
    param("cursor", false, "from nextCursor"),
])
.errors(&[403, 404])
.reads_with_session(crate::ads::the_ad);

pub static SELECT: Function = Function::http(
    Method::Put,
    "/applications/{id}/selection",
    "applications-select",
    PKG,
    identity_contract::ADVERTISERS_ONLY,
    handler!(select),
)
.permissions(WRITE)
.doc("applications", "Select a PetStar for my ad, or not, during selection (at most membersCount)")
.example(r#"{"selected":true,"saved":true}"#)
.responses(&[said(200, "The application.")])
.errors(&[403, 404, 409])
.reads_with_session(the_application);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ApplicationStatus {
    Applied,
    Cancelled,
    /// In selection: the announcement is over.
    Pending,
    Selected,
    Rejected,
    Reviewing,
    Completed,
}

impl ApplicationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ApplicationStatus::Applied => "APPLIED",
            ApplicationStatus::Cancelled => "CANCELLED",
            ApplicationStatus::Pending => "PENDING",
            ApplicationStatus::Selected => "SELECTED",
            ApplicationStatus::Rejected => "REJECTED",
            ApplicationStatus::Reviewing => "REVIEWING",
            ApplicationStatus::Completed => "COMPLETED",
        }
    }
}

/// One pet's application to one ad, claimed in the ad's partition: the uniqueness of the pair,
/// and how the lifecycle job finds an ad's applications consistently.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppliedClaim {
    pub ad_id: String,
    pub pet_id: String,
    pub application_id: String,
}

impl Entity for AppliedClaim {
    const TYPE: &'static str = "AppliedClaim";
    fn pk(&self) -> String {
        keys::applied_key(&self.ad_id, &self.pet_id).pk
    }
    fn sk(&self) -> String {
        keys::applied_key(&self.ad_id, &self.pet_id).sk
    }
}

/// The ids of every application to `ad`, found through their claims in the ad's own partition
/// (consistent: one committed a moment ago is there, where the ad's applications index lags).
pub async fn ids_of_ad(ctx: &AppContext, ad: &str) -> ApiResult<Vec<String>> {
    let claims = Query::partition(keys::ad_partition(ad)).begins_with(keys::APPLIED_PREFIX).limit(100);
    ctx.table
        .query_items_all(&claims, None)
        .await?
        .into_iter()
        .map(|item| AppliedClaim::from_item(item).map(|c| c.application_id))
        .collect()
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Application {
    pub id: String,
    pub ad_id: String,
    pub advertiser_id: String,
    pub pet_id: String,
    pub owner_id: String,
    pub content: String,
    pub status: ApplicationStatus,
    /// The advertiser's bookmark while selecting.
    #[serde(default)]
    pub saved: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Entity for Application {
    const TYPE: &'static str = "Application";
    fn pk(&self) -> String {
        keys::application_key(&self.id).pk
    }
    fn sk(&self) -> String {
        keys::application_key(&self.id).sk
    }
    fn index_keys(&self) -> Vec<(Gsi, String, String)> {
        vec![
            (Gsi::Gsi1, keys::ad_applications_partition(&self.ad_id), self.id.clone()),
            (Gsi::Gsi2, keys::applicant_partition(&self.owner_id), self.id.clone()),
            (Gsi::Gsi3, keys::pet_applications_partition(&self.pet_id), self.id.clone()),
        ]
    }
}

/// An application with its pet, its ad's title and its review, as lists show it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationView {
    #[serde(flatten)]
    pub application: Application,
    pub pet: Option<pets_contract::PetProfile>,
    pub ad_title: Option<String>,
    pub review: Option<Review>,
}

/// The keys an application's view reads besides the application: its pet, its ad, its review.
fn view_keys(apps: &[(String, String, String)]) -> [Vec<Key>; 3] {
    let pet_ids: Vec<String> = apps.iter().map(|(_, _, pet)| pet.clone()).collect();
    let mut ad_keys: Vec<_> = apps.iter().map(|(_, ad, _)| keys::ad_key(ad)).collect();
    ad_keys.sort_by(|a, b| a.pk.cmp(&b.pk));
    ad_keys.dedup();
    let review_keys: Vec<_> = apps.iter().map(|(id, _, _)| keys::review_key(id)).collect();
    [pets_contract::profile_keys(&pet_ids), ad_keys, review_keys]
}

/// Views of `apps`: their pets, ads and reviews in one batch read.
pub async fn views(ctx: &AppContext, apps: Vec<Application>) -> ApiResult<Vec<ApplicationView>> {
    let named: Vec<_> = apps.iter().map(|a| (a.id.clone(), a.ad_id.clone(), a.pet_id.clone())).collect();
    let [pet_keys, ad_keys, review_keys] = view_keys(&named);
    let [pets, ads, found_reviews] = ctx.table.batch_get_groups([&pet_keys, &ad_keys, &review_keys]).await?;
    views_from(ctx, apps, pets, ads, found_reviews).await
}

async fn views_from(
    ctx: &AppContext,
    apps: Vec<Application>,
    pets: Vec<Option<Item>>,
    ads: Vec<Option<Item>>,
    found_reviews: Vec<Option<Item>>,
) -> ApiResult<Vec<ApplicationView>> {
    let mut pets = pets_contract::profiles_from(ctx, pets).await?;
    let mut titles: HashMap<String, String> = HashMap::new();
    for ad in ads.into_iter().flatten() {
        let ad = Ad::from_item(ad)?;
        titles.insert(ad.id, ad.title);
    }
    let mut reviews: HashMap<String, Review> = HashMap::new();
    for r in found_reviews.into_iter().flatten() {
        let r = Review::from_item(r)?;
        reviews.insert(r.id.clone(), r);
    }
    Ok(apps
        .into_iter()
        .map(|a| ApplicationView {
            pet: pets.remove(&a.pet_id).or(None),
            ad_title: titles.get(&a.ad_id).cloned(),
            review: reviews.remove(&a.id),
            application: a,
        })
        .collect())
}

/// The item in the applicant's own partition that lists an application: it names the ad and the
/// pet (neither changes), so that the list reads the applications and their views in one batch.
fn my_application_item(app: &Application) -> Item {
    let mut item = keys::my_application_key(&app.owner_id, &app.id).to_item();
    item.insert("adId".into(), shared::table::s(&app.ad_id));
    item.insert("petId".into(), shared::table::s(&app.pet_id));
    item
}

pub async fn load(ctx: &AppContext, id: &str) -> ApiResult<Application> {
    if !shared::ids::is_valid_id(id) {
        return Err(CampaignError::ApplicationNotFound.into());
    }
    ctx.table
        .get::<Application>(&keys::application_key(id))
        .await?
        .ok_or_else(|| CampaignError::ApplicationNotFound.into())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApplyRequest {
    pub pet_id: String,
    pub content: String,
}

impl Validate for ApplyRequest {
    fn validate(&self, v: &mut Validator) {
        v.text("content", &self.content, 1, 2000);
    }
}

pub async fn apply(
    ctx: Arc<AppContext>,
    caller: Caller,
    Path(ad_id): Path<String>,
    Json(body): Json<ApplyRequest>,
) -> ApiResult<Created<ApplicationView>> {
    own_pet(&ctx, &caller.user_id, &body.pet_id).await?;
    let ad = crate::ads::load(&ctx, &ad_id).await?;
    if ad.status != AdStatus::Approved {
        return Err(CampaignError::AdNotApproved.into());
    }
    let today = today(ctx.now());
    if today < ad.announce_start {
        return Err(CampaignError::NotYetOpen.into());
    }
    if today > ad.announce_end {
        return Err(CampaignError::ApplicationsClosed.into());
    }
    // Whether the pet is an active PetStar is checked in the transaction, not read first.
    let now = ctx.now();
    let app = Application {
        id: shared::ids::new_id(now),
        ad_id: ad.id.clone(),
        advertiser_id: ad.advertiser_id.clone(),
        pet_id: body.pet_id.clone(),
        owner_id: caller.user_id.clone(),
        content: body.content.trim().to_string(),
        status: ApplicationStatus::Applied,
        saved: false,
        created_at: now,
        updated_at: now,
    };
    let claim = AppliedClaim { ad_id: ad.id.clone(), pet_id: app.pet_id.clone(), application_id: app.id.clone() };
    ctx.table
        .transact(vec![
            Write::put(&claim)?.if_absent(CampaignError::AlreadyApplied),
            Write::put(&app)?.if_absent(ApiError::internal("application id collision")),
            Write::put_item(my_application_item(&app)),
            // Counted with the application; only while the ad takes applications.
            Write::update(keys::ad_key(&ad.id), "ADD applicantsCount :one")
                .name("#st", "status")
                .value(":one", n(1))
                .value(":approved", s("APPROVED"))
                .when("#st = :approved", CampaignError::AdNotApproved),
            Write::check(keys::petstar_key(&app.pet_id), "#st = :active", CampaignError::NotAPetstar)
                .name("#st", "status")
                .value(":active", s("ACTIVE")),
        ])
        .await?;
    Ok(Created(views(&ctx, vec![app]).await?.remove(0)))
}

/// The application, if the caller applied with it.
async fn load_mine(ctx: &AppContext, caller: &Caller, id: &str) -> ApiResult<Application> {
    let app = load(ctx, id).await?;
    if app.owner_id != caller.user_id {
        return Err(CampaignError::NotYourApplication.into());
    }
    Ok(app)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApplicationPatch {
    pub content: String,
}

impl Validate for ApplicationPatch {
    fn validate(&self, v: &mut Validator) {
        v.text("content", &self.content, 1, 2000);
    }
}

pub async fn update(
    ctx: Arc<AppContext>,
    caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<ApplicationPatch>,
) -> ApiResult<Okay<ApplicationView>> {
    let mut app = load_mine(&ctx, &caller, &id).await?;
    app.content = body.content.trim().to_string();
    app.updated_at = ctx.now();
    ctx.table
        .write(
            Write::update(app.key(), "SET content = :c, updatedAt = :now")
                .name("#st", "status")
                .value(":c", s(&app.content))
                .value(":now", shared::table::time(app.updated_at))
                .value(":applied", s("APPLIED"))
                .when("#st = :applied", CampaignError::ApplicationNotOpen),
        )
        .await?;
    Ok(Okay(views(&ctx, vec![app]).await?.remove(0)))
}

pub async fn cancel(ctx: Arc<AppContext>, caller: Caller, Path(id): Path<String>) -> ApiResult<NoContent> {
    let app = load_mine(&ctx, &caller, &id).await?;
    ctx.table
        .transact(vec![
            Write::update(app.key(), "SET #st = :cancelled, updatedAt = :now")
                .name("#st", "status")
                .value(":cancelled", s("CANCELLED"))
                .value(":now", shared::table::time(ctx.now()))
                .value(":applied", s("APPLIED"))
                .when("#st = :applied", CampaignError::ApplicationNotOpen),
            Write::delete(keys::applied_key(&app.ad_id, &app.pet_id)),
            Write::update(keys::ad_key(&app.ad_id), "ADD applicantsCount :m").value(":m", n(-1)),
        ])
        .await?;
    Ok(NoContent)
}

async fn page_of(ctx: &AppContext, q: Query) -> ApiResult<Page<ApplicationView>> {
    let page = ctx.table.query::<Application>(&q).await?;
    Ok(Page { items: views(ctx, page.items).await?, next_cursor: page.next_cursor })
}

pub async fn mine(ctx: Arc<AppContext>, caller: Caller, params: Params) -> ApiResult<Okay<Page<ApplicationView>>> {
    // From my own partition, then the applications by key: one made a moment ago is listed
    // (the applicant index lags).
    let q = Query::partition(shared::keys::user_partition(&caller.user_id))
        .begins_with(keys::MY_APPLICATION_PREFIX)
        .newest_first()
        .paged(&params, 20, 50)?;
    let page = ctx.table.query_items(&q).await?;
    let text = |item: &Item, name: &str| match item.get(name) {
        Some(shared::table::AttrValue::S(v)) => Some(v.clone()),
        _ => None,
    };
    let named: Vec<(String, Option<String>, Option<String>)> = page
        .items
        .iter()
        .filter_map(|i| {
            let id = text(i, shared::table::SK)?.strip_prefix(keys::MY_APPLICATION_PREFIX)?.to_string();
            Some((id, text(i, "adId"), text(i, "petId")))
        })
        .collect();
    let app_keys: Vec<Key> = named.iter().map(|(id, _, _)| keys::application_key(id)).collect();
    // Each pointer names its ad and pet: the applications and their views in one batch. (A
    // pointer that does not is read in two.)
    let complete: Vec<_> =
        named.iter().filter_map(|(id, ad, pet)| Some((id.clone(), ad.clone()?, pet.clone()?))).collect();
    let [pet_keys, ad_keys, review_keys] = view_keys(&complete);
    let [apps, pets, ads, reviews] = ctx.table.batch_get_groups([&app_keys, &pet_keys, &ad_keys, &review_keys]).await?;
    let apps: Vec<Application> = apps.into_iter().flatten().map(Application::from_item).collect::<ApiResult<_>>()?;
    let items = if complete.len() == named.len() {
        views_from(&ctx, apps, pets, ads, reviews).await?
    } else {
        views(&ctx, apps).await?
    };
    Ok(Okay(Page { items, next_cursor: page.next_cursor }))
}

pub async fn of_pet(
    ctx: Arc<AppContext>,
    caller: Caller,
    Path(pet): Path<String>,
    params: Params,
) -> ApiResult<Okay<Page<ApplicationView>>> {
    own_pet(&ctx, &caller.user_id, &pet).await?;
    let q = Query::partition(keys::pet_applications_partition(&pet)).index(Gsi::Gsi3).newest_first();
    Ok(Okay(page_of(&ctx, q.paged(&params, 20, 50)?).await?))
}

pub async fn of_ad(
    ctx: Arc<AppContext>,
    caller: Caller,
    Path(ad_id): Path<String>,
    params: Params,
) -> ApiResult<Okay<Page<ApplicationView>>> {
    let ad = crate::ads::load(&ctx, &ad_id).await?;
    if ad.advertiser_id != caller.user_id && !caller.is_admin() {
        return Err(CampaignError::NotYourAd.into());
    }
    let status = params.raw("status").map(str::to_string);
    let q = Query::partition(keys::ad_applications_partition(&ad.id)).index(Gsi::Gsi1).paged(&params, 50, 100)?;
    let mut page = ctx.table.query::<Application>(&q).await?;
    // Within the page: it keeps its cursor, so a short page is followed like any other.
    page.items.retain(|a| status.as_deref().is_none_or(|st| a.status.as_str() == st));
    Ok(Okay(Page { items: views(&ctx, page.items).await?, next_cursor: page.next_cursor }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SelectionRequest {
    pub selected: bool,
    #[serde(default)]
    pub saved: Option<bool>,
}

impl Validate for SelectionRequest {
    fn validate(&self, _: &mut Validator) {}
}

pub async fn select(
    ctx: Arc<AppContext>,
    caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<SelectionRequest>,
) -> ApiResult<Okay<ApplicationView>> {
    let mut app = load(&ctx, &id).await?;
    let ad = crate::ads::load(&ctx, &app.ad_id).await?;
    if ad.advertiser_id != caller.user_id {
        return Err(CampaignError::NotYourAd.into());
    }
    if ad.status != AdStatus::Closed || today(ctx.now()) >= ad.selection_date {
        return Err(CampaignError::NotInSelection.into());
    }
    let (from, to) = match (app.status, body.selected) {
        (ApplicationStatus::Pending, true) => (ApplicationStatus::Pending, ApplicationStatus::Selected),
        (ApplicationStatus::Selected, false) => (ApplicationStatus::Selected, ApplicationStatus::Pending),
        (ApplicationStatus::Pending | ApplicationStatus::Selected, _) => (app.status, app.status),
        _ => return Err(CampaignError::NotSelectable.into()),
    };
    let saved = body.saved.unwrap_or(app.saved);
    let now = ctx.now();
    let mut writes = vec![
        Write::update(app.key(), "SET #st = :to, saved = :saved, updatedAt = :now")
            .name("#st", "status")
            .value(":to", s(to.as_str()))
            .value(":saved", b(saved))
            .value(":now", shared::table::time(now))
            .value(":from", s(from.as_str()))
            .when("#st = :from", CampaignError::Changed),
    ];
    let closed = |w: Write| w.name("#ast", "status").value(":closed", s("CLOSED"));
    if from != to {
        let write = if to == ApplicationStatus::Selected {
            closed(Write::update(keys::ad_key(&ad.id), "ADD selectedCount :one"))
                .value(":one", n(1))
                .value(":max", n(ad.members_count))
                .when(
                    "#ast = :closed AND (attribute_not_exists(selectedCount) OR selectedCount < :max)",
                    CampaignError::SelectionFull,
                )
        } else {
            closed(Write::update(keys::ad_key(&ad.id), "ADD selectedCount :m"))
                .value(":m", n(-1))
                .when("#ast = :closed", CampaignError::NotInSelection)
        };
        writes.push(write);
    }
    ctx.table.transact(writes).await?;
    app.status = to;
    app.saved = saved;
    app.updated_at = now;
    Ok(Okay(views(&ctx, vec![app]).await?.remove(0)))
}
