//! A pet's portfolio and activity histories: what advertisers read, and what the ranking
//! document is made of. Any pet may keep them; they matter once it is a PetStar.

use std::sync::Arc;

use chrono::NaiveDate;
use serde::Deserialize;
use shared::handler;
use shared::handler::{Caller, Created, Json, NoContent, Okay, Path};
use shared::routes::{Access, Function, Method, Permission, said};
use shared::table::{Entity, Write, n};
use shared::validate::{Validate, Validator};
use shared::{ApiResult, AppContext};
use utoipa::ToSchema;

use crate::error::CampaignError;
use crate::model::{History, Portfolio};
use crate::petstars::{change_pages, own_pet, pages};
use crate::{PKG, keys};

/// Portfolios and histories answer media keys, not URLs: reading signs nothing. Writing checks
/// each uploaded file (`media::verify` reads its first bytes).
const READ: &[Permission] = &[Permission::TableRead];
/// A write that answers no body presigns no media URL.
const REMOVE: &[Permission] = &[Permission::TableRead, Permission::TableWrite];
const WRITE: &[Permission] = &[Permission::TableRead, Permission::TableWrite, Permission::MediaRead];
const MAX_HISTORIES: u32 = 100;

pub static PUT: Function =
    Function::http(Method::Put, "/pets/{id}/portfolio", "portfolio-put", PKG, Access::User, handler!(put))
        .permissions(WRITE)
        .doc("petstars", "Write my pet's portfolio")
        .example(r#"{"introduction":"수제 간식 리뷰 전문 말티즈 초코","strengths":["간식 먹방","실내 촬영"],"keywords":["간식","리뷰"],"mediaKeys":[]}"#)
        .responses(&[said(200, "The portfolio.")])
        .errors(&[403, 404])
.reads_with_session(pets_contract::the_pet);

pub static GET: Function =
    Function::http(Method::Get, "/pets/{id}/portfolio", "portfolio-get", PKG, Access::Public, handler!(get))
        .permissions(READ)
        .doc("petstars", "A pet's portfolio")
        .responses(&[said(200, "The portfolio.")])
        .errors(&[404])
        .reads_with_session(pets_contract::the_pet);

pub static HISTORY_CREATE: Function = Function::http(
    Method::Post,
    "/pets/{id}/histories",
    "histories-create",
    PKG,
    Access::User,
    handler!(create_history),
)
.permissions(WRITE)
.doc("petstars", "Add an activity history to my pet")
.example(r#"{"title":"간식 브랜드 협찬 촬영","date":"2026-05-02","description":"수제 간식 리뷰 영상","imageKeys":[]}"#)
.responses(&[said(201, "Added.")])
.errors(&[403, 404, 409])
.reads_with_session(pets_contract::the_pet);

pub static HISTORY_LIST: Function = Function::http(
    Method::Get,
    "/pets/{id}/histories",
    "histories-list",
    PKG,
    Access::Public,
    handler!(list_histories),
)
.permissions(READ)
.doc("petstars", "A pet's activity histories, latest first")
.responses(&[said(200, "The histories.")])
.reads_with_session(pets_contract::the_pet);

pub static HISTORY_GET: Function = Function::http(
    Method::Get,
    "/pets/{id}/histories/{historyId}",
    "histories-get",
    PKG,
    Access::Public,
    handler!(get_history),
)
.permissions(READ)
.doc("petstars", "One activity history")
.responses(&[said(200, "The history.")])
.errors(&[404])
.reads_with_session(pets_contract::the_pet);

pub static HISTORY_UPDATE: Function = Function::http(
    Method::Patch,
    "/pets/{id}/histories/{historyId}",
    "histories-update",
    PKG,
    Access::User,
    handler!(update_history),
)
.permissions(WRITE)
.doc("petstars", "Change an activity history of my pet")
.example(r#"{"description":"수제 간식 리뷰 영상 (조회수 1만)"}"#)
.responses(&[said(200, "The history.")])
.errors(&[403, 404])
.reads_with_session(pets_contract::the_pet);

pub static HISTORY_DELETE: Function = Function::http(
    Method::Delete,
    "/pets/{id}/histories/{historyId}",
    "histories-delete",
    PKG,
    Access::User,
    handler!(delete_history),
)
.permissions(REMOVE)
.doc("petstars", "Remove an activity history of my pet")
.responses(&[said(204, "Removed.")])
.errors(&[403, 404])
.reads_with_session(pets_contract::the_pet);

fn words(v: &mut Validator, field: &str, list: &[String], most: usize, longest: usize) {
    v.check(list.len() <= most, field, "TOO_MANY", format!("at most {most}"));
    for w in list {
        v.line(field, w, 1, longest);
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PortfolioInput {
    pub introduction: String,
    #[serde(default)]
    pub strengths: Vec<String>,
    #[serde(default)]
    pub keywords: Vec<String>,
    #[serde(default)]
    pub media_keys: Vec<String>,
}

impl Validate for PortfolioInput {
    fn validate(&self, v: &mut Validator) {
        v.text("introduction", &self.introduction, 0, 2000);
        words(v, "strengths", &self.strengths, 10, 50);
        words(v, "keywords", &self.keywords, 20, 30);
        v.check(self.media_keys.len() <= 10, "mediaKeys", "TOO_MANY", "at most 10");
    }
}

async fn verify_media(ctx: &AppContext, owner: &str, keys: &[String]) -> ApiResult<()> {
    for k in keys {
        shared::media::verify(ctx, owner, k, &[&pets_contract::PET_PHOTO, &identity_contract::POST_PHOTO]).await?;
    }
    Ok(())
}

fn trimmed(list: Vec<String>) -> Vec<String> {
    list.into_iter().map(|w| w.trim().to_string()).collect()
}

pub async fn put(
    ctx: Arc<AppContext>,
    caller: Caller,
    Path(pet): Path<String>,
    Json(body): Json<PortfolioInput>,
) -> ApiResult<Okay<Portfolio>> {
    let profile = own_pet(&ctx, &caller.user_id, &pet).await?;
    verify_media(&ctx, &caller.user_id, &body.media_keys).await?;
    let now = ctx.now();
    let (strengths, keywords) = (trimmed(body.strengths), trimmed(body.keywords));
    let pages = change_pages(&ctx, &profile, |pages| {
        let portfolio = pages.portfolio.get_or_insert_with(Portfolio::default);
        portfolio.pet_id = pet.clone();
        portfolio.introduction = body.introduction.trim().to_string();
        portfolio.strengths = strengths.clone();
        portfolio.keywords = keywords.clone();
        portfolio.media_keys = body.media_keys.clone();
        portfolio.updated_at = Some(now);
        // An update, so the history count the item also keeps is left as it is.
        Ok(vec![
            Write::update(
                keys::portfolio_key(&pet),
                "SET petId = :p, introduction = :i, strengths = :s, keywords = :k, mediaKeys = :m, updatedAt = :now, entityType = :t",
            )
            .value(":p", shared::table::s(&pet))
            .value(":i", shared::table::s(&portfolio.introduction))
            .value(":s", serde_dynamo::to_attribute_value(&portfolio.strengths)?)
            .value(":k", serde_dynamo::to_attribute_value(&portfolio.keywords)?)
            .value(":m", serde_dynamo::to_attribute_value(&portfolio.media_keys)?)
            .value(":now", shared::table::time(now))
            .value(":t", shared::table::s(Portfolio::TYPE)),
        ])
    })
    .await?;
    Ok(Okay(pages.portfolio.unwrap_or_default()))
}

pub async fn get(ctx: Arc<AppContext>, Path(pet): Path<String>) -> ApiResult<Okay<Portfolio>> {
    if pets_contract::owner_of(&ctx, &pet).await?.is_none() {
        return Err(CampaignError::PetNotFound.into());
    }
    let portfolio = ctx.table.get::<Portfolio>(&keys::portfolio_key(&pet)).await?;
    Ok(Okay(portfolio.unwrap_or_else(|| Portfolio { pet_id: pet, ..Portfolio::default() })))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HistoryInput {
    pub title: String,
    pub date: NaiveDate,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub image_keys: Vec<String>,
}

impl Validate for HistoryInput {
    fn validate(&self, v: &mut Validator) {
        v.line("title", &self.title, 1, 100);
        v.text("description", &self.description, 0, 2000);
        v.check(self.image_keys.len() <= 10, "imageKeys", "TOO_MANY", "at most 10");
        v.check(
            self.date.format("%Y").to_string().parse::<i32>().is_ok_and(|y| y >= 1990),
            "date",
            "OUT_OF_RANGE",
            "from 1990 on",
        );
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HistoryPatch {
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub date: Option<NaiveDate>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub image_keys: Option<Vec<String>>,
}

impl Validate for HistoryPatch {
    fn validate(&self, v: &mut Validator) {
        if let Some(t) = &self.title {
            v.line("title", t, 1, 100);
        }
        if let Some(d) = &self.description {
            v.text("description", d, 0, 2000);
        }
        if let Some(k) = &self.image_keys {
            v.check(k.len() <= 10, "imageKeys", "TOO_MANY", "at most 10");
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryPath {
    pub id: String,
    pub history_id: String,
}

fn not_in_future(ctx: &AppContext, date: NaiveDate) -> ApiResult<()> {
    if date > crate::today(ctx.now()) {
        return Err(shared::ApiError::validation("date", "IN_FUTURE", "an activity that took place"));
    }
    Ok(())
}

pub async fn create_history(
    ctx: Arc<AppContext>,
    caller: Caller,
    Path(pet): Path<String>,
    Json(body): Json<HistoryInput>,
) -> ApiResult<Created<History>> {
    let profile = own_pet(&ctx, &caller.user_id, &pet).await?;
    not_in_future(&ctx, body.date)?;
    verify_media(&ctx, &caller.user_id, &body.image_keys).await?;
    let now = ctx.now();
    let history = History {
        id: shared::ids::new_id(now),
        pet_id: pet.clone(),
        title: body.title.trim().to_string(),
        date: body.date,
        description: body.description.trim().to_string(),
        image_keys: body.image_keys,
        created_at: now,
        updated_at: now,
    };
    change_pages(&ctx, &profile, |pages| {
        pages.histories.push(history.clone());
        Ok(vec![
            Write::put(&history)?.if_absent(shared::ApiError::internal("history id collision")),
            Write::update(keys::portfolio_key(&pet), "SET petId = :p, entityType = :t ADD historyCount :one")
                .value(":p", shared::table::s(&pet))
                .value(":t", shared::table::s(Portfolio::TYPE))
                .value(":one", n(1))
                .value(":max", n(MAX_HISTORIES))
                .when("attribute_not_exists(historyCount) OR historyCount < :max", CampaignError::TooManyHistories),
        ])
    })
    .await?;
    Ok(Created(history))
}

pub async fn list_histories(
    ctx: Arc<AppContext>,
    Path(pet): Path<String>,
) -> ApiResult<Okay<shared::table::Page<History>>> {
    if !shared::ids::is_valid_id(&pet) {
        return Err(CampaignError::PetNotFound.into());
    }
    let pages = pages(&ctx, &pet).await?;
    Ok(Okay(shared::table::Page { items: pages.histories, next_cursor: None }))
}

async fn load_history(ctx: &AppContext, path: &HistoryPath) -> ApiResult<History> {
    if !shared::ids::is_valid_id(&path.id) || !shared::ids::is_valid_id(&path.history_id) {
        return Err(CampaignError::HistoryNotFound.into());
    }
    ctx.table
        .get::<History>(&keys::history_key(&path.id, &path.history_id))
        .await?
        .ok_or_else(|| CampaignError::HistoryNotFound.into())
}

pub async fn get_history(ctx: Arc<AppContext>, Path(path): Path<HistoryPath>) -> ApiResult<Okay<History>> {
    Ok(Okay(load_history(&ctx, &path).await?))
}

pub async fn update_history(
    ctx: Arc<AppContext>,
    caller: Caller,
    Path(path): Path<HistoryPath>,
    Json(body): Json<HistoryPatch>,
) -> ApiResult<Okay<History>> {
    let profile = own_pet(&ctx, &caller.user_id, &path.id).await?;
    if let Some(d) = body.date {
        not_in_future(&ctx, d)?;
    }
    if let Some(k) = &body.image_keys {
        verify_media(&ctx, &caller.user_id, k).await?;
    }
    let now = ctx.now();
    // The history comes with the pages the document is made from: one query, no read of its own.
    let pages = change_pages(&ctx, &profile, |pages| {
        let h = pages.histories.iter_mut().find(|h| h.id == path.history_id).ok_or(CampaignError::HistoryNotFound)?;
        let seen = h.updated_at;
        if let Some(t) = &body.title {
            h.title = t.trim().to_string();
        }
        if let Some(d) = body.date {
            h.date = d;
        }
        if let Some(d) = &body.description {
            h.description = d.trim().to_string();
        }
        if let Some(k) = &body.image_keys {
            h.image_keys = k.clone();
        }
        h.updated_at = now;
        Ok(vec![
            Write::put(&*h)?
                .when("updatedAt = :seen", CampaignError::Changed)
                .value(":seen", shared::table::time(seen)),
        ])
    })
    .await?;
    let h = pages.histories.into_iter().find(|h| h.id == path.history_id).ok_or(CampaignError::HistoryNotFound)?;
    Ok(Okay(h))
}

pub async fn delete_history(
    ctx: Arc<AppContext>,
    caller: Caller,
    Path(path): Path<HistoryPath>,
) -> ApiResult<NoContent> {
    let profile = own_pet(&ctx, &caller.user_id, &path.id).await?;
    change_pages(&ctx, &profile, |pages| {
        let at = pages.histories.iter().position(|h| h.id == path.history_id).ok_or(CampaignError::HistoryNotFound)?;
        let h = pages.histories.remove(at);
        Ok(vec![
            Write::delete(h.key()).if_present(CampaignError::Changed),
            Write::update(keys::portfolio_key(&path.id), "ADD historyCount :m").value(":m", n(-1)),
        ])
    })
    .await?;
    Ok(NoContent)
}
