//! One storage suite, run against SQLite and against PostgreSQL.
//!
//! PostgreSQL runs when `LIGHTTOUCH_TEST_POSTGRES` names a server
//! (`scripts/test` starts one); each test gets its own database. Under CI
//! (`CI=true`) a missing server is a failure, never a silent skip.

use chrono::{DateTime, TimeZone, Utc};
use lighttouch_protocol::Role;
use lighttouch_server::storage::*;
use std::sync::Arc;
use uuid::Uuid;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, 10, 0, 0).unwrap()
}

async fn sqlite() -> (Arc<dyn Storage>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStorage::open(&dir.path().join("s.sqlite3")).unwrap();
    (Arc::new(s), dir)
}

async fn postgres() -> Option<Arc<dyn Storage>> {
    let Ok(url) = std::env::var("LIGHTTOUCH_TEST_POSTGRES") else {
        assert!(
            std::env::var("CI").is_err(),
            "CI must run the PostgreSQL storage suite: set LIGHTTOUCH_TEST_POSTGRES"
        );
        eprintln!("LIGHTTOUCH_TEST_POSTGRES is not set: PostgreSQL half skipped");
        return None;
    };
    let db_url = PostgresStorage::create_database_beside(&url).await.unwrap();
    Some(Arc::new(PostgresStorage::connect(&db_url).await.unwrap()))
}

macro_rules! suite {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let (s, _dir) = super::sqlite().await;
                    super::$name(s).await;
                }
            )*
        }
        mod on_postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    if let Some(s) = super::postgres().await {
                        super::$name(s).await;
                    }
                }
            )*
        }
    };
}

suite!(
    accounts_are_unique_and_named_errors_come_back,
    devices_belong_to_one_store_and_revoked_tokens_stop_working,
    a_push_is_stored_once_in_order_and_gaps_are_refused,
    pulls_page_through_the_store_and_hq_logs_without_own_changes,
    an_erasure_wipes_earlier_and_later_values,
    ownership_follows_the_newest_stamp_and_server_changes,
    the_audit_log_keeps_every_action,
    concurrent_pushes_never_make_a_pull_skip_a_change,
    compaction_waits_for_every_device_and_a_late_one_redownloads,
    compaction_keeps_a_concurrent_loser_and_the_chain_of_bases,
);

fn ring_size(seq: i64, hlc: String, row: &str, v: &str) -> IncomingChange {
    change(
        seq,
        hlc,
        "customer",
        row,
        "set",
        Some("ring_size"),
        Some(serde_json::json!(v)),
    )
}

fn stamp(millis: i64, counter: u32, node: u128) -> String {
    format!("{millis:013}-{counter:06}-{:032x}", node)
}

fn change(
    seq: i64,
    hlc: String,
    entity: &str,
    row: &str,
    op: &str,
    field: Option<&str>,
    value: Option<serde_json::Value>,
) -> IncomingChange {
    IncomingChange {
        seq,
        digest: format!("k{seq}{hlc}:"),
        verdict: Verdict::Log,
        hlc,
        entity: entity.into(),
        row_id: row.into(),
        op: op.into(),
        field: field.map(str::to_string),
        value: value.map(|v| v.to_string()),
        base: None,
    }
}

/// A device pushing as a manager (no ownership rules in the way).
fn pusher(device: Uuid, store_id: i64) -> DeviceAuth {
    DeviceAuth {
        device_id: device,
        user_id: 0,
        username: "m".into(),
        display_name: "M".into(),
        role: Role::Manager,
        store_id,
        store: String::new(),
    }
}

struct Setup {
    store: StoreRow,
    other: StoreRow,
    device: Uuid,
    colleague: Uuid,
    outsider: Uuid,
}

async fn setup(s: &dyn Storage) -> Setup {
    let store = s.create_store("静安嘉里", now()).await.unwrap();
    let other = s.create_store("国金", now()).await.unwrap();
    let mut devices = Vec::new();
    for (user, st) in [("a", "静安嘉里"), ("b", "静安嘉里"), ("o", "国金")] {
        let u = s
            .create_user(
                &NewUser {
                    username: user.into(),
                    display_name: user.to_uppercase(),
                    role: Role::Associate,
                    store: st.into(),
                    password_hash: "h".into(),
                },
                now(),
            )
            .await
            .unwrap();
        let d = Uuid::now_v7();
        s.register_device(
            d,
            Uuid::now_v7(),
            u.id,
            "laptop",
            &format!("token-{user}"),
            now(),
        )
        .await
        .unwrap();
        devices.push(d);
    }
    Setup {
        store,
        other,
        device: devices[0],
        colleague: devices[1],
        outsider: devices[2],
    }
}

