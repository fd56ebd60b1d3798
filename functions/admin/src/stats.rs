//! Statistics from the daily counters ([`moderation_contract::stats`]): sign-ups, and an overview
//! of the product's activity, bucketed by day, week (Monday first) or month (from the 1st). Days
//! are Korean days; a range defaults to the last 30 days, and days without activity count 0.

use std::sync::Arc;

use chrono::{Datelike, Duration, NaiveDate};
use moderation_contract::stats::{DayCounts, Metric};
use serde::Serialize;
use shared::handler::{Caller, Okay, Params};
use shared::routes::{Access, Function, Method, Permission, enum_param, param};
use shared::{ApiError, ApiResult, AppContext, handler};
use utoipa::ToSchema;

use crate::PKG;

pub static SIGNUPS: Function =
    Function::http(Method::Get, "/admin/stats/signups", "admin-stats-signups", PKG, Access::Admin, handler!(signups))
        .permissions(&[Permission::TableRead])
        .doc("admin", "Sign-ups per day, week (from Monday) or month, in Korean time; empty buckets count 0")
        .query(&[
            param("from", false, "first day, YYYY-MM-DD (default: 29 days before `to`)"),
            param("to", false, "last day, YYYY-MM-DD (default: today in Korea)"),
            enum_param("grain", false, "bucket size (default day)", &["day", "week", "month"]),
        ]);

pub static OVERVIEW: Function = Function::http(
    Method::Get,
    "/admin/stats/overview",
    "admin-stats-overview",
    PKG,
    Access::Admin,
    handler!(overview),
)
.permissions(&[Permission::TableRead])
.doc(
    "admin",
    "Per day, week or month: sign-ups, posts, comments, listings, sales and their sum in won, chat messages, reports opened and closed",
)
.query(&[
    param("from", false, "first day, YYYY-MM-DD (default: 29 days before `to`)"),
    param("to", false, "last day, YYYY-MM-DD (default: today in Korea)"),
    enum_param("grain", false, "bucket size (default day)", &["day", "week", "month"]),
]);

/// The longest range asked for at once: three years.
const MAX_DAYS: i64 = 3 * 366;

fn date(params: &Params, name: &str) -> ApiResult<Option<NaiveDate>> {
    match params.get(name) {
        None => Ok(None),
        Some(raw) => NaiveDate::parse_from_str(raw, "%Y-%m-%d")
            .ok()
            .filter(|_| raw.len() == 10)
            .map(Some)
            .ok_or_else(|| ApiError::validation(name, "INVALID_FORMAT", "a date, YYYY-MM-DD")),
    }
}

fn range(ctx: &AppContext, params: &Params) -> ApiResult<(NaiveDate, NaiveDate)> {
    let to = date(params, "to")?.unwrap_or_else(|| moderation_contract::stats::day_of(ctx.now()));
    let from = date(params, "from")?.unwrap_or(to - Duration::days(29));
    if from > to {
        return Err(ApiError::validation("from", "OUT_OF_RANGE", "on or before 'to'"));
    }
    if (to - from).num_days() >= MAX_DAYS {
        return Err(ApiError::validation("to", "OUT_OF_RANGE", "at most three years after 'from'"));
    }
    Ok((from, to))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Grain {
    Day,
    Week,
    Month,
}

impl Grain {
    /// The first day of the bucket `day` falls in.
    fn start(self, day: NaiveDate) -> NaiveDate {
        match self {
            Grain::Day => day,
            Grain::Week => day - Duration::days(day.weekday().num_days_from_monday() as i64),
            Grain::Month => day.with_day(1).unwrap_or(day),
        }
    }
    /// The first day of the next bucket.
    fn next(self, start: NaiveDate) -> NaiveDate {
        match self {
            Grain::Day => start + Duration::days(1),
            Grain::Week => start + Duration::days(7),
            Grain::Month => start.checked_add_months(chrono::Months::new(1)).unwrap_or(start),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Bucket {
    /// The bucket's first day (a Monday for weeks, the 1st for months); the first bucket may
    /// start before `from`, and only days from `from` to `to` are counted.
    pub start: NaiveDate,
    pub count: i64,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignupStats {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// `day`, `week` or `month`.
    pub grain: String,
    pub buckets: Vec<Bucket>,
    pub total: i64,
}

fn grain_of(params: &Params) -> ApiResult<Grain> {
    match params.raw("grain") {
        None | Some("day") => Ok(Grain::Day),
        Some("week") => Ok(Grain::Week),
        Some("month") => Ok(Grain::Month),
        Some(_) => Err(ApiError::validation("grain", "INVALID", "day, week or month")),
    }
}

pub async fn signups(ctx: Arc<AppContext>, _admin: Caller, params: Params) -> ApiResult<Okay<SignupStats>> {
    let grain = grain_of(&params)?;
    let (from, to) = range(&ctx, &params)?;
    let days = moderation_contract::stats::days(&ctx, from, to).await?;
    let mut buckets = Vec::new();
    let mut start = grain.start(from);
    while start <= to {
        let end = grain.next(start);
        let count = days.range(start.max(from)..end.min(to + Duration::days(1))).map(|(_, c)| c.signups).sum();
        buckets.push(Bucket { start, count });
        start = end;
    }
    let total = buckets.iter().map(|b| b.count).sum();
    let grain = format!("{grain:?}").to_lowercase();
    Ok(Okay(SignupStats { from, to, grain, buckets, total }))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Day {
    /// The bucket's first day: the day, the Monday of the week, or the 1st of the month (the
    /// first bucket may start before `from`; only days from `from` to `to` are counted).
    pub date: NaiveDate,
    #[serde(flatten)]
    pub counts: DayCounts,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Overview {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// `day`, `week` or `month`.
    pub grain: String,
    /// Every bucket of the range (every day, by default), oldest first; empty ones count 0.
    pub days: Vec<Day>,
    pub totals: DayCounts,
}

pub async fn overview(ctx: Arc<AppContext>, _admin: Caller, params: Params) -> ApiResult<Okay<Overview>> {
    let grain = grain_of(&params)?;
    let (from, to) = range(&ctx, &params)?;
    let found = moderation_contract::stats::days(&ctx, from, to).await?;
    let mut days = Vec::new();
    let mut totals = DayCounts::default();
    let mut start = grain.start(from);
    while start <= to {
        let end = grain.next(start);
        let mut counts = DayCounts::default();
        for (_, c) in found.range(start.max(from)..end.min(to + Duration::days(1))) {
            for m in Metric::ALL {
                counts.add(m, c.get(m));
                totals.add(m, c.get(m));
            }
        }
        days.push(Day { date: start, counts });
        start = end;
    }
    let grain = format!("{grain:?}").to_lowercase();
    Ok(Okay(Overview { from, to, grain, days, totals }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weeks_start_on_monday_and_months_on_the_first() {
        let d = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap(); // a Sunday
        assert_eq!(Grain::Week.start(d).to_string(), "2026-11-16");
        assert_eq!(Grain::Month.start(d).to_string(), "2026-11-01");
        assert_eq!(Grain::Month.next(NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()).to_string(), "2026-02-01");
        assert_eq!(Grain::Week.next(Grain::Week.start(d)).to_string(), "2026-11-23");
    }
}
