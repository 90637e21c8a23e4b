//! Notes: dated, authored, never silently lost. Editing adds a revision; the
//! note shows its newest text and keeps every earlier one.

use crate::changes::Entity;
use crate::error::{BookError, Result};
use crate::store::Book;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Note {
    pub id: String,
    pub customer_id: String,
    pub body: String,
    pub author: Option<String>,
    pub created_at: String,
    pub edited_at: Option<String>,
    /// Every text the note has had, oldest first (the last one is `body`).
    pub revisions: Vec<NoteRevision>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct NoteRevision {
    pub body: String,
    pub author: Option<String>,
    pub at: String,
}

/// What the note editor, an import and the server all allow.
const MAX_NOTE_CHARS: usize = lighttouch_protocol::schema::MAX_LONG_TEXT_CHARS;

pub fn validate_body(body: &str) -> Result<&str> {
    let body = body.trim();
    if body.is_empty() {
        return Err(BookError::missing("note", "a note needs some text"));
    }
    if body.chars().count() > MAX_NOTE_CHARS {
        return Err(BookError::too_long("note", MAX_NOTE_CHARS));
    }
    Ok(body)
}

impl Book {
    pub fn add_note(&mut self, customer_id: &str, body: &str) -> Result<Note> {
        let body = validate_body(body)?.to_string();
        self.live_customer(customer_id)?;
        let author = self.associate()?;
        let id = self.write(|w| {
            let at = w.now_text();
            insert_note(w, customer_id, &body, author.as_deref(), &at)
        })?;
        self.note(&id)
    }

    /// Replaces a note's text; the earlier text stays in its revisions.
    pub fn edit_note(&mut self, note_id: &str, body: &str) -> Result<Note> {
        let body = validate_body(body)?.to_string();
        let note = self.note(note_id)?;
        if note.body == body {
            return Ok(note);
        }
        let author = self.associate()?;
        self.write(|w| {
            let now = Value::String(w.now_text());
            let author = author.map(Value::String).unwrap_or(Value::Null);
            add_revision(w, note_id, &body, author, now.clone())?;
            w.update(Entity::Note, note_id, "body", &Value::String(body.clone()))?;
            w.update(Entity::Note, note_id, "edited_at", &now)?;
            Ok(())
        })?;
        self.note(note_id)
    }

    pub fn note(&self, note_id: &str) -> Result<Note> {
        self.notes_where("n.id = ?1", note_id)?
            .pop()
            .ok_or_else(|| BookError::NoteNotFound(note_id.to_string()))
    }

    /// A customer's notes, newest first.
    pub fn notes(&self, customer_id: &str) -> Result<Vec<Note>> {
        self.notes_where("n.customer_id = ?1 AND n.deleted_at IS NULL", customer_id)
    }

    fn notes_where(&self, condition: &str, arg: &str) -> Result<Vec<Note>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT n.id, n.customer_id, n.body, n.author, n.created_at, n.edited_at,
                    r.body, r.author, r.at
             FROM notes n LEFT JOIN note_revisions r ON r.note_id = n.id
             WHERE {condition} ORDER BY n.created_at DESC, n.id DESC, r.hlc"
        ))?;
        let mut notes: Vec<Note> = Vec::new();
        let mut rows = stmt.query([arg])?;
        while let Some(r) = rows.next()? {
            let id: String = r.get(0)?;
            if notes.last().is_none_or(|n| n.id != id) {
                notes.push(Note {
                    id,
                    customer_id: r.get(1)?,
                    body: r.get(2)?,
                    author: r.get(3)?,
                    created_at: r.get(4)?,
                    edited_at: r.get(5)?,
                    revisions: Vec::new(),
                });
            }
            if let Some(body) = r.get::<_, Option<String>>(6)? {
                let note = notes.last_mut().expect("pushed above");
                note.revisions.push(NoteRevision {
                    body,
                    author: r.get(7)?,
                    at: r.get(8)?,
                });
            }
        }
        Ok(notes)
    }
}

/// Inserts a note and its first revision: the one way a note comes to be
/// (typed, imported or generated). Returns its ID.
pub fn insert_note(
    w: &mut crate::changes::Writer<'_>,
    customer_id: &str,
    body: &str,
    author: Option<&str>,
    at: &str,
) -> Result<String> {
    let id = uuid::Uuid::now_v7().to_string();
    let at = Value::String(at.to_string());
    let author = author
        .map(|a| Value::String(a.into()))
        .unwrap_or(Value::Null);
    w.insert(
        Entity::Note,
        &id,
        &[
            ("customer_id", Value::String(customer_id.into())),
            ("author", author.clone()),
            ("created_at", at.clone()),
            ("body", Value::String(body.into())),
        ],
    )?;
    add_revision(w, &id, body, author, at)?;
    Ok(id)
}

fn add_revision(
    w: &mut crate::changes::Writer<'_>,
    note_id: &str,
    body: &str,
    author: Value,
    at: Value,
) -> Result<()> {
    let id = uuid::Uuid::now_v7().to_string();
    w.insert(
        Entity::NoteRevision,
        &id,
        &[
            ("note_id", Value::String(note_id.into())),
            ("body", Value::String(body.into())),
            ("author", author),
            ("at", at),
        ],
    )?;
    Ok(())
}
