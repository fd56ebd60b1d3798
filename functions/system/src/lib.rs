//! Platform functions: the health endpoint, the transactional mail worker and the dead-letter
//! watch. Each `static` below is one Lambda function; `src/bin/` wires each into the runtime.

pub mod dlq_watch;
pub mod health;
pub mod mail_worker;
pub mod outbox_relay;

use shared::routes::Domain;

/// This package's part of the route table.
pub const DOMAIN: Domain = Domain {
    name: "system",
    functions: &[&health::HEALTH, &mail_worker::MAIL_WORKER, &dlq_watch::DLQ_WATCH, &outbox_relay::OUTBOX_RELAY],
};
