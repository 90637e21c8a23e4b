//! The words a store uses for what customers like and what content is
//! about, resolved to one canonical key per idea: its tags with their
//! synonyms (in both scripts and English), and the built-in vocabulary.
//! "Rose gold", "18K玫瑰金" and "玫瑰金" are one interest.

use lighttouch_text::fold;
use lighttouch_text::vocabulary::{TagGroup, VOCABULARY};
use rusqlite::Connection;
use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Term {
    /// Folded canonical name: the key interests and content are matched on.
    pub key: String,
    /// The name as the store writes it, for reasons.
    pub label: String,
    pub group: TagGroup,
}

#[derive(Debug, Default)]
pub(crate) struct Lexicon {
    words: HashMap<String, usize>,
    terms: Vec<Term>,
    /// Words long enough to look for inside free text (product names, reasons).
    scan: Vec<(String, usize)>,
}

impl Lexicon {
    pub fn load(conn: &Connection) -> lighttouch_book::error::Result<Lexicon> {
        let mut lex = Lexicon::default();
        for e in VOCABULARY {
            lex.add(e.name, e.group, e.synonyms.iter().copied());
        }
        let mut stmt = conn.prepare_cached("SELECT name, tag_group, synonyms FROM tags")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?;
        for row in rows {
            let (name, group, synonyms) = row?;
            let synonyms: Vec<String> = serde_json::from_str(&synonyms).unwrap_or_default();
            let group = TagGroup::parse(&group).unwrap_or(TagGroup::Other);
            lex.add(&name, group, synonyms.iter().map(String::as_str));
        }
        lex.scan.sort_by_key(|s| std::cmp::Reverse(s.0.len()));
        Ok(lex)
    }

    fn add<'a>(&mut self, name: &'a str, group: TagGroup, synonyms: impl Iterator<Item = &'a str>) {
        let key = fold(name);
        if key.is_empty() {
            return;
        }
        let idx = match self.words.get(&key) {
            Some(i) => *i,
            None => {
                self.terms.push(Term {
                    key: key.clone(),
                    label: name.trim().to_string(),
                    group,
                });
                self.terms.len() - 1
            }
        };
        for w in std::iter::once(name).chain(synonyms) {
            let w = fold(w);
            if w.is_empty() || self.words.contains_key(&w) && w != key {
                continue;
            }
            self.words.insert(w.clone(), idx);
            if w.chars().count() >= 2 && !self.scan.iter().any(|(s, _)| *s == w) {
                self.scan.push((w, idx));
            }
        }
    }

    /// The term a word names (a tag, a synonym), if the store knows it.
    pub fn resolve(&self, word: &str) -> Option<&Term> {
        self.words.get(&fold(word)).map(|i| &self.terms[*i])
    }

    /// The canonical key of a word: its term's key, or the folded word itself.
    pub fn key_of(&self, word: &str) -> String {
        self.resolve(word)
            .map(|t| t.key.clone())
            .unwrap_or_else(|| fold(word))
    }

    pub fn label_of(&self, key: &str) -> String {
        self.words
            .get(key)
            .map(|i| self.terms[*i].label.clone())
            .unwrap_or_else(|| key.to_string())
    }

    pub fn group_of(&self, key: &str) -> Option<TagGroup> {
        self.words.get(key).map(|i| self.terms[*i].group)
    }

    /// Every known term named inside free text ("玫瑰金手链" → 玫瑰金, 手链;
    /// "not interested in pearls" → 珍珠).
    pub fn find_in(&self, text: &str) -> Vec<String> {
        let folded = fold(text);
        let mut found: Vec<String> = Vec::new();
        for (w, i) in &self.scan {
            if folded.contains(w.as_str()) {
                let key = &self.terms[*i].key;
                if !found.contains(key) {
                    found.push(key.clone());
                }
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synonyms_and_scripts_resolve_to_one_key() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE tags (name TEXT, tag_group TEXT, synonyms TEXT);
             INSERT INTO tags VALUES ('小众设计', 'preference', '[\"niche design\"]');",
        )
        .unwrap();
        let lex = Lexicon::load(&conn).unwrap();
        assert_eq!(lex.key_of("Rose Gold"), lex.key_of("玫瑰金"));
        assert_eq!(lex.key_of("鑽石"), lex.key_of("钻石"));
        assert_eq!(lex.key_of("Niche design"), fold("小众设计"));
        assert_eq!(lex.label_of(&lex.key_of("pearls")), "珍珠");
        let mut found = lex.find_in("玫瑰金手链");
        found.sort();
        let mut want = vec![lex.key_of("玫瑰金"), lex.key_of("手链")];
        want.sort();
        assert_eq!(found, want);
        assert_eq!(
            lex.find_in("Not interested in pearls"),
            vec![lex.key_of("珍珠")]
        );
    }
}
