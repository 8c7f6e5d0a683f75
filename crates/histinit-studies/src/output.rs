//! A run's curves.csv and summary.json (`histinit run`), each written durably
//! ([`histinit_files::fs::write_atomically`]), so an interrupted run never leaves a
//! half-written result.

use std::io;
use std::path::Path;

use histinit_core::experiment::ExperimentConfig;
use histinit_core::run::{curves_csv, RunResult};
use histinit_core::stats::Summary;
use histinit_files::fs::write_atomically;

pub fn write_curves(path: &Path, runs: &[RunResult]) -> io::Result<()> {
    write_atomically(path, curves_csv(runs).as_bytes())
}

pub fn write_summary(
    path: &Path,
    config: &ExperimentConfig,
    summary: &Summary,
    runs: &[RunResult],
) -> io::Result<()> {
    let runs: Vec<serde_json::Value> = runs
        .iter()
        .map(|run| {
            serde_json::json!({
                "run": run.name(),
                "init": run.init,
                "seed": run.seed,
                "status": run.status,
                "final_val_loss": run.final_val_loss(),
            })
        })
        .collect();
    let document = serde_json::json!({
        "config": config,
        "link": config.to_query(),
        "summary": summary,
        "runs": runs,
    });
    let text = serde_json::to_string_pretty(&document).map_err(io::Error::other)?;
    write_atomically(path, text.as_bytes())
}
