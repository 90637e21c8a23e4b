//! The daily queue ("Today"): who to reach this morning and why, each with a
//! ready draft. Birthdays and anniversaries, after-sale care, follow-ups the
//! associate scheduled, new arrivals that match someone, and important
//! customers gone quiet. Computed on the laptop, offline; the guard applies
//! (promotions only where consent and caps allow; nothing for do-not-contact).

use crate::drafts::{compose, ScriptShelf, Subject};
use crate::recommend::guard::GuardSettings;
use crate::recommend::profile::Profile;
use crate::recommend::reasons::Reason;
use crate::recommend::score::{self, Context, Known, Prepared};
use crate::recommend::Needs;
use crate::Outreach;
use chrono::{Duration, NaiveDate};
use lighttouch_book::changes::Entity;
use lighttouch_book::error::{BookError, Result};
use lighttouch_book::store::Book;
use lighttouch_text::festivals;
use serde::Serialize;
use serde_json::Value;
use std::collections::{HashMap, HashSet};

/// Occasions show this many days ahead.
const OCCASION_AHEAD: i64 = 7;
/// After-sale check-in this many days after a purchase (the window, inclusive).
const AFTERCARE: (i64, i64) = (3, 5);
const CARE_MONTH: (i64, i64) = (28, 32);
const _: () = assert!(CARE_MONTH.1 <= score::RECENT_DAYS && AFTERCARE.1 <= score::RECENT_DAYS);
/// Important customers count as gone quiet after this long without contact.
const QUIET_DAYS: i64 = 90;
/// Content counts as a new arrival for this many days.
const NEW_ARRIVAL_DAYS: i64 = 7;
/// New arrivals go to at most this many customers each: light touch.
const NEW_ARRIVAL_PER_ITEM: usize = 5;
const NEW_ARRIVAL_MIN_SCORE: f64 = 3.0;
/// Customers fully scored for one new arrival (those sharing most of its interests).
const NEW_ARRIVAL_SHORTLIST: usize = 60;
/// Important customers gone quiet brought up per day.
const QUIET_PER_DAY: usize = 10;
/// A gifting festival enters the queue this many days before it.
const FESTIVAL_AHEAD: i64 = 10;
/// Customers brought up per festival per day: a few, never the whole list.
const FESTIVAL_PER_DAY: usize = 5;
/// Gift ideas considered per interest of a customer.
const GIFT_CANDIDATES_PER_INTEREST: usize = 40;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct QueueEntry {
    /// Stable across days: done, snoozed and dismissed marks hang on it.
    pub key: String,
    /// follow_up, birthday, anniversary, aftercare, care_month, festival,
    /// new_arrival or quiet
    pub kind: String,
    /// The section it is listed under; entries come section by section.
    pub section: QueueSection,
    pub customer_id: String,
    pub name: String,
    /// The day it is about (the birthday, the follow-up's due day …).
    pub due: String,
    pub reasons: Vec<String>,
    pub content_id: Option<String>,
    pub draft: String,
    pub draft_language: String,
    /// A promotion (counts against the caps) or a service message.
    pub promotion: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct FollowUp {
    pub id: String,
    pub customer_id: String,
    pub due_on: String,
    pub note: Option<String>,
    pub done_at: Option<String>,
}

struct Candidate {
    kind: &'static str,
    key: String,
    profile: usize,
    due: NaiveDate,
    reasons: Vec<Reason>,
    item: Option<usize>,
    product: Option<String>,
    occasion: Option<String>,
    promotion: bool,
}

/// The sections of the queue, in the order an associate works through them
/// (and reminders count them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum QueueSection {
    FollowUp,
    /// Birthdays and anniversaries.
    Occasion,
    /// After-sale check-ins.
    Care,
    /// The days before a gifting festival, for the customers it is for.
    Festival,
    NewArrival,
    /// Important customers gone quiet.
    Quiet,
}

impl QueueSection {
    pub fn of(kind: &str) -> QueueSection {
        match kind {
            "follow_up" => QueueSection::FollowUp,
            "birthday" | "anniversary" => QueueSection::Occasion,
            "aftercare" | "care_month" => QueueSection::Care,
            "festival" => QueueSection::Festival,
            "new_arrival" => QueueSection::NewArrival,
            _ => QueueSection::Quiet,
        }
    }
}

