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

use std::collections::{BTreeSet, HashMap};
use std::path::{Component, Path, PathBuf};

use markdown::mdast::{AlignKind, Node};

use crate::fs::FileError;
use crate::serve::META_POLICY;

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

/// Writes a Markdown tree as HTML: every text escaped, raw HTML as text, links checked.
struct Writer<'a> {
    source: &'a Path,
    pages: &'a BTreeSet<PathBuf>,
    /// Link reference definitions (`[id]: url "title"`) by identifier.
    definitions: HashMap<String, (String, Option<String>)>,
    used_ids: HashMap<String, usize>,
    /// The first level-1 heading's text.
    title: Option<String>,
    references: BTreeSet<PathBuf>,
    problems: Vec<String>,
    html: String,
}

impl Writer<'_> {
    fn collect_definitions(&mut self, node: &Node) {
        if let Node::Definition(definition) = node {
            self.definitions.insert(
                definition.identifier.to_lowercase(),
                (definition.url.clone(), definition.title.clone()),
            );
        }
        for child in node.children().into_iter().flatten() {
            self.collect_definitions(child);
        }
    }

    fn text(&mut self, text: &str) {
        self.html.push_str(&escape(text));
    }

    fn blocks(&mut self, children: &[Node], tight: bool) {
        for child in children {
            self.block(child, tight);
        }
    }

    fn inlines(&mut self, children: &[Node]) {
        for child in children {
            self.inline(child);
        }
    }

    /// A block (flow) node; in a tight list item a paragraph has no `<p>`.
    fn block(&mut self, node: &Node, tight: bool) {
        match node {
            Node::Root(root) => self.blocks(&root.children, false),
            Node::Paragraph(paragraph) if tight => self.inlines(&paragraph.children),
            Node::Paragraph(paragraph) => {
                self.html.push_str("<p>");
                self.inlines(&paragraph.children);
                self.html.push_str("</p>\n");
            }
            Node::Heading(heading) => {
                let text = node.to_string();
                let id = self.heading_id(&text);
                if heading.depth == 1 && self.title.is_none() {
                    self.title = Some(text);
                }
                let level = heading.depth.clamp(1, 6);
                self.html
                    .push_str(&format!("<h{level} id=\"{}\">", escape(&id)));
                self.inlines(&heading.children);
                self.html.push_str(&format!("</h{level}>\n"));
            }
            Node::ThematicBreak(_) => self.html.push_str("<hr>\n"),
            Node::Blockquote(quote) => {
                self.html.push_str("<blockquote>\n");
                self.blocks(&quote.children, false);
                self.html.push_str("</blockquote>\n");
            }
            // Focusable: a long line scrolls, and the keyboard must reach it.
            Node::Code(code) => {
                match &code.lang {
                    Some(lang) => self.html.push_str(&format!(
                        "<pre tabindex=\"0\"><code class=\"language-{}\">",
                        escape(lang)
                    )),
                    None => self.html.push_str("<pre tabindex=\"0\"><code>"),
                }
                self.text(&code.value);
                self.html.push_str("</code></pre>\n");
            }
            Node::List(list) => {
                let tight = !list.spread
                    && !list
                        .children
                        .iter()
                        .any(|item| matches!(item, Node::ListItem(item) if item.spread));
                let tag = if list.ordered { "ol" } else { "ul" };
                match list.start {
                    Some(start) if list.ordered && start != 1 => {
                        self.html.push_str(&format!("<ol start=\"{start}\">\n"))
                    }
                    _ => self.html.push_str(&format!("<{tag}>\n")),
                }
                for item in &list.children {
                    self.html.push_str("<li>");
                    if let Node::ListItem(item) = item {
                        match item.checked {
                            Some(true) => self
                                .html
                                .push_str("<input type=\"checkbox\" disabled checked> "),
                            Some(false) => {
                                self.html.push_str("<input type=\"checkbox\" disabled> ")
                            }
                            None => {}
                        }
                        self.blocks(&item.children, tight);
                    } else {
                        self.block(item, tight);
                    }
                    self.html.push_str("</li>\n");
                }
                self.html.push_str(&format!("</{tag}>\n"));
            }
            Node::Table(table) => self.table(table),
            Node::FootnoteDefinition(footnote) => {
                self.html.push_str(&format!(
                    "<div class=\"footnote\" id=\"footnote-{}\"><sup>{}</sup>\n",
                    escape(&footnote.identifier),
                    escape(footnote.label.as_deref().unwrap_or(&footnote.identifier))
                ));
                self.blocks(&footnote.children, false);
                self.html.push_str("</div>\n");
            }
            // Raw HTML is shown as the text it is.
            Node::Html(html) => {
                self.html.push_str("<p>");
                self.text(&html.value);
                self.html.push_str("</p>\n");
            }
            Node::Definition(_) => {}
            // Anything else at block level (front matter, math, ...): its text.
            other => {
                self.html.push_str("<p>");
                self.inline(other);
                self.html.push_str("</p>\n");
            }
        }
    }

    fn inline(&mut self, node: &Node) {
        match node {
            Node::Text(text) => self.text(&text.value),
            Node::Emphasis(node) => self.wrap("em", &node.children),
            Node::Strong(node) => self.wrap("strong", &node.children),
            Node::Delete(node) => self.wrap("del", &node.children),
            Node::InlineCode(code) => {
                self.html.push_str("<code>");
                self.text(&code.value);
                self.html.push_str("</code>");
            }
            Node::Break(_) => self.html.push_str("<br>\n"),
            Node::Link(link) => self.link(&link.url, link.title.as_deref(), &link.children),
            Node::LinkReference(reference) => {
                match self
                    .definitions
                    .get(&reference.identifier.to_lowercase())
                    .cloned()
                {
                    Some((url, title)) => self.link(&url, title.as_deref(), &reference.children),
                    None => self.inlines(&reference.children),
                }
            }
            Node::Image(image) => self.image(&image.url, image.title.as_deref(), &image.alt),
            Node::ImageReference(reference) => {
                match self
                    .definitions
                    .get(&reference.identifier.to_lowercase())
                    .cloned()
                {
                    Some((url, title)) => self.image(&url, title.as_deref(), &reference.alt),
                    None => self.text(&reference.alt),
                }
            }
            Node::FootnoteReference(footnote) => self.html.push_str(&format!(
                "<sup><a href=\"#footnote-{}\">{}</a></sup>",
                escape(&footnote.identifier),
                escape(footnote.label.as_deref().unwrap_or(&footnote.identifier))
            )),
            // Raw HTML, and anything else: its text.
            other => self.text(&other.to_string()),
        }
    }

    fn wrap(&mut self, tag: &str, children: &[Node]) {
        self.html.push_str(&format!("<{tag}>"));
        self.inlines(children);
        self.html.push_str(&format!("</{tag}>"));
    }

    fn link(&mut self, url: &str, title: Option<&str>, children: &[Node]) {
        match target(url, self.source, self.pages, &mut self.references) {
            Target::Url(url) => {
                self.html.push_str(&format!("<a href=\"{}\"", escape(&url)));
                if let Some(title) = title {
                    self.html.push_str(&format!(" title=\"{}\"", escape(title)));
                }
                self.html.push('>');
                self.inlines(children);
                self.html.push_str("</a>");
            }
            Target::Drop(why) => {
                self.problems.push(why);
                self.inlines(children);
            }
        }
    }

    fn image(&mut self, url: &str, title: Option<&str>, alt: &str) {
        match target(url, self.source, self.pages, &mut self.references) {
            Target::Url(url) => {
                self.html.push_str(&format!(
                    "<img src=\"{}\" alt=\"{}\" loading=\"lazy\"",
                    escape(&url),
                    escape(alt)
                ));
                if let Some(title) = title {
                    self.html.push_str(&format!(" title=\"{}\"", escape(title)));
                }
                self.html.push('>');
            }
            Target::Drop(why) => {
                self.problems.push(why);
                self.text(alt);
            }
        }
    }

    /// A table in a scrollable, focusable box; alignment as a class (a `style` attribute
    /// would break the CSP). The first row is the head.
    fn table(&mut self, table: &markdown::mdast::Table) {
        self.html
            .push_str("<div class=\"table-wrap\" tabindex=\"0\"><table>\n");
        for (index, row) in table.children.iter().enumerate() {
            let (open, cell) = if index == 0 {
                ("<thead>", "th")
            } else {
                ("", "td")
            };
            if index == 1 {
                self.html.push_str("<tbody>\n");
            }
            self.html.push_str(open);
            self.html.push_str("<tr>");
            for (column, node) in row.children().into_iter().flatten().enumerate() {
                let class = match table.align.get(column) {
                    Some(AlignKind::Left) => " class=\"left\"",
                    Some(AlignKind::Center) => " class=\"center\"",
                    Some(AlignKind::Right) => " class=\"right\"",
                    _ => "",
                };
                self.html.push_str(&format!("<{cell}{class}>"));
                self.inlines(node.children().map(Vec::as_slice).unwrap_or_default());
                self.html.push_str(&format!("</{cell}>"));
            }
            self.html.push_str("</tr>");
            self.html
                .push_str(if index == 0 { "</thead>\n" } else { "\n" });
        }
        if table.children.len() > 1 {
            self.html.push_str("</tbody>");
        }
        self.html.push_str("</table></div>\n");
    }

    /// An id from a heading's text (GitHub's rule: lower case, spaces to `-`, punctuation
    /// dropped; repeats get `-1`, `-2`).
    fn heading_id(&mut self, text: &str) -> String {
        let base = slug(text);
        let count = self.used_ids.entry(base.clone()).or_insert(0);
        let id = if *count == 0 {
            base
        } else {
            format!("{base}-{count}")
        };
        *count += 1;
        id
    }
}

