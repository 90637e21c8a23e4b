//! What the store's customers buy together: category co-purchase lift,
//! product popularity and the learned piece-to-piece model, from every
//! purchase in the book.

use super::learned::{Basket, Learned};
use super::lexicon::Lexicon;
use super::profile::{opt_str_at, str_at, Profile};
use lighttouch_text::fold;
use rusqlite::Connection;
use std::collections::{HashMap, HashSet};

#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct StoreStats {
    /// Customers with at least one purchase.
    buyers: u32,
    /// Buyers of each category.
    by_category: HashMap<String, u32>,
    /// Buyers of both categories (ordered pair, both directions stored).
    together: HashMap<String, HashMap<String, u32>>,
    /// Purchases of each product (by folded name and by SKU).
    popularity: HashMap<String, u32>,
    pub max_popularity: u32,
    /// What owning one piece says about buying another.
    pub learned: Learned,
    /// For each category, the others its buyers here go on to more than
    /// [`PAIRING_LIFT`] times as often as anyone (never saved).
    #[serde(skip)]
    strong_pairs: std::sync::OnceLock<HashMap<String, Vec<(String, f64)>>>,
    /// Tells these statistics from any others, so what an item's facts were
    /// worked out against is known (never saved).
    #[serde(skip)]
    pub id: StatsId,
}

/// A number no other statistics in this process have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StatsId(u64);

impl Default for StatsId {
    fn default() -> StatsId {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        StatsId(NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
    }
}

/// A pairing counts when buyers of one kind go on to the other this many
/// times as often as anyone does.
pub(crate) const PAIRING_LIFT: f64 = 1.2;

/// Fewest shared buyers before a pairing counts: a few coincidences are not a pattern.
const MIN_TOGETHER: u32 = 3;

/// One line of what a customer bought, as the statistics read it.
pub(crate) struct Bought<'a> {
    pub sku: Option<&'a str>,
    /// Folded product name.
    pub product_key: &'a str,
    pub product: &'a str,
    /// Canonical category key.
    pub category: Option<&'a str>,
}

impl StoreStats {
    /// From each customer's purchases (one list per customer); the learned
    /// model is fitted on them unless one is given to keep.
    pub fn from_customers<'a, C>(customers: C, learned: Option<Learned>) -> StoreStats
    where
        C: IntoIterator,
        C::Item: IntoIterator<Item = Bought<'a>>,
    {
        let mut s = StoreStats::default();
        let mut baskets = Vec::new();
        for lines in customers {
            let mut cats: HashSet<&str> = HashSet::new();
            let mut items = Vec::new();
            for b in lines {
                if let Some(c) = b.category {
                    cats.insert(c);
                }
                *s.popularity.entry(b.product_key.to_string()).or_default() += 1;
                if let Some(sku) = b.sku {
                    *s.popularity.entry(sku.to_string()).or_default() += 1;
                }
                items.push(match b.sku {
                    Some(sku) => (sku, Some(b.product_key), b.product),
                    None => (b.product_key, None, b.product),
                });
            }
            s.add_buyer(&cats);
            if !items.is_empty() {
                baskets.push(Basket { items });
            }
        }
        s.max_popularity = s.popularity.values().copied().max().unwrap_or(0);
        s.learned = match learned {
            Some(l) => l,
            None => Learned::fit(baskets),
        };
        s
    }

