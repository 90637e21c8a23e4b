//! Drafts: a message composed for one customer, in their language, from a
//! talk script, ready to edit. Its life: proposed → edited → sent (which
//! records a touchpoint) or dismissed (with a reason the ranking learns
//! from). Drafts sync, so a manager sees what was sent.

pub mod scripts;

pub(crate) use scripts::ScriptShelf;

use crate::recommend::guard::HoldReason;
use crate::recommend::reasons::Reason;
use crate::recommend::{hold_words, profile::Profile};
use crate::Outreach;
use chrono::{FixedOffset, NaiveDate};
use lighttouch_book::changes::Entity;
use lighttouch_book::error::{BookError, Result};
use lighttouch_book::store::Book;
use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Draft {
    pub id: String,
    pub customer_id: String,
    pub content_id: Option<String>,
    pub language: String,
    pub body: String,
    pub reasons: Vec<String>,
    /// proposed, edited, sent or dismissed
    pub status: String,
    pub dismiss_reason: Option<String>,
    pub created_at: String,
}

/// A composed message, not yet saved.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Composed {
    pub customer_id: String,
    pub content_id: Option<String>,
    pub language: String,
    pub body: String,
    pub reasons: Vec<String>,
}

const COMPOUND_SURNAMES: &[&str] = &[
    "欧阳", "歐陽", "司马", "司馬", "上官", "诸葛", "諸葛", "东方", "東方", "皇甫", "慕容", "令狐",
    "长孙", "長孫", "夏侯", "尉迟", "尉遲", "公孙", "公孫", "宇文", "轩辕", "軒轅", "端木",
];

fn is_cjk(c: char) -> bool {
    ('\u{4e00}'..='\u{9fff}').contains(&c) || ('\u{3400}'..='\u{4dbf}').contains(&c)
}

/// How a message addresses the customer: 王女士, 欧阳先生, or a given name in English.
pub fn honorific(name: &str, gender: Option<&str>, language: &str) -> String {
    let name = name.trim();
    let chinese = name.chars().next().is_some_and(is_cjk);
    if language == "en" {
        return if chinese {
            name.to_string()
        } else {
            name.split_whitespace().next().unwrap_or(name).to_string()
        };
    }
    if !chinese {
        return name.to_string();
    }
    let surname = COMPOUND_SURNAMES
        .iter()
        .find(|s| name.starts_with(**s) && name.chars().count() > 2)
        .map(|s| s.to_string())
        .unwrap_or_else(|| name.chars().take(1).collect());
    match gender {
        Some("female") => format!("{surname}女士"),
        Some("male") => format!("{surname}先生"),
        _ => name.to_string(),
    }
}

/// What a draft is about, to pick the script and fill it.
pub(crate) struct Subject<'a> {
    pub purpose: &'a str,
    pub product: Option<&'a str>,
    pub content_id: Option<&'a str>,
    pub reasons: &'a [Reason],
    /// Words for `{occasion}` (生日, 七夕, or a follow-up's note).
    pub occasion: Option<String>,
}

/// What `{product}` stands for in a script of `purpose`: in a greeting the
/// product is an afterthought sentence, not a noun.
pub(crate) fn product_phrase(purpose: &str, product: &str, language: &str) -> String {
    match purpose {
        "birthday" | "anniversary" | "birthday_today" | "anniversary_today" => match language {
            "en" => format!("The {product} might make a lovely gift."),
            "zh-Hant" => format!("這款{product}也許是不錯的禮物。"),
            _ => format!("这款{product}也许是不错的礼物。"),
        },
        _ => product.to_string(),
    }
}

/// A message for `profile`, in their language, from the matching script.
pub(crate) fn compose(
    shelf: &ScriptShelf,
    profile: &Profile,
    subject: &Subject,
    associate_lang: &str,
) -> Result<Composed> {
    let language = profile
        .language
        .clone()
        .filter(|l| lighttouch_text::LANGUAGES.contains(&l.as_str()))
        .unwrap_or_else(|| "zh-Hans".to_string());
    let script = shelf.script(subject.purpose, &language)?;
    let pitch = subject
        .reasons
        .iter()
        .find_map(|r| r.pitch(&language))
        .unwrap_or_else(|| match language.as_str() {
            "en" => "I thought of you".to_string(),
            "zh-Hant" => "想到了您".to_string(),
            _ => "想到了您".to_string(),
        });
    let occasion = subject.occasion.clone().unwrap_or_default();
    let product = subject
        .product
        .map(|p| product_phrase(subject.purpose, p, &language))
        .unwrap_or_default();
    let associate = shelf.associate()?;
    let name = honorific(&profile.name, profile.gender.as_deref(), &language);
    let body = scripts::fill(
        &script.body,
        &[
            ("{name}", &name),
            ("{product}", &product),
            ("{reason}", &pitch),
            ("{occasion}", &occasion),
            ("{associate}", associate),
        ],
    );
    Ok(Composed {
        customer_id: profile.id.clone(),
        content_id: subject.content_id.map(str::to_string),
        language,
        body,
        reasons: subject
            .reasons
            .iter()
            .map(|r| r.words(associate_lang))
            .collect(),
    })
}