/// One morning's gathering: every profile and the day's content, scored in
/// one context. Each section of the queue is gathered by its own method.
struct Day<'a> {
    today: NaiveDate,
    profiles: &'a [Profile],
    items: &'a [Prepared],
    known: &'a [Known],
    cx: Context<'a>,
    settings: &'a GuardSettings,
    /// The associate's own customers (and unowned ones) who may be contacted at all.
    mine: Vec<usize>,
    /// Gift ideas: products by interest key, the store's likeliest first.
    gifts: HashMap<&'a str, Vec<usize>>,
    /// Whether a promotion may go to each customer, asked once a morning.
    may_promote: Vec<std::cell::OnceCell<bool>>,
}

impl<'a> Day<'a> {
    fn new(
        today: NaiveDate,
        profiles: &'a [Profile],
        items: &'a [Prepared],
        known: &'a [Known],
        cx: Context<'a>,
        settings: &'a GuardSettings,
        associate: Option<&str>,
    ) -> Day<'a> {
        let mine = profiles
            .iter()
            .enumerate()
            .filter(|(_, p)| {
                !p.do_not_contact
                    && (associate.is_none() || p.owner.is_none() || p.owner.as_deref() == associate)
            })
            .map(|(i, _)| i)
            .collect();
        // Gift ideas come from the pieces sharing something with the person,
        // the store's likeliest first: scoring all of them for everyone
        // would not fit a morning on a laptop.
        let mut gifts: HashMap<&str, Vec<usize>> = HashMap::new();
        for (j, it) in items.iter().enumerate() {
            if it.item.kind == "product" {
                for k in &it.keys {
                    gifts.entry(k.as_str()).or_default().push(j);
                }
            }
        }
        let prior = |j: usize| {
            let it = &items[j];
            let fresh = it
                .first_day
                .map_or(365, |d| (today - d).num_days().clamp(0, 365));
            (it.facts(cx.stats).popularity, -fresh)
        };
        for list in gifts.values_mut() {
            list.sort_by_key(|j| std::cmp::Reverse(prior(*j)));
            list.truncate(GIFT_CANDIDATES_PER_INTEREST);
        }
        Day {
            today,
            profiles,
            items,
            known,
            cx,
            settings,
            mine,
            gifts,
            may_promote: vec![std::cell::OnceCell::new(); profiles.len()],
        }
    }

    /// Whether a promotion may go to customer `i` today (consent,
    /// do-not-contact, caps).
    fn allowed(&self, i: usize) -> bool {
        *self.may_promote[i].get_or_init(|| {
            let p = &self.profiles[i];
            p.contacts
                .hold(p.consent, p.do_not_contact, self.settings, self.today)
                .is_none()
        })
    }

    /// The best piece for customer `i`, when a promotion may go to them.
    fn best_item(&self, i: usize) -> Option<(usize, Vec<Reason>)> {
        let p = &self.profiles[i];
        if !self.allowed(i) {
            return None;
        }
        // Owned pieces repeat their keys (ten gold pieces, one 黄金): each
        // key is looked up once.
        let mut keys: Vec<&str> = p
            .interests
            .iter()
            .map(|(k, _)| k.as_str())
            .chain(
                p.owned
                    .iter()
                    .flat_map(|o| o.keys.iter().map(String::as_str)),
            )
            .collect();
        keys.sort_unstable();
        keys.dedup();
        let mut candidates: Vec<usize> = keys
            .into_iter()
            .filter_map(|k| self.gifts.get(k))
            .flatten()
            .copied()
            .collect();
        candidates.sort_unstable();
        candidates.dedup();
        let one = score::ForCustomer::new(p, &self.known[i], &self.cx);
        let (best, _) = candidates
            .into_iter()
            .filter_map(|j| one.quick(&self.items[j]).map(|s| (j, s)))
            // A gift idea must be about the person, not just timely.
            .filter(|(_, s)| s.score > 2.0 && s.about_them)
            .max_by(|a, b| a.1.score.total_cmp(&b.1.score).then(b.0.cmp(&a.0)))?;
        one.score(&self.items[best]).map(|s| (best, s.reasons))
    }

    /// Follow-ups the associate scheduled, due today or overdue.
    fn follow_ups(&self, due: &[FollowUp]) -> Vec<Candidate> {
        let by_id: HashMap<&str, usize> = self
            .profiles
            .iter()
            .enumerate()
            .map(|(i, p)| (p.id.as_str(), i))
            .collect();
        due.iter()
            .filter_map(|f| {
                let &i = by_id.get(f.customer_id.as_str())?;
                (!self.profiles[i].do_not_contact).then(|| Candidate {
                    kind: "follow_up",
                    key: follow_up_key(&f.id),
                    profile: i,
                    due: NaiveDate::parse_from_str(&f.due_on, "%Y-%m-%d").unwrap_or(self.today),
                    reasons: Vec::new(),
                    item: None,
                    product: None,
                    occasion: f.note.clone(),
                    promotion: false,
                })
            })
            .collect()
    }

    /// Birthdays and anniversaries in the coming week (with a gift idea where
    /// a promotion may go), and after-sale check-ins.
    fn occasions_and_care(&self) -> Vec<Candidate> {
        let mut out = Vec::new();
        for &i in &self.mine {
            let p = &self.profiles[i];
            for (reason, days) in &self.known[i].occasions {
                let kind = match reason {
                    Reason::Birthday { .. } => "birthday",
                    Reason::Anniversary { .. } => "anniversary",
                    _ => continue,
                };
                if *days > OCCASION_AHEAD {
                    continue;
                }
                let due = self.today + Duration::days(*days);
                let gift = self.best_item(i);
                let occasion = match (kind, lang_of(p)) {
                    ("birthday", "en") => "birthday",
                    ("birthday", _) => "生日",
                    (_, "en") => "anniversary",
                    (_, "zh-Hant") => "紀念日",
                    _ => "纪念日",
                };
                let mut reasons = vec![reason.clone()];
                if let Some((_, r)) = &gift {
                    reasons.extend(
                        r.iter()
                            .filter(|r| {
                                !matches!(r, Reason::Birthday { .. } | Reason::Anniversary { .. })
                            })
                            .cloned(),
                    );
                }
                out.push(Candidate {
                    kind,
                    key: occasion_key(kind, &p.id, due),
                    profile: i,
                    due,
                    reasons,
                    promotion: gift.is_some(),
                    product: None,
                    item: gift.map(|(j, _)| j),
                    occasion: Some(occasion.to_string()),
                });
            }
            for &(n, age) in &self.known[i].recent {
                let o = &p.owned[n];
                for (kind, from) in care_kinds(age) {
                    {
                        out.push(Candidate {
                            kind,
                            key: care_key(kind, &p.id, o.day, &o.product_key),
                            profile: i,
                            due: o.day + Duration::days(from),
                            reasons: Vec::new(),
                            item: None,
                            product: Some(o.product.clone()),
                            occasion: None,
                            promotion: false,
                        });
                    }
                }
            }
        }
        out
    }

    /// In the days before a gifting festival, the customers it is for (a
    /// tag of its audience: 情侣 for 七夕), each with the piece that suits
    /// them for it: a few a day, best suited first, skipping those already
    /// handled for this festival (`marks`) or with a promotion today
    /// (`already`). The guard applies as to every promotion.
    fn festivals(&self, already: &HashSet<usize>, marks: &HashSet<String>) -> Vec<Candidate> {
        let mut out = Vec::new();
        for (festival, audience) in self.cx.festivals() {
            let days = (festival.date - self.today).num_days();
            if !(0..=FESTIVAL_AHEAD).contains(&days) || audience.is_empty() {
                continue;
            }
            let key_of = |i: usize| {
                format!(
                    "festival:{}:{}:{}",
                    self.profiles[i].id, festival.key, festival.date
                )
            };
            let mut ranked: Vec<(f64, usize, usize, Vec<Reason>)> = Vec::new();
            for &i in &self.mine {
                let p = &self.profiles[i];
                if already.contains(&i)
                    || !audience.iter().any(|k| p.tags.contains(k))
                    || marks.contains(&key_of(i))
                    || !self.allowed(i)
                {
                    continue;
                }
                let one = score::ForCustomer::new(p, &self.known[i], &self.cx);
                let best = self
                    .items
                    .iter()
                    .enumerate()
                    .filter_map(|(j, it)| one.quick(it).map(|s| (j, s)))
                    .filter(|(_, s)| s.score > 0.0 && s.festive)
                    .max_by(|a, b| a.1.score.total_cmp(&b.1.score).then(b.0.cmp(&a.0)));
                if let Some(s) = best.and_then(|(j, _)| one.score(&self.items[j]).map(|s| (j, s))) {
                    ranked.push((s.1.score, i, s.0, s.1.reasons));
                }
            }
            ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            for (_, i, j, reasons) in ranked.into_iter().take(FESTIVAL_PER_DAY) {
                let lang = lang_of(&self.profiles[i]);
                let name = match lang {
                    "en" => festival.names[2],
                    "zh-Hant" => festival.names[1],
                    _ => festival.names[0],
                };
                out.push(Candidate {
                    kind: "festival",
                    key: key_of(i),
                    profile: i,
                    due: festival.date,
                    reasons,
                    item: Some(j),
                    product: None,
                    occasion: Some(name.to_string()),
                    promotion: true,
                });
            }
        }
        out
    }

    /// Important customers (advocates, VIPs) silent for a long time: the
    /// longest silent first, a few a day.
    fn gone_quiet(&self) -> Vec<Candidate> {
        let vip = self.cx.lex.key_of("VIP");
        let mut quiet: Vec<(i64, usize)> = self
            .mine
            .iter()
            .filter_map(|&i| {
                let p = &self.profiles[i];
                let important = p.stage.as_deref() == Some("advocate") || p.tags.contains(&vip);
                let days = (self.today - p.contacts.last_contact?).num_days();
                (important && days >= QUIET_DAYS).then_some((days, i))
            })
            .collect();
        quiet.sort_by_key(|(days, i)| (std::cmp::Reverse(*days), *i));
        quiet
            .into_iter()
            .filter(|(_, i)| self.allowed(*i))
            .take(QUIET_PER_DAY)
            .map(|(_, i)| {
                let gift = self.best_item(i);
                Candidate {
                    kind: "quiet",
                    key: format!(
                        "quiet:{}:{}",
                        self.profiles[i].id,
                        self.today.format("%Y-%m")
                    ),
                    profile: i,
                    due: self.today,
                    reasons: gift.as_ref().map(|(_, r)| r.clone()).unwrap_or_default(),
                    item: gift.map(|(j, _)| j),
                    product: None,
                    occasion: None,
                    promotion: true,
                }
            })
            .collect()
    }

    /// New arrivals, to the few customers they suit best. Only customers
    /// sharing one of the item's interests are scored at all; `already`:
    /// customers with a promotion today.
    fn new_arrivals(&self, already: &HashSet<usize>) -> Vec<Candidate> {
        let mut by_interest: HashMap<&str, Vec<usize>> = HashMap::new();
        for &i in &self.mine {
            for (k, _) in &self.profiles[i].interests {
                by_interest.entry(k.as_str()).or_default().push(i);
            }
        }
        // How many of a piece's keys each customer shares, counted in one
        // dense array reset after each piece: hashing tens of thousands of
        // customers per piece was most of the morning's work.
        let mut shared = vec![0u32; self.profiles.len()];
        let mut touched: Vec<usize> = Vec::new();
        let mut out = Vec::new();
        for (j, it) in self.items.iter().enumerate() {
            let new = it
                .first_day
                .is_some_and(|d| (0..NEW_ARRIVAL_DAYS).contains(&(self.today - d).num_days()));
            if !new {
                continue;
            }
            for k in &it.keys {
                for &i in by_interest.get(k.as_str()).into_iter().flatten() {
                    if shared[i] == 0 {
                        touched.push(i);
                    }
                    shared[i] += 1;
                }
            }
            let close = closest(&shared, &touched, NEW_ARRIVAL_SHORTLIST, |i| {
                !already.contains(&i) && self.allowed(i)
            });
            for &i in &touched {
                shared[i] = 0;
            }
            touched.clear();
            let mut ranked: Vec<(f64, usize)> = Vec::new();
            for i in close {
                if let Some(s) = score::quick_score(it, &self.profiles[i], &self.known[i], &self.cx)
                {
                    if s.score >= NEW_ARRIVAL_MIN_SCORE {
                        ranked.push((s.score, i));
                    }
                }
            }
            ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
            for (_, i) in ranked.into_iter().take(NEW_ARRIVAL_PER_ITEM) {
                let reasons = score::score(it, &self.profiles[i], &self.known[i], &self.cx)
                    .map(|s| s.reasons)
                    .unwrap_or_default();
                out.push(Candidate {
                    kind: "new_arrival",
                    key: format!("new_arrival:{}:{}", self.profiles[i].id, it.item.id),
                    profile: i,
                    due: it.first_day.unwrap_or(self.today),
                    reasons,
                    item: Some(j),
                    product: None,
                    occasion: None,
                    promotion: true,
                });
            }
        }
        out
    }
}

