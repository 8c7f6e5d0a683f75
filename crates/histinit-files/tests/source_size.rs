//! Library source files stay under 500 lines, each a module with one job (issue 23; the
//! page's modules have the same check in tests/e2e/run.mjs). Counted: every `.rs` file
//! under `crates/*/src`. Not counted: test modules in their own files (`tests.rs`, or
//! anything under a `tests/` folder). No source file is generated into `src` (build
//! scripts write to `OUT_DIR`).

use std::path::{Path, PathBuf};

const MAX_LINES: usize = 500;

/// Files not yet split, each at the length it had when this check came: they may only
/// shrink, and leave this list once they are within the limit.
const NOT_YET_SPLIT: [(&str, usize); 7] = [
    ("crates/histinit-core/src/checkpoint.rs", 859),
    ("crates/histinit-core/src/link.rs", 1240),
    ("crates/histinit-core/src/stats.rs", 1165),
    ("crates/histinit-histogram/src/family.rs", 617),
    ("crates/histinit-histogram/src/format.rs", 1082),
    // These two grew when the resumable runs and the run-as-teacher export merged (round
    // three, issue 26); the next split of the web crate takes them under 500.
    ("crates/histinit-web/src/api.rs", 632),
    ("crates/histinit-web/src/session.rs", 1150),
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            if path.file_name().is_some_and(|name| name != "tests") {
                rust_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs")
            && path.file_name().is_some_and(|name| name != "tests.rs")
        {
            out.push(path);
        }
    }
}

/// `path` counted as a library source file, relative to the workspace root.
fn library_sources(root: &Path) -> Vec<(String, usize)> {
    let mut files = Vec::new();
    for krate in std::fs::read_dir(root.join("crates")).unwrap() {
        let src = krate.unwrap().path().join("src");
        if src.is_dir() {
            rust_files(&src, &mut files);
        }
    }
    files
        .into_iter()
        .map(|path| {
            let lines = std::fs::read_to_string(&path).unwrap().lines().count();
            let name = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            (name, lines)
        })
        .collect()
}

#[test]
fn no_library_source_file_is_over_500_lines() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let sources = library_sources(&root);
    assert!(
        sources.len() > 50,
        "only {} source files found",
        sources.len()
    );
    let mut problems = Vec::new();
    for (name, lines) in &sources {
        match NOT_YET_SPLIT.iter().find(|(listed, _)| listed == name) {
            None if *lines > MAX_LINES => {
                problems.push(format!("{name}: {lines} lines (at most {MAX_LINES})"))
            }
            Some((_, was)) if lines > was => problems.push(format!(
                "{name}: {lines} lines, grown from {was}: split it rather than add to it"
            )),
            Some(_) if *lines <= MAX_LINES => problems.push(format!(
                "{name}: {lines} lines, within the limit now: take it off NOT_YET_SPLIT"
            )),
            _ => {}
        }
    }
    for (listed, _) in NOT_YET_SPLIT {
        if !sources.iter().any(|(name, _)| name == listed) {
            problems.push(format!("{listed} is gone: take it off NOT_YET_SPLIT"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
