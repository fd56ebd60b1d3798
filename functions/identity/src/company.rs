//! An advertiser's company: its profile item, what a new one gives, the hold its account carries
//! until approval, and the business registration number's checks.

use chrono::{DateTime, Utc};
use identity_contract::keys;
use serde::{Deserialize, Serialize};
use shared::table::{Entity, Gsi};
use shared::validate::Validator;
use utoipa::ToSchema;

use crate::model::AdvertiserStatus;

pub fn business_digits(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii_digit()).collect()
}

/// The weights of the Korean business registration number's check digit.
const WEIGHTS: [u32; 9] = [1, 3, 7, 1, 3, 7, 1, 3, 5];

/// Whether `digits` (10 of them) is a business registration number whose check digit is right:
/// the weighted sum of the first nine, plus the tens of the ninth times five, completes to a
/// multiple of ten with the last.
pub fn valid_business_number(digits: &str) -> bool {
    let d: Vec<u32> = digits.chars().filter_map(|c| c.to_digit(10)).collect();
    if d.len() != 10 || digits.len() != 10 {
        return false;
    }
    let sum: u32 = d.iter().zip(WEIGHTS).map(|(a, w)| a * w).sum::<u32>() + d[8] * 5 / 10;
    (10 - sum % 10) % 10 == d[9]
}

pub fn check_business_number(v: &mut Validator, raw: &str) {
    let shaped = raw.chars().all(|c| c.is_ascii_digit() || c == '-');
    let ok = shaped && valid_business_number(&business_digits(raw));
    v.check(
        ok,
        "businessNumber",
        "INVALID_BUSINESS_NUMBER",
        "a 10-digit business registration number (its check digit is verified)",
    );
}

/// What a new advertiser gives besides its account.
pub struct NewAdvertiser {
    pub company_name: String,
    /// Digits only.
    pub business_number: String,
    pub representative: String,
    pub phone: String,
}

impl NewAdvertiser {
    pub fn into_profile(self, user_id: &str, now: DateTime<Utc>) -> Advertiser {
        Advertiser {
            user_id: user_id.into(),
            company_name: self.company_name,
            business_number: self.business_number,
            representative: self.representative,
            phone: self.phone,
            documents: Vec::new(),
            status: AdvertiserStatus::PendingApproval,
            reason: None,
            created_at: now,
            updated_at: now,
            decided_at: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CompanyDocument {
    pub file_key: String,
    pub added_at: DateTime<Utc>,
}

/// An advertiser's company profile.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Advertiser {
    pub user_id: String,
    pub company_name: String,
    pub business_number: String,
    pub representative: String,
    pub phone: String,
    #[serde(default)]
    pub documents: Vec<CompanyDocument>,
    pub status: AdvertiserStatus,
    /// Why it was rejected.
    #[serde(default)]
    pub reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(default)]
    pub decided_at: Option<DateTime<Utc>>,
}

impl Entity for Advertiser {
    const TYPE: &'static str = "Advertiser";
    fn pk(&self) -> String {
        keys::user_partition(&self.user_id)
    }
    fn sk(&self) -> String {
        keys::ADVERTISER.into()
    }
    fn index_keys(&self) -> Vec<(Gsi, String, String)> {
        vec![(
            Gsi::Gsi1,
            keys::advertisers_partition(status_str(self.status)),
            keys::advertiser_sort(self.created_at, &self.user_id),
        )]
    }
}

pub fn status_str(s: AdvertiserStatus) -> &'static str {
    match s {
        AdvertiserStatus::PendingApproval => "PENDING_APPROVAL",
        AdvertiserStatus::Approved => "APPROVED",
        AdvertiserStatus::Rejected => "REJECTED",
    }
}

/// The hold an advertiser's account carries until an administrator approves it: every write but
/// its profile, documents and sign-out answers 403 with this.
pub fn awaiting_approval() -> shared::account::WriteHold {
    shared::account::WriteHold {
        code: "ADVERTISER_NOT_APPROVED".into(),
        detail: "An administrator has not approved this advertiser account yet.".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn business_numbers_are_checked_by_their_last_digit() {
        // Published numbers of real companies, and each with its last digit changed.
        for ok in ["2208162517", "1248100998", "1078155843"] {
            assert!(valid_business_number(ok), "{ok}");
            let last = ok.chars().last().unwrap().to_digit(10).unwrap();
            let wrong = format!("{}{}", &ok[..9], (last + 1) % 10);
            assert!(!valid_business_number(&wrong), "{wrong}");
        }
        assert!(!valid_business_number("12345"));
        assert!(!valid_business_number("220816251７"));
    }
}
