//! Domain events: a fact one domain publishes for whoever cares, without knowing who does.
//!
//! The publisher's contract declares a [`Topic`] and the event's type; a subscriber's queue
//! worker declares the topics it takes (`Function::subscribes`). From those declarations the
//! infrastructure generator writes one variable every function gets, [`SUBSCRIBERS_ENV`]
//! (topic → the subscribing queues, `crate::routes::subscriptions`), and [`crate::outbox::publish`] commits one outbox message
//! per subscribing queue in the publisher's own transaction. So a fact and its events commit
//! together, a subscriber added later needs no change in the publisher, and the publisher's
//! crate does not depend on any subscriber's.

/// A kind of event one domain publishes.
#[derive(Debug, PartialEq, Eq)]
pub struct Topic {
    /// `<publishing domain>.<what happened>`, e.g. `social.follows`.
    pub name: &'static str,
    pub summary: &'static str,
}

/// The environment variable holding the subscriptions, JSON: `{"<topic>": ["<queue>", …]}`.
pub const SUBSCRIBERS_ENV: &str = "TOPIC_SUBSCRIBERS";
