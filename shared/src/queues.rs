//! Queues: the shape every queue of the product has, and the two the kernel itself uses (mail
//! and the outbox's failure queue). A domain declares its own queues beside the workers that
//! take them; the catalogue of functions gathers them all (`crate::routes::queues`), and the
//! infrastructure generator writes their names into every function's [`QUEUES_ENV`].

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Queue {
    /// Logical name; also the local queue's name. Its URL is in `<NAME>_QUEUE_URL` (`-` as `_`),
    /// its dead-letter queue's in `<NAME>_DLQ_URL`.
    pub name: &'static str,
    /// Seconds a received message stays invisible before it is delivered again.
    pub visibility_timeout_secs: u32,
    /// Deliveries before a message moves to the dead-letter queue.
    pub max_receive_count: u32,
}

impl Queue {
    pub fn dlq_name(&self) -> String {
        format!("{}-dlq", self.name)
    }
    /// The environment variable holding the queue's URL.
    pub fn url_var(&self) -> String {
        url_var(self.name)
    }
    /// The environment variable holding its dead-letter queue's URL.
    pub fn dlq_url_var(&self) -> String {
        dlq_url_var(self.name)
    }
}

/// The environment variable holding the URL of the queue named `name`.
pub fn url_var(name: &str) -> String {
    format!("{}_QUEUE_URL", env_stem(name))
}

/// The environment variable holding the URL of the dead-letter queue of the queue named `name`.
pub fn dlq_url_var(name: &str) -> String {
    format!("{}_DLQ_URL", env_stem(name))
}

fn env_stem(name: &str) -> String {
    name.to_ascii_uppercase().replace('-', "_")
}

/// The environment variable listing every queue's name (comma-separated), for the dead-letter
/// watch and for checking the subscriptions at cold start.
pub const QUEUES_ENV: &str = "QUEUE_NAMES";

/// Transactional email (verification codes, notices, alerts) sent through SES by the mail worker.
pub const MAIL: Queue = Queue { name: "mail", visibility_timeout_secs: 30, max_receive_count: 3 };

/// Outbox messages the relay could not send after its retries land in this queue's dead-letter
/// queue (the stream mapping's failure destination); the queue itself carries nothing.
pub const OUTBOX: Queue = Queue { name: "outbox", visibility_timeout_secs: 30, max_receive_count: 3 };

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_queue_url_is_named_after_the_queue() {
        assert_eq!(MAIL.url_var(), "MAIL_QUEUE_URL");
        assert_eq!(dlq_url_var("sns-sync"), "SNS_SYNC_DLQ_URL");
    }
}
