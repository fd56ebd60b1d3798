//! `POST /reports`: a user reports a user or a piece of content. One open report per reporter
//! and target; reports wait, newest first, in the moderators' queue (GSI1 `REPORTS#OPEN`).

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use shared::handler;
use shared::handler::{Caller, Created, Json};
use shared::routes::{Access, Function, Method, Permission, said};
use shared::table::{Entity, Gsi, Write};
use shared::validate::{Validate, Validator};
use shared::{ApiError, ApiResult, AppContext};
use utoipa::ToSchema;

use crate::PKG;
use crate::error::SocialError;

pub static CREATE: Function =
    Function::http(Method::Post, "/reports", "reports-create", PKG, Access::User, handler!(create))
        .permissions(&[Permission::TableRead, Permission::TableWrite])
        .doc("moderation", "Report a user or content to the moderators")
        .example(r#"{"targetType":"POST","targetId":"01JD3K4Q5R6S7T8V9W0XYZABCD","reason":"광고성 게시물입니다"}"#)
        .responses(&[said(201, "Reported.")])
        .errors(&[404, 409, 429]);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TargetType {
    User,
    Post,
    Comment,
    MarketPost,
    ChatMessage,
    CommunityPost,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReportRequest {
    pub target_type: TargetType,
    pub target_id: String,
    pub reason: String,
}

impl Validate for ReportRequest {
    fn validate(&self, v: &mut Validator) {
        v.check(shared::ids::is_valid_id(&self.target_id), "targetId", "INVALID_FORMAT", "an id");
        v.text("reason", &self.reason, 2, 500);
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub id: String,
    pub reporter_id: String,
    pub target_type: TargetType,
    pub target_id: String,
    /// The user the report is about, when known.
    pub reported_user_id: Option<String>,
    pub reason: String,
    /// `OPEN` until a moderator decides.
    pub status: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl Entity for Report {
    const TYPE: &'static str = "Report";
    fn pk(&self) -> String {
        social_contract::keys::report_partition(&self.id)
    }
    fn sk(&self) -> String {
        "REPORT".into()
    }
    fn index_keys(&self) -> Vec<(Gsi, String, String)> {
        let mut out = vec![(Gsi::Gsi1, social_contract::keys::OPEN_REPORTS.into(), self.id.clone())];
        // Reports about a user's account or content, for moderators (newest first).
        if let Some(user) = &self.reported_user_id {
            out.push((Gsi::Gsi2, social_contract::keys::reports_against_partition(user), self.id.clone()));
        }
        out
    }
}

fn target_name(t: TargetType) -> &'static str {
    match t {
        TargetType::User => "USER",
        TargetType::Post => "POST",
        TargetType::Comment => "COMMENT",
        TargetType::MarketPost => "MARKET_POST",
        TargetType::ChatMessage => "CHAT_MESSAGE",
        TargetType::CommunityPost => "COMMUNITY_POST",
    }
}

/// Who owns the target, for the kinds this product already has; 404 when it does not exist.
async fn owner_of(ctx: &AppContext, t: TargetType, id: &str) -> ApiResult<Option<String>> {
    let missing = || -> ApiError { SocialError::TargetNotFound.into() };
    let found = match t {
        TargetType::User => identity_contract::account(ctx, id).await?.map(|a| a.id),
        TargetType::Post => diary_contract::post_author(ctx, id).await?,
        TargetType::Comment => diary_contract::comment_author(ctx, id).await?,
        // The market, chat and community have no content yet: nothing there to report.
        _ => None,
    };
    found.map(Some).ok_or_else(missing)
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
    shared::ratelimit::hit(&ctx, REPORTS_PER_USER, &me).await?;
    let owner = owner_of(&ctx, body.target_type, &body.target_id).await?;
    if owner.as_deref() == Some(me.as_str()) {
        return Err(SocialError::CannotReportSelf.into());
    }
    let report = Report {
        id: shared::ids::new_id(ctx.now()),
        reporter_id: me.clone(),
        target_type: body.target_type,
        target_id: body.target_id.clone(),
        reported_user_id: owner,
        reason: body.reason.trim().to_string(),
        status: "OPEN".into(),
        created_at: ctx.now(),
    };
    let mut lock =
        social_contract::keys::report_lock_key(&me, target_name(body.target_type), &body.target_id).to_item();
    lock.insert("reportId".into(), shared::table::s(&report.id));
    ctx.table
        .transact(vec![Write::put_item(lock).if_absent(SocialError::AlreadyReported), Write::put(&report)?])
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
    fn a_report_names_a_real_target_and_a_reason() {
        let id = "01JD3K4Q5R6S7T8V9W0XYZABCD";
        assert!(valid(serde_json::json!({"targetType": "POST", "targetId": id, "reason": "스팸이에요"})));
        assert!(!valid(serde_json::json!({"targetType": "POST", "targetId": "../x", "reason": "스팸이에요"})));
        assert!(
            !valid(serde_json::json!({"targetType": "POST", "targetId": id, "reason": "x"})),
            "a reason says something"
        );
        assert_eq!(target_name(TargetType::Comment), "COMMENT");
    }
}
