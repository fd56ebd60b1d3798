//! Real time: how a client opens a WebSocket connection (a one-time ticket, so the access token
//! never appears in a URL), and the WebSocket API's own routes. Pushing to users is the kernel's
//! (`shared::push`); features add their own actions as WebSocket routes in their packages.

pub mod connection;
pub mod error;
pub mod keys;
pub mod tickets;

use shared::routes::Domain;

pub(crate) const PKG: &str = env!("CARGO_PKG_NAME");

pub const DOMAIN: Domain = Domain {
    tags: &[shared::routes::Tag {
        name: "realtime",
        description: "Tickets for opening the WebSocket API (`wss://…?ticket=`).",
    }],
    errors: &[error::RealtimeError::CODES],
    name: "realtime",
    uploads: &[],
    functions: &[
        &tickets::CREATE,
        &connection::CONNECT,
        &connection::DISCONNECT,
        &connection::DEFAULT,
        &connection::PING,
    ],
};
