//! Offline evaluation, honest by construction. Purchases are split in time:
//! everything before the split day is what the store knew, and each
//! customer's first basket on or after it is what they did next. The profile,
//! the store statistics and the learned model are all rebuilt from the
//! purchases before the split, so no later purchase reaches any score; the
//! recommender ranks through [`rank`](super::rank), exactly as the app
//! proposes pieces on that day (festivals and occasions included).
//!
//! Pieces a customer bought again and pieces new to them are counted apart:
//! the app never proposes what a customer owns, so its repeat figures are
//! zero by design, and the "repeat what you bought" baseline shows what that
//! leaves on the table. Every figure is set against baselines ranked in the
//! same run on the same split: most popular, repeat, and a plain
//! item-to-item co-purchase neighbour list.

use super::lexicon::Lexicon;
use super::profile::{self, opt_str_at, str_at, Profile};
use super::score::{self, Context, Prepared};
use super::stats::StoreStats;
use chrono::NaiveDate;
use lighttouch_book::content::ContentItem;
use lighttouch_book::error::{BookError, Result};
use lighttouch_book::store::Book;
use lighttouch_text::{festivals, fold};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};

/// Hits count in the first 5; recall and NDCG in the first 10.
pub const HIT_AT: usize = 5;
pub const LIST_AT: usize = 10;

/// Without a split day, the day by which this share of purchase lines happened.
const DEFAULT_SPLIT_SHARE: f64 = 0.8;

#[derive(Debug, Clone, Default)]
pub struct EvalOptions {
    /// Learn from purchases before this day; test on what follows.
    pub split: Option<NaiveDate>,
}

/// One method's figures on one segment, each averaged over its customers.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Figures {
    pub hit_rate_at_5: f64,
    pub recall_at_10: f64,
    pub ndcg_at_10: f64,
}

/// The figures of every method on one kind of next purchase.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Segment {
    /// Customers whose next basket held at least one such piece.
    pub customers: usize,
    pub recommender: Figures,
    pub most_popular: Figures,
    pub repeat: Figures,
    pub neighbours: Figures,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalReport {
    /// The first day of the test period (YYYY-MM-DD).
    pub split: String,
    pub training_lines: usize,
    /// Customers with purchases before the split and a next basket after it
    /// that holds a piece of the catalogue.
    pub customers: usize,
    /// Customers with a next basket but nothing bought before the split (left out).
    pub without_history: usize,
    pub candidates: usize,
    /// Next-basket pieces the customer had not bought before.
    pub new_items: Segment,
    /// Next-basket pieces the customer had bought before.
    pub repeats: Segment,
}

/// The catalogue to rank: the book's products, or (without any) every
/// product its customers bought.
fn candidates(book: &Book, lex: &Lexicon) -> Result<Vec<Prepared>> {
    let mut items: Vec<ContentItem> = book
        .connection()
        .prepare("SELECT id FROM content_items WHERE kind = 'product'")?
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?
        .into_iter()
        .map(|id| book.content_item(&id))
        .collect::<Result<_>>()?;
    if items.is_empty() {
        let mut stmt = book.connection().prepare(
            "SELECT product, MAX(category), CAST(AVG(amount_cents) AS INTEGER), MIN(sku)
             FROM purchases GROUP BY product",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(ContentItem {
                id: r.get::<_, Option<String>>(3)?.unwrap_or(r.get(0)?),
                kind: "product".into(),
                title: r.get(0)?,
                body: None,
                tags: Vec::new(),
                category: r.get(1)?,
                price_cents: r.get(2)?,
                currency: "CNY".into(),
                language: None,
                valid_from: None,
                valid_until: None,
                created_at: "2000-01-01".into(),
                translations: BTreeMap::new(),
                skus: Vec::new(),
            })
        })?;
        items = rows.collect::<rusqlite::Result<_>>()?;
    }
    Ok(items
        .into_iter()
        .map(|mut i| {
            // Newness is about the day of the next basket, not about today.
            i.valid_from = None;
            i.valid_until = None;
            i.created_at = "2000-01-01".into();
            Prepared::new(i, lex)
        })
        .collect())
}

