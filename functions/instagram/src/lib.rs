//! A pet's Instagram account: linking it through Instagram's OAuth (tokens sealed with
//! AES-256-GCM), syncing it through the `sns-sync` queue (profile, posts, insights, comments),
//! moderating its comments with Amazon Comprehend, and the owner's analysis. Item layout:
//! [`keys`].

pub mod account;
pub mod analysis;
pub mod banned;
pub mod comments;
pub mod crypto;
pub mod error;
pub mod graph;
pub mod keys;
pub mod link;
pub mod sentiment;
pub mod sync;
pub mod synced;
pub mod tokens;

use shared::routes::Domain;

pub(crate) const PKG: &str = env!("CARGO_PKG_NAME");

pub const DOMAIN: Domain = Domain {
    tags: &[shared::routes::Tag {
        name: "instagram",
        description: "A pet's Instagram account: linking it, its synced figures and insights, and moderation of its comments (sentiment, banned words, deletion).",
    }],
    errors: &[error::InstagramError::CODES],
    name: "instagram",
    uploads: &[],
    functions: &[
        &account::CONNECT,
        &account::CALLBACK,
        &account::DISCONNECT,
        &account::GET,
        &account::SETTINGS,
        &comments::DELETE,
        &comments::DELETIONS,
        &account::SYNC_NOW,
        &banned::LIST,
        &banned::ADD,
        &banned::REMOVE,
        &analysis::MEDIA,
        &analysis::TOP,
        &analysis::MEDIA_ANALYSIS,
        &analysis::INSIGHTS,
        &analysis::FOLLOWERS,
        &analysis::COMMENTS,
        &analysis::COMMENT_STATS,
        &sync::WORKER,
        &sync::NIGHTLY,
        &tokens::JOB,
    ],
};
