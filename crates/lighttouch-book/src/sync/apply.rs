//! Merging changes from other devices into this book. Deterministic on every
//! replica, whatever the order changes arrive in:
//! - scalar fields: last writer wins per field, by hybrid logical clock;
//! - tag links: an add-wins set (a concurrent add and remove keeps the tag);
//! - notes, purchases, touchpoints: append-only rows, merged field by field;
//! - erasure: final; it wipes the customer and everything attached.
//!
//! A value that loses to a concurrent edit is kept in `conflicts`. An edit is
//! concurrent when its `base` (the stamp it replaced) is not the stamp of the
//! value it meets.

use crate::changes::{
    field_stamp, insert_row, set_field_stamp, to_sql, wipe_customer, Entity, OnConflict,
};
use crate::error::{BookError, Result};
use lighttouch_protocol::PulledChange;
use rusqlite::types::Value as SqlValue;
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};

/// What a batch of applied changes touched, for the search index and clock.
#[derive(Debug, Default)]
pub(crate) struct Applied {
    pub touched: BTreeSet<String>,
    /// A bulk pull rebuilds every customer's search keys at its end, so it
    /// keeps no list of customers touched.
    pub bulk: bool,
    pub tags_changed: bool,
    pub max_hlc: Option<String>,
    pub conflicts: usize,
    /// Customers looked up during this page (most changes are of a few).
    known: HashMap<String, CustomerState>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CustomerState {
    Live,
    Erased,
    Missing,
}

impl Applied {
    pub fn new(bulk: bool) -> Applied {
        Applied {
            bulk,
            ..Applied::default()
        }
    }

    /// After a rolled-back change: what was looked up may no longer hold.
    pub fn forget_lookups(&mut self) {
        self.known.clear();
    }

    fn touch_customer(&mut self, id: &str) {
        if !self.bulk {
            self.touched.insert(id.to_string());
        }
    }

