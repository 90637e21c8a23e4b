//! Changes from a buggy client: well-formed JSON a server accepts as a push,
//! with values that are wrong in every way the schema names. The simulation
//! and the property test mix them with good changes and check that the
//! store keeps every good one and none of the wrong ones.

use lighttouch_protocol::schema::{MAX_LONG_TEXT_CHARS, MAX_SHORT_TEXT_CHARS, MAX_VALUE_BYTES};
use lighttouch_protocol::PushedChange;
use serde_json::{json, Value};

/// The ways a change can be wrong; each one the server must refuse.
pub const MISTAKES: &[&str] = &[
    "customer without a name",
    "name set to null",
    "name that is a number",
    "ring size over its limit",
    "a column that does not exist",
    "half a piece bought",
    "note over its limit",
    "a kind of row that does not exist",
    "HQ content from a laptop",
    "HQ's talk script from a laptop",
    "a value over the size limit",
    "purchase amount as text",
    "a flag that is a string",
];

/// A marker in every wrong text value: no book may ever hold it.
pub const WRONG_MARK: &str = "错值";

/// A stamp from `node` at `millis`, counter `n`.
pub fn stamp(millis: i64, n: u32, node: u128) -> String {
    format!("{millis:013}-{n:06}-{node:032x}")
}

fn change(
    seq: i64,
    hlc: String,
    entity: &str,
    row_id: &str,
    op: &str,
    field: Option<&str>,
    value: Value,
) -> PushedChange {
    PushedChange {
        seq,
        hlc,
        entity: entity.into(),
        row_id: row_id.into(),
        op: op.into(),
        field: field.map(Into::into),
        value: Some(value),
        base: None,
    }
}

/// Change `seq` made with mistake `mistake` (an index into [`MISTAKES`],
/// taken modulo its length), about `customer`; `tag` keeps IDs distinct.
pub fn wrong_change(
    mistake: usize,
    seq: i64,
    hlc: String,
    customer: &str,
    tag: u64,
) -> PushedChange {
    let created = json!("2026-11-24T10:00:00Z");
    let long = |n: usize| format!("{WRONG_MARK}{}", "长".repeat(n));
    let row = format!("bug-{tag}");
    match mistake % MISTAKES.len() {
        0 => change(
            seq,
            hlc,
            "customer",
            &row,
            "insert",
            None,
            json!({"phone": format!("{WRONG_MARK}{tag}"), "created_at": created}),
        ),
        1 => change(
            seq,
            hlc,
            "customer",
            customer,
            "set",
            Some("name"),
            Value::Null,
        ),
        2 => change(
            seq,
            hlc,
            "customer",
            customer,
            "set",
            Some("name"),
            json!(42),
        ),
        3 => change(
            seq,
            hlc,
            "customer",
            customer,
            "set",
            Some("ring_size"),
            json!(long(MAX_SHORT_TEXT_CHARS)),
        ),
        4 => change(
            seq,
            hlc,
            "customer",
            customer,
            "set",
            Some("shoe_colour"),
            json!(format!("{WRONG_MARK}{tag}")),
        ),
        5 => change(
            seq,
            hlc,
            "purchase",
            &row,
            "insert",
            None,
            json!({
            "customer_id": customer, "purchased_on": "2026-11-24",
            "product": format!("{WRONG_MARK}{tag}"), "quantity": 0.5, "created_at": created}),
        ),
        6 => change(
            seq,
            hlc,
            "note",
            &row,
            "insert",
            None,
            json!({
            "customer_id": customer, "body": long(MAX_LONG_TEXT_CHARS), "created_at": created}),
        ),
        7 => change(
            seq,
            hlc,
            "spaceship",
            &row,
            "insert",
            None,
            json!({"name": format!("{WRONG_MARK}{tag}")}),
        ),
        8 => change(
            seq,
            hlc,
            "content_item",
            &row,
            "insert",
            None,
            json!({
            "title": format!("{WRONG_MARK}{tag}"), "body": "x", "kind": "product",
            "created_at": created}),
        ),
        9 => change(
            seq,
            hlc,
            "talk_script",
            &format!("HQ:{tag}"),
            "insert",
            None,
            json!({
            "title": format!("{WRONG_MARK}{tag}"), "body": "x", "created_at": created}),
        ),
        10 => change(
            seq,
            hlc,
            "customer",
            customer,
            "set",
            Some("preferred_styles"),
            json!(format!("{WRONG_MARK}{}", "x".repeat(MAX_VALUE_BYTES))),
        ),
        11 => change(
            seq,
            hlc,
            "purchase",
            &row,
            "insert",
            None,
            json!({
            "customer_id": customer, "purchased_on": "2026-11-24",
            "product": format!("{WRONG_MARK}{tag}"), "amount_cents": "1200",
            "created_at": created}),
        ),
        _ => change(
            seq,
            hlc,
            "customer",
            &row,
            "insert",
            None,
            json!({
            "name": format!("{WRONG_MARK}{tag}"), "created_at": created, "consent_marketing": "yes"}),
        ),
    }
}

/// A good change from the same client: a new customer, a field edit or a
/// note, with a value that is recognisable and never repeats.
pub fn good_change(kind: usize, seq: i64, hlc: String, customer: &str, tag: u64) -> PushedChange {
    let created = json!("2026-11-24T10:00:00Z");
    match kind % 3 {
        0 => change(
            seq,
            hlc,
            "customer",
            &format!("good-{tag}"),
            "insert",
            None,
            json!({"name": format!("好客人{tag}"), "created_at": created}),
        ),
        1 => change(
            seq,
            hlc,
            "customer",
            customer,
            "set",
            Some("ring_size"),
            json!(format!("好{tag}")),
        ),
        _ => change(
            seq,
            hlc,
            "note",
            &format!("good-note-{tag}"),
            "insert",
            None,
            json!({
            "customer_id": customer, "body": format!("好备注{tag}"), "created_at": created}),
        ),
    }
}
