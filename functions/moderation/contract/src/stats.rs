//! Daily counters for the administrators' statistics. A counted fact (a sign-up, a post, a
//! sale…) commits a **tally** in its own transaction: a small item of its own in the partition of
//! one shard of the day's counters, naming what it adds. The administration's stream consumer
//! ([`COUNTED`], see [`shared::counters`]) adds the tallies to the shard's counters, once each.
//! So the counts are exact (never lost with the fact, never counted twice), and facts committed
//! at once write no item in common: they do not collide. A day is a day in Korea (Asia/Seoul,
//! UTC+9, no daylight saving).
//!
//! | item | PK | SK |
//! |---|---|---|
//! | one shard of a day's counters | `STATS#<year>#<shard 0–7>` | `<YYYY-MM-DD>` |
//! | a tally, until it expires two days on | `STATS#<year>#<shard 0–7>` | `TALLY#<YYYY-MM-DD>#<id>#<metric>=<n>,…` |
//!
//! A day's counters are the sum of its shards. Each shard is its own partition, so the write
//! rate of the busiest day spreads over eight partitions (see the README, "Scale and cost");
//! a range of up to a year is one query per shard, made together (tallies sort after the days).

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use shared::counters::{Count, Counted};
use shared::table::{AttrValue, Key, Query, SK, SortKey, Write, s};
use shared::{ApiResult, AppContext};

use crate::keys;

/// Items a day's counters are spread over.
pub const SHARDS: u32 = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Metric {
    Signups,
    Posts,
    Comments,
    Listings,
    Sales,
    /// The sum of sales, in won.
    SalesKrw,
    ChatMessages,
    ReportsOpened,
    ReportsClosed,
}

impl Metric {
    pub const ALL: [Metric; 9] = [
        Metric::Signups,
        Metric::Posts,
        Metric::Comments,
        Metric::Listings,
        Metric::Sales,
        Metric::SalesKrw,
        Metric::ChatMessages,
        Metric::ReportsOpened,
        Metric::ReportsClosed,
    ];

    /// The counter's attribute (and its name in the API).
    pub fn attribute(self) -> &'static str {
        match self {
            Metric::Signups => "signups",
            Metric::Posts => "posts",
            Metric::Comments => "comments",
            Metric::Listings => "listings",
            Metric::Sales => "sales",
            Metric::SalesKrw => "salesKrw",
            Metric::ChatMessages => "chatMessages",
            Metric::ReportsOpened => "reportsOpened",
            Metric::ReportsClosed => "reportsClosed",
        }
    }
}

/// Korea's offset.
pub fn kst() -> FixedOffset {
    shared::clock::seoul()
}

/// The Korean day of an instant.
pub fn day_of(at: DateTime<Utc>) -> NaiveDate {
    shared::clock::seoul_day(at)
}

/// How long a tally is kept: the stream keeps records a day, so a tally older than that was
/// counted or never will be.
const TALLY_DAYS: i64 = 2;

/// The write that adds `changes` to the counters of `at`'s day: a tally, joined to the fact's
/// transaction.
pub fn count(at: DateTime<Utc>, changes: &[(Metric, i64)]) -> Write {
    let shard = at.timestamp_subsec_nanos() % SHARDS;
    let day = day_of(at);
    let adds: Vec<String> = changes.iter().map(|(m, v)| format!("{}={v}", m.attribute())).collect();
    let key = keys::tally_key(day, shard, &shared::ids::new_id(at), &adds.join(","));
    let mut item = key.to_item();
    item.insert(shared::table::TTL_ATTRIBUTE.into(), AttrValue::N((at.timestamp() + TALLY_DAYS * 86_400).to_string()));
    item.insert(shared::table::ENTITY_TYPE.into(), s("StatsTally"));
    Write::put_item(item)
}

/// The counts a tally at `key` adds: each metric it names, on its day's shard.
pub fn counts_of_tally(key: &Key) -> Vec<Count> {
    let Some((day, shard, adds)) = keys::tally_parts(key) else { return Vec::new() };
    adds.split(',')
        .filter_map(|add| {
            let (name, v) = add.split_once('=')?;
            let metric = Metric::ALL.into_iter().find(|m| m.attribute() == name)?;
            Some(Count { key: keys::stats_key(day, shard), attribute: metric.attribute(), by: v.parse().ok()? })
        })
        .collect()
}

