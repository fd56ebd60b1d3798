//! What can go wrong with pets: one enum, each variant a status, a stable code and a message;
//! mapped to problem+json by the kernel. Conditions of writes name these variants, and code
//! that expects one (an idempotent repeat) matches it by value.

shared::domain_errors! {
    /// What can go wrong with pets.
    pub enum PetError {
        PetNotFound => (404, "PET_NOT_FOUND", "No such pet."),
        UserNotFound => (404, "USER_NOT_FOUND", "No such user."),
        NotYourPet => (403, "NOT_YOUR_PET", "Only the owner may change this pet."),
        MayNotChoosePet => (403, "NOT_YOUR_PET", "Only the owner may choose it."),
        PetChanged => (409, "CONCURRENT_UPDATE", "The pet changed meanwhile. Try again."),
        PetsChanged => (409, "CONCURRENT_UPDATE", "Your pets changed meanwhile. Try again."),
        MainPetMoved => (409, "PETS_CHANGED", "The main pet changed while a pet was removed."),
        PetNameTaken => (409, "PET_NAME_TAKEN", "You already have a pet with this name."),
        TooManyPets => (409, "TOO_MANY_PETS", "At most 30 pets per account."),
    }
}
