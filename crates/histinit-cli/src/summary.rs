//! What a sweep writes beside its run files: summary.json (written by `histinit sweep`,
//! read by `histinit report`) and the CSV tables (for people and scripts).

use std::collections::BTreeMap;

use histinit_core::run::{curve_row, RunResult, RunStatus, CURVES_CSV_HEADER};
use histinit_core::stats::Comparison;
use histinit_core::InitMethod;
use serde::{Deserialize, Serialize};

use crate::Backend;

/// summary.json: the comparisons of every variant, and what it takes to find the runs
/// they were computed from again.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SweepSummary {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// The init every other is compared with (paired by seed).
    pub baseline: InitMethod,
    pub seeds: usize,
    /// What the runs trained on, part of which run files are this sweep's. Summaries
    /// from before it was recorded say nothing: CPU.
    #[serde(default)]
    pub backend: Backend,
    /// The commit the sweep ran at, where git could tell.
    pub commit: Option<String>,
    /// The sweep's TOML config as given.
    pub config: String,
    pub variants: Vec<VariantSummary>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VariantSummary {
    pub name: String,
    /// The grid's values for this variant (axis name to value).
    pub settings: BTreeMap<String, String>,
    /// The variant as a playground link's query string.
    pub link: String,
    pub steps: usize,
    pub comparisons: Vec<Comparison>,
}

impl SweepSummary {
    /// summary.json's text, keys sorted as in every summary written so far.
    pub fn to_json(&self) -> serde_json::Result<String> {
        serde_json::to_string_pretty(&serde_json::to_value(self)?)
    }
}

/// The columns of runs.csv (one row per run).
pub const RUNS_CSV_HEADER: &str =
    "variant,init,seed,status,diverged_at,final_val_loss,best_val_loss,final_train_loss";

/// The columns of distances.csv (one row per run, measurement and part of the network).
pub const DISTANCES_CSV_HEADER: &str = "variant,init,seed,step,scope,w1_over_std";

/// curves.csv, runs.csv and distances.csv of every variant's runs, as (file name, text).
pub fn csv_tables<'a>(
    variants: impl IntoIterator<Item = (&'a str, &'a [RunResult])>,
) -> [(&'static str, String); 3] {
    let mut curves = format!("variant,{CURVES_CSV_HEADER}\n");
    let mut runs = format!("{RUNS_CSV_HEADER}\n");
    let mut distances = format!("{DISTANCES_CSV_HEADER}\n");
    for (variant, results) in variants {
        for run in results {
            for point in &run.points {
                curves.push_str(&format!("{variant},{}\n", curve_row(run, point)));
            }
            let diverged_at = match run.status {
                RunStatus::Diverged { step } => step.to_string(),
                _ => String::new(),
            };
            let best = run
                .val_curve()
                .iter()
                .map(|&(_, v)| v)
                .filter(|v| v.is_finite())
                .fold(f64::INFINITY, f64::min);
            let optional = |value: Option<f64>| value.map(|v| v.to_string()).unwrap_or_default();
            runs.push_str(&format!(
                "{variant},{},{},{},{diverged_at},{},{},{}\n",
                run.init.name(),
                run.seed,
                run.status.name(),
                optional(run.final_val_loss()),
                optional(best.is_finite().then_some(best)),
                optional(run.points.last().map(|p| p.train_loss)),
            ));
            for point in &run.distances {
                distances.push_str(&format!(
                    "{variant},{},{},{},{},{}\n",
                    run.init.name(),
                    run.seed,
                    point.step,
                    point.scope.name(),
                    point.w1_over_std
                ));
            }
        }
    }
    [
        ("curves.csv", curves),
        ("runs.csv", runs),
        ("distances.csv", distances),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every published study's summary.json reads into the one type and writes back
    /// the same (plus the backend, which older summaries do not record).
    #[test]
    fn every_published_summary_reads_back_unchanged() {
        let results = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/results");
        let mut studies = 0;
        for entry in std::fs::read_dir(&results).unwrap() {
            let dir = entry.unwrap().path();
            // A sweep's folder has its config.toml; `histinit run`'s results have none.
            if !dir.join("config.toml").exists() {
                continue;
            }
            let path = dir.join("summary.json");
            let text = std::fs::read_to_string(&path).unwrap();
            let summary: SweepSummary = serde_json::from_str(&text)
                .unwrap_or_else(|err| panic!("{}: {err}", path.display()));
            // As values: serde_json's default float parsing can be one ulp off, so a
            // number read and written again may not be the same text.
            let mut written = serde_json::to_value(&summary).unwrap();
            assert_eq!(written["backend"], "cpu");
            written.as_object_mut().unwrap().remove("backend");
            let read: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert!(written == read, "{} changes", path.display());
            assert!(!summary.variants.is_empty());
            studies += 1;
        }
        assert!(
            studies >= 8,
            "{studies} studies under {}",
            results.display()
        );
    }

    #[test]
    fn tables_have_their_headers_and_one_row_per_run_and_point() {
        let run: RunResult = serde_json::from_value(serde_json::json!({
            "init": "pythia", "seed": 3, "status": {"status": "diverged", "step": 1},
            "points": [
                {"step": 0, "tokens": 64, "train_loss": 5.5, "val_loss": 5.25, "lr": 0.001,
                 "grad_norm": 2.0, "role_grad_norms": []},
                {"step": 1, "tokens": 128, "train_loss": 7.5, "val_loss": null, "lr": 0.002,
                 "grad_norm": 1e9, "role_grad_norms": []}
            ],
            "distances": [{"step": 0, "scope": "mlp", "w1_over_std": 0.5}]
        }))
        .unwrap();
        let [(curves_name, curves), (runs_name, runs), (distances_name, distances)] =
            csv_tables([("lr_scale-2", std::slice::from_ref(&run))]);
        assert_eq!(
            (curves_name, runs_name, distances_name),
            ("curves.csv", "runs.csv", "distances.csv")
        );
        assert_eq!(
            curves,
            format!(
                "variant,{CURVES_CSV_HEADER}\nlr_scale-2,pythia-s3,pythia,3,0,64,5.5,5.25,0.001,2\n\
                 lr_scale-2,pythia-s3,pythia,3,1,128,7.5,,0.002,1000000000\n"
            )
        );
        assert_eq!(
            runs,
            format!("{RUNS_CSV_HEADER}\nlr_scale-2,pythia,3,diverged,1,5.25,5.25,7.5\n")
        );
        assert_eq!(
            distances,
            format!("{DISTANCES_CSV_HEADER}\nlr_scale-2,pythia,3,0,mlp,0.5\n")
        );
    }
}
