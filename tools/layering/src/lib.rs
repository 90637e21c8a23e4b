//! The layering check. ARCHITECTURE.md holds two tables between markers:
//! which workspace crates each crate may depend on (and what it must never
//! use), and which pairs of modules inside a crate may import each other.
//! This reads both, then the workspace: every crate's `Cargo.toml` (normal,
//! dev and build dependencies) and every top-level module's `crate::` and
//! `super::` paths. Anything the tables do not allow is a violation.

use anyhow::{bail, Context, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

const LAYERS: (&str, &str) = ("<!-- layers:begin -->", "<!-- layers:end -->");
const EXCEPTIONS: (&str, &str) = (
    "<!-- module-exceptions:begin -->",
    "<!-- module-exceptions:end -->",
);

/// What ARCHITECTURE.md allows.
#[derive(Debug, Default)]
pub struct Rules {
    /// Crate → the workspace crates it may depend on.
    pub may_depend_on: BTreeMap<String, BTreeSet<String>>,
    /// Crate → crates or paths (`std::fs`) it must never use.
    pub never: BTreeMap<String, Vec<String>>,
    /// Crate → pairs of top-level modules allowed to import each other.
    pub exceptions: BTreeMap<String, BTreeSet<(String, String)>>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Violation {
    /// A workspace crate the table does not name.
    Unlisted { krate: String },
    /// A crate the table names that the workspace does not have.
    Missing { krate: String },
    /// A dependency on a workspace crate the table does not allow.
    Dependency {
        krate: String,
        on: String,
        section: String,
    },
    /// Something the crate must never use, in its manifest or its code.
    Forbidden {
        krate: String,
        what: String,
        at: String,
    },
    /// Top-level modules that import each other, directly or round a circle.
    Cycle {
        krate: String,
        modules: Vec<String>,
        edges: Vec<String>,
    },
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Violation::Unlisted { krate } => write!(
                f,
                "{krate}: not in ARCHITECTURE.md's layer table; add it with what it may depend on"
            ),
            Violation::Missing { krate } => write!(
                f,
                "{krate}: named in ARCHITECTURE.md's layer table but not a workspace crate"
            ),
            Violation::Dependency { krate, on, section } => write!(
                f,
                "{krate} depends on {on} ([{section}]), which its layer does not allow"
            ),
            Violation::Forbidden { krate, what, at } => {
                write!(f, "{krate} uses {what}, which it must never use ({at})")
            }
            Violation::Cycle {
                krate,
                modules,
                edges,
            } => write!(
                f,
                "{krate}: modules {} import each other: {}",
                modules.join(" ↔ "),
                edges.join("; ")
            ),
        }
    }
}

/// The rows of the table between `markers`, as cells without backquotes.
fn table_rows(doc: &str, markers: (&str, &str)) -> Result<Vec<Vec<String>>> {
    let start = doc
        .find(markers.0)
        .with_context(|| format!("ARCHITECTURE.md has no {}", markers.0))?;
    let end = doc[start..]
        .find(markers.1)
        .with_context(|| format!("ARCHITECTURE.md has no {}", markers.1))?;
    let rows = doc[start + markers.0.len()..start + end]
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with('|'))
        .skip(2) // the header and its rule
        .map(|l| {
            l.trim_matches('|')
                .split('|')
                .map(|c| c.trim().to_string())
                .collect()
        })
        .collect();
    Ok(rows)
}

/// The backquoted words of a cell: "`a`, `b`" → [a, b].
fn quoted(cell: &str) -> Vec<String> {
    cell.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .filter(|s| !s.is_empty())
        .collect()
}

