//! Influencer marketing's public surface: where a PetStar's standing lives, and the one write
//! another domain may make to it — its engagement figure, which the Instagram sync measures and
//! the recommendation weighs in.

pub mod keys {
    //! The PetStar item's key (the rest of the layout is in `campaigns::keys`).
    use shared::table::Key;

    pub const PETSTAR: &str = "PETSTAR";

    pub fn petstar_key(pet: &str) -> Key {
        Key::new(pets_contract::keys::pet_partition(pet), PETSTAR)
    }
}

use shared::table::{Write, n};
use shared::{ApiError, ApiResult, AppContext};

/// Records `engagement` (a percentage: the average likes and comments per recent post over the
/// follower count) on pet `pet`'s PetStar item, or clears it (`None`, the account unlinked). A
/// pet that is not a PetStar has nothing to update: that is not an error.
pub async fn record_engagement(ctx: &AppContext, pet: &str, engagement: Option<f64>) -> ApiResult<()> {
    let write = match engagement {
        Some(e) => Write::update(keys::petstar_key(pet), "SET #e = :e").value(":e", n(e)),
        None => Write::update(keys::petstar_key(pet), "REMOVE #e"),
    }
    .name("#e", "engagement")
    .when("attribute_exists(PK)", ApiError::not_found("PETSTAR_NOT_FOUND", "not a PetStar"));
    match ctx.table.write(write).await {
        Err(e) if e.status().as_u16() == 404 => Ok(()),
        other => other,
    }
}
