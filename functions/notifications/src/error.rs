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
    }
}
