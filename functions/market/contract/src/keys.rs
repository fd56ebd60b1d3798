//! The market's keys.
//!
//! | item | PK | SK | indexes |
//! |---|---|---|---|
//! | listing | `MARKET#<id>` | `POST` | GSI1 `MARKETS` / `<id>` (newest first); GSI2 `SELLER#<user>` / `<id>`; GSI3 `MARKETCAT#<category>` / `<id>` — none once deleted |
//! | where a listing is | `GEO5#<geohash of 5>` and `GEO4#<geohash of 4>` | `<id>` | with its coordinates and category: nearby search queries the cells covering the circle |
//! | wish | `MARKET#<id>` | `WISH#<user>` | GSI1 `WISHES#<user>` / `<wish id>` (my wishlist, newest first) |
//! | point balance | `USER#<user>` | `POINTS` | |
//! | point entry | `POINTS#<user>` | `<entry id>` (newest first) | |

use shared::table::Key;

pub const ALL_LISTINGS: &str = "MARKETS";

pub fn listing_partition(id: &str) -> String {
    format!("MARKET#{id}")
}

pub fn listing_key(id: &str) -> Key {
    Key::new(listing_partition(id), "POST")
}

pub fn seller_partition(user: &str) -> String {
    format!("SELLER#{user}")
}

pub fn category_partition(category: &str) -> String {
    format!("MARKETCAT#{category}")
}

/// The partition of a geohash cell of `precision` (4 or 5) characters.
pub fn cell_partition(cell: &str) -> String {
    format!("GEO{}#{cell}", cell.len())
}

pub fn cell_key(cell: &str, listing: &str) -> Key {
    Key::new(cell_partition(cell), listing)
}

pub fn wish_sort(user: &str) -> String {
    format!("WISH#{user}")
}

pub fn wish_key(listing: &str, user: &str) -> Key {
    Key::new(listing_partition(listing), wish_sort(user))
}

pub fn wishlist_partition(user: &str) -> String {
    format!("WISHES#{user}")
}

pub fn balance_key(user: &str) -> Key {
    Key::new(shared::keys::user_partition(user), "POINTS")
}

pub fn ledger_partition(user: &str) -> String {
    format!("POINTS#{user}")
}
