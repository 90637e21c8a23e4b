//! Sync in the background of an app: at start, every minute while online,
//! at once when asked, and with exponential backoff (plus jitter, so a
//! store's laptops do not return together) while the server is unreachable.
//! One run at a time.

use crate::engine::{sync_once, SyncError, SyncReport, Transport};
use lighttouch_book::Book;
use std::sync::Mutex;
use std::time::Duration;

/// Between two syncs while all is well.
pub const SYNC_INTERVAL: Duration = Duration::from_secs(60);
const FIRST_RETRY: Duration = Duration::from_secs(5);
const LONGEST_RETRY: Duration = Duration::from_secs(300);

/// How long to wait after `failures` failed runs in a row: 5 s, 10 s, 20 s …
/// up to 5 minutes, scaled by `jitter` (0.8 to 1.2).
pub fn retry_delay(failures: u32, jitter: f64) -> Duration {
    if failures == 0 {
        return SYNC_INTERVAL;
    }
    let base = FIRST_RETRY.saturating_mul(1u32 << failures.saturating_sub(1).min(16));
    base.min(LONGEST_RETRY).mul_f64(jitter.clamp(0.8, 1.2))
}

/// What the app shows besides the book's own sync status.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SyncActivity {
    /// A run is under way.
    pub syncing: bool,
    /// Whether the last run reached the server (`None` before the first).
    pub online: Option<bool>,
    /// Seconds until the next automatic attempt after a failure.
    pub retry_in_secs: Option<u32>,
}

/// Runs sync for the life of the app. `wake` starts a run at once;
/// `activity` is kept current for the UI.
pub struct SyncRunner {
    pub wake: tokio::sync::Notify,
    pub activity: Mutex<SyncActivity>,
    /// One run at a time, whether started by the timer or by a person.
    running: tokio::sync::Mutex<()>,
}

impl Default for SyncRunner {
    fn default() -> Self {
        SyncRunner {
            wake: tokio::sync::Notify::new(),
            activity: Mutex::new(SyncActivity::default()),
            running: tokio::sync::Mutex::new(()),
        }
    }
}

impl SyncRunner {
    pub fn activity(&self) -> SyncActivity {
        self.activity
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn set(&self, f: impl FnOnce(&mut SyncActivity)) {
        f(&mut self.activity.lock().unwrap_or_else(|p| p.into_inner()));
    }

    /// One run now (waiting for a run already under way to finish first).
    pub async fn sync_now<T: Transport>(
        &self,
        book: &Mutex<Book>,
        transport: &T,
    ) -> Result<SyncReport, SyncError> {
        let _one = self.running.lock().await;
        self.set(|a| a.syncing = true);
        let result = sync_once(book, transport).await;
        self.set(|a| {
            a.syncing = false;
            a.online = match &result {
                Ok(_) => Some(true),
                Err(SyncError::NotSignedIn) => None,
                Err(e) => Some(!e.is_transient()),
            };
        });
        result
    }

    /// The loop: never returns. Runs only while the book is signed in; a
    /// sign-in or "sync now" wakes it.
    pub async fn run_forever<T: Transport>(&self, book: &Mutex<Book>, transport: &T) {
        let mut failures = 0u32;
        let mut rng = fastrand::Rng::new();
        loop {
            let signed_in = book
                .lock()
                .map(|b| b.sync_account().ok().flatten().is_some())
                .unwrap_or(false);
            let delay = if signed_in {
                match self.sync_now(book, transport).await {
                    Ok(_) => failures = 0,
                    Err(e) if e.is_transient() => failures += 1,
                    // Needs a person (signed out, revoked, too old): wait for them.
                    Err(_) => failures = 0,
                }
                retry_delay(failures, 0.8 + rng.f64() * 0.4)
            } else {
                SYNC_INTERVAL
            };
            self.set(|a| a.retry_in_secs = (failures > 0).then_some(delay.as_secs() as u32));
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = self.wake.notified() => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_up_to_five_minutes_with_jitter() {
        assert_eq!(retry_delay(0, 1.0), SYNC_INTERVAL);
        assert_eq!(retry_delay(1, 1.0), Duration::from_secs(5));
        assert_eq!(retry_delay(2, 1.0), Duration::from_secs(10));
        assert_eq!(retry_delay(4, 1.0), Duration::from_secs(40));
        assert_eq!(retry_delay(30, 1.0), Duration::from_secs(300));
        assert_eq!(retry_delay(1, 1.2), Duration::from_secs(6));
        assert_eq!(
            retry_delay(1, 5.0),
            Duration::from_secs(6),
            "jitter is bounded"
        );
    }
}
