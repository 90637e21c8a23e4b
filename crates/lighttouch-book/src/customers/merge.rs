//! Merging two profiles of one person: nothing of either is lost.

use super::{fields::editable_fields, Customer};
use crate::changes::Entity;
use crate::error::{BookError, Result};
use crate::store::Book;
use serde_json::Value;

impl Book {
    /// Merges `other` into `keep`: `keep`'s fields win, its empty fields are
    /// filled from `other`, preference lists are united, and every tag, note,
    /// purchase, touchpoint and draft of `other` moves to `keep`. `other`
    /// remains as a tombstone pointing at `keep`.
    pub fn merge_customers(&mut self, keep: &str, other: &str) -> Result<Customer> {
        if keep == other {
            return Err(BookError::InvalidInput(
                "cannot merge a customer with itself".into(),
            ));
        }
        let a = self.live_customer(keep)?;
        let b = self.live_customer(other)?;
        let a_json =
            serde_json::to_value(&a).map_err(|e| BookError::InvalidInput(e.to_string()))?;
        let b_json =
            serde_json::to_value(&b).map_err(|e| BookError::InvalidInput(e.to_string()))?;
        let mut updates: Vec<(&'static str, Value)> = Vec::new();
        for field in editable_fields() {
            let (av, bv) = (&a_json[field], &b_json[field]);
            match (field, av, bv) {
                // Consent is decided below, by which decision is newer; calendars
                // travel with their dates.
                ("consent_marketing" | "consent_source", _, _) => {}
                ("birthday_calendar" | "anniversary_calendar", _, _) => {}
                // Either profile asking not to be contacted is the customer's wish.
                ("do_not_contact", _, _) if b.do_not_contact && !a.do_not_contact => {
                    updates.push((field, Value::Bool(true)));
                }
                (_, Value::Array(x), Value::Array(y)) => {
                    let mut union = x.clone();
                    union.extend(y.iter().filter(|v| !x.contains(v)).cloned());
                    if union.len() != x.len() {
                        updates.push((field, Value::String(Value::Array(union).to_string())));
                    }
                }
                ("birthday" | "anniversary", Value::Null, Value::String(_)) => {
                    let calendar = if field == "birthday" {
                        "birthday_calendar"
                    } else {
                        "anniversary_calendar"
                    };
                    updates.push((field, bv.clone()));
                    updates.push((calendar, b_json[calendar].clone()));
                }
                (_, Value::Null, Value::String(_)) => updates.push((field, bv.clone())),
                _ => {}
            }
        }
        // The newer consent decision stands, whichever profile holds it.
        if b.consent_at > a.consent_at {
            updates.push(("consent_marketing", Value::Bool(b.consent_marketing)));
            updates.push(("consent_at", b_json["consent_at"].clone()));
            updates.push(("consent_source", b_json["consent_source"].clone()));
        }
        let moved = self.rows_of(other)?;
        let tag_ids: Vec<String> = b.tags.iter().map(|t| t.id.clone()).collect();
        self.write(|w| {
            for (field, value) in &updates {
                w.update(Entity::Customer, keep, field, value)?;
            }
            let keep_v = Value::String(keep.to_string());
            for (entity, id) in &moved {
                w.update(*entity, id, "customer_id", &keep_v)?;
            }
            for tag in &tag_ids {
                w.add_tag_link(keep, tag)?;
            }
            w.update(Entity::Customer, other, "merged_into", &keep_v)?;
            Ok(())
        })?;
        self.customer(keep)
    }

    fn rows_of(&self, customer: &str) -> Result<Vec<(Entity, String)>> {
        let mut out = Vec::new();
        for entity in [
            Entity::Note,
            Entity::Purchase,
            Entity::Touchpoint,
            Entity::Draft,
        ] {
            let mut stmt = self.conn.prepare(&format!(
                "SELECT id FROM {} WHERE customer_id = ?1 ORDER BY id",
                entity.table()
            ))?;
            for id in stmt.query_map([customer], |r| r.get::<_, String>(0))? {
                out.push((entity, id?));
            }
        }
        Ok(out)
    }
}
