//! Pet health care (Asia/Seoul dates throughout): daily activity with calorie maths, care
//! schedules with recurrence, reminders on time and exactly once, prescriptions read by CLOVA OCR
//! into medication schedules. Item layout: [`keys`].

pub mod activities;
pub mod error;
pub mod keys;
pub mod model;
pub mod ocr;
pub mod owner;
pub mod prescriptions;
pub mod recurrence;
pub mod reminders;
pub mod schedules;
pub mod seoul;
pub mod tips;
pub mod weekly;

use shared::routes::Domain;

pub(crate) const PKG: &str = env!("CARGO_PKG_NAME");

pub const DOMAIN: Domain = Domain {
    tags: &[shared::routes::Tag {
        name: "health",
        description: "Pet health care, the owner's alone: daily activity with calorie maths, care schedules and reminders, prescriptions read by OCR, AI care tips and weekly activity reports.",
    }],
    errors: &[
        error::HealthError::CODES,
        &[(429, "TIP_QUOTA_EXCEEDED"), (503, "MODEL_BUSY"), (503, "MODEL_TIMEOUT"), (503, "MODEL_UNAVAILABLE")],
    ],
    name: "health",
    uploads: &[&prescriptions::PRESCRIPTION_PHOTO],
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
        &prescriptions::UPLOAD,
        &prescriptions::GET,
        &prescriptions::OF_PET,
        &prescriptions::OCR_WORKER,
        &tips::ASK,
        &tips::LIST,
        &weekly::GET,
        &weekly::SUMMARY_JOB,
    ],
};
