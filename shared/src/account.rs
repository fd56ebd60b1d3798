//! What every request needs to know about its caller's account: whether it may write. Read with
//! one key lookup of the account item (the identity package owns the rest of that item).

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::context::AppContext;
use crate::error::{ApiError, ApiResult};
use crate::table::Key;

/// The key of a user's account item.
pub fn user_key(user_id: &str) -> Key {
    Key::new(format!("USER#{user_id}"), "PROFILE")
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AccountFlags {
    status: String,
    #[serde(default)]
    blocked_until: Option<DateTime<Utc>>,
    #[serde(default)]
    blocked_permanently: bool,
}

/// Refuses writes by withdrawn or blocked accounts, from the request right after the block.
pub async fn ensure_may_write(ctx: &AppContext, user_id: &str) -> ApiResult<()> {
    let out = ctx
        .table
        .client()
        .get_item()
        .table_name(ctx.table.name())
        .set_key(Some(user_key(user_id).to_item()))
        .projection_expression("#s, blockedUntil, blockedPermanently")
        .expression_attribute_names("#s", "status")
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| ApiError::internal(format!("GetItem: {}", aws_sdk_dynamodb::error::DisplayErrorContext(e))))?;
    let Some(item) = out.item else {
        return Err(ApiError::unauthorized("ACCOUNT_NOT_FOUND", "The account no longer exists."));
    };
    let flags: AccountFlags = serde_dynamo::from_item(item)?;
    if flags.status == "WITHDRAWN" {
        return Err(ApiError::unauthorized("ACCOUNT_WITHDRAWN", "The account was withdrawn."));
    }
    let until = flags.blocked_until.filter(|u| *u > ctx.now());
    if flags.blocked_permanently || until.is_some() {
        let mut extra = serde_json::Map::new();
        extra.insert(
            "until".into(),
            until.map(|u| serde_json::Value::String(u.to_rfc3339())).unwrap_or(serde_json::Value::Null),
        );
        return Err(ApiError::Forbidden {
            code: "ACCOUNT_BLOCKED",
            detail: match until {
                Some(u) => format!("The account is blocked until {}.", u.to_rfc3339()),
                None => "The account is blocked permanently.".into(),
            },
            extra,
        });
    }
    Ok(())
}