async fn accounts_are_unique_and_named_errors_come_back(s: Arc<dyn Storage>) {
    s.create_store("静安嘉里", now()).await.unwrap();
    assert!(matches!(
        s.create_store("静安嘉里", now()).await,
        Err(StorageError::Conflict(_))
    ));
    let new = |store: &str| NewUser {
        username: "xiaolin".into(),
        display_name: "小林".into(),
        role: Role::Manager,
        store: store.into(),
        password_hash: "h1".into(),
    };
    assert!(matches!(
        s.create_user(&new("没有"), now()).await,
        Err(StorageError::NotFound(_))
    ));
    let u = s.create_user(&new("静安嘉里"), now()).await.unwrap();
    assert_eq!(
        (u.display_name.as_str(), u.role, u.store.as_str()),
        ("小林", Role::Manager, "静安嘉里")
    );
    assert!(matches!(
        s.create_user(&new("静安嘉里"), now()).await,
        Err(StorageError::Conflict(_))
    ));
    s.set_password("xiaolin", "h2", None).await.unwrap();
    assert_eq!(
        s.user("xiaolin").await.unwrap().unwrap().password_hash,
        "h2"
    );
    assert!(s.user("nobody").await.unwrap().is_none());
    assert!(matches!(
        s.set_password("nobody", "h", None).await,
        Err(StorageError::NotFound(_))
    ));
    assert_eq!(s.users().await.unwrap().len(), 1);
}

async fn devices_belong_to_one_store_and_revoked_tokens_stop_working(s: Arc<dyn Storage>) {
    let x = setup(s.as_ref()).await;
    let auth = s.device_by_token("token-a", now()).await.unwrap().unwrap();
    assert_eq!(
        (auth.device_id, auth.store_id, auth.username.as_str()),
        (x.device, x.store.id, "a")
    );
    assert!(s
        .device_by_token("token-zzz", now())
        .await
        .unwrap()
        .is_none());
    // The same book signing in again gets a new token; the old one stops working.
    let a = s.user("a").await.unwrap().unwrap();
    s.register_device(x.device, Uuid::now_v7(), a.id, "laptop", "token-a2", now())
        .await
        .unwrap();
    assert!(s.device_by_token("token-a", now()).await.unwrap().is_none());
    assert!(s
        .device_by_token("token-a2", now())
        .await
        .unwrap()
        .is_some());
    // A book of one store cannot sign in to another.
    let o = s.user("o").await.unwrap().unwrap();
    assert!(matches!(
        s.register_device(x.device, Uuid::now_v7(), o.id, "laptop", "token-x", now())
            .await,
        Err(StorageError::Conflict(_))
    ));
    let listed = s.devices(Some(x.store.id)).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().all(|d| d.store == "静安嘉里"));
    assert_eq!(s.devices(None).await.unwrap().len(), 3);
    assert!(s.revoke_device(x.colleague, now()).await.unwrap());
    assert!(!s.revoke_device(Uuid::now_v7(), now()).await.unwrap());
    assert!(s.device_by_token("token-b", now()).await.unwrap().is_none());
    // Signing out ends the session; the device stays, and signs in again as itself.
    s.end_session("token-a2").await.unwrap();
    assert!(s
        .device_by_token("token-a2", now())
        .await
        .unwrap()
        .is_none());
    let again = s
        .register_device(x.device, Uuid::now_v7(), a.id, "laptop", "token-a3", now())
        .await
        .unwrap();
    assert_eq!(again, x.device);
    // A colleague naming a's device ID gets a device of their own; a keeps theirs.
    let b = s.user("b").await.unwrap().unwrap();
    let fresh = Uuid::now_v7();
    let taken = s
        .register_device(x.device, fresh, b.id, "laptop", "token-b-takeover", now())
        .await
        .unwrap();
    assert_eq!(taken, fresh, "never rebound to someone else");
    let still = s.device_by_token("token-a3", now()).await.unwrap().unwrap();
    assert_eq!((still.device_id, still.username.as_str()), (x.device, "a"));
    let theirs = s
        .device_by_token("token-b-takeover", now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((theirs.device_id, theirs.username.as_str()), (fresh, "b"));
    // A revoked device stays revoked: signing in again gives a new ID.
    let fresh = Uuid::now_v7();
    let back = s
        .register_device(x.colleague, fresh, b.id, "laptop", "token-b2", now())
        .await
        .unwrap();
    assert_eq!(back, fresh);
    let listed = s.devices(Some(x.store.id)).await.unwrap();
    assert!(listed
        .iter()
        .any(|d| d.device_id == x.colleague && d.revoked_at.is_some()));
    let _ = x.other;
}

