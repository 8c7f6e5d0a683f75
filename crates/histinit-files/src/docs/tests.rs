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
