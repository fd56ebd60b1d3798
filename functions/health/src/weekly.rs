//! A pet's week of activity against the week before: calories, walks and meals, with the
//! change of each in percent, and a short summary the language model wrote once, after the
//! week ended, in the scheduled job [`SUMMARY_JOB`] — never on the request path.
//!
//! Weeks are ISO weeks in Seoul (`2026-W49`: Monday 2026-11-30 to Sunday 2026-12-06). Recording
//! a day's activity also notes the pet in its week's list ([`keys::active_week_key`]); the job
//! reads the lists of the weeks that have ended, writes each pet's summary (once: a conditional
//! put) and takes the pet off the list in the same transaction, so a run cut short, or a model
//! too busy to answer, leaves the rest for the next run.

use std::sync::Arc;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc, Weekday};
use serde::{Deserialize, Serialize};
use shared::bedrock::{self, ModelFailure};
use shared::handler::{Caller, Okay, Params, Path};
use shared::routes::{Access, Function, Job, Method, Permission, param};
use shared::table::{Entity, Query, SortKey, Write};
use shared::{ApiError, ApiResult, AppContext, handler};
use utoipa::ToSchema;

use crate::PKG;
pub use crate::activities::week_of;
use crate::activities::{Activity, WEEK_SHARDS};
use crate::error::HealthError;
use crate::keys;
use crate::owner::ensure_owner;
use crate::seoul;

pub static GET: Function = Function::http(
    Method::Get,
    "/pets/{id}/activity-reports",
    "health-activity-report",
    PKG,
    Access::User,
    handler!(get),
)
.permissions(&[Permission::TableRead])
.doc("health", "My pet's week in figures against the week before, with the AI's summary once the week has ended")
.query(&[param("week", false, "an ISO week in Seoul, YYYY-Www (default: this week)")])
.errors(&[404])
.reads_with_session(pets_contract::the_pet);

pub static SUMMARY_JOB: Function = Function::job(
    "health-weekly-summaries",
    PKG,
    Job {
        name: "health-weekly-summaries",
        // 01:00 in Seoul every day: Monday's run summarises the week just ended, later runs
        // whatever an earlier one left.
        schedule: "cron(0 16 * * ? *)",
        handler: |ctx| Box::pin(summarise(ctx)),
        summary: "Has the AI write each active pet's summary of the weeks that have ended, once per pet and week",
    },
)
.permissions(&[Permission::TableRead, Permission::TableWrite, Permission::InvokeModel(&bedrock::TEXT_MODEL)])
.settings(&[&bedrock::TEXT_MODEL])
.timeout(900);

/// A job run stops taking new pets after this long (its Lambda timeout is 15 minutes).
const RUN_BUDGET: std::time::Duration = std::time::Duration::from_secs(600);

/// The Monday of a `YYYY-Www` week.
pub fn monday_of(week: &str) -> Option<NaiveDate> {
    let (year, w) = week.split_once("-W")?;
    if year.len() != 4 || w.len() != 2 {
        return None;
    }
    NaiveDate::from_isoywd_opt(year.parse().ok()?, w.parse().ok()?, Weekday::Mon)
}

/// A week in numbers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WeekFigures {
    /// Days with a record.
    pub days_recorded: u32,
    /// Days with a walk (a distance above 0).
    pub walk_days: u32,
    pub distance_km: f64,
    pub calories_burned: f64,
    pub calories_consumed: f64,
    pub meals: u32,
    /// Over the days recorded; null when none.
    pub average_sleep_hours: Option<f64>,
}

fn round(x: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (x * f).round() / f
}

impl WeekFigures {
    pub fn of(days: &[&Activity]) -> Self {
        let recorded = days.len() as u32;
        WeekFigures {
            days_recorded: recorded,
            walk_days: days.iter().filter(|a| a.distance_km > 0.0).count() as u32,
            distance_km: round(days.iter().map(|a| a.distance_km).sum(), 2),
            calories_burned: round(days.iter().map(|a| a.calories_burned).sum(), 2),
            calories_consumed: round(days.iter().map(|a| a.consumed_calories).sum(), 2),
            meals: days.iter().map(|a| a.meals.len() as u32).sum(),
            average_sleep_hours: (recorded > 0)
                .then(|| round(days.iter().map(|a| a.sleep_hours).sum::<f64>() / f64::from(recorded), 1)),
        }
    }
}

/// Each figure's change against the week before, in percent (one decimal); null when the week
/// before had none of it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WeekChanges {
    pub walk_days: Option<f64>,
    pub distance_km: Option<f64>,
    pub calories_burned: Option<f64>,
    pub calories_consumed: Option<f64>,
    pub meals: Option<f64>,
}

fn change(now: f64, before: f64) -> Option<f64> {
    (before != 0.0).then(|| round((now - before) / before * 100.0, 1))
}

