//! What the recommender knows about a customer, read in bulk (the whole book,
//! for an audience or the daily queue) or for one customer, by the same code.

use super::guard::{ContactHistory, PROMOTION_KINDS};
use super::lexicon::Lexicon;
use chrono::NaiveDate;
use lighttouch_book::clock::link_present;
use lighttouch_book::error::Result;
use lighttouch_text::fold;
use lighttouch_text::Calendar;
use rusqlite::{Connection, ToSql};
use std::collections::{HashMap, HashSet};

#[derive(Debug, Clone)]
pub(crate) struct Owned {
    pub product: String,
    /// Folded product name, SKU: how a content item is recognised as owned.
    pub product_key: String,
    pub sku: Option<String>,
    pub category: Option<String>,
    pub day: NaiveDate,
    /// Interests named in the product (玫瑰金手链 → 玫瑰金, 手链).
    pub keys: Vec<String>,
}

impl Owned {
    /// The piece of the learned model this purchase is.
    pub fn piece_in(&self, learned: &super::learned::Learned) -> Option<u32> {
        self.sku
            .as_deref()
            .and_then(|s| learned.piece(s))
            .or_else(|| learned.piece(&self.product_key))
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Profile {
    pub id: String,
    pub name: String,
    pub gender: Option<String>,
    pub language: Option<String>,
    pub birthday: Option<(String, Calendar)>,
    pub anniversary: Option<(String, Calendar)>,
    pub ring_size: Option<String>,
    pub wrist_size: Option<String>,
    pub budget: Option<String>,
    pub stage: Option<String>,
    pub consent: bool,
    pub do_not_contact: bool,
    pub owner: Option<String>,
    /// Interest keys with the label the customer's record uses.
    pub interests: Vec<(String, String)>,
    /// Canonical keys of every tag (life stage and occasion tags included).
    pub tags: HashSet<String>,
    pub owned: Vec<Owned>,
    pub contacts: ContactHistory,
    pub sent: HashSet<String>,
    pub dismissed: HashSet<String>,
    /// Interests the customer turned down in a dismissal ("not interested in pearls").
    pub avoid: Vec<String>,
}

/// A text column borrowed from the row, without copying.
pub(crate) fn str_at<'r>(r: &'r rusqlite::Row, i: usize) -> rusqlite::Result<&'r str> {
    opt_str_at(r, i)?.ok_or(rusqlite::Error::InvalidColumnType(
        i,
        String::new(),
        rusqlite::types::Type::Null,
    ))
}

pub(crate) fn opt_str_at<'r>(r: &'r rusqlite::Row, i: usize) -> rusqlite::Result<Option<&'r str>> {
    r.get_ref(i)?.as_str_or_null().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
    })
}

fn day(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text.get(..10)?, "%Y-%m-%d").ok()
}

