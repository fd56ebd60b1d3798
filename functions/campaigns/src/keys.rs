//! Influencer marketing's keys and access patterns.
//!
//! | item | PK | SK | index |
//! |---|---|---|---|
//! | PetStar standing and ranking document | `PET#<pet>` | `PETSTAR` | GSI1 `PETSTARS#<status>` / `<since>#<pet>`; GSI2 `PETSTARS#ACTIVE#<DOG\|CAT>` / `<since>#<pet>` while active |
//! | portfolio | `PET#<pet>` | `PORTFOLIO` | |
//! | activity history | `PET#<pet>` | `HISTORY#<id>` | |
//! | ad | `AD#<id>` | `AD` | GSI1 `ADS#<status>` / `<created>#<id>`; GSI2 `ADVERTISER#<user>#ADS` / `<created>#<id>`; GSI3 `ADS_DUE` / `<next date>#<id>` while a date of its lifecycle lies ahead |
//! | an ad's embedding vector, with the digest of the text it was made from | `AD#<id>` | `VECTOR` | |
//! | one pet's application to one ad (the uniqueness claim) | `AD#<id>` | `APPLIED#<pet>` | |
//! | application | `APPLICATION#<id>` | `APPLICATION` | GSI1 `AD#<ad>#APPLICATIONS` / `<id>`; GSI2 `APPLICANT#<owner>` / `<id>`; GSI3 `PET#<pet>#APPLICATIONS` / `<id>` |
//! | an applicant's application, in their partition (consistent, where GSI2 lags: "my applications") | `USER#<owner>` | `MYAPPLICATION#<id>` | |
//! | review (shares its application's id) | `REVIEW#<id>` | `REVIEW` | |
//!
//! Access patterns: a pet's PetStar page is one Query of its partition; the public and admin
//! lists are one Query of a status partition; the lifecycle job reads the ads due with one
//! Query of `ADS_DUE`; an ad's applications, a user's and a pet's are one Query each; the
//! recommendation reads the active PetStars' precomputed documents from one partition.

use shared::table::Key;

pub use campaigns_contract::keys::{PETSTAR, ad_key, ad_partition, petstar_key};
pub use pets_contract::keys::pet_partition;

pub const PORTFOLIO: &str = "PORTFOLIO";
pub const HISTORY_PREFIX: &str = "HISTORY#";

pub fn portfolio_key(pet: &str) -> Key {
    Key::new(pet_partition(pet), PORTFOLIO)
}

pub fn history_sort(id: &str) -> String {
    format!("{HISTORY_PREFIX}{id}")
}

pub fn history_key(pet: &str, id: &str) -> Key {
    Key::new(pet_partition(pet), history_sort(id))
}

pub fn petstars_partition(status: &str) -> String {
    format!("PETSTARS#{status}")
}

pub fn active_kind_partition(kind: &str) -> String {
    format!("PETSTARS#ACTIVE#{kind}")
}

pub fn since_sort(at: chrono::DateTime<chrono::Utc>, id: &str) -> String {
    format!("{}#{id}", at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

pub fn ads_partition(status: &str) -> String {
    format!("ADS#{status}")
}

pub fn advertiser_ads_partition(advertiser: &str) -> String {
    format!("ADVERTISER#{advertiser}#ADS")
}

/// GSI3 partition of the ads with a lifecycle date ahead, by that date.
pub const ADS_DUE: &str = "ADS_DUE";

pub fn due_sort(date: chrono::NaiveDate, id: &str) -> String {
    format!("{date}#{id}")
}

/// The claim that pet `pet` applied to ad `ad` (one application per pet and ad).
pub fn applied_key(ad: &str, pet: &str) -> Key {
    Key::new(ad_partition(ad), format!("{APPLIED_PREFIX}{pet}"))
}

/// The sort-key prefix of the application claims in an ad's partition (each names its
/// `applicationId`): the job settles an ad's applications from them, consistently.
pub const APPLIED_PREFIX: &str = "APPLIED#";

/// The sort-key prefix of the items listing a user's applications in their own partition.
pub const MY_APPLICATION_PREFIX: &str = "MYAPPLICATION#";

pub fn my_application_key(owner: &str, id: &str) -> Key {
    Key::new(shared::keys::user_partition(owner), format!("{MY_APPLICATION_PREFIX}{id}"))
}

pub fn application_key(id: &str) -> Key {
    Key::new(format!("APPLICATION#{id}"), "APPLICATION")
}

pub fn ad_applications_partition(ad: &str) -> String {
    format!("AD#{ad}#APPLICATIONS")
}

pub fn applicant_partition(owner: &str) -> String {
    format!("APPLICANT#{owner}")
}

pub fn pet_applications_partition(pet: &str) -> String {
    format!("PET#{pet}#APPLICATIONS")
}

pub fn review_key(id: &str) -> Key {
    Key::new(format!("REVIEW#{id}"), "REVIEW")
}

/// An ad's embedding vector, beside the ad (not on it: the ad item is what clients are shown).
pub fn ad_vector_key(ad: &str) -> Key {
    Key::new(ad_partition(ad), "VECTOR")
}
