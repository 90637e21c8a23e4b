//! The evaluation on a small book whose right answers are worked out by
//! hand: a known split gives known figures, and nothing bought after the
//! split reaches any of them.

use chrono::NaiveDate;
use lighttouch_book::history::NewPurchase;
use lighttouch_book::{Book, ManualClock};
use lighttouch_outreach::recommend::eval::{evaluate, EvalOptions, Figures};
use std::sync::Arc;

fn book() -> Book {
    let clock = Arc::new(ManualClock::new("2026-11-24T03:00:00Z".parse().unwrap()));
    Book::open_in_memory(clock).unwrap()
}

fn customer(b: &mut Book, name: &str) -> String {
    b.add_customer(&[("name", name)], false).unwrap()
}

fn bought(b: &mut Book, id: &str, order: &str, on: &str, products: &[&str]) {
    for p in products {
        b.add_purchase(
            id,
            &NewPurchase {
                purchased_on: on.into(),
                order_ref: Some(order.into()),
                sku: Some(format!("SKU-{p}")),
                product: format!("款式{p}"),
                category: None,
                quantity: 1,
                amount_cents: Some(128_000),
                store: None,
            },
        )
        .unwrap();
    }
}

fn split() -> EvalOptions {
    EvalOptions {
        split: Some(NaiveDate::from_ymd_opt(2026, 6, 1).unwrap()),
    }
}

/// Before 1 June: three customers buy A with B, two buy C with D; one has
/// only A, one only C. After it: the A-only customer buys B, the C-only one
/// buys D, and one of the A+B customers buys A again.
fn the_known_store() -> Book {
    let mut b = book();
    let ids: Vec<String> = (1..=7)
        .map(|i| customer(&mut b, &format!("顾客{i}")))
        .collect();
    for (i, id) in ids[..3].iter().enumerate() {
        bought(
            &mut b,
            id,
            &format!("o{i}"),
            &format!("2026-03-0{}", i + 1),
            &["A", "B"],
        );
    }
    for (i, id) in ids[3..5].iter().enumerate() {
        bought(
            &mut b,
            id,
            &format!("p{i}"),
            &format!("2026-04-0{}", i + 1),
            &["C", "D"],
        );
    }
    bought(&mut b, &ids[5], "q1", "2026-05-01", &["A"]);
    bought(&mut b, &ids[6], "q2", "2026-05-02", &["C"]);
    bought(&mut b, &ids[5], "r1", "2026-06-03", &["B"]);
    // A later basket of the same customer is not the next one.
    bought(&mut b, &ids[5], "r9", "2026-07-03", &["D"]);
    bought(&mut b, &ids[6], "r2", "2026-06-04", &["D"]);
    bought(&mut b, &ids[0], "r3", "2026-06-05", &["A"]);
    b
}

fn all(hit: f64, recall: f64, ndcg: f64) -> Figures {
    Figures {
        hit_rate_at_5: hit,
        recall_at_10: recall,
        ndcg_at_10: ndcg,
    }
}

#[test]
fn a_known_split_gives_the_figures_worked_out_by_hand() {
    let r = evaluate(&the_known_store(), &split()).unwrap();
    assert_eq!(r.split, "2026-06-01");
    assert_eq!(r.training_lines, 3 * 2 + 2 * 2 + 2);
    assert_eq!(r.candidates, 4);
    assert_eq!(r.customers, 3);
    assert_eq!(r.without_history, 0);

    let new = &r.new_items;
    assert_eq!(new.customers, 2);
    // Popularity before the split: A 4, B 3, C 3, D 2. The A-only customer
    // is offered B, C, D (B first); the C-only one A, B, D (D third, NDCG 0.5).
    assert_eq!(new.most_popular, all(1.0, 1.0, 0.75));
    // Bought together before the split: A with B, C with D, and nothing else.
    assert_eq!(new.neighbours, all(1.0, 1.0, 1.0));
    // Repeating what they bought never finds a piece new to them.
    assert_eq!(new.repeat, all(0.0, 0.0, 0.0));
    // The learned model puts the partner piece first for both.
    assert_eq!(new.recommender, all(1.0, 1.0, 1.0));

    let again = &r.repeats;
    assert_eq!(again.customers, 1);
    // The app never proposes what a customer owns; the repeat baseline does.
    assert_eq!(again.recommender, all(0.0, 0.0, 0.0));
    assert_eq!(again.most_popular, all(0.0, 0.0, 0.0));
    assert_eq!(again.repeat, all(1.0, 1.0, 1.0));
}

#[test]
fn a_planted_future_purchase_never_influences_a_score() {
    let plain = evaluate(&the_known_store(), &split()).unwrap();
    // After the split, ten customers who bought nothing before buy A with C,
    // and the A-only customer's own later baskets are full of C: if any of
    // it leaked into the profile, the statistics or the model, C would
    // outrank B for the A-only customer and popularity would change.
    let mut b = the_known_store();
    for i in 0..10 {
        let id = customer(&mut b, &format!("后来的顾客{i}"));
        bought(&mut b, &id, &format!("f{i}"), "2026-06-02", &["A", "C"]);
    }
    let early = b
        .connection()
        .query_row("SELECT id FROM customers WHERE name = '顾客6'", [], |r| {
            r.get::<_, String>(0)
        })
        .unwrap();
    for i in 0..5 {
        bought(
            &mut b,
            &early,
            &format!("g{i}"),
            &format!("2026-08-0{}", i + 1),
            &["C"],
        );
    }
    let planted = evaluate(&b, &split()).unwrap();
    assert_eq!(planted.training_lines, plain.training_lines);
    assert_eq!(planted.new_items, plain.new_items);
    assert_eq!(planted.repeats, plain.repeats);
    // The newcomers had nothing before the split: left out, and counted.
    assert_eq!(planted.without_history, 10);
}

#[test]
fn nothing_to_learn_from_is_an_error_that_says_so() {
    let b = book();
    let err = evaluate(&b, &EvalOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("no purchases"), "{err}");
    let mut b = book();
    let id = customer(&mut b, "王芳");
    bought(&mut b, &id, "o1", "2026-03-01", &["A", "B"]);
    let err = evaluate(&b, &EvalOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("nothing before a split"), "{err}");
    let err = evaluate(
        &the_known_store(),
        &EvalOptions {
            split: NaiveDate::from_ymd_opt(2027, 1, 1),
        },
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("both before 2027-01-01"), "{err}");
}