/// What the administration's counter consumer counts: tallies, on their day's shard (made by the
/// day's first tally; a tally that expires was counted for good).
pub const COUNTED: Counted =
    Counted { sort_prefix: keys::TALLIES, counts: counts_of_tally, removals: false, creates: true };

/// One day's counters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DayCounts {
    pub signups: i64,
    pub posts: i64,
    pub comments: i64,
    pub listings: i64,
    pub sales: i64,
    pub sales_krw: i64,
    pub chat_messages: i64,
    pub reports_opened: i64,
    pub reports_closed: i64,
}

impl DayCounts {
    pub fn get(&self, m: Metric) -> i64 {
        match m {
            Metric::Signups => self.signups,
            Metric::Posts => self.posts,
            Metric::Comments => self.comments,
            Metric::Listings => self.listings,
            Metric::Sales => self.sales,
            Metric::SalesKrw => self.sales_krw,
            Metric::ChatMessages => self.chat_messages,
            Metric::ReportsOpened => self.reports_opened,
            Metric::ReportsClosed => self.reports_closed,
        }
    }

    pub fn add(&mut self, m: Metric, v: i64) {
        let slot = match m {
            Metric::Signups => &mut self.signups,
            Metric::Posts => &mut self.posts,
            Metric::Comments => &mut self.comments,
            Metric::Listings => &mut self.listings,
            Metric::Sales => &mut self.sales,
            Metric::SalesKrw => &mut self.sales_krw,
            Metric::ChatMessages => &mut self.chat_messages,
            Metric::ReportsOpened => &mut self.reports_opened,
            Metric::ReportsClosed => &mut self.reports_closed,
        };
        *slot += v;
    }
}

/// The counters of every day from `from` to `to` (inclusive) that has any: one query per shard
/// and calendar year the range touches, made concurrently.
pub async fn days(ctx: &AppContext, from: NaiveDate, to: NaiveDate) -> ApiResult<BTreeMap<NaiveDate, DayCounts>> {
    let mut out: BTreeMap<NaiveDate, DayCounts> = BTreeMap::new();
    let range = SortKey::Between(from.format("%Y-%m-%d").to_string(), to.format("%Y-%m-%d").to_string());
    let queries: Vec<Query> = (from.year()..=to.year())
        .flat_map(|year| (0..SHARDS).map(move |shard| (year, shard)))
        .map(|(year, shard)| Query::partition(keys::stats_partition(year, shard)).sort(range.clone()).limit(1000))
        .collect();
    let pages = futures::future::try_join_all(queries.iter().map(|q| ctx.table.query_items_all(q, None))).await?;
    for item in pages.into_iter().flatten() {
        let Some(AttrValue::S(sk)) = item.get(SK) else { continue };
        let Ok(day) = NaiveDate::parse_from_str(sk, "%Y-%m-%d") else { continue };
        let counts = out.entry(day).or_default();
        for m in Metric::ALL {
            if let Some(AttrValue::N(v)) = item.get(m.attribute()) {
                counts.add(m, v.parse().unwrap_or(0));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_is_a_korean_day() {
        let late = DateTime::parse_from_rfc3339("2026-03-01T15:30:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(day_of(late).to_string(), "2026-03-02", "00:30 in Seoul");
        let early = DateTime::parse_from_rfc3339("2026-03-01T14:59:59Z").unwrap().with_timezone(&Utc);
        assert_eq!(day_of(early).to_string(), "2026-03-01");
    }

    #[test]
    fn a_tally_names_what_it_adds_on_its_days_shard() {
        let day = NaiveDate::from_ymd_opt(2026, 12, 6).unwrap();
        let key = keys::tally_key(day, 3, "01JD3K4Q5R6S7T8V9W0XYZABCD", "sales=1,salesKrw=15000");
        assert_eq!(
            counts_of_tally(&key),
            vec![
                Count { key: keys::stats_key(day, 3), attribute: "sales", by: 1 },
                Count { key: keys::stats_key(day, 3), attribute: "salesKrw", by: 15000 },
            ]
        );
        // Tallies sort after every day, so a range of days never reads them.
        assert!(key.sk.as_str() > "9999-12-31");
        assert!(counts_of_tally(&Key::new("STATS#2026#3", "2026-12-06")).is_empty());
        assert!(counts_of_tally(&keys::tally_key(day, 3, "x", "nonsense=1")).is_empty());
    }
}
