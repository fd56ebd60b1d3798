//! The PetStar item's and the ad item's keys (the rest of the layout is in `campaigns::keys`).

use shared::table::Key;

pub const PETSTAR: &str = "PETSTAR";

pub fn petstar_key(pet: &str) -> Key {
    Key::new(pets_contract::keys::pet_partition(pet), PETSTAR)
}

pub fn ad_partition(id: &str) -> String {
    format!("AD#{id}")
}

pub fn ad_key(id: &str) -> Key {
    Key::new(ad_partition(id), "AD")
}
