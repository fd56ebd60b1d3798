//! Moderation's shared vocabulary. Content belongs to its domain, so a moderator never deletes it
//! directly: administration commits a [`Removal`] (through the outbox, in the decision's own
//! transaction) to the owning domain's removal queue, and that domain's worker removes the
//! content exactly as its author's delete would (every list, count, feed and search) and tells
//! the author. A report keeps a [`Snapshot`] of what was reported, which outlives the content.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use futures::future::BoxFuture;
use shared::AppContext;
use shared::queues::Queue;
use shared::worker::MessageError;
use shared::{ApiError, ApiResult};

/// The kinds of content users can report and moderators can remove (plus `USER` for accounts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TargetType {
    User,
    Post,
    Comment,
    MarketPost,
    ChatMessage,
    CommunityPost,
    CommunityComment,
    /// An advertiser's ad (influencer marketing).
    Ad,
}

impl TargetType {
    pub const ALL: [TargetType; 8] = [
        TargetType::User,
        TargetType::Post,
        TargetType::Comment,
        TargetType::MarketPost,
        TargetType::ChatMessage,
        TargetType::CommunityPost,
        TargetType::CommunityComment,
        TargetType::Ad,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TargetType::User => "USER",
            TargetType::Post => "POST",
            TargetType::Comment => "COMMENT",
            TargetType::MarketPost => "MARKET_POST",
            TargetType::ChatMessage => "CHAT_MESSAGE",
            TargetType::CommunityPost => "COMMUNITY_POST",
            TargetType::CommunityComment => "COMMUNITY_COMMENT",
            TargetType::Ad => "AD",
        }
    }

    pub fn parse(s: &str) -> Option<TargetType> {
        TargetType::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// What a piece of content (or an account) looked like when it was reported or removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    /// Who wrote it (the account itself for `USER`).
    pub author_id: String,
    /// Its text (a listing's title and description; a profile's nickname and bio).
    pub text: String,
    /// Its images' media keys.
    #[serde(default)]
    pub media_keys: Vec<String>,
    /// Where it lives, when its id alone does not find it (a chat message's room).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_id: Option<String>,
}

/// What a report names, for the owning domain to find it by.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    pub id: &'a str,
    /// Where it lives, when its id alone does not find it (a chat message's room).
    pub context_id: Option<&'a str>,
    /// Who asks: a reporter may report only what they can see (a chat message of their room).
    /// `None` for a moderator.
    pub asker: Option<&'a str>,
}

/// Reads the content a report names as it is now: `None` when it does not exist (or is not
/// the asker's to see).
pub type SnapshotFn = for<'a> fn(&'a AppContext, Target<'a>) -> BoxFuture<'a, ApiResult<Option<Snapshot>>>;

/// What a domain gives administration for one kind of content it owns. Each content contract
/// lists its own (`REPORTABLE`); administration adds those lists to its registry, so a new
/// kind of content is one entry in its domain's contract.
#[derive(Debug, Clone, Copy)]
pub struct Reportable {
    pub target_type: TargetType,
    pub snapshot: SnapshotFn,
    /// The queue of the domain's removal worker (none for what a moderator does not remove,
    /// such as an account, which is blocked instead).
    pub removals: Option<&'static Queue>,
}

/// A moderator's order to remove one piece of content, handled by its domain's removal worker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Removal {
    /// Unique per order: the author is told once however often it is delivered.
    pub id: String,
    pub target_type: TargetType,
    pub target_id: String,
    /// A chat message's room.
    #[serde(default)]
    pub context_id: Option<String>,
    /// Why, as the author is told.
    pub reason: String,
    pub admin_id: String,
}

/// An administrator's answer to something waiting for approval (an advertiser, a PetStar, an
/// ad): approve, or reject with a reason the applicant is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Verdict {
    Approve,
    Reject,
}

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VerdictRequest {
    pub decision: Verdict,
    /// Required to reject.
    #[serde(default)]
    pub reason: Option<String>,
}

impl shared::validate::Validate for VerdictRequest {
    fn validate(&self, v: &mut shared::validate::Validator) {
        match (&self.reason, self.decision) {
            (Some(r), _) => v.text("reason", r, 1, 500),
            (None, Verdict::Reject) => v.problem("reason", "REQUIRED", "say why it is rejected"),
            (None, Verdict::Approve) => {}
        }
    }
}

impl Snapshot {
    /// A post or comment as written (its title, when it has one, above its text); none once
    /// deleted.
    pub fn of_writing(
        author_id: String,
        title: &str,
        content: String,
        media_keys: Vec<String>,
        deleted: bool,
    ) -> Option<Snapshot> {
        let text = if title.is_empty() { content } else { format!("{title}\n{content}") };
        (!deleted).then_some(Snapshot { author_id, text, media_keys, context_id: None })
    }
}

/// A removal whose content is already gone (deleted by its author, or by an earlier delivery
/// of the same removal) is done: `gone` says which of the domain's errors mean that.
pub fn gone_is_done(result: ApiResult<()>, gone: impl Fn(&ApiError) -> bool) -> Result<(), MessageError> {
    match result {
        Err(e) if gone(&e) => Ok(()),
        other => Ok(other?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_target_type_reads_back_from_its_name() {
        for t in TargetType::ALL {
            assert_eq!(TargetType::parse(t.as_str()), Some(t));
            assert_eq!(serde_json::to_value(t).unwrap(), serde_json::json!(t.as_str()));
        }
        assert_eq!(TargetType::parse("post"), None);
    }
}
