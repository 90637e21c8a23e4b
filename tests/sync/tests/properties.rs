//! Properties over random input, bounded for CI (`LIGHTTOUCH_PROPTEST_CASES`,
//! default 24; raise it for a longer run):
//! - a device pushes random well-formed changes, some with wrong values:
//!   the server refuses exactly the wrong ones, and every other book of the
//!   store, and a new laptop, converges with all the good ones;
//! - the push, pull and re-registration endpoints of a real server on a
//!   socket take random, malformed, cut and hostile bodies, each three times
//!   at once: never a 5xx, always `{code, message}`, and the store still
//!   syncs after;
//! - the CSV import takes random files: it imports or refuses whole, never
//!   panics, and what it imported syncs to a colleague unchanged.

use chrono::{TimeZone, Utc};
use lighttouch_book::{Book, BookError, ManualClock};
use lighttouch_protocol::*;
use lighttouch_server::admin::Admin;
use lighttouch_server::storage::{SqliteStorage, Storage};
use lighttouch_sync_client::http::HttpTransport;
use lighttouch_sync_client::{engine, sync_once, Transport};
use lighttouch_sync_tests::buggy::{good_change, stamp, wrong_change, MISTAKES, WRONG_MARK};
use lighttouch_sync_tests::{serve, snapshot, InProcess, ServerClock};
use lighttouch_transfer::import::ImportOptions;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};

fn cases() -> u32 {
    std::env::var("LIGHTTOUCH_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24)
}

fn runner() -> TestRunner {
    TestRunner::new(Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    })
}

fn start() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, 10, 0, 0).unwrap()
}

/// A store with two associates, on an SQLite file.
struct Store {
    _dir: tempfile::TempDir,
    storage: Arc<dyn Storage>,
    clock: Arc<ServerClock>,
}

async fn store() -> Store {
    let dir = tempfile::tempdir().unwrap();
    let storage: Arc<dyn Storage> =
        Arc::new(SqliteStorage::open(&dir.path().join("server.sqlite3")).unwrap());
    let clock = Arc::new(ServerClock(Mutex::new(start())));
    let admin = Admin::new(storage.clone(), clock.clone());
    admin.add_store("test", "静安嘉里").await.unwrap();
    for u in ["xiaolin", "ajie", "buggy"] {
        admin
            .add_user("test", u, None, "静安嘉里", Role::Associate, "password1")
            .await
            .unwrap();
    }
    Store {
        _dir: dir,
        storage,
        clock,
    }
}

fn book() -> Mutex<Book> {
    Mutex::new(Book::open_in_memory(Arc::new(ManualClock::new(start()))).unwrap())
}

/// One change the buggy device sends: wrong (with which mistake) or good
/// (of which kind).
#[derive(Debug, Clone)]
struct Planned {
    wrong: bool,
    kind: usize,
}

fn planned() -> impl Strategy<Value = Vec<(Planned, bool)>> {
    // The bool: the push ends after this change.
    prop::collection::vec(
        (any::<bool>(), 0..MISTAKES.len() * 3, any::<bool>())
            .prop_map(|(wrong, kind, cut)| (Planned { wrong, kind }, cut)),
        1..40,
    )
}

#[test]
fn wrong_values_from_one_device_never_keep_the_others_from_converging() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    runner()
        .run(&planned(), |plan| {
            rt.block_on(wrong_values_case(plan));
            Ok(())
        })
        .unwrap();
}

