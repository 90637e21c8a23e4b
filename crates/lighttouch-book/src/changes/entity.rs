//! The kinds of synced rows and their columns are defined once, in the
//! protocol crate (the server checks changes against the same table); the
//! book adds how a bad name or a missing row reads as its own error.

use crate::error::BookError;
pub use lighttouch_protocol::schema::Entity;

pub(crate) trait EntityErrors {
    fn check_column(self, column: &str) -> Result<(), BookError>;
    fn not_found(self, id: &str) -> BookError;
}

impl EntityErrors for Entity {
    fn check_column(self, column: &str) -> Result<(), BookError> {
        if self.has_column(column) {
            Ok(())
        } else {
            Err(BookError::invalid(
                column,
                format!("not a field of {}", self.as_str()),
            ))
        }
    }

    fn not_found(self, id: &str) -> BookError {
        match self {
            Entity::Customer => BookError::CustomerNotFound(id.to_string()),
            Entity::Note => BookError::NoteNotFound(id.to_string()),
            other => BookError::InvalidInput(format!("no {} with id {id}", other.as_str())),
        }
    }
}
