//! The health domain's schedules as stored and shown: the types and sub types with their Korean
//! labels, medications, and the schedule item itself (reminders and the schedule endpoints both
//! read them).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use shared::table::{Entity, Gsi};
use utoipa::ToSchema;

use crate::keys;
use crate::recurrence::{Recurrence, occurrences};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ScheduleType {
    Care,
    Vaccination,
    Medication,
    Exercise,
    Training,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ScheduleSubType {
    Walk,
    Birthday,
    Grooming,
    Etc,
    Vaccine,
    Checkup,
    Pill,
    Supplement,
}

/// A type, its label and the sub types it takes (the first is the default).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TypeEntry {
    #[serde(rename = "type")]
    pub kind: ScheduleType,
    pub label: &'static str,
    pub sub_types: Vec<SubEntry>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubEntry {
    #[serde(rename = "subType")]
    pub kind: ScheduleSubType,
    pub label: &'static str,
}

/// A type, its label, and its sub types with theirs (the first sub type is the default).
type TypeRow = (ScheduleType, &'static str, &'static [(ScheduleSubType, &'static str)]);

const TABLE: &[TypeRow] = &[
    (
        ScheduleType::Care,
        "케어",
        &[
            (ScheduleSubType::Etc, "기타"),
            (ScheduleSubType::Walk, "산책"),
            (ScheduleSubType::Birthday, "생일"),
            (ScheduleSubType::Grooming, "미용"),
        ],
    ),
    (
        ScheduleType::Vaccination,
        "예방접종",
        &[(ScheduleSubType::Vaccine, "접종"), (ScheduleSubType::Checkup, "건강검진")],
    ),
    (ScheduleType::Medication, "투약", &[(ScheduleSubType::Pill, "복약"), (ScheduleSubType::Supplement, "영양제")]),
    (ScheduleType::Exercise, "운동", &[(ScheduleSubType::Walk, "산책"), (ScheduleSubType::Etc, "기타")]),
    (ScheduleType::Training, "훈련", &[(ScheduleSubType::Etc, "기타")]),
];

pub fn sub_types(kind: ScheduleType) -> &'static [(ScheduleSubType, &'static str)] {
    TABLE.iter().find(|(k, _, _)| *k == kind).map(|(_, _, s)| *s).unwrap_or(&[])
}

/// The schedule types with their sub types.
#[derive(Debug, Serialize, ToSchema)]
pub struct TypeTable {
    pub types: Vec<TypeEntry>,
}

/// The types and sub types with their labels (`GET /health/schedule-types`).
pub async fn types(_ctx: std::sync::Arc<shared::AppContext>) -> shared::ApiResult<shared::handler::Okay<TypeTable>> {
    Ok(shared::handler::Okay(TypeTable {
        types: TABLE
            .iter()
            .map(|(k, label, subs)| TypeEntry {
                kind: *k,
                label,
                sub_types: subs.iter().map(|(s, l)| SubEntry { kind: *s, label: l }).collect(),
            })
            .collect(),
    }))
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Medication {
    pub drug_name: String,
    #[serde(default)]
    pub dosage: String,
    #[serde(default)]
    pub duration_days: u32,
    pub frequency_per_day: u32,
    /// Made from a prescription (its reminders come on the day).
    #[serde(default)]
    pub prescription: bool,
}

/// The usual times of a medication taken `n` times a day.
pub fn usual_times(n: u32) -> Vec<String> {
    match n {
        1 => vec!["09:00".into()],
        2 => vec!["08:00".into(), "20:00".into()],
        _ => vec!["08:00".into(), "12:00".into(), "20:00".into()],
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Schedule {
    pub id: String,
    pub pet_id: String,
    pub owner_id: String,
    pub title: String,
    #[serde(rename = "type")]
    pub kind: ScheduleType,
    pub sub_type: ScheduleSubType,
    pub start_date: NaiveDate,
    /// The last day (none: it goes on).
    pub end_date: Option<NaiveDate>,
    pub recurrence: Recurrence,
    pub interval: u32,
    /// Times of day, `HH:mm`, in order.
    pub times: Vec<String>,
    pub reminder_days_before: u8,
    pub alarm_enabled: bool,
    /// The days-before setting to restore when the alarm comes back on.
    #[serde(default)]
    pub saved_days_before: Option<u8>,
    pub memo: Option<String>,
    pub medication: Option<Medication>,
    /// Reminders are filed up to this day; the daily job carries them forward.
    #[serde(default)]
    pub reminders_until: Option<NaiveDate>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Entity for Schedule {
    const TYPE: &'static str = "HealthSchedule";
    fn pk(&self) -> String {
        keys::schedule_key(&self.id).pk
    }
    fn sk(&self) -> String {
        keys::schedule_key(&self.id).sk
    }
    fn index_keys(&self) -> Vec<(Gsi, String, String)> {
        let mut out = vec![(Gsi::Gsi1, keys::pet_schedules_partition(&self.pet_id), self.id.clone())];
        // Listed for the daily job while it happens after the reminders filed so far.
        let goes_on = match (self.end_date, self.reminders_until) {
            (_, None) => true,
            (None, Some(_)) => true,
            (Some(end), Some(until)) => end > until,
        };
        if self.alarm_enabled && goes_on {
            let shard = self.id.bytes().last().unwrap_or(0) % 8;
            out.push((Gsi::Gsi2, keys::rolling_partition(shard), self.id.clone()));
        }
        out
    }
}

impl Schedule {
    /// The days it happens on within `[from, to]`.
    pub fn days(&self, from: NaiveDate, to: NaiveDate, limit: usize) -> Vec<NaiveDate> {
        occurrences(self.recurrence, self.start_date, self.end_date, self.interval, from, to, limit)
    }
}
