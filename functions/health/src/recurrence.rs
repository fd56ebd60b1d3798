//! When a schedule happens: its occurrences between two days.
//!
//! - `DAILY`: every `interval` days from the start.
//! - `WEEKLY`: every `interval` weeks, on the start's weekday.
//! - `MONTHLY`: every `interval` months, on the start's day of the month; a month without that
//!   day (the 31st in April, the 30th in February) has it on its last day. Each month is counted
//!   from the start, so 31 January gives 28 (or 29) February, then 31 March — never drifting.
//! - `YEARLY`: every `interval` years on the start's date; 29 February falls on 28 February in
//!   other years.
//! - `NONE`: every day from the start to the end (a one-day schedule when they are the same).

use chrono::{Datelike, Duration, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Recurrence {
    None,
    Daily,
    Weekly,
    Monthly,
    Yearly,
}

/// The last day of a month.
fn month_end(year: i32, month: u32) -> u32 {
    let (ny, nm) = if month == 12 { (year + 1, 1) } else { (year, month + 1) };
    NaiveDate::from_ymd_opt(ny, nm, 1).and_then(|d| d.pred_opt()).map(|d| d.day()).unwrap_or(28)
}

/// The start's day in the month `k` months after the start's month (clamped to its end).
fn months_after(start: NaiveDate, k: i64) -> Option<NaiveDate> {
    let index = start.year() as i64 * 12 + start.month0() as i64 + k;
    let (year, month) = ((index.div_euclid(12)) as i32, (index.rem_euclid(12)) as u32 + 1);
    NaiveDate::from_ymd_opt(year, month, start.day().min(month_end(year, month)))
}

/// The days `recurrence` happens on within `[from, to]`, given its `start`, optional `end`
/// (inclusive) and `interval` (≥ 1). At most `limit` days.
pub fn occurrences(
    recurrence: Recurrence,
    start: NaiveDate,
    end: Option<NaiveDate>,
    interval: u32,
    from: NaiveDate,
    to: NaiveDate,
    limit: usize,
) -> Vec<NaiveDate> {
    let interval = interval.max(1) as i64;
    let last = end.map_or(to, |e| e.min(to));
    let first = from.max(start);
    let mut out = Vec::new();
    if first > last {
        return out;
    }
    let keep = |d: NaiveDate| d >= first && d <= last;
    match recurrence {
        Recurrence::None => {
            let mut d = first;
            while d <= last && out.len() < limit {
                out.push(d);
                d += Duration::days(1);
            }
        }
        Recurrence::Daily | Recurrence::Weekly => {
            let step = if recurrence == Recurrence::Daily { interval } else { interval * 7 };
            // The first step on or after `first`.
            let behind = (first - start).num_days();
            let mut k = (behind + step - 1).div_euclid(step).max(0);
            loop {
                let d = start + Duration::days(k * step);
                if d > last || out.len() >= limit {
                    break;
                }
                if keep(d) {
                    out.push(d);
                }
                k += 1;
            }
        }
        Recurrence::Monthly | Recurrence::Yearly => {
            let step = if recurrence == Recurrence::Monthly { interval } else { interval * 12 };
            let months_behind =
                (first.year() as i64 * 12 + first.month0() as i64) - (start.year() as i64 * 12 + start.month0() as i64);
            // Start one step early: the clamped day may fall before `first` in its month.
            let mut k = (months_behind.div_euclid(step) - 1).max(0) * step;
            while let Some(d) = months_after(start, k) {
                if d > last || out.len() >= limit {
                    break;
                }
                if keep(d) {
                    out.push(d);
                }
                k += step;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn days(v: Vec<NaiveDate>) -> Vec<String> {
        v.into_iter().map(|d| d.to_string()).collect()
    }

    #[test]
    fn daily_every_other_day() {
        let o = occurrences(Recurrence::Daily, d("2026-12-01"), None, 2, d("2026-12-04"), d("2026-12-10"), 100);
        assert_eq!(days(o), ["2026-12-05", "2026-12-07", "2026-12-09"]);
    }

    #[test]
    fn weekly_on_the_starts_weekday() {
        // 2026-12-02 is a Wednesday.
        let o = occurrences(
            Recurrence::Weekly,
            d("2026-12-02"),
            Some(d("2026-12-30")),
            1,
            d("2026-12-01"),
            d("2027-01-31"),
            100,
        );
        assert_eq!(days(o), ["2026-12-02", "2026-12-09", "2026-12-16", "2026-12-23", "2026-12-30"]);
        let two = occurrences(Recurrence::Weekly, d("2026-12-02"), None, 2, d("2026-12-10"), d("2027-01-10"), 100);
        assert_eq!(days(two), ["2026-12-16", "2026-12-30"]);
    }

    #[test]
    fn monthly_on_the_31st_falls_on_the_last_day_of_shorter_months() {
        let o = occurrences(Recurrence::Monthly, d("2027-01-31"), None, 1, d("2027-01-01"), d("2027-07-31"), 100);
        assert_eq!(
            days(o),
            ["2027-01-31", "2027-02-28", "2027-03-31", "2027-04-30", "2027-05-31", "2027-06-30", "2027-07-31"]
        );
        let leap = occurrences(Recurrence::Monthly, d("2028-01-31"), None, 1, d("2028-02-01"), d("2028-02-29"), 100);
        assert_eq!(days(leap), ["2028-02-29"]);
        let every_two =
            occurrences(Recurrence::Monthly, d("2027-01-31"), None, 2, d("2027-02-15"), d("2027-09-30"), 100);
        assert_eq!(days(every_two), ["2027-03-31", "2027-05-31", "2027-07-31", "2027-09-30"]);
    }

    #[test]
    fn yearly_on_29_february_is_28_february_in_other_years() {
        let o = occurrences(Recurrence::Yearly, d("2028-02-29"), None, 1, d("2028-01-01"), d("2032-12-31"), 100);
        assert_eq!(days(o), ["2028-02-29", "2029-02-28", "2030-02-28", "2031-02-28", "2032-02-29"]);
    }

    #[test]
    fn none_covers_start_to_end_and_nothing_outside() {
        let o = occurrences(
            Recurrence::None,
            d("2026-12-24"),
            Some(d("2026-12-26")),
            1,
            d("2026-12-01"),
            d("2026-12-31"),
            100,
        );
        assert_eq!(days(o), ["2026-12-24", "2026-12-25", "2026-12-26"]);
        assert!(
            occurrences(Recurrence::Daily, d("2026-12-24"), None, 1, d("2026-12-01"), d("2026-12-23"), 100).is_empty()
        );
        assert_eq!(
            occurrences(Recurrence::Daily, d("2026-01-01"), None, 1, d("2026-01-01"), d("2026-12-31"), 10).len(),
            10
        );
    }
}