impl WeekChanges {
    pub fn between(this: &WeekFigures, before: &WeekFigures) -> Self {
        WeekChanges {
            walk_days: change(f64::from(this.walk_days), f64::from(before.walk_days)),
            distance_km: change(this.distance_km, before.distance_km),
            calories_burned: change(this.calories_burned, before.calories_burned),
            calories_consumed: change(this.calories_consumed, before.calories_consumed),
            meals: change(f64::from(this.meals), f64::from(before.meals)),
        }
    }
}

/// The model's words on a pet's week, written once.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WeeklySummary {
    /// Known from the key (not stored, not shown).
    #[serde(default, skip_serializing)]
    #[schema(ignore)]
    pub pet_id: String,
    pub week: String,
    pub text: String,
    pub model_id: String,
    pub created_at: DateTime<Utc>,
}

impl Entity for WeeklySummary {
    const TYPE: &'static str = "PetWeeklySummary";
    fn pk(&self) -> String {
        keys::health_partition(&self.pet_id)
    }
    fn sk(&self) -> String {
        keys::weekly_summary_key(&self.pet_id, &self.week).sk
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WeeklyReport {
    pub pet_id: String,
    pub week: String,
    /// Monday and Sunday of the week.
    pub from: String,
    pub to: String,
    pub figures: WeekFigures,
    /// The week before.
    pub previous: WeekFigures,
    pub changes: WeekChanges,
    /// The AI's summary, written after the week ended; null until then.
    pub summary: Option<WeeklySummary>,
}

/// The two weeks' figures of the fourteen days ending on `monday + 6`.
async fn figures(ctx: &AppContext, pet: &str, monday: NaiveDate) -> ApiResult<(WeekFigures, WeekFigures)> {
    let (first, last) = (monday - Duration::days(7), monday + Duration::days(6));
    let query = Query::partition(keys::health_partition(pet))
        .sort(SortKey::Between(keys::activity_sort(&first.to_string()), keys::activity_sort(&last.to_string())))
        .limit(14);
    let days = ctx.table.query::<Activity>(&query).await?.items;
    let this_monday = monday.to_string();
    let (this, before): (Vec<&Activity>, Vec<&Activity>) = days.iter().partition(|a| a.date >= this_monday);
    Ok((WeekFigures::of(&this), WeekFigures::of(&before)))
}

pub async fn get(
    ctx: Arc<AppContext>,
    caller: Caller,
    Path(pet): Path<String>,
    params: Params,
) -> ApiResult<Okay<WeeklyReport>> {
    ensure_owner(&ctx, &caller.user_id, &pet).await?;
    let today = seoul::today(ctx.now());
    let week = params.get("week").map(str::to_string).unwrap_or_else(|| week_of(today));
    let monday =
        monday_of(&week).ok_or_else(|| ApiError::validation("week", "INVALID_FORMAT", "an ISO week, YYYY-Www"))?;
    if monday > today {
        return Err(ApiError::validation("week", "IN_THE_FUTURE", "a week that has begun in Seoul"));
    }
    let week = week_of(monday);
    let (this, before) = figures(&ctx, &pet, monday).await?;
    let mut summary = ctx.table.get::<WeeklySummary>(&keys::weekly_summary_key(&pet, &week)).await?;
    if let Some(s) = summary.as_mut() {
        s.pet_id = pet.clone();
    }
    Ok(Okay(WeeklyReport {
        pet_id: pet,
        week,
        from: monday.to_string(),
        to: (monday + Duration::days(6)).to_string(),
        changes: WeekChanges::between(&this, &before),
        figures: this,
        previous: before,
        summary,
    }))
}

/// What the model is told before each week.
const SYSTEM: &str = "반려동물의 한 주 활동 기록을 보호자에게 2~3문장의 따뜻한 한국어로 요약하세요. \
지난주와 비교한 변화를 짚고, 칭찬이나 가벼운 제안을 하나 덧붙이세요. 진단하지 마세요.";

fn percent(c: Option<f64>) -> String {
    match c {
        Some(p) => format!(" (지난주보다 {p:+.1}%)"),
        None => String::new(),
    }
}

/// The prompt of one pet's week.
pub fn summary_prompt(
    pet: &pets_contract::PetFacts,
    monday: NaiveDate,
    this: &WeekFigures,
    before: &WeekFigures,
) -> String {
    let c = WeekChanges::between(this, before);
    let about = crate::tips::pet_lines(pet, None, monday + Duration::days(6));
    format!(
        "{}\n이번 주 ({monday} ~ {}):\n- 기록한 날: {}일\n- 산책한 날: {}일{}, 총 {}km{}\n- 소모 칼로리: {}kcal{}\n- 섭취 칼로리: {}kcal{}\n- 식사: {}회{}\n\n위 기록을 요약해 주세요.",
        about.join("\n"),
        monday + Duration::days(6),
        this.days_recorded,
        this.walk_days,
        percent(c.walk_days),
        this.distance_km,
        percent(c.distance_km),
        this.calories_burned,
        percent(c.calories_burned),
        this.calories_consumed,
        percent(c.calories_consumed),
        this.meals,
        percent(c.meals),
    )
}

/// What a run did.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
struct Run {
    written: u32,
    already: u32,
    skipped: u32,
    /// Why the run stopped before the lists were empty, if it did.
    stopped: Option<&'static str>,
}

pub async fn summarise(ctx: Arc<AppContext>) -> ApiResult<serde_json::Value> {
    let started = std::time::Instant::now();
    let today = seoul::today(ctx.now());
    let this_monday = today - Duration::days(i64::from(today.weekday().num_days_from_monday()));
    let mut run = Run::default();
    // The two weeks that ended last: a week missed by one day's run is taken by the next.
    'weeks: for monday in [this_monday - Duration::days(14), this_monday - Duration::days(7)] {
        let week = week_of(monday);
        for shard in 0..WEEK_SHARDS {
            let listed = Query::partition(keys::active_week_partition(&week, shard));
            for item in ctx.table.query_items_all(&listed, None).await? {
                if started.elapsed() > RUN_BUDGET {
                    run.stopped = Some("TIME_BUDGET");
                    break 'weeks;
                }
                let Some(pet) = item.get(shared::table::SK).and_then(|v| v.as_s().ok()).cloned() else { continue };
                match summarise_one(&ctx, &pet, &week, monday, shard).await {
                    Ok(Outcome::Written) => run.written += 1,
                    Ok(Outcome::Already) => run.already += 1,
                    Ok(Outcome::Skipped) => run.skipped += 1,
                    Err(OneFailed::Model(ModelFailure::Busy)) => {
                        run.stopped = Some("MODEL_BUSY");
                        break 'weeks;
                    }
                    Err(OneFailed::Model(ModelFailure::TimedOut)) => {
                        run.stopped = Some("MODEL_TIMEOUT");
                        break 'weeks;
                    }
                    // Left on the list for the next run.
                    Err(OneFailed::Model(ModelFailure::Failed(why))) => {
                        tracing::warn!(%pet, %week, %why, "no summary this run");
                        run.skipped += 1;
                    }
                    Err(OneFailed::Table(e)) => return Err(e),
                }
            }
        }
    }
    Ok(serde_json::to_value(&run)?)
}

enum Outcome {
    Written,
    Already,
    Skipped,
}

enum OneFailed {
    Model(ModelFailure),
    Table(ApiError),
}

impl From<ApiError> for OneFailed {
    fn from(e: ApiError) -> Self {
        OneFailed::Table(e)
    }
}

async fn summarise_one(
    ctx: &AppContext,
    pet: &str,
    week: &str,
    monday: NaiveDate,
    shard: u8,
) -> Result<Outcome, OneFailed> {
    let off_the_list = Write::delete(keys::active_week_key(week, shard, pet));
    let Some(facts) = pets_contract::facts(ctx, pet).await? else {
        ctx.table.write(off_the_list).await?;
        return Ok(Outcome::Skipped);
    };
    if ctx.table.get_item(&keys::weekly_summary_key(pet, week)).await?.is_some() {
        ctx.table.write(off_the_list).await?;
        return Ok(Outcome::Already);
    }
    let (this, before) = figures(ctx, pet, monday).await?;
    if this.days_recorded == 0 {
        ctx.table.write(off_the_list).await?;
        return Ok(Outcome::Skipped);
    }
    let reply = bedrock::converse(ctx, SYSTEM, &summary_prompt(&facts, monday, &this, &before), 400)
        .await
        .map_err(OneFailed::Model)?;
    let summary = WeeklySummary {
        pet_id: pet.to_string(),
        week: week.to_string(),
        text: reply.text,
        model_id: reply.model_id,
        created_at: ctx.now(),
    };
    let put = Write::put(&summary)?.if_absent(HealthError::SummaryWritten);
    match ctx.table.transact(vec![put, off_the_list]).await {
        Ok(()) => Ok(Outcome::Written),
        Err(e) if e.is(&HealthError::SummaryWritten) => {
            ctx.table.write(Write::delete(keys::active_week_key(week, shard, pet))).await?;
            Ok(Outcome::Already)
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_weeks_in_and_out() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(week_of(d("2026-12-07")), "2026-W50");
        assert_eq!(week_of(d("2026-12-06")), "2026-W49");
        assert_eq!(monday_of("2026-W49"), Some(d("2026-11-30")));
        // The first ISO week of 2027 begins in 2027; 2026-12-31 belongs to 2026-W53.
        assert_eq!(week_of(d("2026-12-31")), "2026-W53");
        assert_eq!(monday_of("2026-W54"), None);
        assert_eq!(monday_of("2026-49"), None);
        assert_eq!(monday_of("2026-W4"), None);
    }

    #[test]
    fn changes_are_percent_of_the_week_before_and_null_from_nothing() {
        assert_eq!(change(12.0, 10.0), Some(20.0));
        assert_eq!(change(1.0, 3.0), Some(-66.7));
        assert_eq!(change(5.0, 0.0), None);
    }
}
