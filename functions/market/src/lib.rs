//! The second-hand market: listings with pictures and a place, nearby search over geohash cells,
//! wishlists. Item layout: [`keys`].

pub mod error;
pub mod keys;
pub mod listings;
pub mod model;
pub mod points;
pub mod wishes;

use shared::routes::Domain;

pub(crate) const PKG: &str = env!("CARGO_PKG_NAME");

pub const DOMAIN: Domain = Domain {
    name: "market",
    functions: &[
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
        &points::WITHDRAW,
    ],
};
