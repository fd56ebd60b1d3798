//! What can go wrong with accounts, sign-in and sessions: one enum, each variant a status, a stable code and a message;
//! mapped to problem+json by the kernel. Conditions of writes name these variants, and code
//! that expects one (an idempotent repeat) matches it by value.

shared::domain_errors! {
    /// What can go wrong with accounts, sign-in and sessions.
    pub enum IdentityError {
        EmailTaken => (409, "EMAIL_TAKEN", "This email is already registered."),
        NicknameTaken => (409, "NICKNAME_TAKEN", "This nickname is taken."),
        BusinessNumberTaken => (409, "BUSINESS_NUMBER_TAKEN", "Another advertiser registered this business number."),
        AccountChanged => (409, "CONCURRENT_UPDATE", "The account changed meanwhile. Try again."),
        InvalidCode => (400, "INVALID_CODE", "The code is wrong, expired, or has been tried too often. Ask for a new one."),
        InvalidTicket => (400, "INVALID_TICKET", "The ticket is invalid, used or expired. Sign in with the provider again."),
        OAuthCodeInvalid => (400, "OAUTH_CODE_INVALID", "The authorization code is invalid or expired."),
        OAuthEmailUnverified => (400, "OAUTH_EMAIL_UNVERIFIED", "The provider did not share a verified email address."),
        ProviderNotAvailable => (404, "PROVIDER_NOT_AVAILABLE", "Sign in with google or kakao."),
        ProviderNotEnabled => (404, "PROVIDER_NOT_AVAILABLE", "Sign-in with this provider is not enabled."),
        AlreadyLinked => (409, "ALREADY_LINKED", "This provider account is linked already."),
        InvalidCredentials => (401, "INVALID_CREDENTIALS", "The email or password is wrong."),
        AccountWithdrawn => (403, "ACCOUNT_WITHDRAWN", "The account was withdrawn."),
        AccountDeactivated => (403, "ACCOUNT_DEACTIVATED", "An administrator deactivated the account."),
        CannotEditOwnStanding => (409, "CANNOT_CHANGE_OWN_ACCOUNT", "Administrators do not change their own role or deactivate themselves."),
        AdvertiserRole => (409, "ADVERTISER_ROLE", "An advertiser keeps its role."),
        NotReactivatable => (409, "ACCOUNT_NOT_DEACTIVATED", "Only a deactivated account can be reactivated; this one is not verified or was withdrawn."),
        NotDeactivatable => (409, "ACCOUNT_NOT_ACTIVE", "Only an active account can be deactivated."),
        WithdrawnUnchangeable => (409, "ACCOUNT_WITHDRAWN", "The account was withdrawn; it cannot be edited."),
        NothingToEdit => (400, "NOTHING_TO_EDIT", "Send at least one of nickname, role and active."),
        EmailNotVerified => (403, "EMAIL_NOT_VERIFIED", "Verify your email first; we sent you a code."),
        PasswordLoginUnavailable => (403, "PASSWORD_LOGIN_UNAVAILABLE", "This account signs in with Google or Kakao."),
        WrongPassword => (403, "WRONG_PASSWORD", "The password is wrong."),
        AccountGone => (401, "ACCOUNT_NOT_FOUND", "The account no longer exists."),
        UserNotFound => (404, "USER_NOT_FOUND", "No such user."),
        NoAccountWithEmail => (404, "USER_NOT_FOUND", "No account has that email."),
        AccountNotActive => (409, "ACCOUNT_NOT_ACTIVE", "Only a verified, active account can become an administrator."),
        InvalidRefreshToken => (401, "INVALID_REFRESH_TOKEN", "The refresh token is not valid. Sign in again."),
        RefreshTokenReused => (401, "REFRESH_TOKEN_REUSED", "This refresh token was already used; every session of it is now signed out."),
        SessionNotFound => (404, "SESSION_NOT_FOUND", "No such session."),
        AdvertiserNotFound => (404, "ADVERTISER_NOT_FOUND", "No such advertiser."),
        AdvertiserDecided => (409, "ADVERTISER_ALREADY_DECIDED", "The advertiser is not waiting for a decision."),
        TooManyDocuments => (409, "TOO_MANY_DOCUMENTS", "At most 10 documents."),
    }
}
