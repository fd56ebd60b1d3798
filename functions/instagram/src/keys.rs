//! Instagram's keys and access patterns.
//!
//! | item | PK | SK | index |
//! |---|---|---|---|
//! | link: the account, its summary and settings | `PET#<pet>` | `INSTAGRAM` | GSI1 `INSTAGRAM#LINKS` / `<pet>` |
//! | sealed long-lived token | `PET#<pet>` | `INSTAGRAM#TOKEN` | GSI1 `INSTAGRAM#TOKENS` / `<expires>#<pet>` |
//! | banned word | `PET#<pet>` | `IGBANNED#<word>` | |
//! | one account, one pet (the claim) | `IGACCOUNT#<instagram user>` | `CLAIM` | |
//! | OAuth state (TTL 10 minutes) | `IGSTATE#<state>` | `STATE` | |
//! | follower count of a day | `IGDATA#<connection>` | `FOLLOWERS#<date>` | |
//! | post | `IGDATA#<connection>` | `MEDIA#<time>#<id>` | |
//! | a post's figures by its permalink's shortcode (campaign reports find reviews by their URL) | `IGDATA#<connection>` | `PERMALINK#<shortcode>` | |
//! | month's insights | `IGDATA#<connection>` | `INSIGHTS#<yyyy-mm>` | |
//! | comment with its sentiment | `IGDATA#<connection>` | `COMMENT#<time>#<id>` | GSI1 `IGDATA#<connection>#<SENTIMENT>` / `<time>#<id>` |
//! | comment counters | `IGDATA#<connection>` | `STATS` | |
//! | where a comment is stored, by its id | `IGDATA#<connection>` | `COMMENTREF#<id>` | |
//! | a deletion on record (by the sync, a re-judgement or the owner) | `IGDATA#<connection>` | `DELETION#<time>#<comment>` | |
//!
//! Synced data lives under the connection, not the pet: a disconnect makes it unreachable at
//! once (the link names the connection), a reconnect starts clean, and the purge deletes one
//! partition. Access patterns: every analysis is one GetItem of the link and one Query of a
//! range of the connection's partition; the nightly job reads the links with one paged Query;
//! the token job reads the tokens due with one Query of `INSTAGRAM#TOKENS`.

use shared::table::Key;

pub use instagram_contract::keys::{LINK, link_key};
pub use pets_contract::keys::pet_partition;

pub const LINKS: &str = "INSTAGRAM#LINKS";
pub const TOKENS: &str = "INSTAGRAM#TOKENS";
pub const TOKEN: &str = "INSTAGRAM#TOKEN";
pub const BANNED_PREFIX: &str = "IGBANNED#";
pub const FOLLOWERS_PREFIX: &str = "FOLLOWERS#";
pub const MEDIA_PREFIX: &str = "MEDIA#";
pub const INSIGHTS_PREFIX: &str = "INSIGHTS#";
pub const COMMENT_PREFIX: &str = "COMMENT#";
pub const STATS: &str = "STATS";

pub fn token_key(pet: &str) -> Key {
    Key::new(pet_partition(pet), TOKEN)
}

pub fn banned_sort(word: &str) -> String {
    format!("{BANNED_PREFIX}{word}")
}

pub fn banned_key(pet: &str, word: &str) -> Key {
    Key::new(pet_partition(pet), banned_sort(word))
}

pub fn claim_key(instagram_user: &str) -> Key {
    Key::new(format!("IGACCOUNT#{instagram_user}"), "CLAIM")
}

pub fn state_key(state: &str) -> Key {
    Key::new(format!("IGSTATE#{state}"), "STATE")
}

pub use instagram_contract::keys::{data_partition, post_figures_key};

pub fn stats_key(connection: &str) -> Key {
    Key::new(data_partition(connection), STATS)
}

pub fn sentiment_partition(connection: &str, sentiment: &str) -> String {
    format!("IGDATA#{connection}#{sentiment}")
}

/// A time as sort keys carry it: RFC 3339 in UTC with seconds, so that text order is time order.
pub fn time_sort(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

pub fn media_sort(at: chrono::DateTime<chrono::Utc>, id: &str) -> String {
    format!("{MEDIA_PREFIX}{}#{id}", time_sort(at))
}

pub fn comment_sort(at: chrono::DateTime<chrono::Utc>, id: &str) -> String {
    format!("{COMMENT_PREFIX}{}#{id}", time_sort(at))
}

pub fn comment_key(connection: &str, at: chrono::DateTime<chrono::Utc>, id: &str) -> Key {
    Key::new(data_partition(connection), comment_sort(at, id))
}

/// Where a comment is stored, by its id alone (the owner deletes by id).
pub fn comment_ref_key(connection: &str, id: &str) -> Key {
    Key::new(data_partition(connection), format!("COMMENTREF#{id}"))
}

/// The sort-key prefix of the deletions on record.
pub const DELETION_PREFIX: &str = "DELETION#";

pub fn deletion_sort(at: chrono::DateTime<chrono::Utc>, comment: &str) -> String {
    format!("{DELETION_PREFIX}{}#{comment}", time_sort(at))
}

pub fn followers_sort(date: chrono::NaiveDate) -> String {
    format!("{FOLLOWERS_PREFIX}{date}")
}

pub fn insights_sort(month: &str) -> String {
    format!("{INSIGHTS_PREFIX}{month}")
}
