//! Time-sortable identifiers: ULIDs, so that "newest first" is plain key order.

use chrono::{DateTime, Utc};

/// A new ULID for the given instant (Crockford base32, 26 characters, sorts by time).
pub fn new_id(at: DateTime<Utc>) -> String {
    let ts = std::time::UNIX_EPOCH + std::time::Duration::from_millis(at.timestamp_millis().max(0) as u64);
    ulid::Ulid::from_datetime(ts).to_string()
}

/// Whether a string has the shape of an id we issue; lets handlers refuse junk path params early.
pub fn is_valid_id(s: &str) -> bool {
    s.len() == 26 && ulid::Ulid::from_string(s).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_sort_by_time() {
        let a = new_id(Utc::now());
        let b = new_id(Utc::now() + chrono::Duration::milliseconds(5));
        assert!(a < b);
        assert!(is_valid_id(&a));
        assert!(!is_valid_id("not-an-id"));
    }
}
