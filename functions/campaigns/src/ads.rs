//! Ads (campaigns): an approved advertiser writes one, an administrator approves it, and its
//! dates drive it through its lifecycle (see [`crate::lifecycle`]):
//!
//! PENDING → (admin) APPROVED or REJECTED → (edit) PENDING; APPROVED → after the announcement
//! → CLOSED (selection) → on the selection date → SELECTED → at campaign start → TRIAL → after
//! campaign end → ENDED. An owner's delete is soft (DELETED).

use std::sync::Arc;

use chrono::{DateTime, Days, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use shared::handler;
use shared::handler::{Caller, Created, Json, NoContent, Okay, Params, Path, RequestId, Viewer};
use shared::http::PageRequest;
use shared::routes::{Access, Function, Method, Permission, enum_param, param, said};
use shared::table::{Entity, Gsi, Page, Query, Write, n, s};
use shared::validate::{Validate, Validator};
use shared::{ApiError, ApiResult, AppContext};
use utoipa::ToSchema;

use crate::error::CampaignError;
use crate::{PKG, keys, today};

const READ: &[Permission] = &[Permission::TableRead];
/// A write that answers no body presigns no media URL.
const REMOVE: &[Permission] = &[Permission::TableRead, Permission::TableWrite];
const WRITE: &[Permission] = &[Permission::TableRead, Permission::TableWrite, Permission::MediaRead];

/// The ad named in the path, read with the caller's session.
pub fn the_ad(path: &std::collections::HashMap<String, String>, _caller: &str) -> Vec<shared::table::Key> {
    shared::routes::id_param(path, "id").map(keys::ad_key).into_iter().collect()
}

pub static CREATE: Function = Function::http(Method::Post, "/ads", "ads-create", PKG, identity_contract::ADVERTISERS_ONLY, handler!(create))
    .permissions(WRITE)
    .doc("ads", "Write an ad; it waits for an administrator's approval")
    .example(r#"{"title":"수제 간식 체험단","content":"강아지 수제 간식을 먹어보고 리뷰해 주세요","objective":"신제품 인지도","announceStart":"2027-01-04","announceEnd":"2027-01-10","selectionDate":"2027-01-12","campaignStart":"2027-01-13","campaignEnd":"2027-01-27","membersCount":5,"missions":["간식 먹는 영상 1개"],"keywords":["간식","리뷰"],"requirements":["소형견"],"fileKeys":[]}"#)
    .responses(&[said(201, "Written, pending approval.")])
    .errors(&[403]);

pub static UPDATE: Function = Function::http(
    Method::Patch,
    "/ads/{id}",
    "ads-update",
    PKG,
    identity_contract::ADVERTISERS_ONLY,
    handler!(update),
)
.permissions(WRITE)
.doc("ads", "Change my ad while it waits for approval or after a rejection (it waits again)")
.example(r#"{"membersCount":8}"#)
.responses(&[said(200, "The ad.")])
.errors(&[403, 404, 409])
.reads_with_session(the_ad);

pub static DELETE: Function = Function::http(
    Method::Delete,
    "/ads/{id}",
    "ads-delete",
    PKG,
    identity_contract::ADVERTISERS_ONLY,
    handler!(delete),
)
.permissions(REMOVE)
.doc("ads", "Delete my ad (refused once PetStars applied, unless it still waits for approval)")
.responses(&[said(204, "Deleted.")])
.errors(&[403, 404, 409])
.reads_with_session(the_ad);

pub static GET: Function = Function::http(Method::Get, "/ads/{id}", "ads-get", PKG, Access::Public, handler!(get))
    .permissions(READ)
    .doc("ads", "An ad (before approval only its advertiser and administrators see it)")
    .responses(&[said(200, "The ad.")])
    .errors(&[404])
    .reads_with_session(the_ad);

pub static LIST: Function = Function::http(Method::Get, "/ads", "ads-list", PKG, Access::Public, handler!(list))
    .permissions(READ)
    .doc("ads", "Approved ads by phase, newest first: RECRUITING (in their announcement window) by default")
    .query(&[
        enum_param(
            "status",
            false,
            "default RECRUITING",
            &["RECRUITING", "UPCOMING", "CLOSED", "SELECTED", "TRIAL", "ENDED"],
        ),
        param("cursor", false, "from nextCursor"),
    ]);

pub static MINE: Function = Function::http(
    Method::Get,
    "/advertisers/me/ads",
    "ads-mine",
    PKG,
    identity_contract::ADVERTISERS_ONLY,
    handler!(mine),
)
.permissions(READ)
.doc("ads", "My ads, newest first")
.query(&[param("status", false, "only ads with this status"), param("cursor", false, "from nextCursor")]);

pub static ADMIN_LIST: Function =
    Function::http(Method::Get, "/admin/ads", "admin-ads-list", PKG, Access::Admin, handler!(admin_list))
        .permissions(READ)
        .doc("admin", "Ads by status, oldest first (default: waiting for approval)")
        .query(&[enum_param("status", false, "default PENDING", STATUSES), param("cursor", false, "from nextCursor")]);

pub static ADMIN_DECIDE: Function = Function::http(
    Method::Put,
    "/admin/ads/{id}/decision",
    "admin-ads-decide",
    PKG,
    Access::Admin,
    handler!(admin_decide),
)
.permissions(WRITE)
.doc("admin", "Approve or reject an ad (a reason is required to reject); the advertiser is told")
.example(r#"{"decision":"APPROVE"}"#)
.responses(&[said(200, "Decided.")])
.errors(&[404, 409])
.reads_with_session(the_ad);

const STATUSES: &[&str] = &["PENDING", "REJECTED", "APPROVED", "CLOSED", "SELECTED", "TRIAL", "ENDED", "DELETED"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AdStatus {
    Pending,
    Rejected,
    Approved,
    /// The announcement is over: the advertiser selects.
    Closed,
    /// The selection date passed: selected PetStars wait for the campaign.
    Selected,
    /// The campaign runs: selected PetStars post and submit reviews.
    Trial,
    Ended,
    Deleted,
}

impl AdStatus {
    pub fn as_str(self) -> &'static str {
        STATUSES[self as usize]
    }
    pub fn parse(s: &str) -> Option<Self> {
        use AdStatus::*;
        [Pending, Rejected, Approved, Closed, Selected, Trial, Ended, Deleted].into_iter().find(|x| x.as_str() == s)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Ad {
    pub id: String,
    pub advertiser_id: String,
    pub title: String,
    pub content: String,
    pub objective: String,
    #[serde(default)]
    pub url: Option<String>,
    pub announce_start: NaiveDate,
    pub announce_end: NaiveDate,
    pub selection_date: NaiveDate,
    pub campaign_start: NaiveDate,
    pub campaign_end: NaiveDate,
    pub members_count: u32,
    #[serde(default)]
    pub missions: Vec<String>,
    #[serde(default)]
    pub keywords: Vec<String>,
    #[serde(default)]
    pub requirements: Vec<String>,
    #[serde(default)]
    pub file_keys: Vec<String>,
    pub status: AdStatus,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub applicants_count: u32,
    #[serde(default)]
    pub selected_count: u32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Ad {
    /// The day the lifecycle job next moves this ad on, if one lies ahead.
    pub fn next_due(&self) -> Option<NaiveDate> {
        match self.status {
            AdStatus::Approved => self.announce_end.checked_add_days(Days::new(1)),
            AdStatus::Closed => Some(self.selection_date),
            AdStatus::Selected => Some(self.campaign_start),
            AdStatus::Trial => self.campaign_end.checked_add_days(Days::new(1)),
            _ => None,
        }
    }

    /// What the public sees of its status: an approved ad is RECRUITING inside its
    /// announcement window and UPCOMING before it.
    pub fn phase(&self, today: NaiveDate) -> &'static str {
        match self.status {
            AdStatus::Approved if today < self.announce_start => "UPCOMING",
            AdStatus::Approved if today <= self.announce_end => "RECRUITING",
            AdStatus::Approved => "CLOSED",
            other => other.as_str(),
        }
    }

    /// The ad's words, for ranking PetStars against it.
    pub fn text(&self) -> String {
        let mut parts = vec![self.title.clone(), self.content.clone(), self.objective.clone()];
        parts.extend(self.keywords.iter().cloned());
        parts.extend(self.missions.iter().cloned());
        parts.extend(self.requirements.iter().cloned());
        parts.join(" ")
    }

    pub fn is_public(&self) -> bool {
        !matches!(self.status, AdStatus::Pending | AdStatus::Rejected | AdStatus::Deleted)
    }
}

impl Entity for Ad {
    const TYPE: &'static str = "Ad";
    fn pk(&self) -> String {
        keys::ad_key(&self.id).pk
    }
    fn sk(&self) -> String {
        keys::ad_key(&self.id).sk
    }
    fn index_keys(&self) -> Vec<(Gsi, String, String)> {
        let created = keys::since_sort(self.created_at, &self.id);
        let mut out = vec![
            (Gsi::Gsi1, keys::ads_partition(self.status.as_str()), created.clone()),
            (Gsi::Gsi2, keys::advertiser_ads_partition(&self.advertiser_id), created),
        ];
        if let Some(due) = self.next_due() {
            out.push((Gsi::Gsi3, keys::ADS_DUE.into(), keys::due_sort(due, &self.id)));
        }
        out
    }
}

/// An ad as clients see it: the ad, its advertiser's company name and its phase.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdView {
    #[serde(flatten)]
    pub ad: Ad,
    pub company_name: Option<String>,
    /// RECRUITING, UPCOMING or the status.
    pub phase: &'static str,
}

pub fn view(ad: Ad, company_name: Option<String>, today: NaiveDate) -> AdView {
    let phase = ad.phase(today);
    AdView { ad, company_name, phase }
}

async fn views(ctx: &AppContext, ads: Vec<Ad>) -> ApiResult<Vec<AdView>> {
    let ids: Vec<String> = ads.iter().map(|a| a.advertiser_id.clone()).collect();
    let names = identity_contract::company_names(ctx, &ids).await?;
    let today = today(ctx.now());
    Ok(ads
        .into_iter()
        .map(|a| {
            let name = names.get(&a.advertiser_id).cloned();
            view(a, name, today)
        })
        .collect())
}

pub async fn load(ctx: &AppContext, id: &str) -> ApiResult<Ad> {
    if !shared::ids::is_valid_id(id) {
        return Err(CampaignError::AdNotFound.into());
    }
    match ctx.table.get::<Ad>(&keys::ad_key(id)).await? {
        Some(ad) if ad.status != AdStatus::Deleted => Ok(ad),
        _ => Err(CampaignError::AdNotFound.into()),
    }
}

/// The ad, if `caller` is its advertiser.
pub async fn load_own(ctx: &AppContext, caller: &Caller, id: &str) -> ApiResult<Ad> {
    let ad = load(ctx, id).await?;
    if ad.advertiser_id != caller.user_id {
        return Err(CampaignError::NotYourAd.into());
    }
    Ok(ad)
}

fn list_of(v: &mut Validator, field: &str, list: &[String], most: usize, longest: usize) {
    v.check(list.len() <= most, field, "TOO_MANY", format!("at most {most}"));
    for w in list {
        v.line(field, w, 1, longest);
    }
}

fn check_url(v: &mut Validator, url: &str) {
    let ok = (url.starts_with("https://") || url.starts_with("http://"))
        && url.len() <= 500
        && !url.contains(char::is_whitespace);
    v.check(ok, "url", "INVALID_URL", "an http(s) URL");
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AdInput {
    pub title: String,
    pub content: String,
    pub objective: String,
    #[serde(default)]
    pub url: Option<String>,
    pub announce_start: NaiveDate,
    pub announce_end: NaiveDate,
    pub selection_date: NaiveDate,
    pub campaign_start: NaiveDate,
    pub campaign_end: NaiveDate,
    pub members_count: u32,
    #[serde(default)]
    pub missions: Vec<String>,
    #[serde(default)]
    pub keywords: Vec<String>,
    #[serde(default)]
    pub requirements: Vec<String>,
    #[serde(default)]
    pub file_keys: Vec<String>,
}

impl Validate for AdInput {
    fn validate(&self, v: &mut Validator) {
        v.line("title", &self.title, 1, 100);
        v.text("content", &self.content, 1, 5000);
        v.text("objective", &self.objective, 1, 500);
        if let Some(u) = &self.url {
            check_url(v, u);
        }
        v.check((1..=100).contains(&self.members_count), "membersCount", "OUT_OF_RANGE", "1 to 100");
        list_of(v, "missions", &self.missions, 20, 200);
        list_of(v, "keywords", &self.keywords, 20, 30);
        list_of(v, "requirements", &self.requirements, 20, 200);
        v.check(self.file_keys.len() <= 10, "fileKeys", "TOO_MANY", "at most 10");
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AdPatch {
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub content: Option<String>,
    #[serde(default)]
    pub objective: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub announce_start: Option<NaiveDate>,
    #[serde(default)]
    pub announce_end: Option<NaiveDate>,
    #[serde(default)]
    pub selection_date: Option<NaiveDate>,
    #[serde(default)]
    pub campaign_start: Option<NaiveDate>,
    #[serde(default)]
    pub campaign_end: Option<NaiveDate>,
    #[serde(default)]
    pub members_count: Option<u32>,
    #[serde(default)]
    pub missions: Option<Vec<String>>,
    #[serde(default)]
    pub keywords: Option<Vec<String>>,
    #[serde(default)]
    pub requirements: Option<Vec<String>>,
    #[serde(default)]
    pub file_keys: Option<Vec<String>>,
}

impl Validate for AdPatch {
    fn validate(&self, v: &mut Validator) {
        if let Some(t) = &self.title {
            v.line("title", t, 1, 100);
        }
        if let Some(c) = &self.content {
            v.text("content", c, 1, 5000);
        }
        if let Some(o) = &self.objective {
            v.text("objective", o, 1, 500);
        }
        if let Some(u) = &self.url {
            check_url(v, u);
        }
        if let Some(m) = self.members_count {
            v.check((1..=100).contains(&m), "membersCount", "OUT_OF_RANGE", "1 to 100");
        }
        if let Some(l) = &self.missions {
            list_of(v, "missions", l, 20, 200);
        }
        if let Some(l) = &self.keywords {
            list_of(v, "keywords", l, 20, 30);
        }
        if let Some(l) = &self.requirements {
            list_of(v, "requirements", l, 20, 200);
        }
        if let Some(l) = &self.file_keys {
            v.check(l.len() <= 10, "fileKeys", "TOO_MANY", "at most 10");
        }
    }
}

/// The dates must follow each other (announceStart ≤ announceEnd < selectionDate ≤
/// campaignStart ≤ campaignEnd) and none may have passed.
fn check_dates(ad: &Ad, today: NaiveDate) -> ApiResult<()> {
    let mut v = Validator::new();
    v.check(ad.announce_start >= today, "announceStart", "IN_PAST", "today or later (Korean time)");
    v.check(ad.announce_start <= ad.announce_end, "announceEnd", "OUT_OF_ORDER", "on or after announceStart");
    v.check(ad.announce_end < ad.selection_date, "selectionDate", "OUT_OF_ORDER", "after announceEnd");
    v.check(ad.selection_date <= ad.campaign_start, "campaignStart", "OUT_OF_ORDER", "on or after selectionDate");
    v.check(ad.campaign_start <= ad.campaign_end, "campaignEnd", "OUT_OF_ORDER", "on or after campaignStart");
    v.finish()
}

async fn verify_files(ctx: &AppContext, owner: &str, keys: &[String]) -> ApiResult<()> {
    for k in keys {
        shared::media::verify(ctx, owner, k, &[&identity_contract::DOCUMENT, &identity_contract::POST_PHOTO]).await?;
    }
    Ok(())
}

fn trimmed(list: Vec<String>) -> Vec<String> {
    list.into_iter().map(|w| w.trim().to_string()).collect()
}

pub async fn create(ctx: Arc<AppContext>, caller: Caller, Json(body): Json<AdInput>) -> ApiResult<Created<AdView>> {
    verify_files(&ctx, &caller.user_id, &body.file_keys).await?;
    let now = ctx.now();
    let ad = Ad {
        id: shared::ids::new_id(now),
        advertiser_id: caller.user_id.clone(),
        title: body.title.trim().to_string(),
        content: body.content.trim().to_string(),
        objective: body.objective.trim().to_string(),
        url: body.url.map(|u| u.trim().to_string()),
        announce_start: body.announce_start,
        announce_end: body.announce_end,
        selection_date: body.selection_date,
        campaign_start: body.campaign_start,
        campaign_end: body.campaign_end,
        members_count: body.members_count,
        missions: trimmed(body.missions),
        keywords: trimmed(body.keywords),
        requirements: trimmed(body.requirements),
        file_keys: body.file_keys,
        status: AdStatus::Pending,
        reason: None,
        applicants_count: 0,
        selected_count: 0,
        created_at: now,
        updated_at: now,
    };
    check_dates(&ad, today(now))?;
    ctx.table
        .transact(vec![
            Write::put(&ad)?.if_absent(ApiError::internal("ad id collision")),
            crate::vectors::ad_vector_wanted(&ctx, &ad.id, &ad.text())?,
        ])
        .await?;
    Ok(Created(views(&ctx, vec![ad]).await?.remove(0)))
}

pub async fn update(
    ctx: Arc<AppContext>,
    caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<AdPatch>,
) -> ApiResult<Okay<AdView>> {
    let mut ad = load_own(&ctx, &caller, &id).await?;
    if !matches!(ad.status, AdStatus::Pending | AdStatus::Rejected) {
        return Err(CampaignError::AdNotEditable.into());
    }
    if let Some(k) = &body.file_keys {
        verify_files(&ctx, &caller.user_id, k).await?;
    }
    let (seen, was) = (ad.updated_at, ad.status);
    macro_rules! set {
        ($($field:ident),*) => { $(if let Some(v) = body.$field { ad.$field = v; })* };
    }
    set!(announce_start, announce_end, selection_date, campaign_start, campaign_end, members_count, file_keys);
    if let Some(t) = body.title {
        ad.title = t.trim().to_string();
    }
    if let Some(c) = body.content {
        ad.content = c.trim().to_string();
    }
    if let Some(o) = body.objective {
        ad.objective = o.trim().to_string();
    }
    if let Some(u) = body.url {
        ad.url = Some(u.trim().to_string());
    }
    if let Some(l) = body.missions {
        ad.missions = trimmed(l);
    }
    if let Some(l) = body.keywords {
        ad.keywords = trimmed(l);
    }
    if let Some(l) = body.requirements {
        ad.requirements = trimmed(l);
    }
    let now = ctx.now();
    check_dates(&ad, today(now))?;
    // A rejected ad that is changed waits for approval again.
    ad.status = AdStatus::Pending;
    ad.reason = None;
    ad.updated_at = now;
    ctx.table
        .transact(vec![
            Write::put(&ad)?
                .when("updatedAt = :seen AND #st = :was", CampaignError::Changed)
                .name("#st", "status")
                .value(":seen", shared::table::time(seen))
                .value(":was", s(was.as_str())),
            crate::vectors::ad_vector_wanted(&ctx, &ad.id, &ad.text())?,
        ])
        .await?;
    Ok(Okay(views(&ctx, vec![ad]).await?.remove(0)))
}

pub async fn delete(ctx: Arc<AppContext>, caller: Caller, Path(id): Path<String>) -> ApiResult<NoContent> {
    let mut ad = load_own(&ctx, &caller, &id).await?;
    let seen = ad.status;
    ad.status = AdStatus::Deleted;
    ad.updated_at = ctx.now();
    // Checked on the item itself, so an application landing meanwhile is seen.
    ctx.table
        .write(
            Write::put(&ad)?
                .when("#st = :seen AND (#st = :pending OR applicantsCount = :zero)", CampaignError::AdHasApplications)
                .name("#st", "status")
                .value(":seen", s(seen.as_str()))
                .value(":pending", s("PENDING"))
                .value(":zero", n(0)),
        )
        .await?;
    Ok(NoContent)
}

pub async fn get(ctx: Arc<AppContext>, viewer: Viewer, Path(id): Path<String>) -> ApiResult<Okay<AdView>> {
    let ad = load(&ctx, &id).await?;
    let mine = viewer.id() == Some(ad.advertiser_id.as_str());
    let admin = viewer.is_admin();
    if !ad.is_public() && !mine && !admin {
        return Err(CampaignError::AdNotFound.into());
    }
    Ok(Okay(views(&ctx, vec![ad]).await?.remove(0)))
}

pub async fn list(ctx: Arc<AppContext>, params: Params) -> ApiResult<Okay<Page<AdView>>> {
    let phase = params.raw("status").unwrap_or("RECRUITING");
    let status = match phase {
        "RECRUITING" | "UPCOMING" => AdStatus::Approved,
        "CLOSED" | "SELECTED" | "TRIAL" | "ENDED" => AdStatus::parse(phase).unwrap_or(AdStatus::Closed),
        _ => {
            return Err(ApiError::validation(
                "status",
                "INVALID",
                "RECRUITING, UPCOMING, CLOSED, SELECTED, TRIAL or ENDED",
            ));
        }
    };
    let q = Query::partition(keys::ads_partition(status.as_str()))
        .index(Gsi::Gsi1)
        .newest_first()
        .paged(&params, 20, 50)?;
    let page = ctx.table.query::<Ad>(&q).await?;
    let today = today(ctx.now());
    // Within the page: it keeps its cursor, so a short page is followed like any other. An
    // approved ad whose announcement just ended shows as CLOSED until the job moves it.
    let items: Vec<Ad> = page.items.into_iter().filter(|a| a.phase(today) == phase).collect();
    Ok(Okay(Page { items: views(&ctx, items).await?, next_cursor: page.next_cursor }))
}

pub async fn mine(ctx: Arc<AppContext>, caller: Caller, params: Params) -> ApiResult<Okay<Page<AdView>>> {
    let status = match params.raw("status") {
        None => None,
        Some(st) => {
            Some(AdStatus::parse(st).ok_or_else(|| ApiError::validation("status", "INVALID", STATUSES.join(", ")))?)
        }
    };
    let q = Query::partition(keys::advertiser_ads_partition(&caller.user_id))
        .index(Gsi::Gsi2)
        .newest_first()
        .paged(&params, 20, 50)?;
    let page = ctx.table.query::<Ad>(&q).await?;
    let items: Vec<Ad> = page
        .items
        .into_iter()
        .filter(|a| a.status != AdStatus::Deleted && status.is_none_or(|st| a.status == st))
        .collect();
    Ok(Okay(Page { items: views(&ctx, items).await?, next_cursor: page.next_cursor }))
}

pub async fn admin_list(ctx: Arc<AppContext>, _admin: Caller, params: Params) -> ApiResult<Okay<Page<AdView>>> {
    let status = match params.raw("status") {
        None => AdStatus::Pending,
        Some(st) => {
            AdStatus::parse(st).ok_or_else(|| ApiError::validation("status", "INVALID", STATUSES.join(", ")))?
        }
    };
    let q = Query::partition(keys::ads_partition(status.as_str())).index(Gsi::Gsi1).paged(&params, 20, 100)?;
    let page = ctx.table.query::<Ad>(&q).await?;
    Ok(Okay(Page { items: views(&ctx, page.items).await?, next_cursor: page.next_cursor }))
}

use moderation_contract::moderation::{Verdict as Decision, VerdictRequest as DecisionRequest};

pub async fn admin_decide(
    ctx: Arc<AppContext>,
    admin: Caller,
    request: RequestId,
    Path(id): Path<String>,
    Json(body): Json<DecisionRequest>,
) -> ApiResult<Okay<AdView>> {
    let mut ad = load(&ctx, &id).await?;
    if ad.status != AdStatus::Pending {
        return Err(CampaignError::AdDecided.into());
    }
    let seen = ad.updated_at;
    ad.updated_at = ctx.now();
    ad.reason = body.reason.as_deref().map(|r| r.trim().to_string());
    let text = match body.decision {
        Decision::Approve => {
            ad.status = AdStatus::Approved;
            format!("광고 '{}'이(가) 승인되었습니다. 모집 기간: {} ~ {}", ad.title, ad.announce_start, ad.announce_end)
        }
        Decision::Reject => {
            ad.status = AdStatus::Rejected;
            format!("광고 '{}'이(가) 반려되었습니다. 사유: {}", ad.title, ad.reason.as_deref().unwrap_or_default())
        }
    };
    let mut writes = vec![
        Write::put(&ad)?
            .when("#st = :pending AND updatedAt = :seen", CampaignError::AdDecided)
            .name("#st", "status")
            .value(":pending", s("PENDING"))
            .value(":seen", shared::table::time(seen)),
    ];
    let action = if ad.status == AdStatus::Approved { "AD_APPROVE" } else { "AD_REJECT" };
    let (_, audit) = moderation_contract::trail::record(
        &ctx,
        &admin.user_id,
        action,
        "AD",
        &ad.id,
        serde_json::json!({"status": "PENDING"}),
        serde_json::json!({"status": ad.status.as_str(), "reason": ad.reason}),
        Some(&request.0),
    )?;
    writes.push(audit);
    if ad.status == AdStatus::Approved {
        writes.push(crate::vectors::ad_vector_wanted(&ctx, &ad.id, &ad.text())?);
    }
    writes.extend(crate::tell(
        &ctx,
        format!("ad-{}-{}", ad.id, ad.updated_at.timestamp_millis()),
        &admin.user_id,
        &ad.advertiser_id,
        ("AD", &ad.id),
        text,
    )?);
    ctx.table.transact(writes).await?;
    Ok(Okay(views(&ctx, vec![ad]).await?.remove(0)))
}
