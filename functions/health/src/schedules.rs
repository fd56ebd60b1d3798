//! Care schedules: walks, birthdays, grooming, vaccines, check-ups, pills — once or recurring (see
//! [`crate::recurrence`]), with times of day and a reminder setting. The calendar view lists a
//! window's occurrences.
//!
//! Rules kept from the original service: the start and the end are not in the past and the start
//! is not after the end; a schedule that does not recur and has no end lasts its start day; a
//! medication's sub type is PILL unless said, and when its times do not match how often a day it
//! is taken they become the usual ones (once: 09:00; twice: 08:00, 20:00; three times: 08:00,
//! 12:00, 20:00). A recurring schedule without an end goes on.

use std::sync::Arc;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use shared::handler::{Caller, Created, Json, NoContent, Okay, Params, Path};
use shared::routes::{Access, Function, Method, Permission, param};
use shared::table::{Entity, Gsi, Query};
use shared::validate::{Validate, Validator};
use shared::{ApiError, ApiResult, AppContext, handler};
use utoipa::ToSchema;

use crate::PKG;
use crate::error::HealthError;
use crate::keys;
pub use crate::model::{
    Medication, Schedule, ScheduleSubType, ScheduleType, SubEntry, TypeEntry, TypeTable, sub_types, types, usual_times,
};
use crate::owner::ensure_owner;
use crate::recurrence::Recurrence;
use crate::seoul;

const WRITE: &[Permission] = &[Permission::TableRead, Permission::TableWrite];