/// One purchase line as the split reads it.
struct Line {
    customer: String,
    /// As written: a day, or a day and a time.
    at: String,
    day: NaiveDate,
    order: Option<String>,
    sku: Option<String>,
    product_key: String,
}

fn read_lines(book: &Book) -> Result<Vec<Line>> {
    let mut stmt = book.connection().prepare(
        "SELECT p.customer_id, p.purchased_on, p.order_ref, p.sku, p.product FROM purchases p
         JOIN customers c ON c.id = p.customer_id
         WHERE c.erased_at IS NULL AND c.merged_into IS NULL
         ORDER BY p.customer_id, p.purchased_on, p.order_ref, p.rowid",
    )?;
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let at = str_at(r, 1)?;
        let Some(day) = at
            .get(..10)
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        else {
            continue;
        };
        out.push(Line {
            customer: str_at(r, 0)?.to_string(),
            at: at.to_string(),
            day,
            order: opt_str_at(r, 2)?.map(String::from),
            sku: opt_str_at(r, 3)?.map(String::from),
            product_key: fold(str_at(r, 4)?),
        });
    }
    Ok(out)
}

fn default_split(lines: &[Line]) -> Result<NaiveDate> {
    let mut days: Vec<NaiveDate> = lines.iter().map(|l| l.day).collect();
    days.sort_unstable();
    let (Some(first), Some(last)) = (days.first(), days.last()) else {
        return Err(BookError::InvalidInput(
            "there are no purchases of live customers to evaluate on".into(),
        ));
    };
    if first == last {
        return Err(BookError::InvalidInput(format!(
            "every purchase is from {first}: there is nothing before a split to learn from"
        )));
    }
    let at = ((days.len() as f64 * DEFAULT_SPLIT_SHARE) as usize).min(days.len() - 1);
    // The split day itself belongs to the test; keep at least one day before it.
    Ok(days[at].max(*first + chrono::Duration::days(1)))
}

/// What one customer did next, as candidates.
struct Next {
    profile: usize,
    day: NaiveDate,
    new: HashSet<usize>,
    repeat: HashSet<usize>,
}

/// Hit rate@5, recall@10 and NDCG@10 of ranked lists against targets.
#[derive(Default)]
struct Tally {
    n: usize,
    hits: f64,
    recall: f64,
    ndcg: f64,
}

impl Tally {
    fn add(&mut self, ranked: &[usize], targets: &HashSet<usize>) {
        if targets.is_empty() {
            return;
        }
        self.n += 1;
        if ranked.iter().take(HIT_AT).any(|j| targets.contains(j)) {
            self.hits += 1.0;
        }
        let ideal = targets.len().min(LIST_AT);
        let found = ranked
            .iter()
            .take(LIST_AT)
            .filter(|j| targets.contains(j))
            .count();
        self.recall += found as f64 / ideal as f64;
        let gain = |r: usize| 1.0 / ((r + 2) as f64).log2();
        let dcg: f64 = ranked
            .iter()
            .take(LIST_AT)
            .enumerate()
            .filter(|(_, j)| targets.contains(j))
            .map(|(r, _)| gain(r))
            .sum();
        let idcg: f64 = (0..ideal).map(gain).sum();
        self.ndcg += dcg / idcg;
    }

    fn figures(&self) -> Figures {
        if self.n == 0 {
            return Figures::default();
        }
        let n = self.n as f64;
        let r = |x: f64| (x / n * 10_000.0).round() / 10_000.0;
        Figures {
            hit_rate_at_5: r(self.hits),
            recall_at_10: r(self.recall),
            ndcg_at_10: r(self.ndcg),
        }
    }
}

#[derive(Default)]
struct Tallies {
    recommender: Tally,
    most_popular: Tally,
    repeat: Tally,
    neighbours: Tally,
}

