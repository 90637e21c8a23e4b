//! "Who should hear about this": the associate's customers one HQ item
//! suits, each with a draft in their language. The recommender ranks them;
//! this puts a message beside each.

use crate::drafts::Subject;
use crate::recommend::RankedAudience;
use crate::Outreach;
use chrono::NaiveDate;
use lighttouch_book::{Book, Result};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AudienceEntry {
    pub customer_id: String,
    pub name: String,
    pub score: f64,
    pub reasons: Vec<String>,
    /// A message ready to edit, in the customer's language.
    pub draft: String,
    pub draft_language: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Audience {
    pub content_id: String,
    pub title: String,
    pub entries: Vec<AudienceEntry>,
    /// Customers it would suit who are held back (consent, caps, do-not-contact).
    pub held_back: u32,
}

impl Outreach {
    /// The associate's customers one content item suits, best first, each
    /// with a draft. Customers the guard holds back are counted, not listed:
    /// the associate sends each message personally, never a blast.
    pub fn audience(
        &mut self,
        book: &mut Book,
        content_id: &str,
        limit: usize,
        today: NaiveDate,
        lang: &str,
    ) -> Result<Audience> {
        let RankedAudience {
            item,
            chosen,
            held_back,
        } = self.rank_audience(book, content_id, limit, today, lang)?;
        let mut entries = Vec::with_capacity(chosen.len());
        let shelf = crate::drafts::ScriptShelf::new(book);
        for (score, p, reasons) in chosen {
            let language = p.language.clone().unwrap_or_else(|| "zh-Hans".into());
            let (purpose, occasion) = crate::drafts::recommend_purpose(&reasons);
            let composed = crate::drafts::compose(
                &shelf,
                &p,
                &Subject {
                    purpose,
                    product: Some(item.text_in(&language).0),
                    content_id: Some(content_id),
                    reasons: &reasons,
                    occasion,
                },
                lang,
            )?;
            entries.push(AudienceEntry {
                customer_id: p.id.clone(),
                name: p.name.clone(),
                score: (score * 100.0).round() / 100.0,
                reasons: composed.reasons,
                draft: composed.body,
                draft_language: composed.language,
            });
        }
        Ok(Audience {
            content_id: content_id.to_string(),
            title: item.text_in(lang).0.to_string(),
            entries,
            held_back,
        })
    }
}