fn customer_insert(seq: i64, t: i64, id: &str, owner: &str) -> IncomingChange {
    change(
        seq,
        stamp(t, 0, 1),
        "customer",
        id,
        "insert",
        None,
        Some(serde_json::json!({"name": id, "owner": owner})),
    )
}

async fn a_push_is_stored_once_in_order_and_gaps_are_refused(s: Arc<dyn Storage>) {
    let x = setup(s.as_ref()).await;
    let batch: Vec<_> = (1..=3)
        .map(|i| customer_insert(i, 1000 + i, &format!("c{i}"), "A"))
        .collect();
    let out = s
        .push(&pusher(x.device, x.store.id), batch.clone(), now())
        .await
        .unwrap();
    assert_eq!(out.applied_through, 3);
    assert_eq!(out.stored_stamps.len(), 3);
    let again = s
        .push(&pusher(x.device, x.store.id), batch, now())
        .await
        .unwrap();
    assert_eq!(again.applied_through, 3, "a retry is acknowledged");
    let page = s
        .pull(x.store.id, x.colleague, Cursor::default(), 100, None)
        .await
        .unwrap();
    assert_eq!(page.changes.len(), 3, "and stored once");
    let gap = s
        .push(
            &pusher(x.device, x.store.id),
            vec![customer_insert(6, 1006, "c6", "A")],
            now(),
        )
        .await;
    assert!(
        matches!(gap, Err(StorageError::Gap { expected: 4 })),
        "{gap:?}"
    );
    // A batch overlapping what is stored applies only the new part.
    let overlap = vec![
        customer_insert(3, 1003, "c3", "A"),
        customer_insert(4, 1004, "c4", "A"),
    ];
    assert_eq!(
        s.push(&pusher(x.device, x.store.id), overlap, now())
            .await
            .unwrap()
            .applied_through,
        4
    );
    let page = s
        .pull(x.store.id, x.colleague, Cursor::default(), 100, None)
        .await
        .unwrap();
    let rows: Vec<&str> = page.changes.iter().map(|c| c.row_id.as_str()).collect();
    assert_eq!(rows, vec!["c1", "c2", "c3", "c4"]);
}

async fn pulls_page_through_the_store_and_hq_logs_without_own_changes(s: Arc<dyn Storage>) {
    let x = setup(s.as_ref()).await;
    let batch: Vec<_> = (1..=10)
        .map(|i| customer_insert(i, 1000 + i, &format!("c{i}"), "A"))
        .collect();
    s.push(&pusher(x.device, x.store.id), batch, now())
        .await
        .unwrap();
    let content = |i: u32| ServerChange {
        hlc: stamp(2000, i, 9),
        entity: "content_item".into(),
        row_id: format!("p{i}"),
        op: "insert".into(),
        field: None,
        value: Some(serde_json::json!({"title": "新品"}).to_string()),
        base: None,
    };
    s.append_server_changes(HQ_STREAM, (1..=3).map(content).collect(), now())
        .await
        .unwrap();
    let mut cursor = Cursor::default();
    let mut seen = Vec::new();
    loop {
        let page = s
            .pull(x.store.id, x.colleague, cursor, 4, None)
            .await
            .unwrap();
        assert!(page.changes.len() <= 4);
        seen.extend(page.changes.iter().map(|c| c.row_id.clone()));
        cursor = page.cursor;
        assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor));
        if !page.more {
            break;
        }
    }
    assert_eq!(seen.len(), 13, "{seen:?}");
    assert_eq!(
        &seen[..3],
        &["p1", "p2", "p3"],
        "HQ content first: drafts may name it"
    );
    // Nothing new: an empty page at the same cursor.
    let page = s
        .pull(x.store.id, x.colleague, cursor, 4, None)
        .await
        .unwrap();
    assert!(page.changes.is_empty() && !page.more);
    assert_eq!(page.cursor, cursor);
    // The pushing device gets only the HQ content; the other store gets only HQ content too.
    let own = s
        .pull(x.store.id, x.device, Cursor::default(), 100, None)
        .await
        .unwrap();
    assert_eq!(own.changes.len(), 3);
    let other = s
        .pull(x.other.id, x.outsider, Cursor::default(), 100, None)
        .await
        .unwrap();
    assert!(other.changes.iter().all(|c| c.entity == "content_item"));
}

