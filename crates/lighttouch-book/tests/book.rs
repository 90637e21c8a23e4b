//! The book through its public API: the write path, notes, merge, erasure,
//! import, export and migrations.

use lighttouch_book::export::ExportFormat;
use lighttouch_book::history::{NewPurchase, NewTouchpoint};
use lighttouch_book::import::ImportOptions;
use lighttouch_book::store::{migrate_to, SCHEMA_VERSION};
use lighttouch_book::{Book, BookError, ManualClock, OpenMode};
use std::sync::Arc;

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new("2026-11-24T09:00:00Z".parse().unwrap()))
}

fn book() -> Book {
    let mut b = Book::open_in_memory(clock()).unwrap();
    b.set_associate("小林").unwrap();
    b
}

fn changes(b: &Book) -> Vec<lighttouch_book::changes::Change> {
    b.changes_since(0, 100_000).unwrap()
}

#[test]
fn every_write_is_recorded_in_order_with_increasing_clocks() {
    let mut b = book();
    let id = b
        .add_customer(&[("name", "张伟"), ("phone", "13800138000")], false)
        .unwrap();
    b.edit_customer(&id, &[("stage", "ask"), ("email", "w@example.com")])
        .unwrap();
    b.tag_customer(&id, "珍珠").unwrap();
    b.untag_customer(&id, "珍珠").unwrap();
    let c = changes(&b);
    let ops: Vec<(&str, &str, Option<&str>)> = c
        .iter()
        .map(|c| (c.entity.as_str(), c.op.as_str(), c.field.as_deref()))
        .collect();
    assert_eq!(
        ops,
        vec![
            ("customer", "insert", None),
            ("customer", "set", Some("stage")),
            ("customer", "set", Some("email")),
            ("tag", "insert", None),
            ("customer_tag", "add", None),
            ("customer_tag", "remove", None),
        ]
    );
    let seqs: Vec<i64> = c.iter().map(|c| c.seq).collect();
    assert_eq!(seqs, (1..=6).collect::<Vec<_>>(), "gap-free");
    assert!(
        c.windows(2).all(|w| w[0].hlc < w[1].hlc),
        "clocks increase even within one millisecond"
    );
    // A write that changes nothing records nothing.
    b.edit_customer(&id, &[("stage", "ask")]).unwrap();
    assert_eq!(changes(&b).len(), 6);
}

#[test]
fn a_failed_write_leaves_nothing_behind() {
    let mut b = book();
    let id = b.add_customer(&[("name", "张伟")], false).unwrap();
    let before = changes(&b).len();
    // The second field is invalid: the first must not be written either.
    let err = b
        .edit_customer(&id, &[("stage", "ask"), ("phone", "not a phone")])
        .unwrap_err();
    assert_eq!(err.code(), "invalid_field");
    assert_eq!(b.customer(&id).unwrap().stage, None);
    // A failure inside the transaction rolls everything back, sequence numbers included.
    let r: Result<(), BookError> = b.write(|w| {
        w.update(
            lighttouch_book::changes::Entity::Customer,
            &id,
            "stage",
            &"act".into(),
        )?;
        Err(BookError::InvalidInput("boom".into()))
    });
    assert!(r.is_err());
    assert_eq!(b.customer(&id).unwrap().stage, None);
    assert_eq!(changes(&b).len(), before);
    b.edit_customer(&id, &[("stage", "act")]).unwrap();
    assert_eq!(changes(&b).last().unwrap().seq, before as i64 + 1);
}

#[test]
fn editing_a_note_keeps_the_earlier_text() {
    let mut b = book();
    let id = b.add_customer(&[("name", "李娜")], false).unwrap();
    let note = b.add_note(&id, "喜欢珍珠").unwrap();
    let edited = b.edit_note(&note.id, "喜欢珍珠，尤其是巴洛克珍珠").unwrap();
    assert_eq!(edited.body, "喜欢珍珠，尤其是巴洛克珍珠");
    let texts: Vec<&str> = edited.revisions.iter().map(|r| r.body.as_str()).collect();
    assert_eq!(texts, vec!["喜欢珍珠", "喜欢珍珠，尤其是巴洛克珍珠"]);
    assert_eq!(edited.author.as_deref(), Some("小林"));
    assert!(b.add_note(&id, "   ").is_err());
}

