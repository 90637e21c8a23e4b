//! The error every command returns: `{code, message}`, so the UI branches on
//! `code` and shows `message`.

use lighttouch_book::BookError;
use serde::Serialize;

#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct CommandError {
    /// Stable, machine-readable: customer_not_found, invalid_field, duplicate, …
    pub code: String,
    /// A sentence for a person, naming what is wrong.
    pub message: String,
    /// For `invalid_field`: which field, so the UI can point at it and say
    /// what is wrong in the associate's language.
    pub field: Option<String>,
    /// For `invalid_field`: what is wrong with it (missing, too long, malformed).
    pub problem: Option<lighttouch_book::Problem>,
    /// For `duplicate`: the customers the new one would duplicate.
    pub duplicates: Vec<lighttouch_book::customers::DuplicateMatch>,
}

impl From<BookError> for CommandError {
    fn from(e: BookError) -> Self {
        let duplicates = match &e {
            BookError::Duplicate(m) => vec![m.clone()],
            _ => Vec::new(),
        };
        let (field, problem) = match &e {
            BookError::InvalidField { field, problem, .. } => (Some(field.clone()), Some(*problem)),
            _ => (None, None),
        };
        CommandError {
            code: e.code().to_string(),
            message: e.to_string(),
            field,
            problem,
            duplicates,
        }
    }
}

impl From<lighttouch_sync_client::SyncError> for CommandError {
    fn from(e: lighttouch_sync_client::SyncError) -> Self {
        match e {
            lighttouch_sync_client::SyncError::Book(b) => b.into(),
            other => CommandError::new(&other.code(), other.to_string()),
        }
    }
}

impl CommandError {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        CommandError {
            code: code.into(),
            message: message.into(),
            field: None,
            problem: None,
            duplicates: Vec::new(),
        }
    }
}

pub type CommandResult<T> = Result<T, CommandError>;
