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
        NotApproved => (403, "PURCHASE_NOT_APPROVED", "The seller has not approved your purchase in your chat room about this listing."),
        Blocked => (403, "USER_BLOCKED", "You and the seller have blocked each other, or one of you the other."),
        ListingEdited => (409, "LISTING_CHANGED", "The seller changed the listing after you ordered. Order again to see its price and details."),
        OrderNotFound => (404, "ORDER_NOT_FOUND", "No such order of yours."),
        AmountMismatch => (400, "AMOUNT_MISMATCH", "The amount is not the order's amount."),
        OrderChanged => (409, "ORDER_CHANGED", "The order changed meanwhile. Try again."),
        AlreadyPaid => (409, "ORDER_ALREADY_PAID", "This order was paid with another payment."),
        PaymentInProgress => (409, "PAYMENT_IN_PROGRESS", "Another payment of this order is being confirmed."),
        PayoutNotFound => (404, "PAYOUT_NOT_FOUND", "No such payout request."),
        PayoutDecided => (409, "PAYOUT_DECIDED", "This payout request was decided already."),
        PayoutsHeld => (409, "PAYOUTS_HELD", "Payouts are held while the point balance is below zero after a refund."),
        NotRefundable => (409, "NOT_REFUNDABLE", "Only a completed sale can be refunded."),
        RefundWindowClosed => (409, "REFUND_WINDOW_CLOSED", "A refund can be asked for within 7 days of the payment."),
        RefundRequested => (409, "REFUND_ALREADY_REQUESTED", "A refund of this sale was asked for already: one request per sale."),
        RefundNotFound => (404, "REFUND_REQUEST_NOT_FOUND", "No such refund request of yours."),
        NotYourSale => (403, "NOT_YOUR_SALE", "Only the seller decides on a refund request."),
        NotYourPurchase => (403, "NOT_YOUR_PURCHASE", "Only the buyer may send a refund request to an administrator."),
        RefundDecided => (409, "REFUND_DECIDED", "This refund request was decided already."),
        RefundChanged => (409, "REFUND_CHANGED", "The refund request changed meanwhile. Try again."),
        NotEscalatable => (409, "REFUND_NOT_ESCALATABLE", "Only a refused request, or one the seller has left unanswered for 3 days, goes to an administrator."),
        NoPayoutAccount => (404, "PAYOUT_ACCOUNT_NOT_FOUND", "No payout account is registered: PUT /users/me/payout-account first."),
    }
}
