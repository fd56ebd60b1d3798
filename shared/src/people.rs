//! Users as other features show them: a short summary, read for a whole page at once with one
//! BatchGetItem (never one read per item), and the relations between two users (follows and
//! blocks) that several features check.
//!
//! | item | PK | SK |
//! |---|---|---|
//! | a follows b | `USER#<a>` | `FOLLOWING#<b>` |
//! | b is followed by a | `USER#<b>` | `FOLLOWER#<a>` |
//! | a blocks b | `USER#<a>` | `BLOCKS#<b>` |
//! | b is blocked by a | `USER#<b>` | `BLOCKEDBY#<a>` |

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::account::user_key;
use crate::context::AppContext;
use crate::error::{ApiError, ApiResult};
use crate::table::{Key, Query, SortKey};

/// How a user appears next to their posts, comments and notifications.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Person {
    pub id: String,
    pub nickname: String,
    pub profile_image_url: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PersonItem {
    id: String,
    nickname: String,
    #[serde(default)]
    profile_image_key: Option<String>,
    status: String,
}

/// Summaries of `ids` (one BatchGetItem per 100 distinct ids); unknown or withdrawn users are
/// shown as a placeholder.
pub async fn people(ctx: &AppContext, ids: &[String]) -> ApiResult<HashMap<String, Person>> {
    let mut unique: Vec<String> = ids.to_vec();
    unique.sort();
    unique.dedup();
    let keys: Vec<Key> = unique.iter().map(|id| user_key(id)).collect();
    let items = ctx.table.batch_get_items(&keys).await?;
    let mut out = HashMap::new();
    for (id, item) in unique.iter().zip(items) {
        let parsed: Option<PersonItem> = item.map(serde_dynamo::from_item).transpose()?;
        let person = match parsed {
            Some(p) if p.status != "WITHDRAWN" => Person {
                profile_image_url: match &p.profile_image_key {
                    Some(k) => Some(crate::media::url(ctx, k).await?),
                    None => None,
                },
                id: p.id,
                nickname: p.nickname,
            },
            _ => Person { id: id.clone(), nickname: "(알 수 없음)".into(), profile_image_url: None },
        };
        out.insert(id.clone(), person);
    }
    Ok(out)
}

/// A page of people in the order of `ids` (one batch read), continuing at `next_cursor`.
pub async fn page_of_people(
    ctx: &AppContext,
    ids: &[String],
    next_cursor: Option<String>,
) -> ApiResult<crate::table::Page<Person>> {
    let found = people(ctx, ids).await?;
    Ok(crate::table::Page { items: ids.iter().filter_map(|id| found.get(id).cloned()).collect(), next_cursor })
}

pub fn following_key(a: &str, b: &str) -> Key {
    Key::new(format!("USER#{a}"), format!("FOLLOWING#{b}"))
}
pub fn follower_key(b: &str, a: &str) -> Key {
    Key::new(format!("USER#{b}"), format!("FOLLOWER#{a}"))
}
pub fn blocks_key(a: &str, b: &str) -> Key {
    Key::new(format!("USER#{a}"), format!("BLOCKS#{b}"))
}
pub fn blocked_by_key(b: &str, a: &str) -> Key {
    Key::new(format!("USER#{b}"), format!("BLOCKEDBY#{a}"))
}

/// Whether either of the two blocks the other (one BatchGetItem).
pub async fn blocked_between(ctx: &AppContext, a: &str, b: &str) -> ApiResult<bool> {
    let found = ctx.table.batch_get_items(&[blocks_key(a, b), blocks_key(b, a)]).await?;
    Ok(found.iter().any(Option::is_some))
}

/// 403 `USER_BLOCKED` when either blocks the other.
pub async fn ensure_not_blocked(ctx: &AppContext, a: &str, b: &str) -> ApiResult<()> {
    if blocked_between(ctx, a, b).await? {
        return Err(ApiError::forbidden("USER_BLOCKED", "One of you has blocked the other."));
    }
    Ok(())
}

/// Everyone `me` blocks or is blocked by: their content is left out of `me`'s lists.
/// One query of `me`'s partition (`BLOCKS#` and `BLOCKEDBY#` share the prefix `BLOCK`).
pub async fn hidden_for(ctx: &AppContext, me: Option<&str>) -> ApiResult<HashSet<String>> {
    let Some(me) = me else { return Ok(HashSet::new()) };
    let mut hidden = HashSet::new();
    let mut cursor = None;
    loop {
        let page = ctx
            .table
            .query_items(
                &Query::partition(format!("USER#{me}"))
                    .sort(SortKey::BeginsWith("BLOCK".into()))
                    .limit(500)
                    .cursor(cursor),
            )
            .await?;
        for item in &page.items {
            if let Some(crate::table::AttrValue::S(sk)) = item.get(crate::table::SK)
                && let Some((_, other)) = sk.split_once('#')
            {
                hidden.insert(other.to_string());
            }
        }
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return Ok(hidden),
        }
    }
}
