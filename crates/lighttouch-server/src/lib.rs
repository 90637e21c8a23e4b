//! The Lighttouch central server: the change log every store's devices sync
//! through, accounts and devices, HQ content, admin commands. Never depends
//! on the desktop app; speaks `lighttouch-protocol`.

pub mod admin;
pub mod auth;
pub mod config;
pub mod routes;
pub mod storage;
pub mod sync;

pub use storage::Storage;
