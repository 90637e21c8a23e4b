//! Deterministic simulation of sync. For each seed: a server and five
//! devices of one store (plus one of another store), random edits (the same
//! fields, different fields, tags, notes, erasures, handovers), random
//! offline periods, clocks hours apart, and requests that are dropped,
//! duplicated or lose their answer (a crash between the server storing a
//! push and the device hearing of it), pulls cut between pages; a laptop
//! restored from an older backup of its book, a book copied to a second
//! laptop that then runs beside the first, and a buggy client that pushes
//! wrong values among good ones. Then every device syncs, and:
//! - every replica is identical;
//! - every note written anywhere exists everywhere (unless its customer was erased);
//! - every field holds the value with the highest clock stamp in the server's log;
//! - every value that lost to a concurrent edit is in every replica's conflicts;
//! - the other store's device holds none of it;
//! - the server refused every wrong value, no book holds one, and every
//!   good change of the buggy client is everywhere.
//!
//! `LIGHTTOUCH_SIM_SEEDS` (default 50, as in CI), `LIGHTTOUCH_SIM_FROM`
//! (the first seed, default 1) and `LIGHTTOUCH_SIM_STEPS` (default 250)
//! size the run; `LIGHTTOUCH_SIM_SEED=N` replays one seed, and `SIM_DEBUG=1`
//! tells what happened in it. `scripts/simulate` runs thousands.

use chrono::{Duration, TimeZone, Utc};
use lighttouch_book::{Book, ManualClock, OpenMode};
use lighttouch_protocol::*;
use lighttouch_server::admin::Admin;
use lighttouch_server::storage::{SqliteStorage, Storage};
use lighttouch_sync_client::{engine, sync_once, Transport, TransportError};
use lighttouch_sync_tests::buggy::{good_change, stamp, wrong_change, WRONG_MARK};
use lighttouch_sync_tests::{snapshot, InProcess, ServerClock};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

const FIELDS: &[&str] = &["ring_size", "shoe_size", "email", "clothing_size", "name"];
const TAGS: &[&str] = &["珍珠", "玫瑰金", "情侣", "VIP", "婚戒"];
const USERS: &[&str] = &["u0", "u1", "u2", "u3", "u4"];

/// Faults injected by the transport, decided by the seed.
struct Faulty {
    inner: InProcess,
    rng: Mutex<fastrand::Rng>,
    faults: Mutex<bool>,
    /// Pulls that started a re-download (the device was behind a compaction).
    resets: std::sync::atomic::AtomicU64,
    /// Stamps the server bounded, to the stamp the book first gave them.
    bounded: Mutex<BTreeMap<String, String>>,
}

impl Faulty {
    /// Notes the stamps the server bounded in this answer.
    fn note_bounded(&self, request: &PushRequest, response: &Result<PushResponse, TransportError>) {
        if let Ok(r) = response {
            if debug() && !r.restamped.is_empty() {
                eprintln!(
                    "push {}.. restamped {:?}",
                    request.changes[0].seq, r.restamped
                );
            }
            let mut bounded = self.bounded.lock().unwrap();
            for restamp in &r.restamped {
                if let Some(c) = request.changes.iter().find(|c| c.seq == restamp.seq) {
                    bounded.insert(restamp.hlc.clone(), c.hlc.clone());
                }
            }
        }
    }
}

impl Faulty {
    fn roll(&self, p: f64) -> bool {
        *self.faults.lock().unwrap() && self.rng.lock().unwrap().f64() < p
    }
}

fn lost() -> TransportError {
    TransportError::Unreachable("simulated network failure".into())
}

impl Transport for Faulty {
    async fn login(
        &self,
        server: &str,
        request: &LoginRequest,
    ) -> Result<LoginResponse, TransportError> {
        self.inner.login(server, request).await
    }

