//! A book with planted preferences, for measuring the recommender against
//! the popularity baseline where the truth is known.

use crate::demo::content::{MATERIALS, PIECES};
use chrono::{Duration, NaiveDate};
use lighttouch_book::history::NewPurchase;
use lighttouch_book::{Book, ManualClock, Result};
use std::sync::Arc;

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
        let book = super::planted_book(400, 7).unwrap();
        let r = lighttouch_outreach::recommend::eval::evaluate(&book, &Default::default()).unwrap();
        assert!(r.new_items.customers > 50, "{r:?}");
        let new = &r.new_items;
        assert!(
            new.recommender.hit_rate_at_5 > new.most_popular.hit_rate_at_5 * 1.5,
            "recommender {:?} vs most popular {:?}",
            new.recommender,
            new.most_popular
        );
    }
}
