//! Tags: a store vocabulary of labels in groups, with synonyms, and each
//! customer's set of them (an add-wins set, see `changes`).

pub use lighttouch_text::vocabulary::{TagGroup, VOCABULARY};

use crate::changes::Entity;
use crate::clock::link_present;
use crate::error::{BookError, Result};
use crate::store::Book;
use lighttouch_text::fold;
use rusqlite::OptionalExtension;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A tag as shown on a customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TagRef {
    pub id: String,
    pub name: String,
    pub group: String,
}

/// A tag of the store's vocabulary, with how many customers carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Tag {
    pub id: String,
    pub name: String,
    pub group: String,
    pub synonyms: Vec<String>,
    pub customers: i64,
}

/// Tag IDs derive from the folded name, so two devices that create "情侣"
/// independently create the same tag rather than two.
fn tag_id(name_key: &str) -> String {
    const NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x6c69_6768_7474_6f75_6368_2d74_6167_7300);
    uuid::Uuid::new_v5(&NAMESPACE, name_key.as_bytes()).to_string()
}

/// "group:name" names the group of a new tag; plain "name" lets the vocabulary decide.
fn split_group(input: &str) -> (Option<TagGroup>, &str) {
    if let Some((g, name)) = input.split_once([':', '：']) {
        if let Some(group) = TagGroup::parse(g) {
            return (Some(group), name.trim());
        }
    }
    (None, input.trim())
}

impl Book {
    /// Adds a tag to a customer, creating it in the vocabulary when new.
    /// Synonyms resolve: "pearl" adds 珍珠. Returns the tag as stored.
    pub fn tag_customer(&mut self, customer_id: &str, input: &str) -> Result<TagRef> {
        self.live_customer(customer_id)?;
        let (group, name) = split_group(input);
        validate_tag_name(name)?;
        self.write(|w| {
            let tag = ensure_tag(w, name, group)?;
            w.add_tag_link(customer_id, &tag.id)?;
            Ok(tag)
        })
    }

    /// Removes a tag (by name or synonym) from a customer.
    pub fn untag_customer(&mut self, customer_id: &str, input: &str) -> Result<bool> {
        self.live_customer(customer_id)?;
        let (_, name) = split_group(input);
        let Some(tag) = self.find_tag(name)? else {
            return Err(BookError::InvalidInput(format!("there is no tag {name:?}")));
        };
        self.write(|w| w.remove_tag_link(customer_id, &tag.id))
    }

    /// The tag named `name` or having it as a synonym.
    pub fn find_tag(&self, name: &str) -> Result<Option<TagRef>> {
        find_tag(&self.conn, name)
    }

    pub(crate) fn customer_tags(&self, customer_id: &str) -> Result<Vec<TagRef>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT t.id, t.name, t.tag_group, ct.added_hlc, ct.removed_hlc
             FROM customer_tags ct JOIN tags t ON t.id = ct.tag_id
             WHERE ct.customer_id = ?1 ORDER BY t.tag_group, t.name",
        )?;
        let rows = stmt.query_map([customer_id], |r| {
            Ok((
                TagRef {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    group: r.get(2)?,
                },
                r.get::<_, String>(3)?,
                r.get::<_, Option<String>>(4)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (tag, added, removed) = row?;
            if link_present(&added, removed.as_deref()) {
                out.push(tag);
            }
        }
        Ok(out)
    }

    /// The store's vocabulary with usage counts, most used first. Counts come
    /// from the search index, which tracks them as customers change.
    pub fn tags(&mut self) -> Result<Vec<Tag>> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, name, name_key, tag_group, synonyms FROM tags")?;
        let rows = stmt.query_map([], |r| {
            let syn: String = r.get(4)?;
            Ok((
                Tag {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    group: r.get(3)?,
                    synonyms: serde_json::from_str(&syn).unwrap_or_default(),
                    customers: 0,
                },
                r.get::<_, String>(2)?,
            ))
        })?;
        let rows: Vec<(Tag, String)> = rows.collect::<rusqlite::Result<_>>()?;
        drop(stmt);
        let index = self.search_index()?;
        let mut tags: Vec<Tag> = rows
            .into_iter()
            .map(|(mut t, key)| {
                t.customers = index.tag_count(&key) as i64;
                t
            })
            .collect();
        tags.sort_by(|a, b| {
            b.customers
                .cmp(&a.customers)
                .then_with(|| a.name.cmp(&b.name))
        });
        Ok(tags)
    }
}

