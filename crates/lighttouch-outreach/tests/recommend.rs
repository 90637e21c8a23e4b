//! Recommendations through the public API, on a small book with planted
//! cases: each assertion names the behaviour an associate relies on.

use chrono::{FixedOffset, NaiveDate};
use lighttouch_book::history::{NewPurchase, NewTouchpoint};
use lighttouch_book::{Book, BookError, ManualClock};
use lighttouch_outreach::recommend::guard::HoldReason;
use lighttouch_outreach::recommend::reasons::Reason;
use lighttouch_outreach::Outreach;
use std::sync::Arc;

const CONTENT: &str = "id,kind,title,body,tags,category,price,valid_from,valid_until,title:en\n\
p-rose,product,玫瑰金项链,,玫瑰金;项链,项链,3280,2026-11-20,,Rose gold necklace\n\
p-pearl,product,珍珠耳钉,,珍珠;耳饰,耳饰,1280,2026-10-01,,Pearl studs\n\
p-pearl2,product,淡水珍珠项链,,珍珠;项链,项链,3680,2026-10-01,,Freshwater pearl necklace\n\
p-ring,product,一克拉钻戒,,钻石;戒指,戒指,46800,2026-10-01,,One-carat diamond ring\n\
p-bracelet,product,玫瑰金手链,,玫瑰金;手链,手链,2680,2026-09-01,,Rose gold bracelet\n\
s-qixi,story,七夕限定：金色的约定,,七夕;情侣,,,2027-07-01,2027-08-20,Qixi: a golden promise\n";

struct Setup {
    book: Book,
    clock: Arc<ManualClock>,
}

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn setup() -> Setup {
    let clock = Arc::new(ManualClock::new("2026-11-24T03:00:00Z".parse().unwrap()));
    let mut book = Book::open_in_memory(clock.clone()).unwrap();
    book.set_associate("小林").unwrap();
    book.import_content(CONTENT.as_bytes()).unwrap();
    Setup { book, clock }
}

fn customer(b: &mut Book, fields: &[(&str, &str)], tags: &[&str]) -> String {
    let id = b.add_customer(fields, false).unwrap();
    for t in tags {
        b.tag_customer(&id, t).unwrap();
    }
    id
}

fn bought(b: &mut Book, id: &str, product: &str, category: &str, on: &str) {
    b.add_purchase(
        id,
        &NewPurchase {
            purchased_on: on.into(),
            order_ref: None,
            sku: None,
            product: product.into(),
            category: Some(category.into()),
            quantity: 1,
            amount_cents: None,
            store: None,
        },
    )
    .unwrap();
}

/// 王丽: likes rose gold, mid budget, birthday in 6 days, bought the rose gold bracelet in March.
fn wang_li(b: &mut Book) -> String {
    let id = customer(
        b,
        &[
            ("name", "王丽"),
            ("gender", "female"),
            ("phone", "13800138001"),
            ("birthday", "1990-11-30"),
            ("budget", "mid"),
            ("consent_marketing", "yes"),
        ],
        &["玫瑰金"],
    );
    bought(b, &id, "玫瑰金手链", "手链", "2026-03-08");
    id
}

#[test]
fn a_suggestion_says_why_in_words_the_associate_understands() {
    let mut outreach = Outreach::new();
    let Setup { mut book, .. } = setup();
    let id = wang_li(&mut book);
    let s = outreach
        .suggest(&mut book, &id, 5, day("2026-11-24"), "zh-Hans")
        .unwrap();
    assert!(s.held_back.is_none());
    let top = &s.items[0];
    assert_eq!(top.content_id, "p-rose", "{:#?}", s.items);
    for want in [
        "喜欢玫瑰金",
        "生日还有 6 天",
        "与3月买的玫瑰金手链搭配",
        "在中档预算内",
    ] {
        assert!(
            top.reasons.iter().any(|r| r == want),
            "{want} in {:?}",
            top.reasons
        );
    }
    assert!(
        s.items.iter().all(|i| i.content_id != "p-bracelet"),
        "never what they already own"
    );
    assert!(
        s.items.iter().all(|i| i.content_id != "s-qixi"),
        "not yet valid"
    );
    let en = outreach
        .suggest(&mut book, &id, 1, day("2026-11-24"), "en")
        .unwrap();
    assert_eq!(en.items[0].title, "Rose gold necklace");
    assert!(en.items[0].reasons.contains(&"likes 玫瑰金".to_string()));
    assert!(en.items[0]
        .reasons
        .contains(&"goes with the 玫瑰金手链 bought in March".to_string()));
    // Far beyond the budget sinks below what fits it.
    let ring = s.items.iter().position(|i| i.content_id == "p-ring");
    assert!(ring.is_none_or(|r| r > 0));
}

