//! Reaching customers lightly: recommendations (which HQ piece suits whom,
//! with reasons), drafts in the customer's language, the daily queue and the
//! reminders, all offline over the book. The light-touch guard (consent,
//! do-not-contact, caps, quiet hours) decides who may hear a promotion.
//!
//! [`Outreach`] is this room's one surface. It lives beside a [`Book`] and
//! owns what recommendations keep in memory (customer profiles, store
//! statistics, the day's content). It asks the book what changed since it
//! last looked ([`Book::touched_since`](lighttouch_book::Book::touched_since)) and patches or rebuilds; the book
//! knows nothing of it.

pub mod audience;
pub mod drafts;
pub mod recommend;
pub mod reminders;
pub mod today;

use lighttouch_book::store::Generation;
use recommend::{Cache, StatsCache};

/// Recommendations, drafts, the daily queue and reminders for one book.
/// Keep one beside the open book (the desktop app does); a fresh one per
/// call is correct too, only slower (it reads every profile again).
#[derive(Default)]
pub struct Outreach {
    pub(crate) cache: Option<Cache>,
    pub(crate) stats: Option<StatsCache>,
    /// Where the book stood when the caches were last brought up to date.
    pub(crate) seen: Option<Generation>,
}

impl Outreach {
    pub fn new() -> Outreach {
        Outreach::default()
    }
}

impl std::fmt::Debug for Outreach {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outreach")
            .field("profiles_loaded", &self.profiles_loaded())
            .finish()
    }
}
