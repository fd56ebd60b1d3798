//! A campaign's results for its advertiser: who applied, who was selected, where the reviews
//! stand, and each approved review post's Instagram figures (likes, comments, reach) where the
//! PetStar's account is linked and synced, with totals. JSON, or CSV for `Accept: text/csv`.
//!
//! Four calls: the ad (read with the session), the ad's applications (one Query), their reviews
//! with their pets' Instagram links (one batch read), then the approved posts' figures (one batch
//! read: a post's figures are found through the link's connection).

use std::collections::HashMap;
use std::sync::Arc;

use serde::Serialize;
use shared::handler::{Caller, Csv, Either, Okay, Path, WantsCsv};
use shared::routes::{Function, Method, Permission, said};
use shared::table::{Entity, Gsi, Query};
use shared::{ApiError, ApiResult, AppContext, handler};
use utoipa::ToSchema;

use crate::applications::{Application, ApplicationStatus};
use crate::error::CampaignError;
use crate::model::{Review, ReviewStatus};
use crate::{PKG, keys};

pub static REPORT: Function = Function::http(
    Method::Get,
    "/ads/{id}/report",
    "ads-report",
    PKG,
    identity_contract::ADVERTISERS_ONLY,
    handler!(report),
)
.permissions(&[Permission::TableRead])
.doc(
    "ads",
    "My ad's results: applicants, selected PetStars, reviews, and each approved review post's Instagram figures with totals (CSV with Accept: text/csv)",
)
.responses(&[said(200, "The report (or, for Accept: text/csv, one row per approved review post and a total row).")])
.errors(&[403, 404])
.reads_with_session(ad_of_path);

fn ad_of_path(path: &HashMap<String, String>, _caller: &str) -> Vec<shared::table::Key> {
    shared::routes::id_param(path, "id").map(keys::ad_key).into_iter().collect()
}

/// The report of one ad.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdReport {
    pub ad_id: String,
    pub title: String,
    pub status: crate::ads::AdStatus,
    /// Applications not cancelled.
    pub applicants: u32,
    /// Applications selected (and on to review or completed).
    pub selected: u32,
    pub reviews: ReviewCounts,
    /// Every selected PetStar's review, approved ones with their post's figures.
    pub posts: Vec<ReviewPost>,
    pub totals: Totals,
}

#[derive(Debug, Default, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReviewCounts {
    /// Not submitted yet.
    pub pending: u32,
    /// Waiting for my decision.
    pub submitted: u32,
    pub approved: u32,
    /// Rejected and not submitted again.
    pub rejected: u32,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReviewPost {
    pub application_id: String,
    pub pet_id: String,
    pub review_status: ReviewStatus,
    pub url: Option<String>,
    /// For an approved post on a linked, synced account: its figures as last synced.
    pub instagram: Option<instagram_contract::PostFigures>,
}

/// The approved posts' figures added up (reach over the posts it was measured for).
#[derive(Debug, Default, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Totals {
    /// Approved posts whose figures are known.
    pub posts_measured: u32,
    pub likes: i64,
    pub comments: i64,
    pub reach: i64,
}

