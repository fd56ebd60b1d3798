//! EventBridge schedule expressions, read as EventBridge reads them, so that the expression the
//! template gives a job is what fires it locally:
//!
//! - `rate(<value> <unit>)`: a positive whole number of minutes, hours or days (the unit
//!   singular for 1, plural otherwise);
//! - `cron(<minutes> <hours> <day-of-month> <month> <day-of-week> <year>)`, in UTC, one of the two
//!   day fields `?`. The fields are parsed by `croner` with Quartz-style weekdays (1 is Sunday),
//!   as EventBridge numbers them.

use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};

/// A parsed schedule expression.
#[derive(Debug)]
pub enum Schedule {
    /// Every this long (from when the rule starts).
    Rate(Duration),
    Cron(Box<Cron>),
}

impl FromStr for Schedule {
    type Err = String;

    fn from_str(expr: &str) -> Result<Self, String> {
        if let Some(inner) = expr.strip_prefix("rate(").and_then(|r| r.strip_suffix(')')) {
            return rate(inner).map(Schedule::Rate);
        }
        if let Some(inner) = expr.strip_prefix("cron(").and_then(|r| r.strip_suffix(')')) {
            return cron(inner).map(|c| Schedule::Cron(Box::new(c)));
        }
        Err(format!("{expr}: neither rate(...) nor cron(...)"))
    }
}

fn rate(inner: &str) -> Result<Duration, String> {
    let (value, unit) = inner.split_once(' ').ok_or_else(|| format!("rate({inner}): a value and a unit"))?;
    let value: i64 = value
        .parse()
        .ok()
        .filter(|v| *v > 0)
        .ok_or_else(|| format!("rate({inner}): the value is a positive whole number"))?;
    let (singular, every) = match unit.trim_end_matches('s') {
        "minute" => ("minute", Duration::minutes(1)),
        "hour" => ("hour", Duration::hours(1)),
        "day" => ("day", Duration::days(1)),
        _ => return Err(format!("rate({inner}): the unit is minute(s), hour(s) or day(s)")),
    };
    let expected = if value == 1 { singular.to_string() } else { format!("{singular}s") };
    if unit != expected {
        return Err(format!("rate({inner}): {value} takes `{expected}`"));
    }
    Ok(every * i32::try_from(value).map_err(|_| format!("rate({inner}): too long"))?)
}

fn cron(inner: &str) -> Result<Cron, String> {
    let fields: Vec<&str> = inner.split_whitespace().collect();
    let [_, _, day_of_month, _, day_of_week, _] = fields.as_slice() else {
        return Err(format!("cron({inner}): six fields (minutes hours day-of-month month day-of-week year)"));
    };
    if (*day_of_month == "?") == (*day_of_week == "?") {
        return Err(format!("cron({inner}): exactly one of day-of-month and day-of-week is `?`"));
    }
    // croner takes a year only after a seconds field: EventBridge fires on the minute.
    CronParser::builder()
        .seconds(Seconds::Required)
        .year(Year::Required)
        .alternative_weekdays(true)
        .build()
        .parse(&format!("0 {inner}"))
        .map_err(|e| format!("cron({inner}): {e}"))
}

impl Schedule {
    /// When it fires next after `after` (for a rate: one period later). `None`: never again.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Schedule::Rate(every) => Some(after + *every),
            Schedule::Cron(c) => c.find_next_occurrence(&after, false).ok(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn next(expr: &str, after: &str) -> DateTime<Utc> {
        expr.parse::<Schedule>().unwrap().next_after(at(after)).unwrap()
    }

    #[test]
    fn rates_fire_one_period_later() {
        assert_eq!(next("rate(1 minute)", "2026-12-01T00:00:30Z"), at("2026-12-01T00:01:30Z"));
        assert_eq!(next("rate(15 minutes)", "2026-12-01T00:00:00Z"), at("2026-12-01T00:15:00Z"));
        assert_eq!(next("rate(1 day)", "2026-12-01T10:00:00Z"), at("2026-12-02T10:00:00Z"));
        for bad in [
            "rate(1 minutes)",
            "rate(5 minute)",
            "rate(0 minutes)",
            "rate(2 weeks)",
            "rate(minutes)",
            "rate(1.5 hours)",
        ] {
            assert!(bad.parse::<Schedule>().is_err(), "{bad} is refused, as EventBridge refuses it");
        }
    }

    #[test]
    fn cron_fields_are_eventbridges_in_utc() {
        // 17:00 UTC is 02:00 in Seoul.
        assert_eq!(next("cron(0 17 * * ? *)", "2026-12-01T16:59:00Z"), at("2026-12-01T17:00:00Z"));
        assert_eq!(next("cron(0 17 * * ? *)", "2026-12-01T17:00:00Z"), at("2026-12-02T17:00:00Z"));
        assert_eq!(next("cron(5 15 * * ? *)", "2026-12-01T16:00:00Z"), at("2026-12-02T15:05:00Z"));
        // Weekdays are EventBridge's: 1 is Sunday (2026-12-06 is a Sunday), 2 Monday.
        assert_eq!(next("cron(0 9 ? * 1 *)", "2026-12-01T00:00:00Z"), at("2026-12-06T09:00:00Z"));
        assert_eq!(next("cron(0 9 ? * MON *)", "2026-12-01T00:00:00Z"), at("2026-12-07T09:00:00Z"));
        assert_eq!(next("cron(0 9 ? * 2 *)", "2026-12-01T00:00:00Z"), at("2026-12-07T09:00:00Z"));
        assert_eq!(next("cron(30 0 1 * ? 2027)", "2026-12-01T00:00:00Z"), at("2027-01-01T00:30:00Z"));
        for bad in ["cron(0 17 * * * *)", "cron(0 17 ? * ? *)", "cron(0 17 * * ?)", "cron(61 17 * * ? *)", "every day"]
        {
            assert!(bad.parse::<Schedule>().is_err(), "{bad} is refused, as EventBridge refuses it");
        }
    }

    /// Every job's expression, as the template gives it to EventBridge, is one this reads.
    #[test]
    fn every_jobs_schedule_parses() {
        let jobs = crate::catalog::jobs();
        assert!(jobs.len() >= 10);
        for job in jobs {
            let schedule: Schedule = job.schedule.parse().unwrap_or_else(|e| panic!("{}: {e}", job.name));
            let now = Utc::now();
            let fires = schedule.next_after(now).expect("fires again");
            assert!(fires > now && fires <= now + Duration::days(1), "{} fires within a day", job.name);
        }
    }
}
