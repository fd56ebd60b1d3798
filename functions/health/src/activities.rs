//! A pet's day of activity: walks, sleep, weight, toilet and meals, with the calorie maths done on
//! write. One record per pet and (Seoul) day; writing the day again replaces it.
//!
//! The maths: an activity level has a factor (1.2 / 1.5 / 1.7 / 1.9);
//! `caloriesBurned = distanceKm × factor × 5`, `recommendedBurn = weightKg × factor × 70`,
//! `recommendedIntake = weightKg × factor × 100`; a meal's `consumedCalories = totalCalories ÷
//! totalGrams × consumedGrams` (0 when it weighed nothing). Figures are rounded to 0.01.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shared::handler::{Caller, Json, Okay, Params, Path};
use shared::routes::{Access, Function, Method, Permission, param};
use shared::table::{Entity, Query, SortKey, Write};
use shared::validate::{Validate, Validator};
use shared::{ApiError, ApiResult, AppContext, handler};
use utoipa::ToSchema;

use crate::PKG;
use crate::error::HealthError;
use crate::keys;
use crate::owner::ensure_owner;
use crate::seoul;

pub static PUT: Function = Function::http(
    Method::Put,
    "/pets/{id}/activities/{date}",
    "health-activity-put",
    PKG,
    Access::User,
    handler!(put),
)
.permissions(&[Permission::TableRead, Permission::TableWrite])
.doc("health", "Record (or replace) my pet's activity of a day: the calorie maths comes back computed")
.example(r#"{"distanceKm":3.2,"activityLevel":2,"weightKg":4.5,"sleepHours":12,"poopCount":2,"peeCount":4,"memo":"한강 산책","meals":[{"type":"BREAKFAST","totalCalories":350,"totalGrams":100,"consumedGrams":80}]}"#)
.errors(&[404])
.reads_with_session(pets_contract::the_pet);

pub static GET: Function = Function::http(
    Method::Get,
    "/pets/{id}/activities/{date}",
    "health-activity-get",
    PKG,
    Access::User,
    handler!(get),
)
.permissions(&[Permission::TableRead])
.doc("health", "My pet's activity of a day")
.errors(&[404])
.reads_with_session(pets_contract::the_pet);

pub static RANGE: Function =
    Function::http(Method::Get, "/pets/{id}/activities", "health-activity-range", PKG, Access::User, handler!(range))
        .permissions(&[Permission::TableRead])
        .doc("health", "My pet's activity over up to 7 days: a chart series, one point per day (null when none)")
        .query(&[
            param("from", true, "first day, YYYY-MM-DD"),
            param("to", true, "last day, YYYY-MM-DD (at most 6 days later)"),
        ])
        .errors(&[404])
        .reads_with_session(pets_contract::the_pet);

pub static LEVELS: Function = Function::http(
    Method::Get,
    "/health/activity-levels",
    "health-activity-levels",
    PKG,
    Access::Public,
    handler!(levels),
)
.doc("health", "The activity levels, their factors and what they mean");

/// An activity level's factor, label and description.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Level {
    pub level: u8,
    pub factor: f64,
    pub label: &'static str,
    pub description: &'static str,
}

pub const LEVEL_TABLE: [Level; 4] = [
    Level {
        level: 1, factor: 1.2, label: "낮음", description: "주로 실내에서 쉬어요 (짧은 산책 1회 이하)"
    },
    Level { level: 2, factor: 1.5, label: "보통", description: "하루 30분~1시간 산책해요" },
    Level { level: 3, factor: 1.7, label: "활발", description: "하루 1~2시간 뛰어놀거나 산책해요" },
    Level {
        level: 4, factor: 1.9, label: "매우 활발", description: "하루 2시간 이상 운동해요 (운동견, 어린 강아지)"
    },
];

