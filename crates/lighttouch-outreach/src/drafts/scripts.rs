//! Talk scripts (话术): message templates with placeholders, per language and
//! purpose. HQ's defaults ship with the app; the associate's own (or ones
//! HQ sends) live in the book and win over the defaults.
//!
//! Placeholders: `{name}` (honorific and name), `{product}`, `{reason}`,
//! `{occasion}`, `{associate}`.

use crate::Outreach;
use lighttouch_book::changes::Entity;
use lighttouch_book::error::{BookError, Result};
use lighttouch_book::store::Book;
use lighttouch_text::LANGUAGES;
use serde::Serialize;
use serde_json::Value;
use std::cell::{OnceCell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use lighttouch_protocol::scripts::HQ_SCRIPT_PREFIX;
pub use lighttouch_protocol::scripts::{unknown_placeholder, PLACEHOLDERS, PURPOSES};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TalkScript {
    /// None for the built-in defaults.
    pub id: Option<String>,
    /// `own` (the associate's), `hq` (published by HQ through sync) or
    /// `builtin` (shipped with the app).
    pub source: String,
    pub language: String,
    pub purpose: String,
    pub name: String,
    pub body: String,
}

/// (purpose, zh-Hans, zh-Hant, en)
const DEFAULTS: &[(&str, &str, &str, &str)] = &[
    (
        "recommend",
        "{name}您好，我是{associate}。{reason}，这款{product}想第一个推荐给您，有空来店里看看吗？",
        "{name}您好，我是{associate}。{reason}，這款{product}想第一個推薦給您，有空來店裡看看嗎？",
        "Hi {name}, it's {associate}. {reason}, so the {product} made me think of you. Would you like to come in and see it?",
    ),
    (
        "birthday",
        "{name}您好，我是{associate}。{occasion}快到了，提前祝您生日快乐！{product}",
        "{name}您好，我是{associate}。{occasion}快到了，提前祝您生日快樂！{product}",
        "Hi {name}, it's {associate}. Your {occasion} is coming up, so an early happy birthday! {product}",
    ),
    (
        "anniversary",
        "{name}您好，我是{associate}。{occasion}快到了，祝你们纪念日快乐！{product}",
        "{name}您好，我是{associate}。{occasion}快到了，祝你們紀念日快樂！{product}",
        "Hi {name}, it's {associate}. Your {occasion} is coming up; happy anniversary to you both! {product}",
    ),
    (
        "aftercare",
        "{name}您好，我是{associate}。{product}戴了几天，感觉还舒服吗？有任何需要随时找我。",
        "{name}您好，我是{associate}。{product}戴了幾天，感覺還舒服嗎？有任何需要隨時找我。",
        "Hi {name}, it's {associate}. How is the {product} after a few days? Anything you need, just tell me.",
    ),
    (
        "care_month",
        "{name}您好，我是{associate}。{product}陪伴您一个月了，需要清洁保养随时来店里，我帮您处理。",
        "{name}您好，我是{associate}。{product}陪伴您一個月了，需要清潔保養隨時來店裡，我幫您處理。",
        "Hi {name}, it's {associate}. You've had the {product} for a month now; if it needs cleaning or care, come by and I'll see to it.",
    ),
    (
        "quiet",
        "{name}您好，好久不见，我是{associate}。{reason}，有空来店里坐坐，喝杯茶。",
        "{name}您好，好久不見，我是{associate}。{reason}，有空來店裡坐坐，喝杯茶。",
        "Hi {name}, it's {associate}; it has been a while. {reason}; do drop by for a cup of tea.",
    ),
    (
        "followup",
        "{name}您好，我是{associate}。{occasion}",
        "{name}您好，我是{associate}。{occasion}",
        "Hi {name}, it's {associate}. {occasion}",
    ),
    (
        "festival",
        "{name}您好，我是{associate}。{occasion}快到了，{reason}，这款{product}很适合，想第一时间分享给您。",
        "{name}您好，我是{associate}。{occasion}快到了，{reason}，這款{product}很適合，想第一時間分享給您。",
        "Hi {name}, it's {associate}. {occasion} is coming; {reason}, and the {product} would be just right.",
    ),
    (
        "birthday_today",
        "{name}您好，我是{associate}。今天是您的{occasion}，祝您生日快乐！{product}",
        "{name}您好，我是{associate}。今天是您的{occasion}，祝您生日快樂！{product}",
        "Hi {name}, it's {associate}. Happy {occasion} today! {product}",
    ),
    (
        "anniversary_today",
        "{name}您好，我是{associate}。今天是你们的{occasion}，祝你们纪念日快乐！{product}",
        "{name}您好，我是{associate}。今天是你們的{occasion}，祝你們紀念日快樂！{product}",
        "Hi {name}, it's {associate}. Today is your {occasion}; happy anniversary to you both! {product}",
    ),
    (
        "festival_today",
        "{name}您好，我是{associate}。祝您{occasion}快乐！{reason}，这款{product}很适合，想第一时间分享给您。",
        "{name}您好，我是{associate}。祝您{occasion}快樂！{reason}，這款{product}很適合，想第一時間分享給您。",
        "Hi {name}, it's {associate}. Happy {occasion}! {reason}, and the {product} would be just right.",
    ),
];

fn default_script(purpose: &str, language: &str) -> Option<TalkScript> {
    let (_, hans, hant, en) = DEFAULTS.iter().find(|d| d.0 == purpose)?;
    let body = match language {
        "zh-Hant" => hant,
        "en" => en,
        _ => hans,
    };
    Some(TalkScript {
        id: None,
        source: "builtin".into(),
        language: language.to_string(),
        purpose: purpose.to_string(),
        name: format!("HQ · {purpose}"),
        body: body.to_string(),
    })
}

/// The script for a purpose in a language: the associate's own, else the
/// one HQ published, else the default shipped with the app.
fn talk_script(book: &Book, purpose: &str, language: &str) -> Result<TalkScript> {
    if let Some(own) = stored_script(book, purpose, language, false)? {
        return Ok(own);
    }
    if let Some(hq) = stored_script(book, purpose, language, true)? {
        return Ok(hq);
    }
    default_script(purpose, language).ok_or_else(|| {
        BookError::invalid("purpose", format!("{purpose:?} is not a script purpose"))
    })
}

fn stored_script(
    book: &Book,
    purpose: &str,
    language: &str,
    hq: bool,
) -> Result<Option<TalkScript>> {
    let hq_like = format!("{HQ_SCRIPT_PREFIX}%");
    Ok(book
        .connection()
        .prepare_cached(
            "SELECT id, language, purpose, name, body FROM talk_scripts
                 WHERE purpose = ?1 AND language = ?2 AND deleted_at IS NULL
                   AND (id LIKE ?3) = ?4
                 ORDER BY created_at DESC, id DESC LIMIT 1",
        )?
        .query_map(rusqlite::params![purpose, language, hq_like, hq], |r| {
            Ok(TalkScript {
                id: r.get(0)?,
                source: if hq { "hq" } else { "own" }.into(),
                language: r.get(1)?,
                purpose: r.get(2)?,
                name: r.get(3)?,
                body: r.get(4)?,
            })
        })?
        .next()
        .transpose()?)
}

/// The scripts a batch of drafts is written from and the associate's name,
/// each read from the book once: a morning's queue composes thousands.
pub(crate) struct ScriptShelf<'b> {
    pub book: &'b Book,
    chosen: RefCell<HashMap<(String, String), Rc<TalkScript>>>,
    associate: OnceCell<String>,
}

