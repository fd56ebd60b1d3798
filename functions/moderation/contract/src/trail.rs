//! The audit trail's record: who did what to which target, before and after, when, in which
//! request. Every administrative action writes one in the action's own transaction — in
//! administration, and where approvals live (advertisers in identity, PetStars and ads in
//! campaigns). Only administration lists them (`GET /admin/audit`); nothing edits or deletes one.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use shared::table::{Entity, Gsi, Write};
use shared::{ApiError, ApiResult, AppContext};

use crate::keys;

/// The actor of actions nobody signed in took (jobs, the operator's command line).
pub const SYSTEM: &str = "SYSTEM";

/// One administrative action.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    pub id: String,
    /// The administrator, or `SYSTEM` for the scheduled jobs.
    pub actor_id: String,
    /// `USER_BLOCK`, `USER_UNBLOCK`, `USER_AUTO_UNBLOCK`, …
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    #[schema(value_type = Object)]
    pub before: serde_json::Value,
    #[schema(value_type = Object)]
    pub after: serde_json::Value,
    pub request_id: Option<String>,
    pub at: DateTime<Utc>,
}

impl Entity for Record {
    const TYPE: &'static str = "AuditRecord";
    fn pk(&self) -> String {
        keys::audit_record_key(&self.id).pk
    }
    fn sk(&self) -> String {
        keys::audit_record_key(&self.id).sk
    }
    fn index_keys(&self) -> Vec<(Gsi, String, String)> {
        vec![
            (Gsi::Gsi1, keys::ALL_AUDIT_RECORDS.into(), self.id.clone()),
            (Gsi::Gsi2, keys::audit_by_actor_partition(&self.actor_id), self.id.clone()),
            (Gsi::Gsi3, keys::audit_on_target_partition(&self.target_id), self.id.clone()),
        ]
    }
}

/// The write that records an action (in the action's own transaction; never overwritten).
#[allow(clippy::too_many_arguments)]
pub fn record(
    ctx: &AppContext,
    actor: &str,
    action: &str,
    target_type: &str,
    target_id: &str,
    before: serde_json::Value,
    after: serde_json::Value,
    request_id: Option<&str>,
) -> ApiResult<(Record, Write)> {
    let now = ctx.now();
    let r = Record {
        id: shared::ids::new_id(now),
        actor_id: actor.into(),
        action: action.into(),
        target_type: target_type.into(),
        target_id: target_id.into(),
        before,
        after,
        request_id: request_id.map(str::to_string),
        at: now,
    };
    let w = Write::put(&r)?.if_absent(ApiError::internal("audit record id collision"));
    Ok((r, w))
}