pub fn factor(level: u8) -> Option<f64> {
    LEVEL_TABLE.iter().find(|l| l.level == level).map(|l| l.factor)
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MealType {
    Breakfast,
    Lunch,
    Dinner,
    Snack,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MealInput {
    #[serde(rename = "type")]
    pub kind: MealType,
    pub total_calories: f64,
    pub total_grams: f64,
    pub consumed_grams: f64,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ActivityInput {
    pub distance_km: f64,
    /// 1 to 4 (see `GET /health/activity-levels`).
    pub activity_level: u8,
    pub weight_kg: f64,
    pub sleep_hours: f64,
    pub poop_count: u32,
    pub pee_count: u32,
    #[serde(default)]
    pub memo: Option<String>,
    #[serde(default)]
    pub meals: Vec<MealInput>,
}

impl Validate for ActivityInput {
    fn validate(&self, v: &mut Validator) {
        v.number("distanceKm", self.distance_km, 0.0, 200.0);
        v.check(factor(self.activity_level).is_some(), "activityLevel", "OUT_OF_RANGE", "1, 2, 3 or 4");
        v.number("weightKg", self.weight_kg, 0.1, 150.0);
        v.number("sleepHours", self.sleep_hours, 0.0, 24.0);
        v.check(self.poop_count <= 50, "poopCount", "OUT_OF_RANGE", "0 to 50");
        v.check(self.pee_count <= 50, "peeCount", "OUT_OF_RANGE", "0 to 50");
        if let Some(m) = &self.memo {
            v.text("memo", m, 0, 500);
        }
        v.check(self.meals.len() <= 20, "meals", "COUNT", "at most 20 meals");
        for (i, m) in self.meals.iter().enumerate() {
            v.number(&format!("meals[{i}].totalCalories"), m.total_calories, 0.0, 20_000.0);
            v.number(&format!("meals[{i}].totalGrams"), m.total_grams, 0.0, 10_000.0);
            v.number(&format!("meals[{i}].consumedGrams"), m.consumed_grams, 0.0, 10_000.0);
            v.check(
                m.consumed_grams <= m.total_grams,
                &format!("meals[{i}].consumedGrams"),
                "MORE_THAN_SERVED",
                "at most totalGrams",
            );
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Meal {
    #[serde(rename = "type")]
    pub kind: MealType,
    pub total_calories: f64,
    pub total_grams: f64,
    pub consumed_grams: f64,
    pub consumed_calories: f64,
}

/// A pet's day, with its computed values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Activity {
    pub pet_id: String,
    /// The day, in Seoul.
    pub date: String,
    pub distance_km: f64,
    pub activity_level: u8,
    pub weight_kg: f64,
    pub sleep_hours: f64,
    pub poop_count: u32,
    pub pee_count: u32,
    pub memo: Option<String>,
    pub meals: Vec<Meal>,
    pub calories_burned: f64,
    pub recommended_burn: f64,
    pub recommended_intake: f64,
    pub consumed_calories: f64,
    pub updated_at: DateTime<Utc>,
}

impl Entity for Activity {
    const TYPE: &'static str = "PetActivity";
    fn pk(&self) -> String {
        keys::health_partition(&self.pet_id)
    }
    fn sk(&self) -> String {
        keys::activity_sort(&self.date)
    }
}

impl Activity {
    /// The record of `input`, with the maths done.
    pub fn compute(pet: &str, date: &str, input: ActivityInput, now: DateTime<Utc>) -> Self {
        let f = factor(input.activity_level).unwrap_or(1.2);
        let meals: Vec<Meal> = input
            .meals
            .into_iter()
            .map(|m| Meal {
                consumed_calories: if m.total_grams > 0.0 {
                    round2(m.total_calories / m.total_grams * m.consumed_grams)
                } else {
                    0.0
                },
                kind: m.kind,
                total_calories: m.total_calories,
                total_grams: m.total_grams,
                consumed_grams: m.consumed_grams,
            })
            .collect();
        Activity {
            pet_id: pet.to_string(),
            date: date.to_string(),
            calories_burned: round2(input.distance_km * f * 5.0),
            recommended_burn: round2(input.weight_kg * f * 70.0),
            recommended_intake: round2(input.weight_kg * f * 100.0),
            consumed_calories: round2(meals.iter().map(|m| m.consumed_calories).sum()),
            meals,
            distance_km: input.distance_km,
            activity_level: input.activity_level,
            weight_kg: input.weight_kg,
            sleep_hours: input.sleep_hours,
            poop_count: input.poop_count,
            pee_count: input.pee_count,
            memo: input.memo.map(|m| m.trim().to_string()).filter(|m| !m.is_empty()),
            updated_at: now,
        }
    }
}

/// Shards of a week's list of active pets.
pub const WEEK_SHARDS: u8 = 8;
/// How long a pet stays on a week's list if the weekly job does not take it off.
const LIST_DAYS: i64 = 30;

/// An ISO week's label, `2026-W49`.
pub fn week_of(day: chrono::NaiveDate) -> String {
    use chrono::Datelike;
    let w = day.iso_week();
    format!("{:04}-W{:02}", w.year(), w.week())
}

/// The write that lists `pet` as active in the week of `day`, for that week's summary
/// (`crate::weekly`), with the day's record.
pub fn note_active(pet: &str, day: chrono::NaiveDate, now: DateTime<Utc>) -> Write {
    let shard = pet.bytes().last().unwrap_or(0) % WEEK_SHARDS;
    let mut item = keys::active_week_key(&week_of(day), shard, pet).to_item();
    item.insert(
        shared::table::TTL_ATTRIBUTE.into(),
        shared::table::n((now + chrono::Duration::days(LIST_DAYS)).timestamp()),
    );
    Write::put_item(item)
}

#[derive(Debug, Deserialize)]
pub struct PetDay {
    pub id: String,
    pub date: String,
}

/// A past or present day in Seoul, as `YYYY-MM-DD`.
fn day(ctx: &AppContext, s: &str, field: &str) -> ApiResult<chrono::NaiveDate> {
    let d = seoul::parse_date(s).ok_or_else(|| ApiError::validation(field, "INVALID_FORMAT", "a date, YYYY-MM-DD"))?;
    if d > seoul::today(ctx.now()) {
        return Err(ApiError::validation(field, "IN_THE_FUTURE", "a day that has begun in Seoul"));
    }
    Ok(d)
}

pub async fn put(
    ctx: Arc<AppContext>,
    caller: Caller,
    Path(p): Path<PetDay>,
    Json(body): Json<ActivityInput>,
) -> ApiResult<Okay<Activity>> {
    ensure_owner(&ctx, &caller.user_id, &p.id).await?;
    let date = day(&ctx, &p.date, "date")?;
    let record = Activity::compute(&p.id, &date.to_string(), body, ctx.now());
    // Listed for its week's summary too.
    ctx.table.transact(vec![Write::put(&record)?, note_active(&p.id, date, ctx.now())]).await?;
    Ok(Okay(record))
}

pub async fn get(ctx: Arc<AppContext>, caller: Caller, Path(p): Path<PetDay>) -> ApiResult<Okay<Activity>> {
    ensure_owner(&ctx, &caller.user_id, &p.id).await?;
    let date = seoul::parse_date(&p.date)
        .ok_or_else(|| ApiError::validation("date", "INVALID_FORMAT", "a date, YYYY-MM-DD"))?;
    let found = ctx.table.get::<Activity>(&keys::activity_key(&p.id, &date.to_string())).await?;
    Ok(Okay(found.ok_or(HealthError::ActivityNotFound)?))
}

/// One day of the chart.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DayPoint {
    pub date: String,
    /// The day's record; null when nothing was recorded.
    pub activity: Option<Activity>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Series {
    pub from: String,
    pub to: String,
    pub days: Vec<DayPoint>,
}

pub async fn range(
    ctx: Arc<AppContext>,
    caller: Caller,
    Path(pet): Path<String>,
    params: Params,
) -> ApiResult<Okay<Series>> {
    ensure_owner(&ctx, &caller.user_id, &pet).await?;
    let (from, to) = seoul::window(&params, 7)?;
    let query = Query::partition(keys::health_partition(&pet))
        .sort(SortKey::Between(keys::activity_sort(&from.to_string()), keys::activity_sort(&to.to_string())))
        .limit(7);
    let mut found = ctx.table.query::<Activity>(&query).await?.items;
    let days = from
        .iter_days()
        .take_while(|d| *d <= to)
        .map(|d| {
            let date = d.to_string();
            let activity = found.iter().position(|a| a.date == date).map(|i| found.swap_remove(i));
            DayPoint { date, activity }
        })
        .collect();
    Ok(Okay(Series { from: from.to_string(), to: to.to_string(), days }))
}

/// The activity levels, lowest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct LevelTable {
    pub levels: Vec<Level>,
}

pub async fn levels(_ctx: Arc<AppContext>) -> ApiResult<Okay<LevelTable>> {
    Ok(Okay(LevelTable { levels: LEVEL_TABLE.to_vec() }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(distance: f64, level: u8, weight: f64, meals: Vec<(f64, f64, f64)>) -> ActivityInput {
        ActivityInput {
            distance_km: distance,
            activity_level: level,
            weight_kg: weight,
            sleep_hours: 10.0,
            poop_count: 1,
            pee_count: 3,
            memo: None,
            meals: meals
                .into_iter()
                .map(|(c, g, e)| MealInput {
                    kind: MealType::Dinner,
                    total_calories: c,
                    total_grams: g,
                    consumed_grams: e,
                })
                .collect(),
        }
    }

    #[test]
    fn the_calorie_maths_follows_the_level_table() {
        let a = Activity::compute(
            "p",
            "2026-11-20",
            input(3.0, 2, 4.0, vec![(350.0, 100.0, 80.0), (100.0, 0.0, 0.0)]),
            Utc::now(),
        );
        assert_eq!(a.calories_burned, 22.5); // 3 × 1.5 × 5
        assert_eq!(a.recommended_burn, 420.0); // 4 × 1.5 × 70
        assert_eq!(a.recommended_intake, 600.0); // 4 × 1.5 × 100
        assert_eq!(a.meals[0].consumed_calories, 280.0); // 350 ÷ 100 × 80
        assert_eq!(a.meals[1].consumed_calories, 0.0, "no grams, no division by zero");
        assert_eq!(a.consumed_calories, 280.0);
        let levels: Vec<f64> = (1..=4).map(|l| factor(l).unwrap()).collect();
        assert_eq!(levels, vec![1.2, 1.5, 1.7, 1.9]);
        let high = Activity::compute("p", "2026-11-20", input(10.0, 4, 30.0, vec![]), Utc::now());
        assert_eq!((high.calories_burned, high.recommended_burn, high.recommended_intake), (95.0, 3990.0, 5700.0));
    }
}
