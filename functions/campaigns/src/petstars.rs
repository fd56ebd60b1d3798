//! PetStars: pets an administrator accepted as influencers. An owner applies for a pet once
//! (NONE → PENDING); an administrator makes it ACTIVE or REJECTED, and a rejected pet does not
//! apply again. The PetStar item also carries the pet's ranking document (see [`crate::rank`]),
//! recomputed whenever the portfolio, a history or the standing changes.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use pets_contract::PetProfile;
use serde::{Deserialize, Serialize};
use shared::handler;
use shared::handler::{Caller, Created, Json, Okay, Params, Path, RequestId};
use shared::http::PageRequest;
use shared::routes::{Access, Function, Method, Permission, enum_param, param, said};
use shared::table::{Entity, Gsi, Item, Page, Query, SK, Write, n, s};
use shared::{ApiError, ApiResult, AppContext};
use utoipa::ToSchema;

use crate::error::CampaignError;
use crate::model::{History, Portfolio};
use crate::rank::Document;
use crate::{PKG, keys};

const READ: &[Permission] = &[Permission::TableRead, Permission::MediaRead];
const WRITE: &[Permission] = &[Permission::TableRead, Permission::TableWrite, Permission::MediaRead];

/// The PetStar named in the path (`{petId}`), read with the caller's session.
/// What a PetStar's page reads by its path besides the pet's own partition: the pet and its
/// Instagram link.
fn the_page(path: &std::collections::HashMap<String, String>, _caller: &str) -> Vec<shared::table::Key> {
    let Some(pet) = shared::routes::id_param(path, "petId") else { return Vec::new() };
    let mut keys = pets_contract::profile_keys(&[pet.to_string()]);
    keys.push(instagram_contract::keys::link_key(pet));
    keys
}

pub static APPLY: Function = Function::http(
    Method::Post,
    "/pets/{id}/petstar-application",
    "petstars-apply",
    PKG,
    Access::User,
    handler!(apply),
)
.permissions(WRITE)
.doc("petstars", "Apply for my pet to become a PetStar (once; a rejected pet cannot apply again)")
.responses(&[said(201, "Applied; an administrator decides.")])
.errors(&[403, 404, 409])
.reads_with_session(pets_contract::the_pet);

pub static ADMIN_LIST: Function = Function::http(
    Method::Get,
    "/admin/petstar-applications",
    "admin-petstar-applications",
    PKG,
    Access::Admin,
    handler!(admin_list),
)
.permissions(READ)
.doc("admin", "PetStar applications by status, oldest first")
.query(&[
    enum_param("status", false, "default PENDING", &["PENDING", "ACTIVE", "REJECTED"]),
    param("cursor", false, "from nextCursor"),
]);

pub static ADMIN_DECIDE: Function = Function::http(
    Method::Put,
    "/admin/petstar-applications/{petId}/decision",
    "admin-petstar-decide",
    PKG,
    Access::Admin,
    handler!(admin_decide),
)
.permissions(WRITE)
.doc("admin", "Accept a pet as a PetStar or reject it (a reason is required); the owner is told")
.example(r#"{"decision":"APPROVE"}"#)
.responses(&[said(200, "Decided.")])
.errors(&[404, 409]);

pub static LIST: Function =
    Function::http(Method::Get, "/petstars", "petstars-list", PKG, Access::Public, handler!(list))
        .permissions(READ)
        .doc("petstars", "Active PetStars, newest first; by kind or breed, and by words of their portfolio")
        .query(&[
            param("species", false, "DOG, CAT or a breed id (dog-maltese)"),
            param("q", false, "words of the name, portfolio or histories"),
            param("cursor", false, "from nextCursor"),
        ]);

pub static GET: Function =
    Function::http(Method::Get, "/petstars/{petId}", "petstars-get", PKG, Access::Public, handler!(get))
        .permissions(READ)
        .doc("petstars", "A PetStar's page: the pet, its owner, portfolio and recent activity")
        .responses(&[said(200, "The PetStar.")])
        .errors(&[404])
        .reads_with_session(the_page);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PetStarStatus {
    Pending,
    Active,
    Rejected,
}

impl PetStarStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PetStarStatus::Pending => "PENDING",
            PetStarStatus::Active => "ACTIVE",
            PetStarStatus::Rejected => "REJECTED",
        }
    }
}

