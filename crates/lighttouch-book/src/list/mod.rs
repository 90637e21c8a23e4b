//! The customer list: search text, filters and a sort, read a page at a time
//! so a 100,000-customer book scrolls without loading everything.
//!
//! The ordered IDs of the last query are cached until the next write, so
//! scrolling only reads the rows it shows.

use crate::error::Result;
use crate::search::{MatchField, RememberedOrder};
use crate::store::Book;
use crate::tags::TagRef;
use lighttouch_text::occasions::days_until;
use lighttouch_text::{mask_phone, Calendar};
use rusqlite::types::Value as SqlValue;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

/// How the list is ordered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum ListSort {
    /// Best match first when there is search text, otherwise by name.
    #[default]
    Relevance,
    /// By name: pinyin order for Chinese names.
    Name,
    /// Most recently contacted first; never contacted last.
    LastContact,
    /// Next birthday first (lunar birthdays on this year's solar date).
    UpcomingBirthday,
}

/// What to show: all fields optional; empty means no filter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ListQuery {
    #[serde(default)]
    pub text: String,
    /// A tag ID.
    #[serde(default)]
    pub tag: Option<String>,
    /// A tag group (preference, occasion, …): customers with any tag of it.
    #[serde(default)]
    pub tag_group: Option<String>,
    /// A 5A stage.
    #[serde(default)]
    pub stage: Option<String>,
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    pub sort: ListSort,
}

/// One line of the list.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct CustomerRow {
    pub id: String,
    pub name: String,
    pub gender: Option<String>,
    pub phone_masked: Option<String>,
    pub stage: Option<String>,
    pub owner: Option<String>,
    pub tags: Vec<TagRef>,
    /// Time of the newest touchpoint.
    pub last_contact: Option<String>,
    /// Month and day only (`MM-DD`, `L04-15` for a lunar leap month).
    pub birthday: Option<String>,
    pub birthday_calendar: Calendar,
    /// Days until the next birthday, when known.
    pub birthday_in_days: Option<i64>,
    /// Which field the search text matched (None without search text).
    pub matched: Option<MatchField>,
}

/// A window of the list and the total it is a window of.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ListPage {
    pub total: u32,
    pub offset: u32,
    pub rows: Vec<CustomerRow>,
}

/// The values the list can be filtered by, with counts.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ListFacets {
    pub stages: Vec<(String, u32)>,
    pub owners: Vec<(String, u32)>,
    /// Tag groups that some customer's tags belong to.
    pub tag_groups: Vec<String>,
}

const MAX_PAGE: usize = 500;

impl Book {
    /// Rows `offset..offset+limit` of the list for `query`.
    pub fn list_customers(
        &mut self,
        query: &ListQuery,
        offset: u32,
        limit: u32,
    ) -> Result<ListPage> {
        // Scrolling asks for page after page of one query: its order is
        // worked out once per generation of the book.
        let key = format!("{query:?}");
        let generation = self.generation;
        let fresh = self
            .index
            .as_ref()
            .and_then(|i| i.remembered.as_ref())
            .is_some_and(|r| r.key == key && r.generation == generation);
        if !fresh {
            let (docs, matched) = self.ordered_docs(query)?;
            if let Some(index) = self.index.as_mut() {
                index.remembered = Some(RememberedOrder {
                    key,
                    generation,
                    docs,
                    matched,
                });
            }
        }
        let index = self.index.as_ref().expect("loaded with the list");
        let cache = index.remembered.as_ref().expect("filled above");
        let total = cache.docs.len();
        let start = (offset as usize).min(total);
        let end = (start + (limit as usize).min(MAX_PAGE)).min(total);
        let page: Vec<(String, Option<MatchField>)> = (start..end)
            .map(|i| {
                (
                    index.customer_id(cache.docs[i]).to_string(),
                    cache.matched[i],
                )
            })
            .collect();
        let today = self.now().date_naive();
        let mut rows = Vec::with_capacity(page.len());
        for (id, matched) in page {
            if let Some(mut row) = self.customer_row(&id, today)? {
                row.matched = matched;
                rows.push(row);
            }
        }
        Ok(ListPage {
            total: total as u32,
            offset: start as u32,
            rows,
        })
    }

