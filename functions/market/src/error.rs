//! What can go wrong in the market: one enum, each variant a status, a stable code and a message.

shared::domain_errors! {
    /// What can go wrong in the market.
    pub enum MarketError {
        ListingNotFound => (404, "LISTING_NOT_FOUND", "No such listing."),
        NotYourListing => (403, "NOT_YOUR_LISTING", "Only the seller may do this."),
        OwnListing => (403, "OWN_LISTING", "Not on your own listing."),
        NotForSale => (409, "ITEM_NOT_AVAILABLE", "The item is reserved or sold."),
        ListingChanged => (409, "CONCURRENT_UPDATE", "The listing changed meanwhile. Try again."),
        AlreadyWished => (409, "ALREADY_WISHED", "On your wishlist already (wishing is idempotent)."),
        NotWished => (409, "NOT_WISHED", "Not on your wishlist (unwishing is idempotent)."),
        InsufficientPoints => (409, "INSUFFICIENT_POINTS", "Not that many points."),
    }
}
