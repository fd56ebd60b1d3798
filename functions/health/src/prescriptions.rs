//! Prescriptions read by OCR: the owner uploads a photo, the OCR worker reads it through CLOVA
//! OCR ([`crate::ocr`]), and each drug found becomes a MEDICATION schedule starting today with
//! reminders on the day.
//!
//! Exactly once, whatever the queue does: the schedules' ids are derived from the prescription
//! (a redelivered message finds them made and makes nothing twice), and the prescription becomes
//! DONE — with its notification, through the outbox — in one conditional write. A provider that
//! fails is retried by the queue; the last try marks the prescription FAILED with the reason and
//! the message goes to the dead-letter queue.

use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use shared::handler::{Accepted, Caller, Json, Okay, Params, Path};
use shared::http::PageRequest;
use shared::routes::{Access, Function, Method, Permission, Worker, int_param, param};
use shared::table::{Entity, Gsi, Key, Page, Query, Write, n, s, time};
use shared::validate::{Validate, Validator};
use shared::worker::MessageError;
use shared::{ApiError, ApiResult, AppContext, handler};
use utoipa::ToSchema;

use crate::PKG;
use crate::error::HealthError;
use crate::keys;
use crate::ocr::{self, Drug, OcrFailure};
use crate::owner::ensure_owner;
use crate::recurrence::Recurrence;
use crate::schedules::{Medication, NewSchedule, Schedule, ScheduleSubType, ScheduleType};
use crate::seoul;

/// A prescription's photo: the formats CLOVA OCR reads well.
pub const PRESCRIPTION_PHOTO: shared::media::Purpose = shared::media::Purpose {
    name: "prescription",
    types: &[&["image/jpeg", "image/png", "image/gif", "image/heic"]],
    max_bytes: 10 * shared::media::MB,
};

/// Prescription photos waiting to be read by CLOVA OCR (the provider can be slow: a long
/// visibility timeout).
pub const OCR: shared::queues::Queue =
    shared::queues::Queue { name: "ocr", visibility_timeout_secs: 120, max_receive_count: 3 };

