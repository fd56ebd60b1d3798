//! The ads' lifecycle job (daily at 00:05 in Seoul; the local stack runs it every minute).
//!
//! Ads with a lifecycle date ahead are indexed by that date (`ADS_DUE`), so one Query finds the
//! ones due today or earlier. Each ad is moved on one step at a time until its next date lies
//! ahead — an ad whose several dates passed while the job did not run goes through every step
//! in order. Every write is conditional on the state it moves from, so a second run (or two
//! runs at once) changes nothing more:
//!
//! - APPROVED, announcement over → CLOSED; its APPLIED applications → PENDING (in selection).
//! - CLOSED, on the selection date → SELECTED; PENDING applications → REJECTED (their owners
//!   told), SELECTED ones get a review (PENDING) and their owners a "selected" notice with the
//!   campaign dates, in one transaction each.
//! - SELECTED, at campaign start → TRIAL.
//! - TRIAL, after campaign end → ENDED.

use std::sync::Arc;

use chrono::{Days, NaiveDate};
use serde_json::json;
use shared::routes::{Function, Job, Permission};
use shared::table::{Entity, Gsi, Query, SortKey, Write, n, s};
use shared::{ApiResult, AppContext};

use crate::ads::{Ad, AdStatus};
use crate::applications::{Application, ApplicationStatus};
use crate::error::CampaignError;
use crate::model::{Review, ReviewStatus};
use crate::{PKG, keys, today};

pub static JOB: Function = Function::job(
    "ads-lifecycle",
    PKG,
    Job {
        name: "ads-lifecycle",
        // 00:05 in Seoul is 15:05 UTC the day before.
        schedule: "cron(5 15 * * ? *)",
        handler: |ctx| Box::pin(run(ctx)),
        summary: "Moves ads through their dated lifecycle: closes announcements, settles selections, starts and ends campaigns",
    },
)
.permissions(&[Permission::TableRead, Permission::TableWrite])
.timeout(300);

/// Ads due on or before `today`.
async fn due(ctx: &AppContext, today: NaiveDate) -> ApiResult<Vec<Ad>> {
    let tomorrow = today.checked_add_days(Days::new(1)).unwrap_or(today);
    let q = Query::partition(keys::ADS_DUE).index(Gsi::Gsi3).sort(SortKey::Before(tomorrow.to_string())).limit(100);
    let items = ctx.table.query_items_all(&q, Some(10_000)).await?;
    items.into_iter().map(Ad::from_item).collect()
}

pub async fn run(ctx: Arc<AppContext>) -> ApiResult<serde_json::Value> {
    let today = today(ctx.now());
    let mut steps = 0;
    for ad in due(&ctx, today).await? {
        steps += advance(&ctx, ad, today).await?;
    }
    Ok(json!({"steps": steps}))
}

/// Moves `ad` on until its next date lies ahead; answers the steps taken.
async fn advance(ctx: &AppContext, ad: Ad, today: NaiveDate) -> ApiResult<u32> {
    let mut steps = 0;
    // The due list is an index, which lags: every step starts from the stored ad.
    let Some(mut ad) = ctx.table.get::<Ad>(&ad.key()).await? else { return Ok(0) };
    while let Some(due) = ad.next_due() {
        if due > today {
            break;
        }
        let to = match ad.status {
            AdStatus::Approved => AdStatus::Closed,
            AdStatus::Closed => AdStatus::Selected,
            AdStatus::Selected => AdStatus::Trial,
            AdStatus::Trial => AdStatus::Ended,
            _ => break,
        };
        match step(ctx, &ad, to).await? {
            Some(moved) => ad = moved,
            // Someone else moved it (another run): go on from what is stored.
            None => match ctx.table.get::<Ad>(&ad.key()).await? {
                Some(fresh) if fresh.status != ad.status => {
                    ad = fresh;
                    continue;
                }
                _ => break,
            },
        }
        steps += 1;
    }
    Ok(steps)
}

