//! A real client (the core's sync engine over HTTP) against a real server
//! (the axum router on a socket, port 0, SQLite storage).

use chrono::{TimeZone, Utc};
use lighttouch_book::{Book, ManualClock};
use lighttouch_protocol::Role;
use lighttouch_server::admin::{parse_content, parse_scripts, Admin};
use lighttouch_server::storage::{SqliteStorage, Storage};
use lighttouch_sync_client::http::HttpTransport;
use lighttouch_sync_client::{engine, sync_once};
use lighttouch_sync_tests::{serve, snapshot, ServerClock};
use std::sync::{Arc, Mutex};

struct World {
    url: String,
    admin: Admin,
    http: HttpTransport,
    server_clock: Arc<ServerClock>,
    _dir: tempfile::TempDir,
}

async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let storage: Arc<dyn Storage> =
        Arc::new(SqliteStorage::open(&dir.path().join("server.sqlite3")).unwrap());
    let clock = Arc::new(ServerClock(Mutex::new(
        Utc.with_ymd_and_hms(2026, 11, 24, 10, 0, 0).unwrap(),
    )));
    let admin = Admin::new(storage.clone(), clock.clone());
    admin.add_store("test", "静安嘉里").await.unwrap();
    admin.add_store("test", "国金").await.unwrap();
    for (u, name, store) in [
        ("xiaolin", "小林", "静安嘉里"),
        ("ajie", "阿杰", "静安嘉里"),
        ("other", "别人", "国金"),
    ] {
        admin
            .add_user("test", u, Some(name), store, Role::Associate, "password1")
            .await
            .unwrap();
    }
    let url = serve(storage, clock.clone()).await;
    World {
        url,
        admin,
        http: HttpTransport::new().unwrap(),
        server_clock: clock,
        _dir: dir,
    }
}

fn book(clock: Arc<ManualClock>) -> Mutex<Book> {
    Mutex::new(Book::open_in_memory(clock).unwrap())
}

fn at(h: u32, m: u32) -> Arc<ManualClock> {
    Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 24, h, m, 0).unwrap(),
    ))
}

impl World {
    async fn login(&self, b: &Mutex<Book>, user: &str) {
        engine::login(b, &self.http, &self.url, user, "password1", "test laptop")
            .await
            .unwrap();
    }