impl<'b> ScriptShelf<'b> {
    pub fn new(book: &'b Book) -> ScriptShelf<'b> {
        ScriptShelf {
            book,
            chosen: RefCell::new(HashMap::new()),
            associate: OnceCell::new(),
        }
    }

    pub fn script(&self, purpose: &str, language: &str) -> Result<Rc<TalkScript>> {
        let key = (purpose.to_string(), language.to_string());
        if let Some(s) = self.chosen.borrow().get(&key) {
            return Ok(s.clone());
        }
        let s = Rc::new(talk_script(self.book, purpose, language)?);
        self.chosen.borrow_mut().insert(key, s.clone());
        Ok(s)
    }

    pub fn associate(&self) -> Result<&str> {
        if let Some(a) = self.associate.get() {
            return Ok(a);
        }
        let a = self.book.associate()?.unwrap_or_default();
        Ok(self.associate.get_or_init(|| a))
    }
}

impl Outreach {
    /// The script for a purpose in a language: the associate's own, else
    /// the one HQ published, else the default shipped with the app.
    pub fn talk_script(&self, book: &Book, purpose: &str, language: &str) -> Result<TalkScript> {
        talk_script(book, purpose, language)
    }

    /// Every script the book has, and the defaults it has not replaced.
    pub fn talk_scripts(&self, book: &Book) -> Result<Vec<TalkScript>> {
        let mut out = Vec::new();
        for purpose in PURPOSES {
            for lang in LANGUAGES {
                out.push(self.talk_script(book, purpose, lang)?);
            }
        }
        Ok(out)
    }

