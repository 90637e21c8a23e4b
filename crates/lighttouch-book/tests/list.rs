//! The customer list: filters, sorts, paging, and the duplicate check the
//! new-customer form runs as the associate types.

use lighttouch_book::history::NewTouchpoint;
use lighttouch_book::list::{ListQuery, ListSort};
use lighttouch_book::{Book, ManualClock};
use std::sync::Arc;

fn book() -> (Book, Vec<String>) {
    let clock = Arc::new(ManualClock::new("2026-11-24T09:00:00Z".parse().unwrap()));
    let mut b = Book::open_in_memory(clock).unwrap();
    let people: &[&[(&str, &str)]] = &[
        &[
            ("name", "张伟"),
            ("phone", "13800138000"),
            ("birthday", "1990-12-01"),
            ("stage", "ask"),
            ("owner", "小林"),
        ],
        &[
            ("name", "李娜"),
            ("birthday", "--11-25"),
            ("stage", "act"),
            ("owner", "小林"),
        ],
        &[
            ("name", "王芳"),
            ("birthday", "1985-08-15"),
            ("birthday_calendar", "lunar"),
            ("owner", "阿May"),
        ],
        &[("name", "陈静"), ("stage", "ask"), ("owner", "阿May")],
        &[("name", "Chloe Zhang"), ("wechat", "chloe_z")],
    ];
    let ids: Vec<String> = people
        .iter()
        .map(|f| b.add_customer(f, false).unwrap())
        .collect();
    b.tag_customer(&ids[0], "珍珠").unwrap();
    b.tag_customer(&ids[3], "pearl").unwrap(); // a synonym: 珍珠
    b.tag_customer(&ids[1], "情侣").unwrap();
    for (i, at) in [(3, "2026-11-20T10:00:00Z"), (1, "2026-10-01T10:00:00Z")] {
        b.add_touchpoint(
            &ids[i],
            &NewTouchpoint {
                at: at.into(),
                channel: "wecom".into(),
                kind: "service".into(),
                content_id: None,
                message: None,
            },
        )
        .unwrap();
    }
    (b, ids)
}

fn names(b: &mut Book, q: &ListQuery) -> Vec<String> {
    let page = b.list_customers(q, 0, 100).unwrap();
    assert_eq!(page.total as usize, page.rows.len());
    page.rows.into_iter().map(|r| r.name).collect()
}

#[test]
fn empty_query_lists_everyone_by_pinyin() {
    let (mut b, _) = book();
    assert_eq!(
        names(&mut b, &ListQuery::default()),
        ["陈静", "Chloe Zhang", "李娜", "王芳", "张伟"]
    );
}

#[test]
fn filters_combine_with_search_text() {
    let (mut b, ids) = book();
    let pearl = b.find_tag("珍珠").unwrap().unwrap().id;
    let by_tag = ListQuery {
        tag: Some(pearl.clone()),
        ..Default::default()
    };
    assert_eq!(names(&mut b, &by_tag), ["陈静", "张伟"]);
    let q = ListQuery {
        stage: Some("ask".into()),
        owner: Some("阿May".into()),
        ..Default::default()
    };
    assert_eq!(names(&mut b, &q), ["陈静"]);
    let q = ListQuery {
        tag_group: Some("life_stage".into()),
        ..Default::default()
    };
    assert_eq!(names(&mut b, &q), ["李娜"]);
    let q = ListQuery {
        text: "zhang".into(),
        ..Default::default()
    };
    assert_eq!(names(&mut b, &q).len(), 2, "张伟 and Chloe Zhang");
    let q = ListQuery {
        text: "zhang".into(),
        tag: Some(pearl),
        ..Default::default()
    };
    let page = b.list_customers(&q, 0, 10).unwrap();
    assert_eq!(page.rows.len(), 1);
    assert_eq!(page.rows[0].id, ids[0]);
    assert!(page.rows[0].matched.is_some());
    assert_eq!(page.rows[0].phone_masked.as_deref(), Some("138****8000"));
}