/// A pet's standing as a PetStar, with its ranking document.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PetStar {
    pub pet_id: String,
    pub owner_id: String,
    pub status: PetStarStatus,
    /// `DOG` or `CAT`, and the breed, as of the last document refresh.
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub species_id: String,
    pub applied_at: DateTime<Utc>,
    #[serde(default)]
    pub decided_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub document: Document,
    /// Lower-cased words for `GET /petstars?q=`.
    #[serde(default)]
    pub search_text: String,
    /// An engagement figure from the pet's Instagram account, when one is linked.
    #[serde(default)]
    pub engagement: Option<f64>,
    /// Bumped by every document refresh: refreshes that raced are computed again.
    #[serde(default)]
    pub doc_rev: u64,
    /// The embedding of `search_text`, made by the campaign events worker after a refresh
    /// ([`crate::vectors`]); `vector_rev` is the document revision it was made for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vector: Option<crate::rank::Vector>,
    #[serde(default)]
    pub vector_rev: u64,
}

impl PetStar {
    /// Its vector. One made for an earlier revision of its document is used until the worker
    /// has made the new one (seconds): nearly right beats words alone.
    pub fn vector(&self) -> Option<&[f32]> {
        self.vector.as_ref().map(|v| v.0.as_slice())
    }
}

impl Entity for PetStar {
    const TYPE: &'static str = "PetStar";
    fn pk(&self) -> String {
        keys::pet_partition(&self.pet_id)
    }
    fn sk(&self) -> String {
        keys::PETSTAR.into()
    }
    fn index_keys(&self) -> Vec<(Gsi, String, String)> {
        let since = keys::since_sort(self.decided_at.unwrap_or(self.applied_at), &self.pet_id);
        let mut out = vec![(Gsi::Gsi1, keys::petstars_partition(self.status.as_str()), since.clone())];
        if self.status == PetStarStatus::Active && !self.kind.is_empty() {
            out.push((Gsi::Gsi2, keys::active_kind_partition(&self.kind), since));
        }
        out
    }
}

/// Everything of one pet's partition that is ours: standing, portfolio, histories.
#[derive(Debug, Default)]
pub struct PetPages {
    pub petstar: Option<PetStar>,
    pub portfolio: Option<Portfolio>,
    pub histories: Vec<History>,
}

/// One Query of the pet's partition.
pub async fn pages(ctx: &AppContext, pet: &str) -> ApiResult<PetPages> {
    let items = ctx.table.query_items_all(&Query::partition(keys::pet_partition(pet)).limit(200), Some(400)).await?;
    let mut out = PetPages::default();
    for item in items {
        let sort = match item.get(SK) {
            Some(shared::table::AttrValue::S(v)) => v.clone(),
            _ => continue,
        };
        if sort == keys::PETSTAR {
            out.petstar = Some(PetStar::from_item(item)?);
        } else if sort == keys::PORTFOLIO {
            out.portfolio = Some(Portfolio::from_item(item)?);
        } else if sort.starts_with(keys::HISTORY_PREFIX) {
            out.histories.push(History::from_item(item)?);
        }
    }
    latest_first(&mut out.histories);
    Ok(out)
}

/// Histories in the order the pages show them: latest activity first.
fn latest_first(histories: &mut [History]) {
    histories.sort_by(|a, b| b.date.cmp(&a.date).then_with(|| b.id.cmp(&a.id)));
}

fn kind_words(pet: &PetProfile) -> &'static str {
    match pet.kind {
        pets_contract::species::Kind::Dog => "DOG 강아지 개 반려견 dog puppy",
        pets_contract::species::Kind::Cat => "CAT 고양이 냥이 반려묘 cat kitten",
    }
}

fn size_words(pet: &PetProfile) -> &'static str {
    match pet.size {
        pets_contract::species::Size::Small => "소형 소형견 small",
        pets_contract::species::Size::Medium => "중형 중형견 medium",
        pets_contract::species::Size::Large => "대형 대형견 large",
    }
}

/// The document a PetStar is ranked by: its kind, breed, size, introduction, portfolio and
/// histories; and the words `?q=` searches.
pub fn document_of(pet: &PetProfile, pages: &PetPages) -> (Document, String) {
    let mut texts: Vec<String> = vec![
        kind_words(pet).to_string(),
        pet.breed.clone(),
        pet.species_id.replace('-', " "),
        size_words(pet).to_string(),
        pet.introduction.clone(),
    ];
    if let Some(p) = &pages.portfolio {
        texts.push(p.introduction.clone());
        texts.extend(p.strengths.iter().cloned());
        texts.extend(p.keywords.iter().cloned());
    }
    for h in &pages.histories {
        texts.push(h.title.clone());
        texts.push(h.description.clone());
    }
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let mut search = format!("{} {}", pet.name, texts.join(" ")).to_lowercase();
    search.truncate(search.char_indices().nth(4000).map(|(i, _)| i).unwrap_or(search.len()));
    (Document::of(&refs), search)
}

