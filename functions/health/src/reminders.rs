//! Reminders, on time and exactly once.
//!
//! Each occurrence × time of a schedule with its alarm on is one reminder at one instant:
//!
//! - `reminderDaysBefore = 0`: at that time on the day — "지금 08:00, 심장사상충 약 복용 시간입니다"
//!   (a pill) or "지금 08:00 산책 시간입니다";
//! - `N > 0`: once per occurrence, at 00:00 N days before — "2일후 08:00, 20:00에 심장사상충 약
//!   복용 예정입니다." — never after the event, and nothing whose instant has passed.
//!
//! A reminder is filed under its minute (`REMINDERS#<UTC minute>`): the job, every minute, Queries
//! the minutes since the last one it finished (catching up after an outage) and, for each
//! reminder, deletes it and commits its notification (through the outbox) in one transaction —
//! the delete is conditional, so a reminder is published once however often the job runs. The
//! notifications worker stores, pushes and emails it per the user's `health` setting.
//!
//! Reminders are filed for a rolling window of [`HORIZON_DAYS`] days: saving a schedule files
//! them from now on and removes those of its previous version; a daily job carries open-ended
//! schedules forward. Each reminder carries its schedule's version, and the job drops one whose
//! schedule has changed or gone since (a crash between the two steps never sends a stale one).

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use shared::routes::{Function, Job, Permission};
use shared::table::{Entity, Gsi, Key, Query, Write, time};
use shared::{ApiError, ApiResult, AppContext};

use crate::PKG;
use crate::keys;
use crate::model::{Schedule, ScheduleSubType};
use crate::seoul;

/// How far ahead reminders are filed: a save files at most 14 days × 6 times, so it stays
/// fast; the daily job carries every schedule forward.
pub const HORIZON_DAYS: i64 = 14;
/// Schedules one pet may have (the calendar and the reminder job stay bounded).
pub const MAX_SCHEDULES_PER_PET: i64 = 50;
/// How far back a job that was down catches up.
const CATCH_UP_MINUTES: i64 = 7 * 24 * 60;

pub static REMINDER_JOB: Function = Function::job(
    "health-reminders",
    PKG,
    Job {
        name: "health-reminders",
        schedule: "rate(1 minute)",
        handler: |ctx| Box::pin(send_due(ctx)),
        summary: "Sends the health reminders due since the last run, each exactly once",
    },
)
.permissions(&[Permission::TableRead, Permission::TableWrite])
.timeout(300);

pub static ROLLING_JOB: Function = Function::job(
    "health-reminders-forward",
    PKG,
    Job {
        name: "health-reminders-forward",
        schedule: "rate(1 day)",
        handler: |ctx| Box::pin(carry_forward(ctx)),
        summary: "Files the reminders of ongoing schedules for the days entering the 60-day window",
    },
)
.permissions(&[Permission::TableRead, Permission::TableWrite])
.timeout(900);

/// A reminder waiting for its minute.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reminder {
    pub minute: String,
    pub schedule_id: String,
    pub owner_id: String,
    /// The occurrence's day.
    pub date: NaiveDate,
    /// The time it reminds of (`HH:mm`), or `ALL` for a days-before reminder.
    pub time: String,
    pub text: String,
    /// The schedule's `updatedAt` when this was filed.
    pub version: DateTime<Utc>,
    pub due: DateTime<Utc>,
}

impl Entity for Reminder {
    const TYPE: &'static str = "HealthReminder";
    fn pk(&self) -> String {
        keys::reminders_partition(&self.minute)
    }
    fn sk(&self) -> String {
        keys::reminder_key(&self.minute, &self.schedule_id, &self.date.to_string(), &self.time).sk
    }
}

fn minute_of(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M").to_string()
}

/// The instant of `time` on `date` in Seoul.
fn seoul_instant(date: NaiveDate, time: NaiveTime) -> Option<DateTime<Utc>> {
    seoul::offset().from_local_datetime(&date.and_time(time)).single().map(|t| t.with_timezone(&Utc))
}

/// The text of a reminder.
pub fn text(s: &Schedule, days_before: u8, time: &str) -> String {
    let pill = s.sub_type == ScheduleSubType::Pill;
    if days_before == 0 {
        if pill {
            format!("지금 {time}, {} 복용 시간입니다", s.title)
        } else {
            format!("지금 {time} {} 시간입니다", s.title)
        }
    } else {
        let times = s.times.join(", ");
        let when = if times.is_empty() { String::new() } else { format!(" {times}에") };
        let verb = if pill { " 복용" } else { "" };
        format!("{days_before}일후{when} {}{verb} 예정입니다.", s.title)
    }
}

