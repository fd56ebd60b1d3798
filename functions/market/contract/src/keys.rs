//! The market's keys.
//!
//! | item | PK | SK | indexes |
//! |---|---|---|---|
//! | listing | `MARKET#<id>` | `POST` | GSI1 `MARKETS` / `<id>` (newest first); GSI2 `SELLER#<user>` / `<id>`; GSI3 `MARKETCAT#<category>` / `<id>` — none once deleted |
//! | where a listing is | `GEO5#<geohash of 5>` and `GEO4#<geohash of 4>` | `<id>` | with its coordinates and category: nearby search queries the cells covering the circle |
//! | a seller's listing, in their partition (consistent, where GSI2 lags) | `USER#<seller>` | `SELLING#<id>` | none once deleted |
//! | wish | `MARKET#<id>` | `WISH#<user>` (its `wishId`) | GSI1 `WISHES#<user>` / `<wish id>` |
//! | a wish, in the wisher's partition (consistent: my wishlist, newest first) | `USER#<user>` | `WISHED#<wish id>` (its `listingId`) | |
//! | point balance | `USER#<user>` | `POINTS` | |
//! | point entry | `POINTS#<user>` | `<entry id>` (newest first) | |
//! | order | `ORDER#<id>` | `ORDER` | GSI1 `ORDERS#<listing>` / `<id>` (a listing's orders); GSI2 `ORDERS_CONFIRMING` / `<id>` while the provider is being asked, `ORDERS_AWAITING_DEPOSIT` / `<due date>` while a virtual account waits |
//! | transaction (the sale) | `MARKET#<listing>` | `TRADE#<order>` (one per paid order: a refunded sale stays beside the next) | GSI1 `PURCHASES#<buyer>` / `<id>`; GSI2 `SALES#<seller>` / `<id>` (newest first) |
//! | refund request | `REFUND#<id>` | `REFUND` | GSI1 `REFUNDS#<status>` / `<id>` (the administrators' queue, and the settling job's `REFUNDING`); GSI2 `REFUNDS_TO#<seller>` / `<id>`; GSI3 `REFUNDS_FROM#<buyer>` / `<id>` (newest first) |
//! | title search posting | `MARKETWORD#<bigram>` | `<listing id>` (newest first) | |
//! | the seller lets a buyer pay (written by chat, with the approval in the buyer's room) | `MARKET#<listing>` | `APPROVED#<buyer>` | |
//! | payout account (the number sealed) | `USER#<seller>` | `PAYOUTACCOUNT` | |
//! | payout request | `PAYOUT#<id>` | `PAYOUT` | GSI1 `PAYOUTS#<status>` / `<id>` (the administrators' queue, oldest first); GSI2 `USERPAYOUTS#<seller>` / `<id>` (mine, newest first) |

use shared::table::Key;

pub const ALL_LISTINGS: &str = "MARKETS";

pub fn listing_partition(id: &str) -> String {
    format!("MARKET#{id}")
}

pub fn listing_key(id: &str) -> Key {
    Key::new(listing_partition(id), "POST")
}

/// The seller's approval of `buyer`'s purchase of `listing`.
pub fn approval_key(listing: &str, buyer: &str) -> Key {
    Key::new(listing_partition(listing), format!("APPROVED#{buyer}"))
}

pub fn seller_partition(user: &str) -> String {
    format!("SELLER#{user}")
}

/// The sort-key prefix of the items listing a seller's listings in their own partition.
pub const SELLING_PREFIX: &str = "SELLING#";

pub fn selling_key(seller: &str, listing: &str) -> Key {
    Key::new(shared::keys::user_partition(seller), format!("{SELLING_PREFIX}{listing}"))
}

/// The sort-key prefix of the items listing a user's wishes in their own partition.
pub const WISHED_PREFIX: &str = "WISHED#";

pub fn wished_key(user: &str, wish_id: &str) -> Key {
    Key::new(shared::keys::user_partition(user), format!("{WISHED_PREFIX}{wish_id}"))
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

/// The sort-key prefix of wishes in a listing's partition.
pub const WISHES: &str = "WISH#";

pub fn wish_sort(user: &str) -> String {
    format!("{WISHES}{user}")
}

/// The listing whose partition `key` is in.
pub fn listing_of(key: &Key) -> Option<&str> {
    key.pk.strip_prefix("MARKET#")
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

/// GSI2 partition of the orders paid by a virtual account still waiting for the deposit (sort
/// key: the due date, so the settling job reads the overdue ones).
pub const AWAITING_DEPOSIT_ORDERS: &str = "ORDERS_AWAITING_DEPOSIT";

/// The transaction of the sale paid by `order`, in its listing's partition.
pub fn trade_key(listing: &str, order: &str) -> Key {
    Key::new(listing_partition(listing), format!("TRADE#{order}"))
}

/// A refund request.
pub fn refund_key(id: &str) -> Key {
    Key::new(format!("REFUND#{id}"), "REFUND")
}

/// GSI1 partition of the refund requests in one status.
pub fn refunds_in_partition(status: &str) -> String {
    format!("REFUNDS#{status}")
}

/// GSI2 partition of the refund requests a seller was sent.
pub fn refunds_to_partition(seller: &str) -> String {
    format!("REFUNDS_TO#{seller}")
}

/// GSI3 partition of the refund requests a buyer sent.
pub fn refunds_from_partition(buyer: &str) -> String {
    format!("REFUNDS_FROM#{buyer}")
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

/// The same, as the title search's index names partitions (titles are its only field).
pub fn title_posting_partition(_field: char, token: &str) -> String {
    title_word_partition(token)
}

/// A seller's payout account (the number sealed).
pub fn payout_account_key(user: &str) -> Key {
    Key::new(shared::keys::user_partition(user), "PAYOUTACCOUNT")
}

/// A payout request.
pub fn payout_key(id: &str) -> Key {
    Key::new(format!("PAYOUT#{id}"), "PAYOUT")
}

/// GSI1 partition of the payout requests in one status (the administrators' queue).
pub fn payouts_in_partition(status: &str) -> String {
    format!("PAYOUTS#{status}")
}

/// GSI2 partition of a seller's payout requests.
pub fn payouts_of_partition(user: &str) -> String {
    format!("USERPAYOUTS#{user}")
}
