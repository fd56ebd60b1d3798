//! Pets and the breed catalogue.

pub mod error;
pub mod pets;
pub mod species;

use shared::routes::Domain;

pub(crate) const PKG: &str = env!("CARGO_PKG_NAME");

pub const DOMAIN: Domain = Domain {
    tags: &[shared::routes::Tag {
        name: "pets",
        description: "Pets: their profiles, the breed catalogue, and a main pet per owner.",
    }],
    errors: &[error::PetError::CODES],
    name: "pets",
    uploads: &[&pets_contract::PET_PHOTO],
    functions: &[
        &species::LIST,
        &pets::CREATE,
        &pets::MINE,
        &pets::OF_USER,
        &pets::GET,
        &pets::UPDATE,
        &pets::DELETE,
        &pets::SET_MAIN,
    ],
};