impl Outreach {
    /// The message for one customer about one content item, with the reasons.
    pub fn compose_draft(
        &mut self,
        book: &mut Book,
        customer_id: &str,
        content_id: &str,
        today: NaiveDate,
        associate_lang: &str,
    ) -> Result<Composed> {
        let profile = self.one_profile(book, customer_id)?;
        let item = book.content_item(content_id)?;
        let reasons = self.reasons_for(book, &profile, content_id, today, associate_lang)?;
        let language = profile.language.clone().unwrap_or_else(|| "zh-Hans".into());
        let (title, _) = item.text_in(&language);
        let (purpose, occasion) = recommend_purpose(&reasons);
        compose(
            &ScriptShelf::new(book),
            &profile,
            &Subject {
                purpose,
                product: Some(title),
                content_id: Some(content_id),
                reasons: &reasons,
                occasion,
            },
            associate_lang,
        )
    }

    /// Saves a composed (or edited) message as a draft of the customer.
    pub fn save_draft(&mut self, book: &mut Book, draft: &Composed) -> Result<Draft> {
        book.live_customer(&draft.customer_id)?;
        if draft.body.trim().is_empty() {
            return Err(BookError::missing("body", "a draft needs text"));
        }
        let id = book.write(|w| {
            let id = uuid::Uuid::now_v7().to_string();
            w.insert(
                Entity::Draft,
                &id,
                &[
                    ("customer_id", Value::String(draft.customer_id.clone())),
                    (
                        "content_id",
                        draft
                            .content_id
                            .clone()
                            .map(Value::String)
                            .unwrap_or(Value::Null),
                    ),
                    ("language", Value::String(draft.language.clone())),
                    ("body", Value::String(draft.body.clone())),
                    (
                        "reasons",
                        Value::String(Value::from(draft.reasons.clone()).to_string()),
                    ),
                    ("status", Value::String("proposed".into())),
                    ("created_at", Value::String(w.now_text())),
                ],
            )?;
            Ok(id)
        })?;
        self.draft(book, &id)
    }

