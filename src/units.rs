//! Units people read: byte sizes (`1.5 MiB`), UTC times (`2026-11-26 15:00 UTC`), HTTP dates and
//! month keys. Pure: every function takes the time it formats; only [`now_unix`] reads the clock.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch (moved on by [`advance_clock`] in builds with test hooks).
pub fn now_unix() -> u64 {
    let real = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    #[cfg(feature = "test-hooks")]
    let real = real + CLOCK_OFFSET.load(std::sync::atomic::Ordering::Relaxed);
    real
}

/// How far the integration tests moved the clock (`/_test/clock?advance=SECS`).
#[cfg(feature = "test-hooks")]
static CLOCK_OFFSET: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Moves [`now_unix`] on by `secs` (test hooks only; never in a release build).
#[cfg(feature = "test-hooks")]
pub fn advance_clock(secs: u64) {
    CLOCK_OFFSET.fetch_add(secs, std::sync::atomic::Ordering::Relaxed);
}

/// `in 3 h 12 min`, `in 5 min`: a wait in whole minutes (at least one), as the daily limit's
/// refusal says it (its window is 24 h, so hours are the largest unit).
pub fn wait_text(secs: u64) -> String {
    let mins = (secs / 60).max(1);
    match (mins / 60, mins % 60) {
        (0, m) => format!("in {m} min"),
        (h, m) => format!("in {h} h {m} min"),
    }
}

/// `512 B`, `1.5 KiB`, `20.0 MiB`, `1.95 GiB`.
pub fn human_size(bytes: u64) -> String {
    sized(bytes, f64::round)
}

/// [`human_size`] rounded up (`up`) or down at the shown precision: a file over a limit, shown
/// rounded up beside the limit rounded down, never reads as the same number.
pub fn human_size_rounded(bytes: u64, up: bool) -> String {
    sized(bytes, if up { f64::ceil } else { f64::floor })
}

fn sized(bytes: u64, round: fn(f64) -> f64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    let decimals = if value < 10.0 { 2 } else { 1 };
    let scale = 10f64.powi(decimals as i32);
    let value = round(value * scale) / scale;
    format!("{value:.decimals$} {}", UNITS[unit])
}

/// `2 days`, `5 hours`, `1 hour 30 minutes`, `45 seconds`.
pub fn human_duration(secs: u64) -> String {
    fn unit(n: u64, name: &str) -> String {
        if n == 1 { format!("1 {name}") } else { format!("{n} {name}s") }
    }
    let (d, h, m) = (secs / 86_400, secs % 86_400 / 3_600, secs % 3_600 / 60);
    match (d, h, m) {
        (0, 0, 0) => unit(secs, "second"),
        (0, 0, m) => unit(m, "minute"),
        (0, h, 0) => unit(h, "hour"),
        (0, h, m) => format!("{} {}", unit(h, "hour"), unit(m, "minute")),
        (d, 0, _) => unit(d, "day"),
        (d, h, _) => format!("{} {}", unit(d, "day"), unit(h, "hour")),
    }
}

/// Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm, inverse of `civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from((month + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The month key (`YYYY-MM`) `back` calendar months before the month of `secs`.
pub fn month_key_before(secs: u64, back: u32) -> String {
    let (y, mo, ..) = fields(secs);
    let index = y * 12 + i64::from(mo) - 1 - i64::from(back);
    format!("{:04}-{:02}", index.div_euclid(12), index.rem_euclid(12) + 1)
}

/// Unix time of the first second of the calendar month (UTC) after the one `secs` falls in.
pub fn next_month_start(secs: u64) -> u64 {
    let (y, mo, ..) = fields(secs);
    let (y, mo) = if mo == 12 { (y + 1, 1) } else { (y, mo + 1) };
    u64::try_from(days_from_civil(y, mo, 1)).unwrap_or(0) * 86_400
}

/// Calendar fields of a Unix time: (year, month, day, hour, minute, second, weekday 0=Sunday).
fn fields(secs: u64) -> (i64, u32, u32, u64, u64, u64, usize) {
    let days = i64::try_from(secs / 86_400).unwrap_or(i64::MAX / 2);
    let (y, mo, d) = civil(days);
    let rem = secs % 86_400;
    let weekday = (days + 4).rem_euclid(7) as usize;
    (y, mo, d, rem / 3600, rem % 3600 / 60, rem % 60, weekday)
}

/// `2026-11-26 15:00 UTC`.
pub fn utc_minute(secs: u64) -> String {
    let (y, mo, d, h, mi, _, _) = fields(secs);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02} UTC")
}