fn follow_up_key(id: &str) -> String {
    format!("follow_up:{id}")
}

fn occasion_key(kind: &str, customer: &str, due: NaiveDate) -> String {
    format!("{kind}:{customer}:{due}")
}

fn care_key(kind: &str, customer: &str, bought: NaiveDate, product_key: &str) -> String {
    format!("{kind}:{customer}:{bought}:{product_key}")
}

/// The after-sale windows a purchase `age` days old is in.
fn care_kinds(age: i64) -> impl Iterator<Item = (&'static str, i64)> {
    [("aftercare", AFTERCARE), ("care_month", CARE_MONTH)]
        .into_iter()
        .filter(move |(_, (from, to))| (*from..=*to).contains(&age))
        .map(|(kind, (from, _))| (kind, from))
}

/// Up to `limit` customers sharing the most (`shared[i]` over `touched`),
/// the lowest index first among equals, `eligible` asked only as far as
/// needed: the few closest of tens of thousands without sorting them all.
fn closest(
    shared: &[u32],
    touched: &[usize],
    limit: usize,
    mut eligible: impl FnMut(usize) -> bool,
) -> Vec<usize> {
    let top = touched.iter().map(|&i| shared[i]).max().unwrap_or(0) as usize;
    let mut by_count: Vec<Vec<usize>> = vec![Vec::new(); top + 1];
    for &i in touched {
        by_count[shared[i] as usize].push(i);
    }
    let mut out = Vec::with_capacity(limit);
    for bucket in by_count.iter_mut().skip(1).rev() {
        let mut rest: &mut [usize] = bucket;
        while out.len() < limit && !rest.is_empty() {
            // The smallest indices first, a batch at a time (most are eligible).
            let batch = (2 * (limit - out.len())).max(8).min(rest.len());
            if batch < rest.len() {
                rest.select_nth_unstable(batch - 1);
            }
            let (head, tail) = rest.split_at_mut(batch);
            head.sort_unstable();
            for &i in head.iter() {
                if out.len() < limit && eligible(i) {
                    out.push(i);
                }
            }
            rest = tail;
        }
        if out.len() == limit {
            break;
        }
    }
    out
}