    /// Stages, owners and tag groups present in the book, for the filter menus.
    pub fn list_facets(&mut self) -> Result<ListFacets> {
        let mut tag_groups: Vec<String> = self
            .tags()?
            .into_iter()
            .filter(|t| t.customers > 0)
            .map(|t| t.group)
            .collect();
        tag_groups.sort();
        tag_groups.dedup();
        let counts = |sql: &str| -> Result<Vec<(String, u32)>> {
            let mut stmt = self.conn.prepare(sql)?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        };
        Ok(ListFacets {
            stages: counts(
                "SELECT stage, count(*) FROM customers WHERE stage IS NOT NULL
                 AND merged_into IS NULL AND erased_at IS NULL GROUP BY stage ORDER BY stage",
            )?,
            owners: counts(
                "SELECT owner, count(*) FROM customers WHERE owner IS NOT NULL
                 AND merged_into IS NULL AND erased_at IS NULL GROUP BY owner ORDER BY owner",
            )?,
            tag_groups,
        })
    }

    fn ordered_docs(&mut self, query: &ListQuery) -> Result<(Vec<u32>, Vec<Option<MatchField>>)> {
        let text = query.text.trim().to_string();
        let allowed = self.filtered_ids(query)?;
        let last = match query.sort {
            ListSort::LastContact => Some(self.last_contacts()?),
            _ => None,
        };
        let birthdays = match query.sort {
            ListSort::UpcomingBirthday => Some(self.birthday_distances()?),
            _ => None,
        };
        self.search_index()?;
        let index = self.index.as_mut().expect("loaded above");
        let everyone: Vec<(u32, Option<MatchField>)> = if text.is_empty() {
            index.by_name().iter().map(|&d| (d, None)).collect()
        } else {
            Vec::new()
        };
        let index = self.index.as_ref().expect("loaded above");
        let mut found: Vec<(u32, Option<MatchField>)> = if text.is_empty() {
            everyone
        } else {
            index
                .search(&text, usize::MAX)
                .into_iter()
                .map(|m| (m.doc, Some(m.field)))
                .collect()
        };
        if let Some(allowed) = &allowed {
            found.retain(|(d, _)| allowed.contains(index.customer_id(*d)));
        }
        match query.sort {
            ListSort::Relevance => {}
            ListSort::Name => {
                if !text.is_empty() {
                    found.sort_by(|a, b| index.doc_sort_key(a.0).cmp(index.doc_sort_key(b.0)));
                }
            }
            ListSort::LastContact => {
                let last = last.unwrap_or_default();
                // Newest first; stable, so ties keep name/relevance order.
                found.sort_by(|a, b| {
                    last.get(index.customer_id(b.0))
                        .cmp(&last.get(index.customer_id(a.0)))
                });
            }
            ListSort::UpcomingBirthday => {
                let days = birthdays.unwrap_or_default();
                found.sort_by_key(|(d, _)| {
                    days.get(index.customer_id(*d)).copied().unwrap_or(i64::MAX)
                });
            }
        }
        Ok(found.into_iter().unzip())
    }

