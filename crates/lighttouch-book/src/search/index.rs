//! The in-memory search index: each segment is one byte buffer holding every
//! customer's keys back to back, so a query is a handful of SIMD substring
//! scans (memchr's memmem) instead of 100,000 small string comparisons.
//! Updates append the new keys and mark the old entry dead; the buffers are
//! compacted when a quarter of them is dead.

use super::keys::*;
use hashbrown::HashTable;
use memchr::memmem;
use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};

/// Which field matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum MatchField {
    Name,
    Pinyin,
    Initials,
    Phone,
    Wechat,
    Email,
    Tag,
    Note,
}

/// How well it matched: lower is better. 0 exact, 1 prefix, 2 within the
/// name, 3 within another field, 4 within a note.
pub type MatchClass = u8;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Match {
    pub doc: u32,
    pub class: MatchClass,
    pub field: MatchField,
}

/// Per-document facts kept inline; the document's strings live in segments.
struct Doc {
    /// Position in name order at load; later additions sort after.
    order: u32,
    name_chars: u16,
    alive: bool,
}

/// Strings back to back in one buffer with `u32` offsets: for 100,000
/// customers this holds in about 8 bytes per entry what boxed strings held in
/// 40 to 60 (pointer, length and allocator overhead).
#[derive(Default)]
struct Segment {
    buf: Vec<u8>,
    starts: Vec<u32>,
}

impl Segment {
    fn push(&mut self, text: &str) {
        // The offsets address 4 GiB per segment; an entry that would go past
        // is kept empty (unsearchable) rather than corrupting its neighbours.
        let start = self.buf.len() as u32;
        self.starts.push(start);
        if u32::try_from(self.buf.len() + text.len()).is_ok() {
            self.buf.extend_from_slice(text.as_bytes());
        }
    }

    fn doc_at(&self, pos: usize) -> usize {
        self.starts.partition_point(|&s| s as usize <= pos) - 1
    }

    fn end_of(&self, doc: usize) -> usize {
        self.starts
            .get(doc + 1)
            .map_or(self.buf.len(), |&s| s as usize)
    }

    fn entry(&self, doc: usize) -> &[u8] {
        &self.buf[self.starts[doc] as usize..self.end_of(doc)]
    }

    /// An entry pushed as a `&str`.
    fn text(&self, doc: usize) -> &str {
        std::str::from_utf8(self.entry(doc)).unwrap_or_default()
    }

    /// Start (the kind byte) and end of the key around a match at `pos..pos+len`.
    fn key_bounds(&self, doc: usize, pos: usize, len: usize) -> (usize, usize) {
        let end_of_entry = self.end_of(doc);
        let start = self.buf[..pos].iter().rposition(|&b| b < 0x20).unwrap_or(0);
        let end = self.buf[pos + len..end_of_entry]
            .iter()
            .position(|&b| b < 0x20)
            .map_or(end_of_entry, |p| pos + len + p);
        (start, end)
    }

    fn shrink(&mut self) {
        self.buf.shrink_to_fit();
        self.starts.shrink_to_fit();
    }

    fn heap_bytes(&self) -> usize {
        self.buf.capacity() + self.starts.capacity() * 4
    }
}

#[derive(Default)]
pub struct SearchIndex {
    docs: Vec<Doc>,
    ids: Segment,
    sort_keys: Segment,
    /// Live document number by customer ID, hashed over the ID's bytes in
    /// `ids`: the table holds only the numbers, not a second copy of the IDs.
    by_customer: HashTable<u32>,
    hasher: RandomState,
    display: Segment,
    pinyin: Segment,
    others: Segment,
    notes: Segment,
    dead: usize,
    /// (folded synonym, folded tag name): "pearl" also looks for 珍珠.
    synonyms: Vec<(String, String)>,
    /// Live customers per folded tag name, kept as docs come and go, so the
    /// tag picker's "most used first" costs nothing per call.
    tag_counts: HashMap<Box<str>, u32>,
    /// Every live document in name order: built when first asked for,
    /// dropped when any document changes.
    by_name: Option<Vec<u32>>,
    /// The order of the last customer list asked for. It numbers this
    /// index's documents, so it lives and dies with them.
    pub(crate) remembered: Option<RememberedOrder>,
}

