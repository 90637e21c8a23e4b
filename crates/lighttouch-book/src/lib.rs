//! The associate's customer book: the SQLite file, its one write path, the
//! records it holds (customers, tags, notes, history, HQ content), search and
//! the customer list, and the book's side of sync (push batches, applying
//! pulled pages, conflicts). Every write goes through [`changes::Writer`],
//! every "now" through a [`clock::Clock`]. It knows nothing of the features
//! built on it (outreach, transfer, the sync client): they read it, write
//! through it, and ask it what changed ([`Book::touched_since`]).

pub mod changes;
pub mod clock;
pub mod content;
pub mod customers;
pub mod error;
pub mod history;
pub mod list;
pub mod notes;
pub mod search;
pub mod store;
pub mod sync;
pub mod tags;

pub use clock::{Clock, ManualClock, SystemClock};
pub use customers::{Customer, CustomerRecord};
pub use error::{BookError, Problem, Result};
pub use store::{Book, OpenMode};