    fn customer_state(&mut self, tx: &Connection, id: &str) -> Result<CustomerState> {
        if let Some(s) = self.known.get(id) {
            return Ok(*s);
        }
        let erased: Option<bool> = tx
            .prepare_cached("SELECT erased_at IS NOT NULL FROM customers WHERE id = ?1")?
            .query_row([id], |r| r.get(0))
            .optional()?;
        let state = match erased {
            None => CustomerState::Missing,
            Some(true) => CustomerState::Erased,
            Some(false) => CustomerState::Live,
        };
        self.known.insert(id.to_string(), state);
        Ok(state)
    }
}

pub(crate) fn apply_change(
    tx: &Connection,
    change: &PulledChange,
    now: &str,
    out: &mut Applied,
) -> Result<()> {
    if out.max_hlc.as_deref() < Some(change.hlc.as_str()) {
        out.max_hlc = Some(change.hlc.clone());
    }
    // Kinds this version does not know are skipped, never guessed at.
    let Some(entity) = Entity::parse(&change.entity) else {
        return Ok(());
    };
    match (change.op.as_str(), entity) {
        ("insert", _) => apply_insert(tx, entity, change, now, out),
        ("set", _) => {
            let (Some(field), Some(value)) = (&change.field, &change.value) else {
                return Ok(()); // erased since; nothing left to apply
            };
            let Some(customer) = owning_customer(tx, entity, &change.row_id)? else {
                return Ok(());
            };
            if !customer.is_empty() {
                match out.customer_state(tx, &customer)? {
                    CustomerState::Erased => return Ok(()),
                    // Before the customer arrived (only a buggy client sends
                    // that): kept aside, and tried again after each page.
                    CustomerState::Missing if entity == Entity::Customer => {
                        return Err(BookError::CustomerNotFound(customer));
                    }
                    _ => {}
                }
            }
            merge_field(
                tx,
                entity,
                &change.row_id,
                field,
                value,
                &change.hlc,
                change.base.as_deref(),
                now,
                out,
            )?;
            if entity == Entity::Tag {
                touch_tag_customers(tx, &change.row_id, out)?;
            }
            touch(entity, &customer, out);
            Ok(())
        }
        ("add" | "remove", Entity::CustomerTag) => apply_tag_link(tx, change, out),
        ("erase", Entity::Customer) => {
            let id = &change.row_id;
            let state: Option<Option<String>> = tx
                .prepare_cached("SELECT erased_at FROM customers WHERE id = ?1")?
                .query_row([id], |r| r.get(0))
                .optional()?;
            match state {
                Some(Some(_)) => {}
                Some(None) => wipe_customer(tx, id, now, &change.hlc)?,
                // Never seen (its data was already wiped on the server): keep
                // the tombstone so the customer is known as erased here too.
                None => {
                    tx.execute(
                        "INSERT INTO customers(id, hlc, name, created_at, erased_at, do_not_contact)
                         VALUES (?1, ?2, '', ?3, ?3, 1)",
                        params![id, change.hlc, now],
                    )?;
                }
            }
            out.known.insert(id.clone(), CustomerState::Erased);
            out.touch_customer(id);
            Ok(())
        }
        _ => Ok(()),
    }
}

fn apply_insert(
    tx: &Connection,
    entity: Entity,
    change: &PulledChange,
    now: &str,
    out: &mut Applied,
) -> Result<()> {
    let Some(Value::Object(fields)) = &change.value else {
        return Ok(()); // wiped by an erasure
    };
    let id = &change.row_id;
    let customer = match entity {
        Entity::Customer => Some(id.clone()),
        Entity::Note | Entity::Purchase | Entity::Touchpoint | Entity::Draft | Entity::FollowUp => {
            fields
                .get("customer_id")
                .and_then(Value::as_str)
                .map(str::to_string)
        }
        // A revision without its note here belongs to an erased customer.
        Entity::NoteRevision => match fields.get("note_id").and_then(Value::as_str) {
            Some(note) => match note_customer(tx, note)? {
                Some(c) => Some(c),
                None => return Ok(()),
            },
            None => return Ok(()),
        },
        Entity::Tag | Entity::ContentItem | Entity::CustomerTag | Entity::TalkScript => None,
    };
    if let Some(c) = &customer {
        let state = out.customer_state(tx, c)?;
        if state == CustomerState::Erased {
            return Ok(());
        }
        if entity != Entity::Customer && state == CustomerState::Missing {
            // An erased customer's rows come without values (returned
            // above); one with its value names a customer not here yet.
            return Err(BookError::CustomerNotFound(c.clone()));
        }
        if entity == Entity::Customer {
            out.known.remove(c);
        }
    }
    let known: Vec<(&str, &Value)> = entity
        .columns()
        .iter()
        .filter_map(|col| fields.get(col.name).map(|v| (col.name, v)))
        .collect();
    // Most inserts are of rows this book has never seen: try that first.
    let inserted = insert_row(
        tx,
        entity,
        id,
        &change.hlc,
        known.iter().copied(),
        OnConflict::Ignore,
    )?;
    if inserted == 0 {
        merge_insert(tx, entity, id, &known, &change.hlc, now, out)?;
    }
    if entity == Entity::Tag {
        touch_tag_customers(tx, id, out)?;
    }
    if let Some(c) = customer {
        touch(entity, &c, out);
    }
    Ok(())
}

/// A second insert of a row this book has (a copy of a book, or a book
/// continuing as a new device, sends its creation again, perhaps under a
/// later stamp). It competes with the row's insert only: the later insert
/// wins the fields no edit has set since; a field an edit set keeps the
/// edit, since every edit comes after the creation it edits, whatever
/// stamps the server bounded.
fn merge_insert(
    tx: &Connection,
    entity: Entity,
    id: &str,
    fields: &[(&str, &Value)],
    hlc: &str,
    now: &str,
    out: &mut Applied,
) -> Result<()> {
    let row_hlc: Option<String> = tx
        .prepare_cached(&format!("SELECT hlc FROM {} WHERE id = ?1", entity.table()))?
        .query_row([id], |r| r.get(0))
        .optional()?;
    let Some(row_hlc) = row_hlc else {
        return Ok(());
    };
    if row_hlc == hlc {
        return Ok(());
    }
    let wins = hlc > row_hlc.as_str();
    for (field, value) in fields {
        if field_stamp(tx, entity, id, field)?.is_some() {
            continue;
        }
        let current: SqlValue = tx
            .prepare_cached(&format!(
                "SELECT {field} FROM {} WHERE id = ?1",
                entity.table()
            ))?
            .query_row([id], |r| r.get(0))?;
        let incoming = to_sql(value);
        if incoming == current {
            continue;
        }
        let (lost, won) = if wins {
            tx.prepare_cached(&format!(
                "UPDATE {} SET {field} = ?1 WHERE id = ?2",
                entity.table()
            ))?
            .execute(params![incoming, id])?;
            (
                (sql_to_json(&current), row_hlc.as_str()),
                ((*value).clone(), hlc),
            )
        } else {
            (
                ((*value).clone(), hlc),
                (sql_to_json(&current), row_hlc.as_str()),
            )
        };
        record_conflict(
            tx,
            entity,
            id,
            field,
            (&lost.0, lost.1),
            (&won.0, won.1),
            now,
            out,
        )?;
    }
    if wins {
        tx.prepare_cached(&format!(
            "UPDATE {} SET hlc = ?1 WHERE id = ?2",
            entity.table()
        ))?
        .execute(params![hlc, id])?;
    }
    Ok(())
}

/// Last writer wins on one field; the loser, if concurrent, becomes a conflict.
/// A field no edit has set yet holds its row's insert, which any edit
/// replaces (see [`merge_insert`]).
#[allow(clippy::too_many_arguments)]
fn merge_field(
    tx: &Connection,
    entity: Entity,
    id: &str,
    field: &str,
    value: &Value,
    hlc: &str,
    base: Option<&str>,
    now: &str,
    out: &mut Applied,
) -> Result<()> {
    if !entity.has_column(field) {
        return Ok(());
    }
    let current: Option<(SqlValue, String)> = tx
        .prepare_cached(&format!(
            "SELECT {field}, hlc FROM {} WHERE id = ?1",
            entity.table()
        ))?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((current, row_hlc)) = current else {
        return Ok(()); // the row is gone (erased) or never arrived
    };
    let stamp = field_stamp(tx, entity, id, field)?;
    let first_edit = stamp.is_none();
    let (cur_hlc, cur_base) = stamp.unwrap_or((row_hlc, None));
    if cur_hlc == hlc {
        return Ok(());
    }
    let incoming = to_sql(value);
    let differs = incoming != current;
    if first_edit || hlc > cur_hlc.as_str() {
        tx.prepare_cached(&format!(
            "UPDATE {} SET {field} = ?1 WHERE id = ?2",
            entity.table()
        ))?
        .execute(params![incoming, id])?;
        set_field_stamp(tx, entity, id, field, hlc, base)?;
        if differs && base != Some(cur_hlc.as_str()) {
            record_conflict(
                tx,
                entity,
                id,
                field,
                (&sql_to_json(&current), &cur_hlc),
                (value, hlc),
                now,
                out,
            )?;
        }
    } else if differs && cur_base.as_deref() != Some(hlc) {
        record_conflict(
            tx,
            entity,
            id,
            field,
            (value, hlc),
            (&sql_to_json(&current), &cur_hlc),
            now,
            out,
        )?;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn record_conflict(
    tx: &Connection,
    entity: Entity,
    id: &str,
    field: &str,
    lost: (&Value, &str),
    won: (&Value, &str),
    now: &str,
    out: &mut Applied,
) -> Result<()> {
    // Bookkeeping fields follow their content; only what a person typed counts.
    if matches!(field, "edited_at" | "name_key" | "created_at") {
        return Ok(());
    }
    let inserted = tx
        .prepare_cached(
            "INSERT INTO conflicts(entity, row_id, field, lost_value, lost_hlc, won_value, won_hlc, detected_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT(entity, row_id, field, lost_hlc) DO NOTHING",
        )?
        .execute(params![
            entity.as_str(),
            id,
            field,
            lost.0.to_string(),
            lost.1,
            won.0.to_string(),
            won.1,
            now
        ])?;
    out.conflicts += inserted;
    Ok(())
}

fn apply_tag_link(tx: &Connection, change: &PulledChange, out: &mut Applied) -> Result<()> {
    let Some((customer, tag)) = change.row_id.split_once('/') else {
        return Ok(());
    };
    if out.customer_state(tx, customer)? != CustomerState::Live {
        return Ok(());
    }
    let tag_known = tx
        .prepare_cached("SELECT 1 FROM tags WHERE id = ?1")?
        .exists([tag])?;
    if !tag_known {
        return Ok(());
    }
    if change.op == "add" {
        tx.prepare_cached(
            "INSERT INTO customer_tags(customer_id, tag_id, added_hlc) VALUES (?1, ?2, ?3)
             ON CONFLICT(customer_id, tag_id) DO UPDATE SET added_hlc = MAX(added_hlc, excluded.added_hlc)",
        )?
        .execute(params![customer, tag, change.hlc])?;
    } else {
        // A remove names the newest add it saw; only adds up to that one go.
        let Some(seen) = change.value.as_ref().and_then(Value::as_str) else {
            return Ok(());
        };
        tx.prepare_cached(
            "INSERT INTO customer_tags(customer_id, tag_id, added_hlc, removed_hlc) VALUES (?1, ?2, ?3, ?3)
             ON CONFLICT(customer_id, tag_id)
             DO UPDATE SET removed_hlc = MAX(COALESCE(removed_hlc, ''), excluded.removed_hlc)",
        )?
        .execute(params![customer, tag, seen])?;
    }
    out.touch_customer(customer);
    Ok(())
}

/// The customer a row belongs to (itself for a customer), if the row exists.
fn owning_customer(tx: &Connection, entity: Entity, id: &str) -> Result<Option<String>> {
    let sql = match entity {
        Entity::Customer => return Ok(Some(id.to_string())),
        Entity::NoteRevision => {
            "SELECT n.customer_id FROM note_revisions r JOIN notes n ON n.id = r.note_id WHERE r.id = ?1"
        }
        Entity::Note => "SELECT customer_id FROM notes WHERE id = ?1",
        Entity::Purchase => "SELECT customer_id FROM purchases WHERE id = ?1",
        Entity::Touchpoint => "SELECT customer_id FROM touchpoints WHERE id = ?1",
        Entity::Draft => "SELECT customer_id FROM drafts WHERE id = ?1",
        Entity::FollowUp => "SELECT customer_id FROM follow_ups WHERE id = ?1",
        // Rows of no customer: the empty ID never matches an erased customer.
        Entity::Tag | Entity::ContentItem | Entity::CustomerTag | Entity::TalkScript => {
            return Ok(Some(String::new()))
        }
    };
    Ok(tx
        .prepare_cached(sql)?
        .query_row([id], |r| r.get(0))
        .optional()?)
}

fn note_customer(tx: &Connection, note: &str) -> Result<Option<String>> {
    Ok(tx
        .prepare_cached("SELECT customer_id FROM notes WHERE id = ?1")?
        .query_row([note], |r| r.get(0))
        .optional()?)
}

fn touch_tag_customers(tx: &Connection, tag: &str, out: &mut Applied) -> Result<()> {
    out.tags_changed = true;
    if out.bulk {
        return Ok(());
    }
    let mut stmt = tx.prepare_cached("SELECT customer_id FROM customer_tags WHERE tag_id = ?1")?;
    for c in stmt.query_map([tag], |r| r.get::<_, String>(0))? {
        out.touched.insert(c?);
    }
    Ok(())
}

fn touch(entity: Entity, customer: &str, out: &mut Applied) {
    if matches!(
        entity,
        Entity::Customer | Entity::Note | Entity::NoteRevision
    ) && !customer.is_empty()
    {
        out.touch_customer(customer);
    }
    if entity == Entity::Tag {
        out.tags_changed = true;
    }
}

pub(crate) fn sql_to_json(v: &SqlValue) -> Value {
    match v {
        SqlValue::Null => Value::Null,
        SqlValue::Integer(i) => Value::from(*i),
        SqlValue::Real(f) => Value::from(*f),
        SqlValue::Text(s) => Value::String(s.clone()),
        SqlValue::Blob(_) => Value::Null,
    }
}