#[test]
fn merging_keeps_everything_of_both() {
    let mut b = book();
    let a = b
        .add_customer(
            &[("name", "张伟"), ("phone", "13800138000"), ("stage", "act")],
            false,
        )
        .unwrap();
    let c = b
        .add_customer(
            &[
                ("name", "張偉"),
                ("wechat", "zw88"),
                ("birthday", "农历八月十五"),
                ("stage", "ask"),
                ("preferred_metals", "铂金"),
            ],
            false,
        )
        .unwrap();
    b.edit_customer(&a, &[("preferred_metals", "玫瑰金")])
        .unwrap();
    b.tag_customer(&a, "珍珠").unwrap();
    b.tag_customer(&c, "情侣").unwrap();
    b.add_note(&a, "note a").unwrap();
    b.add_note(&c, "note c").unwrap();
    b.add_purchase(
        &c,
        &NewPurchase {
            purchased_on: "2026-03-08".into(),
            product: "钻石对戒".into(),
            quantity: 1,
            ..Default::default()
        },
    )
    .unwrap();
    b.add_touchpoint(
        &c,
        &NewTouchpoint {
            at: "2026-11-01T10:00:00Z".into(),
            channel: "wecom".into(),
            kind: "service".into(),
            content_id: None,
            message: None,
        },
    )
    .unwrap();

    let merged = b.merge_customers(&a, &c).unwrap();
    assert_eq!(merged.name, "张伟");
    assert_eq!(
        merged.stage.as_deref(),
        Some("act"),
        "the kept profile's fields win"
    );
    assert_eq!(
        merged.wechat.as_deref(),
        Some("zw88"),
        "empty fields are filled"
    );
    assert_eq!(merged.birthday.as_deref(), Some("--08-15"));
    assert_eq!(
        merged.birthday_calendar, "lunar",
        "a date brings its calendar"
    );
    assert_eq!(merged.preferred_metals, vec!["玫瑰金", "铂金"]);
    let tags: Vec<&str> = merged.tags.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(tags.len(), 2, "{tags:?}");
    let record = b.customer_record(&a).unwrap();
    assert_eq!(record.notes.len(), 2);
    assert_eq!(record.purchases.len(), 1);
    assert_eq!(record.touchpoints.len(), 1);
    assert_eq!(
        b.customer(&c).unwrap().merged_into.as_deref(),
        Some(a.as_str())
    );
    assert_eq!(b.customer_count().unwrap(), 1);
    assert!(b.merge_customers(&a, &a).is_err());
    assert!(b.merge_customers(&a, &c).is_err(), "already merged");
}

/// Every value of every table, as text.
fn dump_book(b: &Book) -> String {
    use rusqlite::types::ValueRef;
    let conn = b.connection();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|t| t.unwrap())
        .collect();
    let mut out = String::new();
    for table in tables {
        let mut stmt = conn.prepare(&format!("SELECT * FROM \"{table}\"")).unwrap();
        let n = stmt.column_count();
        let mut rows = stmt.query([]).unwrap();
        while let Some(r) = rows.next().unwrap() {
            for i in 0..n {
                match r.get_ref(i).unwrap() {
                    ValueRef::Text(t) | ValueRef::Blob(t) => {
                        out.push_str(&String::from_utf8_lossy(t))
                    }
                    ValueRef::Integer(v) => out.push_str(&v.to_string()),
                    ValueRef::Real(v) => out.push_str(&v.to_string()),
                    ValueRef::Null => {}
                }
                out.push('|');
            }
        }
    }
    out
}

#[test]
fn erasing_removes_personal_data_not_just_hides_it() {
    let mut b = book();
    let id = b
        .add_customer(
            &[
                ("name", "王秘密"),
                ("phone", "13900001111"),
                ("email", "secret@example.com"),
            ],
            false,
        )
        .unwrap();
    b.add_note(&id, "住在秘密花园小区").unwrap();
    b.tag_customer(&id, "珍珠").unwrap();
    b.add_purchase(
        &id,
        &NewPurchase {
            purchased_on: "2026-01-02".into(),
            product: "珍珠耳钉".into(),
            quantity: 1,
            ..Default::default()
        },
    )
    .unwrap();
    let secrets = ["王秘密", "13900001111", "secret@example", "秘密花园"];
    for secret in secrets {
        assert!(
            dump_book(&b).contains(secret),
            "control: {secret} is stored before the erasure"
        );
    }
    b.erase_customer(&id).unwrap();
    let c = b.customer(&id).unwrap();
    assert!(c.erased_at.is_some());
    assert_eq!((c.name.as_str(), c.phone, c.email), ("", None, None));
    assert!(b.notes(&id).unwrap().is_empty());
    assert!(b.purchases(&id).unwrap().is_empty());
    // Nothing personal is left anywhere in the database, the outbox included.
    let after = dump_book(&b);
    for secret in secrets {
        assert!(!after.contains(secret), "{secret} left in the book");
    }
    assert_eq!(changes(&b).last().unwrap().op, "erase");
    assert!(
        b.add_note(&id, "again").is_err(),
        "an erased customer takes no new data"
    );
}

