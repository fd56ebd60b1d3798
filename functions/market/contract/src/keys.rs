//! The market's keys.
//!
//! | item | PK | SK | indexes |
//! |---|---|---|---|
//! | listing | `MARKET#<id>` | `POST` | GSI1 `MARKETS` / `<id>` (newest first); GSI2 `SELLER#<user>` / `<id>`; GSI3 `MARKETCAT#<category>` / `<id>` — none once deleted |
//! | where a listing is | `GEO5#<geohash of 5>` and `GEO4#<geohash of 4>` | `<id>` | with its coordinates and category: nearby search queries the cells covering the circle |
//! | wish | `MARKET#<id>` | `WISH#<user>` | GSI1 `WISHES#<user>` / `<wish id>` (my wishlist, newest first) |
//! | point balance | `USER#<user>` | `POINTS` | |
//! | point entry | `POINTS#<user>` | `<entry id>` (newest first) | |
//! | order | `ORDER#<id>` | `ORDER` | GSI1 `ORDERS#<listing>` / `<id>` (a listing's orders); GSI2 `ORDERS_CONFIRMING` / `<id>` while the provider is being asked |
//! | transaction (the sale) | `MARKET#<listing>` | `TRADE` (one per listing) | GSI1 `PURCHASES#<buyer>` / `<id>`; GSI2 `SALES#<seller>` / `<id>` (newest first) |
//! | title search posting | `MARKETWORD#<bigram>` | `<listing id>` (newest first) | |

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

pub fn order_key(id: &str) -> Key {
    Key::new(format!("ORDER#{id}"), "ORDER")
}

pub fn orders_of_listing_partition(listing: &str) -> String {
    format!("ORDERS#{listing}")
}

/// GSI2 partition of the orders whose payment is being confirmed (the settling job reads it).
pub const CONFIRMING_ORDERS: &str = "ORDERS_CONFIRMING";

/// The transaction of a listing's sale: one per listing.
pub fn trade_key(listing: &str) -> Key {
    Key::new(listing_partition(listing), "TRADE")
}

pub fn purchases_partition(user: &str) -> String {
    format!("PURCHASES#{user}")
}

pub fn sales_partition(user: &str) -> String {
    format!("SALES#{user}")
}

/// A title search posting's partition: one per bigram of the title.
pub fn title_word_partition(token: &str) -> String {
    format!("MARKETWORD#{token}")
}

pub fn title_word_key(token: &str, listing: &str) -> Key {
    Key::new(title_word_partition(token), listing)
}
