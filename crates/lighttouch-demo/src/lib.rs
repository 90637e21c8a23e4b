//! The demo book and the evaluation harness. A deterministic generator
//! (the same seed gives the same people on every platform) fills a book for
//! trying the product and for benchmarks; `planted` makes a book whose
//! preferences are known, for measuring the recommender. Nothing in the product depends on this
//! crate: only the CLI, the benchmarks and the tests.

pub mod demo;
pub mod planted;

pub use demo::{generate_demo, generate_demo_with_progress, DemoSummary};
