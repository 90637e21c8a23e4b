//! Personalised recommendations, offline on the laptop: for one customer,
//! the few content items that suit them, with reasons; for one item, the
//! associate's customers it suits, each with a draft. The light-touch guard
//! decides who may hear a promotion at all.

pub mod eval;
pub mod guard;
pub(crate) mod learned;
pub(crate) mod lexicon;
pub(crate) mod profile;
pub mod reasons;
pub(crate) mod score;
pub(crate) mod stats;

use crate::Outreach;
use chrono::NaiveDate;
use guard::{ContactPressure, HoldReason};
use lexicon::Lexicon;
use lighttouch_book::error::{BookError, Result};
use lighttouch_book::store::Book;
use lighttouch_book::store::Touched;
use lighttouch_text::festivals;
use profile::Profile;
use reasons::Reason;
use score::{Context, Known, Prepared};
use serde::Serialize;
use stats::StoreStats;
use std::collections::{HashMap, HashSet};

/// One proposed piece for a customer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Suggestion {
    pub content_id: String,
    pub title: String,
    pub kind: String,
    pub price_cents: Option<i64>,
    pub score: f64,
    /// Sentences for the associate, in the language asked for.
    pub reasons: Vec<String>,
    pub reason_codes: Vec<Reason>,
}

/// Why a customer hears no promotion now, in words.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct HeldBack {
    pub reason: HoldReason,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Suggestions {
    pub customer_id: String,
    /// Empty when the customer is held back: nothing bypasses the guard.
    pub items: Vec<Suggestion>,
    pub pressure: ContactPressure,
    pub held_back: Option<HeldBack>,
}

/// Who one content item suits, before drafts are composed for them.
pub(crate) struct RankedAudience {
    pub item: lighttouch_book::content::ContentItem,
    /// Score, profile and reasons, best first.
    pub chosen: Vec<(f64, Profile, Vec<Reason>)>,
    pub held_back: u32,
}

pub(crate) fn hold_words(h: &HoldReason, lang: &str) -> String {
    let s = match (h, lang) {
        (HoldReason::DoNotContact, "en") => "marked do-not-contact".to_string(),
        (HoldReason::DoNotContact, _) => "已标记请勿联系".to_string(),
        (HoldReason::NoConsent, "en") => "no marketing consent: service messages only".to_string(),
        (HoldReason::NoConsent, _) => "未同意营销信息：只发服务消息".to_string(),
        (HoldReason::WeeklyCap { count, until }, "en") => {
            format!("already contacted {count}× this week; wait until {until}")
        }
        (HoldReason::WeeklyCap { count, until }, _) => {
            format!("本周已联系 {count} 次，{until} 后再联系")
        }
        (HoldReason::MonthlyCap { count, until }, "en") => {
            format!("already contacted {count}× in 30 days; wait until {until}")
        }
        (HoldReason::MonthlyCap { count, until }, _) => {
            format!("30 天内已联系 {count} 次，{until} 后再联系")
        }
    };
    if lang == "zh-Hant" {
        reasons::hant(&s)
    } else {
        s
    }
}

/// What recommendations read, rebuilt when the book changes.
pub(crate) struct Cache {
    pub lex: Lexicon,
    /// Every live customer (for audiences, the daily queue, evaluation).
    pub profiles: Option<Vec<Profile>>,
    /// Where each customer sits in `profiles`.
    positions: HashMap<String, usize>,
    /// Active content for one day, keys resolved.
    pub content: Option<(NaiveDate, Vec<Prepared>)>,
    /// What scoring needs of each profile as of one day, under the store
    /// statistics of one purchases mark (lunar dates are costly).
    pub known: Option<(NaiveDate, i64, Vec<Known>)>,
}

impl Cache {
    /// Re-reads the profiles of customers a write touched, in place. Returns
    /// the positions whose profile is new or changed.
    fn refresh(&mut self, conn: &rusqlite::Connection, ids: HashSet<String>) -> Result<Vec<usize>> {
        let mut changed = Vec::new();
        let Some(profiles) = self.profiles.as_mut() else {
            return Ok(changed);
        };
        for id in ids {
            let fresh = profile::load(conn, &self.lex, Some(&id))?
                .into_iter()
                .next();
            match (self.positions.get(&id).copied(), fresh) {
                (Some(i), Some(p)) => {
                    profiles[i] = p;
                    changed.push(i);
                }
                (None, Some(p)) => {
                    self.positions.insert(id, profiles.len());
                    changed.push(profiles.len());
                    profiles.push(p);
                    if let Some((_, _, known)) = self.known.as_mut() {
                        known.push(Known::default());
                    }
                }
                // Erased or merged away: out of every list.
                (Some(i), None) => {
                    profiles.swap_remove(i);
                    if let Some((_, _, known)) = self.known.as_mut() {
                        known.swap_remove(i);
                    }
                    self.positions.remove(&id);
                    if let Some(moved) = profiles.get(i) {
                        self.positions.insert(moved.id.clone(), i);
                        changed.push(i);
                    }
                }
                (None, None) => {}
            }
        }
        changed.retain(|i| *i < profiles.len());
        Ok(changed)
    }
}

