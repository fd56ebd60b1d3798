//! What a sync stores under its connection ([`keys::data_partition`]): follower points, posts,
//! monthly insights, comments with their sentiment, and the comment counters. Every item is
//! keyed by what Instagram identifies it by, so storing it again changes nothing.

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use shared::table::{Entity, Gsi};
use utoipa::ToSchema;

use crate::keys;

/// Korea Standard Time: days and months are Seoul's.
pub fn seoul() -> FixedOffset {
    shared::clock::seoul()
}

pub fn seoul_date(at: DateTime<Utc>) -> NaiveDate {
    shared::clock::seoul_day(at)
}

/// The follower count on one (Seoul) day: the day's last sync wins.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FollowerPoint {
    #[serde(skip_serializing, default)]
    #[schema(ignore)]
    pub connection_id: String,
    pub date: NaiveDate,
    pub followers_count: i64,
}

impl Entity for FollowerPoint {
    const TYPE: &'static str = "InstagramFollowers";
    fn pk(&self) -> String {
        keys::data_partition(&self.connection_id)
    }
    fn sk(&self) -> String {
        keys::followers_sort(self.date)
    }
}

/// One post.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InstagramMedia {
    #[serde(skip_serializing, default)]
    #[schema(ignore)]
    pub connection_id: String,
    pub id: String,
    pub caption: String,
    /// IMAGE, VIDEO or CAROUSEL_ALBUM.
    pub media_type: String,
    pub like_count: i64,
    pub comments_count: i64,
    pub timestamp: DateTime<Utc>,
    pub permalink: Option<String>,
}

impl Entity for InstagramMedia {
    const TYPE: &'static str = "InstagramMedia";
    fn pk(&self) -> String {
        keys::data_partition(&self.connection_id)
    }
    fn sk(&self) -> String {
        keys::media_sort(self.timestamp, &self.id)
    }
}

/// One (Seoul) month's account insights.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MonthInsights {
    pub connection_id: String,
    /// `2026-11`.
    pub month: String,
    pub reach: i64,
    pub views: i64,
    pub likes: i64,
    pub comments: i64,
    pub shares: i64,
}

impl Entity for MonthInsights {
    const TYPE: &'static str = "InstagramInsights";
    fn pk(&self) -> String {
        keys::data_partition(&self.connection_id)
    }
    fn sk(&self) -> String {
        keys::insights_sort(&self.month)
    }
}

/// What Comprehend made of a comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Sentiment {
    Positive,
    Negative,
    Neutral,
    Mixed,
}

impl Sentiment {
    pub const ALL: [Sentiment; 4] = [Sentiment::Positive, Sentiment::Negative, Sentiment::Neutral, Sentiment::Mixed];
    pub fn as_str(self) -> &'static str {
        match self {
            Sentiment::Positive => "POSITIVE",
            Sentiment::Negative => "NEGATIVE",
            Sentiment::Neutral => "NEUTRAL",
            Sentiment::Mixed => "MIXED",
        }
    }
    /// The counter attribute on the stats item.
    pub fn counter(self) -> &'static str {
        match self {
            Sentiment::Positive => "positive",
            Sentiment::Negative => "negative",
            Sentiment::Neutral => "neutral",
            Sentiment::Mixed => "mixed",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// Why a comment was deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DeletedFor {
    Negative,
    BannedWord,
    /// The owner deleted it by hand.
    Manual,
}

/// One comment, as stored once.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InstagramComment {
    #[serde(skip_serializing, default)]
    #[schema(ignore)]
    pub connection_id: String,
    pub id: String,
    pub media_id: String,
    pub text: String,
    pub username: Option<String>,
    pub timestamp: DateTime<Utc>,
    pub sentiment: Sentiment,
    /// Set when the comment was deleted on Instagram.
    pub deleted_for: Option<DeletedFor>,
    pub deleted_at: Option<DateTime<Utc>>,
}

impl Entity for InstagramComment {
    const TYPE: &'static str = "InstagramComment";
    fn pk(&self) -> String {
        keys::data_partition(&self.connection_id)
    }
    fn sk(&self) -> String {
        keys::comment_sort(self.timestamp, &self.id)
    }
    fn index_keys(&self) -> Vec<(Gsi, String, String)> {
        vec![(
            Gsi::Gsi1,
            keys::sentiment_partition(&self.connection_id, self.sentiment.as_str()),
            format!("{}#{}", keys::time_sort(self.timestamp), self.id),
        )]
    }
}

/// The comment counters, kept in the transaction that stores each comment.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommentCounters {
    #[serde(default)]
    pub total: i64,
    #[serde(default)]
    pub positive: i64,
    #[serde(default)]
    pub negative: i64,
    #[serde(default)]
    pub neutral: i64,
    #[serde(default)]
    pub mixed: i64,
    #[serde(default)]
    pub deleted: i64,
}
