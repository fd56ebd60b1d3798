//! Administration's items that other domains write or read.
//!
//! | item | PK | SK |
//! |---|---|---|
//! | one shard of a day's counters | `STATS#<year>#<shard 0–7>` | `<YYYY-MM-DD>` |
//! | a statistics tally (see `stats`) | `STATS#<year>#<shard 0–7>` | `TALLY#<YYYY-MM-DD>#<id>#<metric>=<n>,…` |
//! | audit record | `AUDIT#<id>` | `RECORD` (GSI1 `AUDITS`; GSI2 `AUDITBY#<actor>`; GSI3 `AUDITON#<target>`; each `<id>`) |
//! | a user's open report of a target | `REPORTLOCK#<reporter>#<type>#<id>` | `OPEN` |
//! | report | `REPORT#<id>` | `REPORT` (GSI1 `REPORTS#<status>`; GSI2 `REPORTSON#<reported user>`; GSI3 `REPORTED#<type>#<target id>`; each `<id>`, newest first) |

use shared::table::Key;

/// One shard of one year's daily counters. The shard is in the partition key, not only in the
/// item: every post, comment and chat message adds to its day's counters, which at a million
/// daily users is about 2,600 WCU at peak (`scale-sim`), more than one partition's 1,000.
pub fn stats_partition(year: i32, shard: u32) -> String {
    format!("STATS#{year}#{shard}")
}

/// The sort-key prefix of statistics tallies in a shard's partition.
pub const TALLIES: &str = "TALLY#";

/// A tally of `day` in `shard`: its id, and what it adds (`metric=n,…`).
pub fn tally_key(day: chrono::NaiveDate, shard: u32, id: &str, adds: &str) -> Key {
    Key::new(
        stats_partition(chrono::Datelike::year(&day), shard),
        format!("{TALLIES}{}#{id}#{adds}", day.format("%Y-%m-%d")),
    )
}

/// The day, shard and additions of a tally's key.
pub fn tally_parts(key: &Key) -> Option<(chrono::NaiveDate, u32, &str)> {
    let shard = key.pk.strip_prefix("STATS#")?.split_once('#')?.1.parse().ok()?;
    let mut parts = key.sk.strip_prefix(TALLIES)?.splitn(3, '#');
    let day = chrono::NaiveDate::parse_from_str(parts.next()?, "%Y-%m-%d").ok()?;
    let _id = parts.next()?;
    Some((day, shard, parts.next()?))
}

/// One shard of one day's counters: writes spread over the shards' partitions.
pub fn stats_key(day: chrono::NaiveDate, shard: u32) -> Key {
    Key::new(stats_partition(chrono::Datelike::year(&day), shard), day.format("%Y-%m-%d").to_string())
}

/// GSI1 partition of every audit record.
pub const ALL_AUDIT_RECORDS: &str = "AUDITS";

pub fn audit_record_key(id: &str) -> Key {
    Key::new(format!("AUDIT#{id}"), "RECORD")
}

pub fn audit_by_actor_partition(actor: &str) -> String {
    format!("AUDITBY#{actor}")
}

pub fn audit_on_target_partition(target: &str) -> String {
    format!("AUDITON#{target}")
}

/// The sort key of a report.
pub const REPORT: &str = "REPORT";

/// The GSI1 partition of the reports with one status (`OPEN` is the moderators' queue).
pub fn reports_with_status(status: &str) -> String {
    format!("REPORTS#{status}")
}

/// The GSI3 partition of the reports on one target.
pub fn reports_on_target(target_type: &str, target_id: &str) -> String {
    format!("REPORTED#{target_type}#{target_id}")
}

pub fn report_partition(id: &str) -> String {
    format!("REPORT#{id}")
}

pub fn report_lock_key(reporter: &str, target_type: &str, target_id: &str) -> Key {
    Key::new(format!("REPORTLOCK#{reporter}#{target_type}#{target_id}"), "OPEN")
}

/// GSI2 partition of the reports about a user (their account or their content).
pub fn reports_against_partition(user: &str) -> String {
    format!("REPORTSON#{user}")
}
