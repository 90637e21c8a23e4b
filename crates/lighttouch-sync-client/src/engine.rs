//! One sync run: push every unacknowledged change, then pull every page the
//! server has, holding the book only between network calls. The transport is
//! a trait so tests and the simulation can run without HTTP.

use lighttouch_book::sync::{PULL_PAGE, PUSH_BATCH};
use lighttouch_book::{Book, BookError};
use lighttouch_protocol::{
    codes, ApiError, LoginRequest, LoginResponse, PullRequest, PullResponse, PushRequest,
    PushResponse, ReregisterRequest, UserInfo,
};
use std::future::Future;
use std::sync::{Mutex, MutexGuard};

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("the server cannot be reached: {0}")]
    Unreachable(String),
    #[error("{}", .error.message)]
    Api { status: u16, error: ApiError },
    #[error("unexpected answer from the server: {0}")]
    Protocol(String),
}

/// How a book talks to a server.
pub trait Transport: Send + Sync {
    fn login(
        &self,
        server: &str,
        request: &LoginRequest,
    ) -> impl Future<Output = Result<LoginResponse, TransportError>> + Send;
    fn push(
        &self,
        server: &str,
        token: &str,
        request: &PushRequest,
    ) -> impl Future<Output = Result<PushResponse, TransportError>> + Send;
    fn pull(
        &self,
        server: &str,
        token: &str,
        request: &PullRequest,
    ) -> impl Future<Output = Result<PullResponse, TransportError>> + Send;
    /// Continues a restored or copied book as a new device of the same person.
    fn reregister(
        &self,
        server: &str,
        token: &str,
        request: &ReregisterRequest,
    ) -> impl Future<Output = Result<LoginResponse, TransportError>> + Send;
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("not signed in to a sync server; sign in first")]
    NotSignedIn,
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error(transparent)]
    Book(#[from] BookError),
}

impl SyncError {
    /// Stable code for the `{code, message}` edges: `offline` when the server
    /// cannot be reached, the server's own code when it answered with an error.
    pub fn code(&self) -> String {
        match self {
            SyncError::NotSignedIn => "not_signed_in".into(),
            SyncError::Transport(TransportError::Unreachable(_)) => "offline".into(),
            SyncError::Transport(TransportError::Api { error, .. }) => error.code.clone(),
            SyncError::Transport(TransportError::Protocol(_)) => "protocol".into(),
            SyncError::Book(e) => e.code().into(),
        }
    }