    async fn push(
        &self,
        server: &str,
        token: &str,
        request: &PushRequest,
    ) -> Result<PushResponse, TransportError> {
        if self.roll(0.05) {
            return Err(lost()); // dropped on the way
        }
        let response = self.inner.push(server, token, request).await;
        self.note_bounded(request, &response);
        if debug() {
            if let Err(e) = &response {
                eprintln!(
                    "push {}..{} of {} failed: {e:?}",
                    request.changes[0].seq,
                    request.changes.last().unwrap().seq,
                    &request.changes[0].hlc[21..]
                );
            }
            if let Ok(r) = &response {
                if !r.rejected.is_empty() {
                    eprintln!(
                        "push {}..{} refused {:?}",
                        request.changes[0].seq,
                        request.changes.last().unwrap().seq,
                        r.rejected
                    );
                }
            }
        }
        if self.roll(0.05) {
            let again = self.inner.push(server, token, request).await; // duplicated
            self.note_bounded(request, &again);
        }
        if self.roll(0.1) {
            return Err(lost()); // stored, but the answer never arrives
        }
        response
    }

    async fn pull(
        &self,
        server: &str,
        token: &str,
        request: &PullRequest,
    ) -> Result<PullResponse, TransportError> {
        if self.roll(0.08) {
            return Err(lost()); // cut between pages
        }
        // Small pages, so pulls span several requests.
        let small = PullRequest {
            cursor: request.cursor.clone(),
            limit: Some(7),
            known_through: request.known_through,
        };
        let page = self.inner.pull(server, token, &small).await?;
        if page.reset {
            self.resets
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        Ok(page)
    }

    async fn reregister(
        &self,
        server: &str,
        token: &str,
        request: &ReregisterRequest,
    ) -> Result<LoginResponse, TransportError> {
        if self.roll(0.05) {
            return Err(lost());
        }
        self.inner.reregister(server, token, request).await
    }
}

struct Device {
    book: Mutex<Book>,
    /// The book's file.
    path: PathBuf,
    /// A copy of the book taken earlier, to restore.
    backup: Option<PathBuf>,
    clock: Arc<ManualClock>,
    skew: Duration,
    online: bool,
    user: &'static str,
    /// Revoked while away: signs in again before its next sync.
    revoked: bool,
    /// The number of compactions when it was revoked.
    revoked_at: u32,
    /// Was away past a compaction: it re-downloaded a log from which
    /// replaced edits were cleared, so it cannot have seen them all.
    redownloaded: bool,
}

fn open(path: &Path, clock: Arc<ManualClock>) -> Book {
    Book::open(path, OpenMode::CreateIfMissing, clock).unwrap()
}

/// A consistent copy of an open book, as a backup tool makes one.
fn copy_book(from: &Path, to: &Path) {
    let _ = std::fs::remove_file(to);
    rusqlite::Connection::open(from)
        .unwrap()
        .execute("VACUUM INTO ?1", [to.to_str().unwrap()])
        .unwrap();
}

/// Closes the device's book, puts the backup in its place, opens it again.
fn restore(d: &Device, backup: &Path) {
    let mut book = d.book.lock().unwrap();
    let closed = Book::open_in_memory(d.clock.clone()).unwrap();
    drop(std::mem::replace(&mut *book, closed));
    for suffix in ["-wal", "-shm"] {
        let mut side = d.path.clone().into_os_string();
        side.push(suffix);
        let _ = std::fs::remove_file(side);
    }
    std::fs::copy(backup, &d.path).unwrap();
    *book = open(&d.path, d.clock.clone());
}

/// A client with a bug: it signs in like any laptop, then pushes good
/// changes mixed with wrong ones, numbered as the protocol asks.
struct Buggy {
    token: String,
    node: u128,
    next_seq: i64,
    /// Sequence numbers of the wrong changes it sent.
    wrong: BTreeSet<i64>,
    /// Sequence numbers the server refused.
    refused: BTreeSet<i64>,
    /// Good changes it sent: (entity, row, field).
    good: Vec<PushedChange>,
}

fn debug() -> bool {
    std::env::var_os("SIM_DEBUG").is_some()
}

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn replicas_converge_and_nothing_is_lost() {
    let steps = env("LIGHTTOUCH_SIM_STEPS", 250) as usize;
    let seeds: Vec<u64> = match std::env::var("LIGHTTOUCH_SIM_SEED") {
        Ok(s) => vec![s.parse().expect("LIGHTTOUCH_SIM_SEED is a number")],
        Err(_) => {
            let from = env("LIGHTTOUCH_SIM_FROM", 1);
            (from..from + env("LIGHTTOUCH_SIM_SEEDS", 50)).collect()
        }
    };
    // Every seed runs, whichever fail: a long run names all its failures.
    let mut failed = Vec::new();
    for seed in seeds {
        let run = std::thread::spawn(move || {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap()
                .block_on(simulate(seed, steps))
        });
        if run.join().is_err() {
            eprintln!("seed {seed}: FAILED");
            failed.push(seed);
        }
    }
    assert!(failed.is_empty(), "failing seeds: {failed:?}");
}

async fn simulate(seed: u64, steps: usize) {
    let mut rng = fastrand::Rng::with_seed(seed);
    // Books are files, as on a laptop; in memory where the system has a
    // RAM disk, since thousands of seeds would otherwise wait on fsync.
    let shm = Path::new("/dev/shm");
    let dir = if shm.is_dir() {
        tempfile::tempdir_in(shm)
    } else {
        tempfile::tempdir()
    }
    .unwrap();
    let db = dir.path().join("server.sqlite3");
    let storage: Arc<dyn Storage> = Arc::new(SqliteStorage::open(&db).unwrap());
    let start = Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0).unwrap();
    let server_clock = Arc::new(ServerClock(Mutex::new(start)));
    let admin = Admin::new(storage.clone(), server_clock.clone());
    admin.add_store("sim", "静安嘉里").await.unwrap();
    admin.add_store("sim", "国金").await.unwrap();
    for u in USERS {
        admin
            .add_user("sim", u, None, "静安嘉里", Role::Associate, "password1")
            .await
            .unwrap();
    }
    admin
        .add_user(
            "sim",
            "outsider",
            None,
            "国金",
            Role::Associate,
            "password1",
        )
        .await
        .unwrap();
    let transport = Faulty {
        inner: InProcess {
            storage: storage.clone(),
            clock: server_clock.clone(),
        },
        rng: Mutex::new(fastrand::Rng::with_seed(seed ^ 0x5eed)),
        faults: Mutex::new(false),
        resets: Default::default(),
        bounded: Default::default(),
    };

