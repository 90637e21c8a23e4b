//! How well one content item suits one customer, with the reasons. Scores
//! add up evidence: what they like, what goes with what they own, what the
//! store's buyers pair, their budget, their occasions and festivals, newness.
//! Owned, already sent and dismissed pieces are never proposed again.

use super::learned::Learned;
use super::lexicon::{contains_word, Lexicon};
use super::profile::Profile;
use super::reasons::Reason;
use super::stats::StoreStats;
use chrono::{Datelike, NaiveDate};
use lighttouch_book::content::ContentItem;
use lighttouch_book::customers::fields::BUDGETS;
use lighttouch_book::tags::TagGroup;
use lighttouch_text::festivals::Festival;
use lighttouch_text::fold;
use lighttouch_text::occasions::days_until;
use std::collections::{HashMap, HashSet};

/// A content item with its keys resolved once.
#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    pub item: ContentItem,
    pub keys: Vec<String>,
    pub category: Option<String>,
    pub title_key: String,
    pub price_yuan: Option<f64>,
    pub first_day: Option<NaiveDate>,
    pub last_day: Option<NaiveDate>,
}

fn parse_day(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d").ok()
}

impl Prepared {
    pub fn new(item: ContentItem, lex: &Lexicon) -> Prepared {
        let mut keys: Vec<String> = item.tags.iter().map(|t| lex.key_of(t)).collect();
        for k in lex.find_in(&item.title) {
            keys.push(k);
        }
        let category = item.category.as_deref().map(|c| lex.key_of(c));
        if let Some(c) = &category {
            keys.push(c.clone());
        }
        keys.retain(|k| !k.is_empty());
        keys.sort();
        keys.dedup();
        Prepared {
            title_key: fold(&item.title),
            price_yuan: item.price_cents.map(|c| c as f64 / 100.0),
            first_day: item
                .valid_from
                .as_deref()
                .or(Some(item.created_at.as_str()))
                .and_then(parse_day),
            last_day: item.valid_until.as_deref().and_then(parse_day),
            keys,
            category,
            item,
        }
    }

    /// The piece of the learned model this item is, if the store sells it:
    /// the SKUs it names (the most bought first in the model's order), its
    /// id, or its title.
    fn piece_in(&self, learned: &Learned) -> Option<u32> {
        self.item
            .skus
            .iter()
            .filter_map(|s| learned.piece(s))
            .min()
            .or_else(|| learned.piece(&self.item.id))
            .or_else(|| learned.piece(&self.title_key))
    }

    /// The customer already has this piece (one of the SKUs it stands for,
    /// its id or its name).
    fn owned_by(&self, known: &Known) -> bool {
        self.item.kind == "product"
            && (known.owns(&self.item.id)
                || known.owns(&self.title_key)
                || self.item.skus.iter().any(|s| known.owns(s)))
    }
}

pub(crate) struct Context<'a> {
    pub today: NaiveDate,
    pub lex: &'a Lexicon,
    pub stats: &'a StoreStats,
    /// The associate's language, for festival names in reasons.
    pub lang: &'a str,
    festivals: Vec<FestivalKeys<'a>>,
    ring: String,
    bangle: String,
}

/// A festival with its words folded and its audience resolved, once.
struct FestivalKeys<'a> {
    festival: &'a Festival,
    words: Vec<String>,
    audience: Vec<String>,
}

impl<'a> Context<'a> {
    /// The festivals in view, each with the canonical tag keys of the
    /// customers it is for.
    pub fn festivals(&self) -> impl Iterator<Item = (&'a Festival, &[String])> + '_ {
        self.festivals
            .iter()
            .map(|f| (f.festival, f.audience.as_slice()))
    }

    pub fn new(
        today: NaiveDate,
        lex: &'a Lexicon,
        stats: &'a StoreStats,
        festivals: &'a [Festival],
        lang: &'a str,
    ) -> Context<'a> {
        Context {
            today,
            lex,
            stats,
            lang,
            festivals: festivals
                .iter()
                .map(|f| FestivalKeys {
                    festival: f,
                    words: f.content_words.iter().map(|w| fold(w)).collect(),
                    audience: f.audience.iter().map(|t| lex.key_of(t)).collect(),
                })
                .collect(),
            ring: lex.key_of("戒指"),
            bangle: lex.key_of("手镯"),
        }
    }
}

/// Occasions count from this many days ahead.
pub(crate) const OCCASION_DAYS: i64 = 14;
/// Festivals count from this many days ahead.
pub(crate) const FESTIVAL_DAYS: i64 = 21;
const NEW_DAYS: i64 = 14;
/// The learned model at full strength weighs about as much as a stated like
/// plus a piece it goes with: what the store's customers do is strong evidence.
const LEARNED_WEIGHT: f64 = 4.0;
/// Evidence this strong is worth telling the associate.
const LEARNED_REASON: f64 = 0.3;

#[derive(Debug, Clone)]
pub(crate) struct Scored {
    pub score: f64,
    pub reasons: Vec<Reason>,
}

