//! Influencer marketing's public surface: where a PetStar's standing lives, and ads as content
//! users report and moderators remove.

pub mod keys;

use serde::Deserialize;
use shared::ApiResult;
use shared::AppContext;

/// Ads a moderator removed, for campaigns' removal worker.
pub const AD_REMOVALS: shared::queues::Queue =
    shared::queues::Queue { name: "ad-removals", visibility_timeout_secs: 120, max_receive_count: 5 };

/// Ads as reportable content: read by their id, removed through [`AD_REMOVALS`].
pub const REPORTABLE: &[moderation_contract::moderation::Reportable] = &[moderation_contract::moderation::Reportable {
    target_type: moderation_contract::moderation::TargetType::Ad,
    snapshot: |ctx, t| Box::pin(ad_snapshot(ctx, t.id)),
    removals: Some(&AD_REMOVALS),
}];

/// The ad item as far as a snapshot goes (serde ignores the rest).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AdText {
    advertiser_id: String,
    title: String,
    content: String,
    #[serde(default)]
    file_keys: Vec<String>,
    status: String,
}

/// Ad `id` as it reads now (its advertiser, title and content, files), unless deleted.
pub async fn ad_snapshot(ctx: &AppContext, id: &str) -> ApiResult<Option<moderation_contract::moderation::Snapshot>> {
    if !shared::ids::is_valid_id(id) {
        return Ok(None);
    }
    let Some(item) = ctx.table.get_item(&keys::ad_key(id)).await? else { return Ok(None) };
    let a: AdText = serde_dynamo::from_item(item)?;
    Ok((a.status != "DELETED").then(|| moderation_contract::moderation::Snapshot {
        author_id: a.advertiser_id,
        text: format!("{}\n{}", a.title, a.content),
        media_keys: a.file_keys,
        context_id: None,
    }))
}
