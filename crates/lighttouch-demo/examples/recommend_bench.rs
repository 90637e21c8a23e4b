//! The recommendation figures of the README: the daily queue of a book of
//! 50,000 customers with 2,000 active content items, suggestions for one
//! customer, and the audience of one item.
//!
//!     cargo run --release -p lighttouch-demo --example recommend_bench -- [CUSTOMERS] [ITEMS] [PURCHASES]
//!
//! PURCHASES tops the book's purchase history up to that many lines (the
//! issue's figure is a million): each customer buys pieces of the catalogue,
//! mostly of one material, as a store's history would look.
//!
//! The generated book is kept in RECOMMEND_BOOK (default: a file under the
//! system temp directory) so later runs skip the generation.

use chrono::NaiveDate;
use lighttouch_book::{Book, OpenMode, SystemClock};
use std::sync::Arc;
use std::time::Instant;

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

fn percentile(mut v: Vec<f64>, p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let mut outreach = lighttouch_outreach::Outreach::new();
    let mut args = std::env::args().skip(1);
    let customers: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(50_000);
    let items: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(2_000);
    let purchases: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(0);
    let path = std::env::var("RECOMMEND_BOOK")
        .map(Into::into)
        .unwrap_or_else(|_| {
            std::env::temp_dir().join(format!(
                "lighttouch-recommend-{customers}-{items}-{purchases}.sqlite3"
            ))
        });
    let fresh = !std::path::Path::new(&path).exists();
    let mut book = Book::open(&path, OpenMode::CreateIfMissing, Arc::new(SystemClock)).unwrap();
    if fresh {
        let t = Instant::now();
        book.set_associate("demo").unwrap();
        lighttouch_demo::demo::generate_demo(&mut book, customers, 1).unwrap();
        lighttouch_demo::demo::generate_demo_content(&mut book, items, 1).unwrap();
        top_up_purchases(&mut book, purchases);
        eprintln!("generated the book in {:.1} s", ms(t) / 1000.0);
    }
    let lines: i64 = book
        .connection()
        .query_row("SELECT COUNT(*) FROM purchases", [], |r| r.get(0))
        .unwrap();
    println!("book: {lines} purchase lines");
    let today: NaiveDate = book.now().date_naive();
    let active = book.active_content(today).unwrap().len();
    println!("book: {customers} customers, {active} active content items");

    let t = Instant::now();
    let q = outreach.today(&mut book, today, "zh-Hans").unwrap();
    let cold = ms(t);
    let mut same = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        outreach.today(&mut book, today, "zh-Hans").unwrap();
        same.push(ms(t));
    }
    println!(
        "daily queue, book unchanged since the last run: p50 {:.0} ms",
        percentile(same, 0.5)
    );
    let mut warm = Vec::new();
    for _ in 0..5 {
        // A write between runs, as in a day of use: caches are rebuilt.
        let id = q.first().map(|e| e.customer_id.clone()).unwrap();
        let t = Instant::now();
        outreach.today(&mut book, today, "zh-Hans").unwrap();
        warm.push(ms(t));
        book.tag_customer(&id, "VIP").unwrap();
        book.untag_customer(&id, "VIP").unwrap();
    }
    println!(
        "daily queue: {} entries; first {:.0} ms, after a write p50 {:.0} ms, max {:.0} ms",
        q.len(),
        cold,
        percentile(warm.clone(), 0.5),
        percentile(warm, 1.0)
    );

    let ids = column(
        &book,
        "SELECT id FROM customers WHERE consent_marketing = 1 AND do_not_contact = 0 ORDER BY id LIMIT 200",
    );
    let mut times = Vec::new();
    let mut fresh = lighttouch_outreach::Outreach::new();
    let t = Instant::now();
    fresh
        .suggest(&mut book, &ids[0], 5, today, "zh-Hans")
        .unwrap();
    println!(
        "suggest, the first call of a new process (store statistics read back from the book when kept, else worked out): {:.0} ms",
        ms(t)
    );
    for id in &ids {
        let t = Instant::now();
        outreach
            .suggest(&mut book, id, 5, today, "zh-Hans")
            .unwrap();
        times.push(ms(t));
    }
    println!(
        "suggest for one customer ({} customers): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        ids.len(),
        percentile(times.clone(), 0.5),
        percentile(times.clone(), 0.99),
        percentile(times, 1.0)
    );

    let items: Vec<String> = book
        .active_content(today)
        .unwrap()
        .into_iter()
        .filter(|i| i.kind == "product")
        .take(20)
        .map(|i| i.id)
        .collect();
    let t = Instant::now();
    outreach
        .audience(&mut book, &items[0], 20, today, "zh-Hans")
        .unwrap();
    let first = ms(t);
    let mut times = Vec::new();
    for id in &items {
        let t = Instant::now();
        outreach
            .audience(&mut book, id, 20, today, "zh-Hans")
            .unwrap();
        times.push(ms(t));
    }
    println!(
        "audience of one item: first {:.0} ms (loads every profile), then p50 {:.0} ms, max {:.0} ms",
        first,
        percentile(times.clone(), 0.5),
        percentile(times, 1.0)
    );
}

/// Tops the purchase history up to `total` lines: each customer buys pieces
/// of the catalogue, two in three of their favourite material, over ten
/// years (a store's whole history, not a month of it).
fn top_up_purchases(book: &mut Book, total: usize) {
    use lighttouch_book::changes::Entity;
    use lighttouch_book::history::{purchase_fields, NewPurchase};
    let have: usize = book
        .connection()
        .query_row("SELECT COUNT(*) FROM purchases", [], |r| r.get::<_, i64>(0))
        .unwrap() as usize;
    if total <= have {
        return;
    }
    let products: Vec<(String, String, String)> = book
        .connection()
        .prepare(
            "SELECT id, title, COALESCE(category, '') FROM content_items WHERE kind = 'product'",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let customers = column(book, "SELECT id FROM customers ORDER BY id");
    let materials = [
        "玫瑰金",
        "黄金",
        "古法金",
        "铂金",
        "珍珠",
        "钻石",
        "翡翠",
        "银饰",
    ];
    let by_material: Vec<Vec<usize>> = materials
        .iter()
        .map(|m| {
            (0..products.len())
                .filter(|i| products[*i].1.contains(m))
                .collect()
        })
        .collect();
    let mut rng = fastrand::Rng::with_seed(7);
    let today = book.now().date_naive();
    let per = (total - have).div_ceil(customers.len());
    book.write(|w| {
        let mut left = total - have;
        for c in &customers {
            let taste = &by_material[rng.usize(..materials.len())];
            for _ in 0..per.min(left) {
                let j = if !taste.is_empty() && rng.u8(..3) < 2 {
                    taste[rng.usize(..taste.len())]
                } else {
                    rng.usize(..products.len())
                };
                let (sku, title, category) = &products[j];
                let day = today - chrono::Duration::days(1 + rng.i64(0..3650));
                let p = NewPurchase {
                    purchased_on: day.to_string(),
                    order_ref: None,
                    sku: Some(sku.clone()),
                    product: title.clone(),
                    category: Some(category.clone()).filter(|c| !c.is_empty()),
                    quantity: 1,
                    amount_cents: None,
                    store: None,
                };
                let id = uuid::Uuid::now_v7().to_string();
                w.insert(Entity::Purchase, &id, &purchase_fields(c, &p, w.now_text()))?;
                left -= 1;
            }
        }
        Ok(())
    })
    .unwrap();
}

/// The first column of a query's rows, as text.
fn column(book: &Book, sql: &str) -> Vec<String> {
    book.connection()
        .prepare(sql)
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}
