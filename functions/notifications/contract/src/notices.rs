//! Notices: administrators' announcements to an audience. Announcing commits the notice and one
//! [`NoticePage`] per audience shard (through the outbox, with the audit record); the notices
//! worker stores one NOTICE notification per member, a page at a time, and queues the shard's
//! next page in the same transaction that advances the shard's cursor — so a crash anywhere
//! resumes where it stopped, and a member is never skipped nor told twice (each delivery is
//! guarded by its own event id).

use chrono::{DateTime, Utc};
use identity_contract::{AUDIENCE_SHARDS, Audience};
use serde::{Deserialize, Serialize};
use shared::table::{AttrValue, Entity, Gsi, Query, Write};
use shared::{ApiResult, AppContext};
use utoipa::ToSchema;

use crate::keys;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Notice {
    pub id: String,
    pub title: String,
    pub body: String,
    pub audience: Audience,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

impl Entity for Notice {
    const TYPE: &'static str = "Notice";
    fn pk(&self) -> String {
        keys::notice_partition(&self.id)
    }
    fn sk(&self) -> String {
        keys::NOTICE.into()
    }
    fn index_keys(&self) -> Vec<(Gsi, String, String)> {
        vec![(Gsi::Gsi1, keys::ALL_NOTICES.into(), self.id.clone())]
    }
}

/// One page of one audience shard to deliver (the notices queue's message).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NoticePage {
    pub notice_id: String,
    pub shard: u32,
    /// The last member of the previous page (none: from the start).
    #[serde(default)]
    pub after: Option<String>,
}

/// The writes that announce `notice`: the notice and the first page of every shard.
pub fn announce(ctx: &AppContext, notice: &Notice) -> ApiResult<Vec<Write>> {
    let mut writes = vec![Write::put(notice)?.if_absent(shared::ApiError::internal("notice id collision"))];
    for shard in 0..AUDIENCE_SHARDS {
        let page = NoticePage { notice_id: notice.id.clone(), shard, after: None };
        writes.push(shared::outbox::message(ctx, &crate::NOTICES, &page)?);
    }
    Ok(writes)
}

/// A notice and how far its delivery went.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NoticeProgress {
    #[serde(flatten)]
    pub notice: Notice,
    /// Members reached so far (each once).
    pub targeted: i64,
    /// Of those, the ones whose inbox got it (the rest turned notices off, or left).
    pub delivered: i64,
    /// Audience shards gone through to the end, of [`AUDIENCE_SHARDS`].
    pub shards_done: u32,
    pub shards: u32,
    /// Every shard gone through.
    pub done: bool,
}

fn number(item: &shared::table::Item, name: &str) -> i64 {
    match item.get(name) {
        Some(AttrValue::N(v)) => v.parse().unwrap_or(0),
        _ => 0,
    }
}

/// A notice with its progress (one query: the notice and its shards' counters share a partition).
pub async fn progress(ctx: &AppContext, id: &str) -> ApiResult<Option<NoticeProgress>> {
    if !shared::ids::is_valid_id(id) {
        return Ok(None);
    }
    let items = ctx.table.query_items_all(&Query::partition(keys::notice_partition(id)).limit(100), None).await?;
    let mut notice = None;
    let (mut targeted, mut delivered, mut shards_done) = (0, 0, 0);
    for item in items {
        match item.get(shared::table::SK) {
            Some(AttrValue::S(sk)) if sk == keys::NOTICE => notice = Some(Notice::from_item(item)?),
            _ => {
                targeted += number(&item, "targeted");
                delivered += number(&item, "delivered");
                shards_done += u32::from(matches!(item.get("done"), Some(AttrValue::Bool(true))));
            }
        }
    }
    Ok(notice.map(|notice| NoticeProgress {
        notice,
        targeted,
        delivered,
        shards_done,
        shards: AUDIENCE_SHARDS,
        done: shards_done == AUDIENCE_SHARDS,
    }))
}

/// The notices, newest first.
pub fn all() -> Query {
    Query::partition(keys::ALL_NOTICES).index(Gsi::Gsi1).newest_first()
}