/// Reads profiles: of one customer (`only`), or of every live customer.
pub(crate) fn load(conn: &Connection, lex: &Lexicon, only: Option<&str>) -> Result<Vec<Profile>> {
    let filter = |col: &str| match only {
        Some(_) => format!("WHERE {col} = ?1"),
        None => "WHERE ?1 IS NULL".to_string(),
    };
    let arg: &dyn ToSql = &only;
    let mut profiles = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    {
        let sql = format!(
            "SELECT id, name, gender, language, birthday, birthday_calendar, anniversary,
                    anniversary_calendar, ring_size, wrist_size, budget, stage, consent_marketing,
                    do_not_contact, owner, preferred_metals, preferred_stones, preferred_styles,
                    preferred_colors
             FROM customers {} AND erased_at IS NULL AND merged_into IS NULL",
            filter("id")
        );
        let mut stmt = conn.prepare_cached(&sql)?;
        let mut rows = stmt.query([arg])?;
        while let Some(r) = rows.next()? {
            let cal = |i: usize| -> rusqlite::Result<Calendar> {
                let s: String = r.get(i)?;
                Ok(Calendar::parse(&s).unwrap_or_default())
            };
            let dated = |i: usize| -> rusqlite::Result<Option<(String, Calendar)>> {
                let t: Option<String> = r.get(i)?;
                Ok(match t {
                    Some(t) => Some((t, cal(i + 1)?)),
                    None => None,
                })
            };
            let mut interests = Vec::new();
            for i in 15..19 {
                let raw: Option<String> = r.get(i)?;
                let values: Vec<String> = raw
                    .map(|s| serde_json::from_str(&s).unwrap_or_else(|_| vec![s]))
                    .unwrap_or_default();
                for v in values {
                    let key = lex.key_of(&v);
                    if !key.is_empty() && !interests.iter().any(|(k, _)| *k == key) {
                        interests.push((key, v));
                    }
                }
            }
            let id: String = r.get(0)?;
            index.insert(id.clone(), profiles.len());
            profiles.push(Profile {
                id,
                name: r.get(1)?,
                gender: r.get(2)?,
                language: r.get(3)?,
                birthday: dated(4)?,
                anniversary: dated(6)?,
                ring_size: r.get(8)?,
                wrist_size: r.get(9)?,
                budget: r.get(10)?,
                stage: r.get(11)?,
                consent: r.get(12)?,
                do_not_contact: r.get(13)?,
                owner: r.get(14)?,
                interests,
                tags: HashSet::new(),
                owned: Vec::new(),
                contacts: ContactHistory::default(),
                sent: HashSet::new(),
                dismissed: HashSet::new(),
                avoid: Vec::new(),
            });
        }
    }
    {
        // The store's few tags, each resolved once, not once per customer.
        let mut tags: HashMap<String, (String, String)> = HashMap::new();
        let mut stmt = conn.prepare_cached("SELECT id, name FROM tags")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let name: String = r.get(1)?;
            tags.insert(r.get(0)?, (lex.key_of(&name), name));
        }
        let sql = format!(
            "SELECT customer_id, tag_id, added_hlc, removed_hlc FROM customer_tags {}
             ORDER BY customer_id, tag_id",
            filter("customer_id")
        );
        let mut stmt = conn.prepare_cached(&sql)?;
        let mut rows = stmt.query([arg])?;
        while let Some(r) = rows.next()? {
            let Some(p) = index.get(str_at(r, 0)?).map(|i| &mut profiles[*i]) else {
                continue;
            };
            let Some((key, name)) = tags.get(str_at(r, 1)?) else {
                continue;
            };
            if !link_present(str_at(r, 2)?, opt_str_at(r, 3)?) {
                continue;
            }
            p.tags.insert(key.clone());
            if !p.interests.iter().any(|(k, _)| k == key) {
                p.interests.push((key.clone(), name.clone()));
            }
        }
    }
    {
        let sql = format!(
            "SELECT customer_id, purchased_on, sku, product, category FROM purchases {}",
            filter("customer_id")
        );
        let mut stmt = conn.prepare_cached(&sql)?;
        let mut rows = stmt.query([arg])?;
        // Product names and categories repeat across customers: each is
        // folded and searched for the store's words once.
        let mut products: HashMap<String, (String, Vec<String>)> = HashMap::new();
        let mut categories: HashMap<String, String> = HashMap::new();
        while let Some(r) = rows.next()? {
            let Some(i) = index.get(str_at(r, 0)?).copied() else {
                continue;
            };
            let Some(d) = day(str_at(r, 1)?) else {
                continue;
            };
            let product = str_at(r, 3)?;
            let (product_key, keys) = match products.get(product) {
                Some(known) => known.clone(),
                None => {
                    let known = (fold(product), lex.find_in(product));
                    products.insert(product.to_string(), known.clone());
                    known
                }
            };
            let category = opt_str_at(r, 4)?.map(|c| match categories.get(c) {
                Some(k) => k.clone(),
                None => {
                    let k = lex.key_of(c);
                    categories.insert(c.to_string(), k.clone());
                    k
                }
            });
            profiles[i].owned.push(Owned {
                product_key,
                product: product.to_string(),
                sku: r.get(2)?,
                category,
                day: d,
                keys,
            });
        }
    }
    {
        let sql = format!(
            "SELECT customer_id, at, kind FROM touchpoints {}",
            filter("customer_id")
        );
        let mut stmt = conn.prepare_cached(&sql)?;
        let mut rows = stmt.query([arg])?;
        while let Some(r) = rows.next()? {
            let Some(i) = index.get(str_at(r, 0)?).copied() else {
                continue;
            };
            let Some(d) = day(str_at(r, 1)?) else {
                continue;
            };
            let c = &mut profiles[i].contacts;
            if PROMOTION_KINDS.contains(&str_at(r, 2)?) {
                c.promotions.push(d);
            }
            if c.last_contact.is_none_or(|l| l < d) {
                c.last_contact = Some(d);
            }
        }
    }
    {
        let sql = format!(
            "SELECT customer_id, content_id, status, dismiss_reason FROM drafts {}
               AND status IN ('sent', 'dismissed')",
            filter("customer_id")
        );
        let mut stmt = conn.prepare_cached(&sql)?;
        let mut rows = stmt.query([arg])?;
        while let Some(r) = rows.next()? {
            let Some(i) = index.get(str_at(r, 0)?).copied() else {
                continue;
            };
            let p = &mut profiles[i];
            let content: Option<String> = r.get(1)?;
            let status: String = r.get(2)?;
            if let Some(c) = content {
                if status == "sent" {
                    p.sent.insert(c);
                } else {
                    p.dismissed.insert(c);
                }
            }
            if let Some(reason) = r.get::<_, Option<String>>(3)? {
                for key in lex.find_in(&reason) {
                    if !p.avoid.contains(&key) {
                        p.avoid.push(key);
                    }
                }
            }
        }
    }
    // A turned-down interest is no longer an interest.
    for p in &mut profiles {
        let avoid = std::mem::take(&mut p.avoid);
        p.interests.retain(|(k, _)| !avoid.contains(k));
        p.avoid = avoid;
        p.owned.sort_by_key(|o| std::cmp::Reverse(o.day));
    }
    Ok(profiles)
}