impl Tallies {
    fn add(&mut self, lists: &[Vec<usize>; 4], targets: &HashSet<usize>) {
        self.recommender.add(&lists[0], targets);
        self.most_popular.add(&lists[1], targets);
        self.repeat.add(&lists[2], targets);
        self.neighbours.add(&lists[3], targets);
    }

    fn segment(&self) -> Segment {
        Segment {
            customers: self.recommender.n,
            recommender: self.recommender.figures(),
            most_popular: self.most_popular.figures(),
            repeat: self.repeat.figures(),
            neighbours: self.neighbours.figures(),
        }
    }
}

/// Evaluates the recommender on the book's purchases (see the module).
pub fn evaluate(book: &Book, options: &EvalOptions) -> Result<EvalReport> {
    let lex = Lexicon::load(book.connection())?;
    let items = candidates(book, &lex)?;
    let lines = read_lines(book)?;
    let split = match options.split {
        Some(d) => d,
        None => default_split(&lines)?,
    };
    let mut profiles: Vec<Profile> = profile::load(book.connection(), &lex, None)?;
    let position: HashMap<String, usize> = profiles
        .iter()
        .enumerate()
        .map(|(i, p)| (p.id.clone(), i))
        .collect();
    // What the store knew: only what was bought before the split.
    for p in &mut profiles {
        p.owned.retain(|o| o.day < split);
    }
    let training_lines: usize = profiles.iter().map(|p| p.owned.len()).sum();
    if training_lines == 0 {
        return Err(BookError::InvalidInput(format!(
            "no purchase is from before {split}: there is nothing to learn from"
        )));
    }
    let stats = StoreStats::build(profiles.iter());

    let mut by_id: HashMap<&str, usize> = HashMap::new();
    for (j, it) in items.iter().enumerate() {
        by_id.entry(it.item.id.as_str()).or_insert(j);
    }
    // A purchase is of a candidate when its SKU is one the item names (or
    // its id), else when the product names match.
    let mut by_key: HashMap<&str, usize> = HashMap::new();
    for (j, it) in items.iter().enumerate() {
        for sku in &it.item.skus {
            by_key.entry(sku.as_str()).or_insert(j);
        }
        by_key.entry(it.item.id.as_str()).or_insert(j);
        by_key.entry(it.title_key.as_str()).or_insert(j);
    }
    let candidate_of = |sku: Option<&str>, product_key: &str| {
        sku.and_then(|s| by_key.get(s))
            .or_else(|| by_key.get(product_key))
            .copied()
    };
    // What each customer owned before the split, as candidates: line counts
    // and the latest day, for the repeat baseline.
    let owned: Vec<HashMap<usize, (u32, NaiveDate)>> = profiles
        .iter()
        .map(|p| {
            let mut m: HashMap<usize, (u32, NaiveDate)> = HashMap::new();
            for o in &p.owned {
                if let Some(j) = candidate_of(o.sku.as_deref(), &o.product_key) {
                    let e = m.entry(j).or_insert((0, o.day));
                    e.0 += 1;
                    e.1 = e.1.max(o.day);
                }
            }
            m
        })
        .collect();

    // Each customer's first basket on or after the split.
    let mut nexts: Vec<Next> = Vec::new();
    let mut without_history = 0;
    let mut i = 0;
    while i < lines.len() {
        let customer = &lines[i].customer;
        let end = lines[i..]
            .iter()
            .position(|l| l.customer != *customer)
            .map_or(lines.len(), |n| i + n);
        let mine = &lines[i..end];
        i = end;
        let Some(first) = mine.iter().find(|l| l.day >= split) else {
            continue;
        };
        let Some(&p) = position.get(customer.as_str()) else {
            continue;
        };
        let same_basket = |l: &&Line| match (&first.order, &l.order) {
            (Some(a), Some(b)) => a == b,
            (None, None) => l.at == first.at,
            _ => false,
        };
        let basket: HashSet<usize> = mine
            .iter()
            .filter(|l| l.day >= split)
            .filter(same_basket)
            .filter_map(|l| candidate_of(l.sku.as_deref(), &l.product_key))
            .collect();
        if basket.is_empty() {
            continue;
        }
        if owned[p].is_empty() {
            without_history += 1;
            continue;
        }
        let (repeat, new) = basket.into_iter().partition(|j| owned[p].contains_key(j));
        nexts.push(Next {
            profile: p,
            day: first.day,
            new,
            repeat,
        });
    }
    if nexts.is_empty() {
        return Err(BookError::InvalidInput(format!(
            "no customer bought a piece of the catalogue both before {split} and after it: \
             choose another split day (--split) or import more purchases"
        )));
    }

    // Baselines' data, from the same purchases before the split.
    let popularity: Vec<u32> = items.iter().map(|it| stats.popularity_of(it)).collect();
    let mut by_popularity: Vec<usize> = (0..items.len()).collect();
    by_popularity.sort_by(|a, b| popularity[*b].cmp(&popularity[*a]).then(a.cmp(b)));
    let neighbours = CoPurchases::count(&owned, items.len());

    let mut new_tally = Tallies::default();
    let mut repeat_tally = Tallies::default();
    for next in &nexts {
        let p = &profiles[next.profile];
        let mine = &owned[next.profile];
        let festivals = festivals::upcoming(next.day, score::FESTIVAL_DAYS);
        let cx = Context::new(next.day, &lex, &stats, &festivals, "zh-Hans");
        let known = score::known(p, next.day, &stats);
        let recommended: Vec<usize> = super::rank(&items, p, &known, &cx, LIST_AT)
            .into_iter()
            .filter_map(|(_, it, _)| by_id.get(it.item.id.as_str()).copied())
            .collect();
        let popular: Vec<usize> = by_popularity
            .iter()
            .copied()
            .filter(|j| !mine.contains_key(j))
            .take(LIST_AT)
            .collect();
        let mut again: Vec<(usize, (u32, NaiveDate))> =
            mine.iter().map(|(j, v)| (*j, *v)).collect();
        again.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let again: Vec<usize> = again.into_iter().take(LIST_AT).map(|(j, _)| j).collect();
        let near = neighbours.rank(mine, &popularity, LIST_AT);
        let lists = [recommended, popular, again, near];
        new_tally.add(&lists, &next.new);
        repeat_tally.add(&lists, &next.repeat);
    }
    Ok(EvalReport {
        split: split.to_string(),
        training_lines,
        customers: nexts.len(),
        without_history,
        candidates: items.len(),
        new_items: new_tally.segment(),
        repeats: repeat_tally.segment(),
    })
}

