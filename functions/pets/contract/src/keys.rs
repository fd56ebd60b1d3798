//! Pets' keys.
//!
//! | item | PK | SK | index |
//! |---|---|---|---|
//! | pet | `PET#<id>` | `PET` | GSI1 `OWNER#<user>` / `PET#<id>` (the owner's pets, oldest first) |
//! | name claim | `USER#<owner>` | `PETNAME#<name>` (its `petId`) | — |
//!
//! An owner's pets are listed from the name claims (consistent), not the lagging owner index.
//! | main pet, pet count | the account item's `mainPetId`, `petCount` (pets' attributes) | | |

use shared::keys::user_partition;
use shared::table::Key;

pub fn pet_partition(id: &str) -> String {
    format!("PET#{id}")
}

pub fn pet_key(id: &str) -> Key {
    Key::new(pet_partition(id), "PET")
}

pub fn owner_partition(owner: &str) -> String {
    format!("OWNER#{owner}")
}

/// The sort-key prefix of name claims in the owner's partition (each names its `petId`).
pub const NAME_PREFIX: &str = "PETNAME#";

pub fn name_key(owner: &str, name: &str) -> Key {
    Key::new(user_partition(owner), format!("{NAME_PREFIX}{}", name.trim().to_lowercase()))
}
