//! Offline evaluation: hide each customer's latest purchase, rank the
//! catalogue for them as of that day, and count how often the hidden piece is
//! in the top k (hit rate@k), against a most-popular baseline ranked the same
//! way. Runs on a generated book with planted preferences, or on any book
//! with purchases (a real purchase CSV imported into a scratch book).

use super::lexicon::Lexicon;
use super::profile::{self, Profile};
use super::score::{self, Context, Prepared};
use super::stats::StoreStats;
use crate::content::ContentItem;
use crate::demo::content::{MATERIALS, PIECES};
use crate::error::Result;
use crate::history::NewPurchase;
use crate::store::Book;
use crate::ManualClock;
use chrono::{Duration, NaiveDate};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;

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
        .conn
        .prepare("SELECT id FROM content_items WHERE kind = 'product'")?
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?
        .into_iter()
        .map(|id| book.content_item(&id))
        .collect::<Result<_>>()?;
    if items.is_empty() {
        let mut stmt = book.conn.prepare(
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

impl Book {
    /// Hit rate@k of the recommender and of the popularity baseline.
    pub fn evaluate(&mut self, k: usize) -> Result<EvalReport> {
        let lex = Lexicon::load(&self.conn)?;
        let items = candidates(self, &lex)?;
        let mut profiles: Vec<Profile> = profile::load(&self.conn, &lex, None)?;
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
}

/// A book of `customers` with planted preferences: each likes one material
/// (said in a tag for most, only visible in purchases for the rest) and
/// mostly buys it; the rest of their purchases follow the store's
/// best-sellers, which is what the baseline bets on.
pub fn planted_book(customers: usize, seed: u64) -> Result<Book> {
    let today = NaiveDate::from_ymd_opt(2026, 11, 24).expect("valid date");
    let clock = Arc::new(ManualClock::new(
        today.and_hms_opt(2, 0, 0).expect("valid time").and_utc(),
    ));
    let mut book = Book::open_in_memory(clock)?;
    let mut rng = fastrand::Rng::with_seed(seed);
    let products: Vec<(String, &str, &str, i64)> = MATERIALS
        .iter()
        .flat_map(|(m, _, f)| {
            PIECES
                .iter()
                .map(move |(p, _, b)| (format!("{m}{p}"), *m, *p, b * f))
        })
        .collect();
    // Best-sellers: a steep popularity curve over the catalogue.
    let weights: Vec<f64> = (0..products.len())
        .map(|r| 1.0 / (r as f64 + 1.0))
        .collect();
    let total: f64 = weights.iter().sum();
    let popular = |rng: &mut fastrand::Rng| {
        let mut x = rng.f64() * total;
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        0
    };
    let csv: String = std::iter::once("id,kind,title,tags,category,price".to_string())
        .chain(
            products
                .iter()
                .enumerate()
                .map(|(i, (title, m, p, price))| {
                    format!("P{i:03},product,{title},{m};{p},{p},{price}")
                }),
        )
        .collect::<Vec<_>>()
        .join("\n");
    book.import_content(csv.as_bytes())?;
    for c in 0..customers {
        let (material, _, _) = MATERIALS[rng.usize(..MATERIALS.len())];
        let name = format!("客户{c:05}");
        let id = book.add_customer(&[("name", name.as_str())], false)?;
        if rng.u8(..10) < 7 {
            book.tag_customer(&id, material)?;
        }
        let mut owned: Vec<usize> = Vec::new();
        let purchases = 3 + rng.usize(..4);
        let mut day = today - Duration::days(700);
        for _ in 0..purchases {
            let pick = if rng.u8(..100) < 65 {
                let mine: Vec<usize> = (0..products.len())
                    .filter(|i| products[*i].1 == material && !owned.contains(i))
                    .collect();
                if mine.is_empty() {
                    popular(&mut rng)
                } else {
                    mine[rng.usize(..mine.len())]
                }
            } else {
                popular(&mut rng)
            };
            owned.push(pick);
            day += Duration::days(rng.i64(10..120));
            let (title, _, piece, price) = &products[pick];
            book.add_purchase(
                &id,
                &NewPurchase {
                    purchased_on: day.to_string(),
                    order_ref: None,
                    sku: Some(format!("P{pick:03}")),
                    product: title.clone(),
                    category: Some(piece.to_string()),
                    quantity: 1,
                    amount_cents: Some(price * 100),
                    store: None,
                },
            )?;
        }
    }
    Ok(book)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_recommender_clearly_beats_the_popularity_baseline_on_planted_preferences() {
        let mut book = super::planted_book(400, 7).unwrap();
        let r = book.evaluate(5).unwrap();
        assert!(r.customers > 300, "{r:?}");
        assert!(
            r.recommender_hit_rate > r.baseline_hit_rate * 1.5,
            "recommender {:.3} vs baseline {:.3}",
            r.recommender_hit_rate,
            r.baseline_hit_rate
        );
    }
}
