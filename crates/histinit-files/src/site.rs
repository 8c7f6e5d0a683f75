//! `histinit site --out DIR`: the playground as a self-contained static folder that any
//! static host serves as it is (`make site`, and the GitHub Pages workflow):
//!
//! ```text
//! DIR/index.html          the page, with the CSP also as a <meta> element
//! DIR/www/*.js, *.css     the page's scripts and stylesheets
//! DIR/www/pkg/            the wasm-bindgen module (--pkg, default www/pkg)
//! DIR/www/histograms/     index.json and the files it lists
//! DIR/docs/**.html        the rendered findings and reports, with their charts
//! DIR/_headers            the response headers, for hosts that read that file
//! ```
//!
//! The headers it needs: `Content-Security-Policy` (the one `histinit serve` sends), and
//! `.wasm` served as `application/wasm` (for streaming compilation). `_headers` (Netlify
//! and Cloudflare Pages read it) sets both, with `nosniff` and
//! `Cross-Origin-Resource-Policy`; on hosts that take no headers from the site (GitHub
//! Pages) every page carries the same policy as a `<meta>` element, less
//! `frame-ancestors`, which only a header can set.
//!
//! Framing follows `histinit serve`'s rule ([`policy_for_path`]) as far as `_headers`
//! can state it: its rules match the path, never the query, so the page itself (`/`,
//! `/index.html`) may be framed there whatever its query (an embed link must work),
//! where `serve` lets it be framed only on an embed link; every other file may not be.
//! The rules do not overlap (one per top-level file or folder, no `/*` with the policy):
//! hosts combine overlapping rules differently (Cloudflare Pages sends both values,
//! which for a policy means both apply; Netlify keeps one), so `frame-ancestors 'none'`
//! for everything would win over the page's rule on one host and not on another.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::docs::{self, DocsError};
use crate::fs::FileError;
use crate::serve::{
    content_type, policy_for_path, CROSS_ORIGIN_RESOURCE_POLICY, META_POLICY, PAGE_PATHS,
};
use crate::shipped::ShippedIndex;

/// Marks a folder this command wrote, so that a rerun may replace it (and nothing else).
const MARKER: &str = ".histinit-site";
/// The element the page's `<meta>` CSP is written after.
const CHARSET: &str = "<meta charset=\"utf-8\">";
/// The wasm-bindgen files the page imports (`www/app.js`).
const MODULE_FILES: [&str; 2] = ["histinit_web.js", "histinit_web_bg.wasm"];