/// Store statistics change only with purchases; they outlive other writes.
pub(crate) struct StatsCache {
    /// The newest purchase line's rowid when the statistics were read.
    purchases_mark: i64,
    /// That mark when the learned model was fitted.
    fitted_mark: i64,
    /// Customers erased or merged away by then (their lines are gone).
    gone: i64,
    /// Read back from the book rather than worked out in this process.
    from_book: bool,
    pub stats: StoreStats,
}

/// Where the statistics are kept in the book between processes.
const KEPT_STATS: &str = "recommend.store_stats";

fn gone_customers(conn: &rusqlite::Connection) -> Result<i64> {
    Ok(conn.query_row(
        "SELECT COUNT(*) FROM customers WHERE erased_at IS NOT NULL OR merged_into IS NOT NULL",
        [],
        |r| r.get(0),
    )?)
}

/// The statistics an earlier process kept, if they read back whole.
fn kept_stats(book: &Book) -> Result<Option<StatsCache>> {
    let Some((mark, data)) = book.derived(KEPT_STATS)? else {
        return Ok(None);
    };
    let mut parts = mark.split(':').map(|p| p.parse::<i64>().ok());
    let (Some(Some(purchases_mark)), Some(Some(fitted_mark)), Some(Some(gone))) =
        (parts.next(), parts.next(), parts.next())
    else {
        return Ok(None);
    };
    Ok(StoreStats::from_bytes(&data).map(|stats| StatsCache {
        purchases_mark,
        fitted_mark,
        gone,
        from_book: true,
        stats,
    }))
}

fn keep_stats(book: &Book, s: &StatsCache) -> Result<()> {
    let mark = format!("{}:{}:{}", s.purchases_mark, s.fitted_mark, s.gone);
    book.keep_derived(KEPT_STATS, &mark, &s.stats.to_bytes())
}

/// The learned model is fitted again once the purchases have grown by this
/// share since its fit. A fit takes seconds on a large catalogue; a
/// day's few sales do not change what customers buy together, so they do not
/// hold the associate up.
const REFIT_SHARE: f64 = 0.05;

/// What a recommendation call needs loaded.
#[derive(Clone, Copy)]
pub(crate) struct Needs {
    pub profiles: bool,
    pub content_on: Option<NaiveDate>,
}

impl Outreach {
    /// Whether every customer's profile is in memory.
    pub fn profiles_loaded(&self) -> bool {
        self.cache.as_ref().is_some_and(|c| c.profiles.is_some())
    }

    /// Drops every customer's profile (and what hangs on them); the next
    /// call that needs them reads them again.
    pub fn release_profiles(&mut self) {
        if let Some(cache) = self.cache.as_mut() {
            cache.profiles = None;
            cache.positions = HashMap::new();
            cache.known = None;
        }
    }

