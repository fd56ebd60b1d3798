//! Every kind of content a user can report, as the domain that owns it describes it
//! (`REPORTABLE` in its contract: how to read it, where its removals go). Administration knows
//! no content by itself: a new kind is an entry in its domain's contract, and a new domain one
//! line here.

use moderation_contract::moderation::{Reportable, TargetType};

/// Each owning domain's list.
const DOMAINS: &[&[Reportable]] = &[
    identity_contract::REPORTABLE,
    diary_contract::REPORTABLE,
    market_contract::REPORTABLE,
    chat_contract::REPORTABLE,
    community_contract::REPORTABLE,
    campaigns_contract::REPORTABLE,
];

/// How the domain that owns `target_type` reads and removes it.
pub fn reportable(target_type: TargetType) -> Option<&'static Reportable> {
    DOMAINS.iter().flat_map(|d| d.iter()).find(|r| r.target_type == target_type)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_target_type_has_one_owner() {
        for t in TargetType::ALL {
            let owners = DOMAINS.iter().flat_map(|d| d.iter()).filter(|r| r.target_type == t).count();
            assert_eq!(owners, 1, "{} is owned by {owners} domains", t.as_str());
        }
    }
}
