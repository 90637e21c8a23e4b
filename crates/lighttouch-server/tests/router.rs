//! Router tests: the HTTP edge of the server, through the real router and
//! SQLite storage, without a socket.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use chrono::{DateTime, TimeZone, Utc};
use http_body_util::BodyExt;
use lighttouch_protocol::*;
use lighttouch_server::admin::Admin;
use lighttouch_server::routes::{router, AppState};
use lighttouch_server::storage::{SqliteStorage, Storage};
use lighttouch_server::sync::Clock;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use tower::ServiceExt;
use uuid::Uuid;

struct TestClock(Mutex<DateTime<Utc>>);
impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

struct Server {
    app: Router,
    _dir: tempfile::TempDir,
    now: DateTime<Utc>,
}

const NODE_A: &str = "0000000000000000000000000000000a";

async fn server() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let storage: Arc<dyn Storage> =
        Arc::new(SqliteStorage::open(&dir.path().join("s.sqlite3")).unwrap());
    let now = Utc.with_ymd_and_hms(2026, 11, 24, 10, 0, 0).unwrap();
    let clock = Arc::new(TestClock(Mutex::new(now)));
    let admin = Admin::new(storage.clone(), clock.clone());
    admin.add_store("t", "静安嘉里").await.unwrap();
    admin.add_store("t", "国金").await.unwrap();
    for (user, store, role) in [
        ("a1", "静安嘉里", Role::Associate),
        ("a2", "静安嘉里", Role::Associate),
        ("m1", "静安嘉里", Role::Manager),
        ("b1", "国金", Role::Associate),
    ] {
        admin
            .add_user("t", user, None, store, role, "password1")
            .await
            .unwrap();
    }
    Server {
        app: router(AppState::new(storage, clock)),
        _dir: dir,
        now,
    }
}

impl Server {
    async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header(PROTOCOL_HEADER, "1");
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let req = match body {
            Some(b) => req
                .header("content-type", "application/json")
                .body(Body::from(b.to_string())),
            None => req.body(Body::empty()),
        }
        .unwrap();
        self.raw(req).await
    }

    async fn raw(&self, req: Request<Body>) -> (StatusCode, Value) {
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    async fn login(&self, user: &str, device: Uuid) -> String {
        let (s, body) = self
            .call("POST", paths::LOGIN, None, Some(json!({"username": user, "password": "password1", "device_id": device, "device_name": "laptop"})))
            .await;
        assert_eq!(s, StatusCode::OK, "{body}");
        body["token"].as_str().unwrap().to_string()
    }
}

fn stamp(millis: i64, counter: u32) -> String {
    format!("{millis:013}-{counter:06}-{NODE_A}")
}

fn insert(seq: i64, hlc: &str, id: &str, name: &str) -> Value {
    json!({"seq": seq, "hlc": hlc, "entity": "customer", "row_id": id, "op": "insert",
           "value": {"name": name, "owner": "a1", "created_at": "2026-11-24T10:00:00Z"}})
}

#[tokio::test]
async fn every_request_names_its_protocol_and_old_clients_are_told_to_update() {
    let s = server().await;
    let req = Request::builder()
        .uri(paths::HEALTH)
        .body(Body::empty())
        .unwrap();
    assert_eq!(s.raw(req).await.0, StatusCode::OK, "health needs no header");
    let req = Request::builder()
        .method("POST")
        .uri(paths::PULL)
        .body(Body::from("{}"))
        .unwrap();
    let (status, body) = s.raw(req).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid"))
    );
    let req = Request::builder()
        .method("POST")
        .uri(paths::PULL)
        .header(PROTOCOL_HEADER, "0")
        .body(Body::from("{}"))
        .unwrap();
    let (status, body) = s.raw(req).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UPGRADE_REQUIRED, Some("please_update"))
    );
}

#[tokio::test]
async fn sign_in_failures_are_uniform_and_rate_limited() {
    let s = server().await;
    let bad = |user: &str| json!({"username": user, "password": "wrong-pass", "device_id": Uuid::now_v7(), "device_name": "x"});
    let (status, body) = s.call("POST", paths::LOGIN, None, Some(bad("a1"))).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthorized"))
    );
    let (_, unknown) = s
        .call("POST", paths::LOGIN, None, Some(bad("nobody")))
        .await;
    assert_eq!(
        unknown["message"], body["message"],
        "no hint which usernames exist"
    );
    for _ in 0..10 {
        s.call("POST", paths::LOGIN, None, Some(bad("a2"))).await;
    }
    let (status, body) = s.call("POST", paths::LOGIN, None, Some(bad("a2"))).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited"))
    );
}

