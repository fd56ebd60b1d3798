//! Notifications: the SQS worker that turns domain events into notifications (and emails and
//! Web Push), the inbox endpoints, and browsers' push subscriptions.

pub mod audit;
pub mod chat_notices;
pub mod error;
pub mod inbox;
pub mod keys;
pub mod model;
pub mod notices;
pub mod push_worker;
pub mod subscriptions;
pub mod tell;
pub mod webpush;
pub mod worker;

/// The figures notifications chart (`shared::metrics`).
pub mod figures {
    pub const PUSH_DELIVERIES: &str = "PushDeliveries";
    pub const PUSH_FAILURES: &str = "PushFailures";
}

use shared::routes::Domain;

pub(crate) const PKG: &str = env!("CARGO_PKG_NAME");

pub const DOMAIN: Domain = Domain {
    tags: &[shared::routes::Tag {
        name: "notifications",
        description: "The inbox, its settings, and Web Push subscriptions for browsers that are closed.",
    }],
    errors: &[error::NotificationError::CODES],
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
        &subscriptions::PUSH_KEY,
        &subscriptions::SUBSCRIBE,
        &subscriptions::LIST_SUBSCRIPTIONS,
        &subscriptions::UNSUBSCRIBE,
        &subscriptions::UNSUBSCRIBE_ALL,
        &push_worker::PUSH_WORKER,
        &worker::NOTIFICATION_WORKER,
        &notices::NOTICE_WORKER,
    ],
};