pub fn parse_rules(doc: &str) -> Result<Rules> {
    let mut rules = Rules::default();
    for row in table_rows(doc, LAYERS)? {
        let [krate, deps, never, ..] = row.as_slice() else {
            bail!("a layer row needs three cells: {row:?}");
        };
        let Some(name) = quoted(krate).into_iter().next() else {
            bail!("a layer row names no crate: {row:?}");
        };
        rules
            .may_depend_on
            .insert(name.clone(), quoted(deps).into_iter().collect());
        rules.never.insert(name, quoted(never));
    }
    for row in table_rows(doc, EXCEPTIONS)? {
        let [krate, modules, ..] = row.as_slice() else {
            bail!("an exception row needs crate, modules and why: {row:?}");
        };
        let named = quoted(modules);
        let (Some(name), [a, b]) = (quoted(krate).into_iter().next(), named.as_slice()) else {
            bail!("an exception names one crate and two modules: {row:?}");
        };
        let pair = if a < b {
            (a.clone(), b.clone())
        } else {
            (b.clone(), a.clone())
        };
        rules.exceptions.entry(name).or_default().insert(pair);
    }
    Ok(rules)
}

/// One workspace crate as found on disk.
#[derive(Debug)]
pub struct Member {
    pub name: String,
    pub dir: PathBuf,
    /// (section, dependency name).
    pub dependencies: Vec<(String, String)>,
}

pub fn members(root: &Path) -> Result<Vec<Member>> {
    let manifest: toml::Table = std::fs::read_to_string(root.join("Cargo.toml"))?.parse()?;
    let paths = manifest
        .get("workspace")
        .and_then(|w| w.get("members"))
        .and_then(|m| m.as_array())
        .context("Cargo.toml has no [workspace] members")?;
    let mut out = Vec::new();
    for p in paths.iter().filter_map(|p| p.as_str()) {
        let dir = root.join(p);
        let path = dir.join("Cargo.toml");
        let own: toml::Table = std::fs::read_to_string(&path)
            .with_context(|| path.display().to_string())?
            .parse()
            .with_context(|| path.display().to_string())?;
        let name = own
            .get("package")
            .and_then(|p| p.get("name"))
            .and_then(|n| n.as_str())
            .with_context(|| format!("{} has no package name", path.display()))?
            .to_string();
        let mut dependencies = Vec::new();
        for section in ["dependencies", "dev-dependencies", "build-dependencies"] {
            if let Some(deps) = own.get(section).and_then(|d| d.as_table()) {
                dependencies.extend(deps.keys().map(|k| (section.to_string(), k.clone())));
            }
        }
        out.push(Member {
            name,
            dir,
            dependencies,
        });
    }
    Ok(out)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Code without comments and string contents, so that neither a word in a
/// sentence nor a path in an SQL string counts as a use.
pub fn code_only(source: &str) -> String {
    let b = source.as_bytes();
    let mut out = String::with_capacity(source.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                    i += 1;
                }
                i += 2;
            }
            b'r' if (b.get(i + 1) == Some(&b'"') || b.get(i + 1) == Some(&b'#'))
                && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_')) =>
            {
                let mut j = i + 1;
                let mut hashes = 0;
                while b.get(j) == Some(&b'#') {
                    hashes += 1;
                    j += 1;
                }
                if b.get(j) != Some(&b'"') {
                    out.push('r');
                    i += 1;
                    continue;
                }
                j += 1;
                let closing: Vec<u8> = std::iter::once(b'"')
                    .chain(std::iter::repeat_n(b'#', hashes))
                    .collect();
                while j < b.len() && !b[j..].starts_with(&closing) {
                    j += 1;
                }
                out.push_str("\"\"");
                i = j + closing.len();
            }
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                out.push_str("\"\"");
                i += 1;
            }
            b'\'' => {
                // A char literal ('a', '\n', '{'), or a lifetime ('a).
                let rest = &source[i..];
                let len = if let Some(escaped) = rest.strip_prefix("'\\") {
                    escaped[1..].find('\'').map(|p| p + 4)
                } else {
                    rest.char_indices()
                        .nth(2)
                        .filter(|(_, c)| *c == '\'')
                        .map(|(p, _)| p + 1)
                };
                match len {
                    Some(n) => {
                        out.push_str("' '");
                        i += n;
                    }
                    None => {
                        out.push('\'');
                        i += 1;
                    }
                }
            }
            _ => {
                let ch = source[i..].chars().next().expect("inside the text");
                out.push(ch);
                i += ch.len_utf8();
            }
        }
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Top-level modules a file's paths name: `crate::x`, and `super::x` (as
/// many `super`s as reach the crate root).
fn modules_named(code: &str, depth: usize) -> BTreeSet<String> {
    let mut named = BTreeSet::new();
    let mut take = |after: &str| {
        let name: String = after.chars().take_while(|c| is_ident(*c)).collect();
        if !name.is_empty() {
            named.insert(name);
        }
    };
    let starts = |at: usize| at == 0 || !code[..at].ends_with(|c: char| is_ident(c) || c == ':');
    for (at, _) in code.match_indices("crate::") {
        if starts(at) {
            take(&code[at + "crate::".len()..]);
        }
    }
    let up = "super::".repeat(depth);
    if depth > 0 {
        for (at, _) in code.match_indices(&up) {
            if starts(at) && !code[at + up.len()..].starts_with("super::") {
                take(&code[at + up.len()..]);
            }
        }
    }
    named
}

