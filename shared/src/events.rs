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

/// The environment variable holding the subscriptions: `<topic>:<queue>,<queue>;<topic>:<queue>`.
/// Plain words and punctuation only, no quotes or braces, so the value needs no quoting in a
/// dotenv file (`cargo lambda watch --env-file`) nor in a template.
pub const SUBSCRIBERS_ENV: &str = "TOPIC_SUBSCRIBERS";

/// Topic name → the queues subscribed to it.
pub type Subscriptions = std::collections::BTreeMap<String, std::collections::BTreeSet<String>>;

/// The subscriptions as [`SUBSCRIBERS_ENV`] carries them.
pub fn encode_subscriptions(subscriptions: &Subscriptions) -> String {
    subscriptions
        .iter()
        .map(|(topic, queues)| format!("{topic}:{}", queues.iter().map(String::as_str).collect::<Vec<_>>().join(",")))
        .collect::<Vec<_>>()
        .join(";")
}

/// Reads [`SUBSCRIBERS_ENV`]; what is wrong with it, if anything.
pub fn decode_subscriptions(value: &str) -> Result<Subscriptions, String> {
    let mut out = Subscriptions::new();
    for entry in value.split(';').map(str::trim).filter(|e| !e.is_empty()) {
        let (topic, queues) = entry.split_once(':').ok_or_else(|| format!("`{entry}` is not <topic>:<queue>,…"))?;
        let topic = topic.trim();
        if topic.is_empty() {
            return Err(format!("`{entry}` names no topic"));
        }
        let set = out.entry(topic.to_string()).or_default();
        for q in queues.split(',').map(str::trim).filter(|q| !q.is_empty()) {
            set.insert(q.to_string());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscriptions_round_trip_in_plain_characters() {
        let mut subs = Subscriptions::new();
        subs.entry("social.follows".into()).or_default().extend(["feed".to_string(), "notifications".to_string()]);
        subs.entry("market.sale-status".into()).or_default().insert("chat-events".into());
        let text = encode_subscriptions(&subs);
        assert_eq!(text, "market.sale-status:chat-events;social.follows:feed,notifications");
        assert!(text.chars().all(|c| c.is_ascii_alphanumeric() || ".-_:;,".contains(c)));
        assert_eq!(decode_subscriptions(&text).unwrap(), subs);
        assert_eq!(decode_subscriptions("").unwrap(), Subscriptions::new());
        assert!(decode_subscriptions("social.follows").is_err());
        assert!(decode_subscriptions(":feed").is_err());
    }
}
