//! Pet health care (Asia/Seoul dates throughout): daily activity with calorie maths. Item layout:
//! [`keys`].

pub mod activities;
pub mod error;
pub mod keys;
pub mod owner;
pub mod seoul;

use shared::routes::Domain;

pub(crate) const PKG: &str = env!("CARGO_PKG_NAME");

pub const DOMAIN: Domain = Domain {
    name: "health",
    functions: &[&activities::PUT, &activities::GET, &activities::RANGE, &activities::LEVELS],
};