fn mentions(code: &str, what: &str) -> bool {
    // A crate is used through its path (`rusqlite::`) or a `use` of it.
    let path = if what.contains("::") {
        what.to_string()
    } else {
        format!("{}::", what.replace('-', "_"))
    };
    code.match_indices(&path)
        .any(|(at, _)| at == 0 || !code[..at].ends_with(|c: char| is_ident(c) || c == ':'))
}

/// The top-level module a source file belongs to, and how deep it sits
/// (`src/a.rs` and `src/a/mod.rs` are 1, `src/a/b.rs` is 2).
fn module_of(src: &Path, file: &Path) -> Option<(String, usize)> {
    let rel = file.strip_prefix(src).ok()?;
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let first = parts.first()?;
    if parts.len() == 1 {
        let stem = first.strip_suffix(".rs")?;
        return (stem != "lib" && stem != "main").then(|| (stem.to_string(), 1));
    }
    let depth = parts.len() - usize::from(parts.last().is_some_and(|l| l == "mod.rs"));
    Some((first.clone(), depth))
}

/// Every cycle among a crate's modules that the exceptions do not allow.
fn cycles(
    krate: &str,
    edges: &BTreeMap<(String, String), String>,
    allowed: &BTreeSet<(String, String)>,
) -> Vec<Violation> {
    let kept: BTreeMap<&(String, String), &String> = edges
        .iter()
        .filter(|((a, b), _)| {
            let pair = if a < b {
                (a.clone(), b.clone())
            } else {
                (b.clone(), a.clone())
            };
            !allowed.contains(&pair)
        })
        .collect();
    let nodes: BTreeSet<&String> = kept.keys().flat_map(|(a, b)| [a, b]).collect();
    let reaches = |from: &String| {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from];
        while let Some(n) = todo.pop() {
            for (a, b) in kept.keys() {
                if a == n && seen.insert(b) {
                    todo.push(b);
                }
            }
        }
        seen
    };
    let reach: BTreeMap<&String, BTreeSet<&String>> =
        nodes.iter().map(|n| (*n, reaches(n))).collect();
    let mut done = BTreeSet::new();
    let mut out = Vec::new();
    for n in &nodes {
        if done.contains(n) || !reach[n].contains(n) {
            continue;
        }
        let component: Vec<String> = nodes
            .iter()
            .filter(|m| reach[n].contains(*m) && reach[*m].contains(n))
            .map(|m| m.to_string())
            .collect();
        done.extend(nodes.iter().filter(|m| component.contains(m)).copied());
        let inside: Vec<String> = kept
            .iter()
            .filter(|((a, b), _)| component.contains(a) && component.contains(b))
            .map(|((a, b), at)| format!("{a} → {b} ({at})"))
            .collect();
        out.push(Violation::Cycle {
            krate: krate.to_string(),
            modules: component,
            edges: inside,
        });
    }
    out
}