#[test]
fn consent_do_not_contact_and_caps_hold_promotions_back() {
    let mut outreach = Outreach::new();
    let Setup { mut book, .. } = setup();
    let today = day("2026-11-24");
    let no_consent = customer(
        &mut book,
        &[("name", "李娜"), ("consent_marketing", "no")],
        &["玫瑰金"],
    );
    let s = outreach
        .suggest(&mut book, &no_consent, 5, today, "zh-Hans")
        .unwrap();
    assert!(s.items.is_empty());
    assert_eq!(s.held_back.unwrap().reason, HoldReason::NoConsent);

    let dnc = customer(
        &mut book,
        &[
            ("name", "赵敏"),
            ("consent_marketing", "yes"),
            ("do_not_contact", "yes"),
        ],
        &["玫瑰金"],
    );
    let s = outreach.suggest(&mut book, &dnc, 5, today, "en").unwrap();
    assert_eq!(
        s.held_back.as_ref().unwrap().reason,
        HoldReason::DoNotContact
    );
    assert_eq!(s.held_back.unwrap().message, "marked do-not-contact");

    let capped = customer(
        &mut book,
        &[("name", "陈静"), ("consent_marketing", "yes")],
        &["玫瑰金"],
    );
    book.add_touchpoint(
        &capped,
        &NewTouchpoint {
            at: "2026-11-22T06:00:00Z".into(),
            channel: "wecom".into(),
            kind: "outreach".into(),
            content_id: None,
            message: None,
        },
    )
    .unwrap();
    let s = outreach
        .suggest(&mut book, &capped, 5, today, "zh-Hans")
        .unwrap();
    assert!(s.items.is_empty());
    assert_eq!(
        s.held_back.unwrap().reason,
        HoldReason::WeeklyCap {
            count: 1,
            until: "2026-11-29".into()
        }
    );
    assert_eq!(s.pressure.last_7_days, 1);
    // A week on, there is room again.
    let s = outreach
        .suggest(&mut book, &capped, 5, day("2026-11-29"), "zh-Hans")
        .unwrap();
    assert!(s.held_back.is_none() && !s.items.is_empty());

    // Nor does the audience of an item list them.
    let a = outreach
        .audience(&mut book, "p-rose", 10, today, "zh-Hans")
        .unwrap();
    assert!(a
        .entries
        .iter()
        .all(|e| ![&no_consent, &dnc, &capped].contains(&&e.customer_id)));
    assert_eq!(a.held_back, 3);
}

#[test]
fn a_dismissal_with_a_reason_changes_later_rankings() {
    let mut outreach = Outreach::new();
    let Setup { mut book, .. } = setup();
    let today = day("2026-11-24");
    let id = customer(
        &mut book,
        &[
            ("name", "周芳"),
            ("gender", "female"),
            ("consent_marketing", "yes"),
            ("budget", "mid"),
        ],
        &["珍珠", "项链"],
    );
    let before = outreach
        .suggest(&mut book, &id, 5, today, "zh-Hans")
        .unwrap();
    let first = before.items[0].content_id.clone();
    assert_eq!(first, "p-pearl2", "{:#?}", before.items);
    let draft = outreach
        .compose_draft(&mut book, &id, &first, today, "zh-Hans")
        .unwrap();
    let saved = outreach.save_draft(&mut book, &draft).unwrap();
    outreach
        .dismiss_draft(&mut book, &saved.id, Some("她说对珍珠不感兴趣了"))
        .unwrap();
    let after = outreach
        .suggest(&mut book, &id, 5, today, "zh-Hans")
        .unwrap();
    let ids: Vec<&str> = after.items.iter().map(|i| i.content_id.as_str()).collect();
    assert!(
        !ids.contains(&"p-pearl2"),
        "a dismissed piece is not proposed again"
    );
    assert_ne!(ids[0], "p-pearl", "other pearls sink too: {ids:?}");
    assert!(after.items[0].reasons.iter().all(|r| !r.contains("珍珠")));
}

#[test]
fn drafts_speak_the_customers_language_and_sending_is_guarded() {
    let mut outreach = Outreach::new();
    let Setup { mut book, clock } = setup();
    let today = day("2026-11-24");
    let wang = wang_li(&mut book);
    let d = outreach
        .compose_draft(&mut book, &wang, "p-rose", today, "zh-Hans")
        .unwrap();
    assert_eq!(d.language, "zh-Hans");
    assert!(d.body.starts_with("王女士您好，我是小林。"), "{}", d.body);
    assert!(d.body.contains("玫瑰金项链"), "{}", d.body);
    let emma = customer(
        &mut book,
        &[
            ("name", "Emma Smith"),
            ("language", "en"),
            ("consent_marketing", "yes"),
        ],
        &["rose gold"],
    );
    let e = outreach
        .compose_draft(&mut book, &emma, "p-rose", today, "en")
        .unwrap();
    assert!(e.body.starts_with("Hi Emma, it's 小林."), "{}", e.body);
    assert!(e.body.contains("Rose gold necklace"), "{}", e.body);
    assert!(e.body.contains("I remember you like 玫瑰金"), "{}", e.body);

    let saved = outreach.save_draft(&mut book, &d).unwrap();
    let edited = outreach
        .edit_draft(&mut book, &saved.id, &format!("{} 周末见！", d.body))
        .unwrap();
    assert_eq!(edited.status, "edited");
    let china = FixedOffset::east_opt(8 * 3600).unwrap();
    // 03:00 UTC is 11:00 in China: outside quiet hours.
    let touch = outreach
        .send_draft(&mut book, &saved.id, "wecom", china)
        .unwrap();
    let touches = book.touchpoints(&wang).unwrap();
    assert_eq!(touches[0].id, touch);
    assert_eq!(touches[0].kind, "outreach");
    assert_eq!(touches[0].content_id.as_deref(), Some("p-rose"));
    assert!(touches[0].message.as_deref().unwrap().ends_with("周末见！"));
    assert_eq!(outreach.draft(&book, &saved.id).unwrap().status, "sent");
    // Sent once: now capped for the week, and the piece is not proposed again.
    let again = outreach
        .compose_draft(&mut book, &wang, "p-pearl2", today, "zh-Hans")
        .unwrap();
    let again = outreach.save_draft(&mut book, &again).unwrap();
    let err = outreach
        .send_draft(&mut book, &again.id, "wecom", china)
        .unwrap_err();
    assert_eq!(err.code(), "weekly_cap");
    // Quiet hours: 14:00 UTC is 22:00 in China.
    clock.set("2026-12-05T14:00:00Z".parse().unwrap());
    let err = outreach
        .send_draft(&mut book, &again.id, "wecom", china)
        .unwrap_err();
    assert_eq!(err.code(), "quiet_hours", "{err}");
    // No consent: never, whatever the hour.
    let li = customer(
        &mut book,
        &[("name", "李娜"), ("consent_marketing", "no")],
        &[],
    );
    let d = outreach
        .compose_draft(&mut book, &li, "p-rose", today, "zh-Hans")
        .unwrap();
    let d = outreach.save_draft(&mut book, &d).unwrap();
    clock.set("2026-12-05T03:00:00Z".parse().unwrap());
    assert!(matches!(
        outreach.send_draft(&mut book, &d.id, "wecom", china),
        Err(BookError::HeldBack {
            code: "no_consent",
            ..
        })
    ));
}