impl Book {
    /// What the tag picker offers: the store's tags (most used first), then
    /// the built-in vocabulary's tags nobody carries yet.
    pub fn tag_vocabulary(&mut self) -> Result<Vec<Tag>> {
        let mut all = self.tags()?;
        for entry in VOCABULARY {
            let id = tag_id(&fold(entry.name));
            if !all.iter().any(|t| t.id == id) {
                all.push(Tag {
                    id,
                    name: entry.name.to_string(),
                    group: entry.group.as_str().to_string(),
                    synonyms: entry.synonyms.iter().map(|s| s.to_string()).collect(),
                    customers: 0,
                });
            }
        }
        Ok(all)
    }
}

/// How many tags the picker offers at once.
pub const TAG_SUGGESTIONS: usize = 8;

/// A tag the picker offers for what was typed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TagSuggestion {
    pub tag: Tag,
    /// The synonym that matched, when the name itself did not.
    pub via: Option<String>,
}

/// Ranks `vocabulary` for `typed`, folded as search folds (width, case,
/// traditional → simplified): an exact name first, then a name it starts,
/// an exact or started synonym (naming it), then a name it is inside; ties
/// go to the tag more customers carry. `exclude`: tags already on the customer.
pub fn suggest_tags(
    vocabulary: Vec<Tag>,
    typed: &str,
    exclude: &[String],
    limit: usize,
) -> Vec<TagSuggestion> {
    let q = fold(typed);
    if q.is_empty() {
        return Vec::new();
    }
    let mut scored: Vec<(u8, TagSuggestion)> = Vec::new();
    for tag in vocabulary {
        if exclude.contains(&tag.id) {
            continue;
        }
        let name = fold(&tag.name);
        let mut rank = if name == q {
            Some(0)
        } else if name.starts_with(&q) {
            Some(1)
        } else if name.contains(&q) {
            Some(3)
        } else {
            None
        };
        let mut via = None;
        if rank.is_none_or(|r| r > 1) {
            for syn in &tag.synonyms {
                let f = fold(syn);
                let r = if f == q {
                    0
                } else if f.starts_with(&q) {
                    2
                } else {
                    continue;
                };
                if rank.is_none_or(|best| r < best) {
                    rank = Some(r);
                    via = Some(syn.clone());
                }
            }
        }
        if let Some(rank) = rank {
            scored.push((rank, TagSuggestion { tag, via }));
        }
    }
    scored.sort_by(|(ra, a), (rb, b)| {
        ra.cmp(rb)
            .then(b.tag.customers.cmp(&a.tag.customers))
            .then_with(|| a.tag.name.cmp(&b.tag.name))
    });
    scored.into_iter().take(limit).map(|(_, s)| s).collect()
}

impl Book {
    /// The picker's suggestions for `typed` (see [`suggest_tags`]).
    pub fn suggest_tags(
        &mut self,
        typed: &str,
        exclude: &[String],
        limit: usize,
    ) -> Result<Vec<TagSuggestion>> {
        Ok(suggest_tags(self.tag_vocabulary()?, typed, exclude, limit))
    }
}

fn validate_tag_name(name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(BookError::missing("tag", "a tag needs a name"));
    }
    if name.chars().count() > 40 {
        return Err(BookError::too_long("tag", 40));
    }
    if name.chars().any(char::is_control) {
        return Err(BookError::invalid("tag", "contains control characters"));
    }
    Ok(())
}

pub(crate) fn find_tag(conn: &rusqlite::Connection, name: &str) -> Result<Option<TagRef>> {
    let key = fold(name);
    let direct = conn
        .prepare_cached("SELECT id, name, tag_group FROM tags WHERE name_key = ?1 LIMIT 1")?
        .query_row([&key], |r| {
            Ok(TagRef {
                id: r.get(0)?,
                name: r.get(1)?,
                group: r.get(2)?,
            })
        })
        .optional()?;
    if direct.is_some() {
        return Ok(direct);
    }
    // Synonyms are few per tag and the vocabulary is small: scan it.
    let mut stmt = conn.prepare_cached("SELECT id, name, tag_group, synonyms FROM tags")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            TagRef {
                id: r.get(0)?,
                name: r.get(1)?,
                group: r.get(2)?,
            },
            r.get::<_, String>(3)?,
        ))
    })?;
    for row in rows {
        let (tag, synonyms) = row?;
        let synonyms: Vec<String> = serde_json::from_str(&synonyms).unwrap_or_default();
        if synonyms.iter().any(|s| fold(s) == key) {
            return Ok(Some(tag));
        }
    }
    Ok(None)
}