    let skews = [0i64, 3 * 60, -2 * 60, 10, -60]; // minutes: hours apart
    let mut devices: Vec<Device> = Vec::new();
    for (i, skew) in skews.iter().enumerate() {
        let skew = Duration::minutes(*skew);
        let clock = Arc::new(ManualClock::new(start + skew));
        let path = dir.path().join(format!("device{i}.sqlite3"));
        let book = Mutex::new(open(&path, clock.clone()));
        engine::login(&book, &transport, "sim://", USERS[i], "password1", "laptop")
            .await
            .unwrap();
        devices.push(Device {
            book,
            path,
            backup: None,
            clock,
            skew,
            online: true,
            user: USERS[i],
            revoked: false,
            revoked_at: 0,
            redownloaded: false,
        });
    }
    let outsider = Mutex::new(Book::open_in_memory(Arc::new(ManualClock::new(start))).unwrap());
    engine::login(
        &outsider,
        &transport,
        "sim://",
        "outsider",
        "password1",
        "laptop",
    )
    .await
    .unwrap();
    outsider
        .lock()
        .unwrap()
        .add_customer(&[("name", "别店客人")], false)
        .unwrap();
    let bug = transport
        .inner
        .login(
            "sim://",
            &LoginRequest {
                username: "u1".into(),
                password: "password1".into(),
                device_id: uuid::Uuid::now_v7(),
                device_name: "buggy".into(),
            },
        )
        .await
        .unwrap();
    let mut buggy = Buggy {
        token: bug.token,
        node: bug.device_id.unwrap().as_u128(),
        next_seq: 1,
        wrong: BTreeSet::new(),
        refused: BTreeSet::new(),
        good: Vec::new(),
    };
    *transport.faults.lock().unwrap() = true;

