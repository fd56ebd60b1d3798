//! Platform functions: the health endpoint, the transactional mail worker, the dead-letter
//! watch, the outbox relay and its re-send job. Each `static` below is one Lambda function; `src/bin/` wires each into the runtime.

pub mod dlq_watch;
pub mod health;
pub mod mail_worker;
pub mod outbox_relay;
pub mod outbox_resend;

use shared::routes::Domain;

/// This package's part of the route table.
pub const DOMAIN: Domain = Domain {
    tags: &[
        shared::routes::Tag { name: "system", description: "The service's health." },
        shared::routes::Tag {
            name: "moderation",
            description: "Reports: anyone may report content or people for administrators to decide.",
        },
    ],
    errors: &[],
    name: "system",
    uploads: &[],
    functions: &[
        &health::HEALTH,
        &mail_worker::MAIL_WORKER,
        &dlq_watch::DLQ_WATCH,
        &outbox_relay::OUTBOX_RELAY,
        &outbox_resend::OUTBOX_RESEND,
    ],
};