    /// The recommendation caches, brought up to date with every write since.
    pub(crate) fn recommend_data(
        &mut self,
        book: &Book,
        needs: Needs,
    ) -> Result<(&mut Cache, &StoreStats)> {
        let conn = book.connection();
        let slot = &mut self.cache;
        let touched = match self.seen {
            Some(seen) => book.touched_since(seen),
            None => Touched::Everything,
        };
        self.seen = Some(book.generation());
        let mut changed = Vec::new();
        let mut lines_gone = false;
        match touched {
            Touched::Everything => {
                *slot = None;
                lines_gone = true;
            }
            Touched::Customers(ids) => {
                let mut gone = conn.prepare_cached(
                    "SELECT 1 FROM customers WHERE id = ?1
                       AND (erased_at IS NOT NULL OR merged_into IS NOT NULL)",
                )?;
                for id in &ids {
                    lines_gone |= gone.exists([id])?;
                }
                if let Some(cache) = slot.as_mut() {
                    changed = cache.refresh(conn, ids)?;
                }
            }
        }
        if slot.is_none() {
            *slot = Some(Cache {
                lex: Lexicon::load(conn)?,
                profiles: None,
                positions: HashMap::new(),
                content: None,
                known: None,
            });
        }
        let cache = slot.as_mut().expect("filled above");
        // The newest line's rowid tells new purchases (one index lookup, not a
        // count of a million lines); a customer erased or merged away, or a
        // write touching everything, may have taken lines away.
        let mark: i64 =
            conn.query_row("SELECT COALESCE(MAX(rowid), 0) FROM purchases", [], |r| {
                r.get(0)
            })?;
        let stats_slot = &mut self.stats;
        if lines_gone || stats_slot.as_ref().is_none_or(|s| s.purchases_mark != mark) {
            let previous = match stats_slot.take() {
                Some(p) => Some(p),
                // A fresh process (the CLI, the app starting): what an
                // earlier one worked out and kept in the book.
                None => kept_stats(book)?,
            };
            let fresh_process = previous.as_ref().is_none_or(|p| p.from_book);
            match previous {
                Some(p)
                    if p.purchases_mark == mark
                        && p.from_book
                        && p.gone == gone_customers(conn)? =>
                {
                    *stats_slot = Some(p);
                }
                previous => {
                    let reuse = previous.filter(|p| {
                        (mark - p.fitted_mark).abs() as f64 <= REFIT_SHARE * p.fitted_mark as f64
                    });
                    let refit = reuse.is_none();
                    let (fitted_mark, learned) = match reuse {
                        Some(p) => (p.fitted_mark, Some(p.stats.learned)),
                        None => (mark, None),
                    };
                    let fresh = StatsCache {
                        purchases_mark: mark,
                        fitted_mark,
                        gone: gone_customers(conn)?,
                        from_book: false,
                        stats: StoreStats::load(conn, &cache.lex, learned)?,
                    };
                    // Kept for the next process; a running app keeps it in
                    // memory and writes it again only after a fit.
                    if refit || fresh_process {
                        keep_stats(book, &fresh)?;
                    }
                    *stats_slot = Some(fresh);
                }
            }
        }
        let stats = &stats_slot.as_ref().expect("filled above").stats;
        if needs.profiles && cache.profiles.is_none() {
            let profiles = profile::load(conn, &cache.lex, None)?;
            cache.positions = profiles
                .iter()
                .enumerate()
                .map(|(i, p)| (p.id.clone(), i))
                .collect();
            cache.profiles = Some(profiles);
            cache.known = None;
        }
        if let (Some(day), Some(profiles)) = (needs.content_on, &cache.profiles) {
            match cache.known.as_mut() {
                Some((d, m, known)) if *d == day && *m == mark => {
                    for i in changed {
                        known[i] = score::known(&profiles[i], day, stats);
                    }
                }
                _ => {
                    let known = profiles
                        .iter()
                        .map(|p| score::known(p, day, stats))
                        .collect();
                    cache.known = Some((day, mark, known));
                }
            }
        }
        if let Some(day) = needs.content_on {
            if cache.content.as_ref().is_none_or(|(d, _)| *d != day) {
                let items = lighttouch_book::content::active_items(conn, day)?
                    .into_iter()
                    .map(|i| Prepared::new(i, &cache.lex))
                    .collect();
                cache.content = Some((day, items));
            }
        }
        Ok((cache, stats))
    }

    /// The reasons' language: the book's UI language, or Simplified Chinese.
    pub fn reasons_language(&self, book: &Book) -> Result<String> {
        Ok(book
            .settings()?
            .language
            .unwrap_or_else(|| "zh-Hans".to_string()))
    }