/// A change to a pet's pages (its portfolio and histories) and the PetStar's search document
/// made anew from the pages as they will be, in one transaction: `change` gets the pages as
/// read (one query), makes its change to them and returns its writes. Tried again from a fresh
/// read when another change came first (the document's revision moved, or `change`'s own
/// condition says [`CampaignError::Changed`]).
pub async fn change_pages(
    ctx: &AppContext,
    profile: &PetProfile,
    change: impl Fn(&mut PetPages) -> ApiResult<Vec<Write>>,
) -> ApiResult<PetPages> {
    for _ in 0..5 {
        let mut pages = pages(ctx, &profile.id).await?;
        let mut writes = change(&mut pages)?;
        latest_first(&mut pages.histories);
        if let Some(star) = &pages.petstar {
            let (document, search) = document_of(profile, &pages);
            let mut updated = star.clone();
            updated.document = document;
            updated.search_text = search;
            updated.kind = kind_of(profile).into();
            updated.species_id = profile.species_id.clone();
            updated.doc_rev = star.doc_rev + 1;
            if updated.status == PetStarStatus::Active {
                writes.push(crate::vectors::petstar_vector_wanted(ctx, &updated.pet_id, updated.doc_rev)?);
            }
            writes.push(
                Write::put(&updated)?
                    .when("docRev = :seen OR attribute_not_exists(docRev)", CampaignError::Changed)
                    .value(":seen", n(star.doc_rev)),
            );
        }
        if writes.is_empty() {
            return Ok(pages);
        }
        match ctx.table.transact(writes).await {
            Ok(()) => return Ok(pages),
            Err(e) if e.is(&CampaignError::Changed) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(CampaignError::Changed.into())
}

/// Makes a PetStar's document anew from its pet's profile as it is now (the pet was edited).
/// A pet that is not a PetStar has none.
pub async fn refresh_document(ctx: &AppContext, pet: &str) -> ApiResult<()> {
    let Some(profile) = pets_contract::profile(ctx, pet).await? else { return Ok(()) };
    change_pages(ctx, &profile, |_| Ok(Vec::new())).await.map(|_| ())
}

pub fn kind_of(pet: &PetProfile) -> &'static str {
    match pet.kind {
        pets_contract::species::Kind::Dog => "DOG",
        pets_contract::species::Kind::Cat => "CAT",
    }
}

/// The pet, if the caller owns it.
pub async fn own_pet(ctx: &AppContext, me: &str, pet: &str) -> ApiResult<PetProfile> {
    let profile = pets_contract::profile(ctx, pet).await?.ok_or(CampaignError::PetNotFound)?;
    if profile.owner_id != me {
        return Err(CampaignError::NotYourPet.into());
    }
    Ok(profile)
}

pub async fn load(ctx: &AppContext, pet: &str) -> ApiResult<Option<PetStar>> {
    if !shared::ids::is_valid_id(pet) {
        return Ok(None);
    }
    ctx.table.get::<PetStar>(&keys::petstar_key(pet)).await
}

/// A PetStar standing as its owner and administrators see it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PetStarStanding {
    pub pet_id: String,
    pub owner_id: String,
    pub status: PetStarStatus,
    pub applied_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    pub reason: Option<String>,
    pub pet: Option<PetProfile>,
}

fn standing(star: &PetStar, pet: Option<PetProfile>) -> PetStarStanding {
    PetStarStanding {
        pet_id: star.pet_id.clone(),
        owner_id: star.owner_id.clone(),
        status: star.status,
        applied_at: star.applied_at,
        decided_at: star.decided_at,
        reason: star.reason.clone(),
        pet,
    }
}

