//! The civil calendar (UTC dates of Unix times) and relative times.

pub const SECS_PER_DAY: i64 = 86_400;

/// `HH:MM:SS` (UTC) of a Unix time.
pub fn format_time_of_day(unix: i64) -> String {
    let s = unix.rem_euclid(SECS_PER_DAY);
    format!("{:02}:{:02}:{:02}", s / 3600, s % 3600 / 60, s % 60)
}

/// `YYYY-MM-DD` (UTC) of a Unix time.
pub fn format_date(unix: i64) -> String {
    let (y, m, d) = civil_from_days(unix.div_euclid(SECS_PER_DAY));
    format!("{y:04}-{m:02}-{d:02}")
}

/// Parses `YYYY-MM-DD` into days since the Unix epoch.
pub fn parse_date(s: &str) -> Option<i64> {
    let mut it = s.trim().splitn(3, '-');
    let y: i64 = it.next()?.parse().ok()?;
    let m: u32 = it.next()?.parse().ok()?;
    let d: u32 = it.next()?.parse().ok()?;
    if !(1970..=9999).contains(&y) || !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

// Howard Hinnant's civil-calendar algorithms.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// "in 12 days", "3 hours ago", "just now".
pub fn relative_time(now: i64, t: i64) -> String {
    let delta = t - now;
    let abs = delta.unsigned_abs() as i64;
    let (n, unit) = if abs < 60 {
        return "just now".into();
    } else if abs < 3600 {
        (abs / 60, "minute")
    } else if abs < SECS_PER_DAY {
        (abs / 3600, "hour")
    } else {
        (abs / SECS_PER_DAY, "day")
    };
    let plural = if n == 1 { "" } else { "s" };
    if delta > 0 {
        format!("in {n} {unit}{plural}")
    } else {
        format!("{n} {unit}{plural} ago")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_through_the_civil_calendar() {
        assert_eq!(format_date(0), "1970-01-01");
        assert_eq!(format_date(1_795_000_000), "2026-11-18");
        for s in ["2024-02-29", "2026-12-31", "2000-03-01"] {
            assert_eq!(format_date(parse_date(s).unwrap() * SECS_PER_DAY), s);
        }
        assert_eq!(parse_date("2025-02-29"), None);
        assert_eq!(parse_date("2026-13-01"), None);
        assert_eq!(parse_date("yesterday"), None);
    }

    #[test]
    fn relative_times_read_naturally() {
        assert_eq!(relative_time(1000, 1000 + 12 * SECS_PER_DAY + 5), "in 12 days");
        assert_eq!(relative_time(10_000, 10_000 - 3 * 3600), "3 hours ago");
        assert_eq!(relative_time(100, 110), "just now");
        assert_eq!(relative_time(0, 60), "in 1 minute");
    }
}
