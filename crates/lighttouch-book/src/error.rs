//! One error type for the book and the crates built on it. Every variant
//! has a stable `code` so the UI and the CLI can branch on it without
//! parsing messages.

use serde::Serialize;
use thiserror::Error;

pub type Result<T, E = BookError> = std::result::Result<T, E>;

#[derive(Debug, Error)]
pub enum BookError {
    #[error("no customer with id {0}")]
    CustomerNotFound(String),
    #[error("no note with id {0}")]
    NoteNotFound(String),
    #[error("no content item with id {0}")]
    ContentNotFound(String),
    #[error("no draft with id {0}")]
    DraftNotFound(String),
    /// The light-touch guard refuses: consent, do-not-contact, a cap, quiet hours.
    #[error("{message}")]
    HeldBack { code: &'static str, message: String },
    #[error("{field}: {reason}")]
    InvalidField {
        field: String,
        reason: String,
        problem: Problem,
    },
    #[error("{0}")]
    InvalidInput(String),
    #[error("{} already has this {} (customer {}); open that customer instead, or merge", .0.name, .0.matched_on, .0.customer_id)]
    Duplicate(DuplicateMatch),
    #[error("this book was written by a newer Lighttouch (schema version {found}; this build knows up to {supported}); please update the app")]
    NewerSchema { found: i64, supported: i64 },
    #[error("{path} is not a Lighttouch book (not an SQLite database)")]
    NotABook { path: String },
    #[error("{0}")]
    Import(String),
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("database error: {0}")]
    Database(#[from] rusqlite::Error),
}

impl BookError {
    /// Stable, machine-readable code for the `{code, message}` edge format.
    pub fn code(&self) -> &'static str {
        match self {
            BookError::CustomerNotFound(_) => "customer_not_found",
            BookError::NoteNotFound(_) => "note_not_found",
            BookError::ContentNotFound(_) => "content_not_found",
            BookError::DraftNotFound(_) => "draft_not_found",
            BookError::HeldBack { code, .. } => code,
            BookError::InvalidField { .. } => "invalid_field",
            BookError::InvalidInput(_) => "invalid_input",
            BookError::Duplicate(_) => "duplicate",
            BookError::NewerSchema { .. } => "newer_schema",
            BookError::NotABook { .. } => "not_a_book",
            BookError::Import(_) => "import_failed",
            BookError::Io { .. } => "io",
            BookError::Database(_) => "database",
        }
    }

    /// A value that does not parse or is not allowed (`reason` says how).
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        BookError::InvalidField {
            field: field.into(),
            reason: reason.into(),
            problem: Problem::Malformed,
        }
    }

    /// A field that must not be empty.
    pub fn missing(field: impl Into<String>, reason: impl Into<String>) -> Self {
        BookError::InvalidField {
            field: field.into(),
            reason: reason.into(),
            problem: Problem::Missing,
        }
    }

    pub(crate) fn too_long(field: impl Into<String>, max: usize) -> Self {
        BookError::InvalidField {
            field: field.into(),
            reason: format!("longer than {max} characters"),
            problem: Problem::TooLong {
                max: u32::try_from(max).unwrap_or(u32::MAX),
            },
        }
    }
}

/// What is wrong with a field, so a UI can say it in the person's language
/// (the error's own text is English, for logs and the CLI).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Problem {
    /// Empty where a value is required.
    Missing,
    /// More than `max` characters.
    TooLong { max: u32 },
    /// Not a valid value for the field (a phone, a date, a stage, …).
    Malformed,
}

/// An existing customer that a new or edited one would duplicate.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct DuplicateMatch {
    pub customer_id: String,
    pub name: String,
    /// `phone` or `wechat`
    pub matched_on: String,
}