#[test]
fn festivals_raise_the_right_content_for_the_right_people() {
    let mut outreach = Outreach::new();
    let Setup { mut book, .. } = setup();
    let couple = customer(
        &mut book,
        &[
            ("name", "林晓"),
            ("gender", "female"),
            ("consent_marketing", "yes"),
        ],
        &["情侣"],
    );
    let single = customer(
        &mut book,
        &[("name", "孙悦"), ("consent_marketing", "yes")],
        &["学生"],
    );
    // 七夕 2027 falls on 8 August.
    let today = day("2027-07-31");
    let s = outreach
        .suggest(&mut book, &couple, 3, today, "zh-Hans")
        .unwrap();
    assert_eq!(s.items[0].content_id, "s-qixi");
    assert!(s.items[0].reason_codes.contains(&Reason::Festival {
        name: "七夕".into(),
        days: 8,
        tag: Some("情侣".into())
    }));
    assert!(s.items[0]
        .reasons
        .contains(&"七夕还有 8 天；标签「情侣」".to_string()));
    let a = outreach
        .audience(&mut book, "s-qixi", 10, today, "zh-Hans")
        .unwrap();
    assert_eq!(a.entries[0].customer_id, couple);
    assert!(
        a.entries.iter().all(|e| e.customer_id != single),
        "{:#?}",
        a.entries
    );
    assert!(
        a.entries[0].draft.contains("七夕快到了"),
        "{}",
        a.entries[0].draft
    );
}

#[test]
fn the_daily_queue_brings_occasions_care_follow_ups_arrivals_and_quiet_customers() {
    let mut outreach = Outreach::new();
    let Setup { mut book, .. } = setup();
    let today = day("2026-11-24");
    let birthday = customer(
        &mut book,
        &[
            ("name", "王丽"),
            ("gender", "female"),
            ("birthday", "--11-28"),
            ("consent_marketing", "yes"),
            ("budget", "mid"),
        ],
        &["玫瑰金"],
    );
    let no_consent = customer(
        &mut book,
        &[("name", "李娜"), ("birthday", "1992-11-26")],
        &["玫瑰金"],
    );
    let dnc = customer(
        &mut book,
        &[
            ("name", "赵敏"),
            ("birthday", "--11-25"),
            ("do_not_contact", "yes"),
        ],
        &[],
    );
    let aftercare = customer(&mut book, &[("name", "陈静"), ("gender", "female")], &[]);
    bought(&mut book, &aftercare, "珍珠耳钉", "耳饰", "2026-11-21");
    let follow = customer(&mut book, &[("name", "周芳"), ("gender", "female")], &[]);
    let fu = outreach
        .schedule_follow_up(
            &mut book,
            &follow,
            day("2026-11-24"),
            Some("问问婚期定了没有"),
        )
        .unwrap();
    let quiet = customer(
        &mut book,
        &[
            ("name", "孙悦"),
            ("stage", "advocate"),
            ("consent_marketing", "yes"),
        ],
        &[],
    );
    book.add_touchpoint(
        &quiet,
        &NewTouchpoint {
            at: "2026-07-01T06:00:00Z".into(),
            channel: "store".into(),
            kind: "visit".into(),
            content_id: None,
            message: None,
        },
    )
    .unwrap();
    let fan = customer(
        &mut book,
        &[
            ("name", "林晓"),
            ("gender", "female"),
            ("consent_marketing", "yes"),
            ("budget", "mid"),
        ],
        &["玫瑰金", "项链"],
    );

    let q = outreach.today(&mut book, today, "zh-Hans").unwrap();
    let kinds: Vec<(&str, &str)> = q
        .iter()
        .map(|e| (e.kind.as_str(), e.customer_id.as_str()))
        .collect();
    assert_eq!(kinds[0], ("follow_up", follow.as_str()), "{kinds:?}");
    assert!(q[0].draft.contains("问问婚期定了没有"), "{}", q[0].draft);
    let of = |id: &str| {
        q.iter()
            .find(|e| e.customer_id == id)
            .unwrap_or_else(|| panic!("{id} missing: {kinds:?}"))
    };
    let b = of(&birthday);
    assert_eq!(b.kind, "birthday");
    assert_eq!(b.due, "2026-11-28");
    assert!(
        b.promotion && b.content_id.as_deref() == Some("p-rose"),
        "{b:#?}"
    );
    assert!(
        b.draft.contains("生日快乐") && b.draft.contains("玫瑰金项链"),
        "{}",
        b.draft
    );
    let n = of(&no_consent);
    assert!(
        !n.promotion && n.content_id.is_none(),
        "a greeting, never a promotion: {n:#?}"
    );
    assert!(!n.draft.contains("玫瑰金"), "{}", n.draft);
    assert!(
        q.iter().all(|e| e.customer_id != dnc),
        "do-not-contact means no contact"
    );
    let a = of(&aftercare);
    assert_eq!(a.kind, "aftercare");
    assert!(a.draft.contains("珍珠耳钉戴了几天"), "{}", a.draft);
    assert!(
        a.reasons.contains(&"3 天前买了珍珠耳钉".to_string()),
        "{:?}",
        a.reasons
    );
    assert_eq!(of(&quiet).kind, "quiet");
    assert!(
        of(&quiet)
            .reasons
            .iter()
            .any(|r| r.contains("146 天没有联系")),
        "{:?}",
        of(&quiet).reasons
    );
    let f = of(&fan);
    assert_eq!(
        (f.kind.as_str(), f.content_id.as_deref()),
        ("new_arrival", Some("p-rose"))
    );

    // Done, dismissed and snoozed entries leave the queue; a snooze returns.
    outreach
        .mark_queue_entry(&mut book, &b.key, "done", None)
        .unwrap();
    outreach
        .mark_queue_entry(&mut book, &a.key, "snoozed", Some(day("2026-11-26")))
        .unwrap();
    outreach
        .mark_queue_entry(&mut book, &format!("follow_up:{fu}"), "done", None)
        .unwrap();
    let q = outreach.today(&mut book, today, "zh-Hans").unwrap();
    assert!(q
        .iter()
        .all(|e| e.key != b.key && e.key != a.key && e.kind != "follow_up"));
    let later = outreach
        .today(&mut book, day("2026-11-26"), "zh-Hans")
        .unwrap();
    assert!(later.iter().any(|e| e.key == a.key), "the snooze is over");
    assert!(outreach
        .mark_queue_entry(&mut book, "nonsense", "done", None)
        .is_err());
    let en = outreach.today(&mut book, today, "en").unwrap();
    assert!(en.iter().any(|e| e
        .reasons
        .iter()
        .any(|r| r.contains("no contact for 146 days"))));
}

