//! Data-driven search tests over the core API: each case is a query and the
//! names that must come first, in order, or must be found at all.

use lighttouch_book::{Book, ManualClock};
use std::sync::Arc;

fn book() -> Book {
    let clock = Arc::new(ManualClock::new("2026-11-24T09:00:00Z".parse().unwrap()));
    let mut b = Book::open_in_memory(clock).unwrap();
    let people: &[&[(&str, &str)]] = &[
        &[("name", "张伟"), ("phone", "13800138000")],
        &[
            ("name", "張偉明"),
            ("phone", "13912345678"),
            ("wechat", "weiming_hk"),
        ],
        &[("name", "李张华"), ("phone", "+86 136 0000 1111")],
        &[("name", "赵文"), ("phone", "18600002222")],
        &[
            ("name", "欧阳娜娜"),
            ("phone", "13700003333"),
            ("email", "nana@example.com"),
        ],
        &[("name", "Chloe Chan"), ("phone", "+852 9123 4567")],
        &[("name", "ＺＯË Wong")],
        &[("name", "曾小贤")],
        &[("name", "王芳"), ("phone", "15000008000")],
    ];
    for fields in people {
        b.add_customer(fields, false).unwrap();
    }
    let id = b.search("王芳", 1).unwrap()[0].id.clone();
    b.tag_customer(&id, "珍珠").unwrap();
    b.add_note(&id, "想给妈妈买一只古法金手镯").unwrap();
    b
}

fn names(b: &mut Book, q: &str) -> Vec<String> {
    b.search(q, 20)
        .unwrap()
        .into_iter()
        .map(|h| h.name)
        .collect()
}

#[test]
fn queries_find_the_right_people_first() {
    let mut b = book();
    let cases: &[(&str, &[&str])] = &[
        // exact name first, then prefix, then substring
        ("张伟", &["张伟", "張偉明"]),
        ("張偉", &["张伟", "張偉明"]),
        ("张", &["张伟", "張偉明", "李张华"]),
        ("偉", &["张伟", "張偉明"]),
        ("zhangwei", &["张伟", "張偉明"]),
        ("zhang wei", &["张伟", "張偉明"]),
        ("ZhangWei", &["张伟", "張偉明"]),
        ("zw", &["张伟", "赵文"]),
        ("zwm", &["張偉明"]),
        ("wei", &["张伟", "張偉明"]),
        ("ouyang", &["欧阳娜娜"]),
        ("oynn", &["欧阳娜娜"]),
        ("nana", &["欧阳娜娜"]),
        ("歐陽", &["欧阳娜娜"]),
        ("chloe", &["Chloe Chan"]),
        ("CHAN", &["Chloe Chan"]),
        ("chloechan", &["Chloe Chan"]),
        ("zoe", &["ＺＯË Wong"]),
        ("ｗｏｎｇ", &["ＺＯË Wong"]),
        ("zengxiaoxian", &["曾小贤"]),
        ("cengxiaoxian", &["曾小贤"]),
        ("zxx", &["曾小贤"]),
        // phones: whole, last four, any run, formatted
        ("13800138000", &["张伟"]),
        ("138 0013 8000", &["张伟"]),
        ("+86 138-0013-8000", &["张伟"]),
        ("8000", &["张伟", "王芳"]),
        ("0013", &["张伟"]),
        ("4567", &["Chloe Chan"]),
        // WeChat, email, tags and their synonyms, notes last
        ("weiming_hk", &["張偉明"]),
        ("nana@example", &["欧阳娜娜"]),
        ("珍珠", &["王芳"]),
        ("pearl", &["王芳"]),
        ("古法金", &["王芳"]),
        ("手鐲", &["王芳"]),
        // several words: each must match
        ("王 珍珠", &["王芳"]),
    ];
    for (q, want) in cases {
        let got = names(&mut b, q);
        let want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
        assert!(
            got.starts_with(&want),
            "{q:?}: got {got:?}, want first {want:?}"
        );
    }
}

#[test]
fn things_that_must_not_match() {
    let mut b = book();
    for q in ["angw", "xyzzy", "13800138001", "9", "pear1"] {
        assert_eq!(names(&mut b, q), Vec::<String>::new(), "{q:?}");
    }
    assert!(b.search("", 10).unwrap().is_empty());
    assert!(b.search("   ", 10).unwrap().is_empty());
}

#[test]
fn the_index_follows_every_write() {
    let mut b = book();
    let id = b.search("zhangwei", 1).unwrap()[0].id.clone();
    assert_eq!(names(&mut b, "zhangsan"), Vec::<String>::new());
    b.edit_customer(&id, &[("name", "张三")]).unwrap();
    assert_eq!(names(&mut b, "zhangsan"), vec!["张三"]);
    assert!(!names(&mut b, "zhangwei").contains(&"张伟".to_string()));
    b.tag_customer(&id, "情侶").unwrap();
    assert_eq!(names(&mut b, "情侣"), vec!["张三"]);
    assert_eq!(names(&mut b, "couple"), vec!["张三"]);
    b.untag_customer(&id, "couple").unwrap();
    assert!(names(&mut b, "情侣").is_empty());
    b.add_note(&id, "喜欢复古的胸针").unwrap();
    assert_eq!(names(&mut b, "胸针"), vec!["张三"]);
    b.erase_customer(&id).unwrap();
    assert!(names(&mut b, "zhangsan").is_empty());
    assert!(names(&mut b, "胸针").is_empty());
    assert!(names(&mut b, "13800138000").is_empty());
}

#[test]
fn results_say_what_matched() {
    let mut b = book();
    let hit = &b.search("8000", 5).unwrap()[0];
    assert_eq!(hit.phone_masked.as_deref(), Some("138****8000"));
    assert_eq!(hit.matched, lighttouch_book::search::MatchField::Phone);
    let hit = &b.search("zw", 5).unwrap()[0];
    assert_eq!(hit.matched, lighttouch_book::search::MatchField::Initials);
    let hit = &b.search("手镯", 5).unwrap()[0];
    assert_eq!(hit.matched, lighttouch_book::search::MatchField::Note);
}
