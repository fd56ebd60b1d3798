//! Administration's keys.
//!
//! | item | PK | SK | indexes |
//! |---|---|---|---|
//! | audit record | `AUDIT#<id>` | `RECORD` | GSI1 `AUDITS` / `<id>`; GSI2 `AUDITBY#<actor>` / `<id>`; GSI3 `AUDITON#<target>` / `<id>` (each newest first) |

use shared::table::Key;

pub const ALL_RECORDS: &str = "AUDITS";

pub fn record_key(id: &str) -> Key {
    Key::new(format!("AUDIT#{id}"), "RECORD")
}

pub fn by_actor_partition(actor: &str) -> String {
    format!("AUDITBY#{actor}")
}

pub fn on_target_partition(target: &str) -> String {
    format!("AUDITON#{target}")
}