#[test]
fn cached_audiences_follow_every_write() {
    let mut outreach = Outreach::new();
    let Setup { mut book, .. } = setup();
    let today = day("2026-11-24");
    let wang = wang_li(&mut book);
    let first = outreach
        .audience(&mut book, "p-rose", 10, today, "zh-Hans")
        .unwrap();
    assert_eq!(first.entries.len(), 1);
    // A new fan, a tag added to an existing customer, an erasure: each shows at once.
    let fan = customer(
        &mut book,
        &[("name", "林晓"), ("consent_marketing", "yes")],
        &["玫瑰金"],
    );
    let other = customer(
        &mut book,
        &[("name", "孙悦"), ("consent_marketing", "yes")],
        &[],
    );
    let a = outreach
        .audience(&mut book, "p-rose", 10, today, "zh-Hans")
        .unwrap();
    assert!(a.entries.iter().any(|e| e.customer_id == fan));
    assert!(a.entries.iter().all(|e| e.customer_id != other));
    book.tag_customer(&other, "rose gold").unwrap();
    book.erase_customer(&wang).unwrap();
    let a = outreach
        .audience(&mut book, "p-rose", 10, today, "zh-Hans")
        .unwrap();
    let ids: Vec<&str> = a.entries.iter().map(|e| e.customer_id.as_str()).collect();
    assert!(
        ids.contains(&other.as_str()) && ids.contains(&fan.as_str()),
        "{ids:?}"
    );
    assert!(
        !ids.contains(&wang.as_str()),
        "erased customers leave every list"
    );
    let q = outreach.today(&mut book, today, "zh-Hans").unwrap();
    assert!(q.iter().all(|e| e.customer_id != wang));
}

#[test]
fn a_short_list_shows_range_not_five_of_one_kind() {
    let mut outreach = Outreach::new();
    let Setup { mut book, .. } = setup();
    let more = "id,kind,title,tags,category,price,valid_from\n\
        n1,product,玫瑰金锁骨链,玫瑰金;项链,项链,2980,2026-11-20\n\
        n2,product,玫瑰金珍珠项链,玫瑰金;项链,项链,3080,2026-11-20\n\
        n3,product,玫瑰金长项链,玫瑰金;项链,项链,3180,2026-11-20\n\
        e1,product,玫瑰金耳钉,玫瑰金;耳饰,耳饰,2280,2026-11-20\n";
    book.import_content(more.as_bytes()).unwrap();
    let id = customer(
        &mut book,
        &[
            ("name", "林晓"),
            ("consent_marketing", "yes"),
            ("budget", "mid"),
        ],
        &["玫瑰金", "项链"],
    );
    let s = outreach
        .suggest(&mut book, &id, 3, day("2026-11-24"), "zh-Hans")
        .unwrap();
    let ids: Vec<&str> = s.items.iter().map(|i| i.content_id.as_str()).collect();
    assert_eq!(ids.len(), 3);
    // Necklaces suit best, but the earrings and the bracelet make the short list.
    let necklaces = ids
        .iter()
        .filter(|i| ["p-rose", "n1", "n2", "n3"].contains(i))
        .count();
    assert!(necklaces <= 2, "{ids:?}");
}

