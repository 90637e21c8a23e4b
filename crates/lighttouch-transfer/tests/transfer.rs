//! Import and export through the public API: dry runs, encodings, the
//! column mapping, progress, undo, purchases, and the round trip.

use lighttouch_book::{Book, ManualClock};
use lighttouch_transfer::export::{export, ExportFormat};
use lighttouch_transfer::import::{
    import_batches, import_customers, import_customers_file_with_progress, import_purchases,
    undo_import, ImportOptions,
};
use std::sync::Arc;

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new("2026-11-24T09:00:00Z".parse().unwrap()))
}

fn book() -> Book {
    let mut b = Book::open_in_memory(clock()).unwrap();
    b.set_associate("小林").unwrap();
    b
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
    let dry = import_customers(
        &mut b,
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
    let err = import_customers(&mut b, csv.as_bytes(), ImportOptions::default()).unwrap_err();
    assert!(err.to_string().contains("line 6"), "{err}");
    assert_eq!(
        b.changes_since(0, 1_000_000).unwrap().len(),
        before,
        "nothing half-imported"
    );

    let done = import_customers(
        &mut b,
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
    let again = import_customers(
        &mut b,
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
    let r = import_customers(&mut b, &gbk, ImportOptions::default()).unwrap();
    assert_eq!((r.encoding.as_str(), r.created), ("GB18030", 1));
    let mut bom = vec![0xef, 0xbb, 0xbf];
    bom.extend_from_slice("姓名,手机\n林小红,13600002222\n".as_bytes());
    let r = import_customers(&mut b, &bom, ImportOptions::default()).unwrap();
    assert_eq!(r.created, 1);
    assert_eq!(b.search("chenxiaoming", 5).unwrap()[0].name, "陈小明");
    let err = import_customers(&mut b, b"\x00\x01\x02", ImportOptions::default()).unwrap_err();
    assert_eq!(err.code(), "import_failed");
    let err =
        import_customers(&mut b, "a,b\n1,2\n".as_bytes(), ImportOptions::default()).unwrap_err();
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
    let r = import_purchases(
        &mut b,
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
    let again = import_purchases(
        &mut b,
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
    export(&a, None, ExportFormat::Csv, &mut csv).unwrap();
    assert!(
        csv.starts_with("\u{feff}id,name,".as_bytes()),
        "a BOM for Excel, then the header"
    );
    let mut b = book();
    let r = import_customers(&mut b, &csv, ImportOptions::default()).unwrap();
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
    export(&a, Some(&id), ExportFormat::Json, &mut json).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(v["customers"][0]["name"], "歐陽娜娜");
    assert_eq!(v["customers"][0]["notes"][0]["body"], "多行\n备注, 带逗号");
    assert_eq!(v["customers"][0]["tags"][0]["name"], "情侣");
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
    let r = import_customers(&mut b, csv.as_bytes(), ImportOptions::default()).unwrap();
    let batch = r.batch_id.clone().expect("a real import is recorded");
    assert_eq!((r.created, r.merged), (1, 1));
    // After the import, the associate changes one of the imported fields.
    b.edit_customer(&existing, &[("ring_size", "13")]).unwrap();

    let undo = undo_import(&mut b, &batch).unwrap();
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
    assert_eq!(
        undo_import(&mut b, &batch).unwrap_err().code(),
        "invalid_input"
    );
    let batches = import_batches(&b).unwrap();
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
    let auto = import_customers(
        &mut b,
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
    let r = import_customers(
        &mut b,
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
        let e = import_customers(&mut b, csv.as_bytes(), chosen(&cols)).unwrap_err();
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
    let dry = import_customers_file_with_progress(
        &mut b,
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
    let report =
        import_customers_file_with_progress(&mut b, &path, ImportOptions::default(), &mut |p| {
            seen.push(p)
        })
        .unwrap();
    assert_eq!(report.created, 250);
    // Every 2 rows (1% of 250), rising, ending at the total.
    assert_eq!(seen.len(), 125);
    assert!(seen.windows(2).all(|w| w[0].done < w[1].done));
    assert!(seen.iter().all(|p| p.total == 250));
    assert_eq!(seen.last().map(|p| p.done), Some(250));
}
