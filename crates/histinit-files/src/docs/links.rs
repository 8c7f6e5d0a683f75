//! Link and image targets: what each becomes on the rendered page, and relative paths
//! resolved against the root.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

/// What a link or image target becomes.
pub(super) enum Target {
    /// Kept, or rewritten, as this URL.
    Url(String),
    /// Dropped: the text stays, the link goes (the reason is a problem).
    Drop(String),
}

/// A link's target from `source` (relative to the root): see the module's rules.
pub(super) fn target(
    url: &str,
    source: &Path,
    pages: &BTreeSet<PathBuf>,
    references: &mut BTreeSet<PathBuf>,
) -> Target {
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("https://") || lower.starts_with("http://") || lower.starts_with("mailto:")
    {
        return Target::Url(url.into());
    }
    if url.starts_with('#') {
        return Target::Url(url.into());
    }
    // A scheme (javascript:, data:, file:, ...): a colon before any path separator.
    if url
        .split(['/', '?', '#'])
        .next()
        .unwrap_or("")
        .contains(':')
    {
        return Target::Drop(format!("'{url}' is not an http(s) link"));
    }
    if url.starts_with('/') || url.contains('\\') {
        return Target::Drop(format!(
            "'{url}' is not relative (the site may live under a sub-path)"
        ));
    }
    let split = url.find(['?', '#']).unwrap_or(url.len());
    let (path, suffix) = url.split_at(split);
    let Some(resolved) = resolve_relative(source, path) else {
        return Target::Drop(format!("'{url}' leads out of the repository"));
    };
    if pages.contains(&resolved) {
        let html = path
            .strip_suffix(".md")
            .map(|stem| format!("{stem}.html"))
            .unwrap_or_else(|| path.into());
        return Target::Url(format!("{html}{suffix}"));
    }
    references.insert(resolved);
    Target::Url(url.into())
}

/// `path` (relative, `/`-separated) seen from the file `source`, as a normalized path
/// relative to the root; `None` if it climbs above the root. An empty path is `source`.
pub fn resolve_relative(source: &Path, path: &str) -> Option<PathBuf> {
    if path.is_empty() {
        return Some(source.into());
    }
    let mut parts: Vec<String> = source
        .parent()
        .unwrap_or(Path::new(""))
        .components()
        .filter_map(|c| match c {
            Component::Normal(part) => Some(part.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            part => parts.push(part.into()),
        }
    }
    Some(parts.iter().collect())
}
