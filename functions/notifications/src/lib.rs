//! Notifications: the SQS worker that turns domain events into notifications (and emails),
//! and the inbox endpoints.

pub mod audit;
pub mod error;
pub mod inbox;
pub mod keys;
pub mod model;
pub mod notices;
pub mod worker;

use shared::routes::Domain;

pub(crate) const PKG: &str = env!("CARGO_PKG_NAME");

pub const DOMAIN: Domain = Domain {
    name: "notifications",
    uploads: &[],
    functions: &[
        &audit::AUDIT_JOB,
        &inbox::LIST,
        &inbox::UNREAD,
        &inbox::MARK_READ,
        &inbox::READ_ALL,
        &inbox::DELETE,
        &inbox::DELETE_ALL,
        &inbox::GET_SETTINGS,
        &inbox::PUT_SETTINGS,
        &worker::NOTIFICATION_WORKER,
        &notices::NOTICE_WORKER,
    ],
};
