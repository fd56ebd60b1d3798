//! Administration's keys: the audit trail's are the kernel's (every domain records its
//! administrative actions), re-exported here for the list.

pub use shared::keys::{
    ALL_AUDIT_RECORDS as ALL_RECORDS, audit_by_actor_partition as by_actor_partition,
    audit_on_target_partition as on_target_partition,
};
