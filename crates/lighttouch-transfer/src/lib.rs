//! Moving customers in and out of the book: CSV import of customers and
//! purchases as POS and CRM systems export them (planned first, the plan
//! being the dry-run report, then applied in one transaction, and undoable),
//! and export as CSV (re-importable) or JSON (everything the book holds).
//! Every write goes through the book's one write path.

pub mod export;
pub mod import;

pub use export::{export, export_to_file, ExportFormat};