#[test]
fn reminders_fire_once_at_the_associates_time_and_follow_ups_scheduled_later_still_fire() {
    let mut outreach = Outreach::new();
    let Setup { mut book, .. } = setup();
    let at = |s: &str| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
    let zhou = customer(&mut book, &[("name", "周芳"), ("gender", "female")], &[]);
    outreach
        .schedule_follow_up(
            &mut book,
            &zhou,
            day("2026-11-24"),
            Some("问问婚期定了没有"),
        )
        .unwrap();

    // Before the reminder time nothing fires; from it, the digest and the follow-up.
    assert!(outreach
        .take_due_reminders(&mut book, at("2026-11-24 09:29"), "zh-Hans")
        .unwrap()
        .is_empty());
    let first = outreach
        .take_due_reminders(&mut book, at("2026-11-24 09:30"), "zh-Hans")
        .unwrap();
    assert_eq!(first.len(), 2, "{first:?}");
    assert_eq!(first[0].title, "今天有 1 位客人可以联系");
    assert_eq!(first[1].title, "今天回访周芳");
    assert_eq!(first[1].body, "你安排的跟进：问问婚期定了没有");
    assert_eq!(first[1].customer_id.as_deref(), Some(zhou.as_str()));
    // Once only, also for a second window or after a restart.
    assert!(outreach
        .take_due_reminders(&mut book, at("2026-11-24 11:00"), "zh-Hans")
        .unwrap()
        .is_empty());

    // A follow-up scheduled for today after the digest went out fires on its own.
    let li = customer(&mut book, &[("name", "李娜"), ("gender", "female")], &[]);
    outreach
        .schedule_follow_up(&mut book, &li, day("2026-11-24"), Some("送修的项链到了"))
        .unwrap();
    let later = outreach
        .take_due_reminders(&mut book, at("2026-11-24 15:00"), "en")
        .unwrap();
    assert_eq!(later.len(), 1, "{later:?}");
    assert_eq!(later[0].customer_id.as_deref(), Some(li.as_str()));

    // The next day starts afresh; switched off, nothing fires.
    assert!(!outreach
        .take_due_reminders(&mut book, at("2026-11-25 10:00"), "en")
        .unwrap()
        .is_empty());
    let off = lighttouch_outreach::reminders::ReminderSettings {
        enabled: false,
        at: "08:00".into(),
    };
    outreach.update_reminder_settings(&mut book, &off).unwrap();
    assert!(outreach
        .take_due_reminders(&mut book, at("2026-11-26 10:00"), "en")
        .unwrap()
        .is_empty());
    let bad = lighttouch_outreach::reminders::ReminderSettings {
        enabled: true,
        at: "25:00".into(),
    };
    assert!(matches!(
        outreach.update_reminder_settings(&mut book, &bad),
        Err(BookError::InvalidField { ref field, .. }) if field == "at"
    ));
}

#[test]
fn the_associates_own_talk_script_replaces_hqs_until_reset() {
    let mut outreach = Outreach::new();
    let Setup { mut book, .. } = setup();
    let today = day("2026-11-24");
    let wang = wang_li(&mut book);
    let hq = outreach.talk_script(&book, "recommend", "zh-Hans").unwrap();
    assert!(hq.id.is_none(), "HQ's default ships with the app");

    let err = outreach
        .add_talk_script(&mut book, "zh-Hans", "recommend", "我的", "{nmae}您好")
        .unwrap_err();
    assert!(err.to_string().contains("{nmae}"), "{err}");
    let id = outreach
        .add_talk_script(
            &mut book,
            "zh-Hans",
            "recommend",
            "我的推荐",
            "{name}，{product}到店了，给您留了一件。—{associate}",
        )
        .unwrap();
    let d = outreach
        .compose_draft(&mut book, &wang, "p-rose", today, "zh-Hans")
        .unwrap();
    assert_eq!(d.body, "王女士，玫瑰金项链到店了，给您留了一件。—小林");

    // Editing keeps one script (the same row), not a pile of versions.
    let again = outreach
        .add_talk_script(
            &mut book,
            "zh-Hans",
            "recommend",
            "我的推荐",
            "{name}好，{product}到了。",
        )
        .unwrap();
    assert_eq!(again, id);
    let own: Vec<_> = outreach
        .talk_scripts(&book)
        .unwrap()
        .into_iter()
        .filter(|s| s.id.is_some())
        .collect();
    assert_eq!(own.len(), 1);
    assert_eq!(own[0].body, "{name}好，{product}到了。");
    // Other languages still speak HQ's words.
    assert!(outreach
        .talk_script(&book, "recommend", "en")
        .unwrap()
        .id
        .is_none());

    assert!(outreach
        .reset_talk_script(&mut book, "recommend", "zh-Hans")
        .unwrap());
    assert!(!outreach
        .reset_talk_script(&mut book, "recommend", "zh-Hans")
        .unwrap());
    assert_eq!(
        outreach.talk_script(&book, "recommend", "zh-Hans").unwrap(),
        hq
    );
}