/// The plain neighbour baseline: how many customers bought both of two
/// candidates, summed over what a customer owns.
struct CoPurchases {
    n: usize,
    both: Vec<u32>,
}

impl CoPurchases {
    fn count(owned: &[HashMap<usize, (u32, NaiveDate)>], n: usize) -> CoPurchases {
        let mut both = vec![0u32; n * n];
        for mine in owned {
            let js: Vec<usize> = mine.keys().copied().collect();
            for &a in &js {
                for &b in &js {
                    if a != b {
                        both[a * n + b] += 1;
                    }
                }
            }
        }
        CoPurchases { n, both }
    }

    fn rank(
        &self,
        mine: &HashMap<usize, (u32, NaiveDate)>,
        popularity: &[u32],
        limit: usize,
    ) -> Vec<usize> {
        let mut score = vec![0u64; self.n];
        for a in mine.keys() {
            for (b, s) in score.iter_mut().enumerate() {
                *s += u64::from(self.both[a * self.n + b]);
            }
        }
        let mut ranked: Vec<usize> = (0..self.n)
            .filter(|j| !mine.contains_key(j) && score[*j] > 0)
            .collect();
        ranked.sort_by(|a, b| {
            score[*b]
                .cmp(&score[*a])
                .then(popularity[*b].cmp(&popularity[*a]))
                .then(a.cmp(b))
        });
        ranked.truncate(limit);
        ranked
    }
}