    /// Content items for one customer, best first, each with its reasons
    /// (in `lang`). A customer the guard holds back gets none, and the reason.
    pub fn suggest(
        &mut self,
        book: &mut Book,
        customer_id: &str,
        limit: usize,
        today: NaiveDate,
        lang: &str,
    ) -> Result<Suggestions> {
        let settings = self.guard_settings(book)?;
        let profile = self.one_profile(book, customer_id)?;
        let pressure = profile.contacts.pressure(today);
        if let Some(h) =
            profile
                .contacts
                .hold(profile.consent, profile.do_not_contact, &settings, today)
        {
            return Ok(Suggestions {
                customer_id: customer_id.to_string(),
                items: Vec::new(),
                pressure,
                held_back: Some(HeldBack {
                    message: hold_words(&h, lang),
                    reason: h,
                }),
            });
        }
        let festivals = festivals::upcoming(today, score::FESTIVAL_DAYS);
        let (cache, stats) = self.recommend_data(
            book,
            Needs {
                profiles: false,
                content_on: Some(today),
            },
        )?;
        let cx = Context::new(today, &cache.lex, stats, &festivals, lang);
        let known = score::known(&profile, today, stats);
        let items = &cache.content.as_ref().expect("loaded for today").1;
        let scored = rank(items, &profile, &known, &cx, limit);
        Ok(Suggestions {
            customer_id: customer_id.to_string(),
            items: scored
                .into_iter()
                .map(|(score, it, reasons)| Suggestion {
                    content_id: it.item.id.clone(),
                    title: it.item.text_in(lang).0.to_string(),
                    kind: it.item.kind.clone(),
                    price_cents: it.item.price_cents,
                    score: (score * 100.0).round() / 100.0,
                    reasons: reasons.iter().map(|r| r.words(lang)).collect(),
                    reason_codes: reasons,
                })
                .collect(),
            pressure,
            held_back: None,
        })
    }

    /// One live customer's profile, read fresh.
    pub(crate) fn one_profile(&mut self, book: &mut Book, customer_id: &str) -> Result<Profile> {
        self.recommend_data(
            book,
            Needs {
                profiles: false,
                content_on: None,
            },
        )?;
        let cache = self.cache.as_ref().expect("filled above");
        profile::load(book.connection(), &cache.lex, Some(customer_id))?
            .into_iter()
            .next()
            .ok_or_else(|| BookError::CustomerNotFound(customer_id.to_string()))
    }

    /// The reasons one item suits one customer (empty when it is theirs already,
    /// was sent, or was dismissed).
    pub(crate) fn reasons_for(
        &mut self,
        book: &mut Book,
        profile: &Profile,
        content_id: &str,
        today: NaiveDate,
        lang: &str,
    ) -> Result<Vec<Reason>> {
        let item = book.content_item(content_id)?;
        let festivals = festivals::upcoming(today, score::FESTIVAL_DAYS);
        let (cache, stats) = self.recommend_data(
            book,
            Needs {
                profiles: false,
                content_on: None,
            },
        )?;
        let prepared = Prepared::new(item, &cache.lex);
        let cx = Context::new(today, &cache.lex, stats, &festivals, lang);
        let known = score::known(profile, today, stats);
        Ok(score::score(&prepared, profile, &known, &cx)
            .map(|s| s.reasons)
            .unwrap_or_default())
    }

    /// The customers `content_id` suits best, each with the reasons, and how
    /// many it would suit who are held back.
    pub(crate) fn rank_audience(
        &mut self,
        book: &mut Book,
        content_id: &str,
        limit: usize,
        today: NaiveDate,
        lang: &str,
    ) -> Result<RankedAudience> {
        let item = book.content_item(content_id)?;
        let settings = self.guard_settings(book)?;
        let associate = book.associate()?;
        let festivals = festivals::upcoming(today, score::FESTIVAL_DAYS);
        let (cache, stats) = self.recommend_data(
            book,
            Needs {
                profiles: true,
                content_on: Some(today),
            },
        )?;
        let prepared = Prepared::new(item.clone(), &cache.lex);
        let known = &cache.known.as_ref().expect("loaded for today").2;
        let cx = Context::new(today, &cache.lex, stats, &festivals, lang);
        let mut held_back = 0;
        let mut ranked: Vec<(f64, usize)> = Vec::new();
        let profiles = cache.profiles.as_ref().expect("loaded above");
        for (i, p) in profiles.iter().enumerate() {
            if associate.is_some() && p.owner.is_some() && p.owner != associate {
                continue;
            }
            let Some(s) = score::quick_score(&prepared, p, &known[i], &cx) else {
                continue;
            };
            if s.score < MIN_AUDIENCE_SCORE {
                continue;
            }
            if p.contacts
                .hold(p.consent, p.do_not_contact, &settings, today)
                .is_some()
            {
                held_back += 1;
                continue;
            }
            ranked.push((s.score, i));
        }
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        ranked.truncate(limit);
        let chosen: Vec<(f64, Profile, Vec<Reason>)> = ranked
            .into_iter()
            .map(|(s, i)| {
                let reasons = score::score(&prepared, &profiles[i], &known[i], &cx)
                    .map(|s| s.reasons)
                    .unwrap_or_default();
                (s, profiles[i].clone(), reasons)
            })
            .collect();
        Ok(RankedAudience {
            item,
            chosen,
            held_back,
        })
    }
}

