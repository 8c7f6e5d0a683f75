//! `histinit site` (the library's [`site::build`]) on the repository, with a stand-in module (no wasm build needed): the
//! folder it writes is self-contained. Every relative `href`/`src` of every HTML page,
//! every relative import of every script and every file the histogram index lists
//! resolves to a file inside it; the docs are rendered, with no link left to Markdown.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use histinit_files::docs;
use histinit_files::site::{self, SiteError};
use regex::Regex;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("histinit-site-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(here) = pending.pop() {
        for entry in std::fs::read_dir(&here).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// `reference` (a relative URL) from the file `from`, as a path inside `root`; `None` if it
/// leaves `root`. Query and fragment are dropped. The docs renderer's own rule
/// ([`docs::resolve_relative`]), on absolute paths.
fn resolve(root: &Path, from: &Path, reference: &str) -> Option<PathBuf> {
    let path = reference.split(['?', '#']).next().unwrap_or("");
    let relative = docs::resolve_relative(from.strip_prefix(root).ok()?, path)?;
    Some(root.join(relative))
}

fn is_external(reference: &str) -> bool {
    reference.starts_with('#')
        || reference.starts_with("https://")
        || reference.starts_with("http://")
        || reference.starts_with("mailto:")
        || reference.starts_with("data:")
}

#[test]
fn the_site_folder_is_self_contained() {
    let (pkg, out) = (temp_dir("pkg"), temp_dir("out"));
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::write(
        pkg.join("histinit_web.js"),
        "export default async function init() {}\n",
    )
    .unwrap();
    std::fs::write(pkg.join("histinit_web_bg.wasm"), b"\0asm\x01\0\0\0").unwrap();
    site::build(&repo_root(), &out, &pkg).unwrap();
    let out = out.canonicalize().unwrap();
    let files = files_under(&out);

    let attribute = Regex::new(r#"(?:href|src)="([^"]*)""#).unwrap();
    let import = Regex::new(r#"(?:from|import\()\s*['"]([^'"]+)['"]"#).unwrap();
    let mut problems = Vec::new();
    let mut checked = 0;
    for file in &files {
        let extension = file.extension().and_then(|e| e.to_str()).unwrap_or("");
        let pattern = match extension {
            "html" => &attribute,
            "js" => &import,
            _ => continue,
        };
        let text = std::fs::read_to_string(file).unwrap();
        for capture in pattern.captures_iter(&text) {
            let reference = &capture[1];
            if is_external(reference) || (extension == "js" && !reference.starts_with('.')) {
                continue;
            }
            checked += 1;
            let name = file.strip_prefix(&out).unwrap().display();
            match resolve(&out, file, reference) {
                Some(target) if target.is_file() => {}
                Some(_) => problems.push(format!("{name}: {reference} is not in the folder")),
                None => problems.push(format!("{name}: {reference} leaves the folder")),
            }
            if reference.split(['?', '#']).next().unwrap().ends_with(".md") {
                problems.push(format!("{name}: {reference} is Markdown"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(checked > 100, "only {checked} references checked");

    // The histogram index's files.
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("www/histograms/index.json")).unwrap())
            .unwrap();
    for source in index["sources"].as_array().unwrap() {
        for key in ["histogram", "weights", "trajectory"] {
            if let Some(file) = source[key].as_str() {
                assert!(out.join("www/histograms").join(file).is_file(), "{file}");
            }
        }
    }

    // Every Markdown file under docs/ has its page (the findings and every report).
    let rendered: BTreeSet<_> = files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "html"))
        .map(|f| f.strip_prefix(&out).unwrap().to_path_buf())
        .collect();
    for expected in [
        "index.html",
        "docs/FINDINGS.html",
        "docs/results/README.html",
    ] {
        assert!(rendered.contains(Path::new(expected)), "{expected}");
    }
    let reports = files_under(&repo_root().join("docs/results"))
        .into_iter()
        .filter(|f| f.file_name().is_some_and(|n| n == "report.md"))
        .collect::<Vec<_>>();
    assert!(reports.len() >= 8);
    for report in reports {
        let relative = report
            .canonicalize()
            .unwrap()
            .strip_prefix(repo_root().canonicalize().unwrap())
            .unwrap()
            .with_extension("html");
        assert!(rendered.contains(&relative), "{relative:?}");
    }

    // The page and the module, the headers file; nothing but what was asked for.
    let index_html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(index_html.contains("http-equiv=\"Content-Security-Policy\""));
    assert!(index_html.contains("href=\"docs/FINDINGS.html\""));
    assert!(out.join("www/pkg/histinit_web_bg.wasm").is_file());
    let headers = std::fs::read_to_string(out.join("_headers")).unwrap();
    assert!(headers.contains("Content-Security-Policy: default-src 'self'"));
    // Framing as `histinit serve` allows it, as far as a rule on the path can: the page
    // may be framed (an embed link), each other top-level file or folder may not.
    let policy = |path: &str| {
        let rule = format!("\n{path}\n  Content-Security-Policy: ");
        let rest = headers.split(&rule).nth(1);
        rest.and_then(|rest| rest.lines().next())
            .map(str::to_string)
    };
    for page in ["/", "/index.html"] {
        assert!(
            policy(page).unwrap().ends_with("frame-ancestors *"),
            "{page}"
        );
    }
    for entry in std::fs::read_dir(&out).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || name == "_headers" || name == "index.html" {
            continue;
        }
        let path = if entry.path().is_dir() {
            format!("/{name}/*")
        } else {
            format!("/{name}")
        };
        let policy = policy(&path).unwrap_or_else(|| panic!("no rule for {path}"));
        assert!(policy.ends_with("frame-ancestors 'none'"), "{path}");
    }
    assert!(headers.contains("Cross-Origin-Resource-Policy: same-origin"));
    assert!(!out.join("www/histograms/regenerate.sh").exists());
    assert!(!files
        .iter()
        .any(|f| f.extension().is_some_and(|e| e == "md")));

    // A rerun replaces the folder it wrote; a folder it did not write is refused.
    site::build(&repo_root(), &out, &pkg).unwrap();
    let foreign = temp_dir("foreign");
    std::fs::create_dir_all(&foreign).unwrap();
    std::fs::write(foreign.join("keep.txt"), "mine").unwrap();
    let refused = site::build(&repo_root(), &foreign, &pkg).unwrap_err();
    assert!(matches!(refused, SiteError::NotOurs(_)));
    assert!(refused
        .to_string()
        .contains("not written by `histinit site`"));
    assert!(foreign.join("keep.txt").is_file());
    for dir in [pkg, out, foreign] {
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[test]
fn a_missing_module_is_named() {
    let out = temp_dir("nomodule");
    let stderr = site::build(&repo_root(), &out, &temp_dir("empty-pkg"))
        .unwrap_err()
        .to_string();
    assert!(
        stderr.contains("histinit_web.js") && stderr.contains("make web"),
        "{stderr}"
    );
    assert!(!out.exists(), "nothing written");
}
