//! `cargo run -p lighttouch-layering`: fails, naming each violation, when a
//! crate or module depends on something ARCHITECTURE.md does not allow.

use anyhow::Result;
use std::path::Path;
use std::process::ExitCode;

fn main() -> Result<ExitCode> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let found = lighttouch_layering::check(&root)?;
    if found.is_empty() {
        println!("layering: every crate and module keeps to ARCHITECTURE.md");
        return Ok(ExitCode::SUCCESS);
    }
    for v in &found {
        eprintln!("layering: {v}");
    }
    eprintln!(
        "layering: {} violation(s); fix the dependency, or name it in ARCHITECTURE.md with its reason",
        found.len()
    );
    Ok(ExitCode::FAILURE)
}
