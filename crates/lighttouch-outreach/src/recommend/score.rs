//! How well one content item suits one customer, with the reasons. Scores
//! add up evidence: what they like, what goes with what they own, what the
//! store's buyers pair, their budget, their occasions and festivals, newness.
//! Owned, already sent and dismissed pieces are never proposed again.

use super::learned::{Learned, Row};
use super::lexicon::{contains_word, Lexicon};
use super::profile::Profile;
use super::reasons::Reason;
use super::stats::{StatsId, StoreStats};
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
    /// Hashes of its id, folded title and SKUs: how ownership is checked.
    owned_as: Vec<u64>,
    /// Which of `keys` are preferences (material, stone, style, colour).
    preference: Vec<bool>,
    /// `keys` and the category as hashes: scoring compares numbers, not strings.
    key_hashes: Vec<u64>,
    category_hash: Option<u64>,
    /// What the store's statistics say of it, worked out once per statistics.
    facts: std::cell::Cell<Option<(StatsId, ItemFacts)>>,
}

/// What the store's statistics say of one item.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ItemFacts {
    /// Its piece in the learned model, if the store sells it.
    pub piece: Option<u32>,
    pub popularity: u32,
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
        let title_key = fold(&item.title);
        let mut owned_as = vec![key_hash(&item.id), key_hash(&title_key)];
        owned_as.extend(item.skus.iter().map(|s| key_hash(s)));
        let preference = keys
            .iter()
            .map(|k| lex.group_of(k) == Some(TagGroup::Preference))
            .collect();
        Prepared {
            owned_as,
            preference,
            key_hashes: keys.iter().map(|k| key_hash(k)).collect(),
            category_hash: category.as_deref().map(key_hash),
            facts: std::cell::Cell::new(None),
            title_key,
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
    pub fn facts(&self, stats: &StoreStats) -> ItemFacts {
        if let Some((id, f)) = self.facts.get() {
            if id == stats.id {
                return f;
            }
        }
        let f = ItemFacts {
            piece: self.piece_in(&stats.learned),
            popularity: stats.popularity_of(self),
        };
        self.facts.set(Some((stats.id, f)));
        f
    }

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
        self.item.kind == "product" && self.owned_as.iter().any(|h| known.owned.contains(h))
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
    /// Empty unless asked for (see [`Because`]).
    pub reasons: Vec<Reason>,
    /// Something they like, or a piece that goes with one they own: a
    /// reason about the person, not only the moment.
    pub about_them: bool,
    /// A festival in view is about the piece or the person.
    pub festive: bool,
}

/// The reasons a score rests on. Most candidates lose, so unless they are
/// asked for their reasons are only noted, not written out (writing them
/// was much of a morning's work).
struct Because {
    keep: bool,
    list: Vec<Reason>,
    any: bool,
}

impl Because {
    fn add(&mut self, reason: impl FnOnce() -> Reason) {
        self.any = true;
        if self.keep {
            self.list.push(reason());
        }
    }
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
    owned: HashSet<u64, KeyHashes>,
    /// For each category, the category they own whose buyers here most
    /// often go on to it, and by how much (lift).
    pub pairings: HashMap<String, (String, f64)>,
    /// Their interests' keys as hashes, in the profile's order.
    likes: Vec<u64>,
    avoid: Vec<u64>,
    /// For each piece they own (its index), its category and each of its
    /// keys other than the category: what a piece may go with.
    goes_with: Vec<(usize, Option<u64>, u64)>,
    /// The pieces they own whose purchase day comes round in the coming
    /// days, at least a year on: (index, days, years, its keys' hashes).
    bought_this_time: Vec<(usize, i64, i32, Vec<u64>)>,
    /// The pieces they bought in the last [`RECENT_DAYS`]: (index, days ago),
    /// for after-sale care without walking every purchase each morning.
    pub recent: Vec<(usize, i64)>,
}

/// How far back [`Known::recent`] reaches.
pub(crate) const RECENT_DAYS: i64 = 40;

/// Sets of [`key_hash`]es need no second hashing.
type KeyHashes = std::hash::BuildHasherDefault<AlreadyHashed>;

#[derive(Default)]
pub(crate) struct AlreadyHashed(u64);

