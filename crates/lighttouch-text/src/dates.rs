//! Dates as Chinese retail systems write them. A date is kept as text:
//! `YYYY-MM-DD`, or `--MM-DD` when the customer gave no year; a leap month of
//! the lunar calendar is written `L` before the month (`1990-L04-15`).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "lowercase")]
pub enum Calendar {
    #[default]
    Solar,
    Lunar,
}

impl Calendar {
    pub fn as_str(self) -> &'static str {
        match self {
            Calendar::Solar => "solar",
            Calendar::Lunar => "lunar",
        }
    }

    pub fn parse(raw: &str) -> Result<Calendar, String> {
        match raw.trim().to_lowercase().as_str() {
            "solar" | "gregorian" | "阳历" | "公历" | "新历" | "陽曆" | "公曆" | "新曆" => {
                Ok(Calendar::Solar)
            }
            "lunar" | "农历" | "阴历" | "旧历" | "農曆" | "陰曆" | "舊曆" => {
                Ok(Calendar::Lunar)
            }
            _ => Err(format!("{raw:?} is not a calendar (solar or lunar)")),
        }
    }
}

/// A parsed date: its canonical text, and the calendar when the text named one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedDate {
    pub text: String,
    pub calendar: Option<Calendar>,
}

pub fn parse_date(raw: &str) -> Result<ParsedDate, String> {
    let folded: String = raw.nfkc().collect::<String>().trim().to_string();
    let (calendar, rest) = strip_calendar_prefix(&folded);
    let rest = rest.trim_matches(|c: char| c.is_whitespace() || c == ':' || c == '(' || c == ')');
    let bad = || {
        format!("{raw:?} is not a date (try 1990-05-12, 1990年5月12日, 5月12日 or 农历八月十五)")
    };
    if rest.is_empty() {
        return Err(bad());
    }
    if let Some(lunar) = parse_chinese_lunar(rest) {
        let (year, leap, month, day) = lunar.ok_or_else(bad)?;
        return Ok(ParsedDate {
            text: canonical(year, leap, month, day),
            calendar: Some(Calendar::Lunar),
        });
    }
    let (year, month, day) = parse_numeric(rest).ok_or_else(bad)?;
    let cal = calendar.unwrap_or(Calendar::Solar);
    validate(year, month, day, cal).map_err(|why| format!("{raw:?} is not a date ({why})"))?;
    Ok(ParsedDate {
        text: canonical(year, false, month, day),
        calendar,
    })
}

fn canonical(year: Option<i32>, leap: bool, month: u32, day: u32) -> String {
    let leap = if leap { "L" } else { "" };
    match year {
        Some(y) => format!("{y:04}-{leap}{month:02}-{day:02}"),
        None => format!("--{leap}{month:02}-{day:02}"),
    }
}

fn strip_calendar_prefix(s: &str) -> (Option<Calendar>, &str) {
    for (prefix, cal) in [
        ("农历", Calendar::Lunar),
        ("阴历", Calendar::Lunar),
        ("旧历", Calendar::Lunar),
        ("農曆", Calendar::Lunar),
        ("陰曆", Calendar::Lunar),
        ("lunar", Calendar::Lunar),
        ("阳历", Calendar::Solar),
        ("公历", Calendar::Solar),
        ("新历", Calendar::Solar),
        ("陽曆", Calendar::Solar),
        ("公曆", Calendar::Solar),
        ("solar", Calendar::Solar),
    ] {
        if let Some(rest) = s.strip_prefix(prefix) {
            return (Some(cal), rest);
        }
    }
    (None, s)
}