async fn wrong_values_case(plan: Vec<(Planned, bool)>) {
    let s = store().await;
    let transport = InProcess {
        storage: s.storage.clone(),
        clock: s.clock.clone(),
    };
    let a = book();
    let b = book();
    engine::login(&a, &transport, "t://", "xiaolin", "password1", "a")
        .await
        .unwrap();
    engine::login(&b, &transport, "t://", "ajie", "password1", "b")
        .await
        .unwrap();
    let customer = a
        .lock()
        .unwrap()
        .add_customer(&[("name", "王芳")], false)
        .unwrap();
    sync_once(&a, &transport).await.unwrap();
    let login = transport
        .login(
            "t://",
            &LoginRequest {
                username: "buggy".into(),
                password: "password1".into(),
                device_id: uuid::Uuid::now_v7(),
                device_name: "buggy".into(),
            },
        )
        .await
        .unwrap();
    let node = login.device_id.unwrap().as_u128();
    let millis = start().timestamp_millis();
    let (mut wrong, mut refused, mut good) = (Vec::new(), Vec::new(), Vec::new());
    let mut batch = Vec::new();
    for (i, (p, cut)) in plan.iter().enumerate() {
        let seq = i as i64 + 1;
        let hlc = stamp(millis + seq, 0, node);
        let change = if p.wrong {
            wrong.push(seq);
            wrong_change(p.kind, seq, hlc, &customer, seq as u64)
        } else {
            let c = good_change(p.kind, seq, hlc, &customer, seq as u64);
            good.push(c.clone());
            c
        };
        batch.push(change);
        if *cut || i + 1 == plan.len() {
            let request = PushRequest {
                changes: std::mem::take(&mut batch),
            };
            let answer = transport
                .push("t://", &login.token, &request)
                .await
                .unwrap();
            assert_eq!(answer.applied_through, seq);
            refused.extend(answer.rejected.iter().map(|r| r.seq));
        }
    }
    assert_eq!(refused, wrong, "the server refuses exactly the wrong ones");
    for book in [&a, &b] {
        sync_once(book, &transport).await.unwrap();
    }
    let fresh = book();
    engine::login(&fresh, &transport, "t://", "ajie", "password1", "new")
        .await
        .unwrap();
    sync_once(&fresh, &transport).await.unwrap();
    let snap = snapshot(&a.lock().unwrap());
    for other in [&b, &fresh] {
        assert_eq!(snapshot(&other.lock().unwrap()), snap);
        assert_eq!(other.lock().unwrap().quarantined_changes().unwrap(), vec![]);
    }
    let text = snap.to_string();
    assert!(!text.contains(WRONG_MARK), "no wrong value anywhere");
    for c in &good {
        let shown = match c.entity.as_str() {
            "customer" if c.op == "insert" => format!("\"id\":\"{}\"", c.row_id),
            "note" => format!("\"id\":\"{}\"", c.row_id),
            _ => continue,
        };
        assert!(text.contains(&shown), "good change {} arrived", c.seq);
    }
    // The last good ring size wins (stamps rise with the numbers).
    if let Some(last) = good
        .iter()
        .rev()
        .find(|c| c.field.as_deref() == Some("ring_size"))
    {
        let held = snap["customers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == customer.as_str())
            .map(|c| c["ring_size"].clone());
        assert_eq!(held, last.value.clone());
    }
}

/// Bodies for the push and pull endpoints: valid ones bent out of shape.
fn hostile_body() -> impl Strategy<Value = Value> {
    let scalar = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,40}".prop_map(Value::String),
        Just(json!("x".repeat(70_000))),
        Just(json!({"name": "张伟", "created_at": "2026-11-24T10:00:00Z"})),
        Just(json!([1, 2, 3])),
    ];
    let entity = prop_oneof![
        Just("customer".to_string()),
        Just("note".to_string()),
        Just("purchase".to_string()),
        Just("customer_tag".to_string()),
        Just("content_item".to_string()),
        ".{0,12}",
    ];
    let op = prop_oneof![
        Just("insert".to_string()),
        Just("set".to_string()),
        Just("erase".to_string()),
        Just("add".to_string()),
        Just("skip".to_string()),
        ".{0,8}",
    ];
    let seq = prop_oneof![1..5i64, Just(0), Just(-1), Just(i64::MAX), Just(1 << 53)];
    let hlc = prop_oneof![
        (0..99_999u32).prop_map(|n| format!("1795000000000-{n:06}-{:032x}", 7)),
        Just("9999999999999-000000-00000000000000000000000000000007".to_string()),
        ".{0,30}",
    ];
    let change = (
        seq,
        hlc,
        entity,
        ".{0,30}",
        op,
        prop::option::of(".{0,20}"),
        scalar.clone(),
    )
        .prop_map(|(seq, hlc, entity, row, op, field, value)| {
            json!({"seq": seq, "hlc": hlc, "entity": entity, "row_id": row, "op": op,
                   "field": field, "value": value})
        });
    prop_oneof![
        prop::collection::vec(change.clone(), 0..6).prop_map(|c| json!({ "changes": c })),
        change.prop_map(|c| json!({ "changes": c })),
        scalar.clone(),
        (prop::option::of(".{0,20}"), prop::option::of(any::<i64>()))
            .prop_map(|(cursor, limit)| json!({"cursor": cursor, "limit": limit})),
        (0..3i64, any::<i64>())
            .prop_map(|(a, b)| json!({"cursor": format!("v1.{a}.{b}"), "known_through": b})),
    ]
}