/// When a link expires: its UTC minute, or `never` for 0 (a link without expiry).
pub fn expires_text(expires_at: u64) -> String {
    if expires_at == 0 { "never".to_owned() } else { utc_minute(expires_at) }
}

const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const LONG_DAYS: [&str; 7] = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// RFC 9110 IMF-fixdate: `Thu, 26 Nov 2026 15:00:00 GMT`.
pub fn http_date(secs: u64) -> String {
    let (y, mo, d, h, mi, s, wd) = fields(secs);
    format!("{}, {d:02} {} {y:04} {h:02}:{mi:02}:{s:02} GMT", DAYS[wd], MONTHS[mo as usize - 1])
}

/// Calls `f` with [`http_date`] of [`now_unix`], formatted at most once a second per thread:
/// every response carries a `Date`, and formatting it took a measurable share of a small one.
pub fn with_http_date_now<R>(f: impl FnOnce(&str) -> R) -> R {
    thread_local! {
        static CACHED: std::cell::RefCell<(u64, String)> = const { std::cell::RefCell::new((u64::MAX, String::new())) };
    }
    let now = now_unix();
    CACHED.with_borrow_mut(|(secs, text)| {
        if *secs != now {
            *secs = now;
            *text = http_date(now);
        }
        f(text)
    })
}

/// An RFC 9110 §5.6.7 HTTP-date as Unix seconds: the IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`)
/// and the two obsolete forms a recipient must also read, RFC 850 (`Sunday, 06-Nov-94 08:49:37
/// GMT`, the two-digit year taken as 1970-2069) and asctime (`Sun Nov  6 08:49:37 1994`). `None`
/// for anything else: a day the month lacks, a time past 23:59:60, a year before 1970.
pub fn parse_http_date(s: &str) -> Option<u64> {
    let s = s.trim();
    let (day, month, year, time) = match s.split_once(", ") {
        Some((weekday, rest)) => {
            let mut parts = rest.split(' ');
            match (parts.next()?, parts.next(), parts.next(), parts.next(), parts.next(), parts.next()) {
                (d, Some(m), Some(y), Some(time), Some("GMT"), None) if DAYS.contains(&weekday) && y.len() == 4 => {
                    (d, m, number(y)?, time)
                }
                (dmy, Some(time), Some("GMT"), None, None, None) if LONG_DAYS.contains(&weekday) => {
                    let mut dmy = dmy.split('-');
                    let (d, m, yy) = (dmy.next()?, dmy.next()?, dmy.next()?);
                    if dmy.next().is_some() || yy.len() != 2 {
                        return None;
                    }
                    let yy = number(yy)?;
                    (d, m, if yy < 70 { 2000 + yy } else { 1900 + yy }, time)
                }
                _ => return None,
            }
        }
        None => {
            // asctime pads a day below 10 with a space: any run of spaces separates.
            let mut parts = s.split_ascii_whitespace();
            let (weekday, m, d, time, y) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?, parts.next()?);
            if parts.next().is_some() || !DAYS.contains(&weekday) || y.len() != 4 {
                return None;
            }
            (d, m, number(y)?, time)
        }
    };
    let month = MONTHS.iter().position(|&m| m == month)? as u32 + 1;
    let day = number(day).filter(|d| (1..=2).contains(&day.len()) && *d >= 1)?;
    let days = days_from_civil(i64::from(year), month, day);
    // Round trip: 31 Feb would come back as a day of March.
    if civil(days) != (i64::from(year), month, day) {
        return None;
    }
    let mut hms = time.split(':');
    let (h, mi, sec) = (number(hms.next()?)?, number(hms.next()?)?, number(hms.next()?)?);
    if hms.next().is_some() || time.len() != 8 || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let secs = days.checked_mul(86_400)? + i64::from(h * 3600 + mi * 60 + sec);
    u64::try_from(secs).ok()
}

