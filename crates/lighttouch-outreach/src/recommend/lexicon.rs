//! The words a store uses for what customers like and what content is
//! about, resolved to one canonical key per idea: its tags with their
//! synonyms (in both scripts and English), and the built-in vocabulary.
//! "Rose gold", "18K玫瑰金" and "玫瑰金" are one interest.
//!
//! Free text (product names, a dismissal's reason) is read for the store's
//! own vocabulary only: the tags it uses and the words HQ's content is
//! tagged and filed with, with their synonyms. The built-in vocabulary still
//! resolves synonyms, but a word nobody in the store uses is not looked for:
//! a grocery's "regular" is not a ring size. And a word is found as a word:
//! "ring" is not in "string", "520" is not in "15201".

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
    /// The store's words long enough to look for inside free text (product
    /// names, reasons), longest first, with their term.
    scan: Vec<(String, usize)>,
    /// All of `scan` in one automaton: a text is read once, not once per word.
    finder: Option<aho_corasick::AhoCorasick>,
}

impl Lexicon {
    pub fn load(conn: &Connection) -> lighttouch_book::error::Result<Lexicon> {
        let mut lex = Lexicon::default();
        for e in VOCABULARY {
            lex.add(e.name, e.group, e.synonyms.iter().copied());
        }
        let mut used: Vec<usize> = Vec::new();
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
            used.extend(lex.add(&name, group, synonyms.iter().map(String::as_str)));
        }
        // HQ's content is the brand's vocabulary too.
        let mut stmt = conn.prepare_cached("SELECT tags, category FROM content_items")?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
        })?;
        for row in rows {
            let (tags, category) = row?;
            let tags: Vec<String> = serde_json::from_str(&tags).unwrap_or_default();
            for w in tags.iter().map(String::as_str).chain(category.as_deref()) {
                if let Some(i) = lex.words.get(&fold(w)).copied() {
                    used.push(i);
                } else {
                    used.extend(lex.add(w, TagGroup::Other, std::iter::empty()));
                }
            }
        }
        used.sort_unstable();
        used.dedup();
        let mut scan: Vec<(String, usize)> = lex
            .words
            .iter()
            .filter(|(w, i)| w.chars().count() >= 2 && used.binary_search(i).is_ok())
            .map(|(w, i)| (w.clone(), *i))
            .collect();
        scan.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
        lex.finder = aho_corasick::AhoCorasick::new(scan.iter().map(|(w, _)| w.as_str())).ok();
        lex.scan = scan;
        Ok(lex)
    }

    /// Adds a term and its words; returns the term's index.
    fn add<'a>(
        &mut self,
        name: &'a str,
        group: TagGroup,
        synonyms: impl Iterator<Item = &'a str>,
    ) -> Option<usize> {
        let key = fold(name);
        if key.is_empty() {
            return None;
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
            self.words.insert(w, idx);
        }
        Some(idx)
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

    /// Every term of the store's named inside free text, as a word
    /// ("玫瑰金手链" → 玫瑰金, 手链; "not interested in pearls" → 珍珠).
    pub fn find_in(&self, text: &str) -> Vec<String> {
        let folded = fold(text);
        let mut found: Vec<String> = Vec::new();
        let Some(finder) = &self.finder else {
            return found;
        };
        for m in finder.find_overlapping_iter(&folded) {
            let (word, i) = &self.scan[m.pattern().as_usize()];
            if is_word_at(&folded, word, m.start()) {
                let key = &self.terms[*i].key;
                if !found.contains(key) {
                    found.push(key.clone());
                }
            }
        }
        found
    }
}

/// Whether `word` occurs in `text` as a word: where the word starts or ends
/// with a letter or digit of a spaced script, the text must not go on with
/// one there ("ring" is not in "string", "520" not in "15201"). Chinese has
/// no spaces between words, so a Chinese word is found wherever it is.
pub(crate) fn contains_word(text: &str, word: &str) -> bool {
    !word.is_empty()
        && text
            .match_indices(word)
            .any(|(at, _)| is_word_at(text, word, at))
}

/// Whether `word`, found in `text` at byte `at`, stands there as a word (see
/// [`contains_word`]).
fn is_word_at(text: &str, word: &str, at: usize) -> bool {
    let spaced = |c: char| c.is_ascii_alphanumeric();
    let starts_spaced = word.chars().next().is_some_and(spaced);
    let ends_spaced = word.chars().next_back().is_some_and(spaced);
    let before = text[..at].chars().next_back();
    let after = text[at + word.len()..].chars().next();
    let runs_on_before = starts_spaced && before.is_some_and(spaced);
    let runs_on_after = ends_spaced && after.is_some_and(spaced);
    !(runs_on_before || runs_on_after)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A lexicon over a store with these tags (name, synonyms JSON) and
    /// content (tags JSON, category).
    fn store(tags: &[(&str, &str)], content: &[(&str, &str)]) -> Lexicon {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE tags (name TEXT, tag_group TEXT, synonyms TEXT);
             CREATE TABLE content_items (tags TEXT, category TEXT);",
        )
        .unwrap();
        for (name, synonyms) in tags {
            conn.execute(
                "INSERT INTO tags VALUES (?1, 'preference', ?2)",
                [name, synonyms],
            )
            .unwrap();
        }
        for (t, category) in content {
            conn.execute("INSERT INTO content_items VALUES (?1, ?2)", [t, category])
                .unwrap();
        }
        Lexicon::load(&conn).unwrap()
    }

    #[test]
    fn synonyms_and_scripts_resolve_to_one_key() {
        let lex = store(
            &[("小众设计", "[\"niche design\"]"), ("珍珠", "[]")],
            &[("[\"玫瑰金\"]", "手链")],
        );
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

    #[test]
    fn words_are_found_as_words_and_only_the_stores_own() {
        let lex = store(&[("戒指", "[]")], &[("[\"520\", \"黄金\"]", "手链")]);
        let ring = lex.key_of("戒指");
        assert_eq!(lex.find_in("Diamond ring"), vec![ring.clone()]);
        assert!(
            lex.find_in("String cheese").is_empty(),
            "ring inside string"
        );
        assert!(lex.find_in("Earrings").is_empty(), "ring inside earrings");
        assert_eq!(lex.find_in("520限定手链").len(), 2);
        assert!(lex.find_in("SKU 15201 pack").is_empty(), "520 inside 15201");
        assert_eq!(lex.find_in("黄金手链").len(), 2);
        // The built-in vocabulary's words nobody here uses are not looked for.
        assert!(
            lex.find_in("Regular cola").is_empty(),
            "{:?}",
            lex.find_in("Regular cola")
        );
        assert!(lex.find_in("Goldfish crackers").is_empty());
        // But they still resolve a word to its term.
        assert_eq!(lex.key_of("rings"), ring);
    }

    #[test]
    fn a_word_is_a_word_at_either_edge() {
        assert!(contains_word("gold ring", "gold"));
        assert!(contains_word("18k gold", "gold"));
        assert!(!contains_word("goldfish", "gold"));
        assert!(!contains_word("marigold", "gold"));
        assert!(contains_word("玫瑰金手链", "玫瑰金"));
        assert!(contains_word("520限定", "520"));
        assert!(!contains_word("15201", "520"));
        assert!(contains_word("a-520-b", "520"));
        assert!(!contains_word("", "gold"));
        assert!(!contains_word("gold", ""));
    }
}
