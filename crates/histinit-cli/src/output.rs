//! curves.csv and summary.json, each written to a temporary file and renamed into
//! place, so an interrupted run never leaves a half-written result.

use std::io::{self, Write};
use std::path::Path;

use histinit_core::experiment::{ExperimentConfig, RunResult};
use histinit_core::stats::Summary;

fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = path.with_extension("tmp");
    {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
    }
    std::fs::rename(tmp, path)
}

pub fn write_curves(path: &Path, runs: &[RunResult]) -> io::Result<()> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record([
        "run",
        "init",
        "seed",
        "step",
        "tokens",
        "train_loss",
        "val_loss",
        "lr",
        "grad_norm",
    ])?;
    for run in runs {
        for point in &run.points {
            writer.write_record([
                run.name(),
                run.init.name().to_string(),
                run.seed.to_string(),
                point.step.to_string(),
                point.tokens.to_string(),
                point.train_loss.to_string(),
                point.val_loss.map(|v| v.to_string()).unwrap_or_default(),
                point.lr.to_string(),
                point.grad_norm.to_string(),
            ])?;
        }
    }
    let bytes = writer
        .into_inner()
        .map_err(|err| io::Error::other(err.to_string()))?;
    write_atomically(path, &bytes)
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
