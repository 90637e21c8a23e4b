//! Customers: the profile, its fields, duplicates, merging and erasure.

pub mod fields;
mod merge;

pub use fields::{editable_fields, parse_field};
pub use lighttouch_text::Calendar;

use crate::changes::{Entity, Writer};
pub use crate::error::DuplicateMatch;
use crate::error::{BookError, Result};
use crate::history::{Purchase, Touchpoint};
use crate::notes::Note;
use crate::store::Book;
use crate::tags::TagRef;
use lighttouch_text::{mask_phone, normalize_phone};
use rusqlite::{OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A customer profile. Field names match `edit --set` and the JSON export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Customer {
    pub id: String,
    pub name: String,
    pub gender: Option<String>,
    pub phone: Option<String>,
    pub phone2: Option<String>,
    pub wechat: Option<String>,
    pub email: Option<String>,
    pub birthday: Option<String>,
    pub birthday_calendar: String,
    pub anniversary: Option<String>,
    pub anniversary_calendar: String,
    pub language: Option<String>,
    pub ring_size: Option<String>,
    pub wrist_size: Option<String>,
    pub clothing_size: Option<String>,
    pub shoe_size: Option<String>,
    pub preferred_metals: Vec<String>,
    pub preferred_stones: Vec<String>,
    pub preferred_styles: Vec<String>,
    pub preferred_colors: Vec<String>,
    pub budget: Option<String>,
    pub stage: Option<String>,
    pub consent_marketing: bool,
    pub consent_at: Option<String>,
    pub consent_source: Option<String>,
    pub do_not_contact: bool,
    pub owner: Option<String>,
    pub store: Option<String>,
    pub created_at: String,
    pub merged_into: Option<String>,
    pub erased_at: Option<String>,
    pub tags: Vec<TagRef>,
}

/// Everything the book holds about one customer: the portable record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct CustomerRecord {
    #[serde(flatten)]
    pub customer: Customer,
    pub notes: Vec<Note>,
    pub purchases: Vec<Purchase>,
    pub touchpoints: Vec<Touchpoint>,
}

/// An existing customer who may be the one being typed in: "this looks like
/// 張偉, 138****8000 — open instead?".
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SimilarCustomer {
    pub customer_id: String,
    pub name: String,
    pub phone_masked: Option<String>,
    /// `phone`, `wechat` or `name` (same name in either script, or its pinyin)
    pub matched_on: String,
}

pub const CUSTOMER_COLUMNS: &str = "id, name, gender, phone, phone2, wechat, email,
    birthday, birthday_calendar, anniversary, anniversary_calendar, language, ring_size,
    wrist_size, clothing_size, shoe_size, preferred_metals, preferred_stones, preferred_styles,
    preferred_colors, budget, stage, consent_marketing, consent_at, consent_source,
    do_not_contact, owner, store, created_at, merged_into, erased_at";

pub fn customer_from_row(r: &Row<'_>) -> rusqlite::Result<Customer> {
    let list = |i: usize| -> rusqlite::Result<Vec<String>> {
        let s: Option<String> = r.get(i)?;
        Ok(s.and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default())
    };
    Ok(Customer {
        id: r.get(0)?,
        name: r.get(1)?,
        gender: r.get(2)?,
        phone: r.get(3)?,
        phone2: r.get(4)?,
        wechat: r.get(5)?,
        email: r.get(6)?,
        birthday: r.get(7)?,
        birthday_calendar: r.get(8)?,
        anniversary: r.get(9)?,
        anniversary_calendar: r.get(10)?,
        language: r.get(11)?,
        ring_size: r.get(12)?,
        wrist_size: r.get(13)?,
        clothing_size: r.get(14)?,
        shoe_size: r.get(15)?,
        preferred_metals: list(16)?,
        preferred_stones: list(17)?,
        preferred_styles: list(18)?,
        preferred_colors: list(19)?,
        budget: r.get(20)?,
        stage: r.get(21)?,
        consent_marketing: r.get(22)?,
        consent_at: r.get(23)?,
        consent_source: r.get(24)?,
        do_not_contact: r.get(25)?,
        owner: r.get(26)?,
        store: r.get(27)?,
        created_at: r.get(28)?,
        merged_into: r.get(29)?,
        erased_at: r.get(30)?,
        tags: Vec::new(),
    })
}