#[test]
fn hostile_push_and_pull_bodies_get_a_clear_answer_and_the_store_still_syncs() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (s, url, token) = rt.block_on(async {
        let s = store().await;
        let url = serve(s.storage.clone(), s.clock.clone()).await;
        let login: LoginResponse = reqwest::Client::new()
            .post(format!("{url}{}", paths::LOGIN))
            .header(PROTOCOL_HEADER, "1")
            .json(&json!({"username": "buggy", "password": "password1",
                          "device_id": uuid::Uuid::now_v7(), "device_name": "fuzz"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        (s, url, login.token)
    });
    let client = reqwest::Client::new();
    let strategy = (hostile_body(), 0..3usize, any::<bool>());
    runner()
        .run(&strategy, |(body, endpoint, raw)| {
            let path = [paths::PUSH, paths::PULL, paths::REREGISTER][endpoint];
            rt.block_on(async {
                let request = client
                    .post(format!("{url}{path}"))
                    .bearer_auth(&token)
                    .header(PROTOCOL_HEADER, "1")
                    .header("content-type", "application/json");
                // Half the time the bytes are cut, as a dropped connection would.
                // (cut anywhere, even inside a character).
                let mut sent = body.to_string().into_bytes();
                if raw {
                    sent.truncate(sent.len() / 2);
                }
                // Sent three times at once: replayed and concurrent.
                let again = request.try_clone().unwrap().body(sent.clone()).send();
                let third = request.try_clone().unwrap().body(sent.clone()).send();
                let first = request.body(sent).send();
                let (x, y, z) = tokio::join!(first, again, third);
                for response in [x, y, z] {
                    let response = response.unwrap();
                    let status = response.status().as_u16();
                    let answer: Value = response.json().await.unwrap_or(Value::Null);
                    assert!(status < 500, "{path} answered {status}: {answer}");
                    if status >= 400 {
                        assert!(
                            answer["code"].is_string() && answer["message"].is_string(),
                            "{path} {status} says {{code, message}}: {answer}"
                        );
                    }
                }
            });
            Ok(())
        })
        .unwrap();
    // After all that, two associates' books still sync and agree.
    rt.block_on(async {
        let http = HttpTransport::new().unwrap();
        let a = book();
        let b = book();
        engine::login(&a, &http, &url, "xiaolin", "password1", "a")
            .await
            .unwrap();
        engine::login(&b, &http, &url, "ajie", "password1", "b")
            .await
            .unwrap();
        a.lock()
            .unwrap()
            .add_customer(&[("name", "李娜")], false)
            .unwrap();
        sync_once(&a, &http).await.unwrap();
        sync_once(&b, &http).await.unwrap();
        sync_once(&a, &http).await.unwrap();
        assert_eq!(snapshot(&a.lock().unwrap()), snapshot(&b.lock().unwrap()));
        let names: Vec<String> = snapshot(&b.lock().unwrap())["customers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap_or("").to_string())
            .collect();
        assert!(names.contains(&"李娜".to_string()), "{names:?}");
        drop(s);
    });
}

/// A CSV file as a store might export it, bent: random cells (quotes,
/// newlines, separators, Chinese, long), rows of the wrong width, a BOM,
/// bytes that are not UTF-8.
fn csv_file() -> impl Strategy<Value = Vec<u8>> {
    let header = prop::sample::subsequence(
        vec![
            "姓名",
            "手机",
            "微信",
            "生日",
            "戒指尺寸",
            "备注",
            "标签",
            "email",
            "店铺",
        ],
        1..6,
    );
    let cell = prop_oneof![
        "[\\p{Han}]{1,4}",
        "1[3-9][0-9]{9}",
        "\\+86 ?1[3-9][0-9]{9}",
        "[0-9]{4}-[0-9]{2}-[0-9]{2}",
        ".{0,20}",
        Just("\"带,逗号\"".to_string()),
        Just("\"换\n行\"".to_string()),
        Just("\"未闭合".to_string()),
        Just(String::new()),
        Just("长".repeat(21_000)),
    ];
    (
        header,
        prop::collection::vec(prop::collection::vec(cell, 0..8), 0..12),
        any::<bool>(),
        prop::collection::vec(any::<u8>(), 0..4),
    )
        .prop_map(|(header, rows, bom, junk)| {
            let mut out = Vec::new();
            if bom {
                out.extend_from_slice(b"\xEF\xBB\xBF");
            }
            out.extend_from_slice(header.join(",").as_bytes());
            out.push(b'\n');
            for row in rows {
                out.extend_from_slice(row.join(",").as_bytes());
                out.push(b'\n');
            }
            out.extend_from_slice(&junk);
            out
        })
}

#[test]
fn random_csv_files_import_whole_or_not_at_all_and_sync_unchanged() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    runner()
        .run(&(csv_file(), any::<bool>()), |(bytes, skip_invalid)| {
            rt.block_on(csv_case(bytes, skip_invalid));
            Ok(())
        })
        .unwrap();
}

async fn csv_case(bytes: Vec<u8>, skip_invalid: bool) {
    let s = store().await;
    let transport = InProcess {
        storage: s.storage.clone(),
        clock: s.clock.clone(),
    };
    let a = book();
    engine::login(&a, &transport, "t://", "xiaolin", "password1", "a")
        .await
        .unwrap();
    let before = snapshot(&a.lock().unwrap());
    let outcome = lighttouch_transfer::import::import_customers(
        &mut a.lock().unwrap(),
        &bytes,
        ImportOptions {
            dry_run: false,
            skip_invalid,
            columns: None,
        },
    );
    let count = a.lock().unwrap().customer_count().unwrap();
    match &outcome {
        Ok(report) if report.applied => {
            assert_eq!(count as usize, report.created, "{report:?}");
        }
        Ok(_) | Err(_) => {
            assert_eq!(snapshot(&a.lock().unwrap()), before, "nothing half-written");
        }
    }
    if let Err(e) = &outcome {
        // A clear refusal of the file, never the database giving way.
        assert!(
            !matches!(e, BookError::Database(_) | BookError::Io { .. }),
            "{e:?}"
        );
        assert!(!e.to_string().is_empty());
    }
    sync_once(&a, &transport).await.unwrap();
    assert_eq!(a.lock().unwrap().quarantined_changes().unwrap(), vec![]);
    let b = book();
    engine::login(&b, &transport, "t://", "ajie", "password1", "b")
        .await
        .unwrap();
    sync_once(&b, &transport).await.unwrap();
    assert_eq!(snapshot(&a.lock().unwrap()), snapshot(&b.lock().unwrap()));
}