/// Every way the workspace at `root` departs from its ARCHITECTURE.md.
pub fn check(root: &Path) -> Result<Vec<Violation>> {
    let doc =
        std::fs::read_to_string(root.join("ARCHITECTURE.md")).context("reading ARCHITECTURE.md")?;
    let rules = parse_rules(&doc)?;
    let members = members(root)?;
    let names: BTreeSet<String> = members.iter().map(|m| m.name.clone()).collect();
    let mut found = BTreeSet::new();
    for listed in rules.may_depend_on.keys() {
        if !names.contains(listed) {
            found.insert(Violation::Missing {
                krate: listed.clone(),
            });
        }
    }
    for m in &members {
        let Some(allowed) = rules.may_depend_on.get(&m.name) else {
            found.insert(Violation::Unlisted {
                krate: m.name.clone(),
            });
            continue;
        };
        let never = &rules.never[&m.name];
        for (section, dep) in &m.dependencies {
            if names.contains(dep) && !allowed.contains(dep) {
                found.insert(Violation::Dependency {
                    krate: m.name.clone(),
                    on: dep.clone(),
                    section: section.clone(),
                });
            }
            if never.contains(dep) {
                found.insert(Violation::Forbidden {
                    krate: m.name.clone(),
                    what: dep.clone(),
                    at: format!("[{section}] in Cargo.toml"),
                });
            }
        }
        let mut files = Vec::new();
        for dir in ["src", "tests", "benches", "examples", "build.rs"] {
            let path = m.dir.join(dir);
            if path.is_file() {
                files.push(path);
            } else {
                rust_files(&path, &mut files);
            }
        }
        let src = m.dir.join("src");
        let modules: BTreeSet<String> = files
            .iter()
            .filter_map(|f| module_of(&src, f).map(|(name, _)| name))
            .collect();
        let mut edges: BTreeMap<(String, String), String> = BTreeMap::new();
        for file in &files {
            let text = std::fs::read_to_string(file).with_context(|| file.display().to_string())?;
            let code = code_only(&text);
            let shown = file
                .strip_prefix(root)
                .unwrap_or(file)
                .display()
                .to_string();
            for what in never {
                if mentions(&code, what) {
                    found.insert(Violation::Forbidden {
                        krate: m.name.clone(),
                        what: what.clone(),
                        at: shown.clone(),
                    });
                }
            }
            let Some((module, depth)) = module_of(&src, file) else {
                continue;
            };
            for other in modules_named(&code, depth) {
                if other != module && modules.contains(&other) {
                    edges
                        .entry((module.clone(), other))
                        .or_insert_with(|| shown.clone());
                }
            }
        }
        let none = BTreeSet::new();
        let allowed_pairs = rules.exceptions.get(&m.name).unwrap_or(&none);
        found.extend(cycles(&m.name, &edges, allowed_pairs));
    }
    Ok(found.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "# Architecture
<!-- layers:begin -->
| Crate | May depend on | Must never use |
|---|---|---|
| `low` | | `rusqlite`, `std::fs` |
| `high` | `low` | |
<!-- layers:end -->

<!-- module-exceptions:begin -->
| Crate | Modules | Why |
|---|---|---|
| `high` | `a` ↔ `b` | they share a reason |
<!-- module-exceptions:end -->
";

    fn workspace(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let mut all: Vec<(&str, &str)> = vec![
            ("ARCHITECTURE.md", DOC),
            ("Cargo.toml", "[workspace]\nmembers = [\"low\", \"high\"]\n"),
            ("low/Cargo.toml", "[package]\nname = \"low\"\n"),
            (
                "high/Cargo.toml",
                "[package]\nname = \"high\"\n[dependencies]\nlow = { path = \"../low\" }\n",
            ),
            ("low/src/lib.rs", "pub mod text;\n"),
            ("low/src/text.rs", "pub fn fold() {}\n"),
            ("high/src/lib.rs", "mod a;\nmod b;\nmod c;\n"),
            ("high/src/a.rs", "use crate::b::x;\n"),
            ("high/src/b.rs", "use crate::a::y;\n"),
            ("high/src/c/mod.rs", "use super::a::y;\n"),
        ];
        for (path, text) in files {
            all.retain(|(p, _)| p != path);
            all.push((path, text));
        }
        for (path, text) in all {
            let full = dir.path().join(path);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(full, text).unwrap();
        }
        dir
    }

    #[test]
    fn a_workspace_that_keeps_its_layers_passes() {
        let w = workspace(&[]);
        assert_eq!(check(w.path()).unwrap(), vec![]);
    }

    #[test]
    fn a_dependency_on_a_crate_above_fails() {
        let w = workspace(&[(
            "low/Cargo.toml",
            "[package]\nname = \"low\"\n[dev-dependencies]\nhigh = { path = \"../high\" }\n",
        )]);
        assert_eq!(
            check(w.path()).unwrap(),
            vec![Violation::Dependency {
                krate: "low".into(),
                on: "high".into(),
                section: "dev-dependencies".into(),
            }]
        );
    }

    #[test]
    fn two_modules_importing_each_other_fail_unless_named_as_an_exception() {
        let w = workspace(&[
            ("high/src/c/inner.rs", "use crate::a::y;\n"),
            ("high/src/a.rs", "use crate::b::x;\nuse crate::c::z;\n"),
        ]);
        let found = check(w.path()).unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        let Violation::Cycle { modules, .. } = &found[0] else {
            panic!("{found:?}")
        };
        // a ↔ b is allowed; a ↔ c is not, and b comes in only through a.
        assert_eq!(modules, &["a".to_string(), "c".to_string()]);
    }

    #[test]
    fn a_circle_of_three_fails_too() {
        let w = workspace(&[
            ("high/src/a.rs", ""),
            ("high/src/b.rs", "use crate::c::x;\n"),
            ("high/src/c/mod.rs", "use crate::d::x;\n"),
            ("high/src/d.rs", "use crate::b::x;\n"),
        ]);
        let found = check(w.path()).unwrap();
        let [Violation::Cycle { modules, .. }] = found.as_slice() else {
            panic!("{found:?}")
        };
        assert_eq!(modules, &["b", "c", "d"]);
    }

    #[test]
    fn what_a_crate_must_never_use_is_found_in_code_not_in_comments_or_strings() {
        let w = workspace(&[(
            "low/src/text.rs",
            "// std::fs would be wrong here\nconst SQL: &str = \"rusqlite::x\";\npub fn read() { let _ = std::fs::read(\"x\"); }\n",
        )]);
        assert_eq!(
            check(w.path()).unwrap(),
            vec![Violation::Forbidden {
                krate: "low".into(),
                what: "std::fs".into(),
                at: "low/src/text.rs".into(),
            }]
        );
    }

    #[test]
    fn a_crate_missing_from_the_table_fails() {
        let w = workspace(&[
            (
                "Cargo.toml",
                "[workspace]\nmembers = [\"low\", \"high\", \"new\"]\n",
            ),
            ("new/Cargo.toml", "[package]\nname = \"new\"\n"),
            ("new/src/lib.rs", ""),
        ]);
        assert_eq!(
            check(w.path()).unwrap(),
            vec![Violation::Unlisted {
                krate: "new".into()
            }]
        );
    }

    #[test]
    fn comments_strings_and_chars_are_blanked() {
        let code =
            code_only("let a = '{'; // crate::x\nlet s = r#\"crate::y\"#; /* crate::z */ crate::w");
        assert!(
            !code.contains("crate::x") && !code.contains("crate::y") && !code.contains("crate::z")
        );
        assert!(code.contains("crate::w"));
        assert_eq!(modules_named(&code, 1), BTreeSet::from(["w".to_string()]));
    }
}
