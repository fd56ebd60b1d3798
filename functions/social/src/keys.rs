//! The social graph's keys live in its contract, since the diary and notifications read the same
//! relations: [`social_contract::keys`].

pub use social_contract::keys::*;