fn band(budget: &str) -> Option<(usize, u32, Option<u32>)> {
    BUDGETS
        .iter()
        .enumerate()
        .find(|(_, (name, _, _))| *name == budget)
        .map(|(i, (_, lo, hi))| (i, *lo, *hi))
}

fn band_of_price(yuan: f64) -> usize {
    BUDGETS
        .iter()
        .position(|(_, lo, hi)| yuan >= f64::from(*lo) && hi.is_none_or(|h| yuan < f64::from(h)))
        .unwrap_or(BUDGETS.len() - 1)
}

/// What scoring needs of one customer beyond the profile, worked out once
/// per customer and day rather than once per piece.
#[derive(Debug, Clone, Default)]
pub(crate) struct Known {
    /// Their occasions in the coming days: (reason, days).
    pub occasions: Vec<(Reason, i64)>,
    /// The learned model's pieces they own, once each, with how much their
    /// lines of it count.
    pub pieces: Vec<(u32, f32)>,
    /// The strongest learned evidence their pieces give any other piece,
    /// worked out when first needed (a morning's queue rarely needs it).
    learned_top: std::cell::OnceCell<f64>,
    /// SKUs and folded names of what they own.
    /// Kept as hashes: a million purchase lines would otherwise be copied
    /// once more for the whole book.
    owned: HashSet<u64>,
    /// For each category, the category they own whose buyers here most
    /// often go on to it, and by how much (lift).
    pub pairings: HashMap<String, (String, f64)>,
}

impl Known {
    /// Whether they own what this SKU or folded name stands for.
    fn owns(&self, key: &str) -> bool {
        self.owned.contains(&key_hash(key))
    }
}

/// A fixed 64-bit hash of a key (std's SipHash with zero keys: the same in
/// every process; a collision among one customer's few keys is negligible).
fn key_hash(key: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut h);
    h.finish()
}

pub(crate) fn known(p: &Profile, today: NaiveDate, stats: &StoreStats) -> Known {
    let learned = &stats.learned;
    let pieces: Vec<(u32, f32)> =
        super::learned::weighed(p.owned.iter().filter_map(|o| o.piece_in(learned)).collect())
            .into_iter()
            .map(|(i, w)| (i, w as f32))
            .collect();
    let mut owned: HashSet<u64> = HashSet::new();
    for o in &p.owned {
        owned.insert(key_hash(&o.product_key));
        if let Some(sku) = &o.sku {
            owned.insert(key_hash(sku));
        }
    }
    let had: HashSet<&str> = p
        .owned
        .iter()
        .filter_map(|o| o.category.as_deref())
        .collect();
    let mut pairings: HashMap<String, (String, f64)> = HashMap::new();
    for h in &had {
        for (other, lift) in stats.pairings_from(h) {
            let better = pairings.get(other).is_none_or(|(_, l)| lift > *l);
            if better {
                pairings.insert(other.to_string(), (h.to_string(), lift));
            }
        }
    }
    Known {
        occasions: occasions(p, today),
        learned_top: std::cell::OnceCell::new(),
        pieces,
        owned,
        pairings,
    }
}

/// The customer's occasions in the coming days: (reason, days).
fn occasions(p: &Profile, today: NaiveDate) -> Vec<(Reason, i64)> {
    let mut out = Vec::new();
    if let Some((text, cal)) = &p.birthday {
        if let Some(d) = days_until(text, *cal, today).filter(|d| *d <= OCCASION_DAYS) {
            out.push((Reason::Birthday { days: d }, d));
        }
    }
    if let Some((text, cal)) = &p.anniversary {
        if let Some(d) = days_until(text, *cal, today).filter(|d| *d <= OCCASION_DAYS) {
            out.push((Reason::Anniversary { days: d }, d));
        }
    }
    out
}

