//! The fault and adversary suite: what a careless or hostile insider, a
//! buggy client or a restored backup does to sync, tried with the real
//! client over HTTP against the real server (port 0), on SQLite and on
//! PostgreSQL. Each test is a story that lost data or wedged a store before.

use chrono::{TimeZone, Utc};
use lighttouch_book::{Book, ManualClock, OpenMode};
use lighttouch_protocol::{paths, Role, PROTOCOL_HEADER};
use lighttouch_server::admin::Admin;
use lighttouch_server::storage::{
    PostgresStorage, ServerChange, SqliteStorage, Storage, FREE_ACCOUNT_FAILURES,
};
use lighttouch_sync_client::http::HttpTransport;
use lighttouch_sync_client::{engine, sync_once};
use lighttouch_sync_tests::{serve, snapshot, ServerClock};
use lighttouch_transfer::import::ImportOptions;
use serde_json::{json, Value};
use std::path::Path;
use std::sync::{Arc, Mutex};
use uuid::Uuid;

struct World {
    url: String,
    /// The storage's URL, to open it again (a second server process).
    db_url: String,
    admin: Admin,
    storage: Arc<dyn Storage>,
    http: HttpTransport,
    raw: reqwest::Client,
    server_clock: Arc<ServerClock>,
    store_id: i64,
    dir: tempfile::TempDir,
}

async fn storage(kind: &str, dir: &Path) -> Option<(Arc<dyn Storage>, String)> {
    if kind == "sqlite" {
        let path = dir.join("server.sqlite3");
        return Some((
            Arc::new(SqliteStorage::open(&path).unwrap()),
            format!("sqlite:{}", path.display()),
        ));
    }
    let Ok(url) = std::env::var("LIGHTTOUCH_TEST_POSTGRES") else {
        assert!(
            std::env::var("CI").is_err(),
            "CI runs the adversary suite on PostgreSQL: set LIGHTTOUCH_TEST_POSTGRES"
        );
        eprintln!("LIGHTTOUCH_TEST_POSTGRES is not set: PostgreSQL half skipped");
        return None;
    };
    let db_url = PostgresStorage::create_database_beside(&url).await.unwrap();
    Some((
        Arc::new(PostgresStorage::connect(&db_url).await.unwrap()),
        db_url,
    ))
}

async fn world(kind: &str) -> Option<World> {
    let dir = tempfile::tempdir().unwrap();
    let (storage, db_url) = storage(kind, dir.path()).await?;
    let clock = Arc::new(ServerClock(Mutex::new(
        Utc.with_ymd_and_hms(2026, 11, 24, 10, 0, 0).unwrap(),
    )));
    let admin = Admin::new(storage.clone(), clock.clone());
    let store = admin.add_store("test", "静安嘉里").await.unwrap();
    for (u, name) in [("xiaolin", "小林"), ("ajie", "阿杰")] {
        admin
            .add_user(
                "test",
                u,
                Some(name),
                "静安嘉里",
                Role::Associate,
                "password1",
            )
            .await
            .unwrap();
    }
    let url = serve(storage.clone(), clock.clone()).await;
    Some(World {
        url,
        db_url,
        admin,
        storage,
        http: HttpTransport::new().unwrap(),
        raw: reqwest::Client::new(),
        server_clock: clock,
        store_id: store.id,
        dir,
    })
}

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 24, 10, 0, 0).unwrap(),
    ))
}

impl World {
    fn book(&self, name: &str) -> Mutex<Book> {
        Mutex::new(
            Book::open(
                &self.dir.path().join(name),
                OpenMode::CreateIfMissing,
                clock(),
            )
            .unwrap(),
        )
    }

    fn reopen(&self, name: &str) -> Mutex<Book> {
        self.book(name)
    }

    /// Closes the book `name` (so its file is whole), copies the file to
    /// `to`, as one copies a laptop's book, and opens both.
    fn copy_closed(&self, book: Mutex<Book>, name: &str, to: &str) -> (Mutex<Book>, Mutex<Book>) {
        drop(book);
        std::fs::copy(self.dir.path().join(name), self.dir.path().join(to)).unwrap();
        (self.reopen(name), self.reopen(to))
    }

    async fn login(&self, b: &Mutex<Book>, user: &str) {
        engine::login(b, &self.http, &self.url, user, "password1", "laptop")
            .await
            .unwrap();
    }