pub async fn apply(
    ctx: Arc<AppContext>,
    caller: Caller,
    Path(pet): Path<String>,
) -> ApiResult<Created<PetStarStanding>> {
    let profile = own_pet(&ctx, &caller.user_id, &pet).await?;
    if let Some(existing) = load(&ctx, &pet).await? {
        return Err(match existing.status {
            PetStarStatus::Rejected => CampaignError::PetstarRejected,
            _ => CampaignError::AlreadyPetstar,
        }
        .into());
    }
    let star = PetStar {
        pet_id: pet.clone(),
        owner_id: caller.user_id.clone(),
        status: PetStarStatus::Pending,
        kind: kind_of(&profile).into(),
        species_id: profile.species_id.clone(),
        applied_at: ctx.now(),
        decided_at: None,
        reason: None,
        document: Document::default(),
        search_text: String::new(),
        engagement: None,
        doc_rev: 0,
        vector: None,
        vector_rev: 0,
    };
    ctx.table.write(Write::put(&star)?.if_absent(CampaignError::AlreadyPetstar)).await?;
    Ok(Created(standing(&star, Some(profile))))
}

pub async fn admin_list(
    ctx: Arc<AppContext>,
    _admin: Caller,
    params: Params,
) -> ApiResult<Okay<Page<PetStarStanding>>> {
    let status = params.raw("status").unwrap_or("PENDING");
    if !["PENDING", "ACTIVE", "REJECTED"].contains(&status) {
        return Err(ApiError::validation("status", "INVALID", "PENDING, ACTIVE or REJECTED"));
    }
    let q = Query::partition(keys::petstars_partition(status)).index(Gsi::Gsi1).paged(&params, 20, 100)?;
    let page = ctx.table.query::<PetStar>(&q).await?;
    let ids: Vec<String> = page.items.iter().map(|p| p.pet_id.clone()).collect();
    let mut pets = pets_contract::profiles(&ctx, &ids).await?;
    Ok(Okay(page.map(|p| {
        let pet = pets.remove(&p.pet_id);
        standing(&p, pet)
    })))
}

use moderation_contract::moderation::{Verdict as Decision, VerdictRequest as DecisionRequest};

pub async fn admin_decide(
    ctx: Arc<AppContext>,
    admin: Caller,
    request: RequestId,
    Path(pet): Path<String>,
    Json(body): Json<DecisionRequest>,
) -> ApiResult<Okay<PetStarStanding>> {
    let pages = pages(&ctx, &pet).await?;
    let star = pages.petstar.clone().ok_or(CampaignError::PetstarNotFound)?;
    if star.status != PetStarStatus::Pending {
        return Err(CampaignError::PetstarDecided.into());
    }
    let profile = pets_contract::profile(&ctx, &pet).await?.ok_or(CampaignError::PetNotFound)?;
    let mut decided = star.clone();
    decided.decided_at = Some(ctx.now());
    decided.reason = body.reason.as_deref().map(|r| r.trim().to_string());
    decided.doc_rev = star.doc_rev + 1;
    let text = match body.decision {
        Decision::Approve => {
            decided.status = PetStarStatus::Active;
            let (document, search) = document_of(&profile, &pages);
            decided.document = document;
            decided.search_text = search;
            decided.kind = kind_of(&profile).into();
            format!("{}이(가) 펫스타로 선정되었습니다! 이제 광고에 지원할 수 있어요.", profile.name)
        }
        Decision::Reject => {
            decided.status = PetStarStatus::Rejected;
            format!(
                "{}의 펫스타 신청이 거절되었습니다. 사유: {}",
                profile.name,
                decided.reason.as_deref().unwrap_or_default()
            )
        }
    };
    let mut writes = vec![
        Write::put(&decided)?
            .when("#st = :pending AND docRev = :seen", CampaignError::PetstarDecided)
            .name("#st", "status")
            .value(":pending", s("PENDING"))
            .value(":seen", n(star.doc_rev)),
    ];
    writes.extend(crate::tell(
        &ctx,
        format!("petstar-{pet}-{}", decided.status.as_str()),
        &admin.user_id,
        &star.owner_id,
        ("PET", &pet),
        text,
    )?);
    if decided.status == PetStarStatus::Active {
        writes.push(identity_contract::join_audience(identity_contract::Audience::Petstars, &star.owner_id));
        writes.push(crate::vectors::petstar_vector_wanted(&ctx, &decided.pet_id, decided.doc_rev)?);
    }
    let action = if decided.status == PetStarStatus::Active { "PETSTAR_APPROVE" } else { "PETSTAR_REJECT" };
    let (_, audit) = moderation_contract::trail::record(
        &ctx,
        &admin.user_id,
        action,
        "PET",
        &pet,
        serde_json::json!({"status": "PENDING"}),
        serde_json::json!({"status": decided.status.as_str(), "reason": decided.reason}),
        Some(&request.0),
    )?;
    writes.push(audit);
    ctx.table.transact(writes).await?;
    Ok(Okay(standing(&decided, Some(profile))))
}