    /// Customers passing the tag/stage/owner filters, or None without filters.
    fn filtered_ids(&self, query: &ListQuery) -> Result<Option<HashSet<String>>> {
        let mut sql = String::from(
            "SELECT c.id FROM customers c WHERE c.merged_into IS NULL AND c.erased_at IS NULL",
        );
        let mut params: Vec<SqlValue> = Vec::new();
        let live_link = "(ct.removed_hlc IS NULL OR ct.added_hlc > ct.removed_hlc)";
        if let Some(tag) = query.tag.as_deref().filter(|t| !t.is_empty()) {
            params.push(SqlValue::Text(tag.to_string()));
            sql += &format!(
                " AND EXISTS (SELECT 1 FROM customer_tags ct WHERE ct.customer_id = c.id
                  AND ct.tag_id = ?{} AND {live_link})",
                params.len()
            );
        }
        if let Some(group) = query.tag_group.as_deref().filter(|t| !t.is_empty()) {
            params.push(SqlValue::Text(group.to_string()));
            sql += &format!(
                " AND EXISTS (SELECT 1 FROM customer_tags ct JOIN tags t ON t.id = ct.tag_id
                  WHERE ct.customer_id = c.id AND t.tag_group = ?{} AND {live_link})",
                params.len()
            );
        }
        if let Some(stage) = query.stage.as_deref().filter(|t| !t.is_empty()) {
            params.push(SqlValue::Text(stage.to_string()));
            sql += &format!(" AND c.stage = ?{}", params.len());
        }
        if let Some(owner) = query.owner.as_deref().filter(|t| !t.is_empty()) {
            params.push(SqlValue::Text(owner.to_string()));
            sql += &format!(" AND c.owner = ?{}", params.len());
        }
        if params.is_empty() {
            return Ok(None);
        }
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(params), |r| r.get(0))?;
        Ok(Some(rows.collect::<rusqlite::Result<_>>()?))
    }

    fn last_contacts(&self) -> Result<HashMap<String, String>> {
        let mut stmt = self
            .conn
            .prepare("SELECT customer_id, max(at) FROM touchpoints GROUP BY customer_id")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn birthday_distances(&self) -> Result<HashMap<String, i64>> {
        let today = self.now().date_naive();
        let mut stmt = self.conn.prepare(
            "SELECT id, birthday, birthday_calendar FROM customers
             WHERE birthday IS NOT NULL AND merged_into IS NULL AND erased_at IS NULL",
        )?;
        let mut rows = stmt.query([])?;
        let mut out = HashMap::new();
        while let Some(r) = rows.next()? {
            let id: String = r.get(0)?;
            let text: String = r.get(1)?;
            let cal = Calendar::parse(&r.get::<_, String>(2)?).unwrap_or_default();
            if let Some(d) = days_until(&text, cal, today) {
                out.insert(id, d);
            }
        }
        Ok(out)
    }

    fn customer_row(&self, id: &str, today: chrono::NaiveDate) -> Result<Option<CustomerRow>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT name, gender, phone, stage, owner, birthday, birthday_calendar,
                    (SELECT max(at) FROM touchpoints t WHERE t.customer_id = c.id)
             FROM customers c WHERE id = ?1 AND merged_into IS NULL AND erased_at IS NULL",
        )?;
        let mut rows = stmt.query([id])?;
        let Some(r) = rows.next()? else {
            return Ok(None);
        };
        let phone: Option<String> = r.get(2)?;
        let birthday: Option<String> = r.get(5)?;
        let calendar = Calendar::parse(&r.get::<_, String>(6)?).unwrap_or_default();
        let row = CustomerRow {
            id: id.to_string(),
            name: r.get(0)?,
            gender: r.get(1)?,
            phone_masked: phone.as_deref().map(mask_phone),
            stage: r.get(3)?,
            owner: r.get(4)?,
            tags: Vec::new(),
            last_contact: r.get(7)?,
            birthday_in_days: birthday
                .as_deref()
                .and_then(|b| days_until(b, calendar, today)),
            birthday: birthday.map(|b| month_day_text(&b)),
            birthday_calendar: calendar,
            matched: None,
        };
        drop(rows);
        Ok(Some(CustomerRow {
            tags: self.customer_tags(id)?,
            ..row
        }))
    }
}

/// `1990-04-15` → `04-15`; `--04-15` → `04-15`.
fn month_day_text(date: &str) -> String {
    date.strip_prefix("--")
        .or_else(|| date.get(5..))
        .unwrap_or(date)
        .to_string()
}
