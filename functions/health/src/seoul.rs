//! Health care lives in Korean time: a "day" is a day in Asia/Seoul (UTC+9, no daylight saving).

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};

pub fn offset() -> FixedOffset {
    shared::clock::seoul()
}

/// Today in Seoul.
pub fn today(now: DateTime<Utc>) -> NaiveDate {
    shared::clock::seoul_day(now)
}

/// A `YYYY-MM-DD` date.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    if s.len() != 10 {
        return None;
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

/// The days `from` to `to` of a query (`YYYY-MM-DD` each), at most `days` of them.
pub fn window(params: &shared::handler::Params, days: i64) -> shared::ApiResult<(NaiveDate, NaiveDate)> {
    use shared::ApiError;
    let day = |name: &str| {
        let raw = params.get(name).ok_or_else(|| ApiError::validation(name, "REQUIRED", "a date, YYYY-MM-DD"))?;
        parse_date(raw).ok_or_else(|| ApiError::validation(name, "INVALID_FORMAT", "a date, YYYY-MM-DD"))
    };
    let (from, to) = (day("from")?, day("to")?);
    if to < from || (to - from).num_days() >= days {
        return Err(ApiError::validation(
            "to",
            "OUT_OF_RANGE",
            format!("from 'from' to at most {} days later", days - 1),
        ));
    }
    Ok((from, to))
}
