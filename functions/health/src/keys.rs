//! Health care's keys.
//!
//! | item | PK | SK |
//! |---|---|---|
//! | a pet's day of activity | `HEALTH#<pet>` | `ACT#<yyyy-mm-dd>` (one per day; a range of days is one Query) |
//! | how many schedules a pet has (the cap, exact in each create's transaction) | `HEALTH#<pet>` | `SCHEDULES` |
//! | schedule | `SCHED#<id>` | `SCHEDULE` | GSI1 `PETSCHED#<pet>` / `<id>`; GSI2 `SCHEDROLL#<0-7>` / `<id>` while its reminders must be carried forward |
//! | reminder due | `REMINDERS#<UTC minute>` | `<schedule>#<day>#<HH:mm>` (with the schedule's version) |
//! | the reminder job's progress | `REMINDERJOB` | `STATE` (the last minute it finished) |
//! | prescription | `RX#<id>` | `RX` | GSI1 `PETRX#<pet>` / `<id>` (a pet's, newest first) |
//! | a pet-care tip (question and answer) | `HEALTH#<pet>` | `TIP#<id>` (newest first by a prefix Query) |
//! | tips a user asked for, by Seoul day (the daily quota, exact in each tip's transaction) | `TIPQUOTA#<user>` | `QUOTA` (attribute `d<yyyy-mm-dd>`) |
//! | a pet's weekly summary, written by the model once | `HEALTH#<pet>` | `WEEK#<yyyy-Www>` |
//! | a pet with activity in a week, until the weekly job summarises it | `ACTWEEK#<yyyy-Www>#<0-7>` | `<pet>` (TTL 30 days) |

use shared::table::Key;

pub fn health_partition(pet: &str) -> String {
    format!("HEALTH#{pet}")
}

pub fn activity_sort(date: &str) -> String {
    format!("ACT#{date}")
}

pub fn activity_key(pet: &str, date: &str) -> Key {
    Key::new(health_partition(pet), activity_sort(date))
}

/// The count of a pet's schedules.
pub fn schedule_count_key(pet: &str) -> Key {
    Key::new(health_partition(pet), "SCHEDULES")
}

/// A schedule.
pub fn schedule_key(id: &str) -> Key {
    Key::new(format!("SCHED#{id}"), "SCHEDULE")
}

/// GSI1 partition of a pet's schedules.
pub fn pet_schedules_partition(pet: &str) -> String {
    format!("PETSCHED#{pet}")
}

/// GSI2 partition of the schedules whose reminders the daily job carries forward (8 shards).
pub fn rolling_partition(shard: u8) -> String {
    format!("SCHEDROLL#{shard}")
}

/// The reminders due in one minute (UTC, `YYYY-MM-DDTHH:MM`): the job Queries one partition a
/// minute.
pub fn reminders_partition(minute: &str) -> String {
    format!("REMINDERS#{minute}")
}

pub fn reminder_key(minute: &str, schedule: &str, date: &str, time: &str) -> Key {
    Key::new(reminders_partition(minute), format!("{schedule}#{date}#{time}"))
}

/// Where the reminder job remembers the last minute it finished.
pub fn reminder_job_key() -> Key {
    Key::new("REMINDERJOB", "STATE")
}

pub fn prescription_key(id: &str) -> Key {
    Key::new(format!("RX#{id}"), "RX")
}

/// GSI1 partition of a pet's prescriptions.
pub fn pet_prescriptions_partition(pet: &str) -> String {
    format!("PETRX#{pet}")
}

/// A pet-care tip the model gave (ids grow with time, so a prefix Query newest first lists
/// them newest first).
pub fn tip_sort(id: &str) -> String {
    format!("TIP#{id}")
}

pub const TIP_PREFIX: &str = "TIP#";

/// How many tips a user asked for, one attribute per Seoul day ([`tip_day_attribute`]).
pub fn tip_quota_key(user: &str) -> Key {
    Key::new(format!("TIPQUOTA#{user}"), "QUOTA")
}

/// The tip quota item's count of one Seoul day.
pub fn tip_day_attribute(day: chrono::NaiveDate) -> String {
    format!("d{day}")
}

/// A pet's week in numbers and words (`YYYY-Www`, ISO weeks in Seoul), written once by the job.
pub fn weekly_summary_key(pet: &str, week: &str) -> Key {
    Key::new(health_partition(pet), format!("WEEK#{week}"))
}

/// The pets with activity in a week, for the weekly job (8 shards, so that a day's writes of
/// every pet do not meet on one partition).
pub fn active_week_partition(week: &str, shard: u8) -> String {
    format!("ACTWEEK#{week}#{shard}")
}

pub fn active_week_key(week: &str, shard: u8, pet: &str) -> Key {
    Key::new(active_week_partition(week, shard), pet.to_string())
}