#[test]
fn sorts_by_last_contact_and_upcoming_birthday() {
    let (mut b, _) = book();
    let q = ListQuery {
        sort: ListSort::LastContact,
        ..Default::default()
    };
    assert_eq!(
        &names(&mut b, &q)[..2],
        ["陈静", "李娜"],
        "newest contact first"
    );
    let q = ListQuery {
        sort: ListSort::UpcomingBirthday,
        ..Default::default()
    };
    let page = b.list_customers(&q, 0, 10).unwrap();
    let order: Vec<(&str, Option<i64>)> = page
        .rows
        .iter()
        .map(|r| (r.name.as_str(), r.birthday_in_days))
        .collect();
    // 农历八月十五 falls on 2027-09-15, after 12-01 and 11-25.
    assert_eq!(
        &order[..3],
        [("李娜", Some(1)), ("张伟", Some(7)), ("王芳", Some(295))]
    );
    assert_eq!(
        page.rows[0].birthday.as_deref(),
        Some("11-25"),
        "no year in lists"
    );
}

#[test]
fn pages_are_windows_and_writes_refresh_the_list() {
    let (mut b, ids) = book();
    let q = ListQuery::default();
    let p = b.list_customers(&q, 3, 10).unwrap();
    assert_eq!((p.total, p.offset, p.rows.len()), (5, 3, 2));
    let p = b.list_customers(&q, 99, 10).unwrap();
    assert_eq!((p.total, p.rows.len()), (5, 0));
    b.add_customer(&[("name", "艾米")], false).unwrap();
    assert_eq!(
        names(&mut b, &q)[0],
        "艾米",
        "a new customer shows up at once"
    );
    b.erase_customer(&ids[0]).unwrap();
    assert!(!names(&mut b, &q).contains(&"张伟".to_string()));
}

#[test]
fn similar_customers_by_phone_wechat_and_name_in_either_script() {
    let (mut b, ids) = book();
    let by_phone = b.similar_customers("", "138 0013 8000", "").unwrap();
    assert_eq!(by_phone.len(), 1);
    assert_eq!(
        (
            by_phone[0].customer_id.as_str(),
            by_phone[0].matched_on.as_str()
        ),
        (ids[0].as_str(), "phone")
    );
    let by_name = b.similar_customers("張偉", "", "").unwrap();
    assert_eq!(by_name[0].customer_id, ids[0]);
    assert_eq!(by_name[0].matched_on, "name");
    assert_eq!(by_name[0].phone_masked.as_deref(), Some("138****8000"));
    let by_wechat = b.similar_customers("", "", "CHLOE_Z").unwrap();
    assert_eq!(by_wechat[0].customer_id, ids[4]);
    assert!(
        b.similar_customers("张", "", "").unwrap().is_empty(),
        "one character is not a name match"
    );
    assert!(b.similar_customers("张伟明", "139", "").unwrap().is_empty());
}

#[test]
fn facets_count_live_customers() {
    let (mut b, ids) = book();
    b.erase_customer(&ids[3]).unwrap();
    let f = b.list_facets().unwrap();
    assert_eq!(f.stages, [("act".to_string(), 1), ("ask".to_string(), 1)]);
    assert_eq!(
        f.owners,
        [("小林".to_string(), 2), ("阿May".to_string(), 1)]
    );
}

#[test]
fn tag_counts_follow_every_change() {
    let (mut b, ids) = book();
    let count = |b: &mut Book, name: &str| {
        b.tags()
            .unwrap()
            .into_iter()
            .find(|t| t.name == name)
            .map(|t| t.customers)
    };
    assert_eq!(count(&mut b, "珍珠"), Some(2));
    b.tag_customer(&ids[1], "珍珠").unwrap();
    assert_eq!(count(&mut b, "珍珠"), Some(3));
    b.untag_customer(&ids[0], "珍珠").unwrap();
    b.erase_customer(&ids[3]).unwrap();
    assert_eq!(count(&mut b, "珍珠"), Some(1));
    b.merge_customers(&ids[2], &ids[1]).unwrap();
    assert_eq!(
        count(&mut b, "珍珠"),
        Some(1),
        "a merge moves the tag, it does not double it"
    );
    assert_eq!(count(&mut b, "情侣"), Some(1));
    let tags = b.tags().unwrap();
    assert_eq!(tags[0].customers, 1, "most used first");
    // The vocabulary offers unused built-in tags too.
    let vocab = b.tag_vocabulary().unwrap();
    assert!(vocab.iter().any(|t| t.name == "钻石" && t.customers == 0));
}