/// Scores one item for one customer; `None` when it must not be proposed.
/// `known` is the customer's (see [`known`]), worked out once per customer.
pub(crate) fn score(item: &Prepared, p: &Profile, known: &Known, cx: &Context) -> Option<Scored> {
    if item.owned_by(known) || p.sent.contains(&item.item.id) || p.dismissed.contains(&item.item.id)
    {
        return None;
    }
    let mut s = 0.0;
    let mut reasons: Vec<Reason> = Vec::new();
    let mut personal = false;

    // What they like (tags, synonyms and stated preferences); a piece about
    // something they turned down sinks.
    let mut likes = 0;
    for k in &item.keys {
        if p.avoid.contains(k) {
            s -= 6.0;
        } else if let Some(label) = p.likes(k) {
            s += if likes == 0 { 3.0 } else { 1.5 };
            likes += 1;
            reasons.push(Reason::Likes {
                label: label.to_string(),
            });
        } else if !p.interests.is_empty() && cx.lex.group_of(k) == Some(TagGroup::Preference) {
            // A preference they have not stated: a faint maybe, not a reason.
            s += 0.1;
        }
    }
    personal |= likes > 0;

    // What goes with what they own: same material or style, another kind of piece.
    if item.item.kind == "product" {
        if let Some(o) = p.owned.iter().find(|o| {
            !o.keys.is_empty()
                && o.category != item.category
                && o.keys
                    .iter()
                    .any(|k| item.keys.contains(k) && Some(k) != o.category.as_ref())
        }) {
            s += 2.0;
            personal = true;
            reasons.push(Reason::GoesWith {
                product: o.product.clone(),
                month: o.day.month(),
            });
        }
        // What customers who bought what they own went on to buy (learned).
        let learned = &cx.stats.learned;
        let piece = item.piece_in(learned);
        if let Some(target) = piece {
            let top = *known
                .learned_top
                .get_or_init(|| learned.strongest_sum(&known.pieces));
            let e = learned.evidence(&known.pieces, target, top);
            s += LEARNED_WEIGHT * e.strength;
            if let Some(i) = e.strongest.filter(|_| e.strength >= LEARNED_REASON) {
                personal = true;
                reasons.push(Reason::BuyersAlsoBought {
                    product: learned.name(i).to_string(),
                });
            }
        }
        // What this store's buyers pair with what they bought, by kind of
        // piece: for pieces the model has not seen sold (new ones above all);
        // where it has, its piece-by-piece evidence already says this.
        if let Some((had, lift)) = item
            .category
            .as_ref()
            .filter(|_| piece.is_none() || known.pieces.is_empty())
            .and_then(|c| known.pairings.get(c))
            .filter(|(_, l)| *l > 1.2)
        {
            s += (lift.ln() * 1.5).min(1.5);
            reasons.push(Reason::BoughtTogether {
                had: cx.lex.label_of(had),
                category: cx
                    .lex
                    .label_of(item.category.as_deref().unwrap_or_default()),
            });
        }
        // Budget against price.
        if let (Some(price), Some((i, _, _))) =
            (item.price_yuan, p.budget.as_deref().and_then(band))
        {
            let j = band_of_price(price);
            if j == i {
                s += 1.0;
                reasons.push(Reason::InBudget {
                    band: BUDGETS[i].0.to_string(),
                });
            } else if j > i {
                s -= 1.5 * (j - i) as f64;
            } else {
                s -= 0.3;
            }
        }
        // Their size is on file for this kind of piece.
        let size = match &item.category {
            Some(c) if *c == cx.ring => p.ring_size.clone(),
            Some(c) if *c == cx.bangle => p.wrist_size.clone(),
            _ => None,
        };
        if let Some(size) = size {
            s += 0.3;
            reasons.push(Reason::SizeOnFile { size });
        }
    }

    // Occasions: a gift moment makes any fitting piece timelier.
    for (reason, days) in &known.occasions {
        s += 1.5 - *days as f64 * 0.05;
        reasons.push(reason.clone());
    }
    if item.item.kind == "product" {
        if let Some((o, days, years)) = p
            .owned
            .iter()
            .filter(|o| item.keys.iter().any(|k| o.keys.contains(k)))
            .filter_map(|o| {
                let years = cx.today.year() - o.day.year();
                let date = o.day.with_year(cx.today.year())?;
                let days = (date - cx.today).num_days();
                (years >= 1 && (0..=OCCASION_DAYS).contains(&days)).then_some((o, days, years))
            })
            .next()
        {
            s += 0.8;
            reasons.push(Reason::PurchaseAnniversary {
                product: o.product.clone(),
                years,
                days,
            });
        }
    }

    // Festivals: the festival's pieces for the festival's people.
    for fk in &cx.festivals {
        let f = fk.festival;
        let days = (f.date - cx.today).num_days();
        let about = fk
            .words
            .iter()
            .any(|w| item.keys.contains(w) || contains_word(&item.title_key, w));
        let audience = fk.audience.iter().find(|k| p.tags.contains(*k));
        if about || audience.is_some() {
            let mut bonus = if about { 1.0 } else { 0.0 };
            if audience.is_some() {
                bonus += if about { 2.0 } else { 0.5 };
                personal = true;
            }
            s += bonus;
            reasons.push(Reason::Festival {
                name: f.name(cx.lang).to_string(),
                days,
                tag: audience.map(|k| cx.lex.label_of(k)),
            });
        }
    }

    // Newness, and a campaign about to end.
    if let Some(first) = item.first_day {
        let age = (cx.today - first).num_days();
        if (0..NEW_DAYS).contains(&age) {
            s += 1.0 - age as f64 / NEW_DAYS as f64;
            reasons.push(Reason::New { days: age });
        }
    }
    if let Some(last) = item.last_day {
        let left = (last - cx.today).num_days();
        if (0..=7).contains(&left) {
            s += 0.2;
            reasons.push(Reason::EndsSoon { days: left });
        }
    }

    // The store's favourites break ties, never outweigh a person.
    if cx.stats.max_popularity > 0 {
        let pop = cx.stats.popularity_of(item);
        if pop > 0 {
            s +=
                0.6 * (f64::from(pop) + 1.0).ln() / (f64::from(cx.stats.max_popularity) + 1.0).ln();
            if !personal && reasons.is_empty() {
                reasons.push(Reason::Popular);
            }
        }
    }
    Some(Scored { score: s, reasons })
}
