//! `histinit docs`: the study's Markdown (every `*.md` under `docs/`) rendered into HTML
//! pages, each written beside its Markdown (`docs/FINDINGS.md` → `docs/FINDINGS.html`),
//! so that the relative links the Markdown already has (charts beside a report, the
//! playground links `../../../index.html?...`) work unchanged in the served repository
//! and in the published site (`site.rs`), which keeps the same layout.
//!
//! What a page may hold, for the page's CSP (no inline script or style):
//! - raw HTML in the Markdown is shown as text, never passed through;
//! - links keep only http(s)/mailto URLs, fragments and relative paths; a link to another
//!   rendered Markdown file points at its `.html`; any other relative target must be a
//!   file that exists (it is listed in [`Rendered::references`] so the site can ship it);
//! - table alignment becomes a class (a `style` attribute would break the CSP);
//! - the stylesheet is a file, `www/docs.css`.
//!
//! The `markdown` crate parses (CommonMark with GitHub's tables, footnotes, task lists,
//! strikethrough and autolinks) into a syntax tree, which [`Writer`] writes out.

mod links;
mod writer;

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use markdown::mdast::Node;

use crate::fs::FileError;
use crate::serve::META_POLICY;
pub use links::resolve_relative;
use writer::Writer;

/// The folder whose Markdown is rendered, relative to the repository root.
pub const DOCS_DIR: &str = "docs";
/// The pages' stylesheet, relative to the repository root.
pub const STYLESHEET: &str = "www/docs.css";
/// The playground page, relative to the repository root.
const PLAYGROUND: &str = "index.html";
/// Links in every page's header, when that page is rendered: (text, Markdown source).
const NAV: [(&str, &str); 2] = [
    ("Findings", "docs/FINDINGS.md"),
    ("All results", "docs/results/README.md"),
];

#[derive(Debug, thiserror::Error)]
pub enum DocsError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error("{page}: {problems}", problems = .problems.join("; "))]
    Links {
        page: PathBuf,
        problems: Vec<String>,
    },
    #[error("{path}: {reason} (a published study's files, read for the page's spreads)")]
    Study { path: PathBuf, reason: String },
}

/// One page rendered.
#[derive(Debug)]
pub struct Rendered {
    /// The whole HTML document.
    pub html: String,
    /// Files the page links to or shows, other than rendered pages (charts, the
    /// playground), relative to the root, without query or fragment.
    pub references: BTreeSet<PathBuf>,
    /// Links that were dropped (their text kept), each with why.
    pub problems: Vec<String>,
}

/// Every Markdown file under `root/docs`, relative to `root`, sorted.
pub fn markdown_files(root: &Path) -> Result<BTreeSet<PathBuf>, DocsError> {
    let mut found = BTreeSet::new();
    let mut pending = vec![PathBuf::from(DOCS_DIR)];
    while let Some(dir) = pending.pop() {
        let entries = std::fs::read_dir(root.join(&dir)).map_err(|source| {
            DocsError::File(FileError::Read {
                path: root.join(&dir),
                source,
            })
        })?;
        for entry in entries {
            let entry = entry.map_err(|source| {
                DocsError::File(FileError::Read {
                    path: root.join(&dir),
                    source,
                })
            })?;
            let name = entry.file_name();
            if name.to_string_lossy().starts_with('.') {
                continue;
            }
            let path = dir.join(&name);
            let kind = entry.file_type().map_err(|source| {
                DocsError::File(FileError::Read {
                    path: root.join(&path),
                    source,
                })
            })?;
            if kind.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|ext| ext == "md") {
                found.insert(path);
            }
        }
    }
    Ok(found)
}

/// The page a Markdown file becomes (`a/b.md` → `a/b.html`).
pub fn html_path(markdown: &Path) -> PathBuf {
    markdown.with_extension("html")
}

