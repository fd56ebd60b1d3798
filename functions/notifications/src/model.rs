//! Notifications as stored and shown. Keys and layout: [`crate::keys`].

use chrono::{DateTime, Utc};
use notifications_contract::NotificationKind;
use serde::{Deserialize, Serialize};
use shared::table::Entity;
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Actor {
    pub id: String,
    pub nickname: String,
}

/// A notification, as stored and as the inbox shows it (the recipient is the item's partition).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    pub id: String,
    #[serde(skip_serializing, default)]
    #[schema(ignore)]
    pub recipient_id: String,
    #[serde(rename = "type")]
    #[schema(value_type = String)]
    pub kind: NotificationKind,
    pub title: String,
    pub body: String,
    pub target_type: String,
    pub target_id: String,
    pub actor: Actor,
    pub read: bool,
    pub created_at: DateTime<Utc>,
    /// A CHAT item: how many messages of the room the recipient has not read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<i64>,
}

impl Entity for Notification {
    const TYPE: &'static str = "Notification";
    fn pk(&self) -> String {
        shared::keys::user_partition(&self.recipient_id)
    }
    fn sk(&self) -> String {
        crate::keys::notification_sort(&self.id)
    }
}

pub use crate::keys::{counter_key, notification_key, settings_key};

/// Per-type switches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Switches {
    pub like: bool,
    pub comment: bool,
    pub follow: bool,
    pub chat: bool,
    pub trade: bool,
    pub campaign: bool,
    pub health: bool,
    pub notice: bool,
}

impl Switches {
    /// Every type on, or every type off.
    pub const fn all(on: bool) -> Switches {
        Switches { like: on, comment: on, follow: on, chat: on, trade: on, campaign: on, health: on, notice: on }
    }

    /// Web Push's defaults: what cannot wait until the app is opened.
    pub const fn push_defaults() -> Switches {
        Switches {
            like: false,
            comment: false,
            follow: false,
            chat: true,
            trade: true,
            campaign: true,
            health: true,
            notice: false,
        }
    }

    pub fn allows(&self, kind: NotificationKind) -> bool {
        match kind {
            NotificationKind::Like => self.like,
            NotificationKind::Comment
            | NotificationKind::Reply
            | NotificationKind::Mention
            | NotificationKind::Community => self.comment,
            NotificationKind::Follow => self.follow,
            NotificationKind::Chat => self.chat,
            NotificationKind::TradeSold | NotificationKind::Payout | NotificationKind::Refund => self.trade,
            NotificationKind::Campaign => self.campaign,
            NotificationKind::HealthReminder | NotificationKind::PrescriptionRead => self.health,
            NotificationKind::AccountUnblocked
            | NotificationKind::ContentRemoved
            | NotificationKind::ReportDecided
            | NotificationKind::Notice => self.notice,
        }
    }
}

/// In the app everything is on by default; email only when asked for; Web Push for what cannot
/// wait (reminders, trades, chat, campaign results) until changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Settings {
    pub like: bool,
    pub comment: bool,
    pub follow: bool,
    pub chat: bool,
    pub trade: bool,
    pub campaign: bool,
    pub health: bool,
    pub notice: bool,
    /// The same switches, for email.
    pub email: Switches,
    /// The same switches, for Web Push to a browser with no live connection (settings saved
    /// before push existed read as the defaults).
    #[serde(default = "Switches::push_defaults")]
    pub push: Switches,
}

impl Settings {
    /// The in-app switches.
    pub fn app(&self) -> Switches {
        let Settings { like, comment, follow, chat, trade, campaign, health, notice, .. } = *self;
        Switches { like, comment, follow, chat, trade, campaign, health, notice }
    }
}

impl Settings {
    /// The in-app, email and push switches as one settings object.
    pub const fn from_parts(app: Switches, email: Switches, push: Switches) -> Settings {
        let Switches { like, comment, follow, chat, trade, campaign, health, notice } = app;
        Settings { like, comment, follow, chat, trade, campaign, health, notice, email, push }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings::from_parts(Switches::all(true), Switches::all(false), Switches::push_defaults())
    }
}

/// A user's notification settings (the defaults until they change any).
pub async fn load_settings(ctx: &shared::AppContext, user: &str) -> Result<Settings, shared::ApiError> {
    ctx.table.get_item(&settings_key(user)).await?.map(settings_of_item).unwrap_or_else(|| Ok(Settings::default()))
}

/// Settings as stored: the request's shape plus the item's keys.
pub fn settings_of_item(mut item: shared::table::Item) -> Result<Settings, shared::ApiError> {
    item.retain(|k, _| ![shared::table::PK, shared::table::SK, shared::table::ENTITY_TYPE].contains(&k.as_str()));
    Ok(serde_dynamo::from_item(item)?)
}