#[test]
fn before_qixi_the_queue_brings_the_couples_a_few_a_day_within_the_caps() {
    let mut outreach = Outreach::new();
    let Setup { mut book, .. } = setup();
    let mut couples = Vec::new();
    for i in 0..8 {
        couples.push(customer(
            &mut book,
            &[("name", &format!("情侣{i}")), ("consent_marketing", "yes")],
            &["情侣"],
        ));
    }
    let no_consent = customer(&mut book, &[("name", "没同意")], &["情侣"]);
    let single = customer(
        &mut book,
        &[("name", "孙悦"), ("consent_marketing", "yes")],
        &["学生"],
    );
    // Reached two days ago: the weekly cap holds this one back.
    let capped = customer(
        &mut book,
        &[("name", "刚联系过"), ("consent_marketing", "yes")],
        &["情侣"],
    );
    book.add_touchpoint(
        &capped,
        &NewTouchpoint {
            channel: "wecom".into(),
            kind: "outreach".into(),
            at: "2027-07-30T10:00:00+08:00".into(),
            content_id: None,
            message: None,
        },
    )
    .unwrap();
    // 七夕 2027 falls on 8 August: seven days ahead of 1 August.
    let q = outreach
        .today(&mut book, day("2027-08-01"), "zh-Hans")
        .unwrap();
    let festive: Vec<_> = q.iter().filter(|e| e.kind == "festival").collect();
    assert_eq!(festive.len(), 5, "a few a day, not all eight: {q:#?}");
    for e in &festive {
        assert!(couples.contains(&e.customer_id), "{e:#?}");
        assert_eq!(e.due, "2027-08-08");
        assert!(e.promotion);
        assert_eq!(e.content_id.as_deref(), Some("s-qixi"), "{e:#?}");
        assert!(e.draft.contains("七夕快到了"), "{}", e.draft);
        assert!(
            e.reasons.iter().any(|r| r.contains("七夕")),
            "{:?}",
            e.reasons
        );
    }
    for held in [&no_consent, &single, &capped] {
        assert!(q.iter().all(|e| &e.customer_id != held), "{held}");
    }
    // Handled ones make room for the others the next day.
    for e in &festive {
        outreach
            .mark_queue_entry(&mut book, &e.key, "done", None)
            .unwrap();
    }
    let next = outreach
        .today(&mut book, day("2027-08-02"), "zh-Hans")
        .unwrap();
    let rest: Vec<_> = next.iter().filter(|e| e.kind == "festival").collect();
    assert_eq!(rest.len(), 3, "{next:#?}");
    assert!(rest
        .iter()
        .all(|e| festive.iter().all(|f| f.customer_id != e.customer_id)));
    // Long before the festival, nothing.
    let early = outreach
        .today(&mut book, day("2027-07-10"), "zh-Hans")
        .unwrap();
    assert!(early.iter().all(|e| e.kind != "festival"));
}

#[test]
fn on_the_day_itself_the_draft_wishes_today_not_soon() {
    let mut outreach = Outreach::new();
    let Setup { mut book, .. } = setup();
    let id = customer(
        &mut book,
        &[
            ("name", "林晓"),
            ("gender", "female"),
            ("consent_marketing", "yes"),
            ("birthday", "1990-11-24"),
        ],
        &["玫瑰金"],
    );
    let en = customer(
        &mut book,
        &[
            ("name", "Emma Li"),
            ("language", "en"),
            ("birthday", "1991-11-24"),
        ],
        &[],
    );
    let q = outreach
        .today(&mut book, day("2026-11-24"), "zh-Hans")
        .unwrap();
    let mine = q
        .iter()
        .find(|e| e.customer_id == id && e.kind == "birthday")
        .expect("her birthday is in the queue");
    assert!(
        mine.reasons.iter().any(|r| r == "生日今天"),
        "{:?}",
        mine.reasons
    );
    assert!(mine.draft.contains("今天是您的生日"), "{}", mine.draft);
    // The gift idea is a sentence after the wish, as days before.
    assert!(mine.content_id.is_some(), "a gift idea for her");
    assert!(mine.draft.contains("也许是不错的礼物。"), "{}", mine.draft);
    assert!(
        !mine.draft.contains("快到了") && !mine.draft.contains("提前"),
        "{}",
        mine.draft
    );
    let hers = q
        .iter()
        .find(|e| e.customer_id == en && e.kind == "birthday")
        .unwrap();
    assert!(
        hers.draft.contains("Happy birthday today"),
        "{}",
        hers.draft
    );
    // A week ahead it is still "coming up".
    let before = outreach
        .today(&mut book, day("2026-11-20"), "zh-Hans")
        .unwrap();
    let soon = before
        .iter()
        .find(|e| e.customer_id == id && e.kind == "birthday")
        .unwrap();
    assert!(soon.draft.contains("快到了"), "{}", soon.draft);
    // 七夕 itself: a greeting for the day.
    let couple = customer(
        &mut book,
        &[("name", "周芳"), ("consent_marketing", "yes")],
        &["情侣"],
    );
    let d = outreach
        .compose_draft(&mut book, &couple, "s-qixi", day("2027-08-08"), "zh-Hans")
        .unwrap();
    assert!(d.body.contains("祝您七夕快乐"), "{}", d.body);
    assert!(!d.body.contains("快到了"), "{}", d.body);
    // And so does everyone the 七夕 story goes to that day.
    let a = outreach
        .audience(&mut book, "s-qixi", 10, day("2027-08-08"), "zh-Hans")
        .unwrap();
    let theirs = a.entries.iter().find(|e| e.customer_id == couple).unwrap();
    assert!(theirs.draft.contains("祝您七夕快乐"), "{}", theirs.draft);
    assert!(!theirs.draft.contains("快到了"), "{}", theirs.draft);
}

fn bought_sku(b: &mut Book, id: &str, sku: &str, product: &str, category: &str, on: &str) {
    b.add_purchase(
        id,
        &NewPurchase {
            purchased_on: on.into(),
            order_ref: None,
            sku: Some(sku.into()),
            product: product.into(),
            category: Some(category.into()),
            quantity: 1,
            amount_cents: None,
            store: None,
        },
    )
    .unwrap();
}