/// The reminders of `s` for occurrences from `from` to `to` whose instant is after `now`.
pub fn reminders_of(s: &Schedule, from: NaiveDate, to: NaiveDate, now: DateTime<Utc>) -> Vec<Reminder> {
    if !s.alarm_enabled {
        return Vec::new();
    }
    let mut out = Vec::new();
    let midnight = NaiveTime::MIN;
    for date in s.days(from, to, 10_000) {
        let mut file = |due: Option<DateTime<Utc>>, time: String, text: String| {
            if let Some(due) = due.filter(|d| *d > now) {
                out.push(Reminder {
                    minute: minute_of(due),
                    schedule_id: s.id.clone(),
                    owner_id: s.owner_id.clone(),
                    date,
                    time,
                    text,
                    version: s.updated_at,
                    due,
                });
            }
        };
        if s.reminder_days_before == 0 {
            let times = if s.times.is_empty() { vec!["09:00".to_string()] } else { s.times.clone() };
            for t in times {
                let Ok(at) = NaiveTime::parse_from_str(&t, "%H:%M") else { continue };
                file(seoul_instant(date, at), t.clone(), text(s, 0, &t));
            }
        } else {
            let day = date - Duration::days(s.reminder_days_before.into());
            file(seoul_instant(day, midnight), "ALL".into(), text(s, s.reminder_days_before, ""));
        }
    }
    out
}

fn put_request(r: &Reminder) -> ApiResult<Write> {
    Write::put(r)
}

fn delete_request(key: &Key) -> ApiResult<Write> {
    Ok(Write::delete(key.clone()))
}

fn key_of(r: &Reminder) -> Key {
    keys::reminder_key(&r.minute, &r.schedule_id, &r.date.to_string(), &r.time)
}

