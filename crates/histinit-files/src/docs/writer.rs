//! A Markdown tree written as HTML: every text escaped, raw HTML as text, headings
//! given ids, links checked.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use markdown::mdast::{AlignKind, Node};

use super::escape;
use super::links::{target, Target};

/// Writes a Markdown tree as HTML: every text escaped, raw HTML as text, links checked.
pub(super) struct Writer<'a> {
    pub(super) source: &'a Path,
    pub(super) pages: &'a BTreeSet<PathBuf>,
    /// Link reference definitions (`[id]: url "title"`) by identifier.
    pub(super) definitions: HashMap<String, (String, Option<String>)>,
    pub(super) used_ids: HashMap<String, usize>,
    /// The first level-1 heading's text.
    pub(super) title: Option<String>,
    pub(super) references: BTreeSet<PathBuf>,
    pub(super) problems: Vec<String>,
    pub(super) html: String,
}

impl Writer<'_> {
    pub(super) fn collect_definitions(&mut self, node: &Node) {
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
    pub(super) fn block(&mut self, node: &Node, tight: bool) {
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
