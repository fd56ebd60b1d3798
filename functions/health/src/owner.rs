//! Health records are the pet owner's alone: every endpoint checks the pet's owner first.

use shared::{ApiResult, AppContext};

use crate::error::HealthError;

/// Passes when `me` owns pet `pet`; 404 when there is no such pet, 403 when it is someone else's.
pub async fn ensure_owner(ctx: &AppContext, me: &str, pet: &str) -> ApiResult<()> {
    match pets_contract::owner_of(ctx, pet).await? {
        None => Err(HealthError::PetNotFound.into()),
        Some(owner) if owner == me => Ok(()),
        Some(_) => Err(HealthError::NotYourPet.into()),
    }
}
