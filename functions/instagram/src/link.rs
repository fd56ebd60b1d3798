//! What linking and syncing both speak: a pet's link to its Instagram account, its sealed token,
//! and the orders on `sns-sync` for the sync worker ([`crate::sync`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shared::table::{Entity, Gsi};

use crate::keys;

/// A pet's link to its Instagram account.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstagramLink {
    pub pet_id: String,
    pub owner_id: String,
    /// This linking's id: the synced data's partition, and what stale work is recognised by.
    pub connection_id: String,
    pub instagram_user_id: String,
    pub username: String,
    #[serde(default)]
    pub account_type: Option<String>,
    #[serde(default)]
    pub followers_count: i64,
    #[serde(default)]
    pub media_count: i64,
    #[serde(default)]
    pub engagement_rate: Option<f64>,
    #[serde(default)]
    pub auto_delete: bool,
    pub connected_at: DateTime<Utc>,
    #[serde(default)]
    pub last_synced_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub sync_requested_at: Option<DateTime<Utc>>,
}

impl Entity for InstagramLink {
    const TYPE: &'static str = "InstagramLink";
    fn pk(&self) -> String {
        keys::link_key(&self.pet_id).pk
    }
    fn sk(&self) -> String {
        keys::LINK.into()
    }
    fn index_keys(&self) -> Vec<(Gsi, String, String)> {
        vec![(Gsi::Gsi1, keys::LINKS.into(), self.pet_id.clone())]
    }
}

/// The long-lived token, sealed ([`crate::crypto`]); never returned, never logged.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SealedToken {
    pub pet_id: String,
    pub connection_id: String,
    pub sealed: String,
    pub expires_at: DateTime<Utc>,
    pub refreshed_at: DateTime<Utc>,
}

impl Entity for SealedToken {
    const TYPE: &'static str = "InstagramToken";
    fn pk(&self) -> String {
        keys::token_key(&self.pet_id).pk
    }
    fn sk(&self) -> String {
        keys::TOKEN.into()
    }
    fn index_keys(&self) -> Vec<(Gsi, String, String)> {
        vec![(Gsi::Gsi1, keys::TOKENS.into(), format!("{}#{}", keys::time_sort(self.expires_at), self.pet_id))]
    }
}

/// One message per linked Instagram account to sync (nightly, or asked for), and purges of
/// unlinked accounts' data, for the Instagram worker. A sync reads a few hundred posts and their
/// comments: a long visibility.
pub const SNS_SYNC: shared::queues::Queue =
    shared::queues::Queue { name: "sns-sync", visibility_timeout_secs: 360, max_receive_count: 3 };

/// A message on `sns-sync`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "SCREAMING_SNAKE_CASE", rename_all_fields = "camelCase", deny_unknown_fields)]
pub enum SyncOrder {
    /// Sync pet `pet_id`'s account as linked by `connection_id`.
    Sync {
        pet_id: String,
        connection_id: String,
        /// How often this sync was put back for Instagram's rate limit.
        #[serde(default)]
        deferrals: u32,
    },
    /// Delete what was synced for an ended link.
    Purge { connection_id: String },
    /// Re-judge the stored comments of the last 30 days (a banned word added, auto-delete on).
    Rejudge { pet_id: String, connection_id: String },
}
