//! Offline evaluation: hide each customer's latest purchase, rank the
//! catalogue for them as of that day, and count how often the hidden piece is
//! in the top k (hit rate@k), against a most-popular baseline ranked the same
//! way. Runs on a generated book with planted preferences, or on any book
//! with purchases (a real purchase CSV imported into a scratch book).

use super::lexicon::Lexicon;
use super::profile::{self, Profile};
use super::score::{self, Context, Prepared};
use super::stats::StoreStats;
use lighttouch_book::content::ContentItem;
use lighttouch_book::error::Result;
use lighttouch_book::store::Book;

use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalReport {
    pub k: usize,
    /// Customers with a hidden purchase the catalogue could have proposed.
    pub customers: usize,
    pub candidates: usize,
    pub recommender_hit_rate: f64,
    pub baseline_hit_rate: f64,
}

/// The catalogue to rank: the book's content, or (without content) every
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
            })
        })?;
        items = rows.collect::<rusqlite::Result<_>>()?;
    }
    Ok(items
        .into_iter()
        .map(|mut i| {
            // Newness is about the day of the hidden purchase, not today.
            i.valid_from = None;
            i.valid_until = None;
            i.created_at = "2000-01-01".into();
            Prepared::new(i, lex)
        })
        .collect())
}

/// Hit rate@k of the recommender and of the popularity baseline.
pub fn evaluate(book: &Book, k: usize) -> Result<EvalReport> {
    let lex = Lexicon::load(book.connection())?;
    let items = candidates(book, &lex)?;
    let mut profiles: Vec<Profile> = profile::load(book.connection(), &lex, None)?;
    // Hide each customer's latest purchase (owned is newest first).
    let mut hidden: Vec<(usize, profile::Owned)> = Vec::new();
    for (i, p) in profiles.iter_mut().enumerate() {
        if p.owned.len() >= 2 {
            hidden.push((i, p.owned.remove(0)));
        }
    }
    let stats = StoreStats::build(profiles.iter());
    let mut by_popularity: Vec<(u32, usize)> = items
        .iter()
        .enumerate()
        .map(|(j, it)| (stats.popularity(&it.title_key, &it.item.id), j))
        .collect();
    by_popularity.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let (mut n, mut hits, mut base_hits) = (0usize, 0usize, 0usize);
    for (i, held) in &hidden {
        let p = &profiles[*i];
        let is_held = |it: &Prepared| {
            held.sku.as_deref() == Some(it.item.id.as_str()) || held.product_key == it.title_key
        };
        if !items.iter().any(is_held) {
            continue;
        }
        n += 1;
        let cx = Context::new(held.day, &lex, &stats, &[], "zh-Hans");
        let occ = score::occasions(p, held.day);
        let mut ranked: Vec<(f64, usize)> = items
            .iter()
            .enumerate()
            .filter_map(|(j, it)| score::score(it, p, &occ, &cx).map(|s| (s.score, j)))
            .collect();
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        if ranked.iter().take(k).any(|(_, j)| is_held(&items[*j])) {
            hits += 1;
        }
        let owned = |it: &Prepared| {
            p.owned.iter().any(|o| {
                o.sku.as_deref() == Some(it.item.id.as_str()) || o.product_key == it.title_key
            })
        };
        if by_popularity
            .iter()
            .filter(|(_, j)| !owned(&items[*j]))
            .take(k)
            .any(|(_, j)| is_held(&items[*j]))
        {
            base_hits += 1;
        }
    }
    let rate = |h: usize| if n == 0 { 0.0 } else { h as f64 / n as f64 };
    Ok(EvalReport {
        k,
        customers: n,
        candidates: items.len(),
        recommender_hit_rate: rate(hits),
        baseline_hit_rate: rate(base_hits),
    })
}
