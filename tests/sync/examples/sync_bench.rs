//! Sync timings over loopback HTTP, against the real server (SQLite storage):
//! the first sync of a fresh device to a store book of N customers (with
//! tags, notes, purchases), and a round trip that pushes 100 changes and
//! pulls 100 from a colleague.
//!
//!     cargo run --release -p lighttouch-sync-tests --example sync_bench -- [CUSTOMERS] [RUNS]

use chrono::Utc;
use lighttouch_book::{Book, SystemClock};
use lighttouch_protocol::Role;
use lighttouch_server::admin::Admin;
use lighttouch_server::storage::{SqliteStorage, Storage};
use lighttouch_sync_client::http::HttpTransport;
use lighttouch_sync_client::{engine, sync_once};
use lighttouch_sync_tests::{serve, ServerClock};
use std::sync::{Arc, Mutex};
use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let customers: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let runs: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(3);
    let dir = tempfile::tempdir().unwrap();
    let storage: Arc<dyn Storage> =
        Arc::new(SqliteStorage::open(&dir.path().join("server.sqlite3")).unwrap());
    let clock = Arc::new(ServerClock(Mutex::new(Utc::now())));
    let admin = Admin::new(storage.clone(), clock.clone());
    admin.add_store("bench", "静安嘉里").await.unwrap();
    for u in ["seed", "fresh", "colleague"] {
        admin
            .add_user("bench", u, None, "静安嘉里", Role::Associate, "password1")
            .await
            .unwrap();
    }
    // The server keeps real time for this run.
    let ticking = clock.clone();
    tokio::spawn(async move {
        loop {
            *ticking.0.lock().unwrap() = Utc::now();
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    });
    let url = serve(storage, clock).await;
    let http = HttpTransport::new().unwrap();
    let open = |name: &str| {
        Mutex::new(
            Book::open(
                &dir.path().join(name),
                lighttouch_book::OpenMode::CreateIfMissing,
                Arc::new(SystemClock),
            )
            .unwrap(),
        )
    };

    let seed = open("seed.sqlite3");
    let t = Instant::now();
    let summary =
        lighttouch_demo::demo::generate_demo(&mut seed.lock().unwrap(), customers, 1).unwrap();
    eprintln!(
        "demo book: {} customers, {} notes, {} purchases in {:.1} s",
        summary.customers,
        summary.notes,
        summary.purchases,
        t.elapsed().as_secs_f64()
    );
    engine::login(&seed, &http, &url, "seed", "password1", "seed")
        .await
        .unwrap();
    let t = Instant::now();
    let pushed = sync_once(&seed, &http).await.unwrap().pushed;
    let upload = t.elapsed().as_secs_f64();
    println!(
        "upload of the whole book: {pushed} changes in {upload:.2} s ({:.0} changes/s)",
        pushed as f64 / upload
    );

    let mut first = Vec::new();
    let mut pulled = 0;
    for run in 0..runs {
        let fresh = open(&format!("fresh-{run}.sqlite3"));
        engine::login(&fresh, &http, &url, "fresh", "password1", "fresh")
            .await
            .unwrap();
        let t = Instant::now();
        pulled = sync_once(&fresh, &http).await.unwrap().pulled;
        first.push(t.elapsed().as_secs_f64());
        // Searchable at once: the index is built from the synced book.
        assert!(!fresh.lock().unwrap().search("wang", 1).unwrap().is_empty());
    }
    println!(
        "first sync of a fresh device: {pulled} changes ({customers} customers), median {:.2} s of {runs} runs ({:.0} changes/s)",
        median(first.clone()),
        pulled as f64 / median(first)
    );

    // Where the time goes: the server and the wire alone (pages fetched, not applied).
    {
        use lighttouch_sync_client::Transport;
        let fresh = open("wire-only.sqlite3");
        engine::login(&fresh, &http, &url, "fresh", "password1", "wire")
            .await
            .unwrap();
        let account = fresh.lock().unwrap().sync_account().unwrap().unwrap();
        let t = Instant::now();
        let mut cursor = None;
        let mut n = 0;
        loop {
            let req = lighttouch_protocol::PullRequest {
                cursor: cursor.clone(),
                limit: Some(lighttouch_book::sync::PULL_PAGE),
                known_through: None,
            };
            let page = http
                .pull(&account.server, &account.token, &req)
                .await
                .unwrap();
            n += page.changes.len();
            cursor = Some(page.cursor);
            if !page.more {
                break;
            }
        }
        println!(
            "  of which server and wire alone: {n} changes in {:.2} s",
            t.elapsed().as_secs_f64()
        );
    }

    // Round trip: 100 local edits pushed, 100 of a colleague's pulled.
    let colleague = open("colleague.sqlite3");
    engine::login(
        &colleague,
        &http,
        &url,
        "colleague",
        "password1",
        "colleague",
    )
    .await
    .unwrap();
    sync_once(&colleague, &http).await.unwrap();
    let query = lighttouch_book::list::ListQuery::default();
    let ids: Vec<String> = seed
        .lock()
        .unwrap()
        .list_customers(&query, 0, 200)
        .unwrap()
        .rows
        .into_iter()
        .map(|r| r.id)
        .collect();
    let mut trips = Vec::new();
    for run in 0..runs.max(5) {
        for (i, id) in ids.iter().take(100).enumerate() {
            colleague
                .lock()
                .unwrap()
                .edit_customer(
                    id,
                    &[("shoe_size", &format!("{}", 30 + (run * 7 + i) % 20))],
                )
                .unwrap();
            seed.lock()
                .unwrap()
                .edit_customer(
                    &ids[100 + i],
                    &[("ring_size", &format!("{}", 5 + (run * 7 + i) % 20))],
                )
                .unwrap();
        }
        sync_once(&colleague, &http).await.unwrap();
        let t = Instant::now();
        let r = sync_once(&seed, &http).await.unwrap();
        trips.push(t.elapsed().as_secs_f64() * 1000.0);
        eprintln!("round trip {run}: pushed {}, pulled {}", r.pushed, r.pulled);
    }
    println!(
        "round trip pushing 100 and pulling 100 changes: median {:.0} ms of {} runs",
        median(trips),
        runs.max(5)
    );
}