    let history = Mutex::new(BTreeMap::new());
    let mut compactions = 0u32;
    let mut counter = 0u64;
    for _ in 0..steps {
        // Time moves on for everyone; each laptop keeps its own clock error.
        let now = *server_clock.0.lock().unwrap() + Duration::seconds(rng.i64(1..120));
        *server_clock.0.lock().unwrap() = now;
        for d in &devices {
            d.clock.set(now + d.skew);
        }
        let i = rng.usize(..devices.len());
        let room = devices.len() < 8;
        let d = &mut devices[i];
        counter += 1;
        match rng.u32(0..100) {
            // A revoked laptop stays away until the log was compacted past it.
            0..=4 if !(d.revoked && compactions == d.revoked_at) => d.online = !d.online,
            5..=24 if d.online => {
                if d.revoked {
                    *transport.faults.lock().unwrap() = false;
                    engine::login(&d.book, &transport, "sim://", d.user, "password1", "laptop")
                        .await
                        .unwrap();
                    *transport.faults.lock().unwrap() = true;
                    d.revoked = false;
                }
                let report = sync_once(&d.book, &transport).await;
                if debug() {
                    eprintln!("step {counter}: device {i} syncs: {report:?}");
                }
            }
            25..=29 => {
                let mut b = d.book.lock().unwrap();
                b.add_customer(&[("name", &format!("客人{seed}-{counter}"))], true)
                    .unwrap();
            }
            30 => {
                if let Some(id) = pick_customer(&d.book, &mut rng) {
                    d.book.lock().unwrap().erase_customer(&id).unwrap();
                }
            }
            32 if !d.revoked => {
                // Away too long: a manager revokes the laptop, so the log can be compacted past it.
                // A copy of the book still under the same ID is revoked with it.
                let id = d.book.lock().unwrap().device_id();
                admin.revoke_device("manager", id).await.unwrap();
                for d in devices.iter_mut() {
                    if d.book.lock().unwrap().device_id() == id {
                        d.revoked = true;
                        d.online = false;
                        d.revoked_at = compactions;
                        d.redownloaded = true;
                        d.backup = None; // its token is gone with it
                    }
                }
            }
            55 if !d.revoked => {
                let backup = dir.path().join(format!("backup{i}-{counter}.sqlite3"));
                copy_book(&d.path, &backup);
                d.backup = Some(backup);
            }
            56 if !d.revoked => {
                // The laptop is restored from its last backup: what it wrote since is gone
                // from the book, synced or not.
                if let Some(backup) = d.backup.take() {
                    if debug() {
                        eprintln!("step {counter}: device {i} restored from {backup:?}");
                    }
                    restore(d, &backup);
                }
            }
            57 if !d.revoked && room => {
                // The book is copied to a second laptop, and both go on.
                let n = devices.len();
                if debug() {
                    eprintln!("step {counter}: device {i} copied to device {n}");
                }
                let path = dir.path().join(format!("device{n}.sqlite3"));
                copy_book(&devices[i].path, &path);
                let skew = Duration::minutes(rng.i64(-90..90));
                let clock = Arc::new(ManualClock::new(now + skew));
                let user = devices[i].user;
                devices.push(Device {
                    book: Mutex::new(open(&path, clock.clone())),
                    path,
                    backup: None,
                    clock,
                    skew,
                    online: true,
                    user,
                    revoked: false,
                    revoked_at: 0,
                    redownloaded: false,
                });
            }
            58 | 59 => {
                let Some(customer) = pick_customer(&d.book, &mut rng) else {
                    continue;
                };
                let mut changes = Vec::new();
                for n in 0..rng.u32(1..5) {
                    let seq = buggy.next_seq + changes.len() as i64;
                    let hlc = stamp(now.timestamp_millis(), n, buggy.node);
                    let tag = counter * 10 + u64::from(n);
                    if rng.bool() {
                        buggy.wrong.insert(seq);
                        changes.push(wrong_change(rng.usize(..), seq, hlc, &customer, tag));
                    } else {
                        let c = good_change(rng.usize(..), seq, hlc, &customer, tag);
                        // About a customer the laptop has not synced yet: the
                        // store does not have them, so the server refuses it.
                        if c.row_id != format!("good-{tag}") && !store_has_customer(&db, &customer)
                        {
                            buggy.wrong.insert(seq);
                        } else {
                            buggy.good.push(c.clone());
                        }
                        changes.push(c);
                    }
                }
                // Past the faulty network: the bug is in the values, not the wire.
                let answer = transport
                    .inner
                    .push(
                        "sim://",
                        &buggy.token,
                        &PushRequest {
                            changes: changes.clone(),
                        },
                    )
                    .await
                    .unwrap();
                assert_eq!(
                    answer.applied_through,
                    changes.last().unwrap().seq,
                    "seed {seed}: the buggy push is taken whole"
                );
                buggy.next_seq = answer.applied_through + 1;
                buggy.refused.extend(answer.rejected.iter().map(|r| r.seq));
            }
            33..=36 => {
                record_log(&db, &mut history.lock().unwrap());
                admin.compact("manager", Some("静安嘉里")).await.unwrap();
                compactions += 1;
            }
            31 => {
                let (from, to) = (
                    USERS[rng.usize(..USERS.len())],
                    USERS[rng.usize(..USERS.len())],
                );
                if from != to {
                    if debug() {
                        eprintln!("step {counter}: {from}'s customers go to {to}");
                    }
                    admin.reassign("manager", from, to, &[]).await.unwrap();
                }
            }
            37..=44 => {
                if let Some(id) = pick_customer(&d.book, &mut rng) {
                    let tag = TAGS[rng.usize(..TAGS.len())];
                    let mut b = d.book.lock().unwrap();
                    if rng.bool() {
                        b.tag_customer(&id, tag).unwrap();
                    } else {
                        let _ = b.untag_customer(&id, tag); // unknown here yet: nothing to remove
                    }
                }
            }
            45..=54 => {
                if let Some(id) = pick_customer(&d.book, &mut rng) {
                    let mut b = d.book.lock().unwrap();
                    let notes = b.notes(&id).unwrap();
                    if !notes.is_empty() && rng.bool() {
                        let n = &notes[rng.usize(..notes.len())];
                        b.edit_note(&n.id, &format!("改写{counter}")).unwrap();
                    } else {
                        b.add_note(&id, &format!("备注{counter}")).unwrap();
                    }
                }
            }
            _ => {
                if let Some(id) = pick_customer(&d.book, &mut rng) {
                    let field = FIELDS[rng.usize(..FIELDS.len())];
                    // Values never repeat, so a lost value is recognisable.
                    let value = match field {
                        "email" => format!("c{counter}@example.com"),
                        "name" => format!("改名{counter}"),
                        _ => format!("{counter}"),
                    };
                    d.book
                        .lock()
                        .unwrap()
                        .edit_customer(&id, &[(field, &value)])
                        .unwrap();
                }
            }
        }
    }

