//! `histinit report DIR`: report.md and PNG charts for a finished sweep, from its
//! stored files only: summary.json, and the run files under runs/ that it was computed
//! from (so DIR is a sweep's output directory; a published `docs/results/<study>` keeps
//! no runs and is rewritten by `bash experiments/run-all.sh --publish <study>`). Every
//! sentence of the verdicts is generated from summary.json's numbers; nothing is
//! written by hand.

mod png;
mod sections;
mod variant;
mod wording;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use histinit_core::run::RunResult;
use histinit_files::fs::{write_atomically, FileError};

use crate::summary::SweepSummary;
use crate::sweep::{stored_runs, SweepConfig, SweepError};
use png::register_font;
use sections::{
    write_best_setting, write_header, write_initial_roles, write_interactions, write_validation,
    write_verdicts,
};
use variant::write_variant;
pub use wording::{verdict, FinalLoss};

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error("{path}: {reason}")]
    Invalid { path: PathBuf, reason: String },
    #[error("no TrueType font for the charts' text (looked in {0}); install fonts-dejavu-core or pass --font")]
    NoFont(String),
    #[error("no runs/ in {0}: a report is drawn from the runs a sweep stored, so give it the sweep's output directory (out/sweeps/<name>); `bash experiments/run-all.sh --publish <name>` writes a published study's report again, and `histinit report --keep-charts docs/results/<name>` its text alone")]
    NoRuns(PathBuf),
    #[error(transparent)]
    Runs(#[from] SweepError),
    #[error("chart {path}: {reason}")]
    Chart { path: PathBuf, reason: String },
}

pub(super) fn read(path: &Path) -> Result<String, ReportError> {
    std::fs::read_to_string(path).map_err(|err| {
        ReportError::File(FileError::Read {
            path: path.into(),
            source: err,
        })
    })
}

pub(super) fn file_stem(variant: &str) -> String {
    variant
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Whether a report draws its charts from the sweep's runs or keeps the ones beside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charts {
    /// Draw every chart from `runs/` (a sweep's output directory).
    Draw,
    /// Keep the charts already in the folder and rewrite only the text (report.md,
    /// summary.json, comparisons.csv) from summary.json: a published study folder
    /// (docs/results/<study>) holds no runs, and its text must follow the current rules
    /// (which p-values are defined, the Holm family). summary.json is written again from
    /// what was read: serde_json's float parser (without `float_roundtrip`, which would
    /// rebuild Burn) can move a value by one unit in its 17th significant digit.
    Keep,
}

/// A chart the report keeps rather than draws ([`Charts::Keep`]): linked where the
/// folder has it (a folder published before a chart existed has not), and at least the
/// loss chart must be there.
pub(super) fn kept_chart(dir: &Path, png: &str) -> Result<(), ReportError> {
    let path = dir.join(png);
    if path.is_file() || !png.ends_with("-loss.png") {
        Ok(())
    } else {
        Err(ReportError::Chart {
            path,
            reason: "not in the folder: keeping the charts needs the charts (draw them from the sweep's runs instead)".into(),
        })
    }
}

/// Writes the report of the sweep in `dir` (report.md and its charts); with the charts
/// kept, also the summary it decided on (summary.json and comparisons.csv, with the
/// p-values the current rules define and their Holm adjustment).
pub fn run(dir: &Path, font: Option<&Path>, charts: Charts) -> Result<(), ReportError> {
    let (summary, config, runs) = load(dir, font, charts)?;
    // One colour per init in every chart, in the config's order.
    let inits = &config.base.inits;
    let baseline = summary.baseline;
    let mut md = String::new();
    write_header(&mut md, &summary, charts);
    write_validation(&mut md, &summary);
    write_interactions(&mut md, &summary);
    write_initial_roles(&mut md, &summary);
    write_best_setting(&mut md, &summary);
    write_verdicts(&mut md, &summary);
    for (index, variant) in summary.variants.iter().enumerate() {
        // Drawn from the variant's runs; with the charts kept, the folder's own.
        let own = runs.as_ref().map(|runs| runs[index].1.as_slice());
        write_variant(&mut md, dir, variant, own, inits, baseline)?;
    }
    let _ = writeln!(md, "## Config\n\n```toml\n{}```", summary.config);
    // A sweep's own summary.json and comparisons.csv were written by the same rules and
    // stay as written (byte for byte what a sharded sweep's aggregate gives); a kept
    // folder's are rewritten to follow the report.
    let mut files = vec![("report.md", md)];
    if charts == Charts::Keep {
        let json = summary.to_json().map_err(|err| ReportError::Invalid {
            path: dir.join("summary.json"),
            reason: err.to_string(),
        })?;
        files.push(("summary.json", json));
        files.push(("comparisons.csv", summary.comparisons_csv()));
    }
    for (name, text) in files {
        let path = dir.join(name);
        write_atomically(&path, text.as_bytes()).map_err(|err| {
            ReportError::File(FileError::Write {
                path: path.clone(),
                source: err,
            })
        })?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

/// A sweep's summary (its p-values Holm-adjusted), its config, and with [`Charts::Draw`]
/// its runs (checked to be the summary's variants) with the charts' font registered.
type Loaded = (
    SweepSummary,
    SweepConfig,
    Option<Vec<(crate::sweep::Variant, Vec<RunResult>)>>,
);

fn load(dir: &Path, font: Option<&Path>, charts: Charts) -> Result<Loaded, ReportError> {
    let summary_path = dir.join("summary.json");
    let invalid = |reason: String| ReportError::Invalid {
        path: summary_path.clone(),
        reason,
    };
    let mut summary = serde_json::from_str::<SweepSummary>(&read(&summary_path)?)
        .map_err(|err| invalid(err.to_string()))?;
    // The same Holm adjustment the sweep wrote (a no-op then); a summary written before
    // adjusted p-values gets them here, so every verdict is decided on one.
    summary.adjust_p_values();
    let config = SweepConfig::parse(&summary.config, &summary_path)?;
    let runs = match charts {
        Charts::Draw => {
            if !dir.join("runs").is_dir() {
                return Err(ReportError::NoRuns(dir.into()));
            }
            let runs = stored_runs(&config, summary.backend, dir)?;
            if !runs
                .iter()
                .map(|(variant, _)| &variant.name)
                .eq(summary.variants.iter().map(|variant| &variant.name))
            {
                return Err(invalid(
                    "its variants are not its config's: run the sweep again to rewrite it".into(),
                ));
            }
            register_font(font)?;
            Some(runs)
        }
        Charts::Keep => None,
    };
    Ok((summary, config, runs))
}

#[cfg(test)]
mod tests;