/// Numbers as the date gives them: year (when present), month, day.
fn parse_numeric(s: &str) -> Option<(Option<i32>, u32, u32)> {
    // Drop a time of day: "1990-05-12 00:00:00", "1990-05-12T08:00".
    let s = s.split(['T', ' ']).next()?;
    let s = s.trim_end_matches(['日', '号', '號']);
    if s.chars().all(|c| c.is_ascii_digit()) {
        return match s.len() {
            8 => Some((
                Some(s[..4].parse().ok()?),
                s[4..6].parse().ok()?,
                s[6..].parse().ok()?,
            )),
            // An Excel date serial, as spreadsheets export unformatted dates.
            5 => {
                let n: i64 = s.parse().ok()?;
                let base = NaiveDate::from_ymd_opt(1899, 12, 30)?;
                let d = base.checked_add_signed(chrono::Duration::days(n))?;
                use chrono::Datelike;
                Some((Some(d.year()), d.month(), d.day()))
            }
            _ => None,
        };
    }
    let s = s.strip_prefix("--").unwrap_or(s);
    let parts: Vec<&str> = s
        .split(['-', '/', '.', '年', '月'])
        .filter(|p| !p.is_empty())
        .collect();
    if parts
        .iter()
        .any(|p| !p.chars().all(|c| c.is_ascii_digit()) || p.len() > 4)
    {
        return None;
    }
    match parts.as_slice() {
        [y, m, d] if y.len() == 4 => {
            Some((Some(y.parse().ok()?), m.parse().ok()?, d.parse().ok()?))
        }
        [m, d] if m.len() <= 2 && d.len() <= 2 => Some((None, m.parse().ok()?, d.parse().ok()?)),
        _ => None,
    }
}

fn validate(year: Option<i32>, month: u32, day: u32, cal: Calendar) -> Result<(), String> {
    if let Some(y) = year {
        if !(1900..=2100).contains(&y) {
            return Err(format!("year {y} is out of range"));
        }
    }
    if !(1..=12).contains(&month) {
        return Err(format!("there is no month {month}"));
    }
    match cal {
        Calendar::Lunar if (1..=30).contains(&day) => Ok(()),
        Calendar::Lunar => Err(format!("a lunar month has no day {day}")),
        Calendar::Solar => {
            // Without a year, 29 February is a real birthday.
            let y = year.unwrap_or(2000);
            NaiveDate::from_ymd_opt(y, month, day)
                .map(|_| ())
                .ok_or_else(|| format!("there is no {month}/{day}"))
        }
    }
}

type LunarParts = (Option<i32>, bool, u32, u32);

/// `农历八月十五`, `1990年闰四月初八`, `一九九〇年腊月廿三`: Some(None) when it looks
/// like a lunar date but does not parse, None when it is not one at all.
fn parse_chinese_lunar(s: &str) -> Option<Option<LunarParts>> {
    let month_pos = s.find('月')?;
    let (head, tail) = (&s[..month_pos], &s[month_pos + '月'.len_utf8()..]);
    let (year_text, month_text) = match head.rfind('年') {
        Some(p) => (Some(&head[..p]), &head[p + '年'.len_utf8()..]),
        None => (None, head),
    };
    let (leap, month_text) = match month_text
        .strip_prefix('闰')
        .or_else(|| month_text.strip_prefix('閏'))
    {
        Some(m) => (true, m),
        None => (false, month_text),
    };
    let day_text = tail.trim_end_matches(['日', '号', '號']);
    let month_is_chinese = month_text.chars().any(|c| !c.is_ascii_digit());
    let day_is_chinese = day_text.chars().any(|c| !c.is_ascii_digit());
    if !month_is_chinese && !day_is_chinese && !leap {
        return None; // "5月12日": numeric, handled elsewhere
    }
    let parse = || -> Option<LunarParts> {
        let year = match year_text {
            None => None,
            Some(y) if y.chars().all(|c| c.is_ascii_digit()) => Some(y.parse().ok()?),
            Some(y) => Some(chinese_digits(y)?),
        };
        let month = match month_text {
            "正" | "元" => 1,
            "冬" => 11,
            "腊" | "臘" => 12,
            m if m.chars().all(|c| c.is_ascii_digit()) => m.parse().ok()?,
            m => chinese_number(m)?,
        };
        let day = if day_text.chars().all(|c| c.is_ascii_digit()) {
            day_text.parse().ok()?
        } else {
            chinese_day(day_text)?
        };
        if !(1..=12).contains(&month) || !(1..=30).contains(&day) {
            return None;
        }
        if let Some(y) = year {
            if !(1900..=2100).contains(&y) {
                return None;
            }
        }
        Some((year, leap, month, day))
    };
    Some(parse())
}

