//! Administration's keys: the audit trail's and the reports' live in its contract (every domain
//! records its administrative actions; users file reports), re-exported here for the lists.

pub use moderation_contract::keys::{
    ALL_AUDIT_RECORDS as ALL_RECORDS, audit_by_actor_partition as by_actor_partition,
    audit_on_target_partition as on_target_partition,
};