/// A list's order as document numbers, for one query at one generation of
/// the book (filters and sorts read more than the index).
pub(crate) struct RememberedOrder {
    pub key: String,
    pub generation: u64,
    pub docs: Vec<u32>,
    /// Parallel to `docs`: which field the search text matched.
    pub matched: Vec<Option<MatchField>>,
}

/// The folded tag names among a doc's other keys.
fn tag_keys(others: &[u8]) -> impl Iterator<Item = &[u8]> {
    others
        .split(|&b| b < 0x20 && b != K_TAG)
        .flat_map(|run| run.split(|&b| b == K_TAG).skip(1))
        .filter(|t| !t.is_empty())
}

const NONE: u8 = u8::MAX;

fn pack(class: MatchClass, field: MatchField) -> u8 {
    (class << 4) | field as u8
}

fn unpack(r: u8) -> (MatchClass, MatchField) {
    let field = match r & 0x0f {
        0 => MatchField::Name,
        1 => MatchField::Pinyin,
        2 => MatchField::Initials,
        3 => MatchField::Phone,
        4 => MatchField::Wechat,
        5 => MatchField::Email,
        6 => MatchField::Tag,
        _ => MatchField::Note,
    };
    (r >> 4, field)
}

/// Best match per document, for one term.
struct Best {
    rank: Vec<u8>,
    hit: Vec<u32>,
}

impl Best {
    fn new(n: usize) -> Self {
        Best {
            rank: vec![NONE; n],
            hit: Vec::new(),
        }
    }

    fn offer(&mut self, doc: usize, class: MatchClass, field: MatchField) {
        let r = pack(class, field);
        let slot = &mut self.rank[doc];
        if *slot == NONE {
            self.hit.push(doc as u32);
        }
        if r < *slot {
            *slot = r;
        }
    }
}

