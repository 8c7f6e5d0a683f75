//! `histinit report DIR`: report.md and charts for a finished sweep.

use std::path::PathBuf;

use histinit_studies::report::{self, Charts};

use super::Outcome;

#[derive(clap::Args)]
pub struct ReportArgs {
    /// The sweep's output directory (with summary.json and the runs/ it was made from).
    dir: PathBuf,
    /// A TrueType font for the charts' text (default: DejaVu Sans or Liberation Sans).
    #[arg(long)]
    font: Option<PathBuf>,
    /// Keep the charts already in DIR and rewrite only the text (report.md,
    /// summary.json, comparisons.csv) from summary.json: for a published study folder
    /// (docs/results/<study>), which holds no runs.
    #[arg(long)]
    keep_charts: bool,
}

pub fn run(args: ReportArgs) -> Outcome {
    let charts = if args.keep_charts {
        Charts::Keep
    } else {
        Charts::Draw
    };
    Ok(report::run(&args.dir, args.font.as_deref(), charts)?)
}