pub static CREATE: Function = Function::http(
    Method::Post,
    "/pets/{id}/schedules",
    "health-schedules-create",
    PKG,
    Access::User,
    handler!(create),
)
.permissions(WRITE)
.doc("health", "Add a care schedule for my pet (once or recurring, with times and reminders)")
.example(r#"{"title":"심장사상충 약","type":"MEDICATION","startDate":"2030-01-01","recurrence":"MONTHLY","times":["09:00"],"reminderDaysBefore":1,"alarmEnabled":true}"#)
.errors(&[404, 409])
.reads_with_session(pets_contract::the_pet);

pub static CALENDAR: Function = Function::http(
    Method::Get,
    "/pets/{id}/schedules",
    "health-schedules-calendar",
    PKG,
    Access::User,
    handler!(calendar),
)
.permissions(&[Permission::TableRead])
.doc("health", "My pet's schedule occurrences in a window of at most 62 days (a calendar)")
.query(&[
    param("from", true, "first day, YYYY-MM-DD"),
    param("to", true, "last day, YYYY-MM-DD (at most 61 days later)"),
])
.errors(&[404])
.reads_with_session(pets_contract::the_pet);

pub static GET: Function =
    Function::http(Method::Get, "/schedules/{id}", "health-schedules-get", PKG, Access::User, handler!(get))
        .permissions(&[Permission::TableRead])
        .doc("health", "One of my schedules")
        .errors(&[404]);

pub static UPDATE: Function =
    Function::http(Method::Patch, "/schedules/{id}", "health-schedules-update", PKG, Access::User, handler!(update))
        .permissions(WRITE)
        .doc("health", "Change one of my schedules (its reminders from now on follow)")
        .example(r#"{"times":["08:30"],"reminderDaysBefore":0}"#)
        .errors(&[404, 409]);

pub static DELETE: Function =
    Function::http(Method::Delete, "/schedules/{id}", "health-schedules-delete", PKG, Access::User, handler!(delete))
        .permissions(WRITE)
        .doc("health", "Delete one of my schedules and its reminders")
        .errors(&[404]);

pub static ALARM: Function =
    Function::http(Method::Put, "/schedules/{id}/alarm", "health-schedules-alarm", PKG, Access::User, handler!(alarm))
        .permissions(WRITE)
        .doc("health", "Turn a schedule's reminders on or off")
        .example(r#"{"enabled":false}"#)
        .errors(&[404, 409]);

pub static TYPES: Function = Function::http(
    Method::Get,
    "/health/schedule-types",
    "health-schedule-types",
    PKG,
    Access::Public,
    handler!(types),
)
.doc("health", "Schedule types and their sub types, with Korean labels");

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewSchedule {
    pub title: String,
    #[serde(rename = "type")]
    pub kind: ScheduleType,
    #[serde(default)]
    pub sub_type: Option<ScheduleSubType>,
    pub start_date: String,
    #[serde(default)]
    pub end_date: Option<String>,
    #[serde(default = "none")]
    pub recurrence: Recurrence,
    #[serde(default)]
    pub interval: Option<u32>,
    #[serde(default)]
    pub times: Vec<String>,
    #[serde(default)]
    pub reminder_days_before: u8,
    #[serde(default)]
    pub alarm_enabled: bool,
    #[serde(default)]
    pub memo: Option<String>,
    #[serde(default)]
    pub medication: Option<Medication>,
}

fn none() -> Recurrence {
    Recurrence::None
}

fn valid_time(t: &str) -> bool {
    t.len() == 5 && chrono::NaiveTime::parse_from_str(t, "%H:%M").is_ok()
}

fn check_common(v: &mut Validator, times: &[String], days_before: u8, interval: Option<u32>) {
    v.check(times.len() <= 6, "times", "COUNT", "at most 6 times a day");
    for (i, t) in times.iter().enumerate() {
        v.check(valid_time(t), &format!("times[{i}]"), "INVALID_FORMAT", "a time of day, HH:mm");
    }
    v.check(days_before <= 3, "reminderDaysBefore", "OUT_OF_RANGE", "0 to 3");
    if let Some(n) = interval {
        v.check((1..=365).contains(&n), "interval", "OUT_OF_RANGE", "1 to 365");
    }
}

impl Validate for NewSchedule {
    fn validate(&self, v: &mut Validator) {
        v.line("title", &self.title, 1, 50);
        if let Some(s) = self.sub_type {
            v.check(
                sub_types(self.kind).iter().any(|(k, _)| *k == s),
                "subType",
                "NOT_OF_TYPE",
                "a sub type of the type (see GET /health/schedule-types)",
            );
        }
        v.check(seoul::parse_date(&self.start_date).is_some(), "startDate", "INVALID_FORMAT", "a date, YYYY-MM-DD");
        if let Some(e) = &self.end_date {
            v.check(seoul::parse_date(e).is_some(), "endDate", "INVALID_FORMAT", "a date, YYYY-MM-DD");
        }
        check_common(v, &self.times, self.reminder_days_before, self.interval);
        if let Some(m) = &self.memo {
            v.text("memo", m, 0, 500);
        }
        if let Some(m) = &self.medication {
            v.line("medication.drugName", &m.drug_name, 1, 100);
            v.text("medication.dosage", &m.dosage, 0, 100);
            v.check((1..=3).contains(&m.frequency_per_day), "medication.frequencyPerDay", "OUT_OF_RANGE", "1 to 3");
            v.check(m.duration_days <= 365, "medication.durationDays", "OUT_OF_RANGE", "0 to 365");
        }
    }
}

/// Checks the dates of a schedule as it will be: not in the past, start ≤ end.
fn check_dates(ctx: &AppContext, start: NaiveDate, end: Option<NaiveDate>, start_changed: bool) -> ApiResult<()> {
    let today = seoul::today(ctx.now());
    if start_changed && start < today {
        return Err(ApiError::validation("startDate", "IN_THE_PAST", "today or later (Seoul)"));
    }
    if let Some(e) = end {
        if e < today {
            return Err(ApiError::validation("endDate", "IN_THE_PAST", "today or later (Seoul)"));
        }
        if e < start {
            return Err(ApiError::validation("endDate", "BEFORE_START", "on or after the start"));
        }
    }
    Ok(())
}

/// Times in order, without repeats; a medication's as its frequency says.
fn settle_times(mut times: Vec<String>, medication: Option<&Medication>) -> Vec<String> {
    if let Some(m) = medication
        && times.len() != m.frequency_per_day as usize
    {
        times = usual_times(m.frequency_per_day);
    }
    times.sort();
    times.dedup();
    times
}

pub async fn create(
    ctx: Arc<AppContext>,
    caller: Caller,
    Path(pet): Path<String>,
    Json(body): Json<NewSchedule>,
) -> ApiResult<Created<Schedule>> {
    ensure_owner(&ctx, &caller.user_id, &pet).await?;
    let schedule = build(&ctx, &caller.user_id, &pet, body)?;
    crate::reminders::save(&ctx, None, Some(&schedule)).await?;
    Ok(Created(schedule))
}

/// A new schedule from a request (also used by prescriptions).
pub fn build(ctx: &AppContext, owner: &str, pet: &str, body: NewSchedule) -> ApiResult<Schedule> {
    let start = seoul::parse_date(&body.start_date).unwrap_or_default();
    let mut end = body.end_date.as_deref().and_then(seoul::parse_date);
    if end.is_none() && body.recurrence == Recurrence::None {
        end = Some(start);
    }
    check_dates(ctx, start, end, true)?;
    let medication = if body.kind == ScheduleType::Medication { body.medication } else { None };
    let sub_type = body.sub_type.unwrap_or(sub_types(body.kind)[0].0);
    let now = ctx.now();
    Ok(Schedule {
        id: shared::ids::new_id(now),
        pet_id: pet.to_string(),
        owner_id: owner.to_string(),
        title: body.title.trim().to_string(),
        kind: body.kind,
        sub_type,
        start_date: start,
        end_date: end,
        recurrence: body.recurrence,
        interval: body.interval.unwrap_or(1),
        times: settle_times(body.times, medication.as_ref()),
        reminder_days_before: if medication.as_ref().is_some_and(|m| m.prescription) {
            0
        } else {
            body.reminder_days_before
        },
        alarm_enabled: body.alarm_enabled,
        saved_days_before: None,
        memo: body.memo.map(|m| m.trim().to_string()).filter(|m| !m.is_empty()),
        medication,
        reminders_until: None,
        created_at: now,
        updated_at: now,
    })
}

/// The caller's schedule `id`.
async fn mine(ctx: &AppContext, me: &str, id: &str) -> ApiResult<Schedule> {
    if !shared::ids::is_valid_id(id) {
        return Err(HealthError::ScheduleNotFound.into());
    }
    let s = ctx.table.get::<Schedule>(&keys::schedule_key(id)).await?.ok_or(HealthError::ScheduleNotFound)?;
    if s.owner_id != me {
        return Err(HealthError::NotYourPet.into());
    }
    Ok(s)
}

pub async fn get(ctx: Arc<AppContext>, caller: Caller, Path(id): Path<String>) -> ApiResult<Okay<Schedule>> {
    Ok(Okay(mine(&ctx, &caller.user_id, &id).await?))
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SchedulePatch {
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub start_date: Option<String>,
    #[serde(default)]
    pub end_date: Option<String>,
    #[serde(default)]
    pub recurrence: Option<Recurrence>,
    #[serde(default)]
    pub interval: Option<u32>,
    #[serde(default)]
    pub times: Option<Vec<String>>,
    #[serde(default)]
    pub reminder_days_before: Option<u8>,
    #[serde(default)]
    pub memo: Option<String>,
}

impl Validate for SchedulePatch {
    fn validate(&self, v: &mut Validator) {
        if let Some(t) = &self.title {
            v.line("title", t, 1, 50);
        }
        if let Some(s) = &self.start_date {
            v.check(seoul::parse_date(s).is_some(), "startDate", "INVALID_FORMAT", "a date, YYYY-MM-DD");
        }
        if let Some(e) = &self.end_date {
            v.check(seoul::parse_date(e).is_some(), "endDate", "INVALID_FORMAT", "a date, YYYY-MM-DD");
        }
        check_common(
            v,
            self.times.as_deref().unwrap_or_default(),
            self.reminder_days_before.unwrap_or(0),
            self.interval,
        );
        if let Some(m) = &self.memo {
            v.text("memo", m, 0, 500);
        }
    }
}

pub async fn update(
    ctx: Arc<AppContext>,
    caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<SchedulePatch>,
) -> ApiResult<Okay<Schedule>> {
    let old = mine(&ctx, &caller.user_id, &id).await?;
    let mut s = old.clone();
    let start_changed = body.start_date.is_some();
    if let Some(t) = body.title {
        s.title = t.trim().to_string();
    }
    if let Some(d) = body.start_date.as_deref().and_then(seoul::parse_date) {
        s.start_date = d;
    }
    if let Some(d) = body.end_date.as_deref().and_then(seoul::parse_date) {
        s.end_date = Some(d);
    }
    if let Some(r) = body.recurrence {
        s.recurrence = r;
    }
    if let Some(n) = body.interval {
        s.interval = n;
    }
    if let Some(t) = body.times {
        s.times = settle_times(t, s.medication.as_ref());
    }
    if let Some(n) = body.reminder_days_before {
        s.reminder_days_before = n;
    }
    if let Some(m) = body.memo {
        s.memo = Some(m.trim().to_string()).filter(|m| !m.is_empty());
    }
    check_dates(&ctx, s.start_date, s.end_date, start_changed)?;
    s.updated_at = ctx.now();
    crate::reminders::save(&ctx, Some(&old), Some(&s)).await?;
    Ok(Okay(s))
}

pub async fn delete(ctx: Arc<AppContext>, caller: Caller, Path(id): Path<String>) -> ApiResult<NoContent> {
    let old = mine(&ctx, &caller.user_id, &id).await?;
    crate::reminders::save(&ctx, Some(&old), None).await?;
    Ok(NoContent)
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Alarm {
    pub enabled: bool,
}

impl Validate for Alarm {
    fn validate(&self, _: &mut Validator) {}
}

/// Turning the alarm off keeps the days-before setting; turning it on brings it back (a
/// prescription's reminders come on the day; otherwise the previous setting, 1 day by default).
pub async fn alarm(
    ctx: Arc<AppContext>,
    caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<Alarm>,
) -> ApiResult<Okay<Schedule>> {
    let old = mine(&ctx, &caller.user_id, &id).await?;
    let mut s = old.clone();
    if body.enabled && !s.alarm_enabled {
        s.reminder_days_before = if s.medication.as_ref().is_some_and(|m| m.prescription) {
            0
        } else {
            s.saved_days_before.take().unwrap_or(1)
        };
    } else if !body.enabled && s.alarm_enabled {
        s.saved_days_before = Some(s.reminder_days_before);
    }
    s.alarm_enabled = body.enabled;
    s.updated_at = ctx.now();
    crate::reminders::save(&ctx, Some(&old), Some(&s)).await?;
    Ok(Okay(s))
}

/// One day a schedule happens on.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Occurrence {
    pub date: NaiveDate,
    pub times: Vec<String>,
    /// One of the calendar's `schedules`.
    pub schedule_id: String,
}

/// A window of a pet's calendar: each schedule once, and the days it falls on, which refer
/// to it (an answer stays small however long a memo is).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Calendar {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// The schedules with at least one day in the window.
    pub schedules: Vec<Schedule>,
    pub occurrences: Vec<Occurrence>,
}

/// Schedules a calendar reads at most per pet (more than a pet may have).
pub const MAX_PER_PET: usize = 100;

pub async fn calendar(
    ctx: Arc<AppContext>,
    caller: Caller,
    Path(pet): Path<String>,
    params: Params,
) -> ApiResult<Okay<Calendar>> {
    ensure_owner(&ctx, &caller.user_id, &pet).await?;
    let (from, to) = seoul::window(&params, 62)?;
    let query = Query::partition(keys::pet_schedules_partition(&pet)).index(Gsi::Gsi1);
    let schedules: Vec<Schedule> = ctx
        .table
        .query_items_all(&query, Some(MAX_PER_PET))
        .await?
        .into_iter()
        .map(Schedule::from_item)
        .collect::<ApiResult<_>>()?;
    let mut occurrences: Vec<Occurrence> = schedules
        .iter()
        .flat_map(|s| {
            s.days(from, to, 62)
                .into_iter()
                .map(|date| Occurrence { date, times: s.times.clone(), schedule_id: s.id.clone() })
                .collect::<Vec<_>>()
        })
        .collect();
    occurrences
        .sort_by(|a, b| (a.date, a.times.first(), &a.schedule_id).cmp(&(b.date, b.times.first(), &b.schedule_id)));
    let shown: std::collections::HashSet<&str> = occurrences.iter().map(|o| o.schedule_id.as_str()).collect();
    let schedules = schedules.iter().filter(|s| shown.contains(s.id.as_str())).cloned().collect();
    Ok(Okay(Calendar { from, to, schedules, occurrences }))
}
