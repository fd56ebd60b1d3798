//! What content domains and administration share, for every domain whose content can be
//! reported, removed, counted or approved (administration implements it; this crate depends on
//! the kernel only, so that both sides can use it without depending on each other):
//!
//! - [`moderation`]: what can be reported and removed, and the [`moderation::Removal`] order a
//!   domain's removal worker carries out; [`moderation::Reportable`] is what a domain gives
//!   administration for each kind of content it owns (its snapshot and its removal queue).
//! - [`reports`]: reports as users file them and moderators decide them.
//! - [`stats`]: the daily counters each domain adds to in its own transactions.
//! - [`trail`]: the audit trail record every administrative action writes.
//!
//! Item layout: [`keys`].

pub mod keys;
pub mod moderation;
pub mod reports;
pub mod stats;
pub mod trail;