    // Everyone comes back online on a quiet network and syncs until nothing moves.
    *transport.faults.lock().unwrap() = false;
    // Those still here catch up, and the log is compacted past the ones away,
    // who then come back, re-download and replay what they wrote meanwhile.
    for _ in 0..2 {
        for (i, d) in devices.iter().enumerate().filter(|(_, d)| !d.revoked) {
            let report = sync_signing_in(d, &transport).await;
            if debug() {
                eprintln!("final: device {i} syncs: {report:?}");
            }
        }
    }
    record_log(&db, &mut history.lock().unwrap());
    admin.compact("manager", Some("静安嘉里")).await.unwrap();
    for d in devices.iter_mut().filter(|d| d.revoked) {
        engine::login(&d.book, &transport, "sim://", d.user, "password1", "laptop")
            .await
            .unwrap();
        d.revoked = false;
    }
    for round in 0..4 {
        for (i, d) in devices.iter().enumerate() {
            let report = sync_signing_in(d, &transport).await;
            if debug() {
                eprintln!("final {round}: device {i} syncs: {report:?}");
            }
        }
        if round == 1 {
            // Everyone caught up: the last rounds run on a freshly compacted log.
            record_log(&db, &mut history.lock().unwrap());
            admin.compact("manager", Some("静安嘉里")).await.unwrap();
        }
    }
    sync_once(&outsider, &transport).await.unwrap();
    eprintln!(
        "seed {seed}: {} re-downloads",
        transport.resets.load(std::sync::atomic::Ordering::Relaxed)
    );
    let bounded = transport.bounded.lock().unwrap().clone();
    check(seed, &devices, &outsider, &db, &history, &bounded);
    check_buggy(seed, &devices, &buggy, &history);
}

