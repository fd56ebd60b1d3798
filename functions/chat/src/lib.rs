//! Chat: direct and group rooms, messages sent over the WebSocket API (or HTTP), exact unread
//! counts, read receipts, presence and typing, all pushed live to every member's connections.
//! Item layout: [`keys`].

pub mod audit;
pub mod delivery;
pub mod error;
pub mod events;
pub mod keys;
pub mod messages;
pub mod model;
pub mod moderation;
pub mod rooms;
pub mod socket;
pub mod views;

/// The figures chat charts (`shared::metrics`).
pub mod figures {
    pub const MESSAGES: &str = "ChatMessages";
}

use shared::routes::Domain;

pub(crate) const PKG: &str = env!("CARGO_PKG_NAME");

pub const DOMAIN: Domain = Domain {
    tags: &[shared::routes::Tag {
        name: "chat",
        description: "Chat rooms (one to one about a listing, or groups), messages with read receipts and unread counts. The same rooms are live over the WebSocket API.",
    }],
    errors: &[error::ChatError::CODES],
    name: "chat",
    uploads: &[&chat_contract::ATTACHMENT],
    functions: &[
        &audit::AUDIT_JOB,
        &rooms::CREATE,
        &rooms::LIST,
        &rooms::GET,
        &rooms::PARTICIPANTS,
        &rooms::INVITE,
        &rooms::LEAVE,
        &rooms::APPROVAL,
        &messages::SEND,
        &messages::LIST,
        &messages::READ,
        &socket::SEND_MESSAGE,
        &socket::READ,
        &socket::ENTER,
        &socket::LEAVE,
        &socket::TYPING,
        &moderation::REMOVAL_WORKER,
        &events::EVENTS_WORKER,
    ],
};