/// A run of one to four ASCII digits.
fn number(s: &str) -> Option<u32> {
    if s.is_empty() || s.len() > 4 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `2026-11-25T15:11:49Z`: ISO 8601 in UTC, for log lines.
pub fn iso_utc(secs: u64) -> String {
    let (y, mo, d, h, mi, s, _) = fields(secs);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// `2026-11`: the key of a calendar month (UTC).
pub fn month_key(secs: u64) -> String {
    let (y, mo, ..) = fields(secs);
    format!("{y:04}-{mo:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_size_over_a_limit_rounded_up_never_reads_as_the_limit_rounded_down() {
        assert_eq!(human_size(21_000_000), "20.0 MiB");
        assert_eq!(human_size(20 * 1024 * 1024), "20.0 MiB");
        assert_eq!(human_size_rounded(21_000_000, true), "20.1 MiB");
        assert_eq!(human_size_rounded(20 * 1024 * 1024, false), "20.0 MiB");
        for (size, limit) in [(20 * 1024 * 1024 + 1, 20 * 1024 * 1024), (5_000_001, 5_000_000), (1025, 1024)] {
            assert_ne!(human_size_rounded(size, true), human_size_rounded(limit, false), "{size} {limit}");
        }
    }

    #[test]
    fn sizes_read_naturally() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(1023), "1023 B");
        assert_eq!(human_size(1536), "1.50 KiB");
        assert_eq!(human_size(20 * 1024 * 1024), "20.0 MiB");
        assert_eq!(human_size(2000 * 1024 * 1024), "1.95 GiB");
        assert_eq!(human_size(u64::MAX), "16384.0 PiB");
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human_duration(45), "45 seconds");
        assert_eq!(human_duration(60), "1 minute");
        assert_eq!(human_duration(86_400), "1 day");
        assert_eq!(human_duration(90 * 60), "1 hour 30 minutes");
        assert_eq!(human_duration(86_400 * 2 + 3_600 * 5), "2 days 5 hours");
    }

    #[test]
    fn dates_match_known_instants() {
        assert_eq!(utc_minute(0), "1970-01-01 00:00 UTC");
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        // 2026-11-25 15:11:49 UTC, a Wednesday.
        assert_eq!(http_date(1_795_619_509), "Wed, 25 Nov 2026 15:11:49 GMT");
        assert_eq!(month_key(1_795_619_509), "2026-11");
        assert_eq!(iso_utc(1_795_619_509), "2026-11-25T15:11:49Z");
        assert_eq!(month_key_before(1_795_619_509, 0), "2026-11");
        assert_eq!(month_key_before(1_795_619_509, 2), "2026-09");
        assert_eq!(month_key_before(1_795_619_509, 11), "2025-12");
        assert_eq!(utc_minute(next_month_start(1_795_619_509)), "2026-12-01 00:00 UTC");
        assert_eq!(utc_minute(next_month_start(1_798_761_599)), "2027-01-01 00:00 UTC", "December rolls the year");
        assert_eq!(utc_minute(next_month_start(951_782_400)), "2000-03-01 00:00 UTC");
        // Leap day.
        assert_eq!(utc_minute(951_782_400), "2000-02-29 00:00 UTC");
    }

    #[test]
    fn the_three_http_date_forms_read_as_the_same_instant() {
        // RFC 9110 §5.6.7's own example.
        let at = 784_111_777;
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), Some(at));
        assert_eq!(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), Some(at));
        assert_eq!(parse_http_date("Sun Nov  6 08:49:37 1994"), Some(at));
        assert_eq!(parse_http_date(" Sun, 06 Nov 1994 08:49:37 GMT "), Some(at), "surrounding space is trimmed");
        assert_eq!(
            parse_http_date("Thursday, 01-Jan-32 00:00:00 GMT"),
            Some(1_956_528_000),
            "two digits below 70: 20xx"
        );
        for secs in [0, 951_782_400, 1_795_619_509, 4_102_444_800] {
            assert_eq!(parse_http_date(&http_date(secs)), Some(secs), "{}", http_date(secs));
        }
    }

    #[test]
    fn anything_but_an_http_date_is_refused() {
        for bad in [
            "",
            "yesterday",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 06 Nov 1994 08:49:37",
            "Sun, 06 Nov 94 08:49:37 GMT",
            "Sun, 06 nov 1994 08:49:37 GMT",
            "Sun, 31 Feb 1994 08:49:37 GMT",
            "Sun, 00 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:00:00 GMT",
            "Sun, 06 Nov 1994 8:49:37 GMT",
            "Sun, 06 Nov 1994 08:49:37 GMT extra",
            "Sunday, 06 Nov 1994 08:49:37 GMT",
            "Sun, 06-Nov-94 08:49:37 GMT",
            "Sunday, 06-Nov-1994 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994 GMT",
            "Thu, 01 Jan 1969 23:59:59 GMT",
            "Sun, +6 Nov 1994 08:49:37 GMT",
        ] {
            assert_eq!(parse_http_date(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn waits_read_in_hours_and_whole_minutes() {
        assert_eq!(wait_text(3 * 3600 + 12 * 60 + 59), "in 3 h 12 min");
        assert_eq!(wait_text(59), "in 1 min");
        assert_eq!(wait_text(86_399), "in 23 h 59 min");
    }
}