/// Saves a schedule's new version (`new`; none: deleted) with its reminders: those of the
/// previous version (`old`) still ahead are removed, the new ones filed up to the horizon.
pub async fn save(ctx: &AppContext, old: Option<&Schedule>, new: Option<&Schedule>) -> ApiResult<()> {
    if let (None, Some(s)) = (old, new) {
        // Refused before any reminder is filed (the create's transaction holds the cap exactly).
        let count = ctx.table.get_item(&keys::schedule_count_key(&s.pet_id)).await?;
        if count.is_some_and(|c| shared::audit::number(&c, "count") >= MAX_SCHEDULES_PER_PET) {
            return Err(crate::error::HealthError::TooManySchedules.into());
        }
    }
    let now = ctx.now();
    let today = seoul::today(now);
    let horizon = today + Duration::days(HORIZON_DAYS);
    let mut requests = Vec::new();
    let fresh: Vec<Reminder> = new.map(|s| reminders_of(s, today, horizon, now)).unwrap_or_default();
    let keep: std::collections::HashSet<Key> = fresh.iter().map(key_of).collect();
    if let Some(o) = old {
        let until = o.reminders_until.unwrap_or(horizon);
        for r in reminders_of(o, today, until.max(horizon), now) {
            let k = key_of(&r);
            if !keep.contains(&k) {
                requests.push(delete_request(&k)?);
            }
        }
    }
    for r in &fresh {
        requests.push(put_request(r)?);
    }
    ctx.table.batch_write(requests).await?;
    match new {
        Some(s) => {
            let mut s = s.clone();
            s.reminders_until = Some(horizon);
            match old {
                // Over the version that was read: a concurrent change is a 409, not lost.
                Some(o) => {
                    let w = Write::put(&s)?
                        .value(":seen", time(o.updated_at))
                        .when("updatedAt = :seen", crate::error::HealthError::ScheduleChanged);
                    ctx.table.write(w).await
                }
                // A new schedule counts against the pet's cap in its own transaction.
                None => {
                    let counted = Write::update(keys::schedule_count_key(&s.pet_id), "ADD #c :one")
                        .name("#c", "count")
                        .value(":one", shared::table::n(1))
                        .value(":max", shared::table::n(MAX_SCHEDULES_PER_PET))
                        .when("attribute_not_exists(#c) OR #c < :max", crate::error::HealthError::TooManySchedules);
                    let w = Write::put(&s)?.if_absent(ApiError::internal("schedule id collision"));
                    ctx.table.transact(vec![w, counted]).await
                }
            }
        }
        None => {
            let Some(o) = old else { return Ok(()) };
            ctx.table
                .transact(vec![
                    Write::delete(keys::schedule_key(&o.id)).if_present(crate::error::HealthError::ScheduleNotFound),
                    Write::update(keys::schedule_count_key(&o.pet_id), "ADD #c :minus")
                        .name("#c", "count")
                        .value(":minus", shared::table::n(-1)),
                ])
                .await
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct JobState {
    #[serde(default)]
    last_minute: Option<String>,
}

/// Sends every reminder due from the minute after the last one finished up to now.
pub async fn send_due(ctx: Arc<AppContext>) -> ApiResult<serde_json::Value> {
    let now = ctx.now();
    let this_minute = now
        - Duration::seconds(now.timestamp().rem_euclid(60))
        - Duration::nanoseconds(now.timestamp_subsec_nanos().into());
    let state: JobState = match ctx.table.get_item(&keys::reminder_job_key()).await? {
        Some(item) => serde_dynamo::from_item(item)?,
        None => JobState::default(),
    };
    let start = state
        .last_minute
        .as_deref()
        .and_then(|m| chrono::NaiveDateTime::parse_from_str(m, "%Y-%m-%dT%H:%M").ok())
        .map(|m| m.and_utc() + Duration::minutes(1))
        .unwrap_or(this_minute)
        .max(this_minute - Duration::minutes(CATCH_UP_MINUTES));
    let mut minutes = Vec::new();
    let mut m = start;
    while m <= this_minute {
        minutes.push(minute_of(m));
        m += Duration::minutes(1);
    }
    let mut sent = 0;
    let mut dropped = 0;
    for chunk in minutes.chunks(32) {
        let queries: Vec<Query> = chunk.iter().map(|m| Query::partition(keys::reminders_partition(m))).collect();
        let pages = futures::future::join_all(queries.iter().map(|q| ctx.table.query_items_all(q, None))).await;
        let mut due: Vec<Reminder> = Vec::new();
        for page in pages {
            for item in page? {
                due.push(Reminder::from_item(item)?);
            }
        }
        if due.is_empty() {
            continue;
        }
        // The schedules as they are now: a reminder of an older version, or of a deleted
        // schedule, is dropped.
        let ids: Vec<Key> = due.iter().map(|r| keys::schedule_key(&r.schedule_id)).collect();
        let schedules: HashMap<String, Schedule> =
            ctx.table.batch_get::<Schedule>(&ids).await?.into_iter().flatten().map(|s| (s.id.clone(), s)).collect();
        for r in due {
            let current = schedules.get(&r.schedule_id).filter(|s| s.updated_at == r.version && s.alarm_enabled);
            let mut writes = vec![Write::delete(key_of(&r)).if_present(crate::error::HealthError::ReminderSent)];
            if let Some(s) = current {
                writes.extend(notifications_contract::outbox(
                    &ctx,
                    vec![notifications_contract::NotificationEvent {
                        event_id: format!("reminder-{}-{}-{}", r.schedule_id, r.date, r.time),
                        kind: notifications_contract::NotificationKind::HealthReminder,
                        actor_id: notifications_contract::SYSTEM_ACTOR.into(),
                        recipient_id: s.owner_id.clone(),
                        target_type: "SCHEDULE".into(),
                        target_id: s.id.clone(),
                        excerpt: Some(r.text.clone()),
                    }],
                )?);
            }
            match ctx.table.transact(writes).await {
                Ok(()) if current.is_some() => sent += 1,
                Ok(()) => dropped += 1,
                // Sent by another run of the job meanwhile.
                Err(e) if e.is(&crate::error::HealthError::ReminderSent) => {}
                Err(e) => return Err(e),
            }
        }
    }
    let mut state = keys::reminder_job_key().to_item();
    state.insert("lastMinute".into(), shared::table::s(minute_of(this_minute)));
    ctx.table.write(Write::put_item(state)).await?;
    Ok(serde_json::json!({"minutes": minutes.len(), "sent": sent, "dropped": dropped}))
}

/// Files the reminders of ongoing schedules up to the horizon (daily).
pub async fn carry_forward(ctx: Arc<AppContext>) -> ApiResult<serde_json::Value> {
    let now = ctx.now();
    let horizon = seoul::today(now) + Duration::days(HORIZON_DAYS);
    let mut carried = 0;
    for shard in 0..8u8 {
        let query = Query::partition(keys::rolling_partition(shard)).index(Gsi::Gsi2);
        for item in ctx.table.query_items_all(&query, None).await? {
            // The rolling list is an index, which lags: a schedule carried or changed a moment
            // ago may be listed as it was. Carry the stored schedule only.
            let listed = Schedule::from_item(item)?;
            let Some(s) = ctx.table.get::<Schedule>(&keys::schedule_key(&listed.id)).await? else { continue };
            let until = s.reminders_until.unwrap_or(seoul::today(now));
            if until >= horizon {
                continue;
            }
            let requests: Vec<Write> = reminders_of(&s, until + Duration::days(1), horizon, now)
                .iter()
                .map(put_request)
                .collect::<ApiResult<_>>()?;
            ctx.table.batch_write(requests).await?;
            // The whole item, so that a schedule that has ended leaves the job's list.
            let seen = s.updated_at;
            let carried_to = Schedule { reminders_until: Some(horizon), ..s };
            let w = Write::put(&carried_to)?
                .value(":seen", time(seen))
                .when("updatedAt = :seen", crate::error::HealthError::ScheduleChanged);
            match ctx.table.write(w).await {
                Ok(()) => carried += 1,
                // Saved meanwhile: the save filed its own reminders.
                Err(e) if e.is(&crate::error::HealthError::ScheduleChanged) => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(serde_json::json!({"carried": carried}))
}
