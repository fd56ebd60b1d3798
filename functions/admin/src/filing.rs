//! `POST /reports`: a user reports a user or a piece of content, with a category and, if they
//! like, their own words. One open report per reporter and target; each keeps a snapshot of the
//! target as it was, so moderators can judge it after it changes or goes. Moderators decide
//! reports in administration (the model: [`moderation_contract::reports`]). What a target is and how
//! it reads, its owning domain says (`crate::registry`).

use std::sync::Arc;

use moderation_contract::moderation::{Snapshot, Target, TargetType};
use moderation_contract::reports::{Report, ReportCategory, ReportStatus};
use serde::Deserialize;
use shared::handler;
use shared::handler::{Caller, Created, Json};
use shared::routes::{Access, Function, Method, Permission, said};
use shared::table::Write;
use shared::validate::{Validate, Validator};
use shared::{ApiError, ApiResult, AppContext};
use utoipa::ToSchema;

use crate::PKG;
use crate::error::AdminError;

pub static CREATE: Function = Function::http(
    Method::Post,
    "/reports",
    "reports-create",
    PKG,
    Access::User,
    handler!(create),
)
.permissions(&[Permission::TableRead, Permission::TableWrite])
.doc("moderation", "Report a user or content to the moderators")
.example(
    r#"{"targetType":"POST","targetId":"01JD3K4Q5R6S7T8V9W0XYZABCD","category":"SPAM","detail":"광고성 게시물입니다"}"#,
)
.responses(&[said(201, "Reported.")])
.errors(&[404, 409, 429]);

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReportRequest {
    pub target_type: TargetType,
    pub target_id: String,
    /// The room of a reported chat message.
    #[serde(default)]
    pub room_id: Option<String>,
    /// What kind of problem; `OTHER` when only a reason is given.
    #[serde(default)]
    pub category: Option<ReportCategory>,
    /// The reporter's words, such as "욕설".
    #[serde(default)]
    pub detail: Option<String>,
    /// The reporter's words, as clients that predate categories send them.
    #[serde(default)]
    pub reason: Option<String>,
}

impl ReportRequest {
    fn words(&self) -> Option<&str> {
        self.detail.as_deref().or(self.reason.as_deref()).map(str::trim)
    }
}

impl Validate for ReportRequest {
    fn validate(&self, v: &mut Validator) {
        v.check(shared::ids::is_valid_id(&self.target_id), "targetId", "INVALID_FORMAT", "an id");
        for (field, text) in [("detail", &self.detail), ("reason", &self.reason)] {
            if let Some(text) = text {
                v.text(field, text, 1, 500);
            }
        }
        v.check(
            self.category.is_some() || self.words().is_some(),
            "category",
            "REQUIRED",
            "a category, or a reason in words",
        );
        if self.target_type == TargetType::ChatMessage {
            v.check(
                self.room_id.as_deref().is_some_and(shared::ids::is_valid_id),
                "roomId",
                "REQUIRED",
                "the room of the message",
            );
        }
    }
}

/// The target as it reads now; 404 when it does not exist (or, for a chat message, when the
/// reporter is not in its room).
async fn snapshot_of(ctx: &AppContext, body: &ReportRequest, me: &str) -> ApiResult<Snapshot> {
    let owner = crate::registry::reportable(body.target_type).ok_or(AdminError::TargetNotFound)?;
    let target = Target { id: &body.target_id, context_id: body.room_id.as_deref(), asker: Some(me) };
    let found = (owner.snapshot)(ctx, target).await?;
    found.ok_or_else(|| -> ApiError { AdminError::TargetNotFound.into() })
}

/// Reports one user may file per hour.
const REPORTS_PER_USER: shared::ratelimit::Limit =
    shared::ratelimit::Limit { action: "reports", max: 20, window_secs: 3600 };

pub async fn create(
    ctx: Arc<AppContext>,
    caller: Caller,
    Json(body): Json<ReportRequest>,
) -> ApiResult<Created<Report>> {
    let me = caller.user_id.clone();
    let snapshot = snapshot_of(&ctx, &body, &me).await?;
    if snapshot.author_id == me {
        return Err(AdminError::CannotReportSelf.into());
    }
    let report = Report {
        id: shared::ids::new_id(ctx.now()),
        reporter_id: me.clone(),
        target_type: body.target_type,
        target_id: body.target_id.clone(),
        context_id: snapshot.context_id.clone(),
        reported_user_id: Some(snapshot.author_id.clone()),
        category: body.category.unwrap_or(ReportCategory::Other),
        reason: body.words().unwrap_or_default().to_string(),
        status: ReportStatus::Open,
        snapshot: Some(snapshot),
        decision: None,
        created_at: ctx.now(),
    };
    let mut lock =
        moderation_contract::keys::report_lock_key(&me, body.target_type.as_str(), &body.target_id).to_item();
    lock.insert("reportId".into(), shared::table::s(&report.id));
    ctx.table
        .transact(vec![
            Write::put_item(lock).if_absent(AdminError::AlreadyReported),
            // The hour's reports are counted with the report: one refused (a repeat, a gone
            // target) costs none of them.
            shared::ratelimit::counter(&ctx, REPORTS_PER_USER, &me),
            Write::put(&report)?,
            moderation_contract::stats::count(
                report.created_at,
                &[(moderation_contract::stats::Metric::ReportsOpened, 1)],
            ),
        ])
        .await?;
    Ok(Created(report))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid(body: serde_json::Value) -> bool {
        let r: ReportRequest = serde_json::from_value(body).unwrap();
        let mut v = Validator::new();
        r.validate(&mut v);
        v.finish().is_ok()
    }

    #[test]
    fn a_report_names_a_real_target_and_a_category_or_a_reason() {
        let id = "01JD3K4Q5R6S7T8V9W0XYZABCD";
        assert!(valid(serde_json::json!({"targetType": "POST", "targetId": id, "reason": "스팸이에요"})));
        assert!(valid(
            serde_json::json!({"targetType": "POST", "targetId": id, "category": "ABUSE", "detail": "욕설"})
        ));
        assert!(valid(serde_json::json!({"targetType": "POST", "targetId": id, "category": "SPAM"})));
        assert!(!valid(serde_json::json!({"targetType": "POST", "targetId": "../x", "reason": "스팸이에요"})));
        assert!(!valid(serde_json::json!({"targetType": "POST", "targetId": id})), "nothing said");
        assert!(!valid(serde_json::json!({"targetType": "POST", "targetId": id, "detail": "  "})), "blank words");
        assert!(
            !valid(serde_json::json!({"targetType": "CHAT_MESSAGE", "targetId": id, "category": "SPAM"})),
            "a chat message is found through its room"
        );
    }
}