#[tokio::test]
async fn sync_needs_a_valid_unrevoked_token() {
    let s = server().await;
    let pull = Some(json!({}));
    assert_eq!(
        s.call("POST", paths::PULL, None, pull.clone()).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        s.call("POST", paths::PULL, Some("forged"), pull.clone())
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    let token = s.login("a1", Uuid::now_v7()).await;
    assert_eq!(
        s.call("POST", paths::PULL, Some(&token), pull.clone())
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        s.call("POST", paths::LOGOUT, Some(&token), None).await.0,
        StatusCode::NO_CONTENT
    );
    let (status, body) = s.call("POST", paths::PULL, Some(&token), pull).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthorized"))
    );
}

#[tokio::test]
async fn a_store_sees_only_its_own_customers_and_hq_content() {
    let s = server().await;
    let a1 = s.login("a1", Uuid::now_v7()).await;
    let a2 = s.login("a2", Uuid::now_v7()).await;
    let b1 = s.login("b1", Uuid::now_v7()).await;
    let t = s.now.timestamp_millis();
    let (status, body) = s
        .call(
            "POST",
            paths::PUSH,
            Some(&a1),
            Some(json!({"changes": [insert(1, &stamp(t, 0), "c1", "张伟")]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, a2_pull) = s
        .call("POST", paths::PULL, Some(&a2), Some(json!({})))
        .await;
    assert_eq!(a2_pull["changes"][0]["value"]["name"], "张伟");
    let (_, b1_pull) = s
        .call("POST", paths::PULL, Some(&b1), Some(json!({})))
        .await;
    assert_eq!(
        b1_pull["changes"],
        json!([]),
        "store B sees nothing of store A"
    );
    // B writing a row with A's id creates B's own row; A never sees it.
    s.call(
        "POST",
        paths::PUSH,
        Some(&b1),
        Some(json!({"changes": [insert(1, &stamp(t + 1, 0), "c1", "冒名")]})),
    )
    .await;
    let (_, again) = s
        .call(
            "POST",
            paths::PULL,
            Some(&a2),
            Some(json!({"cursor": a2_pull["cursor"]})),
        )
        .await;
    assert_eq!(again["changes"], json!([]));
    // The pusher does not get its own changes back.
    let (_, own) = s
        .call("POST", paths::PULL, Some(&a1), Some(json!({})))
        .await;
    assert_eq!(own["changes"], json!([]));
}

#[tokio::test]
async fn a_retried_push_is_applied_once_and_a_gap_is_refused() {
    let s = server().await;
    let a1 = s.login("a1", Uuid::now_v7()).await;
    let a2 = s.login("a2", Uuid::now_v7()).await;
    let t = s.now.timestamp_millis();
    let batch = json!({"changes": [insert(1, &stamp(t, 0), "c1", "甲"), insert(2, &stamp(t, 1), "c2", "乙")]});
    for _ in 0..2 {
        let (status, body) = s
            .call("POST", paths::PUSH, Some(&a1), Some(batch.clone()))
            .await;
        assert_eq!(
            (status, body["applied_through"].as_i64()),
            (StatusCode::OK, Some(2))
        );
    }
    let (status, body) = s
        .call(
            "POST",
            paths::PUSH,
            Some(&a1),
            Some(json!({"changes": [insert(5, &stamp(t, 5), "c5", "戊")]})),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str(), body["expected_seq"].as_i64()),
        (StatusCode::CONFLICT, Some("seq_gap"), Some(3))
    );
    let (_, pulled) = s
        .call("POST", paths::PULL, Some(&a2), Some(json!({})))
        .await;
    assert_eq!(pulled["changes"].as_array().unwrap().len(), 2, "{pulled}");
}

#[tokio::test]
async fn a_clock_far_ahead_is_bounded_and_the_device_told() {
    let s = server().await;
    let a1 = s.login("a1", Uuid::now_v7()).await;
    let ahead = s.now.timestamp_millis() + 6 * 3600 * 1000;
    let (status, body) = s
        .call(
            "POST",
            paths::PUSH,
            Some(&a1),
            Some(json!({"changes": [insert(1, &stamp(ahead, 0), "c1", "甲")]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let restamped = body["restamped"][0]["hlc"].as_str().unwrap();
    assert!(
        restamped.starts_with(&format!("{:013}", s.now.timestamp_millis())),
        "{restamped}"
    );
    assert_eq!(
        body["server_time"]
            .as_str()
            .map(|t| t.starts_with("2026-11-24T10:00:00")),
        Some(true)
    );
}

#[tokio::test]
async fn bad_bodies_get_a_code_and_a_reason() {
    let s = server().await;
    let a1 = s.login("a1", Uuid::now_v7()).await;
    let req = Request::builder()
        .method("POST")
        .uri(paths::PUSH)
        .header(PROTOCOL_HEADER, "1")
        .header("authorization", format!("Bearer {a1}"))
        .body(Body::from("{not json"))
        .unwrap();
    let (status, body) = s.raw(req).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid"))
    );
    let big = "x".repeat(MAX_BODY_BYTES + 1);
    let req = Request::builder()
        .method("POST")
        .uri(paths::PUSH)
        .header(PROTOCOL_HEADER, "1")
        .header("authorization", format!("Bearer {a1}"))
        .body(Body::from(big))
        .unwrap();
    let (status, body) = s.raw(req).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("too_large")),
        "{body}"
    );
    // One change a device may not make is refused alone; the push goes on.
    let t = s.now.timestamp_millis();
    let mut c = insert(1, &stamp(t, 0), "c1", "甲");
    c["entity"] = json!("content_item");
    let good = insert(2, &stamp(t, 1), "c2", "甲");
    let (status, body) = s
        .call(
            "POST",
            paths::PUSH,
            Some(&a1),
            Some(json!({"changes": [c, good]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["applied_through"], 2);
    assert_eq!(body["rejected"][0]["seq"], 1);
    assert_eq!(body["rejected"][0]["code"], "forbidden");
    assert!(
        body["rejected"][0]["message"]
            .as_str()
            .unwrap()
            .contains("HQ"),
        "{body}"
    );
    // Unknown endpoints and newer protocols answer {code, message} too.
    let (status, body) = s.call("GET", "/v1/nothing", Some(&a1), None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let req = Request::builder()
        .method("GET")
        .uri(paths::ME)
        .header(PROTOCOL_HEADER, "2")
        .header("authorization", format!("Bearer {a1}"))
        .body(Body::empty())
        .unwrap();
    let (status, body) = s.raw(req).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("unsupported_protocol"))
    );
    // A sequence number at the edge of i64 is refused, not overflowed.
    let mut edge = insert(1, &stamp(t, 2), "c3", "甲");
    edge["seq"] = json!(i64::MAX);
    let (status, body) = s
        .call(
            "POST",
            paths::PUSH,
            Some(&a1),
            Some(json!({"changes": [edge]})),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid"))
    );
}

#[tokio::test]
async fn only_managers_reach_admin_endpoints_and_only_for_their_store() {
    let s = server().await;
    let a1 = s.login("a1", Uuid::now_v7()).await;
    let m1 = s.login("m1", Uuid::now_v7()).await;
    s.login("b1", Uuid::now_v7()).await;
    let (status, body) = s.call("GET", paths::ADMIN_DEVICES, Some(&a1), None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden"))
    );
    let (status, body) = s.call("GET", paths::ADMIN_DEVICES, Some(&m1), None).await;
    assert_eq!(status, StatusCode::OK);
    let stores: Vec<&str> = body
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["store"].as_str().unwrap())
        .collect();
    assert_eq!(
        stores,
        vec!["静安嘉里", "静安嘉里"],
        "no other store's devices"
    );
    let (status, _) = s
        .call(
            "POST",
            paths::ADMIN_REASSIGN,
            Some(&a1),
            Some(json!({"from": "a1", "to": "a2"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = s
        .call(
            "POST",
            paths::ADMIN_REASSIGN,
            Some(&m1),
            Some(json!({"from": "a1", "to": "b1"})),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a manager cannot hand over to another store"
    );
}