/// Parses every `(field, text)` pair first, so a bad one writes nothing.
pub fn parse_all(fields: &[(&str, &str)]) -> Result<Vec<(&'static str, Value)>> {
    let mut out: Vec<(&'static str, Value)> = Vec::new();
    for (field, raw) in fields {
        for (name, value) in parse_field(field, raw)? {
            out.retain(|(n, _)| *n != name);
            out.push((name, value));
        }
    }
    Ok(out)
}

impl Book {
    /// IDs of live customers (neither erased nor merged), oldest first.
    pub fn customer_ids(&self) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare(
            "SELECT id FROM customers WHERE erased_at IS NULL AND merged_into IS NULL ORDER BY id",
        )?;
        let ids = stmt.query_map([], |r| r.get(0))?;
        Ok(ids.collect::<rusqlite::Result<_>>()?)
    }

    /// Creates a customer from `(field, text)` pairs and returns its ID. Refuses
    /// a phone or WeChat ID that another customer has, unless `allow_duplicate`.
    pub fn add_customer(
        &mut self,
        fields: &[(&str, &str)],
        allow_duplicate: bool,
    ) -> Result<String> {
        let parsed = parse_all(fields)?;
        if !parsed.iter().any(|(n, _)| *n == "name") {
            return Err(BookError::missing("name", "a customer needs a name"));
        }
        if !allow_duplicate {
            if let Some(dup) = self.duplicates_of(&parsed, None)?.into_iter().next() {
                return Err(BookError::Duplicate(dup));
            }
        }
        let associate = self.associate()?;
        let store = self.store_name()?;
        self.write(|w| insert_customer(w, parsed, associate, store))
    }

    /// Sets fields of one customer in one transaction; returns the updated profile.
    pub fn edit_customer(&mut self, id: &str, fields: &[(&str, &str)]) -> Result<Customer> {
        let parsed = parse_all(fields)?;
        self.live_customer(id)?;
        if let Some(dup) = self.duplicates_of(&parsed, Some(id))?.into_iter().next() {
            return Err(BookError::Duplicate(dup));
        }
        self.write(|w| {
            for (field, value) in &parsed {
                let changed = w.update(Entity::Customer, id, field, value)?;
                if *field == "consent_marketing" && changed {
                    // When consent was given or withdrawn is part of the consent.
                    let at = Value::String(w.now_text());
                    w.update(Entity::Customer, id, "consent_at", &at)?;
                }
            }
            Ok(())
        })?;
        self.customer(id)
    }

    /// One customer with tags; erased and merged customers come back as tombstones.
    pub fn customer(&self, id: &str) -> Result<Customer> {
        let mut c = self
            .conn
            .query_row(
                &format!("SELECT {CUSTOMER_COLUMNS} FROM customers WHERE id = ?1"),
                [id],
                customer_from_row,
            )
            .optional()?
            .ok_or_else(|| BookError::CustomerNotFound(id.to_string()))?;
        c.tags = self.customer_tags(id)?;
        Ok(c)
    }

    /// The customer with notes, purchases and touchpoints.
    pub fn customer_record(&self, id: &str) -> Result<CustomerRecord> {
        Ok(CustomerRecord {
            customer: self.customer(id)?,
            notes: self.notes(id)?,
            purchases: self.purchases(id)?,
            touchpoints: self.touchpoints(id)?,
        })
    }

    /// A customer that exists and is neither erased nor merged away.
    pub fn live_customer(&self, id: &str) -> Result<Customer> {
        let c = self.customer(id)?;
        if c.erased_at.is_some() {
            return Err(BookError::InvalidInput(format!("customer {id} was erased")));
        }
        if let Some(into) = &c.merged_into {
            return Err(BookError::InvalidInput(format!(
                "customer {id} was merged into {into}"
            )));
        }
        Ok(c)
    }

    pub fn customer_count(&self) -> Result<i64> {
        Ok(self.conn.query_row(
            "SELECT count(*) FROM customers WHERE erased_at IS NULL AND merged_into IS NULL",
            [],
            |r| r.get(0),
        )?)
    }

    /// Live customers with the same normalised phone or WeChat ID.
    pub fn find_duplicates(
        &self,
        phone: Option<&str>,
        wechat: Option<&str>,
        exclude: Option<&str>,
    ) -> Result<Vec<DuplicateMatch>> {
        let mut found: Vec<DuplicateMatch> = Vec::new();
        let mut push = |m: DuplicateMatch| {
            if Some(m.customer_id.as_str()) != exclude
                && !found.iter().any(|f| f.customer_id == m.customer_id)
            {
                found.push(m);
            }
        };
        if let Some(p) = phone {
            let mut stmt = self.conn.prepare_cached(
                "SELECT id, name FROM customers WHERE (phone = ?1 OR phone2 = ?1)
                 AND erased_at IS NULL AND merged_into IS NULL ORDER BY created_at",
            )?;
            for row in stmt.query_map([p], |r| Ok((r.get(0)?, r.get(1)?)))? {
                let (customer_id, name) = row?;
                push(DuplicateMatch {
                    customer_id,
                    name,
                    matched_on: "phone".into(),
                });
            }
        }
        if let Some(wx) = wechat {
            let mut stmt = self.conn.prepare_cached(
                "SELECT id, name FROM customers WHERE wechat = ?1 COLLATE NOCASE
                 AND erased_at IS NULL AND merged_into IS NULL ORDER BY created_at",
            )?;
            for row in stmt.query_map([wx], |r| Ok((r.get(0)?, r.get(1)?)))? {
                let (customer_id, name) = row?;
                push(DuplicateMatch {
                    customer_id,
                    name,
                    matched_on: "wechat".into(),
                });
            }
        }
        Ok(found)
    }

    /// Customers a new profile with these details may duplicate, as the
    /// associate types: same phone or WeChat ID first, then the same name
    /// (张伟 = 張偉 = zhang wei). Input that does not parse yet is ignored.
    pub fn similar_customers(
        &mut self,
        name: &str,
        phone: &str,
        wechat: &str,
    ) -> Result<Vec<SimilarCustomer>> {
        let phone = normalize_phone(phone).ok();
        let wechat = Some(wechat.trim()).filter(|w| !w.is_empty());
        let mut found: Vec<(String, String)> = self
            .find_duplicates(phone.as_deref(), wechat, None)?
            .into_iter()
            .map(|m| (m.customer_id, m.matched_on))
            .collect();
        if name.trim().chars().count() >= 2 {
            for (id, field, class) in self.search_ids(name, 20)? {
                let by_name = matches!(
                    field,
                    crate::search::MatchField::Name | crate::search::MatchField::Pinyin
                );
                if class == 0 && by_name && !found.iter().any(|(f, _)| *f == id) {
                    found.push((id, "name".into()));
                }
            }
        }
        let mut out = Vec::new();
        for (id, matched_on) in found.into_iter().take(5) {
            let c = self.customer(&id)?;
            out.push(SimilarCustomer {
                customer_id: id,
                name: c.name,
                phone_masked: c.phone.as_deref().map(mask_phone),
                matched_on,
            });
        }
        Ok(out)
    }

    fn duplicates_of(
        &self,
        parsed: &[(&'static str, Value)],
        exclude: Option<&str>,
    ) -> Result<Vec<DuplicateMatch>> {
        let get = |f: &str| {
            parsed
                .iter()
                .find(|(n, _)| *n == f)
                .and_then(|(_, v)| v.as_str())
        };
        let mut all = Vec::new();
        for phone in [get("phone"), get("phone2")].into_iter().flatten() {
            all.extend(self.find_duplicates(Some(phone), None, exclude)?);
        }
        all.extend(self.find_duplicates(None, get("wechat"), exclude)?);
        Ok(all)
    }

    /// Erases a customer's personal data on request (see [`Writer::erase_customer`]).
    pub fn erase_customer(&mut self, id: &str) -> Result<()> {
        let c = self.customer(id)?;
        if c.erased_at.is_some() {
            return Ok(());
        }
        self.write(|w| w.erase_customer(id))
    }
}

/// Inserts a parsed customer inside a write; shared by `add` and import.
pub fn insert_customer(
    w: &mut Writer<'_>,
    mut parsed: Vec<(&'static str, Value)>,
    associate: Option<String>,
    store: Option<String>,
) -> Result<String> {
    let id = uuid::Uuid::now_v7().to_string();
    let has = |p: &Vec<(&'static str, Value)>, f: &str| p.iter().any(|(n, _)| *n == f);
    if !has(&parsed, "owner") {
        if let Some(a) = associate {
            parsed.push(("owner", Value::String(a)));
        }
    }
    if !has(&parsed, "store") {
        if let Some(s) = store {
            parsed.push(("store", Value::String(s)));
        }
    }
    if parsed
        .iter()
        .any(|(n, v)| *n == "consent_marketing" && v == &Value::Bool(true))
    {
        parsed.push(("consent_at", Value::String(w.now_text())));
    }
    parsed.push(("created_at", Value::String(w.now_text())));
    w.insert(Entity::Customer, &id, &parsed)?;
    Ok(id)
}
