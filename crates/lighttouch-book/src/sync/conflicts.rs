//! Values that lost to a concurrent edit, for the associate to look at and,
//! in one step, restore (an ordinary edit, which syncs like any other).

use crate::changes::Entity;
use crate::error::{BookError, Result};
use crate::store::Book;
use rusqlite::params;
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Conflict {
    pub id: i64,
    pub entity: String,
    pub row_id: String,
    /// The customer the value belongs to, for showing and opening.
    pub customer_id: Option<String>,
    pub customer_name: Option<String>,
    pub field: String,
    /// JSON text of the value that lost.
    pub lost_value: String,
    /// JSON text of the value that won (what the field holds now, unless edited since).
    pub won_value: String,
    pub detected_at: String,
}

impl Book {
    /// Lost values still worth showing: unresolved, and differing from what the
    /// field holds now (restoring it elsewhere resolves it here too).
    pub fn conflicts(&self) -> Result<Vec<Conflict>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, entity, row_id, field, lost_value, won_value, detected_at
             FROM conflicts WHERE resolved_at IS NULL ORDER BY id",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok(Conflict {
                    id: r.get(0)?,
                    entity: r.get(1)?,
                    row_id: r.get(2)?,
                    customer_id: None,
                    customer_name: None,
                    field: r.get(3)?,
                    lost_value: r.get::<_, Option<String>>(4)?.unwrap_or_default(),
                    won_value: r.get::<_, Option<String>>(5)?.unwrap_or_default(),
                    detected_at: r.get(6)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut out = Vec::with_capacity(rows.len());
        for mut c in rows {
            let Some(entity) = Entity::parse(&c.entity) else {
                continue;
            };
            let current = self.current_value(entity, &c.row_id, &c.field)?;
            let Some(current) = current else { continue };
            let lost: Option<Value> = serde_json::from_str(&c.lost_value).ok();
            if lost.is_some_and(|l| crate::changes::to_sql(&l) == crate::changes::to_sql(&current))
            {
                continue;
            }
            c.customer_id = self.customer_of(entity, &c.row_id)?;
            if let Some(id) = &c.customer_id {
                c.customer_name = self
                    .conn
                    .query_row(
                        "SELECT name FROM customers WHERE id = ?1 AND erased_at IS NULL",
                        [id],
                        |r| r.get(0),
                    )
                    .ok();
            }
            out.push(c);
        }
        Ok(out)
    }

    /// Puts the lost value back (a new edit) and marks the conflict resolved.
    pub fn restore_conflict(&mut self, id: i64) -> Result<()> {
        let (entity, row_id, field, lost): (String, String, String, Option<String>) = self
            .conn
            .query_row(
                "SELECT entity, row_id, field, lost_value FROM conflicts
                 WHERE id = ?1 AND resolved_at IS NULL",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .map_err(|_| BookError::InvalidInput(format!("no open conflict with id {id}")))?;
        let entity = Entity::parse(&entity)
            .ok_or_else(|| BookError::InvalidInput(format!("unknown kind {entity}")))?;
        let value: Value = lost
            .as_deref()
            .and_then(|s| serde_json::from_str(s).ok())
            .ok_or_else(|| BookError::InvalidInput("the lost value was erased".into()))?;
        self.write(|w| {
            w.update(entity, &row_id, &field, &value)?;
            let at = w.now_text();
            w.conn().execute(
                "UPDATE conflicts SET resolved_at = ?1 WHERE id = ?2",
                params![at, id],
            )?;
            Ok(())
        })
    }

    /// Keeps the current value; the conflict is no longer shown.
    pub fn dismiss_conflict(&mut self, id: i64) -> Result<()> {
        let at = self.now().to_rfc3339();
        let n = self.conn.execute(
            "UPDATE conflicts SET resolved_at = ?1 WHERE id = ?2 AND resolved_at IS NULL",
            params![at, id],
        )?;
        if n == 0 {
            return Err(BookError::InvalidInput(format!(
                "no open conflict with id {id}"
            )));
        }
        Ok(())
    }

    fn current_value(&self, entity: Entity, row_id: &str, field: &str) -> Result<Option<Value>> {
        if !entity.has_column(field) {
            return Ok(None);
        }
        let v: Option<rusqlite::types::Value> = self
            .conn
            .query_row(
                &format!("SELECT {field} FROM {} WHERE id = ?1", entity.table()),
                [row_id],
                |r| r.get(0),
            )
            .ok();
        Ok(v.map(|v| super::apply::sql_to_json(&v)))
    }

    fn customer_of(&self, entity: Entity, row_id: &str) -> Result<Option<String>> {
        let sql = match entity {
            Entity::Customer => return Ok(Some(row_id.to_string())),
            Entity::Note => "SELECT customer_id FROM notes WHERE id = ?1",
            Entity::Purchase => "SELECT customer_id FROM purchases WHERE id = ?1",
            Entity::Touchpoint => "SELECT customer_id FROM touchpoints WHERE id = ?1",
            Entity::Draft => "SELECT customer_id FROM drafts WHERE id = ?1",
            _ => return Ok(None),
        };
        Ok(self.conn.query_row(sql, [row_id], |r| r.get(0)).ok())
    }
}