pub static UPLOAD: Function = Function::http(
    Method::Post,
    "/pets/{id}/prescriptions",
    "health-prescriptions-create",
    PKG,
    Access::User,
    handler!(create),
)
.permissions(&[Permission::TableRead, Permission::TableWrite, Permission::MediaRead])
.doc("health", "Read a prescription photo (uploaded for `prescription`): its drugs become medication schedules")
.example(r#"{"imageKey":"users/01JD3K4Q5R6S7T8V9W0XYZABCD/prescription/01JD3K4Q5R6S7T8V9W0XYZABCE.png"}"#)
.errors(&[404])
.reads_with_session(pets_contract::the_pet);

pub static GET: Function =
    Function::http(Method::Get, "/prescriptions/{id}", "health-prescriptions-get", PKG, Access::User, handler!(get))
        .permissions(&[Permission::TableRead])
        .doc("health", "One of my prescriptions and what was read from it")
        .errors(&[404]);

pub static OF_PET: Function = Function::http(
    Method::Get,
    "/pets/{id}/prescriptions",
    "health-prescriptions-of-pet",
    PKG,
    Access::User,
    handler!(of_pet),
)
.permissions(&[Permission::TableRead])
.doc("health", "My pet's prescriptions, newest first")
.query(&[param("cursor", false, "from nextCursor"), int_param("limit", false, "page size, default 20", 1, 50)])
.errors(&[404])
.reads_with_session(pets_contract::the_pet);

pub static OCR_WORKER: Function = Function::worker(
    "ocr-worker",
    PKG,
    Worker {
        name: "ocr-worker",
        queue: &OCR,
        batch_size: 1,
        handler: shared::consumer!(handle),
        summary: "Reads prescription photos with CLOVA OCR and makes their medication schedules",
        example: r#"{"prescriptionId":"01JD3K4Q5R6S7T8V9W0XYZABCD"}"#,
    },
)
.permissions(&[Permission::TableRead, Permission::TableWrite, Permission::MediaRead, Permission::ManageConnections])
.settings(crate::ocr::SETTINGS)
.timeout(90);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RxStatus {
    Pending,
    Processing,
    Done,
    Failed,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Prescription {
    pub id: String,
    pub pet_id: String,
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub owner_id: String,
    pub image_key: String,
    pub status: RxStatus,
    #[serde(default)]
    pub drugs: Vec<Drug>,
    #[serde(default)]
    pub schedule_ids: Vec<String>,
    /// The text read, line by line.
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub failure_reason: Option<String>,
    /// Readings tried so far.
    #[serde(default)]
    pub attempts: u32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Entity for Prescription {
    const TYPE: &'static str = "Prescription";
    fn pk(&self) -> String {
        keys::prescription_key(&self.id).pk
    }
    fn sk(&self) -> String {
        keys::prescription_key(&self.id).sk
    }
    fn index_keys(&self) -> Vec<(Gsi, String, String)> {
        vec![(Gsi::Gsi1, keys::pet_prescriptions_partition(&self.pet_id), self.id.clone())]
    }
}

/// The message of the `ocr` queue.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReadPrescription {
    pub prescription_id: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewPrescription {
    /// A `prescription` upload of the caller's (JPEG or PNG, at most 10 MB).
    pub image_key: String,
}

impl Validate for NewPrescription {
    fn validate(&self, v: &mut Validator) {
        v.line("imageKey", &self.image_key, 1, 300);
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Queued {
    pub id: String,
    pub status: RxStatus,
}

pub async fn create(
    ctx: Arc<AppContext>,
    caller: Caller,
    Path(pet): Path<String>,
    Json(body): Json<NewPrescription>,
) -> ApiResult<Accepted<Queued>> {
    let me = caller.user_id.clone();
    ensure_owner(&ctx, &me, &pet).await?;
    shared::media::verify(&ctx, &me, &body.image_key, &[&PRESCRIPTION_PHOTO]).await?;
    let now = ctx.now();
    let rx = Prescription {
        id: shared::ids::new_id(now),
        pet_id: pet,
        owner_id: me,
        image_key: body.image_key,
        status: RxStatus::Pending,
        drugs: Vec::new(),
        schedule_ids: Vec::new(),
        text: String::new(),
        failure_reason: None,
        attempts: 0,
        created_at: now,
        updated_at: now,
    };
    // The prescription and its message commit together (the outbox relays the message).
    ctx.table
        .transact(vec![
            Write::put(&rx)?.if_absent(ApiError::internal("prescription id collision")),
            shared::outbox::message(&ctx, &OCR, &ReadPrescription { prescription_id: rx.id.clone() })?,
        ])
        .await?;
    Ok(Accepted(Queued { id: rx.id, status: rx.status }))
}

async fn mine(ctx: &AppContext, me: &str, id: &str) -> ApiResult<Prescription> {
    if !shared::ids::is_valid_id(id) {
        return Err(HealthError::PrescriptionNotFound.into());
    }
    let rx =
        ctx.table.get::<Prescription>(&keys::prescription_key(id)).await?.ok_or(HealthError::PrescriptionNotFound)?;
    if rx.owner_id != me {
        return Err(HealthError::NotYourPet.into());
    }
    Ok(rx)
}

pub async fn get(ctx: Arc<AppContext>, caller: Caller, Path(id): Path<String>) -> ApiResult<Okay<Prescription>> {
    Ok(Okay(mine(&ctx, &caller.user_id, &id).await?))
}

pub async fn of_pet(
    ctx: Arc<AppContext>,
    caller: Caller,
    Path(pet): Path<String>,
    params: Params,
) -> ApiResult<Okay<Page<Prescription>>> {
    ensure_owner(&ctx, &caller.user_id, &pet).await?;
    let query = Query::partition(keys::pet_prescriptions_partition(&pet))
        .index(Gsi::Gsi1)
        .newest_first()
        .paged(&params, 20, 50)?;
    Ok(Okay(ctx.table.query::<Prescription>(&query).await?))
}

/// The id of the schedule made for the `index`th drug of prescription `rx`: the same every time
/// the message is handled.
fn schedule_id(rx: &str, index: usize) -> String {
    let time = ulid::Ulid::from_string(rx).map(|u| u.timestamp_ms()).unwrap_or(0);
    let digest = Sha256::digest(format!("{rx}#{index}").as_bytes());
    let random = u128::from_be_bytes(digest[..16].try_into().expect("16 bytes")) & ((1u128 << 80) - 1);
    ulid::Ulid::from_parts(time, random).to_string()
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DoneFrame<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    prescription_id: &'a str,
    status: RxStatus,
    schedule_ids: &'a [String],
}

/// Finishes a prescription: DONE or FAILED, with its notification, once.
async fn finish(ctx: &AppContext, rx: &Prescription, outcome: Prescription, message: String) -> ApiResult<()> {
    let result = ctx
        .table
        .transact(vec![
            Write::put(&outcome)?
                .name("#st", "status")
                .value(":done", s("DONE"))
                .value(":failed", s("FAILED"))
                .when("#st <> :done AND #st <> :failed", HealthError::PrescriptionFinished),
            notifications_contract::outbox(
                ctx,
                vec![notifications_contract::NotificationEvent {
                    event_id: format!("prescription-{}", rx.id),
                    kind: notifications_contract::NotificationKind::PrescriptionRead,
                    actor_id: notifications_contract::SYSTEM_ACTOR.into(),
                    recipient_id: rx.owner_id.clone(),
                    target_type: "PRESCRIPTION".into(),
                    target_id: rx.id.clone(),
                    excerpt: Some(message),
                }],
            )?
            .into_iter()
            .next()
            .ok_or_else(|| ApiError::internal("a notification without its message"))?,
        ])
        .await;
    match result {
        Ok(()) => {
            let frame = DoneFrame {
                kind: "prescription.done",
                prescription_id: &rx.id,
                status: outcome.status,
                schedule_ids: &outcome.schedule_ids,
            };
            if let Err(e) = shared::push::to_user(ctx, &rx.owner_id, &frame).await {
                tracing::warn!(error = %e, "a prescription was read but not pushed");
            }
            Ok(())
        }
        Err(e) if e.is(&HealthError::PrescriptionFinished) => Ok(()),
        Err(e) => Err(e),
    }
}

fn failed(rx: &Prescription, reason: &str, now: DateTime<Utc>) -> Prescription {
    Prescription { status: RxStatus::Failed, failure_reason: Some(reason.to_string()), updated_at: now, ..rx.clone() }
}

/// Counts a try on the prescription and marks it processing; the prescription as counted.
async fn count_try(ctx: &AppContext, key: &Key) -> Result<Prescription, MessageError> {
    let w = Write::update(key.clone(), "SET #st = :processing, updatedAt = :now ADD attempts :one")
        .name("#st", "status")
        .value(":processing", s("PROCESSING"))
        .value(":now", time(ctx.now()))
        .value(":one", n(1));
    ctx.table
        .write_returning(w)
        .await?
        .map(Prescription::from_item)
        .transpose()?
        .ok_or_else(|| MessageError::Retry("the prescription vanished".into()))
}

/// The prescription's photo, from the media bucket.
async fn photo(ctx: &AppContext, rx: &Prescription) -> Result<Vec<u8>, String> {
    match ctx.s3.get_object().bucket(&ctx.config.media_bucket).key(&rx.image_key).send().await {
        Ok(o) => o.body.collect().await.map(|b| b.into_bytes().to_vec()).map_err(|e| e.to_string()),
        Err(e) => Err(aws_sdk_s3::error::DisplayErrorContext(e).to_string()),
    }
}

/// The daily medication schedule of a drug read, from `today` for its days.
fn medication_schedule(drug: &Drug, today: NaiveDate) -> NewSchedule {
    let memo =
        [drug.dosage.as_str(), drug.route.as_str()].iter().filter(|x| !x.is_empty()).copied().collect::<Vec<_>>();
    NewSchedule {
        title: drug.name.clone(),
        kind: ScheduleType::Medication,
        sub_type: Some(ScheduleSubType::Pill),
        start_date: today.to_string(),
        end_date: Some((today + Duration::days(i64::from(drug.days) - 1)).to_string()),
        recurrence: Recurrence::Daily,
        interval: None,
        times: Vec::new(),
        reminder_days_before: 0,
        alarm_enabled: true,
        memo: Some(memo.join(" ")).filter(|m| !m.is_empty()),
        medication: Some(Medication {
            drug_name: drug.name.clone(),
            dosage: drug.dosage.clone(),
            duration_days: drug.days,
            frequency_per_day: drug.times_per_day,
            prescription: true,
        }),
    }
}

/// Files one schedule per drug (with its reminders), each under an id made from the
/// prescription's, so a redelivered message files none twice; their ids.
async fn file_schedules(
    ctx: &AppContext,
    rx: &Prescription,
    drugs: &[Drug],
    today: NaiveDate,
) -> Result<Vec<String>, MessageError> {
    let ids: Vec<String> = (0..drugs.len()).map(|i| schedule_id(&rx.id, i)).collect();
    let filed = ctx.table.batch_get_items(&ids.iter().map(|id| keys::schedule_key(id)).collect::<Vec<_>>()).await?;
    for ((drug, id), filed) in drugs.iter().zip(&ids).zip(filed) {
        if filed.is_none() {
            let mut schedule: Schedule =
                crate::schedules::build(ctx, &rx.owner_id, &rx.pet_id, medication_schedule(drug, today))?;
            schedule.id = id.clone();
            crate::reminders::save(ctx, None, Some(&schedule)).await?;
        }
    }
    Ok(ids)
}

/// Reads one prescription: its photo through OCR, the drugs on it, a schedule for each; the owner
/// is told either way. A try that fails for a while is retried with backing off; the last one
/// fails the prescription rather than leave it pending.
pub async fn handle(ctx: Arc<AppContext>, msg: ReadPrescription) -> Result<(), MessageError> {
    if !shared::ids::is_valid_id(&msg.prescription_id) {
        return Err(MessageError::Permanent("not a prescription id".into()));
    }
    let key = keys::prescription_key(&msg.prescription_id);
    let Some(rx) = ctx.table.get::<Prescription>(&key).await? else {
        return Err(MessageError::Permanent(format!("no prescription {}", msg.prescription_id)));
    };
    if matches!(rx.status, RxStatus::Done | RxStatus::Failed) {
        return Ok(());
    }
    let counted = count_try(&ctx, &key).await?;
    let last_try = counted.attempts >= OCR.max_receive_count;
    let now = ctx.now();

    let image = match photo(&ctx, &counted).await {
        Ok(bytes) => bytes,
        Err(e) if last_try => {
            let outcome = failed(&counted, "사진을 읽을 수 없습니다", now);
            finish(&ctx, &counted, outcome, "처방전 사진을 읽을 수 없었습니다.".into()).await?;
            return Err(MessageError::Permanent(format!("the photo could not be read: {e}")));
        }
        Err(e) => return Err(MessageError::Retry(format!("the photo could not be read: {e}"))),
    };
    let format = if rx.image_key.ends_with(".png") { "png" } else { "jpg" };
    let lines = match ocr::read(&ctx, &image, format).await {
        Ok(lines) => lines,
        // Backing off: 1×, 2×, 4× the base delay.
        Err(OcrFailure::Transient(why)) if !last_try => {
            let after_secs = ctx.config.retry_base_secs.saturating_mul(1 << (counted.attempts.min(6) - 1));
            return Err(MessageError::RetryAfter { after_secs, reason: why });
        }
        Err(OcrFailure::Transient(why) | OcrFailure::Refused(why)) => {
            let reason = format!("OCR_FAILED: {why}");
            let told = "처방전을 읽지 못했습니다. 다시 찍어 올려 주세요.";
            finish(&ctx, &counted, failed(&counted, &reason, now), told.into()).await?;
            return Err(MessageError::Permanent(reason));
        }
    };
    let drugs = ocr::parse(&lines);
    let text = lines.join("\n");
    if drugs.is_empty() {
        let outcome =
            Prescription { text, ..failed(&counted, "NO_DRUGS_FOUND: 처방 약을 찾지 못했습니다", now) };
        finish(&ctx, &counted, outcome, "처방전에서 약을 찾지 못했습니다. 더 선명한 사진으로 다시 올려 주세요.".into())
            .await?;
        return Ok(());
    }
    let schedule_ids = file_schedules(&ctx, &rx, &drugs, seoul::today(now)).await?;
    let count = drugs.len();
    let outcome =
        Prescription { status: RxStatus::Done, drugs, schedule_ids, text, updated_at: now, ..counted.clone() };
    finish(&ctx, &counted, outcome, format!("처방전에서 약 {count}개를 읽어 복약 일정을 만들었습니다.")).await?;
    Ok(())
}
