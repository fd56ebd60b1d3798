//! The diary: posts with hashtags, likes, comments with replies, home feeds, search and
//! trending hashtags. Item layout: see [`model`].

pub mod audit;
pub mod comments;
pub mod error;
pub mod feed_worker;
pub mod index;
pub mod keys;
pub mod likes;
pub mod model;
pub mod moderation;
pub mod posts;
pub mod search;

/// The figures the diary charts (`shared::metrics`).
pub mod figures {
    pub const POSTS: &str = "Posts";
}

use shared::routes::Domain;

pub(crate) const PKG: &str = env!("CARGO_PKG_NAME");

pub const DOMAIN: Domain = Domain {
    tags: &[
        shared::routes::Tag {
            name: "diary",
            description: "The diary: posts with photos about pets, likes, comments and replies, the feed of the people one follows.",
        },
        shared::routes::Tag { name: "search", description: "Search over posts, users, pets and listings." },
    ],
    errors: &[error::DiaryError::CODES],
    name: "diary",
    uploads: &[],
    functions: &[
        &audit::AUDIT_JOB,
        &posts::CREATE,
        &posts::GET,
        &posts::UPDATE,
        &posts::DELETE,
        &posts::LIST,
        &posts::OF_USER,
        &posts::FEED,
        &likes::LIKE,
        &likes::UNLIKE,
        &likes::LIKERS,
        &comments::CREATE,
        &comments::LIST,
        &comments::UPDATE,
        &comments::DELETE,
        &search::POSTS,
        &search::USERS,
        &search::TRENDING,
        &feed_worker::FEED_WORKER,
        &search::TRENDING_JOB,
        &index::POST_INDEX_WORKER,
        &moderation::REMOVAL_WORKER,
    ],
};
