//! Real time's keys (the connections themselves are the kernel's: see `shared::keys`).
//!
//! | item | PK | SK |
//! |---|---|---|
//! | connection ticket | `WSTICKET#<sha-256 of the ticket>` | `TICKET` (TTL: a minute) |

use shared::table::Key;

pub fn ticket_partition(digest: &str) -> String {
    format!("WSTICKET#{digest}")
}

pub fn ticket_key(digest: &str) -> Key {
    Key::new(ticket_partition(digest), "TICKET")
}