/// The candidates not marked done, snoozed or dismissed, section by section,
/// with one promotion per customer per day: the most pressing one.
fn most_pressing(mut out: Vec<Candidate>, marks: &HashSet<String>) -> Vec<Candidate> {
    out.retain(|c| !marks.contains(&c.key));
    out.sort_by(|a, b| {
        QueueSection::of(a.kind)
            .cmp(&QueueSection::of(b.kind))
            .then(a.due.cmp(&b.due))
            .then(a.key.cmp(&b.key))
    });
    let mut promoted = HashSet::new();
    out.retain(|c| !c.promotion || promoted.insert(c.profile));
    out
}

impl Outreach {
    /// The queue for `today`, most pressing first.
    pub fn today(
        &mut self,
        book: &mut Book,
        today: NaiveDate,
        lang: &str,
    ) -> Result<Vec<QueueEntry>> {
        let settings = self.guard_settings(book)?;
        let associate = book.associate()?;
        let marks = self.queue_marks(book, today)?;
        let follow_ups = self.due_follow_ups(book, today)?;
        let festivals = festivals::upcoming(today, score::FESTIVAL_DAYS);
        let (cache, stats) = self.recommend_data(
            book,
            Needs {
                profiles: true,
                content_on: Some(today),
            },
        )?;
        let day = Day::new(
            today,
            cache.profiles.as_deref().expect("loaded"),
            &cache.content.as_ref().expect("loaded").1,
            &cache.known.as_ref().expect("loaded").2,
            Context::new(today, &cache.lex, stats, &festivals, lang),
            &settings,
            associate.as_deref(),
        );
        let mut out = day.follow_ups(&follow_ups);
        out.extend(day.occasions_and_care());
        out.extend(day.gone_quiet());
        let already: HashSet<usize> = out
            .iter()
            .filter(|c| c.promotion)
            .map(|c| c.profile)
            .collect();
        let festive = day.festivals(&already, &marks);
        let already: HashSet<usize> = already
            .into_iter()
            .chain(festive.iter().map(|c| c.profile))
            .collect();
        out.extend(festive);
        out.extend(day.new_arrivals(&already));
        let shelf = ScriptShelf::new(book);
        most_pressing(out, &marks)
            .into_iter()
            .map(|c| {
                let p = &day.profiles[c.profile];
                let item = c.item.map(|j| &day.items[j]);
                entry(&shelf, c, p, item, today, lang)
            })
            .collect()
    }

