//! What the store's customers buy together: category co-purchase lift and
//! product popularity, from every purchase in the book.

use super::lexicon::Lexicon;
use super::profile::{opt_str_at, str_at, Profile};
use lighttouch_text::fold;
use rusqlite::Connection;
use std::collections::{HashMap, HashSet};

#[derive(Debug, Default)]
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
}

/// Fewest shared buyers before a pairing counts: a few coincidences are not a pattern.
const MIN_TOGETHER: u32 = 3;

impl StoreStats {
    pub fn build<'a>(profiles: impl Iterator<Item = &'a Profile>) -> StoreStats {
        let mut s = StoreStats::default();
        for p in profiles {
            let cats: HashSet<String> = p.owned.iter().filter_map(|o| o.category.clone()).collect();
            s.add_buyer(&cats);
            for o in &p.owned {
                *s.popularity.entry(o.product_key.clone()).or_default() += 1;
                if let Some(sku) = &o.sku {
                    *s.popularity.entry(sku.clone()).or_default() += 1;
                }
            }
        }
        s.max_popularity = s.popularity.values().copied().max().unwrap_or(0);
        s
    }

    /// Reads every purchase of live customers, customer by customer.
    pub fn load(conn: &Connection, lex: &Lexicon) -> lighttouch_book::error::Result<StoreStats> {
        let mut s = StoreStats::default();
        let mut stmt = conn.prepare_cached(
            "SELECT p.customer_id, p.category, p.product, p.sku FROM purchases p
             JOIN customers c ON c.id = p.customer_id
             WHERE c.erased_at IS NULL AND c.merged_into IS NULL
             ORDER BY p.customer_id",
        )?;
        let mut rows = stmt.query([])?;
        let mut current: Option<String> = None;
        let mut cats: HashSet<String> = HashSet::new();
        let mut cat_keys: HashMap<String, String> = HashMap::new();
        while let Some(r) = rows.next()? {
            let customer = str_at(r, 0)?;
            if current.as_deref() != Some(customer) {
                s.add_buyer(&cats);
                cats.clear();
                current = Some(customer.to_string());
            }
            if let Some(c) = opt_str_at(r, 1)? {
                let key = cat_keys
                    .entry(c.to_string())
                    .or_insert_with(|| lex.key_of(c))
                    .clone();
                cats.insert(key);
            }
            *s.popularity.entry(fold(str_at(r, 2)?)).or_default() += 1;
            if let Some(sku) = opt_str_at(r, 3)? {
                *s.popularity.entry(sku.to_string()).or_default() += 1;
            }
        }
        s.add_buyer(&cats);
        s.max_popularity = s.popularity.values().copied().max().unwrap_or(0);
        Ok(s)
    }

    fn add_buyer(&mut self, cats: &HashSet<String>) {
        if cats.is_empty() {
            return;
        }
        self.buyers += 1;
        for a in cats {
            *self.by_category.entry(a.clone()).or_default() += 1;
            for b in cats {
                if a != b {
                    *self
                        .together
                        .entry(a.clone())
                        .or_default()
                        .entry(b.clone())
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

    /// Purchases of a product known by its folded title or its id (SKU).
    pub fn popularity(&self, title_key: &str, id: &str) -> u32 {
        self.popularity
            .get(title_key)
            .copied()
            .unwrap_or(0)
            .max(self.popularity.get(id).copied().unwrap_or(0))
    }
}