    /// From profiles already read (what they own is what counts).
    pub fn build<'a>(profiles: impl Iterator<Item = &'a Profile>) -> StoreStats {
        StoreStats::from_customers(
            profiles.map(|p| {
                p.owned.iter().map(|o| Bought {
                    sku: o.sku.as_deref(),
                    product_key: &o.product_key,
                    product: &o.product,
                    category: o.category.as_deref(),
                })
            }),
            None,
        )
    }

    /// Reads every purchase of live customers, customer by customer
    /// (keeping `learned` instead of fitting the model again, if given).
    pub fn load(
        conn: &Connection,
        lex: &Lexicon,
        learned: Option<Learned>,
    ) -> lighttouch_book::error::Result<StoreStats> {
        struct Line {
            sku: Option<String>,
            product_key: String,
            product: String,
            category: Option<String>,
        }
        let mut stmt = conn.prepare_cached(
            "SELECT p.customer_id, p.category, p.product, p.sku FROM purchases p
             JOIN customers c ON c.id = p.customer_id
             WHERE c.erased_at IS NULL AND c.merged_into IS NULL
             ORDER BY p.customer_id",
        )?;
        let mut rows = stmt.query([])?;
        let mut customers: Vec<Vec<Line>> = Vec::new();
        let mut current: Option<String> = None;
        let mut cat_keys: HashMap<String, String> = HashMap::new();
        while let Some(r) = rows.next()? {
            let customer = str_at(r, 0)?;
            if current.as_deref() != Some(customer) {
                customers.push(Vec::new());
                current = Some(customer.to_string());
            }
            let category = opt_str_at(r, 1)?.map(|c| {
                cat_keys
                    .entry(c.to_string())
                    .or_insert_with(|| lex.key_of(c))
                    .clone()
            });
            let product = str_at(r, 2)?;
            if let Some(lines) = customers.last_mut() {
                lines.push(Line {
                    sku: opt_str_at(r, 3)?.map(String::from),
                    product_key: fold(product),
                    product: product.to_string(),
                    category,
                });
            }
        }
        Ok(StoreStats::from_customers(
            customers.iter().map(|lines| {
                lines.iter().map(|l| Bought {
                    sku: l.sku.as_deref(),
                    product_key: &l.product_key,
                    product: &l.product,
                    category: l.category.as_deref(),
                })
            }),
            learned,
        ))
    }

    fn add_buyer(&mut self, cats: &HashSet<&str>) {
        if cats.is_empty() {
            return;
        }
        self.buyers += 1;
        for a in cats {
            *self.by_category.entry(a.to_string()).or_default() += 1;
            for b in cats {
                if a != b {
                    *self
                        .together
                        .entry(a.to_string())
                        .or_default()
                        .entry(b.to_string())
                        .or_default() += 1;
                }
            }
        }
    }

    /// How much more likely a buyer of `had` is to buy `other` than anyone is.
    pub fn lift(&self, had: &str, other: &str) -> Option<f64> {
        let both = *self.together.get(had)?.get(other)?;
        if both < MIN_TOGETHER || self.buyers == 0 {
            return None;
        }
        let had_n = f64::from(*self.by_category.get(had)?);
        let other_n = f64::from(*self.by_category.get(other)?);
        Some((f64::from(both) / had_n) / (other_n / f64::from(self.buyers)))
    }

    /// These statistics as bytes to keep beside the book: their maps as
    /// JSON, then the model's weights raw.
    pub fn to_bytes(&self) -> Vec<u8> {
        let head = serde_json::to_vec(self).unwrap_or_default();
        let mut out = (head.len() as u64).to_le_bytes().to_vec();
        out.extend(head);
        out.extend(self.learned.weights_bytes());
        out
    }

    /// Statistics kept by [`StoreStats::to_bytes`]; `None` when the bytes are
    /// not that (damaged, or from another version): then they are worked
    /// out again.
    pub fn from_bytes(bytes: &[u8]) -> Option<StoreStats> {
        let len = u64::from_le_bytes(bytes.get(..8)?.try_into().ok()?);
        let end = 8usize.checked_add(usize::try_from(len).ok()?)?;
        let mut stats: StoreStats = serde_json::from_slice(bytes.get(8..end)?).ok()?;
        stats
            .learned
            .restore_weights(bytes.get(end..)?)
            .then_some(stats)
    }

    /// The categories buyers of `had` go on to more than anyone does, with
    /// the lift of each.
    pub fn pairings_from<'s>(&'s self, had: &str) -> impl Iterator<Item = (&'s str, f64)> + 's {
        // Worked out once for every category, not once per customer and
        // category: on a grocery store's 150 kinds that was most of a
        // first queue. Only pairings strong enough to count are kept.
        let strong = self.strong_pairs.get_or_init(|| {
            self.together
                .iter()
                .map(|(had, others)| {
                    let strong = others
                        .keys()
                        .filter_map(|other| {
                            self.lift(had, other)
                                .filter(|l| *l > PAIRING_LIFT)
                                .map(|l| (other.clone(), l))
                        })
                        .collect();
                    (had.clone(), strong)
                })
                .collect()
        });
        strong
            .get(had)
            .into_iter()
            .flatten()
            .map(|(other, lift)| (other.as_str(), *lift))
    }

    /// Purchases of what a content item stands for: its SKUs together, or
    /// its id (a SKU too) or its title, whichever sold most.
    pub fn popularity_of(&self, item: &super::score::Prepared) -> u32 {
        let of_skus: u32 = item
            .item
            .skus
            .iter()
            .filter_map(|s| self.popularity.get(s))
            .sum();
        of_skus.max(self.popularity(&item.title_key, &item.item.id))
    }

    /// Purchases of a product known by its folded title or its id (SKU).
    pub fn popularity(&self, title_key: &str, id: &str) -> u32 {
        self.popularity
            .get(title_key)
            .copied()
            .unwrap_or(0)
            .max(self.popularity.get(id).copied().unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line<'a>(sku: &'a str, category: &'a str) -> Bought<'a> {
        Bought {
            sku: Some(sku),
            product_key: sku,
            product: sku,
            category: Some(category),
        }
    }

    /// The pairings a customer's categories lead to are the strong ones,
    /// with the lift `lift` gives, worked out once however often asked.
    #[test]
    fn pairings_are_the_strong_lifts() {
        let mut customers: Vec<Vec<Bought>> = Vec::new();
        for i in 0..40 {
            customers.push(match i % 4 {
                // Bracelet buyers buy earrings; necklaces go with anything.
                0 | 1 => vec![line("A", "手链"), line("C", "耳饰"), line("B", "项链")],
                2 => vec![line("B", "项链")],
                _ => vec![line("D", "戒指"), line("B", "项链")],
            });
        }
        let stats = StoreStats::from_customers(customers, None);
        let mut got: Vec<(&str, f64)> = stats.pairings_from("手链").collect();
        got.sort_by(|a, b| a.0.cmp(b.0));
        assert_eq!(got, vec![("耳饰", stats.lift("手链", "耳饰").unwrap())]);
        assert!(
            stats.lift("手链", "项链").unwrap() <= PAIRING_LIFT,
            "a weak pairing is left out"
        );
        assert_eq!(stats.pairings_from("手链").count(), 1, "asked again");
        assert_eq!(stats.pairings_from("无此类").count(), 0);
    }

    #[test]
    fn kept_statistics_read_back_whole_or_not_at_all() {
        let customers: Vec<Vec<Bought>> = (0..8)
            .map(|i| {
                let mut v = vec![line("A", "手链"), line("B", "项链")];
                if i % 2 == 0 {
                    v.push(line("C", "耳饰"));
                }
                v
            })
            .collect();
        let stats = StoreStats::from_customers(customers, None);
        let bytes = stats.to_bytes();
        let back = StoreStats::from_bytes(&bytes).unwrap();
        assert_eq!(back.popularity("A", "A"), stats.popularity("A", "A"));
        assert_eq!(back.lift("手链", "耳饰"), stats.lift("手链", "耳饰"));
        let (a, c) = (
            stats.learned.piece("A").unwrap(),
            stats.learned.piece("C").unwrap(),
        );
        let top = stats.learned.strongest_sum(&[(a, 1.0)]);
        assert_eq!(
            back.learned.evidence(&[(a, 1.0)], c, top),
            stats.learned.evidence(&[(a, 1.0)], c, top)
        );
        // Damaged, truncated, from elsewhere: not trusted, never a panic.
        assert!(StoreStats::from_bytes(&[]).is_none());
        assert!(StoreStats::from_bytes(&bytes[..bytes.len() - 1]).is_none());
        assert!(StoreStats::from_bytes(&u64::MAX.to_le_bytes()).is_none());
        let mut nan = bytes.clone();
        let at = nan.len() - 4;
        nan[at..].copy_from_slice(&f32::NAN.to_le_bytes());
        assert!(StoreStats::from_bytes(&nan).is_none());
    }
}