/// The tag for `name`: an existing one (by name or synonym), else a new one,
/// taking group and synonyms from the built-in vocabulary when it knows the word.
pub fn ensure_tag(
    w: &mut crate::changes::Writer<'_>,
    name: &str,
    group: Option<TagGroup>,
) -> Result<TagRef> {
    if let Some(tag) = find_tag(w.conn(), name)? {
        return Ok(tag);
    }
    let known = lighttouch_text::vocabulary::lookup(name);
    let (name, synonyms, default_group) = match known {
        Some(entry) => (entry.name, entry.synonyms.to_vec(), entry.group),
        None => (name, Vec::new(), TagGroup::Other),
    };
    let group = group.unwrap_or(default_group);
    let key = fold(name);
    let id = tag_id(&key);
    let synonyms: Vec<Value> = synonyms
        .into_iter()
        .map(|s| Value::String(s.into()))
        .collect();
    let created = Value::String(w.now_text());
    w.insert(
        Entity::Tag,
        &id,
        &[
            ("name", Value::String(name.to_string())),
            ("name_key", Value::String(key)),
            ("tag_group", Value::String(group.as_str().into())),
            (
                "synonyms",
                Value::String(Value::Array(synonyms).to_string()),
            ),
            ("created_at", created),
        ],
    )?;
    Ok(TagRef {
        id,
        name: name.to_string(),
        group: group.as_str().into(),
    })
}

#[cfg(test)]
mod tests {
    use super::{suggest_tags, Tag};

    fn vocab() -> Vec<Tag> {
        let tag = |id: &str, name: &str, synonyms: &[&str], customers| Tag {
            id: id.into(),
            name: name.into(),
            group: "preference".into(),
            synonyms: synonyms.iter().map(|s| s.to_string()).collect(),
            customers,
        };
        vec![
            tag("1", "珍珠", &["pearl", "pearls"], 40),
            tag("2", "珍珠耳钉", &[], 3),
            tag("3", "情侣", &["couple"], 10),
            tag("4", "Pear shape", &[], 1),
        ]
    }

    fn names(s: &[super::TagSuggestion]) -> Vec<(&str, Option<&str>)> {
        s.iter()
            .map(|x| (x.tag.name.as_str(), x.via.as_deref()))
            .collect()
    }

    #[test]
    fn tag_suggestions_match_names_first_then_synonyms_and_say_which() {
        assert_eq!(
            names(&suggest_tags(vocab(), "pear", &[], 8)),
            vec![("Pear shape", None), ("珍珠", Some("pearl"))]
        );
        assert_eq!(
            names(&suggest_tags(vocab(), "ＰＥＡＲＬ", &[], 8))[0],
            ("珍珠", Some("pearl"))
        );
        // Typed in Traditional characters, found in Simplified.
        assert_eq!(
            names(&suggest_tags(vocab(), "情侶", &[], 8)),
            vec![("情侣", None)]
        );
    }

    #[test]
    fn tag_suggestions_take_any_text_without_failing() {
        // Oversized, control characters, unknown exclusions: no suggestion, no panic.
        assert!(suggest_tags(vocab(), &"珍".repeat(100_000), &[], 8).is_empty());
        assert!(suggest_tags(vocab(), "\u{0}\u{1b}[31m", &[], 8).is_empty());
        let unknown = vec!["no-such-tag".to_string(); 1_000];
        assert_eq!(
            names(&suggest_tags(vocab(), "情侣", &unknown, 8)),
            vec![("情侣", None)]
        );
        assert!(suggest_tags(vocab(), "珍", &[], 0).is_empty());
    }

    #[test]
    fn tag_suggestions_order_ties_by_use_and_leave_out_the_customers_own() {
        let s = suggest_tags(vocab(), "珍珠", &[], 8);
        assert_eq!(names(&s), vec![("珍珠", None), ("珍珠耳钉", None)]);
        let s = suggest_tags(vocab(), "珍珠", &["1".to_string()], 8);
        assert_eq!(names(&s), vec![("珍珠耳钉", None)]);
        assert!(suggest_tags(vocab(), "  ", &[], 8).is_empty());
        assert_eq!(suggest_tags(vocab(), "珍", &[], 1).len(), 1);
    }

    use super::*;

    #[test]
    fn tag_ids_are_the_same_on_every_device() {
        assert_eq!(tag_id(&fold("情侶")), tag_id(&fold("情侣")));
        assert_ne!(tag_id(&fold("珍珠")), tag_id(&fold("钻石")));
    }

    #[test]
    fn group_prefix_is_understood() {
        let (g, n) = split_group("occasion: 乔迁");
        assert_eq!((g, n), (Some(TagGroup::Occasion), "乔迁"));
        let (g, n) = split_group("note:this");
        assert_eq!((g, n), (None, "note:this"));
    }
}
