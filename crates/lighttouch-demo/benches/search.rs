//! Search benchmark: a generated book of N customers (default 100,000), a set
//! of realistic as-you-type queries, p50/p95/max per query for the index, and
//! the same queries as a plain `LIKE '%q%'` scan over the same keys as the
//! baseline. Re-run with:
//!
//!     cargo bench -p lighttouch-book --bench search [-- --customers N]

use lighttouch_book::{Book, OpenMode, SystemClock};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let customers: usize = args
        .iter()
        .position(|a| a == "--customers")
        .and_then(|i| args.get(i + 1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bench.sqlite3");
    let mut book =
        Book::open(&path, OpenMode::CreateIfMissing, Arc::new(SystemClock)).expect("open");
    let t = Instant::now();
    lighttouch_demo::demo::generate_demo(&mut book, customers, 42).expect("demo");
    println!(
        "generated {customers} customers in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    drop(book);

    let mut book = Book::open(&path, OpenMode::MustExist, Arc::new(SystemClock)).expect("reopen");
    let t = Instant::now();
    let index_len = book.search_index().expect("index").len();
    let load = t.elapsed();
    let heap = book.search_index().expect("index").heap_bytes();
    println!(
        "index: {index_len} customers loaded in {:.0} ms, {:.1} MiB",
        load.as_secs_f64() * 1e3,
        heap as f64 / 1048576.0
    );

    // As typed: every prefix of each query is searched, like a search box does.
    let typed = [
        "张伟",
        "張偉",
        "欧阳娜",
        "歐陽",
        "晓雪",
        "娜",
        "王",
        "zhangwei",
        "zw",
        "ouyang",
        "lij",
        "chen",
        "xiaoxue",
        "chloe chan",
        "wong",
        "zoe",
        "13800",
        "8000",
        "0013",
        "wxid_",
        "珍珠",
        "pearl",
        "玫瑰金",
        "对戒",
        "结婚",
        "过敏",
        "prefers",
        "曾",
    ];
    let mut queries: Vec<String> = Vec::new();
    for q in typed {
        let chars: Vec<char> = q.chars().collect();
        for end in 1..=chars.len() {
            queries.push(chars[..end].iter().collect());
        }
    }
    let limit = 50;
    // Warm up, then measure.
    for q in &queries {
        book.search(q, limit).expect("search");
    }
    let mut times = Vec::new();
    for _ in 0..5 {
        for q in &queries {
            let t = Instant::now();
            let hits = book.search(q, limit).expect("search");
            times.push(t.elapsed());
            std::hint::black_box(hits);
        }
    }
    report("index search (top 50, with rows)", &mut times);
    let mut ids = Vec::new();
    for _ in 0..5 {
        for q in &queries {
            let t = Instant::now();
            let hits = book.search_ids(q, limit).expect("search");
            ids.push(t.elapsed());
            std::hint::black_box(hits);
        }
    }
    report("index search (top 50, IDs only)", &mut ids);
    let mut slow: Vec<(Duration, &String)> = Vec::new();
    for q in &queries {
        let t = Instant::now();
        book.search(q, limit).expect("search");
        slow.push((t.elapsed(), q));
    }
    slow.sort();
    let worst: Vec<String> = slow
        .iter()
        .rev()
        .take(8)
        .map(|(d, q)| format!("{q} {:.1}ms", d.as_secs_f64() * 1e3))
        .collect();
    println!("slowest: {}", worst.join(", "));

    let conn = book.connection();
    let mut stmt = conn
        .prepare(
            "SELECT customer_id FROM search_docs
             WHERE display LIKE ?1 OR pinyin LIKE ?1 OR others LIKE ?1 OR notes LIKE ?1",
        )
        .expect("prepare");
    let mut base = Vec::new();
    for q in &queries {
        let pattern = format!("%{}%", lighttouch_text::fold(q));
        let t = Instant::now();
        let n = stmt
            .query_map([&pattern], |r| r.get::<_, String>(0))
            .expect("query")
            .count();
        base.push(t.elapsed());
        std::hint::black_box(n);
    }
    report("baseline LIKE '%q%' scan", &mut base);
}

fn report(what: &str, times: &mut [Duration]) {
    times.sort();
    let at = |p: f64| times[((times.len() - 1) as f64 * p).round() as usize].as_secs_f64() * 1e3;
    println!(
        "{what}: {} queries, p50 {:.2} ms, p95 {:.2} ms, max {:.2} ms",
        times.len(),
        at(0.5),
        at(0.95),
        at(1.0)
    );
}