    /// Saves the associate's own script; it replaces the default for its purpose and language.
    pub fn add_talk_script(
        &mut self,
        book: &mut Book,
        language: &str,
        purpose: &str,
        name: &str,
        body: &str,
    ) -> Result<String> {
        if !LANGUAGES.contains(&language) {
            return Err(BookError::invalid(
                "language",
                format!("must be one of {}", LANGUAGES.join(", ")),
            ));
        }
        if !PURPOSES.contains(&purpose) {
            return Err(BookError::invalid(
                "purpose",
                format!("must be one of {}", PURPOSES.join(", ")),
            ));
        }
        if body.trim().is_empty() {
            return Err(BookError::missing("body", "a script needs text"));
        }
        if let Some(bad) = unknown_placeholder(body) {
            return Err(BookError::invalid(
                "body",
                format!(
                    "{bad} is not a placeholder (use {})",
                    PLACEHOLDERS.join(" ")
                ),
            ));
        }
        let author = book.associate()?;
        // Editing replaces the book's own script in place rather than piling
        // up versions; only the newest counts anyway.
        if let Some(own) = stored_script(book, purpose, language, false)?.and_then(|s| s.id) {
            return book.write(|w| {
                w.update(
                    Entity::TalkScript,
                    &own,
                    "name",
                    &Value::String(name.trim().into()),
                )?;
                w.update(
                    Entity::TalkScript,
                    &own,
                    "body",
                    &Value::String(body.trim().into()),
                )?;
                Ok(own.clone())
            });
        }
        book.write(|w| {
            let id = uuid::Uuid::now_v7().to_string();
            w.insert(
                Entity::TalkScript,
                &id,
                &[
                    ("language", Value::String(language.into())),
                    ("purpose", Value::String(purpose.into())),
                    ("name", Value::String(name.trim().into())),
                    ("body", Value::String(body.trim().into())),
                    ("author", author.map(Value::String).unwrap_or(Value::Null)),
                    ("created_at", Value::String(w.now_text())),
                ],
            )?;
            Ok(id)
        })
    }
}

impl Outreach {
    /// Drops the book's own script for a purpose and language, so HQ's
    /// (published or default) speaks again. Returns false when there was none.
    pub fn reset_talk_script(
        &mut self,
        book: &mut Book,
        purpose: &str,
        language: &str,
    ) -> Result<bool> {
        let own: Vec<String> = book
            .connection()
            .prepare_cached(
                "SELECT id FROM talk_scripts
                 WHERE purpose = ?1 AND language = ?2 AND deleted_at IS NULL
                   AND id NOT LIKE ?3",
            )?
            .query_map([purpose, language, &format!("{HQ_SCRIPT_PREFIX}%")], |r| {
                r.get(0)
            })?
            .collect::<rusqlite::Result<_>>()?;
        if own.is_empty() {
            return Ok(false);
        }
        book.write(|w| {
            let at = Value::String(w.now_text());
            for id in &own {
                w.update(Entity::TalkScript, id, "deleted_at", &at)?;
            }
            Ok(true)
        })
    }
}

/// A script as a customer would read it, filled with sample values in its
/// language, and the first `{…}` that is not a placeholder, if any (saving
/// would refuse it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ScriptPreview {
    pub text: String,
    pub unknown: Option<String>,
}

/// Sample values per language for previews: (placeholder, value).
fn sample_values(language: &str, purpose: &str) -> [(&'static str, &'static str); 4] {
    let occasion = match (purpose, language) {
        ("anniversary" | "anniversary_today", "en") => "wedding anniversary",
        ("anniversary" | "anniversary_today", "zh-Hant") => "結婚紀念日",
        ("anniversary" | "anniversary_today", _) => "结婚纪念日",
        ("festival" | "festival_today", "en") => "Qixi",
        ("festival" | "festival_today", _) => "七夕",
        ("birthday_today", "en") => "birthday",
        ("birthday_today", _) => "生日",
        ("followup", "en") => "the ring you had resized is ready",
        ("followup", _) => "您改好尺寸的戒指到了",
        (_, "en") => "birthday",
        (_, _) => "您的生日",
    };
    match language {
        "en" => [
            ("{name}", "Emma"),
            ("{product}", "rose gold necklace"),
            ("{reason}", "I remember you like rose gold"),
            ("{occasion}", occasion),
        ],
        "zh-Hant" => [
            ("{name}", "王女士"),
            ("{product}", "玫瑰金項鍊"),
            ("{reason}", "記得您喜歡玫瑰金"),
            ("{occasion}", occasion),
        ],
        _ => [
            ("{name}", "王女士"),
            ("{product}", "玫瑰金项链"),
            ("{reason}", "记得您喜欢玫瑰金"),
            ("{occasion}", occasion),
        ],
    }
}

