//! What the page says made it (its footer, every export's provenance): the commit this
//! module was built from, the Burn and wgpu versions in Cargo.lock, and the citation in
//! CITATION.cff. No dependencies: git is asked if it is there (a fresh clone, CI), and
//! the commit is "unknown" where it is not (a source archive), unless HISTINIT_COMMIT
//! names it.

use std::path::{Path, PathBuf};
use std::process::Command;

fn git(root: &Path, args: &[&str]) -> Option<String> {
    let output = Command::new("git")
        .args(args)
        .current_dir(root)
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout).trim().to_string();
    (output.status.success() && !text.is_empty()).then_some(text)
}

/// Re-runs this script when `git rev-parse --git-path <path>` changes (if it exists:
/// a missing file would re-run it on every build).
fn watch_git_path(root: &Path, path: &str) {
    if let Some(found) = git(root, &["rev-parse", "--git-path", path]) {
        let found = root.join(found);
        if found.exists() {
            println!("cargo:rerun-if-changed={}", found.display());
        }
    }
}

/// The version of the package `name` in Cargo.lock (its first entry).
fn locked_version(lock: &str, name: &str) -> String {
    let wanted = format!("name = \"{name}\"");
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == wanted {
            if let Some(version) = lines.next().and_then(|l| l.strip_prefix("version = ")) {
                return version.trim_matches('"').to_string();
            }
        }
    }
    "unknown".to_string()
}

/// A top-level `key: "value"` of CITATION.cff, or the first `name:` of its authors.
fn cff_value(cff: &str, key: &str) -> String {
    let prefix = format!("{key}:");
    let value = if key == "author" {
        cff.lines()
            .skip_while(|line| !line.starts_with("authors:"))
            .find_map(|line| line.trim().trim_start_matches("- ").strip_prefix("name:"))
    } else {
        cff.lines().find_map(|line| line.strip_prefix(&prefix))
    };
    value
        .map(|v| v.trim().trim_matches('"').to_string())
        .unwrap_or_default()
}

fn main() {
    // The repository root relative to this package's folder (a build script runs there),
    // so that what it reads and the paths it asks cargo to watch are this checkout's:
    // cargo shares one build-script unit between checkouts of the workspace in one target
    // directory (its hash does not depend on the folder), and a path fixed when the
    // script was compiled (`env!("CARGO_MANIFEST_DIR")`) named another checkout, or one
    // since deleted (its commit, or "unknown" versions).
    let root: PathBuf = PathBuf::from("../..");
    println!("cargo:rerun-if-env-changed=HISTINIT_COMMIT");
    // Only this repository's git: a source archive unpacked inside another repository
    // must not take that one's commit.
    let own = git(&root, &["rev-parse", "--show-toplevel"])
        .and_then(|top| std::fs::canonicalize(top).ok())
        .zip(std::fs::canonicalize(&root).ok())
        .is_some_and(|(top, root)| top == root);
    let commit = std::env::var("HISTINIT_COMMIT")
        .ok()
        .filter(|commit| !commit.trim().is_empty())
        .or_else(|| {
            own.then(|| git(&root, &["rev-parse", "--short=7", "HEAD"]))
                .flatten()
        })
        .unwrap_or_else(|| "unknown".to_string());
    // A new commit (HEAD moves, or the branch it names does) re-runs this script.
    if own {
        watch_git_path(&root, "HEAD");
        if let Some(branch) = git(&root, &["symbolic-ref", "-q", "HEAD"]) {
            watch_git_path(&root, &branch);
        }
        watch_git_path(&root, "packed-refs");
    }
    println!("cargo:rustc-env=HISTINIT_COMMIT={commit}");

    let lock_path = root.join("Cargo.lock");
    println!("cargo:rerun-if-changed={}", lock_path.display());
    let lock = std::fs::read_to_string(&lock_path).unwrap_or_default();
    for (name, var) in [
        ("burn", "HISTINIT_BURN_VERSION"),
        ("wgpu", "HISTINIT_WGPU_VERSION"),
    ] {
        println!("cargo:rustc-env={var}={}", locked_version(&lock, name));
    }

    let cff_path = root.join("CITATION.cff");
    println!("cargo:rerun-if-changed={}", cff_path.display());
    let cff = std::fs::read_to_string(&cff_path).unwrap_or_default();
    for (key, var) in [
        ("title", "HISTINIT_CITE_TITLE"),
        ("author", "HISTINIT_CITE_AUTHOR"),
        ("version", "HISTINIT_CITE_VERSION"),
        ("date-released", "HISTINIT_CITE_DATE"),
    ] {
        println!("cargo:rustc-env={var}={}", cff_value(&cff, key));
    }
}