impl std::hash::Hasher for AlreadyHashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only u64s are hashed here; anything else still spreads.
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, x: u64) {
        self.0 = x;
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
    let mut owned: HashSet<u64, KeyHashes> = HashSet::default();
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
    let mut goes_with = Vec::new();
    let mut bought_this_time = Vec::new();
    let mut recent = Vec::new();
    for (n, o) in p.owned.iter().enumerate() {
        let age = (today - o.day).num_days();
        if (0..=RECENT_DAYS).contains(&age) {
            recent.push((n, age));
        }
        let category = o.category.as_deref().map(key_hash);
        for k in &o.keys {
            if Some(k) != o.category.as_ref() {
                goes_with.push((n, category, key_hash(k)));
            }
        }
        let years = today.year() - o.day.year();
        if let Some(date) = o.day.with_year(today.year()) {
            let days = (date - today).num_days();
            if years >= 1 && (0..=OCCASION_DAYS).contains(&days) {
                bought_this_time.push((
                    n,
                    days,
                    years,
                    o.keys.iter().map(|k| key_hash(k)).collect(),
                ));
            }
        }
    }
    Known {
        likes: p.interests.iter().map(|(k, _)| key_hash(k)).collect(),
        avoid: p.avoid.iter().map(|k| key_hash(k)).collect(),
        goes_with,
        bought_this_time,
        recent,
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
    score_with(item, p, known, cx, None, true)
}

/// [`score`] without the reasons written out: to rank many candidates,
/// then ask the winners' reasons.
pub(crate) fn quick_score(
    item: &Prepared,
    p: &Profile,
    known: &Known,
    cx: &Context,
) -> Option<Scored> {
    score_with(item, p, known, cx, None, false)
}

/// Scores many items for one customer (their suggestions, a gift idea):
/// their learned evidence for every piece is worked out once, on the first
/// item that needs it.
pub(crate) struct ForCustomer<'a> {
    pub p: &'a Profile,
    pub known: &'a Known,
    pub cx: &'a Context<'a>,
    row: std::cell::OnceCell<Row>,
}

impl<'a> ForCustomer<'a> {
    pub fn new(p: &'a Profile, known: &'a Known, cx: &'a Context<'a>) -> ForCustomer<'a> {
        ForCustomer {
            p,
            known,
            cx,
            row: std::cell::OnceCell::new(),
        }
    }

    pub fn score(&self, item: &Prepared) -> Option<Scored> {
        score_with(item, self.p, self.known, self.cx, Some(&self.row), true)
    }

    /// The score without the reasons written out ([`quick_score`]).
    pub fn quick(&self, item: &Prepared) -> Option<Scored> {
        score_with(item, self.p, self.known, self.cx, Some(&self.row), false)
    }
}

