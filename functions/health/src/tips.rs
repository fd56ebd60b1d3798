//! Pet-care tips from the language model: the owner asks a question about a pet, and the model
//! answers knowing what the pet is, how old and heavy it is and how active it has been this
//! week. Answers are kept, newest first. Each user may ask [`DAILY_TIPS`] a Seoul day; the count
//! is exact (a conditional update in the tip's own transaction), and a question the model did not
//! answer (busy, too slow) is not counted.
//!
//! Calls: the guard's batch read brings the pet and the quota, one Query the week's activity,
//! one model call, one transaction (quota and tip).

use std::sync::Arc;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use shared::bedrock;
use shared::handler::{Caller, Created, Json, Okay, Params, Path};
use shared::http::PageRequest;
use shared::routes::{Access, Function, Method, Permission, int_param, param, said};
use shared::table::{Entity, Page, Query, SortKey, Write, n};
use shared::validate::{Validate, Validator};
use shared::{ApiError, ApiResult, AppContext, handler};
use utoipa::ToSchema;

use crate::PKG;
use crate::activities::{Activity, LEVEL_TABLE};
use crate::error::HealthError;
use crate::keys;
use crate::seoul;

/// Tips one user may ask for in a Seoul day.
pub const DAILY_TIPS: i64 = 20;
/// The longest question.
pub const MAX_QUESTION: usize = 500;

/// Shown with every answer, and part of its text.
pub const DISCLAIMER: &str = "이 답변은 AI가 만든 일반 정보이며 수의사의 진단이나 처방을 대신하지 않습니다. 증상이 있으면 동물병원에서 수의사와 상담하세요.";

/// What the model is told before every question.
const SYSTEM: &str = "당신은 반려동물 보호자를 돕는 펫케어 도우미입니다. 한국어로 5문장 이내로, 보호자가 오늘 바로 해 볼 수 있는 조언을 하세요. \
진단하거나 약을 처방하지 마세요. 질문에 구토, 설사, 혈변, 기침, 호흡 곤란, 경련, 절뚝거림, 식욕 부진 같은 증상이 나오면 \
반드시 가능한 한 빨리 동물병원에서 수의사의 진료를 받으라고 안내하세요. 주어진 반려동물 정보를 답에 반영하세요.";

