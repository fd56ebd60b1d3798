//! The product's queues: one source for their names, the environment variable that carries each
//! URL, and their redrive settings (used by the template and by the local stack).

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Queue {
    /// Logical name; also the local queue's name.
    pub name: &'static str,
    /// The environment variable holding the queue's URL.
    pub env_var: &'static str,
    /// The environment variable holding its dead-letter queue's URL.
    pub dlq_env_var: &'static str,
    /// Seconds a received message stays invisible before it is delivered again.
    pub visibility_timeout_secs: u32,
    /// Deliveries before a message moves to the dead-letter queue.
    pub max_receive_count: u32,
}

impl Queue {
    pub fn dlq_name(&self) -> String {
        format!("{}-dlq", self.name)
    }
}

/// Transactional email (verification codes, notices, alerts) sent through SES by the mail worker.
pub const MAIL: Queue = Queue {
    name: "mail",
    env_var: "MAIL_QUEUE_URL",
    dlq_env_var: "MAIL_DLQ_URL",
    visibility_timeout_secs: 30,
    max_receive_count: 3,
};

/// Domain events that become notifications (likes, comments, follows, ...).
pub const NOTIFICATIONS: Queue = Queue {
    name: "notifications",
    env_var: "NOTIFICATIONS_QUEUE_URL",
    dlq_env_var: "NOTIFICATIONS_DLQ_URL",
    visibility_timeout_secs: 30,
    max_receive_count: 3,
};

/// New and deleted posts, copied into (or out of) every follower's feed by the feed worker.
pub const FEED: Queue = Queue {
    name: "feed",
    env_var: "FEED_QUEUE_URL",
    dlq_env_var: "FEED_DLQ_URL",
    visibility_timeout_secs: 60,
    max_receive_count: 5,
};

/// Outbox messages the relay could not send after its retries land in this queue's dead-letter
/// queue (the stream mapping's failure destination); the queue itself carries nothing.
pub const OUTBOX: Queue = Queue {
    name: "outbox",
    env_var: "OUTBOX_QUEUE_URL",
    dlq_env_var: "OUTBOX_DLQ_URL",
    visibility_timeout_secs: 30,
    max_receive_count: 3,
};

/// Password-recovery requests (reset codes, temporary passwords), handled off the request path
/// so that answering them costs the same whether or not the account exists.
pub const RECOVERY: Queue = Queue {
    name: "recovery",
    env_var: "RECOVERY_QUEUE_URL",
    dlq_env_var: "RECOVERY_DLQ_URL",
    visibility_timeout_secs: 30,
    max_receive_count: 3,
};

/// Posts whose search postings and hashtag counts must follow a write (created, edited, deleted).
pub const POST_INDEX: Queue = Queue {
    name: "post-index",
    env_var: "POST_INDEX_QUEUE_URL",
    dlq_env_var: "POST_INDEX_DLQ_URL",
    visibility_timeout_secs: 60,
    max_receive_count: 5,
};

/// Prescription photos waiting to be read by CLOVA OCR (the provider can be slow: a long
/// visibility timeout).
pub const OCR: Queue = Queue {
    name: "ocr",
    env_var: "OCR_QUEUE_URL",
    dlq_env_var: "OCR_DLQ_URL",
    visibility_timeout_secs: 120,
    max_receive_count: 3,
};

/// Content a moderator removed, for the diary to delete as its author would (posts, comments).
pub const DIARY_REMOVALS: Queue = Queue {
    name: "diary-removals",
    env_var: "DIARY_REMOVALS_QUEUE_URL",
    dlq_env_var: "DIARY_REMOVALS_DLQ_URL",
    visibility_timeout_secs: 60,
    max_receive_count: 5,
};

/// Listings a moderator removed, for the market to take down as their seller would.
pub const MARKET_REMOVALS: Queue = Queue {
    name: "market-removals",
    env_var: "MARKET_REMOVALS_QUEUE_URL",
    dlq_env_var: "MARKET_REMOVALS_DLQ_URL",
    visibility_timeout_secs: 60,
    max_receive_count: 5,
};

/// Chat messages a moderator removed, for chat to blank and tell the room.
pub const CHAT_REMOVALS: Queue = Queue {
    name: "chat-removals",
    env_var: "CHAT_REMOVALS_QUEUE_URL",
    dlq_env_var: "CHAT_REMOVALS_DLQ_URL",
    visibility_timeout_secs: 60,
    max_receive_count: 5,
};

/// Notices to an audience, one message per shard of the audience and page of it: the fan-out
/// worker stores one notification per member and queues the next page.
pub const NOTICES: Queue = Queue {
    name: "notices",
    env_var: "NOTICES_QUEUE_URL",
    dlq_env_var: "NOTICES_DLQ_URL",
    visibility_timeout_secs: 120,
    // A page is a hundred deliveries: under throttling it may need more than a few tries.
    max_receive_count: 10,
};

/// Community posts to (re)index for search, committed with each post write.
pub const COMMUNITY_INDEX: Queue = Queue {
    name: "community-index",
    env_var: "COMMUNITY_INDEX_QUEUE_URL",
    dlq_env_var: "COMMUNITY_INDEX_DLQ_URL",
    visibility_timeout_secs: 60,
    max_receive_count: 5,
};

/// Community posts and comments a moderator removed, for the community's removal worker.
pub const COMMUNITY_REMOVALS: Queue = Queue {
    name: "community-removals",
    env_var: "COMMUNITY_REMOVALS_QUEUE_URL",
    dlq_env_var: "COMMUNITY_REMOVALS_DLQ_URL",
    visibility_timeout_secs: 60,
    max_receive_count: 5,
};

/// Events the campaigns domain subscribes to (an Instagram engagement measured), for its
/// events worker.
pub const CAMPAIGN_EVENTS: Queue = Queue {
    name: "campaign-events",
    env_var: "CAMPAIGN_EVENTS_QUEUE_URL",
    dlq_env_var: "CAMPAIGN_EVENTS_DLQ_URL",
    visibility_timeout_secs: 30,
    max_receive_count: 5,
};

/// Events chat subscribes to (a listing's sale status changed), for its events worker.
pub const CHAT_EVENTS: Queue = Queue {
    name: "chat-events",
    env_var: "CHAT_EVENTS_QUEUE_URL",
    dlq_env_var: "CHAT_EVENTS_DLQ_URL",
    visibility_timeout_secs: 30,
    max_receive_count: 5,
};

/// One message per linked Instagram account to sync (nightly, or asked for), and purges of
/// unlinked accounts' data, for the Instagram worker. A sync reads a few hundred posts and their
/// comments: a long visibility.
pub const SNS_SYNC: Queue = Queue {
    name: "sns-sync",
    env_var: "SNS_SYNC_QUEUE_URL",
    dlq_env_var: "SNS_SYNC_DLQ_URL",
    visibility_timeout_secs: 360,
    max_receive_count: 3,
};

pub const ALL: &[Queue] = &[
    MAIL,
    NOTIFICATIONS,
    FEED,
    OUTBOX,
    RECOVERY,
    POST_INDEX,
    OCR,
    DIARY_REMOVALS,
    MARKET_REMOVALS,
    CHAT_REMOVALS,
    COMMUNITY_INDEX,
    COMMUNITY_REMOVALS,
    NOTICES,
    SNS_SYNC,
    CAMPAIGN_EVENTS,
    CHAT_EVENTS,
];

pub fn by_name(name: &str) -> Option<&'static Queue> {
    ALL.iter().find(|q| q.name == name)
}