    async fn sync(&self, b: &Mutex<Book>) -> lighttouch_sync_client::SyncReport {
        sync_once(b, &self.http).await.unwrap()
    }

    async fn call(&self, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
        self.call_at(&self.url, path, token, body).await
    }

    async fn call_at(
        &self,
        url: &str,
        path: &str,
        token: Option<&str>,
        body: Value,
    ) -> (u16, Value) {
        let mut r = self
            .raw
            .post(format!("{url}{path}"))
            .header(PROTOCOL_HEADER, "1")
            .json(&body);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        let resp = r.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    async fn token(&self, user: &str, device: Uuid) -> String {
        let (status, body) = self
            .call(
                paths::LOGIN,
                None,
                json!({"username": user, "password": "password1",
                       "device_id": device, "device_name": "script"}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["token"].as_str().unwrap().to_string()
    }
}

fn names(b: &Mutex<Book>) -> Vec<String> {
    let v = snapshot(&b.lock().unwrap());
    let mut out: Vec<String> = v["customers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap_or("").to_string())
        .collect();
    out.sort();
    out
}

fn add(b: &Mutex<Book>, name: &str) {
    b.lock()
        .unwrap()
        .add_customer(&[("name", name)], false)
        .unwrap();
}

fn stamp(node: u128, n: u32) -> String {
    format!("1795000000000-{n:06}-{node:032x}")
}

macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(w) = super::world("sqlite").await {
                        super::$name(w).await;
                    }
                }
            )*
        }
        mod on_postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(w) = super::world("postgres").await {
                        super::$name(w).await;
                    }
                }
            )*
        }
    };
}

on_both!(
    wrong_values_are_refused_alone_and_the_store_keeps_syncing,
    a_change_no_book_can_apply_is_kept_aside_and_never_fetched_again,
    a_book_restored_from_a_backup_loses_nothing_either_way,
    a_copied_book_beside_its_original_keeps_both_histories,
    a_copy_that_syncs_first_is_not_lost_to_the_original,
    a_resent_change_keeps_its_bounded_stamp_for_the_edit_after_it,
    someone_elses_device_id_is_never_taken_over,
    a_forged_cursor_moves_nothing,
    guesses_are_counted_before_the_password_and_slow_down,
    an_insiders_own_good_logins_do_not_clear_their_address,
    two_server_processes_share_one_count,
    a_password_reset_ends_every_session,
);

