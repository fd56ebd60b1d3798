//! The count on a listing that many people move at once, kept from the table's stream
//! ([`shared::counters`]): a wish or unwish commits only the wish (and its pointer), and this
//! consumer moves the listing's `wishCount` by the net change of each batch.

use shared::counters::{Count, Counted};
use shared::routes::Function;
use shared::table::Key;

use crate::{PKG, keys};

/// What the stream counts: a wish under a listing, on the listing.
pub const COUNTED: &[Counted] = &[Counted {
    sort_prefix: keys::WISHES,
    counts: |k: &Key| keys::listing_of(k).map(|l| Count::one(keys::listing_key(l), "wishCount")).unwrap_or_default(),
    removals: true,
    creates: false,
}];

pub static COUNTER: Function = shared::counter_consumer!(
    "market-counters",
    PKG,
    &[keys::WISHES],
    COUNTED,
    "Moves each listing's wish count by the wishes and unwishes the table's stream delivers"
);
