//! Keeping tokens alive, and letting dead ones go: a daily job reads the tokens that expire
//! within ten days (one Query of `INSTAGRAM#TOKENS`, ordered by expiry), refreshes each that
//! Instagram allows (at least a day old), and ends the links whose token expired or was revoked.

use std::sync::Arc;

use chrono::Duration;
use shared::routes::{Function, Job, Permission};
use shared::table::{Gsi, Query, SortKey, Write, s};
use shared::{ApiError, ApiResult, AppContext};

use crate::account::unlink;
use crate::error::InstagramError;
use crate::graph::{self, GraphError};
use crate::link::{InstagramLink, SealedToken};
use crate::{PKG, crypto, keys};

/// Tokens this close to expiry are refreshed.
const REFRESH_WITHIN_DAYS: i64 = 10;

pub static JOB: Function = Function::job(
    "instagram-tokens",
    PKG,
    Job {
        name: "instagram-tokens",
        // 03:00 in Seoul.
        schedule: "cron(0 18 * * ? *)",
        handler: |ctx| Box::pin(run(ctx)),
        summary: "Refreshes Instagram tokens before they expire; unlinks accounts whose token expired or was revoked",
    },
)
.permissions(&[Permission::TableRead, Permission::TableWrite])
.settings(crate::graph::SETTINGS)
.timeout(120);

pub async fn run(ctx: Arc<AppContext>) -> ApiResult<serde_json::Value> {
    let key = ctx
        .provider::<crate::crypto::TokenKey>()?
        .ok_or_else(|| ApiError::internal("INSTAGRAM_TOKEN_KEY is not configured"))?;
    let now = ctx.now();
    let horizon = format!("{}~", keys::time_sort(now + Duration::days(REFRESH_WITHIN_DAYS)));
    let due: Vec<SealedToken> = ctx
        .table
        .query_items_all(
            &Query::partition(keys::TOKENS).index(Gsi::Gsi1).sort(SortKey::Before(horizon)).limit(200),
            None,
        )
        .await?
        .into_iter()
        .map(shared::table::Entity::from_item)
        .collect::<ApiResult<_>>()?;
    let (mut refreshed, mut removed, mut later) = (0, 0, 0);
    let due_by = now + Duration::days(REFRESH_WITHIN_DAYS);
    for listed in due {
        // The due list is an index, which lags: a token refreshed a moment ago may still be
        // listed with its old expiry. Act on the stored token only.
        let Some(t) = ctx.table.get::<SealedToken>(&keys::token_key(&listed.pet_id)).await? else { continue };
        if t.expires_at > due_by {
            continue;
        }
        let expired = t.expires_at <= now;
        let outcome = if expired {
            Err(GraphError::TokenInvalid("expired".into()))
        } else if t.refreshed_at > now - Duration::days(1) {
            // Instagram refreshes only tokens at least a day old.
            later += 1;
            continue;
        } else {
            match crypto::open(&key, &t.pet_id, &t.connection_id, &t.sealed) {
                Ok(token) => graph::refresh(&ctx, &token).await,
                Err(reason) => Err(GraphError::TokenInvalid(reason)),
            }
        };
        match outcome {
            Ok(fresh) => {
                let sealed =
                    crypto::seal(&key, &t.pet_id, &t.connection_id, &fresh.access_token).map_err(ApiError::internal)?;
                let next = SealedToken {
                    sealed,
                    expires_at: now + Duration::seconds(fresh.expires_in.clamp(0, 90 * 86_400)),
                    refreshed_at: now,
                    ..t
                };
                let written = ctx
                    .table
                    .write(
                        Write::put(&next)?
                            .when("#c = :c AND refreshedAt = :seen", InstagramError::LinkChanged)
                            .name("#c", "connectionId")
                            .value(":c", s(&next.connection_id))
                            .value(":seen", shared::table::time(t.refreshed_at)),
                    )
                    .await;
                match written {
                    Ok(()) => refreshed += 1,
                    // Unlinked or relinked meanwhile: nothing of this token is left to keep.
                    Err(e) if e.is(&InstagramError::LinkChanged) => {}
                    Err(e) => return Err(e),
                }
            }
            Err(GraphError::TokenInvalid(reason)) => {
                tracing::info!(pet = %t.pet_id, reason = %reason, "Instagram token is over; unlinking");
                let link = ctx
                    .table
                    .get::<InstagramLink>(&keys::link_key(&t.pet_id))
                    .await?
                    .filter(|l| l.connection_id == t.connection_id);
                match link {
                    Some(l) => unlink(&ctx, &l).await?,
                    // A token left without its link: only the token goes.
                    None => ctx.table.write(Write::delete(keys::token_key(&t.pet_id))).await?,
                }
                removed += 1;
            }
            Err(e) => {
                tracing::warn!(pet = %t.pet_id, error = %e, "token refresh failed; next run tries again");
                later += 1;
            }
        }
    }
    Ok(serde_json::json!({ "refreshed": refreshed, "removed": removed, "later": later }))
}