    /// Worth retrying later by itself (as opposed to needing the person).
    pub fn is_transient(&self) -> bool {
        match self {
            SyncError::Transport(TransportError::Unreachable(_)) => true,
            SyncError::Transport(TransportError::Api { status, .. }) => {
                *status >= 500 || *status == 429
            }
            _ => false,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SyncReport {
    pub pushed: u32,
    pub pulled: u32,
    /// The server held this book's history differently (it was restored
    /// from a backup, or copied): it now syncs as a new device, and nothing
    /// of either history was dropped.
    pub continued_as_new_device: bool,
}

fn lock(book: &Mutex<Book>) -> MutexGuard<'_, Book> {
    // A panic elsewhere while holding the book cannot leave it half-written
    // (every write is one transaction), so the data is still good to use.
    book.lock().unwrap_or_else(|p| p.into_inner())
}

/// Signs in and saves the account in the book.
pub async fn login<T: Transport>(
    book: &Mutex<Book>,
    transport: &T,
    server: &str,
    username: &str,
    password: &str,
    device_name: &str,
) -> Result<UserInfo, SyncError> {
    let server = server.trim().trim_end_matches('/').to_string();
    let request = LoginRequest {
        username: username.trim().to_string(),
        password: password.to_string(),
        device_id: lock(book).device_id(),
        device_name: device_name.to_string(),
    };
    let response = transport.login(&server, &request).await?;
    // Takes the device ID the server bound, if it is not the one asked for.
    lock(book).save_sync_account(&server, &response)?;
    Ok(response.user)
}

/// Pushes, then pulls, until both sides are up to date. The outcome is
/// recorded in the book for the status line.
pub async fn sync_once<T: Transport>(
    book: &Mutex<Book>,
    transport: &T,
) -> Result<SyncReport, SyncError> {
    let result = run(book, transport).await;
    let mut b = lock(book);
    match &result {
        Ok(_) => b.record_sync_success()?,
        Err(SyncError::NotSignedIn) => {}
        Err(e) => b.record_sync_error(&e.code(), &e.to_string())?,
    }
    result
}

async fn run<T: Transport>(book: &Mutex<Book>, transport: &T) -> Result<SyncReport, SyncError> {
    let mut account = lock(book).sync_account()?.ok_or(SyncError::NotSignedIn)?;
    let mut report = SyncReport::default();
    let mut gap_resets = 0;
    let mut continuations = 0;
    loop {
        let Some(batch) = lock(book).push_batch(PUSH_BATCH)? else {
            break;
        };
        match transport
            .push(&account.server, &account.token, &batch)
            .await
        {
            Ok(response) => {
                let first = batch.changes.first().map_or(0, |c| c.seq);
                report.pushed += (response.applied_through - first + 1).max(0) as u32;
                lock(book).acknowledge_push(&response)?;
            }
            Err(TransportError::Api { error, .. })
                if error.code == codes::DEVICE_DIVERGED && continuations < 2 =>
            {
                continuations += 1;
                let at = error
                    .diverged_at
                    .unwrap_or_else(|| batch.changes.first().map_or(1, |c| c.seq));
                let request = ReregisterRequest {
                    device_id: uuid::Uuid::now_v7(),
                    device_name: lighttouch_book::sync::default_device_name(),
                    diverged_at: Some(at),
                    cursor: lock(book).sync_cursor()?,
                };
                let login = transport
                    .reregister(&account.server, &account.token, &request)
                    .await?;
                let mut b = lock(book);
                b.continue_as_new_device(at, &account.server, &login)?;
                account = b.sync_account()?.ok_or(SyncError::NotSignedIn)?;
                report.continued_as_new_device = true;
            }
            Err(TransportError::Api { error, .. })
                if error.code == codes::SEQ_GAP && gap_resets < 3 =>
            {
                // The server's record of this device differs from ours (an
                // acknowledgement was lost, or the server was restored from a
                // backup): continue from where the server is.
                gap_resets += 1;
                let expected = error.expected_seq.unwrap_or(1);
                let mut b = lock(book);
                let local = b.local_seq(expected - 1)?;
                b.reset_pushed_seq(local)?;
            }
            Err(e) => return Err(e.into()),
        }
    }
    // Pipelined: the next page is requested before this one is applied, so
    // the server and the network work while the book writes.
    let (cursor, known) = {
        let b = lock(book);
        (b.sync_cursor()?, b.written_through()?)
    };
    let mut page = transport
        .pull(
            &account.server,
            &account.token,
            &pull_request(cursor, known),
        )
        .await?;
    loop {
        if !page.more {
            report.pulled += lock(book).apply_pull(&page)? as u32;
            break;
        }
        let request = pull_request(Some(page.cursor.clone()), known);
        let next = transport.pull(&account.server, &account.token, &request);
        let apply = async { lock(book).apply_pull(&page) };
        let (next, applied) = futures_join(next, apply).await;
        report.pulled += applied? as u32;
        page = next?;
    }
    Ok(report)
}

fn pull_request(cursor: Option<String>, known_through: i64) -> PullRequest {
    PullRequest {
        cursor,
        limit: Some(PULL_PAGE),
        known_through: Some(known_through),
    }
}

/// Polls both futures to completion, the first one first (so its request is
/// on its way before the second, which may block, runs).
async fn futures_join<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
    let mut a = std::pin::pin!(a);
    let mut b = std::pin::pin!(b);
    let (mut ra, mut rb) = (None, None);
    std::future::poll_fn(|cx| {
        if ra.is_none() {
            if let std::task::Poll::Ready(v) = a.as_mut().poll(cx) {
                ra = Some(v);
            }
        }
        if rb.is_none() {
            if let std::task::Poll::Ready(v) = b.as_mut().poll(cx) {
                rb = Some(v);
            }
        }
        if ra.is_some() && rb.is_some() {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    (
        ra.expect("polled to completion"),
        rb.expect("polled to completion"),
    )
}