/// A PetStar in a list.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PetStarCard {
    pub pet: PetProfile,
    pub since: DateTime<Utc>,
}

pub async fn list(ctx: Arc<AppContext>, params: Params) -> ApiResult<Okay<Page<PetStarCard>>> {
    let species = params.get("species").map(str::to_string);
    let (partition, index, breed) = match species.as_deref() {
        None => (keys::petstars_partition("ACTIVE"), Gsi::Gsi1, None),
        Some(k) if k.eq_ignore_ascii_case("DOG") || k.eq_ignore_ascii_case("CAT") => {
            (keys::active_kind_partition(&k.to_uppercase()), Gsi::Gsi2, None)
        }
        Some(id) => match pets_contract::species::by_id(id) {
            Some(sp) => {
                let kind = if sp.kind == pets_contract::species::Kind::Dog { "DOG" } else { "CAT" };
                (keys::active_kind_partition(kind), Gsi::Gsi2, Some(sp.id))
            }
            None => {
                return Err(ApiError::validation(
                    "species",
                    "UNKNOWN_SPECIES",
                    "DOG, CAT or a breed id from GET /species",
                ));
            }
        },
    };
    let q_words: Vec<String> =
        params.get("q").map(|q| q.to_lowercase().split_whitespace().map(str::to_string).collect()).unwrap_or_default();
    let query = Query::partition(partition).index(index).newest_first().paged(&params, 20, 50)?;
    let mut page = ctx.table.query::<PetStar>(&query).await?;
    // Filters within the page: it keeps its cursor, so a short page is followed like any other.
    page.items.retain(|p| {
        breed.is_none_or(|b| p.species_id == b) && q_words.iter().all(|w| p.search_text.contains(w.as_str()))
    });
    let ids: Vec<String> = page.items.iter().map(|p| p.pet_id.clone()).collect();
    let mut pets: HashMap<String, PetProfile> = pets_contract::profiles(&ctx, &ids).await?;
    let items = page
        .items
        .iter()
        .filter_map(|p| {
            pets.remove(&p.pet_id).map(|pet| PetStarCard { pet, since: p.decided_at.unwrap_or(p.applied_at) })
        })
        .collect();
    Ok(Okay(Page { items, next_cursor: page.next_cursor }))
}

/// A PetStar's public page.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PetStarPage {
    pub pet: PetProfile,
    pub owner: Option<identity_contract::people::Person>,
    pub since: DateTime<Utc>,
    pub portfolio: Option<Portfolio>,
    /// The five latest activity histories.
    pub recent_histories: Vec<History>,
    /// The linked Instagram account's summary; `null` while none is linked.
    pub instagram: Option<instagram_contract::InstagramSummary>,
}

pub async fn get(ctx: Arc<AppContext>, Path(pet): Path<String>) -> ApiResult<Okay<PetStarPage>> {
    if !shared::ids::is_valid_id(&pet) {
        return Err(CampaignError::PetstarNotFound.into());
    }
    let pages = pages(&ctx, &pet).await?;
    let star = pages.petstar.filter(|p| p.status == PetStarStatus::Active).ok_or(CampaignError::PetstarNotFound)?;
    let profile = pets_contract::profile(&ctx, &pet).await?.ok_or(CampaignError::PetstarNotFound)?;
    let owner = identity_contract::people(&ctx, std::slice::from_ref(&star.owner_id)).await?.remove(&star.owner_id);
    let mut recent = pages.histories;
    recent.truncate(5);
    Ok(Okay(PetStarPage {
        pet: profile,
        owner,
        since: star.decided_at.unwrap_or(star.applied_at),
        portfolio: pages.portfolio,
        recent_histories: recent,
        instagram: instagram_contract::summary(&ctx, &pet).await?,
    }))
}

/// The active PetStars' documents, for ranking (every page of the active partition).
pub async fn active(ctx: &AppContext, max: usize) -> ApiResult<Vec<PetStar>> {
    let items: Vec<Item> = ctx
        .table
        .query_items_all(&Query::partition(keys::petstars_partition("ACTIVE")).index(Gsi::Gsi1).limit(500), Some(max))
        .await?;
    items.into_iter().map(PetStar::from_item).collect()
}
