//! Pet health care (Asia/Seoul dates throughout): daily activity with calorie maths, care
//! schedules with recurrence, reminders on time and exactly once. Item layout: [`keys`].

pub mod activities;
pub mod error;
pub mod keys;
pub mod owner;
pub mod recurrence;
pub mod reminders;
pub mod schedules;
pub mod seoul;

use shared::routes::Domain;

pub(crate) const PKG: &str = env!("CARGO_PKG_NAME");

pub const DOMAIN: Domain = Domain {
    name: "health",
    functions: &[
        &activities::PUT,
        &activities::GET,
        &activities::RANGE,
        &activities::LEVELS,
        &schedules::CREATE,
        &schedules::CALENDAR,
        &schedules::GET,
        &schedules::UPDATE,
        &schedules::DELETE,
        &schedules::ALARM,
        &schedules::TYPES,
        &reminders::REMINDER_JOB,
        &reminders::ROLLING_JOB,
    ],
};