/// One step of `ad` (as stored) to `to`: its applications settled, then the ad moved, written
/// only over the state it was read in, counts included. An application that committed while
/// the step ran changed the counts, so the step is taken again and settles it too.
async fn step(ctx: &AppContext, ad: &Ad, to: AdStatus) -> ApiResult<Option<Ad>> {
    let mut current = ad.clone();
    for _ in 0..5 {
        match current.status {
            AdStatus::Approved => {
                settle_applications(ctx, &current, ApplicationStatus::Applied, |_, (_, a)| {
                    Ok(to_status(a, "APPLIED", "PENDING"))
                })
                .await?
            }
            AdStatus::Closed => {
                settle_applications(ctx, &current, ApplicationStatus::Selected, selected).await?;
                settle_applications(ctx, &current, ApplicationStatus::Pending, not_selected).await?;
            }
            _ => {}
        }
        let mut moved = current.clone();
        moved.status = to;
        moved.updated_at = ctx.now();
        let write = Write::put(&moved)?
            .when("#st = :from AND applicantsCount = :ac AND selectedCount = :sc", CampaignError::Changed)
            .name("#st", "status")
            .value(":from", s(current.status.as_str()))
            .value(":ac", n(current.applicants_count))
            .value(":sc", n(current.selected_count));
        match ctx.table.write(write).await {
            Ok(()) => return Ok(Some(moved)),
            Err(e) if e.is(&CampaignError::Changed) => match ctx.table.get::<Ad>(&ad.key()).await? {
                Some(fresh) if fresh.status == ad.status => current = fresh,
                _ => return Ok(None),
            },
            Err(e) => return Err(e),
        }
    }
    Err(CampaignError::Changed.into())
}

fn to_status(app: &Application, from: &str, to: &str) -> Vec<Write> {
    vec![
        Write::update(app.key(), "SET #st = :to")
            .name("#st", "status")
            .value(":to", s(to))
            .value(":from", s(from))
            .when("#st = :from", CampaignError::Changed),
    ]
}

/// A selected application's review, and its owner told, once.
fn selected(ctx: &AppContext, (ad, app): (&Ad, &Application)) -> ApiResult<Vec<Write>> {
    let now = ctx.now();
    let review = Review {
        id: app.id.clone(),
        ad_id: ad.id.clone(),
        advertiser_id: ad.advertiser_id.clone(),
        pet_id: app.pet_id.clone(),
        owner_id: app.owner_id.clone(),
        status: ReviewStatus::Pending,
        url: None,
        reason: None,
        created_at: now,
        updated_at: now,
    };
    let mut writes = vec![Write::put(&review)?.if_absent(CampaignError::Changed)];
    writes.extend(crate::tell(
        ctx,
        format!("selected-{}", app.id),
        &ad.advertiser_id,
        &app.owner_id,
        ("APPLICATION", &app.id),
        format!(
            "축하합니다! 광고 '{}'에 선정되었습니다. 캠페인 기간: {} ~ {}",
            ad.title, ad.campaign_start, ad.campaign_end
        ),
    )?);
    Ok(writes)
}

fn not_selected(ctx: &AppContext, (ad, app): (&Ad, &Application)) -> ApiResult<Vec<Write>> {
    let mut writes = to_status(app, "PENDING", "REJECTED");
    writes.extend(crate::tell(
        ctx,
        format!("not-selected-{}", app.id),
        &ad.advertiser_id,
        &app.owner_id,
        ("APPLICATION", &app.id),
        format!("아쉽지만 광고 '{}'에 선정되지 않았습니다. 다음 캠페인에서 만나요!", ad.title),
    )?);
    Ok(writes)
}

/// Applies `change` to every application of `ad` in status `status`, one transaction each; a
/// change another run made already is skipped. The applications are found through their claims
/// in the ad's own partition and read by key, both consistent: one committed a moment before
/// the run is settled too (the ad's applications index lags).
async fn settle_applications<F>(ctx: &AppContext, ad: &Ad, status: ApplicationStatus, change: F) -> ApiResult<()>
where
    F: Fn(&AppContext, (&Ad, &Application)) -> ApiResult<Vec<Write>>,
{
    let ids = crate::applications::ids_of_ad(ctx, &ad.id).await?;
    for chunk in ids.chunks(100) {
        let keys: Vec<_> = chunk.iter().map(|id| keys::application_key(id)).collect();
        for app in ctx.table.batch_get::<Application>(&keys).await?.into_iter().flatten() {
            if app.status != status {
                continue;
            }
            match ctx.table.transact(change(ctx, (ad, &app))?).await {
                Ok(()) => {}
                Err(e) if e.is(&CampaignError::Changed) => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}