/// A buggy client pushes a customer with no name and a purchase with half a
/// piece: before, every colleague's sync then failed for good.
async fn wrong_values_are_refused_alone_and_the_store_keeps_syncing(w: World) {
    let a = w.book("a.sqlite3");
    w.login(&a, "xiaolin").await;
    add(&a, "王芳");
    w.sync(&a).await;
    let token = w.token("ajie", Uuid::now_v7()).await;
    let node = 0xb0b;
    let (status, body) = w
        .call(
            paths::PUSH,
            Some(&token),
            json!({"changes": [
                {"seq": 1, "hlc": stamp(node, 1), "entity": "customer", "row_id": "c-bad", "op": "insert",
                 "value": {"name": null, "created_at": "2026-11-24T10:00:00Z"}},
                {"seq": 2, "hlc": stamp(node, 2), "entity": "purchase", "row_id": "p-bad", "op": "insert",
                 "value": {"customer_id": "c-bad", "purchased_on": "2026-11-24", "product": "戒指",
                           "quantity": 0.5, "created_at": "2026-11-24T10:00:00Z"}},
                {"seq": 3, "hlc": stamp(node, 3), "entity": "customer", "row_id": "c-good", "op": "insert",
                 "value": {"name": "李娜", "created_at": "2026-11-24T10:00:00Z"}},
                {"seq": 4, "hlc": stamp(node, 4), "entity": "customer", "row_id": "c-good", "op": "set",
                 "field": "password", "value": "x"},
                // Names a customer the store never had: no book could apply it.
                {"seq": 5, "hlc": stamp(node, 5), "entity": "note", "row_id": "n-orphan", "op": "insert",
                 "value": {"customer_id": "c-nobody", "body": "孤儿", "created_at": "2026-11-24T10:00:00Z"}},
                {"seq": 6, "hlc": stamp(node, 6), "entity": "customer", "row_id": "c-nobody", "op": "set",
                 "field": "ring_size", "value": "12"},
                // A note of the customer inserted above, in the same push: fine.
                {"seq": 7, "hlc": stamp(node, 7), "entity": "note", "row_id": "n-good", "op": "insert",
                 "value": {"customer_id": "c-good", "body": "好", "created_at": "2026-11-24T10:00:00Z"}},
            ]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["applied_through"], 7);
    let refused: Vec<i64> = body["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(refused, vec![1, 2, 4, 5, 6], "{body}");
    assert_eq!(body["rejected"][3]["code"], "not_found", "{body}");
    assert!(body["rejected"][0]["message"]
        .as_str()
        .unwrap()
        .contains("customer.name"));
    // Every colleague, and a new laptop, still syncs and gets the good one.
    w.sync(&a).await;
    assert_eq!(names(&a), vec!["李娜", "王芳"]);
    let fresh = w.book("fresh.sqlite3");
    w.login(&fresh, "ajie").await;
    w.sync(&fresh).await;
    assert_eq!(names(&fresh), vec!["李娜", "王芳"]);
    assert_eq!(fresh.lock().unwrap().sync_status().unwrap().quarantined, 0);
}

/// A change that slipped into the log (an older server took it) cannot stop
/// a book: it is kept aside, counted, and the rest of the page applies.
async fn a_change_no_book_can_apply_is_kept_aside_and_never_fetched_again(w: World) {
    let hlc = stamp(0xdead, 1);
    w.storage
        .append_server_changes(
            w.store_id,
            vec![
                ServerChange {
                    hlc: hlc.clone(),
                    entity: "customer".into(),
                    row_id: "c-null".into(),
                    op: "insert".into(),
                    field: None,
                    value: Some(json!({"name": null, "created_at": "t"}).to_string()),
                    base: None,
                },
                ServerChange {
                    hlc: stamp(0xdead, 2),
                    entity: "customer".into(),
                    row_id: "c-ok".into(),
                    op: "insert".into(),
                    field: None,
                    value: Some(json!({"name": "陈静", "created_at": "t"}).to_string()),
                    base: None,
                },
            ],
            Utc::now(),
        )
        .await
        .unwrap();
    let b = w.book("b.sqlite3");
    w.login(&b, "ajie").await;
    let first = w.sync(&b).await;
    assert_eq!(first.pulled, 2);
    assert_eq!(names(&b), vec!["陈静"]);
    let status = b.lock().unwrap().sync_status().unwrap();
    assert_eq!(status.quarantined, 1);
    assert!(status.last_error.is_none());
    let kept = b.lock().unwrap().quarantined_changes().unwrap();
    assert_eq!(
        (kept[0].direction.as_str(), kept[0].row_id.as_str()),
        ("in", "c-null")
    );
    assert_eq!(w.sync(&b).await.pulled, 0, "not fetched again");
}

/// Add X, sync; back up; add Y0–Y2, sync; restore; add Z, sync. Before, the
/// restored book lost the Ys and the colleague never got Z.
async fn a_book_restored_from_a_backup_loses_nothing_either_way(w: World) {
    let a = w.book("a.sqlite3");
    let b = w.book("b.sqlite3");
    w.login(&a, "xiaolin").await;
    w.login(&b, "ajie").await;
    add(&a, "X");
    w.sync(&a).await;
    drop(a);
    let path = w.dir.path().join("a.sqlite3");
    let backup = w.dir.path().join("backup.sqlite3");
    std::fs::copy(&path, &backup).unwrap();
    let a = w.reopen("a.sqlite3");
    for y in ["Y0", "Y1", "Y2"] {
        add(&a, y);
    }
    w.sync(&a).await;
    drop(a);
    std::fs::copy(&backup, &path).unwrap();
    let a = w.reopen("a.sqlite3");
    add(&a, "Z");
    let report = w.sync(&a).await;
    assert!(report.continued_as_new_device, "{report:?}");
    w.sync(&b).await;
    w.sync(&a).await;
    let all = vec!["X", "Y0", "Y1", "Y2", "Z"];
    assert_eq!(names(&a), all);
    assert_eq!(names(&b), all);
    assert_eq!(snapshot(&a.lock().unwrap()), snapshot(&b.lock().unwrap()));
    assert_eq!(a.lock().unwrap().sync_status().unwrap().pending, 0);
}

/// The same book copied to a second laptop: both run, both sync.
async fn a_copied_book_beside_its_original_keeps_both_histories(w: World) {
    let a = w.book("a.sqlite3");
    w.login(&a, "xiaolin").await;
    add(&a, "共同");
    w.sync(&a).await;
    let (a, copy) = w.copy_closed(a, "a.sqlite3", "copy.sqlite3");
    add(&a, "原本");
    add(&copy, "副本");
    // Same edit of one field on both, at the same moment: distinct stamps after.
    for (book, size) in [(&a, "11"), (&copy, "13")] {
        let mut bk = book.lock().unwrap();
        let id = bk.search("共同", 1).unwrap()[0].id.clone();
        bk.edit_customer(&id, &[("ring_size", size)]).unwrap();
    }
    w.sync(&a).await;
    assert!(w.sync(&copy).await.continued_as_new_device);
    w.sync(&a).await;
    w.sync(&copy).await;
    assert_eq!(names(&a), vec!["共同", "副本", "原本"]);
    assert_eq!(
        snapshot(&a.lock().unwrap()),
        snapshot(&copy.lock().unwrap())
    );
    assert_ne!(
        a.lock().unwrap().device_id(),
        copy.lock().unwrap().device_id()
    );
}

/// The copy syncs first, under the shared device ID; the original then
/// pulls (its "own" changes are skipped) before it has anything to push.
/// When it later diverges and continues as a new device, it must still
/// fetch what the copy sent: its cursor had already passed those changes.
async fn a_copy_that_syncs_first_is_not_lost_to_the_original(w: World) {
    let a = w.book("a.sqlite3");
    let b = w.book("b.sqlite3");
    w.login(&a, "xiaolin").await;
    w.login(&b, "ajie").await;
    add(&a, "共同");
    w.sync(&a).await;
    let (a, copy) = w.copy_closed(a, "a.sqlite3", "copy.sqlite3");
    add(&copy, "副本");
    assert!(!w.sync(&copy).await.continued_as_new_device);
    w.sync(&a).await; // nothing to push; the copy's change looks like its own
    add(&a, "原本");
    assert!(w.sync(&a).await.continued_as_new_device);
    w.sync(&copy).await;
    w.sync(&b).await;
    let all = vec!["共同", "副本", "原本"];
    assert_eq!(names(&a), all);
    assert_eq!(names(&copy), all);
    assert_eq!(names(&b), all);
    assert_eq!(snapshot(&a.lock().unwrap()), snapshot(&b.lock().unwrap()));
}

/// A push whose answer was lost goes again, later, with one more change: an
/// edit of the row the first change created. The server had bounded the
/// first change's stamp (its clock ran ahead); sent again it keeps the stamp
/// stored the first time, and the edit names that one. Before, the edit
/// named a stamp the server never kept, and every book saw it as an edit
/// made without knowing the value it replaced: a false conflict.
async fn a_resent_change_keeps_its_bounded_stamp_for_the_edit_after_it(w: World) {
    let token = w.token("ajie", Uuid::now_v7()).await;
    let ahead = |n: u32| format!("1900000000000-{n:06}-{:032x}", 0xabc);
    let insert = json!({"seq": 1, "hlc": ahead(1), "entity": "customer", "row_id": "c-ahead",
        "op": "insert", "value": {"name": "王芳", "created_at": "2026-11-24T10:00:00Z"}});
    let (status, first) = w
        .call(
            paths::PUSH,
            Some(&token),
            json!({"changes": [insert.clone()]}),
        )
        .await;
    assert_eq!(status, 200, "{first}");
    let kept = first["restamped"][0]["hlc"].clone();
    assert!(kept.is_string(), "bounded: {first}");
    *w.server_clock.0.lock().unwrap() += chrono::Duration::minutes(3);
    let edit = json!({"seq": 2, "hlc": ahead(2), "entity": "customer", "row_id": "c-ahead",
        "op": "set", "field": "ring_size", "value": "12", "base": ahead(1)});
    let (status, second) = w
        .call(
            paths::PUSH,
            Some(&token),
            json!({"changes": [insert, edit]}),
        )
        .await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(second["restamped"][0]["hlc"], kept, "{second}");
    let b = w.book("b.sqlite3");
    w.login(&b, "xiaolin").await;
    w.sync(&b).await;
    let mut b = b.lock().unwrap();
    assert_eq!(
        b.conflicts().unwrap(),
        vec![],
        "no edit here was made blind"
    );
    let id = b.search("王芳", 1).unwrap()[0].id.clone();
    assert_eq!(b.customer(&id).unwrap().ring_size.as_deref(), Some("12"));
}

/// Device IDs are in every stamp; signing in with someone else's used to
/// rebind it, and the rightful laptop's edits were then skipped unseen.
async fn someone_elses_device_id_is_never_taken_over(w: World) {
    let a = w.book("a.sqlite3");
    let b = w.book("b.sqlite3");
    w.login(&a, "xiaolin").await;
    w.login(&b, "ajie").await;
    let victim = a.lock().unwrap().device_id();
    let (status, body) = w
        .call(
            paths::LOGIN,
            None,
            json!({"username": "ajie", "password": "password1",
                   "device_id": victim, "device_name": "mine now"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_ne!(body["device_id"].as_str().unwrap(), victim.to_string());
    let theirs = body["token"].as_str().unwrap().to_string();
    // The intruder pushes as "seq 1" under the ID it was given, not the victim's.
    let (status, _) = w
        .call(
            paths::PUSH,
            Some(&theirs),
            json!({"changes": [{"seq": 1, "hlc": stamp(0xabc, 1), "entity": "customer",
                   "row_id": "c-i", "op": "insert", "value": {"name": "假", "created_at": "t"}}]}),
        )
        .await;
    assert_eq!(status, 200);
    add(&a, "真");
    w.sync(&a).await;
    assert_eq!(a.lock().unwrap().sync_status().unwrap().pending, 0);
    w.sync(&b).await;
    assert!(names(&b).contains(&"真".to_string()), "{:?}", names(&b));
    // A revoked device signing in again is a new device; revocation stays.
    w.admin.revoke_device("manager", victim).await.unwrap();
    w.login(&a, "xiaolin").await;
    assert_ne!(a.lock().unwrap().device_id(), victim);
    let devices = w.admin.devices(None).await.unwrap();
    assert!(devices
        .iter()
        .any(|d| d.device_id == victim && d.revoked_at.is_some()));
    add(&a, "之后");
    w.sync(&a).await;
    w.sync(&b).await;
    assert!(names(&b).contains(&"之后".to_string()));
}

/// A device claiming a cursor far ahead used to move the compaction horizon
/// past the log's end; from then on every device re-downloaded everything
/// at every pull.
async fn a_forged_cursor_moves_nothing(w: World) {
    let a = w.book("a.sqlite3");
    let b = w.book("b.sqlite3");
    w.login(&a, "xiaolin").await;
    w.login(&b, "ajie").await;
    for n in ["甲", "乙", "丙"] {
        add(&a, n);
    }
    w.sync(&a).await;
    w.sync(&b).await;
    let token = w.token("ajie", Uuid::now_v7()).await;
    let (status, page) = w
        .call(
            paths::PULL,
            Some(&token),
            json!({"cursor": "v1.999999999.0"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(page["reset"], true, "not believed: {page}");
    // The forger's is the only active device when the manager compacts.
    for book in [&a, &b] {
        let id = book.lock().unwrap().device_id();
        w.admin.revoke_device("manager", id).await.unwrap();
    }
    let c = w.admin.compact("test", Some("静安嘉里")).await.unwrap();
    assert!(c[0].horizon <= 3, "horizon {} beyond the log", c[0].horizon);
    // A new laptop syncs once, and then has nothing more to fetch.
    let fresh = w.book("fresh.sqlite3");
    w.login(&fresh, "xiaolin").await;
    assert!(w.sync(&fresh).await.pulled >= 3);
    assert_eq!(
        w.sync(&fresh).await.pulled,
        0,
        "no re-download at every pull"
    );
    assert_eq!(names(&fresh), vec!["丙", "乙", "甲"]);
}

/// Forty guesses at once all reached the password check; now at most the
/// free few do, then each must wait, and the owner is slowed, not shut out.
async fn guesses_are_counted_before_the_password_and_slow_down(w: World) {
    let checked = guess_in_parallel(&w, &[w.url.as_str()], 40).await;
    assert!(
        checked <= FREE_ACCOUNT_FAILURES,
        "{checked} guesses reached the password check"
    );
    // The owner, right now, is asked to wait…
    let (status, body) = w
        .call(
            paths::LOGIN,
            None,
            json!({"username": "xiaolin", "password": "password1",
                   "device_id": Uuid::now_v7(), "device_name": "x"}),
        )
        .await;
    assert_eq!((status, body["code"].as_str()), (429, Some("rate_limited")));
    assert!(body["retry_after_secs"].as_u64().unwrap() >= 1);
    // …and gets in once the wait is over.
    *w.server_clock.0.lock().unwrap() += chrono::Duration::seconds(301);
    w.token("xiaolin", Uuid::now_v7()).await;
    // A huge username costs nothing to refuse.
    let (status, _) = w
        .call(
            paths::LOGIN,
            None,
            json!({"username": "x".repeat(4 << 20), "password": "p",
                   "device_id": Uuid::now_v7(), "device_name": "x"}),
        )
        .await;
    assert_eq!(status, 400);
}

async fn a_password_reset_ends_every_session(w: World) {
    let a = w.book("a.sqlite3");
    w.login(&a, "xiaolin").await;
    w.sync(&a).await;
    w.admin
        .set_password("manager", "xiaolin", "another-pass")
        .await
        .unwrap();
    add(&a, "之后");
    let err = sync_once(&a, &w.http).await.unwrap_err();
    assert_eq!(err.code(), "unauthorized");
    assert_eq!(a.lock().unwrap().sync_status().unwrap().pending, 1);
}

#[test]
fn an_imported_note_over_the_limit_is_refused_with_its_line() {
    let mut b = Book::open_in_memory(clock()).unwrap();
    let long = "长".repeat(20_001);
    let csv = format!("姓名,手机,备注\n张伟,13800138000,短备注\n李娜,13900139000,{long}\n");
    let err = lighttouch_transfer::import::import_customers(
        &mut b,
        csv.as_bytes(),
        ImportOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("line 3"), "{err}");
    assert_eq!(b.customer_count().unwrap(), 0, "nothing half-written");
}

fn login_body(user: &str, password: &str) -> Value {
    json!({"username": user, "password": password,
           "device_id": Uuid::now_v7(), "device_name": "x"})
}

/// An insider guessing other accounts from the store's laptop, with a good
/// login to their own account between guesses, used to reset the address's
/// count every time: now their own login takes back only its own count.
async fn an_insiders_own_good_logins_do_not_clear_their_address(w: World) {
    let mut limited_at = None;
    for i in 0..40 {
        let (status, _) = w
            .call(
                paths::LOGIN,
                None,
                login_body(&format!("victim{i}"), "guess-pass"),
            )
            .await;
        if status == 429 {
            limited_at = Some(i);
            break;
        }
        assert_eq!(status, 401);
        let (status, _) = w
            .call(paths::LOGIN, None, login_body("ajie", "password1"))
            .await;
        if status == 429 {
            limited_at = Some(i);
            break;
        }
        assert_eq!(status, 200);
    }
    let at = limited_at.expect("the address was never slowed down");
    assert!(
        at as i64 <= lighttouch_server::storage::FREE_ADDRESS_FAILURES,
        "slowed only after {at} guesses"
    );
}

/// Several server processes over one database: guesses spread over both
/// are counted together.
async fn two_server_processes_share_one_count(w: World) {
    let second = lighttouch_server::storage::open(&w.db_url).await.unwrap();
    let second_url = serve(second, w.server_clock.clone()).await;
    let checked = guess_in_parallel(&w, &[w.url.as_str(), second_url.as_str()], 30).await;
    assert!(
        checked <= FREE_ACCOUNT_FAILURES,
        "{checked} guesses reached a password check across two servers"
    );
    let (status, _) = w
        .call_at(
            &second_url,
            paths::LOGIN,
            None,
            login_body("xiaolin", "password1"),
        )
        .await;
    assert_eq!(
        status, 429,
        "the second server knows of the first's failures"
    );
}

/// `n` wrong passwords for xiaolin at once, spread over `servers`: how many
/// reached a password check (401) rather than being told to wait (429).
async fn guess_in_parallel(w: &World, servers: &[&str], n: usize) -> i64 {
    let mut tasks = Vec::new();
    for i in 0..n {
        let url = servers[i % servers.len()].to_string();
        let raw = w.raw.clone();
        tasks.push(tokio::spawn(async move {
            raw.post(format!("{url}{}", paths::LOGIN))
                .header(PROTOCOL_HEADER, "1")
                .json(&login_body("xiaolin", &format!("guess{i}xx")))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    let mut checked = 0;
    for t in tasks {
        match t.await.unwrap() {
            401 => checked += 1,
            429 => {}
            other => panic!("unexpected {other}"),
        }
    }
    checked
}