impl SearchIndex {
    pub fn len(&self) -> usize {
        self.docs.len() - self.dead
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Heap bytes held by the index (for the README's memory figures).
    pub fn heap_bytes(&self) -> usize {
        [
            &self.ids,
            &self.sort_keys,
            &self.display,
            &self.pinyin,
            &self.others,
            &self.notes,
        ]
        .iter()
        .map(|s| s.heap_bytes())
        .sum::<usize>()
            + self.docs.capacity() * std::mem::size_of::<Doc>()
            + self.by_customer.capacity() * (std::mem::size_of::<u32>() + 1)
    }

    pub(crate) fn upsert(&mut self, customer_id: &str, keys: &DocKeys) {
        self.remove(customer_id);
        let n = self.docs.len() as u32;
        let name_chars = keys
            .display
            .chars()
            .count()
            .saturating_sub(1)
            .min(u16::MAX as usize) as u16;
        self.docs.push(Doc {
            order: n,
            name_chars,
            alive: true,
        });
        self.ids.push(customer_id);
        self.sort_keys.push(&keys.sort_key);
        self.display.push(&keys.display);
        self.pinyin.push(&keys.pinyin);
        self.others.push(&keys.others);
        for tag in tag_keys(keys.others.as_bytes()) {
            let tag = String::from_utf8_lossy(tag);
            *self.tag_counts.entry(tag.as_ref().into()).or_default() += 1;
        }
        self.notes.push(&keys.notes);
        let (ids, hasher) = (&self.ids, &self.hasher);
        self.by_customer
            .insert_unique(hasher.hash_one(customer_id.as_bytes()), n, |&d| {
                hasher.hash_one(ids.entry(d as usize))
            });
    }

    pub(crate) fn remove(&mut self, customer_id: &str) {
        self.by_name = None;
        self.remembered = None;
        let hash = self.hasher.hash_one(customer_id.as_bytes());
        let ids = &self.ids;
        let found = self
            .by_customer
            .find_entry(hash, |&d| ids.entry(d as usize) == customer_id.as_bytes())
            .ok()
            .map(|entry| entry.remove().0);
        if let Some(doc) = found {
            let entry = self.others.entry(doc as usize);
            for tag in tag_keys(entry) {
                if let Some(n) = self
                    .tag_counts
                    .get_mut(String::from_utf8_lossy(tag).as_ref())
                {
                    *n = n.saturating_sub(1);
                }
            }
            self.docs[doc as usize].alive = false;
            self.dead += 1;
            if self.dead > 1_000 && self.dead * 4 > self.docs.len() {
                self.compact();
            }
        }
    }

    pub(crate) fn set_synonyms(&mut self, synonyms: Vec<(String, String)>) {
        self.synonyms = synonyms;
    }

    fn compact(&mut self) {
        let mut old = std::mem::take(self);
        self.synonyms = std::mem::take(&mut old.synonyms);
        let text = |s: &Segment, i: usize| s.text(i).to_string();
        for (i, _) in old.docs.iter().enumerate().filter(|(_, d)| d.alive) {
            let keys = DocKeys {
                sort_key: text(&old.sort_keys, i),
                display: text(&old.display, i),
                pinyin: text(&old.pinyin, i),
                others: text(&old.others, i),
                notes: text(&old.notes, i),
            };
            self.upsert(old.ids.text(i), &keys);
        }
    }

    /// Every live document number. Numbers stay valid until the next write
    /// (only writes compact the index).
    pub(crate) fn live_docs(&self) -> impl Iterator<Item = u32> + '_ {
        self.docs
            .iter()
            .enumerate()
            .filter(|(_, d)| d.alive)
            .map(|(i, _)| i as u32)
    }

    /// Every live document, in name order.
    pub(crate) fn by_name(&mut self) -> &[u32] {
        if self.by_name.is_none() {
            let mut docs: Vec<u32> = self.live_docs().collect();
            docs.sort_by(|a, b| self.doc_sort_key(*a).cmp(self.doc_sort_key(*b)));
            self.by_name = Some(docs);
        }
        self.by_name.as_deref().unwrap_or_default()
    }

    pub(crate) fn doc_sort_key(&self, doc: u32) -> &str {
        self.sort_keys.text(doc as usize)
    }

    /// Gives back the growth slack of a freshly loaded index.
    pub(crate) fn shrink(&mut self) {
        for s in [
            &mut self.ids,
            &mut self.sort_keys,
            &mut self.display,
            &mut self.pinyin,
            &mut self.others,
            &mut self.notes,
        ] {
            s.shrink();
        }
        self.docs.shrink_to_fit();
        let (ids, hasher) = (&self.ids, &self.hasher);
        self.by_customer
            .shrink_to_fit(|&d| hasher.hash_one(ids.entry(d as usize)));
    }

    /// How many live customers carry the tag (by folded name).
    pub(crate) fn tag_count(&self, folded_name: &str) -> u32 {
        self.tag_counts.get(folded_name).copied().unwrap_or(0)
    }

    pub(crate) fn customer_id(&self, doc: u32) -> &str {
        self.ids.text(doc as usize)
    }

    /// The best `limit` matches for `query`, best first.
    /// Documents matching `query`, best first (at most `limit`).
    pub(crate) fn search(&self, query: &str, limit: usize) -> Vec<Match> {
        let q = lighttouch_text::fold(query);
        if q.is_empty() || limit == 0 {
            return Vec::new();
        }
        let n = self.docs.len();
        let mut best = Best::new(n);
        self.match_term(&q, &mut best);
        let terms: Vec<&str> = q.split(' ').collect();
        if terms.len() > 1 {
            // Every word must match somewhere: "张 珍珠", "chloe 8000".
            let mut all: Option<Vec<(u32, u8)>> = None;
            for t in &terms {
                let mut b = Best::new(n);
                self.match_term(t, &mut b);
                let found: Vec<(u32, u8)> =
                    b.hit.iter().map(|&d| (d, b.rank[d as usize])).collect();
                all = Some(match all {
                    None => found,
                    Some(prev) => prev
                        .into_iter()
                        .filter_map(|(d, r)| {
                            let other = b.rank[d as usize];
                            (other != NONE).then_some((d, r.max(other)))
                        })
                        .collect(),
                });
            }
            for (d, r) in all.unwrap_or_default() {
                let (class, field) = unpack(r);
                best.offer(d as usize, class.max(2), field);
            }
        }
        let mut found: Vec<Match> = best
            .hit
            .iter()
            .filter(|&&d| self.docs[d as usize].alive)
            .map(|&d| {
                let (class, field) = unpack(best.rank[d as usize]);
                Match {
                    doc: d,
                    class,
                    field,
                }
            })
            .collect();
        let order = |a: &Match, b: &Match| {
            let (da, db) = (&self.docs[a.doc as usize], &self.docs[b.doc as usize]);
            (a.class, da.name_chars, da.order).cmp(&(b.class, db.name_chars, db.order))
        };
        if found.len() > limit {
            found.select_nth_unstable_by(limit - 1, order);
            found.truncate(limit);
        }
        found.sort_unstable_by(order);
        if found.len() < limit && !is_short(&q) {
            // Notes come last; take them in index order until the page is full.
            for pos in memmem::find_iter(&self.notes.buf, q.as_bytes()) {
                let doc = self.notes.doc_at(pos);
                if self.docs[doc].alive && best.rank[doc] == NONE {
                    best.rank[doc] = pack(4, MatchField::Note);
                    found.push(Match {
                        doc: doc as u32,
                        class: 4,
                        field: MatchField::Note,
                    });
                    if found.len() == limit {
                        break;
                    }
                }
            }
        }
        found
    }

    fn match_term(&self, q: &str, best: &mut Best) {
        let qb = q.as_bytes();
        // Names: anywhere in the name, exact and prefix ranked first.
        for pos in memmem::find_iter(&self.display.buf, qb) {
            let doc = self.display.doc_at(pos);
            let (start, end) = self.display.key_bounds(doc, pos, qb.len());
            let class = match (pos == start + 1, pos + qb.len() == end) {
                (true, true) => 0,
                (true, false) => 1,
                _ => 2,
            };
            best.offer(doc, class, MatchField::Name);
        }
        // Pinyin: only from the start of a syllable ("wei" finds 张伟, "angw" does not).
        let compact: String = q.chars().filter(|c| *c != ' ').collect();
        if !compact.is_empty() && compact.bytes().all(|b| b.is_ascii_alphanumeric()) {
            let kinds = [
                (K_PINYIN, 0, 1, MatchField::Pinyin),
                (K_INITIALS, 1, 2, MatchField::Initials),
                (K_PINYIN_TAIL, 2, 2, MatchField::Pinyin),
                (K_INITIALS_TAIL, 3, 3, MatchField::Initials),
            ];
            let mut pattern = Vec::with_capacity(compact.len() + 1);
            for (kind, exact, prefix, field) in kinds {
                pattern.clear();
                pattern.push(kind);
                pattern.extend_from_slice(compact.as_bytes());
                for pos in memmem::find_iter(&self.pinyin.buf, &pattern) {
                    let doc = self.pinyin.doc_at(pos);
                    let after = pos + pattern.len();
                    let entry_end = self.pinyin.end_of(doc);
                    let whole = after == entry_end || self.pinyin.buf[after] < 0x20;
                    best.offer(doc, if whole { exact } else { prefix }, field);
                }
            }
        }
        // Phone, WeChat, email, tags. A very short query only matches from the
        // start of these keys: "8" should not list every phone with an 8 in it.
        let digits = phone_digits(q);
        let needle = digits.as_deref().unwrap_or(q).as_bytes();
        if is_short(q) {
            let mut pattern = Vec::with_capacity(needle.len() + 1);
            // Every mobile starts with 1: phones need three digits to mean anything.
            for kind in [K_WECHAT, K_EMAIL, K_TAG] {
                pattern.clear();
                pattern.push(kind);
                pattern.extend_from_slice(needle);
                for pos in memmem::find_iter(&self.others.buf, &pattern) {
                    self.offer_other(pos + 1, needle.len(), best);
                }
            }
        } else {
            for pos in memmem::find_iter(&self.others.buf, needle) {
                self.offer_other(pos, needle.len(), best);
            }
        }
        // Tags by synonym: the whole tag key must match.
        let mut pattern = Vec::new();
        let mut seen: Vec<&str> = Vec::new();
        for (synonym, tag) in &self.synonyms {
            if !synonym.starts_with(q) || tag.contains(q) || seen.contains(&tag.as_str()) {
                continue;
            }
            seen.push(tag);
            pattern.clear();
            pattern.push(K_TAG);
            pattern.extend_from_slice(tag.as_bytes());
            for pos in memmem::find_iter(&self.others.buf, &pattern) {
                let doc = self.others.doc_at(pos);
                let (_, end) = self.others.key_bounds(doc, pos + 1, tag.len());
                if end == pos + pattern.len() {
                    best.offer(doc, 3, MatchField::Tag);
                }
            }
        }
    }

    /// Ranks a match at `pos..pos + len` in the others segment by the key it fell in.
    fn offer_other(&self, pos: usize, len: usize, best: &mut Best) {
        let doc = self.others.doc_at(pos);
        let (start, end) = self.others.key_bounds(doc, pos, len);
        let at_start = pos == start + 1;
        let at_end = pos + len == end;
        let (class, field) = match self.others.buf[start] {
            K_PHONE if at_start && at_end => (0, MatchField::Phone),
            K_PHONE if at_end => (1, MatchField::Phone),
            K_PHONE => (3, MatchField::Phone),
            K_WECHAT if at_start && at_end => (0, MatchField::Wechat),
            K_WECHAT if at_start => (3, MatchField::Wechat),
            K_WECHAT => (3, MatchField::Wechat),
            K_EMAIL if at_start && at_end => (0, MatchField::Email),
            K_EMAIL => (3, MatchField::Email),
            _ => (3, MatchField::Tag),
        };
        best.offer(doc, class, field);
    }
}

/// One Chinese character, or fewer than three Latin letters or digits.
fn is_short(q: &str) -> bool {
    if q.is_ascii() {
        q.len() < 3
    } else {
        q.chars().count() < 2
    }
}

/// "138 0013 8000", "+86-138…": the digits to look for among phone keys.
fn phone_digits(q: &str) -> Option<String> {
    if !q
        .chars()
        .all(|c| c.is_ascii_digit() || " -+().".contains(c))
    {
        return None;
    }
    let digits: String = q.chars().filter(char::is_ascii_digit).collect();
    if digits.len() < 3 {
        return None;
    }
    Some(match lighttouch_text::normalize_phone(q) {
        Ok(p) => p.trim_start_matches('+').to_string(),
        Err(_) => digits,
    })
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex")
            .field("docs", &self.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(name: &str, tag: &str) -> DocKeys {
        doc_keys(name, &[], None, None, &[tag.to_string()], &[])
    }

    fn found(index: &SearchIndex, q: &str) -> Vec<String> {
        let mut ids: Vec<String> = index
            .search(q, 10_000)
            .iter()
            .map(|m| index.customer_id(m.doc).to_string())
            .collect();
        ids.sort();
        ids
    }

    #[test]
    fn updates_and_removals_survive_compaction() {
        let mut index = SearchIndex::default();
        for i in 0..3_000 {
            index.upsert(&format!("c{i:04}"), &keys(&format!("张{i:04}"), "珍珠"));
        }
        assert_eq!(index.tag_count("珍珠"), 3_000);
        // Renaming 1,500 and removing 500 leaves 2,000 dead entries: past the
        // compaction threshold, so the buffers are rebuilt on the way.
        for i in 0..1_500 {
            index.upsert(&format!("c{i:04}"), &keys(&format!("王{i:04}"), "钻石"));
        }
        for i in 2_500..3_000 {
            index.remove(&format!("c{i:04}"));
        }
        index.remove("never-there");
        assert!(index.dead < 1_000, "compacted: {} dead", index.dead);
        assert_eq!(index.len(), 2_500);
        assert_eq!(index.tag_count("珍珠"), 1_000);
        assert_eq!(index.tag_count("钻石"), 1_500);
        assert_eq!(found(&index, "王0042"), vec!["c0042".to_string()]);
        assert!(found(&index, "张0042").is_empty(), "the old name is gone");
        assert_eq!(found(&index, "张1600"), vec!["c1600".to_string()]);
        assert!(found(&index, "张2600").is_empty(), "removed");
        assert_eq!(found(&index, "wang").len(), 1_500);
        // Every live ID still maps to its own document.
        let live: Vec<String> = index
            .live_docs()
            .map(|d| index.customer_id(d).to_string())
            .collect();
        assert_eq!(live.len(), 2_500);
        for id in live {
            index.remove(&id);
            index.upsert(&id, &keys("李四", "黄金"));
        }
        assert_eq!(index.len(), 2_500);
        assert_eq!(found(&index, "lisi").len(), 2_500);
        assert_eq!(index.tag_count("黄金"), 2_500);
    }
}
