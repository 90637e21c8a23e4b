//! HQ content on this laptop: products, collections and story posts. They
//! normally arrive by sync from the HQ stream; `import_content` reads the same
//! files as the server's `admin content import`, for a book without a server.

use crate::error::{BookError, Result};
use crate::store::Book;
use chrono::NaiveDate;
use lighttouch_protocol::content::parse_content;
use rusqlite::params;
use serde::Serialize;
use std::collections::BTreeMap;

/// The stamp of a locally imported item: older than anything HQ publishes,
/// so the synced version of the same item always wins.
const LOCAL_IMPORT_STAMP: &str = "0000000000000-000000-00000000000000000000000000000000";

/// A title and body in one language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ContentText {
    pub title: String,
    #[serde(default)]
    pub body: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ContentItem {
    pub id: String,
    /// product or story
    pub kind: String,
    pub title: String,
    pub body: Option<String>,
    pub tags: Vec<String>,
    pub category: Option<String>,
    pub price_cents: Option<i64>,
    pub currency: String,
    pub language: Option<String>,
    pub valid_from: Option<String>,
    pub valid_until: Option<String>,
    pub created_at: String,
    pub translations: BTreeMap<String, ContentText>,
    /// The SKUs the item stands for (its id may be one too).
    pub skus: Vec<String>,
}

impl ContentItem {
    /// Whether the item may be proposed on `day`.
    pub fn active_on(&self, day: NaiveDate) -> bool {
        let d = day.format("%Y-%m-%d").to_string();
        self.valid_from.as_deref().is_none_or(|f| f <= d.as_str())
            && self.valid_until.as_deref().is_none_or(|u| u >= d.as_str())
    }

    /// Title and body in `language`, falling back to the item's own text.
    pub fn text_in(&self, language: &str) -> (&str, Option<&str>) {
        match self.translations.get(language) {
            Some(t) if self.language.as_deref() != Some(language) => {
                (t.title.as_str(), t.body.as_deref())
            }
            _ => (self.title.as_str(), self.body.as_deref()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ContentImportReport {
    pub added: u32,
    pub updated: u32,
}

const COLUMNS: &str = "id, kind, title, body, tags, category, price_cents, currency, language,
                       valid_from, valid_until, created_at, translations, skus";

fn from_row(r: &rusqlite::Row) -> rusqlite::Result<ContentItem> {
    let tags: String = r.get(4)?;
    let translations: String = r.get(12)?;
    let skus: String = r.get(13)?;
    Ok(ContentItem {
        id: r.get(0)?,
        kind: r.get(1)?,
        title: r.get(2)?,
        body: r.get(3)?,
        tags: serde_json::from_str(&tags).unwrap_or_default(),
        category: r.get(5)?,
        price_cents: r.get(6)?,
        currency: r.get(7)?,
        language: r.get(8)?,
        valid_from: r.get(9)?,
        valid_until: r.get(10)?,
        created_at: r.get(11)?,
        translations: serde_json::from_str(&translations).unwrap_or_default(),
        skus: serde_json::from_str(&skus).unwrap_or_default(),
    })
}

impl Book {
    /// Imports an HQ content file (CSV or JSON) into this book only. All or
    /// nothing: a bad record names itself and nothing is written.
    pub fn import_content(&mut self, bytes: &[u8]) -> Result<ContentImportReport> {
        let items = parse_content(bytes).map_err(|e| BookError::Import(e.0))?;
        self.store_content(&items)
    }

    /// Writes content items locally, in one transaction.
    pub fn store_content(
        &mut self,
        items: &[lighttouch_protocol::content::ContentItem],
    ) -> Result<ContentImportReport> {
        let now = self
            .now()
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let tx = self.conn.transaction()?;
        let mut report = ContentImportReport {
            added: 0,
            updated: 0,
        };
        for item in items {
            let exists: bool = tx
                .prepare_cached("SELECT 1 FROM content_items WHERE id = ?1")?
                .exists([&item.id])?;
            let synced: bool = tx
                .prepare_cached("SELECT 1 FROM content_items WHERE id = ?1 AND hlc > ?2")?
                .exists(params![item.id, LOCAL_IMPORT_STAMP])?;
            if synced {
                // HQ's own published version is the reference; keep it.
                continue;
            }
            let f = item.fields(&now);
            tx.prepare_cached(
                "INSERT INTO content_items(id, hlc, kind, title, body, tags, category, price_cents,
                     currency, language, valid_from, valid_until, created_at, translations, skus)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
                 ON CONFLICT(id) DO UPDATE SET kind = excluded.kind, title = excluded.title,
                     body = excluded.body, tags = excluded.tags, category = excluded.category,
                     price_cents = excluded.price_cents, currency = excluded.currency,
                     language = excluded.language, valid_from = excluded.valid_from,
                     valid_until = excluded.valid_until, translations = excluded.translations,
                     skus = excluded.skus",
            )?
            .execute(params![
                item.id,
                LOCAL_IMPORT_STAMP,
                item.kind,
                item.title,
                item.body,
                f["tags"].as_str(),
                item.category,
                item.price_cents,
                "CNY",
                item.language,
                item.valid_from,
                item.valid_until,
                now,
                f["translations"].as_str(),
                f["skus"].as_str(),
            ])?;
            if exists {
                report.updated += 1;
            } else {
                report.added += 1;
            }
        }
        tx.commit()?;
        self.committed(crate::store::Touched::Everything);
        Ok(report)
    }

    pub fn content_item(&self, id: &str) -> Result<ContentItem> {
        self.conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM content_items WHERE id = ?1"
            ))?
            .query_row([id], from_row)
            .map_err(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => BookError::ContentNotFound(id.to_string()),
                e => e.into(),
            })
    }

