//! Identity: accounts, sign-up with email verification, password and social sign-in, sessions
//! with rotating refresh tokens, recovery, profiles, and media uploads.
//!
//! Each `static` route below is one Lambda function; `src/bin/` wires each into the runtime.

pub mod accounts;
pub mod admin;
pub mod advertisers;
pub mod codes;
pub mod company;
pub mod error;
pub mod model;
pub mod oauth;
pub mod password;
pub mod profile;
pub mod recovery;
pub mod sessions;
pub mod signin;
pub mod social;
pub mod uploads;

/// The figures identity charts (`shared::metrics`).
pub mod figures {
    pub const SIGN_UPS: &str = "SignUps";
    pub const SIGN_INS_FAILED: &str = "SignInsFailed";
}

use shared::routes::Domain;

pub(crate) const PKG: &str = env!("CARGO_PKG_NAME");

pub const DOMAIN: Domain = Domain {
    tags: &[
        shared::routes::Tag {
            name: "auth",
            description: "Sign-up with email verification, sign-in with a password or Google/Kakao, access tokens and rotating refresh tokens, recovery. Sign in here, then send `Authorization: Bearer <accessToken>`.",
        },
        shared::routes::Tag {
            name: "users",
            description: "Accounts and profiles: my account, other people's public profiles, withdrawal.",
        },
        shared::routes::Tag {
            name: "media",
            description: "Uploads: a presigned POST for a photo or document, whose key the other endpoints take.",
        },
    ],
    errors: &[
        error::IdentityError::CODES,
        &[(423, "ACCOUNT_LOCKED"), (403, "ADVERTISERS_ONLY"), (403, "ADVERTISER_NOT_APPROVED")],
    ],
    name: "identity",
    uploads: &[&identity_contract::PROFILE_PHOTO, &identity_contract::DOCUMENT, &identity_contract::POST_PHOTO],
    functions: &[
        &accounts::SIGNUP,
        &accounts::VERIFY_EMAIL,
        &accounts::RESEND_CODE,
        &accounts::AVAILABILITY,
        &signin::LOGIN,
        &signin::REFRESH,
        &signin::LOGOUT,
        &recovery::FORGOT,
        &recovery::RESET,
        &recovery::TEMPORARY,
        &profile::GET_ME,
        &profile::UPDATE_ME,
        &profile::CHANGE_PASSWORD,
        &profile::WITHDRAW,
        &profile::GET_USER,
        &social::OAUTH_SIGN_IN,
        &social::OAUTH_LINK,
        &social::OAUTH_SIGNUP,
        &uploads::CREATE_UPLOAD,
        &recovery::RECOVERY_WORKER,
        &advertisers::SIGNUP,
        &advertisers::ME,
        &advertisers::UPDATE,
        &advertisers::ADD_DOCUMENT,
        &advertisers::ADMIN_LIST,
        &advertisers::ADMIN_DECIDE,
        &admin::EDIT,
    ],
};
