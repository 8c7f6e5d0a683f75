//! `histinit serve`: the playground on 127.0.0.1 (histinit-files' server, with the
//! page's link rules from histinit-core).

use std::path::PathBuf;

use super::Outcome;

#[derive(clap::Args)]
pub struct ServeArgs {
    /// The directory holding index.html (the repository root).
    #[arg(long, default_value = ".")]
    dir: PathBuf,
    /// 0 picks a free port.
    #[arg(long, default_value_t = 8000)]
    port: u16,
}

pub fn run(args: ServeArgs) -> Outcome {
    let links = histinit_studies::playground::LINK_RULES;
    Ok(histinit_files::serve::serve(&args.dir, args.port, links)?)
}
