//! Search as you type over name (Chinese substrings, pinyin and initials, both
//! scripts, Latin case and width), phone (any run of digits, last four),
//! WeChat ID, email, tags and notes.
//!
//! Keys are computed once per write (`keys`), kept in `search_docs`, and
//! loaded into an in-memory index (`index`) on the first search.

mod index;
mod keys;

pub(crate) use index::RememberedOrder;
pub use index::{MatchClass, MatchField, SearchIndex};
pub(crate) use keys::{rebuild_docs_alongside, write_doc};

use crate::error::Result;
use crate::store::Book;
use lighttouch_text::mask_phone;
use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;
use std::collections::BTreeSet;

/// name, phone, WeChat ID, stage
type HitRow = (String, Option<String>, Option<String>, Option<String>);

/// One search result: enough to show a line in a list.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SearchHit {
    pub id: String,
    pub name: String,
    pub phone_masked: Option<String>,
    pub wechat: Option<String>,
    pub stage: Option<String>,
    pub tags: Vec<String>,
    /// Which field matched, and how well (0 exact … 4 only in a note).
    pub matched: MatchField,
    pub match_class: MatchClass,
}

impl Book {
    /// The best `limit` customers for `query`, best first.
    pub fn search(&mut self, query: &str, limit: usize) -> Result<Vec<SearchHit>> {
        let matches = self.search_ids(query, limit)?;
        let mut hits = Vec::with_capacity(matches.len());
        let mut stmt = self
            .conn
            .prepare_cached("SELECT name, phone, wechat, stage FROM customers WHERE id = ?1")?;
        for (id, matched, match_class) in matches {
            let row: Option<HitRow> = stmt
                .query_row([&id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
                .optional()?;
            let Some((name, phone, wechat, stage)) = row else {
                continue;
            };
            let tags = self
                .customer_tags(&id)?
                .into_iter()
                .map(|t| t.name)
                .collect();
            hits.push(SearchHit {
                phone_masked: phone.as_deref().map(mask_phone),
                id,
                name,
                wechat,
                stage,
                tags,
                matched,
                match_class,
            });
        }
        Ok(hits)
    }

    /// Like [`Book::search`] but only IDs and how they matched: for lists
    /// that fetch rows as they scroll.
    pub fn search_ids(
        &mut self,
        query: &str,
        limit: usize,
    ) -> Result<Vec<(String, MatchField, MatchClass)>> {
        let index = self.search_index()?;
        Ok(index
            .search(query, limit)
            .into_iter()
            .map(|m| (index.customer_id(m.doc).to_string(), m.field, m.class))
            .collect())
    }

    /// The index, built from `search_docs` on first use.
    pub fn search_index(&mut self) -> Result<&SearchIndex> {
        if self.index.is_none() {
            self.ensure_search_docs()?;
            self.index = Some(load(&self.conn)?);
        }
        Ok(self.index.as_ref().expect("just built"))
    }
}

/// Set while a bulk pull (first sync, re-download) has applied customers
/// whose search keys are still to be built.
pub(crate) const SEARCH_DOCS_PENDING: &str = "search_docs_pending";

impl Book {
    /// Builds the keys a bulk pull left pending (one cut short by going offline).
    fn ensure_search_docs(&mut self) -> Result<()> {
        if crate::store::meta_get(&self.conn, SEARCH_DOCS_PENDING)?.is_none() {
            return Ok(());
        }
        let tx = self.conn.transaction()?;
        keys::rebuild_docs(&tx)?;
        tx.execute("DELETE FROM meta WHERE key = ?1", [SEARCH_DOCS_PENDING])?;
        tx.commit()?;
        Ok(())
    }
}

fn load(conn: &Connection) -> Result<SearchIndex> {
    let mut index = SearchIndex::default();
    let mut stmt = conn.prepare(
        "SELECT customer_id, sort_key, display, pinyin, others, notes FROM search_docs ORDER BY sort_key",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let id: String = r.get(0)?;
        let keys = keys::DocKeys {
            sort_key: r.get(1)?,
            display: r.get(2)?,
            pinyin: r.get(3)?,
            others: r.get(4)?,
            notes: r.get(5)?,
        };
        index.upsert(&id, &keys);
    }
    index.set_synonyms(synonyms(conn)?);
    index.shrink();
    Ok(index)
}

fn synonyms(conn: &Connection) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut stmt = conn.prepare("SELECT name_key, synonyms FROM tags")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let tag: String = r.get(0)?;
        let list: String = r.get(1)?;
        for s in serde_json::from_str::<Vec<String>>(&list).unwrap_or_default() {
            out.push((lighttouch_text::fold(&s), tag.clone()));
        }
    }
    Ok(out)
}

/// Brings the loaded index up to date with committed writes.
pub(crate) fn refresh(
    conn: &Connection,
    index: &mut SearchIndex,
    customers: &BTreeSet<String>,
    tags_changed: bool,
) -> Result<()> {
    if tags_changed {
        index.set_synonyms(synonyms(conn)?);
    }
    let mut stmt = conn.prepare_cached(
        "SELECT sort_key, display, pinyin, others, notes FROM search_docs WHERE customer_id = ?1",
    )?;
    for id in customers {
        let keys = stmt
            .query_row([id], |r| {
                Ok(keys::DocKeys {
                    sort_key: r.get(0)?,
                    display: r.get(1)?,
                    pinyin: r.get(2)?,
                    others: r.get(3)?,
                    notes: r.get(4)?,
                })
            })
            .optional()?;
        match keys {
            Some(k) => index.upsert(id, &k),
            None => index.remove(id),
        }
    }
    Ok(())
}
