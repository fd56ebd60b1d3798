//! Health care's keys.
//!
//! | item | PK | SK |
//! |---|---|---|
//! | a pet's day of activity | `HEALTH#<pet>` | `ACT#<yyyy-mm-dd>` (one per day; a range of days is one Query) |

use shared::table::Key;

pub fn health_partition(pet: &str) -> String {
    format!("HEALTH#{pet}")
}

pub fn activity_sort(date: &str) -> String {
    format!("ACT#{date}")
}

pub fn activity_key(pet: &str, date: &str) -> Key {
    Key::new(health_partition(pet), activity_sort(date))
}
