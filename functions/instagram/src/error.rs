//! What can go wrong with a pet's Instagram account.

shared::domain_errors! {
    /// What can go wrong with a pet's Instagram account.
    pub enum InstagramError {
        PetNotFound => (404, "PET_NOT_FOUND", "No such pet."),
        NotYourPet => (403, "NOT_YOUR_PET", "Only the pet's owner may do this."),
        NotConfigured => (503, "INSTAGRAM_NOT_CONFIGURED", "Instagram is not configured on this server."),
        NotConnected => (404, "INSTAGRAM_NOT_CONNECTED", "This pet has no Instagram account linked."),
        AlreadyConnected => (409, "INSTAGRAM_ALREADY_CONNECTED", "This pet already has an Instagram account linked. Disconnect it first."),
        LinkedElsewhere => (409, "INSTAGRAM_ACCOUNT_LINKED", "This Instagram account is linked to another pet."),
        InvalidState => (400, "INVALID_STATE", "The sign-in expired or was not started here. Connect again."),
        CodeRejected => (400, "INSTAGRAM_CODE_REJECTED", "Instagram did not accept the authorization code. Connect again."),
        Unavailable => (503, "INSTAGRAM_UNAVAILABLE", "Instagram did not answer. Try again shortly."),
        Changed => (409, "CONCURRENT_UPDATE", "The link changed meanwhile. Try again."),
        WordExists => (409, "BANNED_WORD_EXISTS", "This word is banned already."),
        WordNotFound => (404, "BANNED_WORD_NOT_FOUND", "This word is not banned."),
        /// Storage conditions the sync and the token job expect to lose sometimes.
        CommentStored => (409, "COMMENT_STORED", "This comment is stored already."),
        LinkChanged => (409, "LINK_CHANGED", "The link changed meanwhile."),
        CommentNotFound => (404, "COMMENT_NOT_FOUND", "No such comment on this account."),
        TooManyWords => (409, "TOO_MANY_BANNED_WORDS", "A pet may ban at most 100 words."),
    }
}
