//! The gifting calendar of Chinese retail. Lunar festivals move every year,
//! so their dates come from the lunisolar calendar (tyme4rs, through
//! `occasions`), never from a table.

use crate::dates::Calendar;
use crate::occasions::next_occurrence;
use chrono::{Datelike, NaiveDate, Weekday};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Festival {
    pub key: &'static str,
    /// zh-Hans, zh-Hant, en
    pub names: [&'static str; 3],
    pub date: NaiveDate,
    /// Canonical tag names of the customers the festival is for.
    pub audience: &'static [&'static str],
    /// Words in a content item's tags that tie it to the festival.
    pub content_words: &'static [&'static str],
}

enum When {
    Solar(u32, u32),
    Lunar(u32, u32),
    /// The nth weekday of a solar month (母亲节: the second Sunday of May).
    NthWeekday(u32, Weekday, u32),
}

struct Spec {
    key: &'static str,
    names: [&'static str; 3],
    when: When,
    audience: &'static [&'static str],
    content_words: &'static [&'static str],
}

const COUPLES: &[&str] = &["情侣", "订婚", "新婚", "结婚", "为伴侣选购"];

const FESTIVALS: &[Spec] = &[
    Spec {
        key: "spring_festival",
        names: ["春节", "春節", "Chinese New Year"],
        when: When::Lunar(1, 1),
        audience: &["送礼", "生肖"],
        content_words: &["春节", "新年", "chinese new year", "生肖"],
    },
    Spec {
        key: "valentines",
        names: ["情人节", "情人節", "Valentine's Day"],
        when: When::Solar(2, 14),
        audience: COUPLES,
        content_words: &["情人节", "valentine", "valentines"],
    },
    Spec {
        key: "520",
        names: ["520", "520", "520 (I love you day)"],
        when: When::Solar(5, 20),
        audience: COUPLES,
        content_words: &["520"],
    },
    Spec {
        key: "mothers_day",
        names: ["母亲节", "母親節", "Mother's Day"],
        when: When::NthWeekday(5, Weekday::Sun, 2),
        audience: &["为母亲选购", "宝妈"],
        content_words: &["母亲节", "mother's day", "mothers day"],
    },
    Spec {
        key: "qixi",
        names: ["七夕", "七夕", "Qixi"],
        when: When::Lunar(7, 7),
        audience: COUPLES,
        content_words: &["七夕", "qixi"],
    },
    Spec {
        key: "mid_autumn",
        names: ["中秋", "中秋", "Mid-Autumn Festival"],
        when: When::Lunar(8, 15),
        audience: &["送礼"],
        content_words: &["中秋", "mid-autumn", "团圆"],
    },
    Spec {
        key: "christmas",
        names: ["圣诞", "聖誕", "Christmas"],
        when: When::Solar(12, 25),
        audience: &["送礼"],
        content_words: &["圣诞", "christmas", "xmas"],
    },
];

fn next_date(when: &When, today: NaiveDate) -> Option<NaiveDate> {
    match *when {
        When::Solar(m, d) => next_occurrence(&format!("--{m:02}-{d:02}"), Calendar::Solar, today),
        When::Lunar(m, d) => next_occurrence(&format!("--{m:02}-{d:02}"), Calendar::Lunar, today),
        When::NthWeekday(month, weekday, n) => [today.year(), today.year() + 1]
            .into_iter()
            .filter_map(|y| NaiveDate::from_weekday_of_month_opt(y, month, weekday, n as u8))
            .find(|d| *d >= today),
    }
}

/// Festivals falling within `days` days from `today` (today included), soonest first.
pub fn upcoming(today: NaiveDate, days: i64) -> Vec<Festival> {
    let mut out: Vec<Festival> = FESTIVALS
        .iter()
        .filter_map(|s| {
            let date = next_date(&s.when, today)?;
            ((date - today).num_days() <= days).then_some(Festival {
                key: s.key,
                names: s.names,
                date,
                audience: s.audience,
                content_words: s.content_words,
            })
        })
        .collect();
    out.sort_by_key(|f| f.date);
    out
}

impl Festival {
    pub fn name(&self, language: &str) -> &'static str {
        match language {
            "zh-Hant" => self.names[1],
            "en" => self.names[2],
            _ => self.names[0],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn lunar_festivals_follow_the_lunar_calendar() {
        // 七夕 2027 is 8 August; 中秋 2027 is 15 September; 春节 2027 is 6 February.
        let qixi = upcoming(d("2027-08-01"), 10);
        assert_eq!(qixi.iter().map(|f| f.key).collect::<Vec<_>>(), ["qixi"]);
        assert_eq!(qixi[0].date, d("2027-08-08"));
        assert_eq!(upcoming(d("2027-09-10"), 7)[0].date, d("2027-09-15"));
        assert_eq!(upcoming(d("2027-02-01"), 7)[0].key, "spring_festival");
        assert_eq!(upcoming(d("2027-02-01"), 7)[0].date, d("2027-02-06"));
    }

    #[test]
    fn mothers_day_is_the_second_sunday_of_may() {
        let f = upcoming(d("2027-05-01"), 10);
        assert_eq!(f[0].key, "mothers_day");
        assert_eq!(f[0].date, d("2027-05-09"));
        assert!(upcoming(d("2026-11-24"), 20).is_empty());
        assert_eq!(upcoming(d("2026-12-20"), 10)[0].name("en"), "Christmas");
    }
}