    /// Every content item valid on `day`, newest first.
    pub fn active_content(&self, day: NaiveDate) -> Result<Vec<ContentItem>> {
        active_items(&self.conn, day)
    }
}

pub fn active_items(conn: &rusqlite::Connection, day: NaiveDate) -> Result<Vec<ContentItem>> {
    let d = day.format("%Y-%m-%d").to_string();
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM content_items
             WHERE (valid_from IS NULL OR valid_from <= ?1)
               AND (valid_until IS NULL OR valid_until >= ?1)
             ORDER BY COALESCE(valid_from, created_at) DESC, id"
    ))?;
    let rows = stmt.query_map([d], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ManualClock;
    use std::sync::Arc;

    fn book() -> Book {
        let clock = ManualClock::new("2026-11-24T02:00:00Z".parse().unwrap());
        Book::open_in_memory(Arc::new(clock)).unwrap()
    }

    #[test]
    fn a_local_import_adds_updates_and_refuses_bad_files_whole() {
        let mut b = book();
        let csv = "id,kind,title,tags,category,price,valid_from,valid_until,title:en\n\
                   p1,product,玫瑰金手链,玫瑰金;手链,手链,2680,2026-11-01,2026-12-31,Rose gold bracelet\n\
                   s1,story,七夕故事,七夕;情侣,,,2026-08-01,2026-08-31,\n";
        let r = b.import_content(csv.as_bytes()).unwrap();
        assert_eq!((r.added, r.updated), (2, 0));
        let day = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        let active = b.active_content(day).unwrap();
        assert_eq!(active.len(), 1, "the summer story has ended");
        assert_eq!(active[0].price_cents, Some(268_000));
        assert_eq!(active[0].text_in("en").0, "Rose gold bracelet");
        assert_eq!(active[0].text_in("zh-Hant").0, "玫瑰金手链");
        let r = b.import_content(csv.as_bytes()).unwrap();
        assert_eq!((r.added, r.updated), (0, 2));
        let bad = "id,kind,title,price\np2,product,A,1\np3,product,B,lots\n";
        let e = b.import_content(bad.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("record 2, price"), "{e}");
        assert!(matches!(
            b.content_item("p2"),
            Err(BookError::ContentNotFound(_))
        ));
    }
}