/// One customer's pieces, best first, as the app proposes them: every item
/// scored, those that argue against themselves (far over budget, turned
/// down) left out, and range kept by [`diversify`]. Evaluation ranks through
/// this too.
pub(crate) fn rank<'a>(
    items: &'a [Prepared],
    profile: &Profile,
    known: &Known,
    cx: &Context,
    limit: usize,
) -> Vec<(f64, &'a Prepared, Vec<Reason>)> {
    let one = score::ForCustomer::new(profile, known, cx);
    let mut scored: Vec<(f64, &Prepared)> = items
        .iter()
        .filter_map(|it| one.quick(it).map(|s| (s.score, it)))
        .filter(|(score, _)| *score > 0.0)
        .collect();
    scored.sort_by(|a, b| {
        b.0.total_cmp(&a.0)
            .then_with(|| a.1.item.id.cmp(&b.1.item.id))
    });
    // Only the chosen few have their reasons written out.
    diversify(scored, limit)
        .into_iter()
        .map(|(s, it)| {
            let reasons = one.score(it).map(|s| s.reasons).unwrap_or_default();
            (s, it, reasons)
        })
        .collect()
}

/// The best `limit` items, but not five necklaces: each pick lowers the
/// remaining items of the same kind of piece, so a short list shows range.
fn diversify(mut ranked: Vec<(f64, &Prepared)>, limit: usize) -> Vec<(f64, &Prepared)> {
    const SAME_KIND_PENALTY: f64 = 1.5;
    let mut picked: Vec<(f64, &Prepared)> = Vec::with_capacity(limit);
    while picked.len() < limit && !ranked.is_empty() {
        let penalty = |it: &Prepared| {
            let same = picked
                .iter()
                .filter(|(_, p)| p.category.is_some() && p.category == it.category)
                .count();
            same as f64 * SAME_KIND_PENALTY
        };
        // Ranked best first, so the first of equals wins.
        let mut best = 0;
        let mut best_value = f64::NEG_INFINITY;
        for (i, (score, it)) in ranked.iter().enumerate() {
            let v = score - penalty(it);
            if v > best_value {
                best = i;
                best_value = v;
            }
        }
        picked.push(ranked.remove(best));
    }
    picked
}

/// Below this an item does not suit a customer enough to bring it up.
const MIN_AUDIENCE_SCORE: f64 = 2.0;

#[cfg(test)]
mod tests {
    use super::score::{self, Context, ForCustomer};
    use super::*;
    use lighttouch_book::history::NewPurchase;
    use lighttouch_book::ManualClock;
    use std::sync::Arc;

