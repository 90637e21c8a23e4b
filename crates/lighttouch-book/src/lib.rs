//! Lighttouch core: the associate's customer book. Domain, local store,
//! search, import and export. Knows nothing of Tauri or HTTP; every write
//! goes through [`changes::Writer`], every "now" through a [`clock::Clock`].

pub mod changes;
pub mod clock;
pub mod content;
pub mod customers;
pub mod demo;
pub mod drafts;
pub mod error;
pub mod export;
pub mod history;
pub mod import;
pub mod list;
pub mod notes;
pub mod recommend;
pub mod reminders;
pub mod search;
pub mod store;
pub mod sync;
pub mod tags;
pub mod today;

pub use clock::{Clock, ManualClock, SystemClock};
pub use customers::{Customer, CustomerRecord};
pub use error::{BookError, Problem, Result};
pub use store::{Book, OpenMode};