async fn an_erasure_wipes_earlier_and_later_values(s: Arc<dyn Storage>) {
    let x = setup(s.as_ref()).await;
    let note = change(
        2,
        stamp(1002, 0, 1),
        "note",
        "n1",
        "insert",
        None,
        Some(serde_json::json!({"customer_id": "c1", "body": "隐私"})),
    );
    let edit = change(
        3,
        stamp(1003, 0, 1),
        "note",
        "n1",
        "set",
        Some("body"),
        Some(serde_json::json!("更隐私")),
    );
    let erase = change(4, stamp(1004, 0, 1), "customer", "c1", "erase", None, None);
    s.push(
        &pusher(x.device, x.store.id),
        vec![customer_insert(1, 1001, "c1", "A"), note, edit, erase],
        now(),
    )
    .await
    .unwrap();
    // The colleague, offline, wrote a note about the customer before hearing of the erasure.
    let late = change(
        1,
        stamp(1005, 0, 2),
        "note",
        "n2",
        "insert",
        None,
        Some(serde_json::json!({"customer_id": "c1", "body": "后来的"})),
    );
    s.push(&pusher(x.colleague, x.store.id), vec![late], now())
        .await
        .unwrap();
    let page = s
        .pull(x.store.id, x.outsider, Cursor::default(), 100, None)
        .await
        .unwrap();
    let _ = page; // the outsider's store has nothing of this
    let fresh = Uuid::now_v7();
    let all = s
        .pull(x.store.id, fresh, Cursor::default(), 100, None)
        .await
        .unwrap();
    assert_eq!(all.changes.len(), 5);
    for c in &all.changes {
        assert!(c.value.is_none(), "{c:?} still carries personal data");
    }
    assert!(s
        .customers_owned_by(x.store.id, "A", &[])
        .await
        .unwrap()
        .is_empty());
}

async fn ownership_follows_the_newest_stamp_and_server_changes(s: Arc<dyn Storage>) {
    let x = setup(s.as_ref()).await;
    s.push(
        &pusher(x.device, x.store.id),
        vec![
            customer_insert(1, 1001, "c1", "A"),
            customer_insert(2, 1002, "c2", "A"),
        ],
        now(),
    )
    .await
    .unwrap();
    // An older owner edit arriving late does not win.
    let stale = change(
        1,
        stamp(900, 0, 2),
        "customer",
        "c2",
        "set",
        Some("owner"),
        Some(serde_json::json!("B")),
    );
    s.push(&pusher(x.colleague, x.store.id), vec![stale], now())
        .await
        .unwrap();
    let owned = s.customers_owned_by(x.store.id, "A", &[]).await.unwrap();
    assert_eq!(
        owned.iter().map(|(c, _)| c.as_str()).collect::<Vec<_>>(),
        vec!["c1", "c2"]
    );
    assert_eq!(
        s.customers_owned_by(x.store.id, "A", &["c2".into()])
            .await
            .unwrap()
            .len(),
        1
    );
    let handover = ServerChange {
        hlc: stamp(3000, 0, 9),
        entity: "customer".into(),
        row_id: "c1".into(),
        op: "set".into(),
        field: Some("owner".into()),
        value: Some(serde_json::json!("B").to_string()),
        base: Some(owned[0].1.clone()),
    };
    s.append_server_changes(x.store.id, vec![handover], now())
        .await
        .unwrap();
    assert_eq!(
        s.customers_owned_by(x.store.id, "B", &[])
            .await
            .unwrap()
            .len(),
        1
    );
    let page = s
        .pull(x.store.id, x.device, Cursor::default(), 100, None)
        .await
        .unwrap();
    let last = page.changes.last().unwrap();
    assert_eq!(
        (last.field.as_deref(), last.base.as_deref()),
        (Some("owner"), Some(owned[0].1.as_str()))
    );
}

