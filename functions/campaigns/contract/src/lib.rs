//! Influencer marketing's public surface: where a PetStar's standing lives.

pub mod keys {
    //! The PetStar item's key (the rest of the layout is in `campaigns::keys`).
    use shared::table::Key;

    pub const PETSTAR: &str = "PETSTAR";

    pub fn petstar_key(pet: &str) -> Key {
        Key::new(pets_contract::keys::pet_partition(pet), PETSTAR)
    }
}