pub static ASK: Function =
    Function::http(Method::Post, "/pets/{id}/tips", "health-tips-ask", PKG, Access::User, handler!(ask))
        .permissions(&[Permission::TableRead, Permission::TableWrite, Permission::InvokeModel(&bedrock::TEXT_MODEL)])
        .settings(&[&bedrock::TEXT_MODEL])
        .doc(
            "health",
            "Ask the AI for a care tip about my pet (its kind, age, weight and this week's activity are taken into account); 20 a day",
        )
        .example(r#"{"question":"요즘 산책을 싫어하는데 어떻게 하면 좋을까요?"}"#)
        .responses(&[said(201, "The answer, kept in the pet's tips.")])
        .errors(&[404, 429, 503])
        .timeout(30)
        .reads_with_session(pet_and_quota);

pub static LIST: Function =
    Function::http(Method::Get, "/pets/{id}/tips", "health-tips-list", PKG, Access::User, handler!(list))
        .permissions(&[Permission::TableRead])
        .doc("health", "The AI's care tips about my pet, newest first")
        .query(&[param("cursor", false, "from nextCursor"), int_param("limit", false, "page size, default 20", 1, 50)])
        .errors(&[404])
        .reads_with_session(pets_contract::the_pet);

/// The pet and the caller's quota, read with the session.
fn pet_and_quota(path: &std::collections::HashMap<String, String>, caller: &str) -> Vec<shared::table::Key> {
    let mut keys = pets_contract::the_pet(path, caller);
    keys.push(keys::tip_quota_key(caller));
    keys
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TipQuestion {
    /// Up to 500 characters.
    pub question: String,
}

impl Validate for TipQuestion {
    fn validate(&self, v: &mut Validator) {
        v.text("question", self.question.trim(), 2, MAX_QUESTION);
    }
}

/// A question and the model's answer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Tip {
    pub id: String,
    pub pet_id: String,
    pub question: String,
    /// The model's answer, ending with the disclaimer.
    pub answer: String,
    /// That this is not veterinary advice.
    pub disclaimer: String,
    /// The model that answered.
    pub model_id: String,
    pub created_at: DateTime<Utc>,
}

impl Entity for Tip {
    const TYPE: &'static str = "PetTip";
    fn pk(&self) -> String {
        keys::health_partition(&self.pet_id)
    }
    fn sk(&self) -> String {
        keys::tip_sort(&self.id)
    }
}

/// Where the caller stands against the daily quota.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TipQuota {
    pub used: i64,
    pub limit: i64,
    /// Midnight in Seoul, when the count starts again.
    pub resets_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TipAnswer {
    #[serde(flatten)]
    pub tip: Tip,
    pub quota: TipQuota,
}

/// The next midnight in Seoul.
fn next_seoul_midnight(now: DateTime<Utc>) -> DateTime<Utc> {
    let tomorrow = seoul::today(now) + Duration::days(1);
    tomorrow.and_hms_opt(0, 0, 0).expect("midnight").and_local_timezone(seoul::offset()).unwrap().with_timezone(&Utc)
}

fn quota_exceeded(now: DateTime<Utc>) -> ApiError {
    ApiError::TooManyRequests {
        code: "TIP_QUOTA_EXCEEDED",
        retry_after_secs: (next_seoul_midnight(now) - now).num_seconds().max(1) as u64,
    }
}

/// The pet's age as people say it ("3살", "7개월").
fn age(birthday: NaiveDate, today: NaiveDate) -> String {
    let months = (today.year() - birthday.year()) * 12 + today.month() as i32
        - birthday.month() as i32
        - i32::from(today.day() < birthday.day());
    match months {
        m if m < 1 => "1개월 미만".into(),
        m if m < 12 => format!("{m}개월"),
        m => format!("{}살", m / 12),
    }
}

/// The prompt's facts about the pet: what it is, its age on `today` and its weight (the latest
/// recorded, when there is one, else the profile's).
pub fn pet_lines(pet: &pets_contract::PetFacts, recorded_weight: Option<f64>, today: NaiveDate) -> Vec<String> {
    let kind = match pet.kind {
        pets_contract::species::Kind::Dog => "강아지",
        pets_contract::species::Kind::Cat => "고양이",
    };
    let mut lines = vec![format!("- 이름: {}", pet.name), format!("- 종류: {kind} ({})", pet.breed)];
    if let Some(b) = pet.birthday {
        lines.push(format!("- 나이: {} ({b} 출생)", age(b, today)));
    }
    if let Some(w) = recorded_weight.or(pet.weight_kg) {
        lines.push(format!("- 몸무게: {w}kg"));
    }
    lines
}

/// The prompt's line on the pet's last seven days.
fn week_line(week: &[Activity]) -> String {
    if week.is_empty() {
        return "- 최근 7일 활동: 기록 없음".into();
    }
    let days = week.len() as f64;
    let distance = week.iter().map(|a| a.distance_km).sum::<f64>() / days;
    let level = (week.iter().map(|a| f64::from(a.activity_level)).sum::<f64>() / days).round() as u8;
    let label = LEVEL_TABLE.iter().find(|l| l.level == level).map(|l| l.label).unwrap_or("보통");
    format!("- 최근 7일 활동: 기록 {}일, 하루 평균 산책 {distance:.1}km, 평균 활동 수준 {label}({level})", week.len())
}

pub async fn ask(
    ctx: Arc<AppContext>,
    caller: Caller,
    Path(pet_id): Path<String>,
    Json(body): Json<TipQuestion>,
) -> ApiResult<Created<TipAnswer>> {
    let pet = pets_contract::facts(&ctx, &pet_id).await?.ok_or(HealthError::PetNotFound)?;
    if pet.owner_id != caller.user_id {
        return Err(HealthError::NotYourPet.into());
    }
    let now = ctx.now();
    let today = seoul::today(now);
    let day = keys::tip_day_attribute(today);
    let used = ctx
        .table
        .get_item(&keys::tip_quota_key(&caller.user_id))
        .await?
        .and_then(|q| q.get(&day).and_then(|v| v.as_n().ok()).and_then(|v| v.parse::<i64>().ok()))
        .unwrap_or(0);
    if used >= DAILY_TIPS {
        return Err(quota_exceeded(now));
    }
    let week = Query::partition(keys::health_partition(&pet_id))
        .sort(SortKey::Between(
            keys::activity_sort(&(today - Duration::days(6)).to_string()),
            keys::activity_sort(&today.to_string()),
        ))
        .limit(7);
    let week = ctx.table.query::<Activity>(&week).await?.items;
    let question = body.question.trim().to_string();
    let weight = week.iter().max_by(|a, b| a.date.cmp(&b.date)).map(|a| a.weight_kg);
    let mut facts = pet_lines(&pet, weight, today);
    facts.push(week_line(&week));
    let prompt = format!("반려동물 정보:\n{}\n\n질문: {question}", facts.join("\n"));
    let reply = bedrock::converse(&ctx, SYSTEM, &prompt, 600).await?;
    let tip = Tip {
        id: shared::ids::new_id(now),
        pet_id,
        question,
        answer: format!("{}\n\n※ {DISCLAIMER}", reply.text),
        disclaimer: DISCLAIMER.into(),
        model_id: reply.model_id,
        created_at: now,
    };
    // Counted only now that there is an answer; yesterday's count goes with the same write.
    let count =
        Write::update(keys::tip_quota_key(&caller.user_id), "SET #d = if_not_exists(#d, :zero) + :one REMOVE #y")
            .name("#d", &day)
            .name("#y", &keys::tip_day_attribute(today - Duration::days(1)))
            .value(":zero", n(0))
            .value(":one", n(1))
            .value(":max", n(DAILY_TIPS))
            .when("attribute_not_exists(#d) OR #d < :max", quota_exceeded(now));
    ctx.table.transact(vec![count, Write::put(&tip)?]).await?;
    let quota = TipQuota { used: used + 1, limit: DAILY_TIPS, resets_at: next_seoul_midnight(now) };
    Ok(Created(TipAnswer { tip, quota }))
}

pub async fn list(
    ctx: Arc<AppContext>,
    caller: Caller,
    Path(pet): Path<String>,
    params: Params,
) -> ApiResult<Okay<Page<Tip>>> {
    crate::owner::ensure_owner(&ctx, &caller.user_id, &pet).await?;
    let query = Query::partition(keys::health_partition(&pet))
        .begins_with(keys::TIP_PREFIX)
        .newest_first()
        .paged(&params, 20, 50)?;
    Ok(Okay(ctx.table.query::<Tip>(&query).await?))
}

#[cfg(test)]
mod tests {
    use super::age;
    use chrono::NaiveDate;

    #[test]
    fn ages_are_said_in_months_then_years() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(age(d("2021-03-14"), d("2026-12-07")), "5살");
        assert_eq!(age(d("2026-05-20"), d("2026-12-07")), "6개월");
        assert_eq!(age(d("2026-11-20"), d("2026-12-07")), "1개월 미만");
        assert_eq!(age(d("2025-12-08"), d("2026-12-07")), "11개월");
    }
}