async fn the_audit_log_keeps_every_action(s: Arc<dyn Storage>) {
    for i in 0..3 {
        s.audit(
            "admin-cli",
            "store.add",
            &serde_json::json!({"n": i}),
            now(),
        )
        .await
        .unwrap();
    }
    let log = s.audit_log(2).await.unwrap();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].details["n"], 2, "newest first");
    assert_eq!(log[0].actor, "admin-cli");
}

async fn concurrent_pushes_never_make_a_pull_skip_a_change(s: Arc<dyn Storage>) {
    let x = setup(s.as_ref()).await;
    let store = s.create_store("并发", now()).await.unwrap();
    let writers = 8;
    let batches = 15;
    let per_batch = 20;
    let mut devices = Vec::new();
    for w in 0..writers {
        let u = s
            .create_user(
                &NewUser {
                    username: format!("w{w}"),
                    display_name: format!("W{w}"),
                    role: Role::Associate,
                    store: store.name.clone(),
                    password_hash: "h".into(),
                },
                now(),
            )
            .await
            .unwrap();
        let d = Uuid::now_v7();
        s.register_device(
            d,
            Uuid::now_v7(),
            u.id,
            "laptop",
            &format!("token-w{w}"),
            now(),
        )
        .await
        .unwrap();
        devices.push(d);
    }
    let mut tasks = Vec::new();
    for (w, device) in devices.iter().copied().enumerate() {
        let s = s.clone();
        let store_id = store.id;
        tasks.push(tokio::spawn(async move {
            for b in 0..batches {
                let changes = (0..per_batch)
                    .map(|i| {
                        let seq = (b * per_batch + i + 1) as i64;
                        customer_insert(seq, 1000 + seq, &format!("w{w}-{seq}"), "W")
                    })
                    .collect();
                s.push(&pusher(device, store_id), changes, now())
                    .await
                    .unwrap();
            }
        }));
    }
    // A reader pulls with small pages while the writers commit.
    let reader = Uuid::now_v7();
    let mut cursor = Cursor::default();
    let mut seen = std::collections::BTreeSet::new();
    let total = writers * batches * per_batch;
    let started = std::time::Instant::now();
    while seen.len() < total {
        // Every writer had committed before this pull began: it must see everything.
        let done = tasks.iter().all(|t| t.is_finished());
        let page = s.pull(store.id, reader, cursor, 37, None).await.unwrap();
        for c in &page.changes {
            assert!(
                seen.insert(c.row_id.clone()),
                "{} handed out twice",
                c.row_id
            );
        }
        cursor = page.cursor;
        if done && !page.more && seen.len() < total {
            panic!(
                "pull ended with {} of {total} changes: one was skipped",
                seen.len()
            );
        }
        assert!(started.elapsed().as_secs() < 120, "no progress");
    }
    for t in tasks {
        t.await.unwrap();
    }
    let _ = x;
}

/// Changes as a client reads them off the wire.
fn parsed(
    changes: Vec<lighttouch_protocol::PulledChange<lighttouch_protocol::RawChangeValue>>,
) -> Vec<lighttouch_protocol::PulledChange> {
    serde_json::from_str(&serde_json::to_string(&changes).unwrap()).unwrap()
}

/// Pulls until done, then once more: the cursor sent proves what was applied.
async fn catch_up(
    s: &dyn Storage,
    store: i64,
    device: Uuid,
    mut cursor: Cursor,
) -> (Cursor, Vec<lighttouch_protocol::PulledChange>) {
    let mut all = Vec::new();
    loop {
        let page = s.pull(store, device, cursor, 1000, None).await.unwrap();
        all.extend(parsed(page.changes));
        cursor = page.cursor;
        if !page.more {
            break;
        }
    }
    s.pull(store, device, cursor, 1000, None).await.unwrap();
    (cursor, all)
}

