//! curves.csv and summary.json, each written to a temporary file and renamed into
//! place, so an interrupted run never leaves a half-written result.

use std::io::{self, Write};
use std::path::Path;

use histinit_core::experiment::ExperimentConfig;
use histinit_core::run::{curves_csv, RunResult};
use histinit_core::stats::Summary;

/// Writes to a temporary file next to `path` and renames it into place, so readers see
/// the old file or the whole new one. The temporary name carries the process id, the
/// time and a count, so two processes finishing the same run cannot interleave, even on
/// a file system shared by machines (where process ids repeat: every container's first
/// process is 1).
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    static COUNT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let count = COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = path.with_extension(format!("tmp{}-{nanos:x}-{count}", std::process::id()));
    {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
    }
    std::fs::rename(tmp, path)
}

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
