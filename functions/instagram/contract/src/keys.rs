//! Where a pet's Instagram link and its synced posts' figures live (the whole layout is in
//! `instagram::keys`).

use shared::table::Key;

pub const LINK: &str = "INSTAGRAM";

pub fn link_key(pet: &str) -> Key {
    Key::new(pets_contract::keys::pet_partition(pet), LINK)
}

/// The partition of what a link's sync stored (one per connection).
pub fn data_partition(connection: &str) -> String {
    format!("IGDATA#{connection}")
}

/// A synced post's figures, found by its permalink's shortcode (`/p/<shortcode>/`).
pub fn post_figures_key(connection: &str, shortcode: &str) -> Key {
    Key::new(data_partition(connection), format!("PERMALINK#{shortcode}"))
}