fn score_with(
    item: &Prepared,
    p: &Profile,
    known: &Known,
    cx: &Context,
    row: Option<&std::cell::OnceCell<Row>>,
    keep_reasons: bool,
) -> Option<Scored> {
    if item.owned_by(known) || p.sent.contains(&item.item.id) || p.dismissed.contains(&item.item.id)
    {
        return None;
    }
    let mut s = 0.0;
    let mut reasons = Because {
        keep: keep_reasons,
        list: Vec::new(),
        any: false,
    };
    let mut about_them = false;
    let mut festive = false;
    let mut personal = false;

    // What they like (tags, synonyms and stated preferences); a piece about
    // something they turned down sinks.
    let mut likes = 0;
    for (k, preference) in item.key_hashes.iter().zip(&item.preference) {
        if known.avoid.contains(k) {
            s -= 6.0;
        } else if let Some(label) = known
            .likes
            .iter()
            .position(|h| h == k)
            .map(|n| p.interests[n].1.as_str())
        {
            s += if likes == 0 { 3.0 } else { 1.5 };
            likes += 1;
            about_them = true;
            reasons.add(|| Reason::Likes {
                label: label.to_string(),
            });
        } else if *preference && !p.interests.is_empty() {
            // A preference they have not stated: a faint maybe, not a reason.
            s += 0.1;
        }
    }
    personal |= likes > 0;

    // What goes with what they own: same material or style, another kind of piece.
    if item.item.kind == "product" {
        if let Some(o) = known
            .goes_with
            .iter()
            .find(|(_, category, k)| *category != item.category_hash && item.key_hashes.contains(k))
            .map(|(n, _, _)| &p.owned[*n])
        {
            s += 2.0;
            personal = true;
            about_them = true;
            reasons.add(|| Reason::GoesWith {
                product: o.product.clone(),
                month: o.day.month(),
            });
        }
        // What customers who bought what they own went on to buy (learned).
        let learned = &cx.stats.learned;
        let piece = item.facts(cx.stats).piece;
        if let Some(target) = piece.filter(|_| !known.pieces.is_empty()) {
            let strength = match row {
                Some(row) => {
                    learned.strength_in(row.get_or_init(|| learned.row(&known.pieces)), target)
                }
                None => {
                    let top = *known
                        .learned_top
                        .get_or_init(|| learned.strongest_sum(&known.pieces));
                    learned.strength(&known.pieces, target, top)
                }
            };
            s += LEARNED_WEIGHT * strength;
            // Which piece speaks loudest is only worth working out for a reason.
            if strength >= LEARNED_REASON && keep_reasons {
                if let Some(i) = learned.strongest(&known.pieces, target) {
                    personal = true;
                    reasons.add(|| Reason::BuyersAlsoBought {
                        product: learned.name(i).to_string(),
                    });
                }
            }
        }
        // What this store's buyers pair with what they bought, by kind of
        // piece: for pieces the model has not seen sold (new ones above all);
        // where it has, its piece-by-piece evidence already says this.
        if let Some((had, lift)) = item
            .category
            .as_ref()
            .filter(|_| piece.is_none() || known.pieces.is_empty())
            // Only pairings strong enough to count are kept (`pairings_from`).
            .and_then(|c| known.pairings.get(c))
        {
            s += (lift.ln() * 1.5).min(1.5);
            reasons.add(|| Reason::BoughtTogether {
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
                reasons.add(|| Reason::InBudget {
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
            reasons.add(|| Reason::SizeOnFile { size });
        }
    }

    // Occasions: a gift moment makes any fitting piece timelier.
    for (reason, days) in &known.occasions {
        s += 1.5 - *days as f64 * 0.05;
        reasons.add(|| reason.clone());
    }
    if item.item.kind == "product" {
        if let Some((o, days, years)) = known
            .bought_this_time
            .iter()
            .find(|(_, _, _, keys)| item.key_hashes.iter().any(|k| keys.contains(k)))
            .map(|(n, days, years, _)| (&p.owned[*n], *days, *years))
        {
            s += 0.8;
            reasons.add(|| Reason::PurchaseAnniversary {
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
            festive = true;
            reasons.add(|| Reason::Festival {
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
            reasons.add(|| Reason::New { days: age });
        }
    }
    if let Some(last) = item.last_day {
        let left = (last - cx.today).num_days();
        if (0..=7).contains(&left) {
            s += 0.2;
            reasons.add(|| Reason::EndsSoon { days: left });
        }
    }

    // The store's favourites break ties, never outweigh a person.
    if cx.stats.max_popularity > 0 {
        let pop = item.facts(cx.stats).popularity;
        if pop > 0 {
            s +=
                0.6 * (f64::from(pop) + 1.0).ln() / (f64::from(cx.stats.max_popularity) + 1.0).ln();
            if !personal && !reasons.any {
                reasons.add(|| Reason::Popular);
            }
        }
    }
    Some(Scored {
        score: s,
        reasons: reasons.list,
        about_them,
        festive,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recommend::stats::Bought;

    fn bought(sku: &str) -> Bought<'_> {
        Bought {
            sku: Some(sku),
            product_key: "",
            product: sku,
            category: None,
        }
    }

    /// An item's facts are worked out once per statistics and again for
    /// new ones: a day's sales must move its popularity.
    #[test]
    fn item_facts_follow_the_statistics_they_were_read_from() {
        let item = Prepared::new(
            ContentItem {
                id: "c1".into(),
                kind: "product".into(),
                title: "古法金手镯".into(),
                body: None,
                tags: Vec::new(),
                category: None,
                price_cents: None,
                currency: "CNY".into(),
                language: None,
                valid_from: None,
                valid_until: None,
                created_at: "2026-11-01T00:00:00Z".into(),
                translations: Default::default(),
                skus: vec!["SKU-1".into()],
            },
            &Lexicon::default(),
        );
        let once = StoreStats::from_customers(vec![vec![bought("SKU-1")]], None);
        let more = StoreStats::from_customers(
            vec![
                vec![bought("SKU-1")],
                vec![bought("SKU-1")],
                vec![bought("SKU-2")],
            ],
            None,
        );
        assert_eq!(item.facts(&once).popularity, 1);
        assert_eq!(item.facts(&more).popularity, 2);
        assert_eq!(item.facts(&once).popularity, 1);
        // Bought by two customers: a piece of the learned model.
        assert_eq!(item.facts(&more).piece, more.learned.piece("SKU-1"));
    }
}
