//! Load generator: many devices (real books, the real sync engine, HTTP over
//! loopback) syncing at once against one server, each editing and syncing in
//! a loop. Reports errors, throughput and request latency.
//!
//!     cargo run --release -p lighttouch-sync-tests --example load -- \
//!         [--devices 500] [--stores 50] [--seconds 30] [--database-url sqlite:/tmp/x.sqlite3|postgres://…]

use chrono::Utc;
use lighttouch_book::{Book, SystemClock};
use lighttouch_protocol::*;
use lighttouch_server::admin::Admin;
use lighttouch_server::sync::SystemClock as ServerClock;
use lighttouch_sync_client::http::HttpTransport;
use lighttouch_sync_client::{engine, sync_once, Transport, TransportError};
use lighttouch_sync_tests::serve;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The HTTP transport, timing every request.
struct Timed {
    http: HttpTransport,
    latencies: Mutex<Vec<f64>>,
    errors: AtomicU64,
}

impl Timed {
    async fn time<T>(
        &self,
        f: impl std::future::Future<Output = Result<T, TransportError>>,
    ) -> Result<T, TransportError> {
        let t = Instant::now();
        let r = f.await;
        self.latencies
            .lock()
            .unwrap()
            .push(t.elapsed().as_secs_f64() * 1000.0);
        if r.is_err() {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
        r
    }
}

impl Transport for Timed {
    async fn login(
        &self,
        server: &str,
        request: &LoginRequest,
    ) -> Result<LoginResponse, TransportError> {
        self.http.login(server, request).await
    }
    async fn push(
        &self,
        server: &str,
        token: &str,
        request: &PushRequest,
    ) -> Result<PushResponse, TransportError> {
        self.time(self.http.push(server, token, request)).await
    }
    async fn pull(
        &self,
        server: &str,
        token: &str,
        request: &PullRequest,
    ) -> Result<PullResponse, TransportError> {
        self.time(self.http.pull(server, token, request)).await
    }

    async fn reregister(
        &self,
        server: &str,
        token: &str,
        request: &ReregisterRequest,
    ) -> Result<LoginResponse, TransportError> {
        self.time(self.http.reregister(server, token, request))
            .await
    }
}

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let devices: usize = arg("--devices").and_then(|v| v.parse().ok()).unwrap_or(500);
    let stores: usize = arg("--stores").and_then(|v| v.parse().ok()).unwrap_or(50);
    let seconds: u64 = arg("--seconds").and_then(|v| v.parse().ok()).unwrap_or(30);
    let dir = tempfile::tempdir().unwrap();
    let url = arg("--database-url")
        .unwrap_or_else(|| format!("sqlite:{}", dir.path().join("load.sqlite3").display()));
    let storage = lighttouch_server::storage::open(&url).await.unwrap();
    let kind = storage.kind();
    let clock = Arc::new(ServerClock);
    let admin = Admin::new(storage.clone(), clock.clone());
    let run = Utc::now().timestamp_millis();
    for s in 0..stores {
        admin
            .add_store("load", &format!("store-{run}-{s}"))
            .await
            .unwrap();
    }
    for d in 0..devices {
        let store = format!("store-{run}-{}", d % stores);
        admin
            .add_user(
                "load",
                &format!("u{run}-{d}"),
                None,
                &store,
                Role::Associate,
                "password1",
            )
            .await
            .unwrap();
    }
    let server = serve(storage, clock).await;
    let transport = Arc::new(Timed {
        http: HttpTransport::new().unwrap(),
        latencies: Mutex::new(Vec::new()),
        errors: AtomicU64::new(0),
    });

    eprintln!("signing in {devices} devices ({stores} stores, {kind})…");
    let mut books = Vec::new();
    for d in 0..devices {
        let book = Arc::new(Mutex::new(
            Book::open_in_memory(Arc::new(SystemClock)).unwrap(),
        ));
        engine::login(
            &book,
            transport.as_ref(),
            &server,
            &format!("u{run}-{d}"),
            "password1",
            "load",
        )
        .await
        .unwrap();
        books.push(book);
    }
    transport.latencies.lock().unwrap().clear();

    let deadline = Instant::now() + Duration::from_secs(seconds);
    let pushed = Arc::new(AtomicU64::new(0));
    let pulled = Arc::new(AtomicU64::new(0));
    let syncs = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (d, book) in books.into_iter().enumerate() {
        let (transport, pushed, pulled, syncs) = (
            transport.clone(),
            pushed.clone(),
            pulled.clone(),
            syncs.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut rng = fastrand::Rng::with_seed(d as u64);
            let mut mine: Vec<String> = Vec::new();
            while Instant::now() < deadline {
                {
                    let mut b = book.lock().unwrap();
                    for _ in 0..rng.usize(1..=5) {
                        if mine.is_empty() || rng.u8(..4) == 0 {
                            let id = b
                                .add_customer(
                                    &[("name", &format!("客人{d}-{}", rng.u32(..)))],
                                    true,
                                )
                                .unwrap();
                            mine.push(id);
                        } else {
                            let id = &mine[rng.usize(..mine.len())];
                            b.edit_customer(id, &[("ring_size", &format!("{}", rng.u8(5..25)))])
                                .unwrap();
                        }
                    }
                }
                if let Ok(r) = sync_once(&book, transport.as_ref()).await {
                    pushed.fetch_add(r.pushed as u64, Ordering::Relaxed);
                    pulled.fetch_add(r.pulled as u64, Ordering::Relaxed);
                    syncs.fetch_add(1, Ordering::Relaxed);
                }
                // An associate's laptop syncs every few seconds at most; here, as fast as possible
                // after a short pause, so the server is saturated.
                tokio::time::sleep(Duration::from_millis(rng.u64(50..250))).await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let mut lat = transport.latencies.lock().unwrap().clone();
    lat.sort_by(|a, b| a.total_cmp(b));
    let errors = transport.errors.load(Ordering::Relaxed);
    println!(
        "{kind}: {devices} devices, {:.0} s: {} syncs ({:.0}/s), {} requests ({:.0}/s), {} changes pushed ({:.0}/s), {} pulled, {errors} errors; request latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        elapsed,
        syncs.load(Ordering::Relaxed),
        syncs.load(Ordering::Relaxed) as f64 / elapsed,
        lat.len(),
        lat.len() as f64 / elapsed,
        pushed.load(Ordering::Relaxed),
        pushed.load(Ordering::Relaxed) as f64 / elapsed,
        pulled.load(Ordering::Relaxed),
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        lat.last().copied().unwrap_or(0.0),
    );
    if errors > 0 {
        std::process::exit(1);
    }
}
