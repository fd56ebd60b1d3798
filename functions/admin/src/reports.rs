//! Reports, decided. A moderator lists the queue, reads one report with the snapshot of what it is
//! about and the other reports on the same target, and decides: deny it, block the reported
//! user, or remove the content. A decision closes every open report on that target together and
//! tells each reporter the outcome; deciding a closed report again is refused (409).
//!
//! One transaction holds the decision: the reports it closes, its effect (the block, or the
//! removal order committed to the content's own domain through the outbox — see
//! [`moderation_contract::moderation`]), the reporters' notices and the audit record. Past about thirty other
//! reports the rest close in follow-up transactions, each still conditional on being open.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use identity_contract::Block;
use moderation_contract::moderation::{Removal, TargetType};
use moderation_contract::reports::{Decision, Report, ReportStatus};
use moderation_contract::stats::Metric;
use notifications_contract::{NotificationEvent, NotificationKind};
use serde::{Deserialize, Serialize};
use serde_json::json;
use shared::handler::{Caller, Json, Okay, Params, Path, RequestId};
use shared::http::PageRequest;
use shared::routes::{Access, Function, Method, Permission, enum_param, int_param, param};
use shared::table::{Entity, Key, Page, Write};
use shared::validate::{Validate, Validator};
use shared::{ApiError, ApiResult, AppContext, handler};
use utoipa::ToSchema;

use crate::PKG;
use crate::audit::record;
use crate::error::AdminError;

const STATUSES: &[&str] = &["OPEN", "DONE", "DENIED"];
const TARGET_TYPES: &[&str] =
    &["USER", "POST", "COMMENT", "MARKET_POST", "CHAT_MESSAGE", "COMMUNITY_POST", "COMMUNITY_COMMENT"];

pub static LIST: Function =
    Function::http(Method::Get, "/admin/reports", "admin-reports-list", PKG, Access::Admin, handler!(list))
        .permissions(&[Permission::TableRead])
        .doc("admin", "Reports with a status (OPEN by default), newest first, of one target type if asked")
        .query(&[
            enum_param("status", false, "OPEN (default), DONE or DENIED", STATUSES),
            enum_param("targetType", false, "only reports on this kind of target", TARGET_TYPES),
            param("cursor", false, "from nextCursor"),
            int_param("limit", false, "page size, default 20", 1, 100),
        ]);

pub static GET: Function =
    Function::http(Method::Get, "/admin/reports/{id}", "admin-reports-get", PKG, Access::Admin, handler!(get))
        .permissions(&[Permission::TableRead])
        .doc("admin", "One report with the snapshot of what it is about and the other reports on the same target")
        .errors(&[404]);

pub static DECIDE: Function = Function::http(
    Method::Post,
    "/admin/reports/{id}/decision",
    "admin-reports-decide",
    PKG,
    Access::Admin,
    handler!(decide),
)
.permissions(&[Permission::TableRead, Permission::TableWrite, Permission::ManageConnections])
.doc(
    "admin",
    "Decide a report: deny it, block the reported user or remove the content; every open report on the target closes with it",
)
.example(r#"{"result":"TEMPORARY_BLOCK","blockSeconds":604800,"note":"욕설 반복"}"#)
.errors(&[403, 404, 409]);

pub async fn list(ctx: Arc<AppContext>, _admin: Caller, params: Params) -> ApiResult<Okay<Page<Report>>> {
    let status = match params.raw("status") {
        None => ReportStatus::Open,
        Some(s) => {
            ReportStatus::parse(s).ok_or_else(|| ApiError::validation("status", "INVALID", STATUSES.join(", ")))?
        }
    };
    let target = match params.raw("targetType") {
        None => None,
        Some(t) => Some(
            TargetType::parse(t)
                .ok_or_else(|| ApiError::validation("targetType", "INVALID", TARGET_TYPES.join(", ")))?,
        ),
    };
    let query = moderation_contract::reports::with_status(status).paged(&params, 20, 100)?;
    let mut page = ctx.table.query::<Report>(&query).await?;
    // Of one kind: the page keeps its cursor, so a short page is followed like any other.
    if let Some(t) = target {
        page.items.retain(|r| r.target_type == t);
    }
    Ok(Okay(page))
}

/// A report with the rest of its target's reports.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReportDetail {
    pub report: Report,
    /// The other reports on the same target, newest first, whatever their status.
    pub other_reports: Vec<Report>,
}

async fn load(ctx: &AppContext, id: &str) -> ApiResult<Report> {
    moderation_contract::reports::report(ctx, id).await?.ok_or_else(|| AdminError::ReportNotFound.into())
}

