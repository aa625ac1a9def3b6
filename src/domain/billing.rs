//! Monthly renewal rules: calendar dates in UTC, months that keep the day of the first
//! purchase (the anchor day) where the month has it, and what a number is due on a given day.
//! Dates are stored as the Unix second of their midnight UTC.

use jiff::civil::Date;

/// Seconds in a day.
pub const DAY: i64 = 86_400;

/// The date (midnight UTC) of a moment.
pub fn day_of(t: i64) -> i64 {
    t.div_euclid(DAY) * DAY
}

fn to_date(day: i64) -> Option<Date> {
    jiff::Timestamp::from_second(day)
        .ok()
        .map(|ts| ts.to_zoned_datetime(jiff::tz::TimeZone::UTC).date())
}

fn from_date(d: Date) -> Option<i64> {
    d.to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .ok()
        .map(|z| z.timestamp().as_second())
}

/// The day of the month of `day` (1–31).
pub fn day_of_month(day: i64) -> i32 {
    to_date(day).map_or(1, |d| i32::from(d.day()))
}

/// `day` moved `months` calendar months on, on the anchor day where that month has it and on
/// its last day otherwise: Jan 31 → Feb 28 (29 in a leap year) → Mar 31.
pub fn add_months_anchored(day: i64, months: i32, anchor_day: i32) -> i64 {
    let Some(d) = to_date(day) else {
        return day + i64::from(months) * 30 * DAY;
    };
    let total = i32::from(d.year()) * 12 + i32::from(d.month()) - 1 + months;
    let (year, month) = (total.div_euclid(12), total.rem_euclid(12) + 1);
    let (Ok(y), Ok(m)) = (i16::try_from(year), i8::try_from(month)) else {
        return day + i64::from(months) * 30 * DAY;
    };
    let first = Date::new(y, m, 1).ok();
    let last = first.map_or(28, |f| i32::from(f.days_in_month()));
    let dd = anchor_day.clamp(1, last);
    Date::new(y, m, i8::try_from(dd).unwrap_or(28))
        .ok()
        .and_then(from_date)
        .unwrap_or(day + i64::from(months) * 30 * DAY)
}

/// Parses `YYYY-MM-DD` into its midnight UTC.
pub fn parse_day(s: &str) -> Option<i64> {
    s.trim().parse::<Date>().ok().and_then(from_date)
}

/// `2026-12-04`.
pub fn format_day(day: i64) -> String {
    to_date(day).map_or_else(|| format!("@{day}"), |d| d.to_string())
}

/// What the renewal cycle owes a number on day `today`, judged by its own dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Due {
    /// The renewal invoice for the month starting at `paid_through` should exist.
    pub invoice: bool,
    /// The renewal is unpaid and `paid_through` has come: tell the customer once.
    pub overdue_notice: bool,
    /// Unpaid for the grace period: suspend (an active number).
    pub suspend: bool,
    /// Set to cancel and `paid_through` has come: cancel.
    pub cancel: bool,
}

/// The cycle's rules for one number. `paid` says whether the renewal of the month starting at
/// `paid_through` has been paid (then `paid_through` would have moved on, so it is false in
/// practice; it is here so the rule reads whole).
pub fn due(
    today: i64,
    paid_through: i64,
    notice_days: i64,
    grace_days: i64,
    cancel_scheduled: bool,
) -> Due {
    if cancel_scheduled {
        return Due {
            invoice: false,
            overdue_notice: false,
            suspend: false,
            cancel: today >= paid_through,
        };
    }
    Due {
        invoice: today >= paid_through - notice_days * DAY,
        overdue_notice: today >= paid_through,
        suspend: today >= paid_through + grace_days * DAY,
        cancel: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> i64 {
        parse_day(s).unwrap()
    }

    #[test]
    fn months_keep_the_anchor_day() {
        let mut day = d("2027-01-31");
        let mut seen = Vec::new();
        for _ in 0..12 {
            day = add_months_anchored(day, 1, 31);
            seen.push(format_day(day));
        }
        assert_eq!(
            seen,
            [
                "2027-02-28",
                "2027-03-31",
                "2027-04-30",
                "2027-05-31",
                "2027-06-30",
                "2027-07-31",
                "2027-08-31",
                "2027-09-30",
                "2027-10-31",
                "2027-11-30",
                "2027-12-31",
                "2028-01-31"
            ]
        );
        assert_eq!(
            format_day(add_months_anchored(d("2028-01-31"), 1, 31)),
            "2028-02-29"
        );
        assert_eq!(
            format_day(add_months_anchored(d("2028-02-29"), 1, 29)),
            "2028-03-29"
        );
        assert_eq!(
            format_day(add_months_anchored(d("2026-12-15"), 1, 15)),
            "2027-01-15"
        );
    }

    #[test]
    fn days_parse_format_and_truncate() {
        assert_eq!(format_day(d("2026-12-04")), "2026-12-04");
        assert_eq!(day_of(d("2026-12-04") + 3600 * 23 + 59), d("2026-12-04"));
        assert_eq!(day_of_month(d("2026-03-31")), 31);
        assert!(parse_day("2026-02-30").is_none());
        assert!(parse_day("yesterday").is_none());
    }

    #[test]
    fn what_is_due_when() {
        let pt = d("2027-03-31");
        let at = |s| due(d(s), pt, 7, 7, false);
        assert_eq!(
            at("2027-03-23"),
            Due {
                invoice: false,
                overdue_notice: false,
                suspend: false,
                cancel: false
            }
        );
        assert!(at("2027-03-24").invoice && !at("2027-03-24").overdue_notice);
        assert!(at("2027-03-31").overdue_notice && !at("2027-03-31").suspend);
        assert!(at("2027-04-07").suspend);
        let cancelling = |s| due(d(s), pt, 7, 7, true);
        assert!(!cancelling("2027-03-30").cancel && !cancelling("2027-03-30").invoice);
        assert!(cancelling("2027-03-31").cancel);
    }
}
