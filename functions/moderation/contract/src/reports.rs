//! Reports, as users file them and moderators decide them.
//! A report keeps a snapshot of what it is about, so a decision can be reviewed after the content
//! is gone. Layout: [`crate::keys`].

use crate::moderation::{Snapshot, TargetType};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shared::table::{Entity, Gsi, Query, Write, s};
use shared::{ApiResult, AppContext};
use utoipa::ToSchema;

use crate::keys;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReportCategory {
    Spam,
    Abuse,
    Sexual,
    Fraud,
    Illegal,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReportStatus {
    /// Waiting for a moderator.
    Open,
    /// Acted on: the reported user was blocked or the content removed.
    Done,
    /// Decided against.
    Denied,
}

impl ReportStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ReportStatus::Open => "OPEN",
            ReportStatus::Done => "DONE",
            ReportStatus::Denied => "DENIED",
        }
    }
    pub fn parse(s: &str) -> Option<ReportStatus> {
        [ReportStatus::Open, ReportStatus::Done, ReportStatus::Denied].into_iter().find(|x| x.as_str() == s)
    }
}

/// What a moderator decided, kept on every report the decision closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    /// `DENY`, `TEMPORARY_BLOCK`, `PERMANENT_BLOCK` or `DELETE_CONTENT`.
    pub result: String,
    pub note: Option<String>,
    pub admin_id: String,
    /// The report the moderator decided (the others on the same target closed with it).
    pub report_id: String,
    pub decided_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub id: String,
    pub reporter_id: String,
    pub target_type: TargetType,
    pub target_id: String,
    /// Where the target lives when its id alone does not find it (a chat message's room).
    #[serde(default)]
    pub context_id: Option<String>,
    /// The user the report is about: the account itself, or the content's author.
    pub reported_user_id: Option<String>,
    pub category: ReportCategory,
    /// The reporter's words (may be empty when a category says it all).
    pub reason: String,
    pub status: ReportStatus,
    /// The target as it was when reported.
    #[serde(default)]
    pub snapshot: Option<Snapshot>,
    #[serde(default)]
    pub decision: Option<Decision>,
    pub created_at: DateTime<Utc>,
}

impl Entity for Report {
    const TYPE: &'static str = "Report";
    fn pk(&self) -> String {
        keys::report_partition(&self.id)
    }
    fn sk(&self) -> String {
        keys::REPORT.into()
    }
    fn index_keys(&self) -> Vec<(Gsi, String, String)> {
        let mut out = vec![
            (Gsi::Gsi1, keys::reports_with_status(self.status.as_str()), self.id.clone()),
            (Gsi::Gsi3, keys::reports_on_target(self.target_type.as_str(), &self.target_id), self.id.clone()),
        ];
        if let Some(user) = &self.reported_user_id {
            out.push((Gsi::Gsi2, keys::reports_against_partition(user), self.id.clone()));
        }
        out
    }
}

/// Report `id`, if it exists.
pub async fn report(ctx: &AppContext, id: &str) -> ApiResult<Option<Report>> {
    if !shared::ids::is_valid_id(id) {
        return Ok(None);
    }
    ctx.table.get::<Report>(&shared::table::Key::new(keys::report_partition(id), keys::REPORT)).await
}

/// Every report on one target, newest first (one query of GSI3, read to the end).
pub async fn reports_on(ctx: &AppContext, target_type: TargetType, target_id: &str) -> ApiResult<Vec<Report>> {
    let query = Query::partition(keys::reports_on_target(target_type.as_str(), target_id))
        .index(Gsi::Gsi3)
        .newest_first()
        .limit(500);
    ctx.table.query_items_all(&query, Some(10_000)).await?.into_iter().map(Report::from_item).collect()
}

/// The query of reports with one status, newest first (GSI1).
pub fn with_status(status: ReportStatus) -> Query {
    Query::partition(keys::reports_with_status(status.as_str())).index(Gsi::Gsi1).newest_first()
}

/// The writes that close an open report with `decision`: its status (and the index it is listed
/// by), only while it is still open, and the reporter's lock, so they may report the target
/// again. `on_closed` is the error when a moderator closed it meanwhile.
pub fn close(
    report: &Report,
    status: ReportStatus,
    decision: &Decision,
    on_closed: impl Into<shared::ApiError>,
) -> ApiResult<Vec<Write>> {
    let decided = serde_dynamo::to_attribute_value(decision)?;
    Ok(vec![
        Write::update(
            shared::table::Key::new(keys::report_partition(&report.id), keys::REPORT),
            "SET #st = :st, #g1 = :g1, decision = :d",
        )
        .name("#st", "status")
        .name("#g1", Gsi::Gsi1.pk())
        .value(":st", s(status.as_str()))
        .value(":g1", s(keys::reports_with_status(status.as_str())))
        .value(":d", decided)
        .value(":open", s(ReportStatus::Open.as_str()))
        .when("#st = :open", on_closed),
        Write::delete(keys::report_lock_key(&report.reporter_id, report.target_type.as_str(), &report.target_id)),
    ])
}

/// The open reports about `user` (their account or their content), newest first (one query).
pub async fn open_reports_against(ctx: &AppContext, user: &str) -> ApiResult<Vec<Report>> {
    let query = Query::partition(keys::reports_against_partition(user)).index(Gsi::Gsi2).newest_first().limit(1000);
    let all = ctx.table.query_items_all(&query, Some(1000)).await?;
    let all: Vec<Report> = all.into_iter().map(Report::from_item).collect::<ApiResult<_>>()?;
    Ok(all.into_iter().filter(|r| r.status == ReportStatus::Open).collect())
}