pub async fn get(ctx: Arc<AppContext>, _admin: Caller, Path(id): Path<String>) -> ApiResult<Okay<ReportDetail>> {
    let report = load(&ctx, &id).await?;
    let mut other_reports =
        moderation_contract::reports::reports_on(&ctx, report.target_type, &report.target_id).await?;
    other_reports.retain(|r| r.id != report.id);
    Ok(Okay(ReportDetail { report, other_reports }))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Outcome {
    Deny,
    TemporaryBlock,
    PermanentBlock,
    DeleteContent,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Deny => "DENY",
            Outcome::TemporaryBlock => "TEMPORARY_BLOCK",
            Outcome::PermanentBlock => "PERMANENT_BLOCK",
            Outcome::DeleteContent => "DELETE_CONTENT",
        }
    }

    /// What the reporters are told.
    fn told(self) -> &'static str {
        match self {
            Outcome::Deny => "검토 결과 운영 정책 위반이 확인되지 않았습니다.",
            Outcome::TemporaryBlock => "신고된 사용자의 이용이 일정 기간 제한되었습니다.",
            Outcome::PermanentBlock => "신고된 사용자의 이용이 영구 제한되었습니다.",
            Outcome::DeleteContent => "신고된 콘텐츠가 삭제되었습니다.",
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DecisionRequest {
    pub result: Outcome,
    /// How long a `TEMPORARY_BLOCK` lasts: 60 seconds to 365 days.
    #[serde(default)]
    pub block_seconds: Option<i64>,
    #[serde(default)]
    pub note: Option<String>,
}

impl Validate for DecisionRequest {
    fn validate(&self, v: &mut Validator) {
        if let Some(note) = &self.note {
            v.text("note", note, 1, 500);
        }
        if self.result == Outcome::TemporaryBlock {
            v.check(
                self.block_seconds.is_some_and(|s| (60..=crate::blocks::MAX_BLOCK_SECONDS).contains(&s)),
                "blockSeconds",
                "OUT_OF_RANGE",
                "60 seconds to 365 days",
            );
        }
    }
}

/// The decision and how many reports it closed.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DecisionResult {
    pub report_id: String,
    /// `DONE` or `DENIED`.
    pub status: ReportStatus,
    pub decision: Decision,
    /// Every report the decision closed, this one included.
    pub closed: usize,
    /// The order that removes the content, when the decision removed it.
    pub removal_id: Option<String>,
}

/// Writes that close `report` and tell its reporter.
fn closing(ctx: &AppContext, report: &Report, status: ReportStatus, decision: &Decision) -> ApiResult<Vec<Write>> {
    let mut writes = moderation_contract::reports::close(report, status, decision, AdminError::ReportDecided)?;
    writes.extend(notifications_contract::outbox(
        ctx,
        vec![NotificationEvent {
            event_id: format!("report-decided-{}", report.id),
            kind: NotificationKind::ReportDecided,
            actor_id: notifications_contract::SYSTEM_ACTOR.into(),
            recipient_id: report.reporter_id.clone(),
            target_type: "REPORT".into(),
            target_id: report.id.clone(),
            excerpt: Outcome::told_for(&decision.result).map(str::to_string),
        }],
    )?);
    Ok(writes)
}

impl Outcome {
    fn told_for(result: &str) -> Option<&'static str> {
        [Outcome::Deny, Outcome::TemporaryBlock, Outcome::PermanentBlock, Outcome::DeleteContent]
            .into_iter()
            .find(|o| o.as_str() == result)
            .map(Outcome::told)
    }
}

/// Reports closed with the decision itself; the rest follow in transactions of their own.
const FIRST_BATCH: usize = 30;
const LATER_BATCH: usize = 33;

