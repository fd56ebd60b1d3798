//! The diary's items and the text rules (hashtags, search tokens).
//!
//! Keys and layout: [`crate::keys`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shared::table::{Entity, Gsi};

use crate::keys;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Post {
    pub id: String,
    pub author_id: String,
    #[serde(default)]
    pub pet_id: Option<String>,
    #[serde(default)]
    pub title: String,
    pub content: String,
    #[serde(default)]
    pub media_keys: Vec<String>,
    #[serde(default)]
    pub hashtags: Vec<String>,
    #[serde(default)]
    pub like_count: i64,
    #[serde(default)]
    pub comment_count: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Entity for Post {
    const TYPE: &'static str = "Post";
    fn pk(&self) -> String {
        keys::post_partition(&self.id)
    }
    fn sk(&self) -> String {
        keys::post_key(&self.id).sk
    }
    fn index_keys(&self) -> Vec<(Gsi, String, String)> {
        vec![
            (Gsi::Gsi1, keys::ALL_POSTS.into(), self.id.clone()),
            (Gsi::Gsi2, keys::author_partition(&self.author_id), self.id.clone()),
        ]
    }
}

pub use crate::keys::{comment_ref_key, like_key, post_key};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Like {
    pub post_id: String,
    pub user_id: String,
    pub like_id: String,
}

impl Entity for Like {
    const TYPE: &'static str = "Like";
    fn pk(&self) -> String {
        keys::post_partition(&self.post_id)
    }
    fn sk(&self) -> String {
        keys::like_sort(&self.user_id)
    }
    fn index_keys(&self) -> Vec<(Gsi, String, String)> {
        vec![(Gsi::Gsi1, keys::likers_partition(&self.post_id), self.like_id.clone())]
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Comment {
    pub id: String,
    pub post_id: String,
    #[serde(default)]
    pub parent_id: Option<String>,
    pub author_id: String,
    pub content: String,
    #[serde(default)]
    pub mention_user_id: Option<String>,
    #[serde(default)]
    pub deleted: bool,
    #[serde(default)]
    pub reply_count: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Comment {
    pub fn sort_key(id: &str, parent: Option<&str>) -> String {
        keys::comment_sort(id, parent)
    }
}

shared::thread_comment!(Comment);

impl Entity for Comment {
    const TYPE: &'static str = "Comment";
    fn pk(&self) -> String {
        keys::post_partition(&self.post_id)
    }
    fn sk(&self) -> String {
        Comment::sort_key(&self.id, self.parent_id.as_deref())
    }
}

/// Where a comment lives, by its id alone (`PATCH`/`DELETE /comments/{id}`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommentRef {
    pub comment_id: String,
    pub post_id: String,
    pub sort_key: String,
    pub author_id: String,
}

impl Entity for CommentRef {
    const TYPE: &'static str = "CommentRef";
    fn pk(&self) -> String {
        keys::comment_ref_partition(&self.comment_id)
    }
    fn sk(&self) -> String {
        keys::comment_ref_key(&self.comment_id).sk
    }
}

/// Hashtags of a text: each `#` starts a tag that ends at whitespace or the next `#`;
/// trailing punctuation is dropped; de-duplicated case-insensitively, in order of appearance.
/// Hashtags a post may carry: the first ones count, the rest stay plain text.
pub const MAX_HASHTAGS: usize = 30;

pub fn hashtags(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for part in text.split('#').skip(1) {
        if out.len() == MAX_HASHTAGS {
            break;
        }
        let tag: String = part.split(char::is_whitespace).next().unwrap_or_default().to_string();
        let tag = tag.trim_end_matches(|c: char| !c.is_alphanumeric() && c != '_').to_string();
        if !tag.is_empty() && tag.chars().count() <= 50 && !out.iter().any(|t| t.to_lowercase() == tag.to_lowercase()) {
            out.push(tag);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashtags_follow_the_rules() {
        assert_eq!(hashtags("오늘 #산책 #한강#강아지 좋아 #산책 #Dog, #dog"), vec!["산책", "한강", "강아지", "Dog"]);
        assert!(hashtags("no tags # here").is_empty());
    }
}
