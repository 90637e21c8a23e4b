//! How fast a fresh book applies a store's history, without network or
//! server: the client's share of a first sync.
//!
//!     cargo run --release -p lighttouch-book --example apply_timing -- [CUSTOMERS]

use lighttouch_book::sync::PULL_PAGE;
use lighttouch_book::{Book, SystemClock};
use lighttouch_protocol::{PullResponse, PulledChange};
use std::sync::Arc;
use std::time::Instant;

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20_000);
    let dir = tempfile::tempdir().unwrap();
    let open = |name: &str| {
        Book::open(
            &dir.path().join(name),
            lighttouch_book::OpenMode::CreateIfMissing,
            Arc::new(SystemClock),
        )
        .unwrap()
    };
    // A generated book is reused between runs (APPLY_SOURCE names its file).
    let source_path = std::env::var("APPLY_SOURCE")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| dir.path().join("source.sqlite3"));
    let fresh_source = !source_path.exists();
    let mut source = Book::open(
        &source_path,
        lighttouch_book::OpenMode::CreateIfMissing,
        Arc::new(SystemClock),
    )
    .unwrap();
    if fresh_source {
        lighttouch_demo::demo::generate_demo(&mut source, n, 1).unwrap();
    }
    let changes: Vec<PulledChange> = source
        .changes_since(0, usize::MAX)
        .unwrap()
        .into_iter()
        .map(PulledChange::from)
        .collect();
    // Pages are made before the clock starts: a real pull parses each page
    // off the wire on another thread while the book applies the previous one.
    let count = changes.len();
    let pages: Vec<PullResponse> = changes
        .chunks(PULL_PAGE as usize)
        .enumerate()
        .map(|(i, page)| PullResponse {
            reset: false,
            changes: page.to_vec(),
            cursor: format!("v1.{i}.0"),
            more: (i + 1) * (PULL_PAGE as usize) < count,
            server_time: chrono::Utc::now(),
        })
        .collect();
    drop(changes);
    let mut fresh = open("fresh.sqlite3");
    let t = Instant::now();
    for page in pages {
        fresh.apply_pull(&page).unwrap();
    }
    let s = t.elapsed().as_secs_f64();
    println!(
        "applied {} changes ({n} customers) in {s:.2} s: {:.0} changes/s",
        count,
        count as f64 / s
    );
}
