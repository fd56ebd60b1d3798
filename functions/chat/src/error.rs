//! What can go wrong in chat: one enum, each variant a status, a stable code and a message.

shared::domain_errors! {
    /// What can go wrong in chat.
    pub enum ChatError {
        RoomNotFound => (404, "ROOM_NOT_FOUND", "No such room."),
        NotAMember => (403, "NOT_A_MEMBER", "Only the room's members may do this."),
        UserNotFound => (404, "USER_NOT_FOUND", "No such user."),
        NotWithYourself => (400, "NOT_WITH_YOURSELF", "A room needs someone besides you."),
        TooManyMembers => (409, "TOO_MANY_MEMBERS", "A room holds at most 100 members."),
        MessageNotFound => (404, "MESSAGE_NOT_FOUND", "No such message in this room."),
        EmptyMessage => (400, "EMPTY_MESSAGE", "A message has 1 to 500 characters of content or a picture."),
        /// Another message or member change came first: plan again.
        RoomMoved => (409, "CONCURRENT_UPDATE", "The room changed meanwhile. Try again."),
        /// Never answered: a typing frame this soon after the last one is dropped.
        TypingTooOften => (429, "TYPING_TOO_OFTEN", "Typing was told a moment ago."),
        /// The sender's client message id was stored already.
        AlreadySent => (409, "ALREADY_SENT", "This message was sent already."),
        /// The direct room of two users exists already.
        PairTaken => (409, "ROOM_EXISTS", "You have a room with this user already."),
        AlreadyMember => (409, "ALREADY_MEMBER", "Already a member."),
        ListingNotFound => (404, "LISTING_NOT_FOUND", "No such listing."),
        OwnListing => (403, "OWN_LISTING", "Not about your own listing."),
        NotAboutAListing => (409, "NOT_ABOUT_A_LISTING", "This room is not about a listing."),
        NotTheSeller => (403, "NOT_THE_SELLER", "Only the seller may decide this."),
    }
}