#[test]
fn what_the_stores_customers_buy_after_a_piece_is_learned_and_said_in_words() {
    let mut outreach = Outreach::new();
    let Setup { mut book, .. } = setup();
    // HQ's content names the SKUs it stands for; the POS rows carry them.
    book.import_content(
        "id,kind,title,tags,category,price,skus,title:en\n\
         hq-bangle,product,古法金手镯,古法金,手镯,12800,GF-B1;GF-B2,Heritage gold bangle\n\
         hq-beads,product,古法金转运珠,古法金,手链,2380,GF-Z1,Heritage gold lucky bead\n\
         hq-studs,product,小金豆耳钉,黄金,耳饰,980,JD-E1,Gold bean studs\n"
            .as_bytes(),
    )
    .unwrap();
    // Twelve earlier buyers of the bangle (either variant) went on to the bead;
    // the studs sold to others.
    for i in 0..12 {
        let c = customer(&mut book, &[("name", &format!("老客{i}"))], &[]);
        let variant = if i % 2 == 0 { "GF-B1" } else { "GF-B2" };
        bought_sku(&mut book, &c, variant, "古法金手镯", "手镯", "2026-03-01");
        bought_sku(&mut book, &c, "GF-Z1", "古法金转运珠", "手链", "2026-05-01");
    }
    for i in 0..12 {
        let c = customer(&mut book, &[("name", &format!("别的客{i}"))], &[]);
        bought_sku(&mut book, &c, "JD-E1", "小金豆耳钉", "耳饰", "2026-04-01");
        bought_sku(&mut book, &c, "X-9", "别的东西", "其他", "2026-04-02");
    }
    let new = customer(
        &mut book,
        &[("name", "林晓"), ("consent_marketing", "yes")],
        &[],
    );
    bought_sku(&mut book, &new, "GF-B2", "古法金手镯", "手镯", "2026-10-01");
    let s = outreach
        .suggest(&mut book, &new, 5, day("2026-11-24"), "zh-Hans")
        .unwrap();
    let ids: Vec<&str> = s.items.iter().map(|i| i.content_id.as_str()).collect();
    // She owns the bangle (by a SKU HQ's item names): never proposed again.
    assert!(!ids.contains(&"hq-bangle"), "{ids:?}");
    assert_eq!(ids[0], "hq-beads", "{:#?}", s.items);
    assert!(
        s.items[0]
            .reasons
            .contains(&"买过古法金手镯的顾客常再买这款".to_string()),
        "{:?}",
        s.items[0].reasons
    );
    assert!(s.items[0].reason_codes.contains(&Reason::BuyersAlsoBought {
        product: "古法金手镯".into()
    }));
    let en = outreach
        .suggest(&mut book, &new, 5, day("2026-11-24"), "en")
        .unwrap();
    assert!(
        en.items[0]
            .reasons
            .contains(&"customers who bought the 古法金手镯 often buy this too".to_string()),
        "{:?}",
        en.items[0].reasons
    );
    let hant = outreach
        .suggest(&mut book, &new, 5, day("2026-11-24"), "zh-Hant")
        .unwrap();
    assert!(
        hant.items[0]
            .reasons
            .iter()
            .any(|r| r.starts_with("買過") && r.ends_with("的顧客常再買這款")),
        "{:?}",
        hant.items[0].reasons
    );
    // The studs' buyers bought nothing she has: no learned reason for them.
    if let Some(studs) = s.items.iter().find(|i| i.content_id == "hq-studs") {
        assert!(
            !studs
                .reason_codes
                .iter()
                .any(|r| matches!(r, Reason::BuyersAlsoBought { .. })),
            "{studs:#?}"
        );
    }
}

#[test]
fn the_fitted_model_is_kept_in_the_book_for_the_next_process_and_a_damaged_copy_is_refitted() {
    let Setup { mut book, .. } = setup();
    let mut ids = Vec::new();
    for i in 0..6 {
        let c = customer(
            &mut book,
            &[("name", &format!("客{i}")), ("consent_marketing", "yes")],
            &[],
        );
        bought(&mut book, &c, "玫瑰金手链", "手链", "2026-03-01");
        if i < 5 {
            bought(&mut book, &c, "玫瑰金项链", "项链", "2026-04-01");
        }
        ids.push(c);
    }
    let day = day("2026-11-24");
    let first = Outreach::new()
        .suggest(&mut book, &ids[5], 5, day, "zh-Hans")
        .unwrap();
    let (mark, kept) = book
        .derived("recommend.store_stats")
        .unwrap()
        .expect("kept");
    assert!(!kept.is_empty());
    // Another process reads it back and proposes the same.
    let again = Outreach::new()
        .suggest(&mut book, &ids[5], 5, day, "zh-Hans")
        .unwrap();
    assert_eq!(again, first);
    // A damaged copy is not trusted: worked out again, and kept whole.
    book.keep_derived("recommend.store_stats", &mark, b"\x08\0\0\0\0\0\0\0{broken")
        .unwrap();
    let repaired = Outreach::new()
        .suggest(&mut book, &ids[5], 5, day, "zh-Hans")
        .unwrap();
    assert_eq!(repaired, first);
    let (_, rewritten) = book.derived("recommend.store_stats").unwrap().unwrap();
    // The same statistics (their maps may be written in another order).
    assert_eq!(rewritten.len(), kept.len());
    assert!(!rewritten.ends_with(b"{broken"));
}