    /// Every way of scoring gives the same figures: one customer against
    /// many pieces (their row of the learned model), one pair at a time, and
    /// without the reasons written out (whose flags must match the reasons).
    #[test]
    fn every_way_of_scoring_agrees() {
        let clock = Arc::new(ManualClock::new("2026-12-01T03:00:00Z".parse().unwrap()));
        let mut book = Book::open_in_memory(clock).unwrap();
        let mut rng = fastrand::Rng::with_seed(5);
        let materials = ["玫瑰金", "黄金", "珍珠", "钻石", "翡翠"];
        let kinds = [
            ("项链", "necklace"),
            ("手链", "bracelet"),
            ("戒指", "ring"),
            ("耳饰", "earrings"),
        ];
        let mut csv = String::from("id,kind,title,tags,category,price,valid_from,skus\n");
        for i in 0..40 {
            let m = materials[i % materials.len()];
            let (k, _) = kinds[i % kinds.len()];
            let from = if i % 7 == 0 {
                "2026-11-28"
            } else {
                "2026-06-01"
            };
            let tags = if i % 9 == 0 {
                format!("{m};{k};圣诞")
            } else {
                format!("{m};{k}")
            };
            csv.push_str(&format!(
                "p{i},product,{m}{k}{i},{tags},{k},{},{from},SKU{i}\n",
                500 + 700 * i
            ));
        }
        book.import_content(csv.as_bytes()).unwrap();
        let budgets = ["entry", "mid", "high", "luxury"];
        for c in 0..60 {
            let month = 1 + c % 12;
            let id = book
                .add_customer(
                    &[
                        ("name", &format!("顾客{c}")),
                        ("birthday", &format!("1990-{month:02}-0{}", 1 + c % 9)),
                        ("budget", budgets[c % budgets.len()]),
                        ("ring_size", "12"),
                        ("consent_marketing", "yes"),
                    ],
                    false,
                )
                .unwrap();
            for t in 0..rng.usize(0..3) {
                book.tag_customer(&id, materials[(c + t) % materials.len()])
                    .unwrap();
            }
            if c % 5 == 0 {
                book.tag_customer(&id, "送礼").unwrap();
            }
            for _ in 0..rng.usize(0..8) {
                let j = rng.usize(0..40);
                let (k, _) = kinds[j % kinds.len()];
                book.add_purchase(
                    &id,
                    &NewPurchase {
                        purchased_on: format!(
                            "20{:02}-12-0{}",
                            20 + rng.usize(0..7),
                            1 + rng.usize(0..9)
                        ),
                        order_ref: None,
                        sku: Some(format!("SKU{j}")),
                        product: format!("{}{k}{j}", materials[j % materials.len()]),
                        category: Some(k.into()),
                        quantity: 1,
                        amount_cents: None,
                        store: None,
                    },
                )
                .unwrap();
            }
        }
        // Christmas in 17 days.
        let today = NaiveDate::from_ymd_opt(2026, 12, 8).unwrap();
        let festivals = festivals::upcoming(today, score::FESTIVAL_DAYS);
        let mut outreach = Outreach::new();
        let (cache, stats) = outreach
            .recommend_data(
                &book,
                Needs {
                    profiles: true,
                    content_on: Some(today),
                },
            )
            .unwrap();
        assert!(
            stats.learned.piece("SKU1").is_some(),
            "the model has pieces"
        );
        let cx = Context::new(today, &cache.lex, stats, &festivals, "zh-Hans");
        let profiles = cache.profiles.as_ref().unwrap();
        let known = &cache.known.as_ref().unwrap().2;
        let items = &cache.content.as_ref().unwrap().1;
        let mut compared = 0;
        let mut seen: HashSet<std::mem::Discriminant<Reason>> = HashSet::new();
        for (i, p) in profiles.iter().enumerate() {
            let one = ForCustomer::new(p, &known[i], &cx);
            for it in items {
                let pair = score::score(it, p, &known[i], &cx);
                let row = one.score(it);
                let quick = one.quick(it);
                let pair_quick = score::quick_score(it, p, &known[i], &cx);
                let (Some(pair), Some(row), Some(quick), Some(pair_quick)) =
                    (pair, row, quick, pair_quick)
                else {
                    assert!(score::score(it, p, &known[i], &cx).is_none());
                    assert!(one.score(it).is_none() && one.quick(it).is_none());
                    continue;
                };
                compared += 1;
                assert_eq!(pair.score.to_bits(), row.score.to_bits());
                assert_eq!(pair.score.to_bits(), quick.score.to_bits());
                assert_eq!(pair.score.to_bits(), pair_quick.score.to_bits());
                assert_eq!(pair.reasons, row.reasons);
                assert!(quick.reasons.is_empty());
                let about = pair
                    .reasons
                    .iter()
                    .any(|r| matches!(r, Reason::Likes { .. } | Reason::GoesWith { .. }));
                let festive = pair
                    .reasons
                    .iter()
                    .any(|r| matches!(r, Reason::Festival { .. }));
                assert_eq!((quick.about_them, quick.festive), (about, festive));
                seen.extend(pair.reasons.iter().map(std::mem::discriminant));
            }
        }
        assert!(compared > 1000, "{compared}");
        // The book exercises every kind of evidence the paths could differ on.
        for r in [
            Reason::Likes {
                label: String::new(),
            },
            Reason::GoesWith {
                product: String::new(),
                month: 1,
            },
            Reason::BuyersAlsoBought {
                product: String::new(),
            },
            Reason::Birthday { days: 0 },
            Reason::InBudget {
                band: String::new(),
            },
            Reason::SizeOnFile {
                size: String::new(),
            },
            Reason::New { days: 0 },
            Reason::Festival {
                name: String::new(),
                days: 0,
                tag: None,
            },
            Reason::PurchaseAnniversary {
                product: String::new(),
                years: 1,
                days: 0,
            },
        ] {
            assert!(
                seen.contains(&std::mem::discriminant(&r)),
                "{r:?} never came up"
            );
        }
    }
}
