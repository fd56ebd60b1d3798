//! Users as other features show them: a short summary, read for a whole page at once with one
//! BatchGetItem (never one read per item).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use shared::account::AccountStatus;
use shared::table::Key;
use shared::{ApiResult, AppContext};

use crate::keys::user_key;

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
    status: AccountStatus,
}

/// Summaries of `ids` (one BatchGetItem per 100 distinct ids); unknown or withdrawn users are
/// shown as a placeholder.
pub async fn people(ctx: &AppContext, ids: &[String]) -> ApiResult<HashMap<String, Person>> {
    let keys = person_keys(ids);
    let items = ctx.table.batch_get_items(&keys).await?;
    people_from(ctx, ids, items).await
}

/// The items [`people_from`] needs, for a caller that reads them in its own batch
/// (`Table::batch_get_groups`).
pub fn person_keys(ids: &[String]) -> Vec<Key> {
    ids.iter().map(|id| user_key(id)).collect()
}

/// Summaries of `ids` from the items read at [`person_keys`]`(ids)`, in that order.
pub async fn people_from(
    ctx: &AppContext,
    ids: &[String],
    items: Vec<Option<shared::table::Item>>,
) -> ApiResult<HashMap<String, Person>> {
    let mut out = HashMap::new();
    for (id, item) in ids.iter().zip(items) {
        if out.contains_key(id) {
            continue;
        }
        let parsed: Option<PersonItem> = item.map(serde_dynamo::from_item).transpose()?;
        let person = match parsed {
            Some(p) if p.status != AccountStatus::Withdrawn => Person {
                profile_image_url: match &p.profile_image_key {
                    Some(k) => Some(shared::media::url(ctx, k).await?),
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
) -> ApiResult<shared::table::Page<Person>> {
    let found = people(ctx, ids).await?;
    Ok(shared::table::Page { items: ids.iter().filter_map(|id| found.get(id).cloned()).collect(), next_cursor })
}