/// The server refused exactly the wrong changes; no book holds a wrong
/// value or kept anything aside; every good change reached the log (where
/// `check` followed it to every book).
fn check_buggy(seed: u64, devices: &[Device], buggy: &Buggy, history: &Mutex<BTreeMap<i64, Row>>) {
    assert_eq!(
        buggy.refused, buggy.wrong,
        "seed {seed}: refused exactly the wrong ones"
    );
    let history = history.lock().unwrap();
    let stamps: BTreeSet<&str> = history.values().map(|r| r.0.as_str()).collect();
    for c in &buggy.good {
        assert!(
            stamps.contains(c.hlc.as_str()),
            "seed {seed}: good change {} ({} {}) is in the log",
            c.seq,
            c.entity,
            c.row_id
        );
    }
    for (i, d) in devices.iter().enumerate() {
        let b = d.book.lock().unwrap();
        let text = snapshot(&b).to_string();
        assert!(
            !text.contains(WRONG_MARK),
            "seed {seed}: device {i} holds a wrong value"
        );
        let aside = b.quarantined_changes().unwrap();
        if !aside.is_empty() && debug() {
            let conn = rusqlite::Connection::open(&d.path).unwrap();
            let mut stmt = conn.prepare("SELECT seq, change FROM quarantine").unwrap();
            let rows = stmt
                .query_map([], |r| {
                    Ok((r.get::<_, Option<i64>>(0)?, r.get::<_, String>(1)?))
                })
                .unwrap();
            for r in rows {
                eprintln!("aside {:?}", r.unwrap());
            }
            for a in &aside {
                for (seq, r) in history.iter().filter(|(_, r)| r.2 == a.row_id) {
                    eprintln!("log {seq}: {r:?}");
                }
                for c in b.changes_since(0, usize::MAX).unwrap() {
                    if c.row_id == a.row_id {
                        eprintln!("own {}: {} {} {:?}", c.seq, c.hlc, c.op, c.value);
                    }
                }
            }
        }
        assert!(
            aside.is_empty(),
            "seed {seed}: device {i} kept aside {aside:?}"
        );
    }
    eprintln!(
        "seed {seed}: buggy client sent {} wrong and {} good changes; {} devices",
        buggy.wrong.len(),
        buggy.good.len(),
        devices.len()
    );
}

/// One sync of a laptop on a quiet network. A book restored from a backup
/// may hold the token of a device revoked since: its associate signs in
/// again, as the app asks them to.
async fn sync_signing_in(d: &Device, transport: &Faulty) -> lighttouch_sync_client::SyncReport {
    match sync_once(&d.book, transport).await {
        Err(e) if e.code() == codes::UNAUTHORIZED => {
            engine::login(&d.book, transport, "sim://", d.user, "password1", "laptop")
                .await
                .unwrap();
            sync_once(&d.book, transport).await.unwrap()
        }
        other => other.unwrap(),
    }
}

fn store_has_customer(db: &Path, customer: &str) -> bool {
    rusqlite::Connection::open(db)
        .unwrap()
        .prepare("SELECT 1 FROM changes WHERE customer_id = ?1")
        .unwrap()
        .exists([customer])
        .unwrap()
}

fn pick_customer(book: &Mutex<Book>, rng: &mut fastrand::Rng) -> Option<String> {
    let live = book.lock().unwrap().customer_ids().unwrap();
    (!live.is_empty()).then(|| live[rng.usize(..live.len())].clone())
}

/// One value written to a field: its stamp, the value, the stamp it replaced.
type Write = (String, Value, Option<String>);

/// One change of the server's log: stamp, kind, row, op, field, value, base.
type Row = (
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// Adds the server's current log of the store to `history` (by sequence
/// number; a value wiped since by an erasure is wiped here too).
fn record_log(db: &std::path::Path, history: &mut BTreeMap<i64, Row>) {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT seq, hlc, entity, row_id, op, field, value, base FROM changes
             WHERE stream_id = (SELECT id FROM stores WHERE name = '静安嘉里') ORDER BY seq",
        )
        .unwrap();
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                (
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                ),
            ))
        })
        .unwrap();
    for row in rows {
        let (seq, row): (i64, Row) = row.unwrap();
        // As first seen: compaction later rewrites bases of kept edits.
        history.entry(seq).or_insert(row);
    }
}

