//! The `lighttouch` binary as scripts use it: real processes, a real book file.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

struct Book {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

fn book() -> Book {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("book.sqlite3");
    let b = Book { _dir: dir, path };
    ok(&b, &["init", "--associate", "小林"]);
    b
}

fn run(b: &Book, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lighttouch"))
        .arg("--db")
        .arg(&b.path)
        .args(args)
        .output()
        .unwrap()
}

fn ok(b: &Book, args: &[&str]) -> String {
    let out = run(b, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn json(b: &Book, args: &[&str]) -> Value {
    let mut a = vec!["--json"];
    a.extend_from_slice(args);
    serde_json::from_str(&ok(b, &a)).unwrap()
}

fn fails(b: &Book, args: &[&str]) -> String {
    let out = run(b, args);
    assert!(!out.status.success(), "{args:?} should fail");
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "{err}"
    );
    err
}

#[test]
fn a_customer_from_add_to_erase() {
    let b = book();
    let id = ok(
        &b,
        &[
            "add",
            "--name",
            "张伟",
            "--phone",
            "+86 138 0013 8000",
            "--wechat",
            "zw_88",
            "--birthday",
            "1990-05-12",
        ],
    );
    let id = id.trim();
    ok(
        &b,
        &[
            "edit",
            id,
            "--set",
            "stage=act",
            "--set",
            "consent_marketing=true",
            "--set",
            "birthday_calendar=lunar",
            "--set",
            "language=zh-Hans",
            "--set",
            "budget=premium",
            "--set",
            "do_not_contact=false",
            "--set",
            "gender=male",
            "--set",
            "email=zw@example.com",
            "--set",
            "anniversary=2015-10-01",
        ],
    );
    ok(&b, &["tag", "add", id, "pearl"]);
    ok(&b, &["note", "add", id, "喜欢简约款"]);
    let shown = json(&b, &["show", id]);
    assert_eq!(shown["name"], "张伟");
    assert_eq!(shown["phone"], "13800138000");
    assert_eq!(shown["stage"], "act");
    assert_eq!(shown["consent_marketing"], true);
    assert!(shown["consent_at"].is_string());
    assert_eq!(shown["birthday_calendar"], "lunar");
    assert_eq!(shown["anniversary"], "2015-10-01");
    assert_eq!(shown["tags"][0]["name"], "珍珠");
    assert_eq!(shown["notes"][0]["body"], "喜欢简约款");
    ok(
        &b,
        &["edit", id, "--set", "shoe_size=38", "--set", "ring_size=13"],
    );
    let text = ok(&b, &["show", id]);
    for line in [
        "shoe size     38",
        "ring size     13",
        "email         zw@example.com",
    ] {
        assert!(text.contains(line), "{line:?} not in:\n{text}");
    }
    for q in ["zhangwei", "zw", "張偉", "8000", "zw_88"] {
        let hits = json(&b, &["search", q]);
        assert_eq!(hits[0]["id"], id, "{q}");
        assert_eq!(hits[0]["name"], "张伟", "{q}");
    }
    ok(&b, &["tag", "remove", id, "珍珠"]);
    assert_eq!(json(&b, &["show", id])["tags"], serde_json::json!([]));
    ok(&b, &["erase", id]);
    assert!(json(&b, &["search", "zhangwei"])
        .as_array()
        .unwrap()
        .is_empty());
    assert!(json(&b, &["show", id])["erased_at"].is_string());
}

#[test]
fn merge_and_export() {
    let b = book();
    let a = ok(&b, &["add", "--name", "李娜", "--phone", "13900001111"]);
    let c = ok(&b, &["add", "--name", "李娜", "--wechat", "lina"]);
    ok(&b, &["note", "add", c.trim(), "second profile note"]);
    let merged = json(&b, &["merge", a.trim(), c.trim()]);
    assert_eq!(merged["wechat"], "lina");
    let exported = json(&b, &["export", "--format", "json"]);
    assert_eq!(exported["customers"].as_array().unwrap().len(), 1);
    assert_eq!(
        exported["customers"][0]["notes"][0]["body"],
        "second profile note"
    );
    let csv = ok(&b, &["export", "--customer", a.trim(), "--format", "csv"]);
    assert!(
        csv.starts_with("\u{feff}id,name,"),
        "a BOM for Excel, then the header: {csv}"
    );
    assert!(csv.contains("李娜"));
    let out = b.path.with_file_name("out.csv");
    ok(
        &b,
        &[
            "export",
            "--format",
            "csv",
            "--output",
            out.to_str().unwrap(),
        ],
    );
    assert!(std::fs::read_to_string(&out)
        .unwrap()
        .contains("13900001111"));
}

#[test]
fn import_with_dry_run_then_for_real() {
    let b = book();
    let file = b.path.with_file_name("customers.csv");
    std::fs::write(
        &file,
        "姓名,手机,生日\n陈小明,136 0000 1111,1988/3/4\n错误,abc,\n",
    )
    .unwrap();
    let f = file.to_str().unwrap();
    let dry = json(&b, &["import", "customers", f, "--dry-run"]);
    assert_eq!(
        (dry["created"].as_u64(), dry["rejected"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(dry["rejections"][0]["line"], 3);
    let err = fails(&b, &["import", "customers", f]);
    assert!(err.contains("line 3"), "{err}");
    assert!(json(&b, &["search", "chen"]).as_array().unwrap().is_empty());
    json(&b, &["import", "customers", f, "--skip-invalid"]);
    assert_eq!(json(&b, &["search", "cxm"])[0]["name"], "陈小明");

    let purchases = b.path.with_file_name("purchases.csv");
    std::fs::write(
        &purchases,
        "手机,日期,商品,金额\n13600001111,2026-01-05,珍珠耳钉,1280\n",
    )
    .unwrap();
    let r = json(&b, &["import", "purchases", purchases.to_str().unwrap()]);
    assert_eq!(r["created"], 1);
}

#[test]
fn demo_is_deterministic_and_searchable() {
    let a = book();
    let b = book();
    json(&a, &["demo", "--customers", "300", "--seed", "9"]);
    json(&b, &["demo", "--customers", "300", "--seed", "9"]);
    let names = |bk: &Book, q: &str| -> Vec<String> {
        json(bk, &["search", q, "--limit", "50"])
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["name"].as_str().unwrap().to_string())
            .collect()
    };
    for q in ["张", "wang", "珍珠", "chan"] {
        let found = names(&a, q);
        assert!(!found.is_empty(), "{q}");
        assert_eq!(found, names(&b, q), "{q}");
    }
    assert_eq!(
        names(&a, "張"),
        names(&a, "张"),
        "both scripts find the same people"
    );
}

#[test]
fn bad_input_gets_one_clear_line_and_a_non_zero_exit() {
    let b = book();
    assert!(fails(&b, &["show", "no-such-id"]).contains("no customer with id no-such-id"));
    assert!(fails(&b, &["import", "customers", "/no/such/file.csv"]).contains("/no/such/file.csv"));
    assert!(fails(&b, &["add", "--name", "x", "--phone", "12"]).contains("phone"));
    assert!(fails(&b, &["edit", "nope", "--set", "stage=act"]).contains("no customer"));
    let id = ok(&b, &["add", "--name", "王芳"]);
    assert!(fails(&b, &["edit", id.trim(), "--set", "shoe=37"]).contains("unknown field"));
    assert!(fails(&b, &["edit", id.trim(), "--set", "stage"]).contains("FIELD=VALUE"));
    let malformed = b.path.with_file_name("bad.csv");
    std::fs::write(&malformed, b"\xff\xfe\x00garbage\x00").unwrap();
    fails(&b, &["import", "customers", malformed.to_str().unwrap()]);

    let out = run(&b, &["--json", "show", "nope"]);
    let err: Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(err["code"], "customer_not_found");

    let missing_dir = tempfile::tempdir().unwrap();
    let missing_path = missing_dir.path().join("not/here.sqlite3");
    let missing = Book {
        _dir: missing_dir,
        path: missing_path.clone(),
    };
    assert!(fails(&missing, &["search", "x"]).contains("lighttouch init"));
    assert!(!missing_path.exists());

    let newer = book();
    set_user_version(&newer.path, 999);
    assert!(fails(&newer, &["search", "x"]).contains("newer Lighttouch"));
}

/// Simulates a book written by a future version: the SQLite header keeps
/// `user_version` at offset 60, big endian.
fn set_user_version(path: &Path, v: u32) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[60..64].copy_from_slice(&v.to_be_bytes());
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn the_environment_names_the_book() {
    let b = book();
    let out = Command::new(env!("CARGO_BIN_EXE_lighttouch"))
        .env("LIGHTTOUCH_DB", &b.path)
        .args(["--json", "add", "--name", "环境变量"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(json(&b, &["search", "huanjing"])[0]["name"], "环境变量");
}

#[test]
fn content_suggestions_drafts_and_the_daily_queue_from_the_command_line() {
    let b = book();
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("content.csv");
    std::fs::write(
        &csv,
        "id,kind,title,body,tags,category,price,valid_from,valid_until\n\
         p-rose,product,玫瑰金项链,,玫瑰金;项链,项链,3280,2026-11-20,\n\
         p-pearl,product,珍珠耳钉,,珍珠;耳饰,耳饰,1280,2026-10-01,\n",
    )
    .unwrap();
    let json_file = dir.path().join("content.json");
    std::fs::write(
        &json_file,
        r#"[{"id":"s-xmas","kind":"story","title":"圣诞礼物指南","tags":["圣诞","送礼"],"valid_from":"2026-11-15","valid_until":"2026-12-26"}]"#,
    )
    .unwrap();
    let r = json(&b, &["content", "import", csv.to_str().unwrap()]);
    assert_eq!(r["added"], 2);
    json(&b, &["content", "import", json_file.to_str().unwrap()]);
    let id = ok(
        &b,
        &[
            "add",
            "--name",
            "王丽",
            "--gender",
            "female",
            "--birthday",
            "1990-11-28",
            "--set",
            "consent_marketing=yes",
            "--set",
            "budget=mid",
        ],
    )
    .trim()
    .to_string();
    ok(&b, &["tag", "add", &id, "玫瑰金"]);

    let s = json(
        &b,
        &["suggest", &id, "--date", "2026-11-24", "--limit", "2"],
    );
    let first = &s[0];
    assert_eq!(first["content_id"], "p-rose");
    assert!(first["score"].as_f64().unwrap() > 0.0);
    let reasons: Vec<&str> = first["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert!(
        reasons.contains(&"喜欢玫瑰金") && reasons.contains(&"生日还有 4 天"),
        "{reasons:?}"
    );

    let a = json(&b, &["audience", "p-rose", "--date", "2026-11-24"]);
    assert_eq!(a[0]["customer_id"], id.as_str());
    assert_eq!(a[0]["name"], "王丽");
    assert!(a[0]["draft"].as_str().unwrap().starts_with("王女士您好"));

    let d = json(&b, &["draft", &id, "p-rose", "--date", "2026-11-24"]);
    assert_eq!(d["language"], "zh-Hans");
    assert!(d["body"].as_str().unwrap().contains("玫瑰金项链"));

    let q = json(&b, &["today", "--date", "2026-11-24"]);
    assert_eq!(q[0]["kind"], "birthday");
    assert_eq!(q[0]["customer_id"], id.as_str());
    assert!(q[0]["draft"].as_str().unwrap().contains("生日快乐"));

    // A logged outreach holds further promotions for the week.
    json(
        &b,
        &[
            "touch",
            "add",
            &id,
            "--channel",
            "wecom",
            "--kind",
            "outreach",
            "--at",
            "2026-11-23T10:00:00+08:00",
        ],
    );
    let s = json(&b, &["suggest", &id, "--date", "2026-11-24"]);
    assert_eq!(s.as_array().unwrap().len(), 0, "capped: {s}");
    let err = fails(
        &b,
        &["touch", "add", &id, "--channel", "wecom", "--kind", "blast"],
    );
    assert!(err.contains("kind"), "{err}");

    let e = json(&b, &["eval", "--customers", "300"]);
    let new = &e["new_items"];
    assert!(new["customers"].as_u64().unwrap() > 0, "{e}");
    assert!(
        new["recommender"]["hit_rate_at_5"].as_f64().unwrap()
            > new["most_popular"]["hit_rate_at_5"].as_f64().unwrap(),
        "{e}"
    );
}

#[test]
fn eval_refuses_purchases_that_do_not_map_and_says_how_many_and_why() {
    let b = book();
    let dir = tempfile::tempdir().unwrap();
    let customers = dir.path().join("members.csv");
    let purchases = dir.path().join("pos.csv");
    std::fs::write(
        &customers,
        "姓名,手机\n王芳,13900000001\n李娜,13900000002\n",
    )
    .unwrap();
    let mut pos = String::from("会员手机号,订单号,交易时间,商品编码,商品名称,品类,数量,实付金额\n");
    for (i, phone) in [
        "13900000001",
        "13900000002",
        "13700000000",
        "13700000000",
        "",
    ]
    .iter()
    .enumerate()
    {
        pos.push_str(&format!(
            "{phone},A{i},2026-0{}-1{i} 14:03:27,SKU{i},古法金手镯,手镯,1,¥1280.00\n",
            i + 1
        ));
    }
    std::fs::write(&purchases, &pos).unwrap();
    let (c, p) = (customers.to_str().unwrap(), purchases.to_str().unwrap());
    let err = fails(&b, &["eval", "--purchases", p, "--customers-file", c]);
    assert!(err.contains("3 of 5 purchase rows"), "{err}");
    assert!(err.contains("2 × no customer with phone"), "{err}");
    assert!(
        err.contains("1 × no customer ID, phone or WeChat ID"),
        "{err}"
    );
    assert!(err.contains("--skip-invalid"), "{err}");
    // With no member file at all, nothing maps: an error, never "0.0%".
    let err = fails(&b, &["eval", "--purchases", p]);
    assert!(
        err.contains("5 of 5 purchase rows") && err.contains("nothing left"),
        "{err}"
    );
    // Told to go on, it evaluates what maps (here too little to learn from: said so).
    let out = run(
        &b,
        &[
            "eval",
            "--purchases",
            p,
            "--customers-file",
            c,
            "--skip-invalid",
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("evaluating on the rest"), "{err}");
    assert!(err.contains("both before"), "{err}");
    // A split day that is not a day is named as such.
    let err = fails(&b, &["eval", "--purchases", p, "--split", "2026-13-01"]);
    assert!(
        err.contains("--split") && err.contains("YYYY-MM-DD"),
        "{err}"
    );
}

#[test]
fn talk_scripts_and_reminders_from_the_command_line() {
    let b = book();
    let id = ok(&b, &["add", "--name", "周芳", "--gender", "female"])
        .trim()
        .to_string();
    ok(
        &b,
        &["follow-up", &id, "--on", "2026-11-24", "--note", "问问婚期"],
    );

    let hq = json(&b, &["scripts", "list", "--lang", "zh-Hans"]);
    let all = hq.as_array().unwrap();
    assert!(all.len() >= 8 && all.iter().all(|s| s["source"] == "builtin"));
    let err = fails(
        &b,
        &[
            "scripts",
            "set",
            "recommend",
            "--lang",
            "zh-Hans",
            "{nmae}好",
        ],
    );
    assert!(err.contains("{nmae}"), "{err}");
    let set = json(
        &b,
        &[
            "scripts",
            "set",
            "recommend",
            "--lang",
            "zh-Hans",
            "{name}好，{product}到了",
        ],
    );
    assert!(set["script_id"].is_string());
    let mine = json(&b, &["scripts", "list", "--lang", "zh-Hans"]);
    let rec = mine
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["purpose"] == "recommend")
        .unwrap();
    assert_eq!(rec["body"], "{name}好，{product}到了");
    assert_eq!(
        json(&b, &["scripts", "reset", "recommend", "--lang", "zh-Hans"])["reset"],
        true
    );

    // Before the reminder time: nothing. At it: the digest and the follow-up, once.
    let early = json(&b, &["reminders", "--now", "2026-11-24T08:00"]);
    assert_eq!(early.as_array().unwrap().len(), 0);
    let due = json(&b, &["reminders", "--now", "2026-11-24T09:45"]);
    assert_eq!(due.as_array().unwrap().len(), 2, "{due}");
    assert_eq!(due[1]["customer_id"], id.as_str());
    let again = json(&b, &["reminders", "--now", "2026-11-24T10:00"]);
    assert_eq!(again.as_array().unwrap().len(), 0);
    let set = json(&b, &["reminders", "--at", "07:30"]);
    assert_eq!(set["at"], "07:30");
    let err = fails(&b, &["reminders", "--at", "7 o'clock"]);
    assert!(err.contains("at"), "{err}");
}