/// Renders every Markdown file under `root/docs` into `out` (the same relative paths,
/// `.html`); `out` may be `root` itself. Fails, naming each, on links that lead nowhere.
/// Returns the pages written and the files they refer to (relative to the root).
pub fn render_all(root: &Path, out: &Path) -> Result<(usize, BTreeSet<PathBuf>), DocsError> {
    let pages = markdown_files(root)?;
    let mut references = BTreeSet::new();
    for source in &pages {
        let path = root.join(source);
        let markdown = std::fs::read_to_string(&path).map_err(|source| {
            DocsError::File(FileError::Read {
                path: path.clone(),
                source,
            })
        })?;
        let mut rendered = render_page(&markdown, source, &pages);
        for reference in &rendered.references {
            if !root.join(reference).is_file() {
                rendered.problems.push(format!(
                    "links to {}, which does not exist",
                    reference.display()
                ));
            }
        }
        if !rendered.problems.is_empty() {
            return Err(DocsError::Links {
                page: source.clone(),
                problems: rendered.problems,
            });
        }
        let target = out.join(html_path(source));
        crate::fs::write_file(&target, rendered.html.as_bytes())?;
        references.extend(rendered.references);
    }
    // The studies' spreads, for the page, beside their rendered reports.
    crate::spreads::write(root, out)?;
    Ok((pages.len(), references))
}

/// `source` (relative to the root) rendered as a whole HTML page. `pages` are the Markdown
/// files being rendered (links to them are rewritten to their `.html`).
pub fn render_page(markdown: &str, source: &Path, pages: &BTreeSet<PathBuf>) -> Rendered {
    // CommonMark with GitHub's extensions (tables, footnotes, strikethrough, task lists,
    // autolinks). Without MDX, parsing cannot fail; should it, the text is shown as text.
    let tree = markdown::to_mdast(markdown, &markdown::ParseOptions::gfm()).unwrap_or_else(|_| {
        Node::Code(markdown::mdast::Code {
            value: markdown.into(),
            position: None,
            lang: None,
            meta: None,
        })
    });
    let mut writer = Writer {
        source,
        pages,
        definitions: HashMap::new(),
        used_ids: HashMap::new(),
        title: None,
        references: BTreeSet::new(),
        problems: Vec::new(),
        html: String::new(),
    };
    writer.collect_definitions(&tree);
    writer.block(&tree, false);
    let title = writer.title.clone().unwrap_or_else(|| {
        source
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into()
    });
    Rendered {
        html: page_html(&title, &writer.html, source, pages),
        references: writer.references,
        problems: writer.problems,
    }
}

/// Text for an HTML attribute value or element content.
pub(super) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The document around a page's body: the CSP as a `<meta>` (for hosts that send no
/// header), the stylesheet, a header with the playground and the other pages.
fn page_html(title: &str, body: &str, source: &Path, pages: &BTreeSet<PathBuf>) -> String {
    let depth = source.components().count().saturating_sub(1);
    let up = "../".repeat(depth);
    let mut nav = format!("<a href=\"{up}{PLAYGROUND}\">histinit playground</a>");
    for (text, markdown) in NAV {
        let markdown = Path::new(markdown);
        if pages.contains(markdown) && markdown != source {
            let href = format!("{up}{}", html_path(markdown).to_string_lossy());
            nav.push_str(&format!(" <a href=\"{}\">{text}</a>", escape(&href)));
        }
    }
    let source_name = escape(&source.to_string_lossy());
    format!(
        "<!doctype html>
<html lang=\"en\">
<head>
<meta charset=\"utf-8\">
<meta http-equiv=\"Content-Security-Policy\" content=\"{policy}\">
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">
<title>{title} · histinit</title>
<link rel=\"icon\" href=\"data:,\">
<link rel=\"stylesheet\" href=\"{up}{STYLESHEET}\">
</head>
<body>
<header><nav>{nav}</nav></header>
<main>
{body}</main>
<footer><p>Rendered from <code>{source_name}</code> in the histinit repository.</p></footer>
</body>
</html>
",
        policy = escape(META_POLICY),
        title = escape(title),
    )
}

#[cfg(test)]
mod tests;
