//! The arguments of `docs` and `site`, shared by `histinit` and `histinit-site` (which
//! `make docs` and `make site` run without building Burn), and what each prints.

use std::path::PathBuf;

use crate::docs::{self, DocsError};
use crate::site::{self, SiteError};

#[derive(clap::Args, Debug)]
pub struct DocsArgs {
    /// The repository root (holding docs/ and www/docs.css).
    #[arg(long, default_value = ".")]
    pub root: PathBuf,
}

#[derive(clap::Args, Debug)]
pub struct SiteArgs {
    /// The folder to write (replaced if an earlier `histinit site` wrote it).
    #[arg(long, default_value = "site")]
    pub out: PathBuf,
    /// The repository root (holding index.html, www/ and docs/).
    #[arg(long, default_value = ".")]
    pub root: PathBuf,
    /// The wasm-bindgen output to ship (default: ROOT/www/pkg).
    #[arg(long)]
    pub pkg: Option<PathBuf>,
}

/// Renders every docs/**/*.md beside it; returns the line to print.
pub fn docs(args: &DocsArgs) -> Result<String, DocsError> {
    let (pages, _) = docs::render_all(&args.root, &args.root)?;
    Ok(format!(
        "rendered {pages} pages from {}",
        args.root.join(docs::DOCS_DIR).display()
    ))
}

/// Writes the static site; returns the line to print.
pub fn site(args: &SiteArgs) -> Result<String, SiteError> {
    let pkg = args
        .pkg
        .clone()
        .unwrap_or_else(|| args.root.join("www/pkg"));
    let out = &args.out;
    let summary = site::build(&args.root, out, &pkg)?;
    Ok(format!(
        "wrote {} ({} files, {:.1} MB, {} docs pages); serve it as it is, with the headers \
         in {}/_headers",
        out.display(),
        summary.files,
        summary.bytes as f64 / 1e6,
        summary.pages,
        out.display()
    ))
}