pub async fn decide(
    ctx: Arc<AppContext>,
    caller: Caller,
    Path(id): Path<String>,
    request: RequestId,
    Json(body): Json<DecisionRequest>,
) -> ApiResult<Okay<DecisionResult>> {
    let report = load(&ctx, &id).await?;
    if report.status != ReportStatus::Open {
        return Err(AdminError::ReportDecided.into());
    }
    let now = ctx.now();
    let admin = caller.user_id.clone();
    let status = if body.result == Outcome::Deny { ReportStatus::Denied } else { ReportStatus::Done };
    let note = body.note.as_deref().map(str::trim).filter(|n| !n.is_empty()).map(str::to_string);
    let decision = Decision {
        result: body.result.as_str().into(),
        note: note.clone(),
        admin_id: admin.clone(),
        report_id: report.id.clone(),
        decided_at: now,
    };
    let category = serde_json::to_value(report.category)?;
    let reason = note.clone().unwrap_or_else(|| format!("신고 처리 ({})", category.as_str().unwrap_or_default()));

    // The effect.
    let mut effect = Vec::new();
    let mut blocked: Option<(String, Option<DateTime<Utc>>)> = None;
    let mut removal_id = None;
    match body.result {
        Outcome::Deny => {}
        Outcome::TemporaryBlock | Outcome::PermanentBlock => {
            let user = report.reported_user_id.clone().ok_or(AdminError::UserNotFound)?;
            let before = crate::blocks::target(&ctx, &admin, &user).await?;
            let until = (body.result == Outcome::TemporaryBlock)
                .then(|| now + Duration::seconds(body.block_seconds.unwrap_or(60)));
            let block = until.map(Block::Until).unwrap_or(Block::Permanent);
            effect.push(identity_contract::block(&user, block, &reason, AdminError::CannotBlockAdmin));
            // On the user's own trail too, as a direct block is: their block history shows it.
            let after = json!({"permanent": until.is_none(), "until": until, "reason": reason, "reportId": report.id});
            let before = crate::blocks::snapshot(&before, now);
            let (_, on_user) = record(&ctx, &admin, "USER_BLOCK", "USER", &user, before, after, Some(&request.0))?;
            effect.push(on_user);
            blocked = Some((user, until));
        }
        Outcome::DeleteContent => {
            let removals = crate::registry::reportable(report.target_type).and_then(|r| r.removals);
            let queue = removals.ok_or_else(|| {
                ApiError::validation("result", "NOT_APPLICABLE", "an account cannot be deleted: block it instead")
            })?;
            let removal = Removal {
                id: shared::ids::new_id(now),
                target_type: report.target_type,
                target_id: report.target_id.clone(),
                context_id: report.context_id.clone(),
                reason: reason.clone(),
                admin_id: admin.clone(),
            };
            effect.push(shared::outbox::message(&ctx, queue, &removal)?);
            removal_id = Some(removal.id);
        }
    }

    // Every other open report on the same target closes with it. The target's reports come
    // from an index, which may not show yet that one was closed: those it lists as open are
    // read again from the table (one batch read), so the decision does not fail on them.
    let mut others = moderation_contract::reports::reports_on(&ctx, report.target_type, &report.target_id).await?;
    others.retain(|r| r.id != report.id && r.status == ReportStatus::Open);
    if !others.is_empty() {
        let keys: Vec<Key> = others.iter().map(|r| Key::new(r.pk(), r.sk())).collect();
        others = ctx.table.batch_get::<Report>(&keys).await?.into_iter().flatten().collect();
        others.retain(|r| r.status == ReportStatus::Open);
    }
    let later = others.split_off(others.len().min(FIRST_BATCH));
    let closed = 1 + others.len() + later.len();
    let (_, audit) = record(
        &ctx,
        &admin,
        "REPORT_DECISION",
        report.target_type.as_str(),
        &report.target_id,
        json!({"reportId": report.id, "status": "OPEN", "snapshot": report.snapshot}),
        json!({"result": decision.result, "note": note, "blockSeconds": body.block_seconds,
               "reportedUserId": report.reported_user_id, "closed": closed, "removalId": removal_id}),
        Some(&request.0),
    )?;
    let mut writes = closing(&ctx, &report, status, &decision)?;
    writes.extend(effect);
    writes.push(audit);
    writes.push(moderation_contract::stats::count(now, &[(Metric::ReportsClosed, 1 + others.len() as i64)]));
    for other in &others {
        writes.extend(closing(&ctx, other, status, &decision)?);
    }
    ctx.table.transact(writes).await?;
    for chunk in later.chunks(LATER_BATCH) {
        close_later(&ctx, chunk, status, &decision).await?;
    }
    if let Some((user, until)) = blocked {
        crate::blocks::tell_blocked(&ctx, &user, until, &reason).await;
    }
    Ok(Okay(DecisionResult { report_id: report.id, status, decision, closed, removal_id }))
}

/// Closes `reports` with a decision already taken: together, or one by one when one of them was
/// closed meanwhile (that one is left as it is).
async fn close_later(ctx: &AppContext, reports: &[Report], status: ReportStatus, decision: &Decision) -> ApiResult<()> {
    let mut writes =
        vec![moderation_contract::stats::count(ctx.now(), &[(Metric::ReportsClosed, reports.len() as i64)])];
    for r in reports {
        writes.extend(closing(ctx, r, status, decision)?);
    }
    match ctx.table.transact(writes).await {
        Err(e) if e.is(&AdminError::ReportDecided) => {
            for r in reports {
                let mut writes = closing(ctx, r, status, decision)?;
                writes.push(moderation_contract::stats::count(ctx.now(), &[(Metric::ReportsClosed, 1)]));
                match ctx.table.transact(writes).await {
                    Err(e) if e.is(&AdminError::ReportDecided) => {}
                    other => other?,
                }
            }
            Ok(())
        }
        other => other,
    }
}
