//! Times the customer list's core calls on a real book, one query at a time
//! (the desktop benchmark measures the whole app):
//! `cargo run --release -p lighttouch-book --example list_timing -- BOOK.sqlite3`

use lighttouch_book::list::ListQuery;
use lighttouch_book::{Book, OpenMode, SystemClock};
use std::sync::Arc;
use std::time::Instant;

fn main() {
    let path = std::env::args().nth(1).expect("book path");
    let mut book = Book::open(path.as_ref(), OpenMode::MustExist, Arc::new(SystemClock)).unwrap();
    let t = Instant::now();
    book.list_customers(&ListQuery::default(), 0, 100).unwrap();
    println!("first list: {:?}", t.elapsed());
    let t = Instant::now();
    let tags = book.tag_vocabulary().unwrap();
    println!("tag vocabulary: {:?} ({} tags)", t.elapsed(), tags.len());
    let t = Instant::now();
    book.list_facets().unwrap();
    println!("facets: {:?}", t.elapsed());
    for q in [
        "z", "zh", "zhang", "zhangwei", "", "张", "张伟", "", "1", "13", "138", "8000", "", "p",
        "pearl", "", "a", "am", "amy", "",
    ] {
        let t = Instant::now();
        let query = ListQuery {
            text: q.into(),
            ..Default::default()
        };
        let page = book.list_customers(&query, 0, 100).unwrap();
        let total = t.elapsed();
        let t2 = Instant::now();
        let json = serde_json::to_string(&page).unwrap();
        println!(
            "{q:>10}: {:>8.2?} total={} json {} bytes {:?}",
            total,
            page.total,
            json.len(),
            t2.elapsed()
        );
    }
}