#[test]
fn import_dry_run_reports_and_writes_nothing_then_imports_in_one_go() {
    let mut b = book();
    let existing = b
        .add_customer(&[("name", "张伟"), ("phone", "13800138000")], false)
        .unwrap();
    let csv = "会员导出 2026-11-01\n\
               姓名,手机号码,微信号,生日,性别,标签,备注,积分\n\
               李娜,138-0013-9000,lina88,1990年5月12日,女,珍珠;情侣,喜欢简约,120\n\
               张伟,+86 138 0013 8000,,农历八月十五,男,VIP,老客户,10\n\
               李娜,,lina88,,,钻石,,0\n\
               王芳,12345,,,,,,0\n\
               ,13900000000,,,,,,0\n\
               赵敏,13700001111,,1990-02-30,,,,\n";
    let dry = b
        .import_customers(
            csv.as_bytes(),
            ImportOptions {
                dry_run: true,
                skip_invalid: false,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(
        (dry.rows, dry.created, dry.merged, dry.rejected),
        (6, 1, 2, 3)
    );
    let lines: Vec<usize> = dry.rejections.iter().map(|r| r.line).collect();
    assert_eq!(lines, vec![6, 7, 8]);
    assert!(
        dry.rejections[0].reason.contains("phone"),
        "{:?}",
        dry.rejections[0]
    );
    assert!(dry.rejections[1].reason.contains("name"));
    assert!(dry.rejections[2].reason.contains("birthday"));
    assert_eq!(
        dry.merges[0].customer_id.as_deref(),
        Some(existing.as_str())
    );
    assert_eq!(dry.merges[1].same_as_line, Some(3));
    assert!(dry
        .columns
        .iter()
        .any(|c| c.header == "积分" && c.field.is_none()));
    assert_eq!(b.customer_count().unwrap(), 1, "a dry run writes nothing");

    let before = b.changes_since(0, 1_000_000).unwrap().len();
    let err = b
        .import_customers(csv.as_bytes(), ImportOptions::default())
        .unwrap_err();
    assert!(err.to_string().contains("line 6"), "{err}");
    assert_eq!(
        b.changes_since(0, 1_000_000).unwrap().len(),
        before,
        "nothing half-imported"
    );

    let done = b
        .import_customers(
            csv.as_bytes(),
            ImportOptions {
                dry_run: false,
                skip_invalid: true,
                ..Default::default()
            },
        )
        .unwrap();
    assert!(done.applied);
    assert_eq!(b.customer_count().unwrap(), 2);
    let lina = b.customer(&done.created_ids[0]).unwrap();
    assert_eq!(
        (lina.birthday.as_deref(), lina.gender.as_deref()),
        (Some("1990-05-12"), Some("female"))
    );
    let tags: Vec<&str> = lina.tags.iter().map(|t| t.name.as_str()).collect();
    assert!(tags.contains(&"珍珠") && tags.contains(&"钻石"), "{tags:?}");
    let zw = b.customer(&existing).unwrap();
    assert_eq!(
        (zw.birthday.as_deref(), zw.birthday_calendar.as_str()),
        (Some("--08-15"), "lunar")
    );
    assert_eq!(b.notes(&existing).unwrap()[0].body, "老客户");

    // Importing the same file again creates no copies.
    let again = b
        .import_customers(
            csv.as_bytes(),
            ImportOptions {
                dry_run: false,
                skip_invalid: true,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!((again.created, again.merged), (0, 3));
    assert_eq!(b.customer_count().unwrap(), 2);
    assert_eq!(
        b.notes(&existing).unwrap().len(),
        1,
        "the same note is not added twice"
    );
}

#[test]
fn import_reads_gb18030_and_tabs_and_bom() {
    let mut b = book();
    let text = "姓名\t手机\n陈小明\t13600001111\n";
    let (gbk, _, _) = encoding_rs::GB18030.encode(text);
    let r = b.import_customers(&gbk, ImportOptions::default()).unwrap();
    assert_eq!((r.encoding.as_str(), r.created), ("GB18030", 1));
    let mut bom = vec![0xef, 0xbb, 0xbf];
    bom.extend_from_slice("姓名,手机\n林小红,13600002222\n".as_bytes());
    let r = b.import_customers(&bom, ImportOptions::default()).unwrap();
    assert_eq!(r.created, 1);
    assert_eq!(b.search("chenxiaoming", 5).unwrap()[0].name, "陈小明");
    let err = b
        .import_customers(b"\x00\x01\x02", ImportOptions::default())
        .unwrap_err();
    assert_eq!(err.code(), "import_failed");
    let err = b
        .import_customers("a,b\n1,2\n".as_bytes(), ImportOptions::default())
        .unwrap_err();
    assert!(err.to_string().contains("header"), "{err}");
}

#[test]
fn purchases_import_matches_customers_and_is_idempotent() {
    let mut b = book();
    let id = b
        .add_customer(&[("name", "张伟"), ("phone", "13800138000")], false)
        .unwrap();
    let csv = "订单号,手机,下单时间,商品名称,货号,数量,实付金额\n\
               SO1,13800138000,2026-03-08 14:22:00,钻石对戒,SKU-1,1,\"¥15,800.00\"\n\
               SO1,13800138000,2026-03-08 14:22:00,珍珠耳钉,SKU-2,2,1280\n\
               SO2,13999999999,2026-03-09,珍珠耳钉,SKU-2,1,1280\n";
    let r = b
        .import_purchases(
            csv.as_bytes(),
            ImportOptions {
                dry_run: false,
                skip_invalid: true,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!((r.created, r.rejected), (2, 1));
    assert!(
        r.rejections[0].reason.contains("no customer"),
        "{:?}",
        r.rejections
    );
    let p = b.purchases(&id).unwrap();
    assert_eq!(p.len(), 2);
    assert!(p
        .iter()
        .any(|p| p.amount_cents == Some(1_580_000) && p.purchased_on == "2026-03-08"));
    let again = b
        .import_purchases(
            csv.as_bytes(),
            ImportOptions {
                dry_run: false,
                skip_invalid: true,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!((again.created, again.already_present), (0, 2));
    assert_eq!(b.purchases(&id).unwrap().len(), 2);
}

#[test]
fn export_round_trips_through_import() {
    let mut a = book();
    let id = a
        .add_customer(
            &[
                ("name", "歐陽娜娜"),
                ("phone", "13900001111"),
                ("birthday", "农历正月初一"),
                ("consent_marketing", "true"),
                ("preferred_metals", "玫瑰金;铂金"),
            ],
            false,
        )
        .unwrap();
    a.tag_customer(&id, "情侣").unwrap();
    a.add_note(&id, "多行\n备注, 带逗号").unwrap();
    let mut csv = Vec::new();
    a.export(None, ExportFormat::Csv, &mut csv).unwrap();
    assert!(
        csv.starts_with("\u{feff}id,name,".as_bytes()),
        "a BOM for Excel, then the header"
    );
    let mut b = book();
    let r = b.import_customers(&csv, ImportOptions::default()).unwrap();
    assert_eq!((r.created, r.rejected), (1, 0), "{r:?}");
    let copy = b.customer(&r.created_ids[0]).unwrap();
    let orig = a.customer(&id).unwrap();
    assert_eq!(copy.name, orig.name);
    assert_eq!(copy.birthday, orig.birthday);
    assert_eq!(copy.birthday_calendar, "lunar");
    assert_eq!(copy.preferred_metals, orig.preferred_metals);
    assert!(copy.consent_marketing);
    assert_eq!(copy.tags.len(), 1);
    assert_eq!(b.notes(&copy.id).unwrap()[0].body, "多行\n备注, 带逗号");

    let mut json = Vec::new();
    a.export(Some(&id), ExportFormat::Json, &mut json).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(v["customers"][0]["name"], "歐陽娜娜");
    assert_eq!(v["customers"][0]["notes"][0]["body"], "多行\n备注, 带逗号");
    assert_eq!(v["customers"][0]["tags"][0]["name"], "情侣");
}

#[test]
fn every_migration_runs_on_a_book_made_by_the_previous_version() {
    for version in 1..=SCHEMA_VERSION {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.sqlite3");
        {
            let mut conn = rusqlite::Connection::open(&path).unwrap();
            migrate_to(&mut conn, version - 1).unwrap();
            let v: i64 = conn
                .pragma_query_value(None, "user_version", |r| r.get(0))
                .unwrap();
            assert_eq!(v, version - 1);
        }
        // A book at the previous version, with data when it has tables,
        // written as that version wrote it (raw SQL, not today's code; its
        // stamps were MILLIS-COUNTER-NODE with a 32-hex node, as today).
        if version > 1 {
            let conn = rusqlite::Connection::open(&path).unwrap();
            conn.execute(
                "INSERT INTO customers(id, hlc, name, created_at)
                 VALUES ('old-1', '0000000000001-000000-000000000000000000000000000000a1', '老客', '2025-01-01T00:00:00Z')",
                [],
            )
            .unwrap();
            conn.execute_batch(
                "INSERT INTO changes(hlc, entity, row_id, op, field, value)
                 VALUES ('0000000000002-000000-000000000000000000000000000000a1', 'customer', 'old-1', 'set', 'ring_size', '\"12\"');
                 INSERT INTO field_clocks(entity, row_id, field, hlc)
                 VALUES ('customer', 'old-1', 'ring_size', '0000000000002-000000-000000000000000000000000000000a1');",
            )
            .unwrap();
        }
        let book = Book::open(&path, OpenMode::MustExist, clock()).unwrap();
        assert_eq!(book.schema_version().unwrap(), SCHEMA_VERSION);
        if version > 1 {
            assert_eq!(
                book.customer("old-1").unwrap().name,
                "老客",
                "data survives"
            );
            // Unsent changes from before sync existed still go out.
            let pending = book.push_batch(10).unwrap().unwrap();
            assert_eq!(pending.changes[0].field.as_deref(), Some("ring_size"));
            assert_eq!(pending.changes[0].op, "set");
            assert_eq!(pending.changes[0].base, None);
        }
    }
}

#[test]
fn a_book_from_a_newer_version_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.sqlite3");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
    }
    let err = Book::open(&path, OpenMode::MustExist, clock()).unwrap_err();
    assert_eq!(err.code(), "newer_schema");
    assert!(err.to_string().contains("newer Lighttouch"), "{err}");
    let conn = rusqlite::Connection::open(&path).unwrap();
    let v: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(v, SCHEMA_VERSION + 1);
}

#[test]
fn a_file_that_is_not_a_book_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    std::fs::write(
        &path,
        "just some text, long enough to not be an empty database file",
    )
    .unwrap();
    let err = Book::open(&path, OpenMode::MustExist, clock()).unwrap_err();
    assert_eq!(err.code(), "not_a_book", "{err}");
    let missing = dir.path().join("missing.sqlite3");
    assert!(Book::open(&missing, OpenMode::MustExist, clock()).is_err());
    assert!(!missing.exists());
}

#[test]
fn a_committed_write_survives_a_reopen_and_the_device_keeps_its_id() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("book.sqlite3");
    let (id, device, last) = {
        let mut b = Book::open(&path, OpenMode::CreateIfMissing, clock()).unwrap();
        let id = b.add_customer(&[("name", "张伟")], false).unwrap();
        (
            id,
            b.device_id(),
            b.changes_since(0, 10).unwrap().last().unwrap().hlc.clone(),
        )
    };
    // The wall clock went back an hour: new stamps must still be later.
    let early = Arc::new(ManualClock::new("2026-11-24T08:00:00Z".parse().unwrap()));
    let mut b = Book::open(&path, OpenMode::MustExist, early).unwrap();
    assert_eq!(b.device_id(), device);
    b.edit_customer(&id, &[("stage", "act")]).unwrap();
    let newest = b.changes_since(0, 10).unwrap().last().unwrap().hlc.clone();
    assert!(newest > last, "{newest} <= {last}");
}

#[test]
fn an_import_can_be_undone_without_touching_later_edits() {
    let mut b = book();
    let existing = b
        .add_customer(&[("name", "张伟"), ("phone", "13800138000")], false)
        .unwrap();
    b.tag_customer(&existing, "珍珠").unwrap();
    let csv = "姓名,手机,邮箱,戒圈,标签,备注\n\
               张伟,13800138000,zw@example.com,12,珍珠;情侣,老客户\n\
               李娜,13900001111,,,VIP,新客\n";
    let r = b
        .import_customers(csv.as_bytes(), ImportOptions::default())
        .unwrap();
    let batch = r.batch_id.clone().expect("a real import is recorded");
    assert_eq!((r.created, r.merged), (1, 1));
    // After the import, the associate changes one of the imported fields.
    b.edit_customer(&existing, &[("ring_size", "13")]).unwrap();

    let undo = b.undo_import(&batch).unwrap();
    assert_eq!(undo.customers_removed, 1);
    assert_eq!((undo.fields_cleared, undo.fields_kept), (1, 1));
    assert_eq!((undo.tags_removed, undo.notes_removed), (1, 1));
    let c = b.customer(&existing).unwrap();
    assert_eq!(c.email, None, "imported email is gone");
    assert_eq!(c.ring_size.as_deref(), Some("13"), "a later edit is kept");
    let tags: Vec<String> = c.tags.iter().map(|t| t.name.clone()).collect();
    assert_eq!(
        tags,
        ["珍珠"],
        "the tag it had before stays, the imported one goes"
    );
    assert!(b.notes(&existing).unwrap().is_empty());
    assert_eq!(b.customer_count().unwrap(), 1);
    assert!(b.search("lina", 5).unwrap().is_empty());
    assert_eq!(b.undo_import(&batch).unwrap_err().code(), "invalid_input");
    let batches = b.import_batches().unwrap();
    assert_eq!(batches.len(), 1);
    assert!(batches[0].undone_at.is_some());
    // The undo synced as ordinary changes: the outbox grew, nothing was deleted from it.
    assert!(b
        .changes_since(0, 100_000)
        .unwrap()
        .iter()
        .any(|c| c.op == "erase"));
}

#[test]
fn an_import_uses_the_column_mapping_the_associate_chose() {
    let mut b = book();
    let csv = "客户,联系方式,备用\n欧阳娜娜,13912345678,nana@example.com\n";
    let auto = b
        .import_customers(
            csv.as_bytes(),
            ImportOptions {
                dry_run: true,
                ..Default::default()
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        auto.preview,
        vec![vec!["欧阳娜娜", "13912345678", "nana@example.com"]]
    );
    let chosen = |cols: &[Option<&str>]| ImportOptions {
        columns: Some(cols.iter().map(|c| c.map(String::from)).collect()),
        ..Default::default()
    };
    let r = b
        .import_customers(
            csv.as_bytes(),
            chosen(&[Some("name"), Some("phone"), Some("email")]),
        )
        .unwrap();
    assert_eq!(r.created, 1);
    let c = b.customer(&r.created_ids[0]).unwrap();
    assert_eq!(
        (c.phone.as_deref(), c.email.as_deref()),
        (Some("13912345678"), Some("nana@example.com"))
    );
    for (cols, why) in [
        (vec![Some("name"), Some("phone")], "columns"),
        (vec![Some("name"), Some("height"), None], "height"),
        (vec![Some("phone"), Some("phone"), None], "already taken"),
        (vec![None, Some("phone"), None], "name"),
    ] {
        let e = b
            .import_customers(csv.as_bytes(), chosen(&cols))
            .unwrap_err();
        assert_eq!(e.code(), "invalid_input");
        assert!(e.to_string().contains(why), "{e}");
    }
}

#[test]
fn an_import_reports_its_progress_in_steps_up_to_every_row() {
    let mut b = book();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("customers.csv");
    let mut csv = String::from("姓名,手机\n");
    for i in 0..250 {
        csv.push_str(&format!("顾客{i},139{i:08}\n"));
    }
    std::fs::write(&path, csv).unwrap();
    let mut seen = Vec::new();
    let dry = b
        .import_customers_file_with_progress(
            &path,
            ImportOptions {
                dry_run: true,
                ..Default::default()
            },
            &mut |p| seen.push(p),
        )
        .unwrap();
    assert_eq!(dry.created, 250);
    assert!(seen.is_empty(), "a dry run writes nothing: {seen:?}");
    let report = b
        .import_customers_file_with_progress(&path, ImportOptions::default(), &mut |p| seen.push(p))
        .unwrap();
    assert_eq!(report.created, 250);
    // Every 2 rows (1% of 250), rising, ending at the total.
    assert_eq!(seen.len(), 125);
    assert!(seen.windows(2).all(|w| w[0].done < w[1].done));
    assert!(seen.iter().all(|p| p.total == 250));
    assert_eq!(seen.last().map(|p| p.done), Some(250));
}
