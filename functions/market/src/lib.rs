//! The second-hand market: listings with pictures and a place, nearby search over geohash cells,
//! title search, wishlists, paying through Toss Payments exactly once, refunds, and the sellers' points and payouts. Item layout: [`keys`].

pub mod admin;
pub mod audit;
pub mod error;
pub mod keys;
pub mod listings;
pub mod model;
pub mod moderation;
pub mod payments;
pub mod payouts;
pub mod points;
pub mod refunds;
pub mod sales;
pub mod search;
pub mod settle;
pub mod titles;
pub mod toss;
pub mod webhooks;
pub mod wishes;

/// The figures the market charts (`shared::metrics`); amounts in won.
pub mod figures {
    pub const SALES: &str = "Sales";
    pub const SALES_AMOUNT: &str = "SalesAmountKrw";
    pub const REFUNDS: &str = "Refunds";
    pub const REFUNDS_AMOUNT: &str = "RefundsAmountKrw";
}

use shared::routes::Domain;

pub(crate) const PKG: &str = env!("CARGO_PKG_NAME");

pub const DOMAIN: Domain = Domain {
    tags: &[shared::routes::Tag {
        name: "market",
        description: "The second-hand market: listings, wishes, nearby search, purchase approval in chat, payment through Toss Payments, refunds, points and payouts.",
    }],
    errors: &[error::MarketError::CODES, payments::PAYMENT_CODES],
    name: "market",
    uploads: &[&market_contract::LISTING_PHOTO],
    functions: &[
        &audit::AUDIT_JOB,
        &admin::LISTINGS,
        &listings::CREATE,
        &listings::GET,
        &listings::UPDATE,
        &listings::DELETE,
        &listings::LIST,
        &listings::OF_USER,
        &listings::NEARBY,
        &wishes::WISH,
        &wishes::UNWISH,
        &wishes::WISHLIST,
        &points::BALANCE,
        &payouts::BANK_LIST,
        &payouts::PUT_ACCOUNT,
        &payouts::GET_ACCOUNT,
        &payouts::REQUEST,
        &payouts::MINE,
        &payouts::QUEUE,
        &payouts::DECIDE,
        &payments::ORDER,
        &payments::ORDER_GET,
        &payments::CONFIRM,
        &payments::PURCHASES,
        &payments::SALES,
        &settle::SETTLE_JOB,
        &webhooks::WEBHOOK,
        &webhooks::WORKER,
        &refunds::REQUEST,
        &refunds::GET,
        &refunds::MINE,
        &refunds::DECIDE,
        &refunds::ESCALATE,
        &refunds::QUEUE,
        &refunds::ADMIN_DECIDE,
        &search::SEARCH,
        &moderation::REMOVAL_WORKER,
        &sales::SALES_WORKER,
    ],
};
