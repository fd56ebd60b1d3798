//! Pets' keys.
//!
//! | item | PK | SK | index |
//! |---|---|---|---|
//! | pet | `PET#<id>` | `PET` | GSI1 `OWNER#<user>` / `PET#<id>` (the owner's pets, oldest first) |
//! | name claim | `USER#<owner>` | `PETNAME#<name>` | — |
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

pub fn name_key(owner: &str, name: &str) -> Key {
    Key::new(user_partition(owner), format!("PETNAME#{}", name.trim().to_lowercase()))
}