    async fn sync(&self, b: &Mutex<Book>) -> lighttouch_sync_client::SyncReport {
        sync_once(b, &self.http).await.unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_associates_edit_one_customer_offline_and_converge_with_nothing_lost() {
    let w = world().await;
    let clock_b = at(10, 0);
    let (a, b) = (book(at(10, 0)), book(clock_b.clone()));
    w.login(&a, "xiaolin").await;
    w.login(&b, "ajie").await;

    let id = {
        let mut a = a.lock().unwrap();
        let id = a
            .add_customer(&[("name", "张伟"), ("phone", "13800138000")], false)
            .unwrap();
        a.tag_customer(&id, "珍珠").unwrap();
        a.add_note(&id, "喜欢玫瑰金，女儿明年结婚").unwrap();
        id
    };
    let pushed = w.sync(&a).await.pushed;
    assert!(pushed >= 4, "customer, tag, link and note: {pushed}");
    w.sync(&b).await;
    {
        let mut b = b.lock().unwrap();
        assert_eq!(b.customer(&id).unwrap().owner.as_deref(), Some("小林"));
        assert_eq!(
            b.search("zhangwei", 5).unwrap()[0].id,
            id,
            "searchable by pinyin at once"
        );
        assert_eq!(b.notes(&id).unwrap()[0].body, "喜欢玫瑰金，女儿明年结婚");
    }

    // Offline on both laptops: different fields, one field on both, tags both ways, notes.
    a.lock()
        .unwrap()
        .edit_customer(&id, &[("email", "zw@example.com"), ("ring_size", "12")])
        .unwrap();
    a.lock().unwrap().untag_customer(&id, "珍珠").unwrap();
    a.lock().unwrap().add_note(&id, "周六来试戒指").unwrap();
    clock_b.advance(chrono::Duration::minutes(1));
    b.lock()
        .unwrap()
        .edit_customer(&id, &[("ring_size", "13"), ("shoe_size", "38")])
        .unwrap();
    b.lock().unwrap().tag_customer(&id, "玫瑰金").unwrap();
    b.lock().unwrap().add_note(&id, "电话约了下周").unwrap();

    w.sync(&a).await;
    w.sync(&b).await;
    w.sync(&a).await;
    let (sa, sb) = (snapshot(&a.lock().unwrap()), snapshot(&b.lock().unwrap()));
    assert_eq!(sa, sb, "both books hold the same merged customer");
    let c = a.lock().unwrap().customer(&id).unwrap();
    assert_eq!(c.email.as_deref(), Some("zw@example.com"), "A's field kept");
    assert_eq!(c.shoe_size.as_deref(), Some("38"), "B's field kept");
    assert_eq!(
        c.ring_size.as_deref(),
        Some("13"),
        "the later edit of the same field wins"
    );
    let tags: Vec<String> = c.tags.iter().map(|t| t.name.clone()).collect();
    assert_eq!(tags, vec!["玫瑰金"], "A's removal and B's add both hold");
    assert_eq!(
        a.lock().unwrap().notes(&id).unwrap().len(),
        3,
        "notes from both sides"
    );

    // The losing ring size is kept on both sides and restores in one step.
    for bk in [&a, &b] {
        let conflicts = bk.lock().unwrap().conflicts().unwrap();
        assert_eq!(conflicts.len(), 1, "{conflicts:?}");
        assert_eq!(
            (
                conflicts[0].field.as_str(),
                conflicts[0].lost_value.as_str()
            ),
            ("ring_size", "\"12\"")
        );
    }
    let cid = a.lock().unwrap().conflicts().unwrap()[0].id;
    a.lock().unwrap().restore_conflict(cid).unwrap();
    w.sync(&a).await;
    w.sync(&b).await;
    for bk in [&a, &b] {
        let bk = bk.lock().unwrap();
        assert_eq!(bk.customer(&id).unwrap().ring_size.as_deref(), Some("12"));
        assert!(bk.conflicts().unwrap().is_empty(), "restored everywhere");
    }

    // A handover by the manager reaches both books.
    let done = w
        .admin
        .reassign("manager", "xiaolin", "ajie", &[])
        .await
        .unwrap();
    assert_eq!(done.customers, vec![id.clone()]);
    w.sync(&a).await;
    w.sync(&b).await;
    for bk in [&a, &b] {
        let bk = bk.lock().unwrap();
        assert_eq!(bk.customer(&id).unwrap().owner.as_deref(), Some("阿杰"));
        assert_eq!(
            bk.notes(&id).unwrap().len(),
            3,
            "history goes with the customer"
        );
    }
    assert_eq!(snapshot(&a.lock().unwrap()), snapshot(&b.lock().unwrap()));

    // An erasure on one laptop wipes the customer on the other.
    b.lock().unwrap().erase_customer(&id).unwrap();
    w.sync(&b).await;
    w.sync(&a).await;
    let mut al = a.lock().unwrap();
    assert!(al.search("张伟", 5).unwrap().is_empty());
    assert!(al.search("13800138000", 5).unwrap().is_empty());
    assert!(al.notes(&id).unwrap().is_empty());
    assert_eq!(al.customer(&id).unwrap().phone, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_store_sees_nothing_and_a_revoked_device_is_turned_away() {
    let w = world().await;
    let (a, o) = (book(at(10, 0)), book(at(10, 0)));
    w.login(&a, "xiaolin").await;
    w.login(&o, "other").await;
    a.lock()
        .unwrap()
        .add_customer(&[("name", "王芳")], false)
        .unwrap();
    w.sync(&a).await;
    assert_eq!(w.sync(&o).await.pulled, 0);
    assert_eq!(o.lock().unwrap().customer_count().unwrap(), 0);

    let device = a.lock().unwrap().device_id();
    w.admin.revoke_device("manager", device).await.unwrap();
    a.lock()
        .unwrap()
        .add_customer(&[("name", "李娜")], false)
        .unwrap();
    let err = sync_once(&a, &w.http).await.unwrap_err();
    assert_eq!(err.code(), "unauthorized");
    let status = a.lock().unwrap().sync_status().unwrap();
    assert_eq!(status.pending, 1, "the unsent change is kept");
    assert_eq!(
        status.last_error.map(|e| e.code).as_deref(),
        Some("unauthorized")
    );
    // Signing in again sends it.
    w.login(&a, "xiaolin").await;
    assert_eq!(w.sync(&a).await.pushed, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_laptop_whose_clock_runs_hours_ahead_does_not_win_forever() {
    let w = world().await;
    let fast = at(15, 0); // five hours ahead of the server
    let (a, f) = (book(at(10, 0)), book(fast.clone()));
    w.login(&a, "xiaolin").await;
    w.login(&f, "ajie").await;
    let id = a
        .lock()
        .unwrap()
        .add_customer(&[("name", "陈静")], false)
        .unwrap();
    w.sync(&a).await;
    w.sync(&f).await;
    f.lock()
        .unwrap()
        .edit_customer(&id, &[("ring_size", "11")])
        .unwrap();
    w.sync(&f).await;
    // The fast laptop has learnt the server's time.
    assert!(f.lock().unwrap().now() < Utc.with_ymd_and_hms(2026, 11, 24, 10, 1, 0).unwrap());
    w.sync(&a).await;
    a.lock()
        .unwrap()
        .edit_customer(&id, &[("ring_size", "12")])
        .unwrap();
    w.sync(&a).await;
    w.sync(&f).await;
    for bk in [&a, &f] {
        assert_eq!(
            bk.lock()
                .unwrap()
                .customer(&id)
                .unwrap()
                .ring_size
                .as_deref(),
            Some("12"),
            "a later edit wins"
        );
    }
    assert_eq!(snapshot(&a.lock().unwrap()), snapshot(&f.lock().unwrap()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hq_content_reaches_every_store() {
    let w = world().await;
    let (a, o) = (book(at(10, 0)), book(at(10, 0)));
    w.login(&a, "xiaolin").await;
    w.login(&o, "other").await;
    let items = parse_content(
        "id,kind,title,tags,price,skus\np1,product,玫瑰金手链,玫瑰金;手链,1299,RG-B1;RG-B2\n"
            .as_bytes(),
    )
    .unwrap();
    w.admin
        .publish_content("hq", items, "new.csv")
        .await
        .unwrap();
    assert_eq!(w.sync(&a).await.pulled, 1);
    assert_eq!(w.sync(&o).await.pulled, 1);
    let sa = snapshot(&a.lock().unwrap());
    assert_eq!(sa, snapshot(&o.lock().unwrap()));
    // The SKUs it stands for arrive with it, on every store's laptop.
    assert_eq!(
        a.lock().unwrap().content_item("p1").unwrap().skus,
        vec!["RG-B1", "RG-B2"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hq_talk_scripts_reach_every_store_and_an_associates_own_still_wins() {
    let w = world().await;
    let (a, o) = (book(at(10, 0)), book(at(10, 0)));
    w.login(&a, "xiaolin").await;
    w.login(&o, "other").await;
    let scripts = parse_scripts(
        "purpose,language,name,body\n\
         birthday,zh-Hans,总部生日,{name}，生日快乐！{associate}给您留了一份小礼物。\n\
         birthday,en,HQ birthday,\"Happy birthday, {name}!\"\n"
            .as_bytes(),
    )
    .unwrap();
    w.admin
        .publish_scripts("hq", scripts, "scripts.csv")
        .await
        .unwrap();
    assert_eq!(w.sync(&a).await.pulled, 2);
    assert_eq!(w.sync(&o).await.pulled, 2);
    let hq = lighttouch_outreach::Outreach::new()
        .talk_script(&a.lock().unwrap(), "birthday", "zh-Hans")
        .unwrap();
    assert_eq!(hq.source, "hq");
    assert_eq!(hq.body, "{name}，生日快乐！{associate}给您留了一份小礼物。");
    // Languages HQ did not send keep the app's defaults.
    assert_eq!(
        lighttouch_outreach::Outreach::new()
            .talk_script(&a.lock().unwrap(), "birthday", "zh-Hant")
            .unwrap()
            .source,
        "builtin"
    );

    // The associate's own wins over HQ's, on their laptop only; reset brings HQ's back.
    lighttouch_outreach::Outreach::new()
        .add_talk_script(
            &mut a.lock().unwrap(),
            "zh-Hans",
            "birthday",
            "我的",
            "{name}生日快乐！",
        )
        .unwrap();
    assert_eq!(
        lighttouch_outreach::Outreach::new()
            .talk_script(&a.lock().unwrap(), "birthday", "zh-Hans")
            .unwrap()
            .source,
        "own"
    );
    assert!(lighttouch_outreach::Outreach::new()
        .reset_talk_script(&mut a.lock().unwrap(), "birthday", "zh-Hans")
        .unwrap());
    assert_eq!(
        lighttouch_outreach::Outreach::new()
            .talk_script(&a.lock().unwrap(), "birthday", "zh-Hans")
            .unwrap()
            .body,
        hq.body
    );

    // Publishing again (later) replaces HQ's script rather than adding one.
    *w.server_clock.0.lock().unwrap() += chrono::Duration::minutes(5);
    let again = parse_scripts(
        "purpose,language,body\nbirthday,zh-Hans,{name}生日快乐，{associate}敬上\n".as_bytes(),
    )
    .unwrap();
    w.admin
        .publish_scripts("hq", again, "v2.csv")
        .await
        .unwrap();
    w.sync(&o).await;
    let o_scripts = lighttouch_outreach::Outreach::new()
        .talk_scripts(&o.lock().unwrap())
        .unwrap();
    let birthday: Vec<_> = o_scripts
        .iter()
        .filter(|s| s.purpose == "birthday" && s.language == "zh-Hans")
        .collect();
    assert_eq!(birthday.len(), 1);
    assert_eq!(birthday[0].body, "{name}生日快乐，{associate}敬上");
    assert_eq!(birthday[0].source, "hq");
}
