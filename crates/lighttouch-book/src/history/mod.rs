//! What happened with a customer: purchases and touchpoints (logged contacts).
//! Both are append-only.

use crate::changes::Entity;
use crate::error::{BookError, Result};
use crate::store::Book;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Purchase {
    pub id: String,
    pub customer_id: String,
    pub purchased_on: String,
    pub order_ref: Option<String>,
    pub sku: Option<String>,
    pub product: String,
    pub category: Option<String>,
    pub quantity: i64,
    pub amount_cents: Option<i64>,
    pub currency: String,
    pub store: Option<String>,
}

/// A purchase to record; `purchased_on` is `YYYY-MM-DD`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct NewPurchase {
    pub purchased_on: String,
    pub order_ref: Option<String>,
    pub sku: Option<String>,
    pub product: String,
    pub category: Option<String>,
    pub quantity: i64,
    pub amount_cents: Option<i64>,
    pub store: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Touchpoint {
    pub id: String,
    pub customer_id: String,
    pub at: String,
    pub channel: String,
    /// outreach (a promotion or recommendation), service, visit, call, purchase
    pub kind: String,
    pub content_id: Option<String>,
    pub message: Option<String>,
    pub author: Option<String>,
}

pub const TOUCHPOINT_KINDS: &[&str] = &["outreach", "service", "visit", "call", "purchase"];
pub const CHANNELS: &[&str] = &["wecom", "wechat", "sms", "phone", "email", "store"];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct NewTouchpoint {
    pub at: String,
    pub channel: String,
    pub kind: String,
    pub content_id: Option<String>,
    pub message: Option<String>,
}

fn opt(v: &Option<String>) -> Value {
    v.clone().map(Value::String).unwrap_or(Value::Null)
}

pub fn purchase_fields(
    customer_id: &str,
    p: &NewPurchase,
    now: String,
) -> Vec<(&'static str, Value)> {
    vec![
        ("customer_id", Value::String(customer_id.into())),
        ("purchased_on", Value::String(p.purchased_on.clone())),
        ("order_ref", opt(&p.order_ref)),
        ("sku", opt(&p.sku)),
        ("product", Value::String(p.product.clone())),
        ("category", opt(&p.category)),
        ("quantity", Value::from(p.quantity.max(1))),
        (
            "amount_cents",
            p.amount_cents.map(Value::from).unwrap_or(Value::Null),
        ),
        ("store", opt(&p.store)),
        ("created_at", Value::String(now)),
    ]
}

impl Book {
    pub fn add_purchase(&mut self, customer_id: &str, p: &NewPurchase) -> Result<String> {
        self.live_customer(customer_id)?;
        if p.product.trim().is_empty() {
            return Err(BookError::missing("product", "a purchase needs a product"));
        }
        lighttouch_text::dates::parse_date(&p.purchased_on)
            .map_err(|e| BookError::invalid("purchased_on", e))?;
        self.write(|w| {
            let id = uuid::Uuid::now_v7().to_string();
            let fields = purchase_fields(customer_id, p, w.now_text());
            w.insert(Entity::Purchase, &id, &fields)?;
            Ok(id)
        })
    }

    /// A customer's purchases, newest first.
    pub fn purchases(&self, customer_id: &str) -> Result<Vec<Purchase>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, customer_id, purchased_on, order_ref, sku, product, category, quantity,
                    amount_cents, currency, store
             FROM purchases WHERE customer_id = ?1 ORDER BY purchased_on DESC, id DESC",
        )?;
        let rows = stmt.query_map([customer_id], |r| {
            Ok(Purchase {
                id: r.get(0)?,
                customer_id: r.get(1)?,
                purchased_on: r.get(2)?,
                order_ref: r.get(3)?,
                sku: r.get(4)?,
                product: r.get(5)?,
                category: r.get(6)?,
                quantity: r.get(7)?,
                amount_cents: r.get(8)?,
                currency: r.get(9)?,
                store: r.get(10)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Logs a contact with a customer.
    pub fn add_touchpoint(&mut self, customer_id: &str, t: &NewTouchpoint) -> Result<String> {
        self.check_touchpoint(customer_id, t)?;
        let author = self.associate()?;
        self.write(|w| w.insert_touchpoint(customer_id, t, author.as_deref()))
    }

    /// What `add_touchpoint` refuses, named field by field.
    pub fn check_touchpoint(&self, customer_id: &str, t: &NewTouchpoint) -> Result<()> {
        self.live_customer(customer_id)?;
        if !TOUCHPOINT_KINDS.contains(&t.kind.as_str()) {
            return Err(BookError::invalid(
                "kind",
                format!("{:?} is not one of {}", t.kind, TOUCHPOINT_KINDS.join(", ")),
            ));
        }
        if t.channel.trim().is_empty() {
            return Err(BookError::missing(
                "channel",
                "a touchpoint needs a channel",
            ));
        }
        chrono::DateTime::parse_from_rfc3339(&t.at).map_err(|_| {
            BookError::invalid("at", format!("{:?} is not a time (RFC 3339)", t.at))
        })?;
        Ok(())
    }

    /// A customer's touchpoints, newest first.
    pub fn touchpoints(&self, customer_id: &str) -> Result<Vec<Touchpoint>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, customer_id, at, channel, kind, content_id, message, author
             FROM touchpoints WHERE customer_id = ?1 ORDER BY at DESC, id DESC",
        )?;
        let rows = stmt.query_map([customer_id], |r| {
            Ok(Touchpoint {
                id: r.get(0)?,
                customer_id: r.get(1)?,
                at: r.get(2)?,
                channel: r.get(3)?,
                kind: r.get(4)?,
                content_id: r.get(5)?,
                message: r.get(6)?,
                author: r.get(7)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

impl crate::changes::Writer<'_> {
    /// Writes a checked touchpoint (see `Book::check_touchpoint`).
    pub fn insert_touchpoint(
        &mut self,
        customer_id: &str,
        t: &NewTouchpoint,
        author: Option<&str>,
    ) -> Result<String> {
        let id = uuid::Uuid::now_v7().to_string();
        let now = self.now_text();
        self.insert(
            Entity::Touchpoint,
            &id,
            &[
                ("customer_id", Value::String(customer_id.into())),
                ("at", Value::String(t.at.clone())),
                ("channel", Value::String(t.channel.trim().to_lowercase())),
                ("kind", Value::String(t.kind.clone())),
                ("content_id", opt(&t.content_id)),
                ("message", opt(&t.message)),
                (
                    "author",
                    author
                        .map(|a| Value::String(a.into()))
                        .unwrap_or(Value::Null),
                ),
                ("created_at", Value::String(now)),
            ],
        )?;
        Ok(id)
    }
}