async fn compaction_waits_for_every_device_and_a_late_one_redownloads(s: Arc<dyn Storage>) {
    let x = setup(s.as_ref()).await;
    // Each edit knows the one before it (its base), as a device writes them.
    let set = |seq: i64, t: i64, v: &str, base: Option<i64>| IncomingChange {
        base: base.map(|b| stamp(b, 0, 1)),
        ..ring_size(seq, stamp(t, 0, 1), "c1", v)
    };
    let erase = change(6, stamp(1006, 0, 1), "customer", "c2", "erase", None, None);
    let batch = vec![
        customer_insert(1, 1001, "c1", "A"),
        set(2, 1002, "11", None),
        set(3, 1003, "12", Some(1002)),
        customer_insert(4, 1004, "c2", "A"),
        set(5, 1005, "13", Some(1003)),
        erase,
    ];
    s.push(&pusher(x.device, x.store.id), batch, now())
        .await
        .unwrap();
    // The colleague has not pulled yet: nothing may go.
    let c = s.compact(x.store.id).await.unwrap();
    assert_eq!((c.horizon, c.removed), (0, 0));
    let (old_cursor, _) = catch_up(s.as_ref(), x.store.id, x.colleague, Cursor::default()).await;
    catch_up(s.as_ref(), x.store.id, x.device, Cursor::default()).await;
    let c = s.compact(x.store.id).await.unwrap();
    assert_eq!(c.horizon, 6);
    assert_eq!(
        c.removed, 4,
        "two replaced edits, the erased customer's insert and tombstone"
    );
    // A new device gets the compacted log: c1 with its newest size only.
    let fresh = Uuid::now_v7();
    let page = s
        .pull(x.store.id, fresh, Cursor::default(), 100, None)
        .await
        .unwrap();
    let shown: Vec<(String, Option<String>)> = page
        .changes
        .iter()
        .map(|c| (c.row_id.clone(), c.field.clone()))
        .collect();
    assert_eq!(
        shown,
        vec![("c1".into(), None), ("c1".into(), Some("ring_size".into()))]
    );
    assert_eq!(parsed(page.changes)[1].value, Some(serde_json::json!("13")));
    // A device whose cursor is older than the compaction starts over, its own changes included.
    let stale = Cursor {
        store_seq: 1,
        ..old_cursor
    };
    let page = s
        .pull(x.store.id, x.device, stale, 100, None)
        .await
        .unwrap();
    assert!(page.reset && page.cursor.redownload == page.more);
    assert_eq!(
        page.changes.len(),
        2,
        "own changes come back in a re-download"
    );
    // Then it is an ordinary cursor again.
    let page = s
        .pull(x.store.id, x.device, page.cursor, 100, None)
        .await
        .unwrap();
    assert!(!page.reset && page.changes.is_empty());
}

/// Data as version 1 wrote it, with raw SQL (not today's code).
const V1_DATA: &str = "
    INSERT INTO stores(id, name, created_at) VALUES (1, '老店', '2026-01-01T00:00:00Z');
    INSERT INTO streams(id, last_seq) VALUES (1, 1);
    INSERT INTO users(id, username, display_name, store_id, role, password_hash, created_at)
        VALUES (1, 'old', '老员工', 1, 'associate', 'h', '2026-01-01T00:00:00Z');
    INSERT INTO devices(id, user_id, store_id, name, token_hash, created_at, pushed_seq)
        VALUES ('0190f0f0-0000-7000-8000-000000000001', 1, 1, 'laptop', 'token-old', '2026-01-01T00:00:00Z', 1);
    INSERT INTO changes(stream_id, seq, device_id, device_seq, hlc, entity, row_id, customer_id, op, value, received_at)
        VALUES (1, 1, '0190f0f0-0000-7000-8000-000000000001', 1, '0000000001000-000000-00000000000000000000000000000001',
                'customer', 'c-old', 'c-old', 'insert', '{\"name\":\"老客\"}', '2026-01-01T00:00:00Z');";