/// Previews `body` as the talk-script editor shows it while it is typed.
pub fn preview_script(body: &str, language: &str, purpose: &str, associate: &str) -> ScriptPreview {
    let samples = sample_values(language, purpose);
    // The sample product as a real draft of this purpose words it.
    let product = samples
        .iter()
        .find(|(ph, _)| *ph == "{product}")
        .map(|(_, p)| super::product_phrase(purpose, p, language))
        .unwrap_or_default();
    let mut values: Vec<(&str, &str)> = samples
        .iter()
        .filter(|(ph, _)| *ph != "{product}")
        .copied()
        .collect();
    values.push(("{product}", &product));
    values.push(("{associate}", associate));
    ScriptPreview {
        text: fill(body, &values),
        unknown: unknown_placeholder(body),
    }
}

/// Fills a script. Empty values leave no stray punctuation behind.
pub(crate) fn fill(body: &str, values: &[(&str, &str)]) -> String {
    let mut out = body.to_string();
    for (ph, v) in values {
        out = out.replace(ph, v);
    }
    for (from, to) in [
        ("，，", "，"),
        ("。，", "。"),
        ("，。", "。"),
        ("。。", "。"),
        (" ,", ","),
        ("  ", " "),
    ] {
        while out.contains(from) {
            out = out.replace(from, to);
        }
    }
    out.trim().to_string()
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_preview_takes_any_text_without_failing() {
        // Unclosed and stray braces, an unknown language, an oversized body.
        assert_eq!(
            preview_script("}{", "xx", "nope", "").unknown.as_deref(),
            Some("{")
        );
        assert_eq!(
            preview_script("{名字}", "en", "recommend", "")
                .unknown
                .as_deref(),
            Some("{名字}")
        );
        let big = "{name}".repeat(50_000);
        let p = preview_script(&big, "zh-Hans", "recommend", "小林");
        assert_eq!(p.unknown, None);
        assert_eq!(p.text, "王女士".repeat(50_000));
        assert_eq!(preview_script("", "en", "recommend", "Lin").text, "");
    }

    #[test]
    fn a_preview_fills_samples_in_the_scripts_language_and_names_a_typo() {
        let p = preview_script(
            "{name}您好，我是{associate}。{product}",
            "zh-Hant",
            "recommend",
            "小林",
        );
        assert_eq!(p.text, "王女士您好，我是小林。玫瑰金項鍊");
        assert_eq!(p.unknown, None);
        let p = preview_script(
            "Hi {name}, happy {occasion}! {nmae}",
            "en",
            "anniversary",
            "Lin",
        );
        assert_eq!(p.text, "Hi Emma, happy wedding anniversary! {nmae}");
        assert_eq!(p.unknown.as_deref(), Some("{nmae}"));
        assert_eq!(
            preview_script("{name", "zh-Hans", "birthday", "x")
                .unknown
                .as_deref(),
            Some("{name")
        );
        // In a greeting the product is a sentence after the wish, as in a real draft.
        let p = preview_script(
            &default_script("birthday_today", "zh-Hans").unwrap().body,
            "zh-Hans",
            "birthday_today",
            "小林",
        );
        assert!(
            p.text
                .ends_with("祝您生日快乐！这款玫瑰金项链也许是不错的礼物。"),
            "{}",
            p.text
        );
    }
    use super::*;

    #[test]
    fn every_purpose_has_a_default_in_every_language() {
        for p in PURPOSES {
            for l in LANGUAGES {
                let s = default_script(p, l).unwrap();
                assert!(unknown_placeholder(&s.body).is_none(), "{p} {l}");
            }
        }
        assert_eq!(unknown_placeholder("hi {nmae}"), Some("{nmae}".into()));
        assert_eq!(
            fill(
                "{name}，{reason}，好",
                &[("{name}", "王女士"), ("{reason}", "")]
            ),
            "王女士，好"
        );
    }
}