fn check(
    seed: u64,
    devices: &[Device],
    outsider: &Mutex<Book>,
    db: &std::path::Path,
    history: &Mutex<BTreeMap<i64, Row>>,
    bounded: &BTreeMap<String, String>,
) {
    let snaps: Vec<Value> = devices
        .iter()
        .map(|d| snapshot(&d.book.lock().unwrap()))
        .collect();
    for (i, s) in snaps.iter().enumerate().skip(1) {
        if s != &snaps[0] {
            let (a, b) = (
                snaps[0]["customers"].as_array().unwrap(),
                s["customers"].as_array().unwrap(),
            );
            let differing = a.iter().zip(b).find(|(x, y)| x != y);
            if let (Some((x, _)), Ok(_)) = (differing, std::env::var("SIM_DEBUG")) {
                let id = x["id"].as_str().unwrap();
                for (j, snap) in snaps.iter().enumerate() {
                    let has = snap["customers"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .find(|c| c["id"] == id);
                    let b = devices[j].book.lock().unwrap();
                    let conn = rusqlite::Connection::open(&devices[j].path).unwrap();
                    let mut stmt = conn
                        .prepare("SELECT field, hlc, base FROM field_clocks WHERE row_id = ?1")
                        .unwrap();
                    let clocks: Vec<String> = stmt
                        .query_map([id], |r| {
                            Ok(format!(
                                "{}={}",
                                r.get::<_, String>(0)?,
                                r.get::<_, String>(1)?
                            ))
                        })
                        .unwrap()
                        .map(|r| r.unwrap())
                        .collect();
                    eprintln!("device {j} clocks {clocks:?}");
                    let own: Vec<String> = b
                        .changes_since(0, usize::MAX)
                        .unwrap()
                        .into_iter()
                        .filter(|c| c.row_id == id)
                        .map(|c| {
                            format!("{}:{}:{:?}:{}:{:?}", c.seq, c.op, c.field, c.hlc, c.value)
                        })
                        .collect();
                    eprintln!(
                        "device {j} ({}): {} pending {} own {:?}",
                        b.device_id().simple(),
                        has.map(|c| format!("erased={} name={}", c["erased_at"], c["name"]))
                            .unwrap_or("absent".into()),
                        b.pending_changes().unwrap(),
                        own
                    );
                }
                let h = history.lock().unwrap();
                for (seq, r) in h.iter().filter(|(_, r)| r.2 == id) {
                    eprintln!(
                        "log {seq}: {} {} {} {:?} {:?}",
                        r.0,
                        r.1,
                        r.3,
                        r.4,
                        r.5.as_deref().map(|v| &v[..v.len().min(60)])
                    );
                }
            }
            panic!(
                "seed {seed}: device {i} differs from device 0 ({} vs {} customers); first difference:\n{}\n{}",
                a.len(),
                b.len(),
                differing.map(|d| d.0.to_string()).unwrap_or_default(),
                differing.map(|d| d.1.to_string()).unwrap_or_default()
            );
        }
    }
    for d in devices {
        assert_eq!(
            d.book.lock().unwrap().pending_changes().unwrap(),
            0,
            "seed {seed}: all sent"
        );
    }

    // The server's log of the store, with the stamps it kept.
    // Everything the log ever held: compaction clears replaced edits, but
    // the oracle needs every write to know which were replaced knowingly.
    let mut history = history.lock().unwrap();
    record_log(db, &mut history);
    let log: Vec<Row> = history.values().cloned().collect();
    let erased: BTreeSet<&str> = log
        .iter()
        .filter(|r| r.3 == "erase")
        .map(|r| r.2.as_str())
        .collect();

    // Every value written to a customer field: (customer, field) -> [(stamp, value, base)].
    let mut writes: BTreeMap<(String, String), Vec<Write>> = BTreeMap::new();
    let mut notes = BTreeSet::new();
    for (hlc, entity, row, op, field, value, base) in &log {
        if erased.contains(row.as_str()) {
            continue;
        }
        let value: Option<Value> = value.as_deref().map(|v| serde_json::from_str(v).unwrap());
        match (entity.as_str(), op.as_str()) {
            ("customer", "insert") => {
                for f in FIELDS.iter().chain(&["owner"]) {
                    if let Some(v) = value.as_ref().and_then(|v| v.get(*f)) {
                        writes
                            .entry((row.clone(), f.to_string()))
                            .or_default()
                            .push((hlc.clone(), v.clone(), None));
                    }
                }
            }
            ("customer", "set") => {
                let f = field.clone().unwrap();
                writes.entry((row.clone(), f)).or_default().push((
                    hlc.clone(),
                    value.unwrap(),
                    base.clone(),
                ));
            }
            ("note", "insert") => {
                // No value: wiped with its erased customer.
                let Some(customer) = value.as_ref().and_then(|v| v["customer_id"].as_str()) else {
                    continue;
                };
                let customer = customer.to_string();
                if !erased.contains(customer.as_str()) {
                    notes.insert((customer, row.clone()));
                }
            }
            _ => {}
        }
    }
    let book0 = devices[0].book.lock().unwrap();
    let mut checked_losses = 0;
    let by_id: BTreeMap<String, &Value> = snaps[0]["customers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["id"].as_str().unwrap().to_string(), c))
        .collect();
    for ((customer, field), ws) in &writes {
        let winner = ws.iter().max_by(|a, b| a.0.cmp(&b.0)).unwrap();
        let held = &by_id[customer][field.as_str()];
        assert_eq!(
            held, &winner.1,
            "seed {seed}: {customer}.{field} holds the newest value"
        );
        // A value that is not the winner and that no later edit knowingly
        // replaced lost to a concurrent edit: every replica keeps it.
        for (stamp, value, _) in ws {
            // A copied book sends its unsent edits again under its new
            // device ID: one edit, two stamps, one value (values never
            // repeat otherwise). Replacing either copy replaces the edit.
            // A copy of the book that missed the server's bounding of a
            // stamp names the edit by the stamp it first had.
            let copies: Vec<&str> = ws
                .iter()
                .filter(|w| &w.1 == value)
                .flat_map(|w| [Some(w.0.as_str()), bounded.get(&w.0).map(String::as_str)])
                .flatten()
                .collect();
            let replaced_knowingly = ws
                .iter()
                .any(|w| w.2.as_deref().is_some_and(|b| copies.contains(&b)));
            if stamp == &winner.0 || replaced_knowingly || value == &winner.1 {
                continue;
            }
            checked_losses += 1;
            let mut kept_somewhere = false;
            for (i, d) in devices.iter().enumerate() {
                let conflicts = if i == 0 {
                    book0.conflicts().unwrap()
                } else {
                    d.book.lock().unwrap().conflicts().unwrap()
                };
                let kept = conflicts.iter().any(|c| {
                    &c.row_id == customer
                        && &c.field == field
                        && serde_json::from_str::<Value>(&c.lost_value).ok().as_ref() == Some(value)
                });
                kept_somewhere |= kept;
                if !kept && !d.redownloaded && debug() {
                    eprintln!("writes {ws:?}");
                    let conn = rusqlite::Connection::open(db).unwrap();
                    let mut stmt = conn
                        .prepare("SELECT device_id, device_seq, hlc, base, seq FROM changes WHERE value = ?1 AND row_id = ?2")
                        .unwrap();
                    let rows = stmt
                        .query_map([value.to_string(), customer.clone()], |r| {
                            Ok(format!(
                                "{:?} {:?} {:?} {:?} {:?}",
                                r.get::<_, Option<String>>(0)?,
                                r.get::<_, Option<i64>>(1)?,
                                r.get::<_, String>(2)?,
                                r.get::<_, Option<String>>(3)?,
                                r.get::<_, i64>(4)?
                            ))
                        })
                        .unwrap();
                    for r in rows {
                        eprintln!("server has {}", r.unwrap());
                    }
                    for c in conflicts.iter().filter(|c| &c.row_id == customer) {
                        eprintln!("conflict on device {i}: {c:?}");
                    }
                }
                // A laptop that re-downloaded a compacted log may never have seen the value;
                // every other one keeps it.
                assert!(
                    kept || d.redownloaded,
                    "seed {seed}: device {i} lost {customer}.{field} = {value}"
                );
            }
            assert!(
                kept_somewhere,
                "seed {seed}: no device kept {customer}.{field} = {value}"
            );
        }
    }
    drop(book0);
    eprintln!(
        "seed {seed}: {} log entries, {} fields, {checked_losses} lost values kept, {} notes, {} erased",
        log.len(),
        writes.len(),
        notes.len(),
        erased.len()
    );
    for (i, d) in devices.iter().enumerate() {
        let b = d.book.lock().unwrap();
        for (customer, note) in &notes {
            let found = b.notes(customer).unwrap().iter().any(|n| &n.id == note);
            assert!(found, "seed {seed}: device {i} is missing note {note}");
        }
    }
    let o = snapshot(&outsider.lock().unwrap());
    assert_eq!(
        o["customers"].as_array().unwrap().len(),
        1,
        "seed {seed}: the other store sees only its own customer"
    );
}