async fn served_after_migration(s: &dyn Storage) {
    let auth = s
        .device_by_token("token-old", now())
        .await
        .unwrap()
        .expect("the old device still signs in");
    assert_eq!(auth.store, "老店");
    let page = s
        .pull(auth.store_id, Uuid::now_v7(), Cursor::default(), 10, None)
        .await
        .unwrap();
    assert_eq!(page.changes[0].row_id, "c-old");
    // The new columns work on old rows: the device's cursor from before is
    // believed (it was served at most the whole log), and a change it sent
    // before digests were kept counts as a duplicate when sent again.
    let again = s
        .pull(auth.store_id, auth.device_id, page.cursor, 10, None)
        .await
        .unwrap();
    assert!(!again.reset, "an old device's honest cursor is not reset");
    let resent = s
        .push(
            &auth,
            vec![IncomingChange {
                digest: "from-today:".into(),
                ..change(
                    1,
                    "0000000001000-000000-00000000000000000000000000000001".into(),
                    "customer",
                    "c-old",
                    "insert",
                    None,
                    Some(serde_json::json!({"name": "老客"})),
                )
            }],
            now(),
        )
        .await
        .unwrap();
    assert_eq!(resent.applied_through, 1);
    // A pull mark beyond the log (version 2 trusted any cursor) is cut back
    // to what the log holds, so compaction goes no further.
    assert_eq!(s.compact(auth.store_id).await.unwrap().horizon, 1);
}

/// Version 2 trusted a device's cursor: a mark far beyond the log.
const V2_DATA: &str = "UPDATE devices SET pulled_seq = 999999;";

#[tokio::test]
async fn sqlite_migrates_a_database_made_by_version_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v2.sqlite3");
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(include_str!("../src/storage/migrations/sqlite_0001.sql"))
            .unwrap();
        c.execute_batch(include_str!("../src/storage/migrations/sqlite_0002.sql"))
            .unwrap();
        c.pragma_update(None, "user_version", 2).unwrap();
        c.execute_batch(V1_DATA).unwrap();
        c.execute_batch(V2_DATA).unwrap();
    }
    let s = SqliteStorage::open(&path).unwrap();
    served_after_migration(&s).await;
}

#[tokio::test]
async fn sqlite_migrates_a_database_made_by_the_previous_version() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v1.sqlite3");
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(include_str!("../src/storage/migrations/sqlite_0001.sql"))
            .unwrap();
        c.pragma_update(None, "user_version", 1).unwrap();
        c.execute_batch(V1_DATA).unwrap();
    }
    let s = SqliteStorage::open(&path).unwrap();
    served_after_migration(&s).await;
}

#[tokio::test]
async fn postgres_migrates_a_database_made_by_the_previous_version() {
    postgres_migrates_from(1, &[V1_DATA]).await;
}

#[tokio::test]
async fn postgres_migrates_a_database_made_by_version_2() {
    postgres_migrates_from(2, &[V1_DATA, V2_DATA]).await;
}

/// A database at `version`, written as that version wrote it, then opened by today's server.
async fn postgres_migrates_from(version: usize, data: &[&str]) {
    let Ok(url) = std::env::var("LIGHTTOUCH_TEST_POSTGRES") else {
        assert!(
            std::env::var("CI").is_err(),
            "CI must run the PostgreSQL tests"
        );
        return;
    };
    let db_url = PostgresStorage::create_database_beside(&url).await.unwrap();
    let shipped = [
        include_str!("../src/storage/migrations/postgres_0001.sql"),
        include_str!("../src/storage/migrations/postgres_0002.sql"),
    ];
    {
        let (c, conn) = tokio_postgres::connect(&db_url, tokio_postgres::NoTls)
            .await
            .unwrap();
        let task = tokio::spawn(conn);
        for sql in &shipped[..version] {
            c.batch_execute(sql).await.unwrap();
        }
        c.batch_execute(&format!(
            "CREATE TABLE schema_version (version BIGINT NOT NULL); INSERT INTO schema_version VALUES ({version});"
        ))
        .await
        .unwrap();
        for d in data {
            c.batch_execute(d).await.unwrap();
        }
        drop(c);
        let _ = task.await;
    }
    let s = PostgresStorage::connect(&db_url).await.unwrap();
    served_after_migration(&s).await;
}

