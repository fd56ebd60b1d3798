//! The market's keys live in its contract, since chat reads listings too: [`market_contract::keys`].

pub use market_contract::keys::*;