    /// Whether this morning's queue has someone in it, answered without
    /// reading every profile (the app asks at start, and opens on Today when
    /// it does): the people the queue is first about, follow-ups due,
    /// birthdays and anniversaries in the coming week and after-sale care,
    /// less what is marked done, snoozed or dismissed. Festivals, new
    /// arrivals and customers gone quiet need the whole book scored; they
    /// wait for the queue itself.
    pub fn someone_to_reach(&self, book: &Book, today: NaiveDate) -> Result<bool> {
        let associate = book.associate()?;
        let marks = self.queue_marks(book, today)?;
        let conn = book.connection();
        let reachable = "erased_at IS NULL AND merged_into IS NULL AND do_not_contact = 0";
        let mut follow_ups = conn.prepare_cached(&format!(
            "SELECT f.id FROM follow_ups f JOIN customers c ON c.id = f.customer_id
             WHERE f.done_at IS NULL AND f.due_on <= ?1 AND {reachable}"
        ))?;
        let due: Vec<String> = follow_ups
            .query_map([today.to_string()], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        if due.iter().any(|id| !marks.contains(&follow_up_key(id))) {
            return Ok(true);
        }
        // Only the associate's own customers (and unowned ones), as the queue.
        let mine = "(?1 IS NULL OR c.owner IS NULL OR c.owner = ?1)";
        let mut customers = conn.prepare_cached(&format!(
            "SELECT c.id, c.birthday, c.birthday_calendar, c.anniversary, c.anniversary_calendar
             FROM customers c
             WHERE {reachable} AND {mine} AND (c.birthday IS NOT NULL OR c.anniversary IS NOT NULL)"
        ))?;
        let mut rows = customers.query([&associate])?;
        while let Some(r) = rows.next()? {
            let id: String = r.get(0)?;
            for (kind, text, calendar) in [("birthday", 1, 2), ("anniversary", 3, 4)] {
                let Some(text) = r.get::<_, Option<String>>(text)? else {
                    continue;
                };
                let calendar: String = r.get(calendar)?;
                let calendar = lighttouch_text::Calendar::parse(&calendar).unwrap_or_default();
                let Some(days) = lighttouch_text::occasions::days_until(&text, calendar, today)
                else {
                    continue;
                };
                let key = occasion_key(kind, &id, today + Duration::days(days));
                if days <= OCCASION_AHEAD && !marks.contains(&key) {
                    return Ok(true);
                }
            }
        }
        let mut bought = conn.prepare_cached(&format!(
            "SELECT p.customer_id, p.purchased_on, p.product FROM purchases p
             JOIN customers c ON c.id = p.customer_id
             WHERE p.purchased_on >= ?2 AND p.purchased_on < ?3 AND {reachable} AND {mine}"
        ))?;
        let since = today - Duration::days(CARE_MONTH.1);
        let until = today - Duration::days(AFTERCARE.0 - 1);
        let mut rows = bought.query(rusqlite::params![
            associate,
            since.to_string(),
            until.to_string()
        ])?;
        while let Some(r) = rows.next()? {
            let id: String = r.get(0)?;
            let on: String = r.get(1)?;
            let Some(day) = on
                .get(..10)
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
            else {
                continue;
            };
            let product: String = r.get(2)?;
            let product_key = lighttouch_text::fold(&product);
            for (kind, _) in care_kinds((today - day).num_days()) {
                if !marks.contains(&care_key(kind, &id, day, &product_key)) {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }

    /// Marks a queue entry done or dismissed, or snoozes it until a day.
    pub fn mark_queue_entry(
        &mut self,
        book: &mut Book,
        key: &str,
        status: &str,
        until: Option<NaiveDate>,
    ) -> Result<()> {
        if !matches!(status, "done" | "dismissed" | "snoozed") {
            return Err(BookError::invalid(
                "status",
                "must be done, dismissed or snoozed",
            ));
        }
        if status == "snoozed" && until.is_none() {
            return Err(BookError::missing("until", "a snooze needs a day"));
        }
        let customer = key.split(':').nth(1).unwrap_or_default().to_string();
        if key.split(':').count() < 2 {
            return Err(BookError::invalid(
                "key",
                format!("{key:?} is not a queue entry"),
            ));
        }
        let now = book
            .now()
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        // A scheduled follow-up that is done is done for everyone (it syncs).
        if let (Some(id), "done") = (key.strip_prefix("follow_up:"), status) {
            return self.complete_follow_up(book, id);
        }
        book.connection().execute(
            "INSERT INTO queue_marks(key, customer_id, status, until, at) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(key) DO UPDATE SET status = excluded.status, until = excluded.until, at = excluded.at",
            rusqlite::params![key, customer, status, until.map(|d| d.to_string()), now],
        )?;
        Ok(())
    }

    fn queue_marks(&self, book: &Book, today: NaiveDate) -> Result<HashSet<String>> {
        let mut stmt = book.connection().prepare_cached(
            "SELECT key FROM queue_marks WHERE status != 'snoozed' OR until > ?1",
        )?;
        let rows = stmt.query_map([today.to_string()], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Schedules a follow-up with a customer (it syncs with the customer).
    pub fn schedule_follow_up(
        &mut self,
        book: &mut Book,
        customer_id: &str,
        due_on: NaiveDate,
        note: Option<&str>,
    ) -> Result<String> {
        book.live_customer(customer_id)?;
        let author = book.associate()?;
        let note = note.map(str::trim).filter(|n| !n.is_empty());
        book.write(|w| {
            let id = uuid::Uuid::now_v7().to_string();
            w.insert(
                Entity::FollowUp,
                &id,
                &[
                    ("customer_id", Value::String(customer_id.into())),
                    ("due_on", Value::String(due_on.to_string())),
                    (
                        "note",
                        note.map(|n| Value::String(n.into())).unwrap_or(Value::Null),
                    ),
                    ("author", author.map(Value::String).unwrap_or(Value::Null)),
                    ("created_at", Value::String(w.now_text())),
                ],
            )?;
            Ok(id)
        })
    }

    pub fn complete_follow_up(&mut self, book: &mut Book, id: &str) -> Result<()> {
        let exists: bool = book
            .connection()
            .prepare_cached("SELECT 1 FROM follow_ups WHERE id = ?1")?
            .exists([id])?;
        if !exists {
            return Err(BookError::InvalidInput(format!(
                "no follow-up with id {id}"
            )));
        }
        book.write(|w| {
            let now = w.now_text();
            w.update(Entity::FollowUp, id, "done_at", &Value::String(now))?;
            Ok(())
        })
    }

    pub(crate) fn due_follow_ups(&self, book: &Book, today: NaiveDate) -> Result<Vec<FollowUp>> {
        let mut stmt = book.connection().prepare_cached(
            "SELECT id, customer_id, due_on, note, done_at FROM follow_ups
             WHERE done_at IS NULL AND due_on <= ?1 ORDER BY due_on, id",
        )?;
        let rows = stmt.query_map([today.to_string()], |r| {
            Ok(FollowUp {
                id: r.get(0)?,
                customer_id: r.get(1)?,
                due_on: r.get(2)?,
                note: r.get(3)?,
                done_at: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

/// A candidate as the associate sees it, with its draft.
fn entry(
    shelf: &ScriptShelf,
    c: Candidate,
    p: &Profile,
    item: Option<&Prepared>,
    today: NaiveDate,
    lang: &str,
) -> Result<QueueEntry> {
    let language = lang_of(p).to_string();
    let product = item
        .map(|it| it.item.text_in(&language).0.to_string())
        .or(c.product.clone());
    // The day itself is wished on the day, not announced as coming.
    let on_the_day = c.due == today;
    let purpose = match c.kind {
        "follow_up" => "followup",
        "new_arrival" => "recommend",
        "birthday" if on_the_day => "birthday_today",
        "anniversary" if on_the_day => "anniversary_today",
        "festival" if on_the_day => "festival_today",
        k => k,
    };
    let composed = compose(
        shelf,
        p,
        &Subject {
            purpose,
            product: product.as_deref(),
            content_id: item.map(|it| it.item.id.as_str()),
            reasons: &c.reasons,
            occasion: c.occasion.clone(),
        },
        lang,
    )?;
    let mut reasons = composed.reasons;
    reasons.extend(extra_reason(&c, p, today, lang));
    Ok(QueueEntry {
        key: c.key,
        kind: c.kind.to_string(),
        section: QueueSection::of(c.kind),
        customer_id: p.id.clone(),
        name: p.name.clone(),
        due: c.due.format("%Y-%m-%d").to_string(),
        reasons,
        content_id: item.map(|it| it.item.id.clone()),
        draft: composed.body,
        draft_language: composed.language,
        promotion: c.promotion,
    })
}

fn lang_of(p: &Profile) -> &str {
    match p.language.as_deref() {
        Some(l @ ("zh-Hans" | "zh-Hant" | "en")) => l,
        _ => "zh-Hans",
    }
}

/// What the entry's kind says on its own, for the associate.
fn extra_reason(c: &Candidate, p: &Profile, today: NaiveDate, lang: &str) -> Option<String> {
    let text = extra_reason_hans(c, p, today, lang)?;
    let text = if lang == "zh-Hant" {
        crate::recommend::reasons::hant(&text)
    } else {
        text
    };
    // The associate's own note says what the follow-up is about; it stays as written.
    Some(match (c.kind, c.occasion.as_deref()) {
        ("follow_up", Some(note)) if lang == "en" => format!("{text}: {note}"),
        ("follow_up", Some(note)) => format!("{text}：{note}"),
        _ => text,
    })
}

fn extra_reason_hans(c: &Candidate, p: &Profile, today: NaiveDate, lang: &str) -> Option<String> {
    let en = lang == "en";
    Some(match c.kind {
        "aftercare" | "care_month" => {
            let days = (today
                - (c.due
                    - Duration::days(if c.kind == "aftercare" {
                        AFTERCARE.0
                    } else {
                        CARE_MONTH.0
                    })))
            .num_days();
            let product = c.product.clone().unwrap_or_default();
            if en {
                format!("bought the {product} {days} days ago")
            } else {
                format!("{days} 天前买了{product}")
            }
        }
        "quiet" => {
            let days = p
                .contacts
                .last_contact
                .map(|d| (today - d).num_days())
                .unwrap_or(0);
            if en {
                format!("an important customer, no contact for {days} days")
            } else {
                format!("重要客户，已 {days} 天没有联系")
            }
        }
        "follow_up" => {
            if en {
                "a follow-up you scheduled".to_string()
            } else {
                "你安排的跟进".to_string()
            }
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::closest;

    /// The brute-force answer: every touched customer sorted by (most
    /// shared, lowest index), the eligible ones, the first `limit`.
    fn sorted(
        shared: &[u32],
        touched: &[usize],
        limit: usize,
        ok: &dyn Fn(usize) -> bool,
    ) -> Vec<usize> {
        let mut all: Vec<usize> = touched.to_vec();
        all.sort_by_key(|&i| (std::cmp::Reverse(shared[i]), i));
        all.into_iter().filter(|&i| ok(i)).take(limit).collect()
    }

    #[test]
    fn the_closest_are_those_sharing_most_then_the_lowest_index() {
        let shared = [0, 2, 1, 3, 2, 0, 1, 3];
        let touched = [7, 1, 2, 3, 4, 6];
        assert_eq!(closest(&shared, &touched, 3, |_| true), vec![3, 7, 1]);
        assert_eq!(
            closest(&shared, &touched, 10, |i| i != 3),
            vec![7, 1, 4, 2, 6]
        );
        assert_eq!(closest(&shared, &[], 3, |_| true), Vec::<usize>::new());
        assert_eq!(closest(&shared, &touched, 0, |_| true), Vec::<usize>::new());
    }

    #[test]
    fn the_closest_match_a_full_sort_on_large_random_counts() {
        let mut rng = fastrand::Rng::with_seed(3);
        for round in 0..200 {
            let n = rng.usize(1..3_000);
            let shared: Vec<u32> = (0..n).map(|_| rng.u32(0..5)).collect();
            let mut touched: Vec<usize> = (0..n).filter(|&i| shared[i] > 0).collect();
            rng.shuffle(&mut touched);
            let limit = rng.usize(0..80);
            let ok = |i: usize| !(i * 7 + round).is_multiple_of(5);
            let mut asked = 0;
            let got = closest(&shared, &touched, limit, |i| {
                asked += 1;
                ok(i)
            });
            assert_eq!(got, sorted(&shared, &touched, limit, &ok), "round {round}");
            // Eligibility is asked of a bounded batch, not of everyone.
            assert!(asked <= touched.len());
        }
    }
}
