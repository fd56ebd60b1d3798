//! The community board (PetFul): information and question posts, likes, comments with one level of
//! replies, Korean search from postings kept by a worker, notifications to authors, blocks that
//! hide both ways, and moderation through reports and the removal worker.
//!
//! Keys and layout: [`community_contract::keys`].

pub mod audit;
pub mod comments;
pub mod error;
pub mod index;
pub mod likes;
pub mod moderation;
pub mod posts;
pub mod search;

use shared::routes::Domain;

pub(crate) const PKG: &str = env!("CARGO_PKG_NAME");

pub const DOMAIN: Domain = Domain {
    tags: &[shared::routes::Tag {
        name: "community",
        description: "The community board: information and question posts, comments with replies, likes and views.",
    }],
    errors: &[error::CommunityError::CODES],
    name: "community",
    uploads: &[],
    functions: &[
        &audit::AUDIT_JOB,
        &posts::CREATE,
        &posts::LIST,
        &posts::MINE,
        &posts::GET,
        &posts::UPDATE,
        &posts::DELETE,
        &likes::LIKE,
        &likes::UNLIKE,
        &comments::CREATE,
        &comments::LIST,
        &comments::UPDATE,
        &comments::DELETE,
        &search::SEARCH,
        &search::INDEX_WORKER,
        &moderation::REMOVAL_WORKER,
    ],
};
