//! What can go wrong with notifications: one enum, each variant a status, a stable code and a message;
//! mapped to problem+json by the kernel. Conditions of writes name these variants, and code
//! that expects one (an idempotent repeat) matches it by value.

shared::domain_errors! {
    /// What can go wrong with notifications.
    pub enum NotificationError {
        NotificationNotFound => (404, "NOTIFICATION_NOT_FOUND", "No such notification."),
        NotificationChanged => (409, "CONCURRENT_UPDATE", "The notification changed meanwhile. Try again."),
        NotificationsChanged => (409, "CONCURRENT_UPDATE", "Notifications changed meanwhile. Try again."),
        AlreadyRead => (409, "ALREADY_READ", "The notification is read already."),
        DuplicateEvent => (409, "DUPLICATE_EVENT", "This event was handled already."),
        SubscriptionNotFound => (404, "PUSH_SUBSCRIPTION_NOT_FOUND", "No such push subscription."),
        TooManySubscriptions => (409, "TOO_MANY_PUSH_SUBSCRIPTIONS", "At most 10 push subscriptions per account: remove one first."),
        SubscriptionMoved => (409, "CONCURRENT_UPDATE", "The push subscription changed meanwhile. Try again."),
        EndpointInvalid => (400, "PUSH_ENDPOINT_INVALID", "The endpoint is not a push service URL."),
        EndpointNotHttps => (400, "PUSH_ENDPOINT_NOT_HTTPS", "Push endpoints must be https URLs."),
        EndpointNotPublic => (400, "PUSH_ENDPOINT_NOT_PUBLIC", "The endpoint is on a private, loopback, link-local or metadata network."),
        EndpointUnresolvable => (400, "PUSH_ENDPOINT_UNRESOLVABLE", "The endpoint's host name does not resolve."),
        KeysInvalid => (400, "PUSH_KEYS_INVALID", "keys.p256dh must be a P-256 public key and keys.auth 16 bytes, both base64url."),
        SubscriptionExpired => (400, "PUSH_SUBSCRIPTION_EXPIRED", "The subscription's expirationTime has passed."),
    }
}
