//! Lighttouch's text and calendar rules, as pure functions: folding for
//! search and matching, pinyin spellings, phone numbers, Chinese and lunar
//! date formats, when an occasion next falls, the gifting festivals and the
//! built-in jewellery/fashion tag vocabulary. No SQLite, no I/O: every
//! other crate may use this one, and it uses none of them.

pub mod dates;
pub mod festivals;
pub mod fold;
pub mod occasions;
pub mod phone;
pub mod vocabulary;

pub use dates::Calendar;
pub use fold::fold;
pub use phone::{mask_phone, normalize_phone};

/// The languages the product speaks, first the default.
pub const LANGUAGES: &[&str] = &["zh-Hans", "zh-Hant", "en"];