fn slug(text: &str) -> String {
    text.trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// What a link or image target becomes.
enum Target {
    /// Kept, or rewritten, as this URL.
    Url(String),
    /// Dropped: the text stays, the link goes (the reason is a problem).
    Drop(String),
}

/// A link's target from `source` (relative to the root): see the module's rules.
fn target(
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

/// Text for an HTML attribute value or element content.
fn escape(text: &str) -> String {
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
mod tests {
    use super::*;

    fn pages(list: &[&str]) -> BTreeSet<PathBuf> {
        list.iter().map(PathBuf::from).collect()
    }

    const SAMPLE: &str = "# Title with `code`

Text with <script>alert(1)</script> inline and a [report](results/a/report.md#verdicts),
an [outside link](https://example.org/x?y=1), a [bad one](javascript:alert(1)) and a
[chart link](results/a/chart.png).

<div onclick=\"x()\">raw block</div>

| name | value |
| --- | ---: |
| a | 1.5 |

![loss curve](results/a/loss.png)

## Title with `code`
";

    #[test]
    fn markdown_becomes_a_page_without_raw_html_or_inline_style() {
        let rendered = render_page(
            SAMPLE,
            Path::new("docs/FINDINGS.md"),
            &pages(&["docs/FINDINGS.md", "docs/results/a/report.md"]),
        );
        let html = &rendered.html;
        assert!(
            html.contains("<title>Title with code · histinit</title>"),
            "{html}"
        );
        assert!(html.contains("<h1 id=\"title-with-code\">"), "{html}");
        assert!(html.contains("<h2 id=\"title-with-code-1\">"), "{html}");
        // Raw HTML is text, inline and as a block.
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{html}"
        );
        assert!(
            html.contains("<p>&lt;div onclick=&quot;x()&quot;&gt;raw block"),
            "{html}"
        );
        assert!(!html.contains("<script") && !html.contains("<div onclick"));
        // Links: .md to .html with the fragment kept, https kept, javascript: dropped.
        assert!(
            html.contains("href=\"results/a/report.html#verdicts\""),
            "{html}"
        );
        assert!(
            html.contains("href=\"https://example.org/x?y=1\""),
            "{html}"
        );
        assert!(!html.contains("javascript:") && html.contains("bad one"));
        assert_eq!(rendered.problems.len(), 1, "{:?}", rendered.problems);
        // A table, right-aligned by class, in a scrollable wrapper.
        assert!(html.contains("<th class=\"right\">value</th>"), "{html}");
        assert!(html.contains("<td class=\"right\">1.5</td>"), "{html}");
        assert!(!html.contains("style="), "no inline style: {html}");
        // The image and the chart link are files the page needs, relative to the root.
        assert!(html.contains("<img src=\"results/a/loss.png\" alt=\"loss curve\""));
        assert_eq!(
            rendered.references,
            pages(&["docs/results/a/chart.png", "docs/results/a/loss.png"])
        );
        // The stylesheet and the CSP as a meta element, from docs/ one level up.
        assert!(html.contains("href=\"../www/docs.css\""));
        assert!(html.contains(&format!("content=\"{}\"", escape(META_POLICY))));
    }

    #[test]
    fn links_that_leave_the_root_or_are_absolute_are_dropped() {
        let rendered = render_page(
            "[a](../../x.md) [b](/docs/x.md) [c](data:text/html,hi) [d](../README.md)",
            Path::new("docs/x.md"),
            &pages(&["docs/x.md"]),
        );
        assert_eq!(rendered.problems.len(), 3, "{:?}", rendered.problems);
        assert_eq!(rendered.references, pages(&["README.md"]));
        assert!(rendered.html.contains("href=\"../README.md\""));
    }

    #[test]
    fn relative_paths_resolve_against_the_page() {
        let from = Path::new("docs/results/depth/report.md");
        assert_eq!(
            resolve_relative(from, "../../../index.html"),
            Some(PathBuf::from("index.html"))
        );
        assert_eq!(
            resolve_relative(from, "./layers-2-loss.png"),
            Some(PathBuf::from("docs/results/depth/layers-2-loss.png"))
        );
        assert_eq!(resolve_relative(from, "../../../../x"), None);
    }

    /// Every Markdown file of the repository renders with no dropped link, every file it
    /// refers to exists, and no page keeps a link to a `.md`.
    #[test]
    fn the_repository_docs_render() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let pages = markdown_files(&root).unwrap();
        for required in ["docs/FINDINGS.md", "docs/results/README.md"] {
            assert!(pages.contains(Path::new(required)), "{required}");
        }
        let reports = pages
            .iter()
            .filter(|p| p.starts_with("docs/results") && p.ends_with("report.md"))
            .count();
        assert!(reports >= 8, "{reports} reports");
        for source in &pages {
            let markdown = std::fs::read_to_string(root.join(source)).unwrap();
            let rendered = render_page(&markdown, source, &pages);
            assert!(
                rendered.problems.is_empty(),
                "{source:?}: {:?}",
                rendered.problems
            );
            for reference in &rendered.references {
                assert!(
                    root.join(reference).is_file(),
                    "{source:?} -> {reference:?}"
                );
            }
            assert!(
                !rendered.html.contains(".md\""),
                "{source:?} links to a .md"
            );
            assert!(
                !rendered.html.contains("style="),
                "{source:?} has a style attribute"
            );
            assert!(rendered.html.contains("<h1"), "{source:?} has no h1");
        }
    }
}
