//! Book-level settings the app shows and edits, kept in the book's `meta`
//! table so they travel with the file.

use super::{meta_get, meta_set};
use crate::error::{BookError, Result};
use crate::store::Book;
use lighttouch_text::LANGUAGES;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Settings {
    /// The associate's name, written as author of notes and owner of new customers.
    pub associate: Option<String>,
    pub store: Option<String>,
    /// UI language (zh-Hans, zh-Hant, en); None follows the system.
    pub language: Option<String>,
    /// The sync server's address.
    pub server_url: Option<String>,
}

/// A summary of the open book for the app's header and first launch.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct BookInfo {
    pub path: Option<String>,
    pub customers: u32,
    pub schema_version: i64,
    pub settings: Settings,
}

impl Book {
    pub fn settings(&self) -> Result<Settings> {
        Ok(Settings {
            associate: self.associate()?,
            store: self.store_name()?,
            language: meta_get(&self.conn, "ui_language")?,
            server_url: meta_get(&self.conn, "server_url")?,
        })
    }

    /// Validates and saves all settings at once.
    pub fn update_settings(&mut self, s: &Settings) -> Result<Settings> {
        fn clean(v: &Option<String>) -> Option<&str> {
            v.as_deref().map(str::trim).filter(|v| !v.is_empty())
        }
        if let Some(lang) = clean(&s.language) {
            if !LANGUAGES.contains(&lang) {
                return Err(BookError::invalid(
                    "language",
                    format!("must be one of {}", LANGUAGES.join(", ")),
                ));
            }
        }
        if let Some(url) = clean(&s.server_url) {
            let ok = (url.starts_with("http://") || url.starts_with("https://"))
                && url.len() > "https://".len()
                && !url.contains(char::is_whitespace);
            if !ok {
                return Err(BookError::invalid(
                    "server_url",
                    "must be an http:// or https:// address",
                ));
            }
        }
        for (name, v) in [("associate", &s.associate), ("store", &s.store)] {
            if clean(v).is_some_and(|v| v.chars().count() > 100) {
                return Err(BookError::too_long(name, 100));
            }
        }
        let tx = self.conn.transaction()?;
        for (key, v) in [
            ("associate", &s.associate),
            ("store", &s.store),
            ("ui_language", &s.language),
            ("server_url", &s.server_url),
        ] {
            match clean(v) {
                Some(v) => meta_set(&tx, key, v)?,
                None => {
                    tx.execute("DELETE FROM meta WHERE key = ?1", [key])?;
                }
            }
        }
        tx.commit()?;
        self.settings()
    }

    pub fn info(&self) -> Result<BookInfo> {
        Ok(BookInfo {
            path: self.path().map(|p| p.display().to_string()),
            customers: self.customer_count()? as u32,
            schema_version: self.schema_version()?,
            settings: self.settings()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use std::sync::Arc;

    #[test]
    fn settings_round_trip_and_validate() {
        let mut book =
            Book::open_in_memory(Arc::new(ManualClock::new(chrono::Utc::now()))).unwrap();
        let saved = book
            .update_settings(&Settings {
                associate: Some(" 王芳 ".into()),
                store: Some("静安嘉里".into()),
                language: Some("zh-Hant".into()),
                server_url: Some("http://127.0.0.1:8080".into()),
            })
            .unwrap();
        assert_eq!(saved.associate.as_deref(), Some("王芳"));
        assert_eq!(book.settings().unwrap(), saved);
        let bad = book.update_settings(&Settings {
            language: Some("fr".into()),
            ..saved.clone()
        });
        assert_eq!(bad.unwrap_err().code(), "invalid_field");
        let bad = book.update_settings(&Settings {
            server_url: Some("ftp://x".into()),
            ..saved.clone()
        });
        assert_eq!(bad.unwrap_err().code(), "invalid_field");
        assert_eq!(
            book.settings().unwrap(),
            saved,
            "a refused update changes nothing"
        );
        let cleared = book.update_settings(&Settings::default()).unwrap();
        assert_eq!(cleared, Settings::default());
    }
}
