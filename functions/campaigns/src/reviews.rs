//! Reviews: on the selection date each selected application gets a review (PENDING, sharing
//! the application's id). While the campaign runs its owner submits the post's URL
//! (SUBMITTED; the application is REVIEWING); the advertiser approves it (APPROVED; the
//! application is COMPLETED) or rejects it with a reason (REJECTED; the owner may submit again
//! while the campaign runs).

use std::sync::Arc;

use serde::Deserialize;
use shared::handler;
use shared::handler::{Caller, Json, Okay, Path};
use shared::routes::{Access, Function, Method, Permission, said};
use shared::table::{Entity, Write, s};
use shared::validate::{Validate, Validator};
use shared::{ApiResult, AppContext};
use utoipa::ToSchema;

use crate::ads::AdStatus;
use crate::applications::ApplicationStatus;
use crate::error::CampaignError;
use crate::model::{Review, ReviewStatus};
use crate::{PKG, keys};

const WRITE: &[Permission] = &[Permission::TableRead, Permission::TableWrite, Permission::MediaRead];

pub static SUBMIT: Function =
    Function::http(Method::Put, "/applications/{id}/review", "reviews-submit", PKG, Access::User, handler!(submit))
        .permissions(WRITE)
        .doc("applications", "Submit (or resubmit) the review post of my selected application while the campaign runs")
        .example(r#"{"url":"https://www.instagram.com/p/C0ffee123/"}"#)
        .responses(&[said(200, "Submitted.")])
        .errors(&[403, 404, 409])
        .reads_with_session(crate::applications::the_application);

pub static DECIDE: Function = Function::http(
    Method::Put,
    "/reviews/{id}/decision",
    "reviews-decide",
    PKG,
    identity_contract::ADVERTISERS_ONLY,
    handler!(decide),
)
.permissions(WRITE)
.doc("applications", "Approve a review of my ad (the application completes) or reject it with a reason")
.example(r#"{"decision":"REJECTED","reason":"필수 해시태그가 빠졌어요"}"#)
.responses(&[said(200, "Decided.")])
.errors(&[403, 404, 409]);

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SubmitRequest {
    pub url: String,
}

impl Validate for SubmitRequest {
    fn validate(&self, v: &mut Validator) {
        let u = self.url.trim();
        let ok = (u.starts_with("https://") || u.starts_with("http://"))
            && u.len() > 10
            && u.len() <= 500
            && !u.contains(char::is_whitespace);
        v.check(ok, "url", "INVALID_URL", "the http(s) URL of the post");
    }
}

async fn load(ctx: &AppContext, id: &str) -> ApiResult<Review> {
    if !shared::ids::is_valid_id(id) {
        return Err(CampaignError::ReviewNotFound.into());
    }
    ctx.table.get::<Review>(&keys::review_key(id)).await?.ok_or_else(|| CampaignError::ReviewNotFound.into())
}

pub async fn submit(
    ctx: Arc<AppContext>,
    caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<SubmitRequest>,
) -> ApiResult<Okay<Review>> {
    let app = crate::applications::load(&ctx, &id).await?;
    if app.owner_id != caller.user_id {
        return Err(CampaignError::NotYourApplication.into());
    }
    let ad = crate::ads::load(&ctx, &app.ad_id).await?;
    if ad.status != AdStatus::Trial {
        return Err(CampaignError::NotInTrial.into());
    }
    let mut review = match ctx.table.get::<Review>(&keys::review_key(&id)).await? {
        Some(r) if app.status == ApplicationStatus::Selected && r.status != ReviewStatus::Submitted => r,
        _ => return Err(CampaignError::ReviewNotExpected.into()),
    };
    let now = ctx.now();
    review.status = ReviewStatus::Submitted;
    review.url = Some(body.url.trim().to_string());
    review.updated_at = now;
    let mut writes = vec![
        Write::put(&review)?
            .when("#st = :pending OR #st = :rejected", CampaignError::ReviewNotExpected)
            .name("#st", "status")
            .value(":pending", s("PENDING"))
            .value(":rejected", s("REJECTED")),
        Write::update(app.key(), "SET #st = :reviewing, updatedAt = :now")
            .name("#st", "status")
            .value(":reviewing", s("REVIEWING"))
            .value(":now", shared::table::time(now))
            .value(":selected", s("SELECTED"))
            .when("#st = :selected", CampaignError::ReviewNotExpected),
    ];
    writes.extend(crate::tell(
        &ctx,
        format!("review-submitted-{id}-{}", now.timestamp_millis()),
        &caller.user_id,
        &ad.advertiser_id,
        ("REVIEW", &id),
        format!("광고 '{}'의 리뷰가 제출되었습니다. 확인해 주세요.", ad.title),
    )?);
    ctx.table.transact(writes).await?;
    Ok(Okay(review))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReviewDecision {
    Approved,
    Rejected,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReviewDecisionRequest {
    pub decision: ReviewDecision,
    #[serde(default)]
    pub reason: Option<String>,
}

impl Validate for ReviewDecisionRequest {
    fn validate(&self, v: &mut Validator) {
        match (&self.reason, self.decision) {
            (Some(r), _) => v.text("reason", r, 1, 500),
            (None, ReviewDecision::Rejected) => v.problem("reason", "REQUIRED", "say what to change"),
            (None, ReviewDecision::Approved) => {}
        }
    }
}

pub async fn decide(
    ctx: Arc<AppContext>,
    caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<ReviewDecisionRequest>,
) -> ApiResult<Okay<Review>> {
    let mut review = load(&ctx, &id).await?;
    if review.advertiser_id != caller.user_id {
        return Err(CampaignError::NotYourAd.into());
    }
    let ad = crate::ads::load(&ctx, &review.ad_id).await?;
    if review.status != ReviewStatus::Submitted || !matches!(ad.status, AdStatus::Trial | AdStatus::Ended) {
        return Err(CampaignError::ReviewNotSubmitted.into());
    }
    let now = ctx.now();
    review.updated_at = now;
    review.reason = body.reason.as_deref().map(|r| r.trim().to_string());
    let (app_status, text) = match body.decision {
        ReviewDecision::Approved => {
            review.status = ReviewStatus::Approved;
            (ApplicationStatus::Completed, format!("광고 '{}'의 리뷰가 승인되었습니다. 캠페인 완료!", ad.title))
        }
        ReviewDecision::Rejected => {
            review.status = ReviewStatus::Rejected;
            (
                ApplicationStatus::Selected,
                format!(
                    "광고 '{}'의 리뷰가 반려되었습니다. 사유: {} — 캠페인 기간 안에 다시 제출할 수 있어요.",
                    ad.title,
                    review.reason.as_deref().unwrap_or_default()
                ),
            )
        }
    };
    let mut writes = vec![
        Write::put(&review)?
            .when("#st = :submitted", CampaignError::ReviewNotSubmitted)
            .name("#st", "status")
            .value(":submitted", s("SUBMITTED")),
        Write::update(keys::application_key(&id), "SET #st = :to, updatedAt = :now")
            .name("#st", "status")
            .value(":to", s(app_status.as_str()))
            .value(":now", shared::table::time(now))
            .value(":reviewing", s("REVIEWING"))
            .when("#st = :reviewing", CampaignError::ReviewNotSubmitted),
    ];
    writes.extend(crate::tell(
        &ctx,
        format!("review-decided-{id}-{}", now.timestamp_millis()),
        &caller.user_id,
        &review.owner_id,
        ("REVIEW", &id),
        text,
    )?);
    ctx.table.transact(writes).await?;
    Ok(Okay(review))
}