#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error(
        "{dir} has no {file}: build the module first (`make web` for the shipped one, \
         or pass --pkg DIR)"
    )]
    NoModule { dir: PathBuf, file: &'static str },
    #[error("{0} exists and was not written by `histinit site`: remove it or pick another --out")]
    NotOurs(PathBuf),
    #[error("{path}: {reason}")]
    Invalid { path: PathBuf, reason: String },
    #[error("the docs link to files the site does not ship: {0}")]
    NotShipped(String),
    #[error(transparent)]
    Docs(#[from] DocsError),
}

/// What was written, for the command's summary line.
#[derive(Debug)]
pub struct Summary {
    pub files: usize,
    pub bytes: u64,
    pub pages: usize,
}

fn read(path: &Path) -> Result<Vec<u8>, SiteError> {
    Ok(crate::fs::read(path)?)
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), SiteError> {
    Ok(crate::fs::write_file(path, bytes)?)
}

fn copy(from: &Path, to: &Path) -> Result<(), SiteError> {
    write(to, &read(from)?)
}

/// The `_headers` file for a site whose top level holds `entries` (file names, and
/// folder names ending in '/'): one rule for each page path and each other entry, with
/// the policy [`policy_for_path`] gives it, nosniff and CORP; wasm's type on `.wasm`.
pub fn headers_file(entries: &BTreeSet<String>) -> String {
    let mut text = String::from(
        "# Response headers for static hosts that read _headers (Netlify, Cloudflare Pages);\n\
         # written by `histinit site` from the policy `histinit serve` sends. A rule sees the\n\
         # path, not the query: the page itself may be framed here on any link, where\n\
         # `histinit serve` lets it only on an embed link (embed=1); nothing else may be.\n\
         # The rules do not overlap: hosts combine overlapping ones differently.\n",
    );
    let others = entries
        .iter()
        .filter(|entry| !PAGE_PATHS.contains(&format!("/{entry}").as_str()))
        .map(|entry| match entry.strip_suffix('/') {
            Some(folder) => format!("/{folder}/*"),
            None => format!("/{entry}"),
        });
    for path in PAGE_PATHS.iter().map(|p| p.to_string()).chain(others) {
        text.push_str(&format!(
            "{path}\n  Content-Security-Policy: {}\n  X-Content-Type-Options: nosniff\n  \
             Cross-Origin-Resource-Policy: {CROSS_ORIGIN_RESOURCE_POLICY}\n",
            policy_for_path(&path)
        ));
    }
    text.push_str(&format!(
        "/*.wasm\n  Content-Type: {}\n",
        content_type(Path::new("x.wasm"))
    ));
    text
}

/// The top level of `files` (relative paths): file names, and folder names with '/'.
fn top_level(files: &[PathBuf]) -> BTreeSet<String> {
    files
        .iter()
        .filter_map(|file| {
            let mut parts = file.components();
            let first = parts.next()?.as_os_str().to_string_lossy().into_owned();
            Some(match parts.next() {
                Some(_) => format!("{first}/"),
                None => first,
            })
        })
        .collect()
}

/// The page with its CSP as a `<meta>` element after the charset (hosts without headers).
pub fn page_with_meta_policy(index: &str) -> Option<String> {
    let at = index.find(CHARSET)? + CHARSET.len();
    let meta =
        format!("\n  <meta http-equiv=\"Content-Security-Policy\" content=\"{META_POLICY}\">");
    Some(format!("{}{meta}{}", &index[..at], &index[at..]))
}

/// Empties `out` if this command wrote it before (or it is empty), else refuses.
fn prepare(out: &Path) -> Result<(), SiteError> {
    if out.exists() {
        let empty = std::fs::read_dir(out)
            .map_err(|source| {
                SiteError::File(FileError::Read {
                    path: out.into(),
                    source,
                })
            })?
            .next()
            .is_none();
        if !empty && !out.join(MARKER).is_file() {
            return Err(SiteError::NotOurs(out.into()));
        }
        std::fs::remove_dir_all(out).map_err(|source| {
            SiteError::File(FileError::Write {
                path: out.into(),
                source,
            })
        })?;
    }
    write(
        &out.join(MARKER),
        b"written by histinit site; rerunning it replaces this folder\n",
    )
}

/// Every file under `dir` (not hidden), relative to it.
fn files_under(dir: &Path) -> Result<Vec<PathBuf>, SiteError> {
    let mut found = Vec::new();
    let mut pending = vec![PathBuf::new()];
    while let Some(relative) = pending.pop() {
        let here = dir.join(&relative);
        let entries = std::fs::read_dir(&here).map_err(|source| {
            SiteError::File(FileError::Read {
                path: here.clone(),
                source,
            })
        })?;
        for entry in entries {
            let entry = entry.map_err(|source| {
                SiteError::File(FileError::Read {
                    path: here.clone(),
                    source,
                })
            })?;
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            let path = relative.join(entry.file_name());
            if entry.path().is_dir() {
                pending.push(path);
            } else {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

/// Writes the site for the repository at `root` into `out`, with the module from `pkg`.
pub fn build(root: &Path, out: &Path, pkg: &Path) -> Result<Summary, SiteError> {
    for file in MODULE_FILES {
        if !pkg.join(file).is_file() {
            return Err(SiteError::NoModule {
                dir: pkg.into(),
                file,
            });
        }
    }
    let index_path = root.join("index.html");
    let index = String::from_utf8_lossy(&read(&index_path)?).into_owned();
    let index = page_with_meta_policy(&index).ok_or_else(|| SiteError::Invalid {
        path: index_path.clone(),
        reason: format!("no {CHARSET} to put the CSP <meta> after"),
    })?;
    prepare(out)?;
    write(&out.join("index.html"), index.as_bytes())?;

    // The page's own files: www/'s top level (scripts, stylesheets).
    let www = root.join("www");
    for file in files_under(&www)? {
        if file.components().count() == 1 {
            copy(&www.join(&file), &out.join("www").join(&file))?;
        }
    }
    // The shipped histograms: the index and the files it lists.
    let shipped = www.join("histograms");
    let index_json = shipped.join("index.json");
    let listed: ShippedIndex =
        serde_json::from_slice(&read(&index_json)?).map_err(|err| SiteError::Invalid {
            path: index_json.clone(),
            reason: err.to_string(),
        })?;
    copy(&index_json, &out.join("www/histograms/index.json"))?;
    for file in listed.sources.iter().flat_map(|source| source.files()) {
        if file.contains(['/', '\\']) || file.starts_with('.') {
            return Err(SiteError::Invalid {
                path: index_json.clone(),
                reason: format!("'{file}' is not a file name in the same folder"),
            });
        }
        copy(&shipped.join(file), &out.join("www/histograms").join(file))?;
    }
    // The module, whatever wasm-bindgen wrote beside it (snippets/ included).
    for file in files_under(pkg)? {
        copy(&pkg.join(&file), &out.join("www/pkg").join(&file))?;
    }

    // The docs, and the files they show or link to (charts beside the reports).
    let (pages, references) = docs::render_all(root, out)?;
    let mut missing = BTreeSet::new();
    for reference in references {
        if out.join(&reference).is_file() {
            continue;
        }
        if reference.starts_with(docs::DOCS_DIR) {
            copy(&root.join(&reference), &out.join(&reference))?;
        } else {
            missing.insert(reference.display().to_string());
        }
    }
    if !missing.is_empty() {
        return Err(SiteError::NotShipped(
            missing.into_iter().collect::<Vec<_>>().join(", "),
        ));
    }
    let entries = top_level(&files_under(out)?);
    write(&out.join("_headers"), headers_file(&entries).as_bytes())?;

    let files = files_under(out)?;
    let bytes = files
        .iter()
        .map(|file| out.join(file).metadata().map(|m| m.len()).unwrap_or(0))
        .sum();
    Ok(Summary {
        files: files.len(),
        bytes,
        pages,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_frame_only_the_page_and_never_overlap() {
        use crate::serve::{CONTENT_SECURITY_POLICY, EMBED_CONTENT_SECURITY_POLICY};
        let files = [
            "index.html",
            "www/app.js",
            "www/pkg/x.wasm",
            "docs/FINDINGS.html",
        ]
        .map(PathBuf::from);
        let entries = top_level(&files);
        assert_eq!(
            entries.iter().map(String::as_str).collect::<Vec<_>>(),
            ["docs/", "index.html", "www/"]
        );
        let headers = headers_file(&entries);
        let rule = |path: &str, policy: &str| {
            format!(
                "\n{path}\n  Content-Security-Policy: {policy}\n  X-Content-Type-Options: \
                 nosniff\n  Cross-Origin-Resource-Policy: same-origin\n"
            )
        };
        for page in ["/", "/index.html"] {
            assert!(
                headers.contains(&rule(page, EMBED_CONTENT_SECURITY_POLICY)),
                "{page}"
            );
        }
        for other in ["/www/*", "/docs/*"] {
            assert!(
                headers.contains(&rule(other, CONTENT_SECURITY_POLICY)),
                "{other}"
            );
        }
        // One policy per path: no rule with a policy covers another's path.
        let with_policy: Vec<&str> = headers
            .lines()
            .zip(headers.lines().skip(1))
            .filter(|(_, next)| next.contains("Content-Security-Policy"))
            .map(|(path, _)| path)
            .collect();
        assert_eq!(with_policy, ["/", "/index.html", "/docs/*", "/www/*"]);
        assert!(headers.contains("\n/*.wasm\n  Content-Type: application/wasm\n"));
    }

    #[test]
    fn the_page_gets_the_policy_as_meta_after_its_charset() {
        let page = "<head>\n  <meta charset=\"utf-8\">\n  <title>x</title>";
        let with = page_with_meta_policy(page).unwrap();
        assert_eq!(
            with,
            format!(
                "<head>\n  <meta charset=\"utf-8\">\n  <meta http-equiv=\"Content-Security-Policy\" \
                 content=\"{META_POLICY}\">\n  <title>x</title>"
            )
        );
        assert_eq!(page_with_meta_policy("<head></head>"), None);
        // The repository's page has the anchor.
        let index =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../index.html"))
                .unwrap();
        assert!(page_with_meta_policy(&index).is_some());
    }

    #[test]
    fn a_folder_it_did_not_write_is_not_replaced() {
        let dir =
            std::env::temp_dir().join(format!("histinit-site-prepare-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("precious.txt"), "keep").unwrap();
        assert!(matches!(prepare(&dir), Err(SiteError::NotOurs(_))));
        assert!(dir.join("precious.txt").is_file());
        std::fs::remove_file(dir.join("precious.txt")).unwrap();
        prepare(&dir).unwrap(); // empty: taken
        std::fs::write(dir.join("old.html"), "old").unwrap();
        prepare(&dir).unwrap(); // marked: replaced
        assert!(!dir.join("old.html").exists() && dir.join(MARKER).is_file());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