pub async fn report(
    ctx: Arc<AppContext>,
    caller: Caller,
    Path(id): Path<String>,
    csv: WantsCsv,
) -> ApiResult<Either<Okay<AdReport>, Csv>> {
    let ad = crate::ads::load(&ctx, &id).await?;
    if ad.advertiser_id != caller.user_id && !caller.is_admin() {
        return Err(CampaignError::NotYourAd.into());
    }
    let query = Query::partition(keys::ad_applications_partition(&ad.id)).index(Gsi::Gsi1);
    let apps: Vec<Application> = ctx
        .table
        .query_items_all(&query, Some(5_000))
        .await?
        .into_iter()
        .map(Application::from_item)
        .collect::<ApiResult<_>>()?;
    let chosen: Vec<&Application> = apps
        .iter()
        .filter(|a| {
            matches!(
                a.status,
                ApplicationStatus::Selected | ApplicationStatus::Reviewing | ApplicationStatus::Completed
            )
        })
        .collect();
    let review_keys: Vec<shared::table::Key> = chosen.iter().map(|a| keys::review_key(&a.id)).collect();
    let mut pets: Vec<String> = chosen.iter().map(|a| a.pet_id.clone()).collect();
    pets.sort();
    pets.dedup();
    // The reviews and the pets' Instagram links in one batch read.
    let [review_items, link_items] =
        ctx.table.batch_get_groups([&review_keys, &instagram_contract::link_keys(&pets)]).await?;
    let reviews: Vec<Option<Review>> =
        review_items.into_iter().map(|i| i.map(Review::from_item).transpose()).collect::<ApiResult<_>>()?;

    let mut counts = ReviewCounts::default();
    let mut approved = Vec::new();
    for r in reviews.iter().flatten() {
        match r.status {
            ReviewStatus::Pending => counts.pending += 1,
            ReviewStatus::Submitted => counts.submitted += 1,
            ReviewStatus::Approved => counts.approved += 1,
            ReviewStatus::Rejected => counts.rejected += 1,
        }
        if let (ReviewStatus::Approved, Some(url)) = (r.status, &r.url) {
            approved.push((r.pet_id.clone(), url.clone()));
        }
    }
    let figures = instagram_contract::post_figures_from(&ctx, &pets, link_items, &approved).await?;
    let mut totals = Totals::default();
    let posts: Vec<ReviewPost> = chosen
        .iter()
        .zip(&reviews)
        .map(|(a, r)| {
            let status = r.as_ref().map(|r| r.status).unwrap_or(ReviewStatus::Pending);
            let url = r.as_ref().and_then(|r| r.url.clone());
            let instagram = match (status, &url) {
                (ReviewStatus::Approved, Some(u)) => figures.get(u).cloned(),
                _ => None,
            };
            if let Some(f) = &instagram {
                totals.posts_measured += 1;
                totals.likes += f.like_count;
                totals.comments += f.comments_count;
                totals.reach += f.reach.unwrap_or_default();
            }
            ReviewPost { application_id: a.id.clone(), pet_id: a.pet_id.clone(), review_status: status, url, instagram }
        })
        .collect();
    let report = AdReport {
        ad_id: ad.id.clone(),
        title: ad.title.clone(),
        status: ad.status,
        applicants: apps.iter().filter(|a| a.status != ApplicationStatus::Cancelled).count() as u32,
        selected: chosen.len() as u32,
        reviews: counts,
        posts,
        totals,
    };
    if csv.0 {
        return Ok(Either::Second(Csv { filename: format!("ad-{}-report.csv", ad.id), body: as_csv(&report)? }));
    }
    Ok(Either::First(Okay(report)))
}

/// One row per approved review post, then the totals.
fn as_csv(report: &AdReport) -> ApiResult<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let failed = |e: csv::Error| ApiError::internal(format!("the report's CSV: {e}"));
    w.write_record(["applicationId", "petId", "url", "reviewStatus", "likes", "comments", "reach", "syncedAt"])
        .map_err(failed)?;
    for p in report.posts.iter().filter(|p| p.review_status == ReviewStatus::Approved) {
        let f = p.instagram.as_ref();
        w.write_record([
            p.application_id.clone(),
            p.pet_id.clone(),
            p.url.clone().unwrap_or_default(),
            "APPROVED".to_string(),
            f.map(|f| f.like_count.to_string()).unwrap_or_default(),
            f.map(|f| f.comments_count.to_string()).unwrap_or_default(),
            f.and_then(|f| f.reach).map(|r| r.to_string()).unwrap_or_default(),
            f.map(|f| f.synced_at.to_rfc3339()).unwrap_or_default(),
        ])
        .map_err(failed)?;
    }
    let t = &report.totals;
    w.write_record([
        "TOTAL".to_string(),
        String::new(),
        String::new(),
        format!("{} measured", t.posts_measured),
        t.likes.to_string(),
        t.comments.to_string(),
        t.reach.to_string(),
        String::new(),
    ])
    .map_err(failed)?;
    let bytes = w.into_inner().map_err(|e| ApiError::internal(format!("the report's CSV: {e}")))?;
    String::from_utf8(bytes).map_err(|e| ApiError::internal(format!("the report's CSV: {e}")))
}