fn digit(c: char) -> Option<u32> {
    Some(match c {
        '〇' | '零' | 'O' | 'o' => 0,
        '一' => 1,
        '二' | '两' | '兩' => 2,
        '三' => 3,
        '四' => 4,
        '五' => 5,
        '六' => 6,
        '七' => 7,
        '八' => 8,
        '九' => 9,
        _ => return None,
    })
}

/// 一九九〇 → 1990
fn chinese_digits(s: &str) -> Option<i32> {
    let mut n: i32 = 0;
    for c in s.chars() {
        n = n * 10 + digit(c)? as i32;
    }
    Some(n)
}

/// 一 … 十二
fn chinese_number(s: &str) -> Option<u32> {
    let chars: Vec<char> = s.chars().collect();
    match chars.as_slice() {
        ['十'] => Some(10),
        ['十', d] => Some(10 + digit(*d)?),
        [d, '十'] => Some(digit(*d)? * 10),
        [t, '十', d] => Some(digit(*t)? * 10 + digit(*d)?),
        [d] => digit(*d),
        _ => None,
    }
}

/// 初一 … 初十, 十一 … 二十, 廿一 … 廿九, 三十
fn chinese_day(s: &str) -> Option<u32> {
    if let Some(rest) = s.strip_prefix('初') {
        return match rest {
            "十" => Some(10),
            r => digit(r.chars().next()?).filter(|_| r.chars().count() == 1),
        };
    }
    if let Some(rest) = s.strip_prefix('廿') {
        return if rest.is_empty() {
            Some(20)
        } else {
            Some(20 + digit(rest.chars().next()?)?)
        };
    }
    if s == "卅" {
        return Some(30);
    }
    chinese_number(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(raw: &str) -> (String, Option<Calendar>) {
        let p = parse_date(raw).unwrap_or_else(|e| panic!("{raw}: {e}"));
        (p.text, p.calendar)
    }

    #[test]
    fn solar_formats_seen_in_china() {
        for (raw, want) in [
            ("1990-05-12", "1990-05-12"),
            ("1990/5/12", "1990-05-12"),
            ("1990.05.12", "1990-05-12"),
            ("19900512", "1990-05-12"),
            ("1990年5月12日", "1990-05-12"),
            ("1990年05月12号", "1990-05-12"),
            ("1990-05-12 00:00:00", "1990-05-12"),
            ("1990-05-12T08:30:00", "1990-05-12"),
            ("5月12日", "--05-12"),
            ("05-12", "--05-12"),
            ("--05-12", "--05-12"),
            ("2/29", "--02-29"),
            ("32964", "1990-04-01"),
            ("２０００－０１－０１", "2000-01-01"),
        ] {
            assert_eq!(ok(raw), (want.to_string(), None), "{raw}");
        }
    }

    #[test]
    fn lunar_dates_in_numbers_and_in_words() {
        for (raw, want) in [
            ("农历1990-08-15", "1990-08-15"),
            ("农历八月十五", "--08-15"),
            ("農曆八月十五", "--08-15"),
            ("阴历正月初一", "--01-01"),
            ("1990年闰四月初八", "1990-L04-08"),
            ("一九九〇年腊月廿三", "1990-12-23"),
            ("农历冬月三十", "--11-30"),
            ("农历十二月二十", "--12-20"),
        ] {
            assert_eq!(ok(raw), (want.to_string(), Some(Calendar::Lunar)), "{raw}");
        }
        assert_eq!(ok("公历1990-05-12").1, Some(Calendar::Solar));
    }

    #[test]
    fn impossible_and_ambiguous_dates_are_rejected() {
        for raw in [
            "",
            "1990-02-30",
            "1990-13-01",
            "2023-02-29",
            "12/05/1990",
            "hello",
            "1800-01-01",
            "农历八月四十",
            "农历十三月初一",
            "5月",
            "1990年",
        ] {
            assert!(parse_date(raw).is_err(), "{raw}");
        }
    }
}