#[test]
fn the_next_process_reads_the_kept_statistics_until_the_purchases_change() {
    // Two stores: here the bracelet's buyers go on to the necklace; in the
    // other, to the pearl studs.
    let store = |partner: (&str, &str)| {
        let Setup { mut book, .. } = setup();
        let mut last = String::new();
        for i in 0..6 {
            last = customer(
                &mut book,
                &[("name", &format!("客{i}")), ("consent_marketing", "yes")],
                &[],
            );
            bought(&mut book, &last, "玫瑰金手链", "手链", "2026-03-01");
            if i < 5 {
                bought(&mut book, &last, partner.0, partner.1, "2026-04-01");
            }
        }
        (book, last)
    };
    let (mut here, her) = store(("玫瑰金项链", "项链"));
    let (mut other, hers_there) = store(("珍珠耳钉", "耳饰"));
    let day = day("2026-11-24");
    let learned_for = |s: &lighttouch_outreach::recommend::Suggestions| -> Vec<String> {
        s.items
            .iter()
            .filter(|i| {
                i.reason_codes
                    .iter()
                    .any(|r| matches!(r, Reason::BuyersAlsoBought { .. }))
            })
            .map(|i| i.content_id.clone())
            .collect()
    };
    let own = Outreach::new()
        .suggest(&mut here, &her, 5, day, "zh-Hans")
        .unwrap();
    assert_eq!(learned_for(&own), vec!["p-rose"], "{own:#?}");
    Outreach::new()
        .suggest(&mut other, &hers_there, 5, day, "zh-Hans")
        .unwrap();
    // Plant the other store's kept statistics under this book's mark: a new
    // process takes them as they are, without reading the purchases.
    let (mark, _) = here.derived("recommend.store_stats").unwrap().unwrap();
    let (_, foreign) = other.derived("recommend.store_stats").unwrap().unwrap();
    here.keep_derived("recommend.store_stats", &mark, &foreign)
        .unwrap();
    let read_back = Outreach::new()
        .suggest(&mut here, &her, 5, day, "zh-Hans")
        .unwrap();
    assert_eq!(learned_for(&read_back), vec!["p-pearl"], "{read_back:#?}");
    // New purchases change the mark: worked out again from this book's own.
    let c = customer(&mut here, &[("name", "新客")], &[]);
    bought(&mut here, &c, "玫瑰金手链", "手链", "2026-05-01");
    let after = Outreach::new()
        .suggest(&mut here, &her, 5, day, "zh-Hans")
        .unwrap();
    assert_eq!(learned_for(&after), vec!["p-rose"], "{after:#?}");
}

/// The app opens on Today when this morning has someone to reach. The
/// quick answer agrees with the queue itself, day after day, as entries are
/// handled, customers asked not to be contacted, owned by a colleague.
#[test]
fn someone_to_reach_agrees_with_the_queue_day_after_day() {
    let Setup { mut book, .. } = setup();
    let mut outreach = Outreach::new();
    let wang = wang_li(&mut book);
    let lunar = customer(
        &mut book,
        &[
            ("name", "陈静"),
            ("birthday", "--08-15"),
            ("birthday_calendar", "lunar"),
            ("anniversary", "2015-12-05"),
        ],
        &[],
    );
    let quiet = customer(
        &mut book,
        &[
            ("name", "李娜"),
            ("do_not_contact", "yes"),
            ("birthday", "1988-12-01"),
        ],
        &[],
    );
    let theirs = customer(
        &mut book,
        &[
            ("name", "赵敏"),
            ("birthday", "1992-12-10"),
            ("owner", "小王"),
        ],
        &[],
    );
    bought(&mut book, &lunar, "淡水珍珠项链", "项链", "2026-11-20");
    bought(&mut book, &quiet, "一克拉钻戒", "戒指", "2026-11-21");
    bought(&mut book, &theirs, "珍珠耳钉", "耳饰", "2026-11-22");
    outreach
        .schedule_follow_up(&mut book, &wang, day("2026-12-20"), Some("取改好的手链"))
        .unwrap();
    let people = |q: &[lighttouch_outreach::today::QueueEntry]| {
        q.iter()
            .filter(|e| {
                use lighttouch_outreach::today::QueueSection::*;
                matches!(e.section, FollowUp | Occasion | Care)
            })
            .count()
    };
    let (mut yes, mut no) = (0, 0);
    let mut seen = std::collections::HashSet::new();
    let mut d = day("2026-11-15");
    while d <= day("2027-01-10") {
        let q = outreach.today(&mut book, d, "zh-Hans").unwrap();
        let quick = outreach.someone_to_reach(&book, d).unwrap();
        assert_eq!(quick, people(&q) > 0, "{d}: {q:#?}");
        seen.extend(q.iter().map(|e| e.section));
        assert!(
            !q.iter()
                .any(|e| e.customer_id == quiet || e.customer_id == theirs),
            "{d}"
        );
        if quick {
            yes += 1;
            // Handling the day's first entry: asked again, still the queue's answer.
            if let Some(first) = q.first() {
                outreach
                    .mark_queue_entry(&mut book, &first.key, "done", None)
                    .unwrap();
                let q = outreach.today(&mut book, d, "zh-Hans").unwrap();
                assert_eq!(
                    outreach.someone_to_reach(&book, d).unwrap(),
                    people(&q) > 0,
                    "{d} after done"
                );
            }
        } else {
            no += 1;
        }
        d += chrono::Duration::days(1);
    }
    use lighttouch_outreach::today::QueueSection;
    for section in [
        QueueSection::FollowUp,
        QueueSection::Occasion,
        QueueSection::Care,
    ] {
        assert!(seen.contains(&section), "{section:?} came up");
    }
    assert!(
        yes >= 3 && no > 5,
        "both answers came up: {yes} yes, {no} no"
    );
}
