//! Administration (every endpoint for role ADMIN only, but users filing reports): blocking and
//! unblocking accounts — the very next write of a blocked account is refused and its open connections are told at once —,
//! lifting temporary blocks when they end, deciding reports, removing content, statistics, and
//! the audit trail of every administrative action.
//! Item layout: [`keys`].

pub mod audit;
pub mod blocks;
pub mod content;
pub mod counts;
pub mod error;
pub mod filing;
pub mod keys;
pub mod notices;
pub mod registry;
pub mod reports;
pub mod roles;
pub mod stats;
pub mod users;

use shared::routes::Domain;

pub(crate) const PKG: &str = env!("CARGO_PKG_NAME");

pub const DOMAIN: Domain = Domain {
    tags: &[shared::routes::Tag {
        name: "admin",
        description: "Administrators' tools: accounts, blocks, roles and edits, reports and their decisions, removals, notices, statistics, the audit trail, and the approval queues of every domain (`/admin/…`; 401 anonymous, 403 anyone but an administrator).",
    }],
    errors: &[error::AdminError::CODES],
    name: "admin",
    uploads: &[],
    functions: &[
        &counts::COUNTER,
        &filing::CREATE,
        &users::LIST,
        &users::GET,
        &blocks::BLOCK,
        &roles::SET_ROLE,
        &blocks::UNBLOCK,
        &blocks::AUTO_UNBLOCK,
        &audit::LIST,
        &reports::LIST,
        &reports::GET,
        &reports::DECIDE,
        &content::DELETE_POST,
        &content::DELETE_COMMENT,
        &content::DELETE_LISTING,
        &content::DELETE_AD,
        &content::DELETE_COMMUNITY_POST,
        &content::DELETE_COMMUNITY_COMMENT,
        &stats::SIGNUPS,
        &stats::OVERVIEW,
        &notices::CREATE,
        &notices::GET,
        &notices::LIST,
    ],
};
