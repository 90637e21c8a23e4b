//! The book through its public API: the write path, notes, merge, erasure,
//! and migrations.

use lighttouch_book::history::{NewPurchase, NewTouchpoint};
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
fn content_from_before_skus_existed_opens_with_none() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v5.sqlite3");
    {
        let mut conn = rusqlite::Connection::open(&path).unwrap();
        migrate_to(&mut conn, 5).unwrap();
        conn.execute(
            "INSERT INTO content_items(id, hlc, kind, title, tags, created_at)
             VALUES ('p1', '0000000000001-000000-000000000000000000000000000000a1', 'product',
                     '古法金手镯', '[\"古法金\"]', '2026-01-01T00:00:00Z')",
            [],
        )
        .unwrap();
    }
    let mut book = Book::open(&path, OpenMode::MustExist, clock()).unwrap();
    let item = book.content_item("p1").unwrap();
    assert_eq!((item.title.as_str(), item.skus.len()), ("古法金手镯", 0));
    assert_eq!(item.tags, vec!["古法金"]);
    // And a file naming SKUs fills them in.
    book.import_content("id,kind,title,skus\np2,product,对戒,RING-1;RING-2\n".as_bytes())
        .unwrap();
    assert_eq!(
        book.content_item("p2").unwrap().skus,
        vec!["RING-1", "RING-2"]
    );
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
fn the_journal_says_what_writes_touched_and_everything_when_it_cannot_tell() {
    use lighttouch_book::store::Touched;
    let mut b = book();
    let start = b.generation();
    assert_eq!(b.touched_since(start), Touched::none());
    let a = b.add_customer(&[("name", "王芳")], false).unwrap();
    let after_a = b.generation();
    let c = b.add_customer(&[("name", "李娜")], false).unwrap();
    let both = Touched::Customers([a.clone(), c.clone()].into_iter().collect());
    assert_eq!(b.touched_since(start), both);
    assert_eq!(
        b.touched_since(after_a),
        Touched::Customers([c].into_iter().collect())
    );
    // A generation of another book is never taken as fresh.
    let other = book();
    assert_eq!(b.touched_since(other.generation()), Touched::Everything);
    // Tags touch every view.
    b.tag_customer(&a, "VIP").unwrap();
    assert_eq!(b.touched_since(after_a), Touched::Everything);
    // Further back than the journal remembers: everything.
    let before_many = b.generation();
    for i in 0..70 {
        b.edit_customer(&a, &[("ring_size", &format!("{}", 10 + i % 5))])
            .unwrap();
    }
    assert_eq!(b.touched_since(before_many), Touched::Everything);
    let recent = b.generation();
    b.edit_customer(&a, &[("ring_size", "12")]).unwrap();
    assert_eq!(
        b.touched_since(recent),
        Touched::Customers([a].into_iter().collect())
    );
}
