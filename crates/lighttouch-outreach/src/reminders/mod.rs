//! Reminders the app fires by itself, offline: a morning digest of the daily
//! queue once the associate's reminder time has come, and one reminder per
//! follow-up due today (also one scheduled for today after the digest went
//! out). Each fires once: taking them records them in the book, in the same
//! call, so a restart or a second window does not repeat them.

use crate::recommend::reasons::hant;
use crate::today::QueueEntry;
use crate::today::QueueSection;
use crate::Outreach;
use chrono::{NaiveDateTime, NaiveTime};
use lighttouch_book::error::{BookError, Result};
use lighttouch_book::store::Book;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ReminderSettings {
    pub enabled: bool,
    /// The local time (HH:MM) the morning digest goes out.
    pub at: String,
}

impl Default for ReminderSettings {
    fn default() -> Self {
        ReminderSettings {
            enabled: true,
            at: "09:30".into(),
        }
    }
}

impl ReminderSettings {
    fn time(&self) -> Result<NaiveTime> {
        NaiveTime::parse_from_str(self.at.trim(), "%H:%M").map_err(|_| {
            BookError::invalid("at", format!("{:?} is not a time like 09:30", self.at))
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Reminder {
    pub key: String,
    pub title: String,
    pub body: String,
    /// Set when the reminder is about one customer (a follow-up).
    pub customer_id: Option<String>,
}

/// What has fired today; earlier days are forgotten.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Fired {
    day: String,
    keys: Vec<String>,
}

const SETTINGS_KEY: &str = "reminder_settings";
const FIRED_KEY: &str = "reminders_fired";
/// Follow-ups reminded one by one; beyond this the digest speaks for them.
const SINGLE_FOLLOW_UPS: usize = 5;

impl Outreach {
    pub fn reminder_settings(&self, book: &Book) -> Result<ReminderSettings> {
        Ok(book
            .device_value(SETTINGS_KEY)?
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default())
    }

    pub fn update_reminder_settings(
        &mut self,
        book: &mut Book,
        s: &ReminderSettings,
    ) -> Result<ReminderSettings> {
        let clean = ReminderSettings {
            enabled: s.enabled,
            at: s.time()?.format("%H:%M").to_string(),
        };
        let json =
            serde_json::to_string(&clean).map_err(|e| BookError::InvalidInput(e.to_string()))?;
        book.set_device_value(SETTINGS_KEY, &json)?;
        Ok(clean)
    }

    /// The reminders due at local time `now` that have not fired yet today,
    /// marked as fired before they are returned (at most once: should the
    /// desktop notification fail, the queue itself still shows everything).
    pub fn take_due_reminders(
        &mut self,
        book: &mut Book,
        now: NaiveDateTime,
        lang: &str,
    ) -> Result<Vec<Reminder>> {
        let settings = self.reminder_settings(book)?;
        if !settings.enabled || now.time() < settings.time()? {
            return Ok(Vec::new());
        }
        let day = now.date().format("%Y-%m-%d").to_string();
        let mut fired: Fired = book
            .device_value(FIRED_KEY)?
            .and_then(|s| serde_json::from_str(&s).ok())
            .filter(|f: &Fired| f.day == day)
            .unwrap_or(Fired {
                day: day.clone(),
                keys: Vec::new(),
            });
        // The queue scores every customer: worth it once for the digest, and
        // again only when a follow-up due today has not been looked at yet
        // (the app asks every minute).
        let digest_done = fired.keys.contains(&digest_key(&day));
        let follow_ups = self.due_follow_ups(book, now.date())?;
        let unseen = follow_ups
            .iter()
            .any(|f| !fired.keys.contains(&follow_up_key(&f.id, &day)));
        if digest_done && !unseen {
            return Ok(Vec::new());
        }
        // Reminders leave the recommendation caches as they found them: a
        // book whose Today screen was not opened does not keep every
        // customer's profile in memory for the digest's sake.
        let had_profiles = self.profiles_loaded();
        let queue = self.today(book, now.date(), lang);
        if !had_profiles {
            self.release_profiles();
        }
        let queue = queue?;
        let due = due_reminders(&queue, &day, lang);
        let fresh: Vec<Reminder> = due
            .into_iter()
            .filter(|r| !fired.keys.contains(&r.key))
            .collect();
        // What was looked at is not looked at again today, fired or not:
        // the digest (even an empty queue's), follow-ups beyond the few
        // fired one by one, those of a customer not to be contacted.
        let considered = std::iter::once(digest_key(&day))
            .chain(follow_ups.iter().map(|f| follow_up_key(&f.id, &day)))
            .chain(fresh.iter().map(|r| r.key.clone()));
        for key in considered {
            if !fired.keys.contains(&key) {
                fired.keys.push(key);
            }
        }
        let json =
            serde_json::to_string(&fired).map_err(|e| BookError::InvalidInput(e.to_string()))?;
        book.set_device_value(FIRED_KEY, &json)?;
        Ok(fresh)
    }
}

fn digest_key(day: &str) -> String {
    format!("digest:{day}")
}

/// `entry_key` is the queue's key for the follow-up (`follow_up:ID`).
fn follow_up_reminder_key(entry_key: &str, day: &str) -> String {
    format!("{entry_key}:{day}")
}

fn follow_up_key(follow_up_id: &str, day: &str) -> String {
    follow_up_reminder_key(&format!("follow_up:{follow_up_id}"), day)
}

/// Everything that warrants a reminder for today's queue, fired or not.
fn due_reminders(queue: &[QueueEntry], day: &str, lang: &str) -> Vec<Reminder> {
    if queue.is_empty() {
        return Vec::new();
    }
    let mut out = vec![Reminder {
        key: digest_key(day),
        title: digest_title(queue.len(), lang),
        body: digest_body(queue, lang),
        customer_id: None,
    }];
    out.extend(
        queue
            .iter()
            .filter(|e| e.kind == "follow_up" && e.due.as_str() <= day)
            .take(SINGLE_FOLLOW_UPS)
            .map(|e| Reminder {
                key: follow_up_reminder_key(&e.key, day),
                title: follow_up_title(&e.name, lang),
                body: e.reasons.first().cloned().unwrap_or_default(),
                customer_id: Some(e.customer_id.clone()),
            }),
    );
    out
}

fn zh(lang: &str, s: String) -> String {
    if lang == "zh-Hant" {
        hant(&s)
    } else {
        s
    }
}

fn digest_title(n: usize, lang: &str) -> String {
    match (lang, n) {
        ("en", 1) => "One customer to reach today".into(),
        ("en", _) => format!("{n} customers to reach today"),
        _ => zh(lang, format!("今天有 {n} 位客人可以联系")),
    }
}

/// "2 birthdays or anniversaries · 1 follow-up · …", in queue order.
fn digest_body(queue: &[QueueEntry], lang: &str) -> String {
    let mut counts: BTreeMap<QueueSection, usize> = BTreeMap::new();
    for e in queue {
        *counts.entry(e.section).or_default() += 1;
    }
    counts
        .into_iter()
        .map(|(g, n)| group_words(g, n, lang))
        .collect::<Vec<_>>()
        .join(" · ")
}

fn group_words(section: QueueSection, n: usize, lang: &str) -> String {
    let plural = |one: &str, many: &str| {
        if n == 1 {
            format!("1 {one}")
        } else {
            format!("{n} {many}")
        }
    };
    use QueueSection::*;
    match (section, lang) {
        (FollowUp, "en") => plural("follow-up", "follow-ups"),
        (Occasion, "en") => plural("birthday or anniversary", "birthdays and anniversaries"),
        (Care, "en") => plural("after-sale check-in", "after-sale check-ins"),
        (Festival, "en") => plural("festival greeting", "festival greetings"),
        (NewArrival, "en") => plural("new arrival to share", "new arrivals to share"),
        (Quiet, "en") => plural("customer gone quiet", "customers gone quiet"),
        (FollowUp, _) => zh(lang, format!("{n} 个回访")),
        (Occasion, _) => zh(lang, format!("{n} 个生日或纪念日")),
        (Care, _) => zh(lang, format!("{n} 个售后关怀")),
        (Festival, _) => zh(lang, format!("{n} 个节日问候")),
        (NewArrival, _) => zh(lang, format!("{n} 个新品推荐")),
        (Quiet, _) => zh(lang, format!("{n} 位许久未联系的客人")),
    }
}

fn follow_up_title(name: &str, lang: &str) -> String {
    match lang {
        "en" => format!("Follow up with {name} today"),
        _ => zh(lang, format!("今天回访{name}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Outreach;

    fn entry(kind: &str, key: &str, due: &str) -> QueueEntry {
        QueueEntry {
            key: key.into(),
            kind: kind.into(),
            section: QueueSection::of(kind),
            customer_id: format!("c-{key}"),
            name: "王女士".into(),
            due: due.into(),
            reasons: vec!["试戴后问尺寸".into()],
            content_id: None,
            draft: String::new(),
            draft_language: "zh-Hans".into(),
            promotion: false,
        }
    }

    #[test]
    fn digest_counts_by_kind_in_every_language() {
        let q = vec![
            entry("birthday", "b1", "2026-11-26"),
            entry("anniversary", "a1", "2026-11-27"),
            entry("follow_up", "f1", "2026-11-24"),
            entry("quiet", "q1", "2026-11-24"),
        ];
        let r = due_reminders(&q, "2026-11-24", "zh-Hans");
        assert_eq!(r[0].title, "今天有 4 位客人可以联系");
        assert_eq!(
            r[0].body,
            "1 个回访 · 2 个生日或纪念日 · 1 位许久未联系的客人"
        );
        let en = due_reminders(&q, "2026-11-24", "en");
        assert_eq!(
            en[0].body,
            "1 follow-up · 2 birthdays and anniversaries · 1 customer gone quiet"
        );
        let hant = due_reminders(&q, "2026-11-24", "zh-Hant");
        assert!(hant[0].body.contains("個生日或紀念日"), "{}", hant[0].body);
    }

    #[test]
    fn each_follow_up_due_today_gets_its_own_reminder() {
        let q = vec![
            entry("follow_up", "f1", "2026-11-24"),
            entry("follow_up", "f2", "2026-11-22"),
            entry("birthday", "b1", "2026-11-26"),
        ];
        let r = due_reminders(&q, "2026-11-24", "en");
        let keys: Vec<&str> = r.iter().map(|r| r.key.as_str()).collect();
        assert_eq!(
            keys,
            ["digest:2026-11-24", "f1:2026-11-24", "f2:2026-11-24"]
        );
        assert_eq!(r[1].title, "Follow up with 王女士 today");
        assert_eq!(r[1].customer_id.as_deref(), Some("c-f1"));
        assert!(due_reminders(&[], "2026-11-24", "en").is_empty());
    }

    #[test]
    fn the_reminder_time_must_be_a_time() {
        let bad = ReminderSettings {
            enabled: true,
            at: "half nine".into(),
        };
        assert!(bad.time().is_err());
        assert_eq!(
            ReminderSettings::default().time().unwrap(),
            NaiveTime::from_hms_opt(9, 30, 0).unwrap()
        );
    }

    #[test]
    fn reminders_keep_no_profiles_in_memory_unless_today_was_opened() {
        let mut outreach = Outreach::new();
        use chrono::TimeZone;
        use lighttouch_book::clock::ManualClock;
        let clock = std::sync::Arc::new(ManualClock::new(
            chrono::Utc.with_ymd_and_hms(2026, 11, 24, 2, 0, 0).unwrap(),
        ));
        let mut book = Book::open_in_memory(clock).unwrap();
        for (name, phone) in [
            ("王芳", "13900000001"),
            ("李娜", "13900000002"),
            ("Emma", "13900000003"),
        ] {
            book.add_customer(&[("name", name), ("phone", phone)], false)
                .unwrap();
        }
        let at = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
        let someone: String = book
            .connection()
            .query_row("SELECT id FROM customers LIMIT 1", [], |r| r.get(0))
            .unwrap();
        let today = at("2026-11-24 10:00").date();
        outreach
            .schedule_follow_up(&mut book, &someone, today, Some("试戴后问尺寸"))
            .unwrap();
        let fired = outreach
            .take_due_reminders(&mut book, at("2026-11-24 10:00"), "zh-Hans")
            .unwrap();
        assert!(!fired.is_empty());
        assert!(!outreach.profiles_loaded(), "released after the digest");
        // Nothing new: the queue is not computed again, nothing fires.
        assert!(outreach
            .take_due_reminders(&mut book, at("2026-11-24 10:01"), "zh-Hans")
            .unwrap()
            .is_empty());
        // Today opened: its caches stay, reminders or not.
        outreach.today(&mut book, today, "zh-Hans").unwrap();
        assert!(outreach.profiles_loaded());
        outreach
            .schedule_follow_up(&mut book, &someone, today, Some("项链修好了"))
            .unwrap();
        let later = outreach
            .take_due_reminders(&mut book, at("2026-11-24 15:00"), "zh-Hans")
            .unwrap();
        assert_eq!(later.len(), 1, "{later:?}");
        assert!(outreach.profiles_loaded());
    }
}
