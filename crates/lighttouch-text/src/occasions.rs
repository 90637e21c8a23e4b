//! Occasions: when a birthday or anniversary next falls. Lunar dates move
//! against the solar calendar every year, so they go through tyme4rs (a
//! maintained lunisolar calendar), never a hand-made table.

use crate::dates::Calendar;
use chrono::{Datelike, NaiveDate};
use std::collections::HashMap;
use tyme4rs::tyme::lunar::{LunarDay, LunarMonth};

/// Month (negative for a lunar leap month) and day of a stored date
/// (`YYYY-MM-DD`, `--MM-DD`, `YYYY-L04-15`).
fn month_day(text: &str) -> Option<(isize, usize)> {
    let rest = text
        .strip_prefix("--")
        .unwrap_or_else(|| text.get(5..).unwrap_or(""));
    let (m, d) = rest.split_once('-')?;
    let (leap, m) = match m.strip_prefix('L') {
        Some(m) => (true, m),
        None => (false, m),
    };
    let month: isize = m.parse().ok()?;
    let day: usize = d.parse().ok()?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    Some((if leap { -month } else { month }, day))
}

/// The first date on or after `today` on which the occasion falls.
///
/// Solar 29 February falls on 28 February in common years. A lunar leap
/// month falls on the ordinary month in years without that leap month, and a
/// lunar 30th on the 29th in short months, as families usually keep them.
pub fn next_occurrence(text: &str, calendar: Calendar, today: NaiveDate) -> Option<NaiveDate> {
    let (month, day) = month_day(text)?;
    let year = today.year();
    let candidates = (year - 1..=year + 1).filter_map(|y| match calendar {
        Calendar::Solar => solar_in(y, month.unsigned_abs() as u32, day as u32),
        Calendar::Lunar => lunar_in(y as isize, month, day),
    });
    candidates.filter(|d| *d >= today).min()
}

/// Days from `today` until the occasion (0 = today).
pub fn days_until(text: &str, calendar: Calendar, today: NaiveDate) -> Option<i64> {
    // A book's 50,000 birthdays fall on at most 2 × 12 × 31 (month, day,
    // calendar) keys, and a lunar date takes microseconds of astronomy: each
    // key is worked out once per day and thread.
    type Memo = (
        Option<NaiveDate>,
        HashMap<(isize, usize, Calendar), Option<i64>>,
    );
    thread_local! {
        static DAYS: std::cell::RefCell<Memo> = std::cell::RefCell::new((None, HashMap::new()));
    }
    let key = month_day(text).map(|(m, d)| (m, d, calendar))?;
    if let Some(days) = DAYS.with_borrow(|(day, memo)| {
        (*day == Some(today))
            .then(|| memo.get(&key).copied())
            .flatten()
    }) {
        return days;
    }
    let days = next_occurrence(text, calendar, today).map(|d| (d - today).num_days());
    DAYS.with_borrow_mut(|(day, memo)| {
        if *day != Some(today) {
            *day = Some(today);
            memo.clear();
        }
        memo.insert(key, days);
    });
    days
}

fn solar_in(year: i32, month: u32, day: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(year, month, day).or_else(|| {
        (month == 2 && day == 29)
            .then(|| NaiveDate::from_ymd_opt(year, 2, 28))
            .flatten()
    })
}

fn lunar_in(year: isize, month: isize, day: usize) -> Option<NaiveDate> {
    let months = if month < 0 {
        vec![month, -month]
    } else {
        vec![month]
    };
    for m in months {
        // LunarDay::new panics (rather than erring) on a leap month the year
        // lacks, so the month is checked on its own first.
        if !(1..=9998).contains(&year) || LunarMonth::validate(year, m).is_err() {
            continue;
        }
        for d in [day, day.saturating_sub(1)] {
            if d == 0 || day - d > 1 {
                continue;
            }
            if let Ok(lunar) = LunarDay::new(year, m, d) {
                let solar = lunar.get_solar_day();
                return NaiveDate::from_ymd_opt(
                    solar.get_year() as i32,
                    solar.get_month() as u32,
                    solar.get_day() as u32,
                );
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    /// The remembered answers are the answers: across days, calendars, the
    /// year written or not, and texts that are no date at all.
    #[test]
    fn remembered_days_match_working_them_out() {
        let texts = [
            "1990-02-29",
            "--02-29",
            "1985-L04-10",
            "--08-15",
            "2001-12-31",
            "1970-01-01",
            "--13-01",
            "junk",
            "1990-05-12",
            "1995-05-12",
        ];
        let mut day = date("2026-01-01");
        for _ in 0..60 {
            for text in texts {
                for cal in [Calendar::Solar, Calendar::Lunar] {
                    let want = next_occurrence(text, cal, day).map(|d| (d - day).num_days());
                    assert_eq!(days_until(text, cal, day), want, "{text} {cal:?} on {day}");
                    assert_eq!(days_until(text, cal, day), want, "asked again");
                }
            }
            day += chrono::Duration::days(7);
        }
    }

    #[test]
    fn solar_birthdays_roll_to_next_year() {
        let today = date("2026-11-24");
        assert_eq!(
            next_occurrence("1990-11-24", Calendar::Solar, today),
            Some(today)
        );
        assert_eq!(
            next_occurrence("--01-05", Calendar::Solar, today),
            Some(date("2027-01-05"))
        );
        assert_eq!(days_until("1988-12-01", Calendar::Solar, today), Some(7));
        assert_eq!(
            next_occurrence("2000-02-29", Calendar::Solar, date("2026-03-01")),
            Some(date("2027-02-28"))
        );
        assert_eq!(next_occurrence("garbage", Calendar::Solar, today), None);
    }

    #[test]
    fn lunar_birthdays_follow_the_lunar_calendar() {
        // 农历八月十五 (中秋) was 2026-09-25 and is 2027-09-15.
        assert_eq!(
            next_occurrence("1985-08-15", Calendar::Lunar, date("2026-09-01")),
            Some(date("2026-09-25"))
        );
        assert_eq!(
            next_occurrence("--08-15", Calendar::Lunar, date("2026-11-24")),
            Some(date("2027-09-15"))
        );
        // 正月初一 2027 is 2027-02-06.
        assert_eq!(
            next_occurrence("--01-01", Calendar::Lunar, date("2026-11-24")),
            Some(date("2027-02-06"))
        );
    }

    #[test]
    fn lunar_leap_month_falls_back_to_the_ordinary_month() {
        // 2026 has no leap 4th month; 农历四月初八 2026 is 2026-05-24.
        assert_eq!(
            next_occurrence("2020-L04-08", Calendar::Lunar, date("2026-01-01")),
            Some(date("2026-05-24"))
        );
    }
}