/// Two server processes over one PostgreSQL: both migrate at start (one
/// waits for the other), devices push through either, a reader pulling
/// through the other sees every change exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_over_one_postgres_work_together() {
    let Ok(url) = std::env::var("LIGHTTOUCH_TEST_POSTGRES") else {
        assert!(
            std::env::var("CI").is_err(),
            "CI must run the PostgreSQL tests"
        );
        return;
    };
    let db_url = PostgresStorage::create_database_beside(&url).await.unwrap();
    let (a, b) = tokio::join!(
        PostgresStorage::connect(&db_url),
        PostgresStorage::connect(&db_url)
    );
    let servers: [Arc<dyn Storage>; 2] = [Arc::new(a.unwrap()), Arc::new(b.unwrap())];
    let store = servers[0].create_store("静安嘉里", now()).await.unwrap();
    let mut tasks = Vec::new();
    for w in 0..6 {
        let u = servers[w % 2]
            .create_user(
                &NewUser {
                    username: format!("w{w}"),
                    display_name: format!("W{w}"),
                    role: Role::Associate,
                    store: store.name.clone(),
                    password_hash: "h".into(),
                },
                now(),
            )
            .await
            .unwrap();
        let device = Uuid::now_v7();
        servers[w % 2]
            .register_device(
                device,
                Uuid::now_v7(),
                u.id,
                "laptop",
                &format!("t{w}"),
                now(),
            )
            .await
            .unwrap();
        let servers = servers.clone();
        tasks.push(tokio::spawn(async move {
            for seq in 1..=60i64 {
                // Each request may land on either server.
                let s = &servers[(seq as usize + w) % 2];
                s.push(
                    &pusher(device, store.id),
                    vec![customer_insert(
                        seq,
                        1000 + seq,
                        &format!("w{w}-{seq}"),
                        "W",
                    )],
                    now(),
                )
                .await
                .unwrap();
            }
        }));
    }
    let reader = Uuid::now_v7();
    let mut cursor = Cursor::default();
    let mut seen = std::collections::BTreeSet::new();
    let mut turn = 0;
    while seen.len() < 360 {
        let done = tasks.iter().all(|t| t.is_finished());
        let page = servers[turn % 2]
            .pull(store.id, reader, cursor, 25, None)
            .await
            .unwrap();
        turn += 1;
        for c in &page.changes {
            assert!(seen.insert(c.row_id.clone()), "{} twice", c.row_id);
        }
        cursor = page.cursor;
        assert!(
            !(done && !page.more && seen.len() < 360),
            "a change was skipped: {} of 360",
            seen.len()
        );
    }
    for t in tasks {
        t.await.unwrap();
    }
}

/// A value that lost to a concurrent edit is not "replaced": a device that
/// re-downloads must still see both and record the conflict. Edits replaced
/// knowingly go, and the survivor inherits their base so the chain holds.
async fn compaction_keeps_a_concurrent_loser_and_the_chain_of_bases(s: Arc<dyn Storage>) {
    let x = setup(s.as_ref()).await;
    let mine = |seq, t, v, base: Option<String>| IncomingChange {
        base,
        ..ring_size(seq, stamp(t, 0, 1), "c1", v)
    };
    s.push(
        &pusher(x.device, x.store.id),
        vec![
            customer_insert(1, 1001, "c1", "A"),
            mine(2, 1002, "11", None),
            mine(3, 1003, "12", Some(stamp(1002, 0, 1))),
            mine(4, 1004, "13", Some(stamp(1003, 0, 1))),
        ],
        now(),
    )
    .await
    .unwrap();
    // The colleague, offline, changed the size knowing only "11".
    s.push(
        &pusher(x.colleague, x.store.id),
        vec![IncomingChange {
            base: Some(stamp(1002, 0, 1)),
            ..ring_size(1, stamp(1000, 5, 2), "c1", "15")
        }],
        now(),
    )
    .await
    .unwrap();
    catch_up(s.as_ref(), x.store.id, x.colleague, Cursor::default()).await;
    catch_up(s.as_ref(), x.store.id, x.device, Cursor::default()).await;
    let c = s.compact(x.store.id).await.unwrap();
    assert_eq!(c.horizon, 5);
    assert_eq!(c.removed, 2, "\"11\" and \"12\" were knowingly replaced");
    let page = s
        .pull(x.store.id, Uuid::now_v7(), Cursor::default(), 100, None)
        .await
        .unwrap();
    let sizes: Vec<(Option<serde_json::Value>, Option<String>)> = parsed(page.changes)
        .iter()
        .filter(|c| c.field.is_some())
        .map(|c| (c.value.clone(), c.base.clone()))
        .collect();
    assert_eq!(
        sizes,
        vec![
            (Some(serde_json::json!("13")), None),
            (Some(serde_json::json!("15")), None),
        ],
        "both survivors now rest on what \"11\" rested on: concurrent, as they were"
    );
}