    pub fn draft(&self, book: &Book, id: &str) -> Result<Draft> {
        book.connection()
            .prepare_cached(
                "SELECT id, customer_id, content_id, language, body, reasons, status,
                        dismiss_reason, created_at FROM drafts WHERE id = ?1",
            )?
            .query_row([id], draft_row)
            .map_err(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => BookError::DraftNotFound(id.to_string()),
                e => e.into(),
            })
    }

    /// A customer's drafts, newest first.
    pub fn drafts(&self, book: &Book, customer_id: &str) -> Result<Vec<Draft>> {
        let mut stmt = book.connection().prepare_cached(
            "SELECT id, customer_id, content_id, language, body, reasons, status,
                    dismiss_reason, created_at FROM drafts WHERE customer_id = ?1
             ORDER BY created_at DESC, id DESC",
        )?;
        let rows = stmt.query_map([customer_id], draft_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn open_draft(&self, book: &Book, id: &str) -> Result<Draft> {
        let d = self.draft(book, id)?;
        if d.status == "sent" || d.status == "dismissed" {
            return Err(BookError::InvalidInput(format!(
                "draft {id} is already {}; compose a new one",
                d.status
            )));
        }
        Ok(d)
    }

    /// The associate's edit of a draft's text.
    pub fn edit_draft(&mut self, book: &mut Book, id: &str, body: &str) -> Result<Draft> {
        self.open_draft(book, id)?;
        if body.trim().is_empty() {
            return Err(BookError::missing("body", "a draft needs text"));
        }
        book.write(|w| {
            w.update(Entity::Draft, id, "body", &Value::String(body.to_string()))?;
            w.update(Entity::Draft, id, "status", &Value::String("edited".into()))?;
            Ok(())
        })?;
        self.draft(book, id)
    }

    /// Marks a draft sent and logs the contact. A promotion goes only where the
    /// guard allows (consent, do-not-contact, caps) and outside quiet hours;
    /// a service message only respects do-not-contact.
    pub fn send_draft(
        &mut self,
        book: &mut Book,
        id: &str,
        channel: &str,
        local: FixedOffset,
    ) -> Result<String> {
        let d = self.open_draft(book, id)?;
        let profile = self.one_profile(book, &d.customer_id)?;
        let now = book.now();
        let today = now.with_timezone(&local).date_naive();
        let settings = self.guard_settings(book)?;
        let lang = self.reasons_language(book)?;
        let promotion = d.content_id.is_some();
        let hold = if promotion {
            profile
                .contacts
                .hold(profile.consent, profile.do_not_contact, &settings, today)
        } else {
            profile.do_not_contact.then_some(HoldReason::DoNotContact)
        };
        if let Some(h) = hold {
            return Err(BookError::HeldBack {
                code: h.code(),
                message: hold_words(&h, &lang),
            });
        }
        if promotion && settings.is_quiet(now.with_timezone(&local).time()) {
            return Err(BookError::HeldBack {
                code: "quiet_hours",
                message: match lang.as_str() {
                    "en" => format!("quiet hours until {}; send it then", settings.quiet_until),
                    "zh-Hant" => format!("勿擾時段，{} 後再發", settings.quiet_until),
                    _ => format!("免打扰时段，{} 后再发", settings.quiet_until),
                },
            });
        }
        let touch = lighttouch_book::history::NewTouchpoint {
            at: now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            channel: channel.to_string(),
            kind: if promotion { "outreach" } else { "service" }.to_string(),
            content_id: d.content_id.clone(),
            message: Some(d.body.clone()),
        };
        book.check_touchpoint(&d.customer_id, &touch)?;
        let author = book.associate()?;
        book.write(|w| {
            let tid = w.insert_touchpoint(&d.customer_id, &touch, author.as_deref())?;
            w.update(Entity::Draft, id, "status", &Value::String("sent".into()))?;
            Ok(tid)
        })
    }

    /// Sets a draft aside. A reason naming something ("not interested in
    /// pearls") lowers such pieces for this customer from now on.
    pub fn dismiss_draft(
        &mut self,
        book: &mut Book,
        id: &str,
        reason: Option<&str>,
    ) -> Result<Draft> {
        self.open_draft(book, id)?;
        let reason = reason.map(str::trim).filter(|r| !r.is_empty());
        book.write(|w| {
            w.update(
                Entity::Draft,
                id,
                "status",
                &Value::String("dismissed".into()),
            )?;
            if let Some(r) = reason {
                w.update(
                    Entity::Draft,
                    id,
                    "dismiss_reason",
                    &Value::String(r.into()),
                )?;
            }
            Ok(())
        })?;
        self.draft(book, id)
    }
}

fn draft_row(r: &rusqlite::Row) -> rusqlite::Result<Draft> {
    let reasons: String = r.get(5)?;
    Ok(Draft {
        id: r.get(0)?,
        customer_id: r.get(1)?,
        content_id: r.get(2)?,
        language: r
            .get::<_, Option<String>>(3)?
            .unwrap_or_else(|| "zh-Hans".into()),
        body: r.get(4)?,
        reasons: serde_json::from_str(&reasons).unwrap_or_default(),
        status: r.get(6)?,
        dismiss_reason: r.get(7)?,
        created_at: r.get(8)?,
    })
}

/// The script a recommendation is written from, by its reasons: a festival's
/// own (on the day itself, the greeting for the day) naming it, else the
/// plain recommendation. The customer page's draft and an audience's drafts
/// both choose here.
pub(crate) fn recommend_purpose(reasons: &[Reason]) -> (&'static str, Option<String>) {
    let festival = reasons.iter().find_map(|r| match r {
        Reason::Festival { name, days, .. } => Some((name.clone(), *days)),
        _ => None,
    });
    match festival {
        Some((name, 0)) => ("festival_today", Some(name)),
        Some((name, _)) => ("festival", Some(name)),
        None => ("recommend", None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn honorifics_follow_chinese_and_english_custom() {
        assert_eq!(honorific("王丽", Some("female"), "zh-Hans"), "王女士");
        assert_eq!(honorific("欧阳娜娜", Some("female"), "zh-Hans"), "欧阳女士");
        assert_eq!(honorific("張偉", Some("male"), "zh-Hant"), "張先生");
        assert_eq!(honorific("陈静", None, "zh-Hans"), "陈静");
        assert_eq!(honorific("Emma Smith", Some("female"), "en"), "Emma");
        assert_eq!(honorific("王丽", Some("female"), "en"), "王丽");
    }
}
