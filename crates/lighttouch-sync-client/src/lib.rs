//! The book's sync client: one sync run over a [`engine::Transport`]
//! (push until acknowledged, then pipelined pulls), the app's background
//! [`runner`], and the [`http`] transport. The book's transactional steps
//! (a push batch, an acknowledgement, a pulled page) live in
//! `lighttouch_book::sync`; this crate only drives them.

pub mod engine;
#[cfg(feature = "http")]
pub mod http;
#[cfg(feature = "http")]
pub mod runner;

pub use engine::{sync_once, SyncError, SyncReport, Transport, TransportError};
