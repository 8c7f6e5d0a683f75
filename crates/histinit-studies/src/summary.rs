//! What a sweep writes beside its run files: summary.json (written by `histinit sweep`,
//! read by `histinit report`) and the CSV tables (for people and scripts).

use std::collections::BTreeMap;

use histinit_core::run::{curve_row, RunResult, RunStatus, CURVES_CSV_HEADER};
use histinit_core::stats::{holm, Comparison, FinalDifference, ValidationSpread};
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
    /// The config's equivalence margin (nats of final validation loss), set before the
    /// runs; every final-loss comparison carries its TOST at this margin. Summaries from
    /// before equivalence tests have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equivalence_margin: Option<f64>,
    /// How the p-values were adjusted for multiplicity (see [`SweepSummary::adjust_p_values`]);
    /// absent from summaries written before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p_adjustment: Option<String>,
    /// What the runs start from, per role: each init's weights at the first variant's
    /// first seed, and the source's trained weights (`weights = "source"`) where the
    /// sweep has them. Summaries from before it was recorded have none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub initial_roles: Vec<RoleMoments>,
    pub variants: Vec<VariantSummary>,
    /// The config's pre-registered interaction tests, where it states one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub interactions: Vec<InteractionTest>,
}

/// One init × factor interaction (see [`crate::sweep::InteractionSpec`]) in one group of
/// variants: per seed, the init's paired difference from the baseline in variant `to`
/// minus its paired difference in variant `from`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InteractionTest {
    pub axis: String,
    /// The variants at the axis's two levels.
    pub from: String,
    pub to: String,
    /// The other axes' values, equal in both.
    pub within: BTreeMap<String, String>,
    pub init: InitMethod,
    pub difference: FinalDifference,
}

/// The pooled law of one role's tensors in a set of weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoleMoments {
    /// An init's name, or `source` for the source's trained weights.
    pub weights: String,
    pub role: histinit_core::histogram::Role,
    pub std: f64,
    pub excess_kurtosis: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VariantSummary {
    pub name: String,
    /// The grid's values for this variant (axis name to value).
    pub settings: BTreeMap<String, String>,
    /// The variant as a playground link's query string.
    pub link: String,
    pub steps: usize,
    /// The validation set and its own sampling error; absent from summaries whose runs
    /// did not keep their per-batch losses (before round three).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation: Option<ValidationSet>,
    pub comparisons: Vec<Comparison>,
}

/// A variant's validation set: where its text comes from, how much of it, and how much
/// the final losses and their differences depend on which text that is.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ValidationSet {
    /// The split the batches come from (`val`, or `teacher` for tuning).
    pub split: String,
    /// Tokens scored: batches × rows × context.
    pub tokens: usize,
    #[serde(flatten)]
    pub spread: ValidationSpread,
}

/// What [`SweepSummary::p_adjustment`] says of the family the p-values were adjusted in.
pub const P_ADJUSTMENT: &str = "holm: one family per sweep, every test of every non-baseline init in every variant (the paired t-tests of the speedups at each progress point and of the final-loss difference, and the equivalence tests), each with at least 2 paired seeds and a defined p-value (none on identical values or where no seed reached the target)";

/// [`P_ADJUSTMENT`] of a sweep whose config states an interaction test.
pub const P_ADJUSTMENT_WITH_INTERACTIONS: &str = "holm: one family per sweep, every test of every non-baseline init in every variant (the paired t-tests of the speedups at each progress point and of the final-loss difference, and the equivalence tests) and the config's interaction tests, each with at least 2 paired seeds and a defined p-value (none on identical values or where no seed reached the target)";

/// A p-value as the report and the tables print it: three decimals, "< 0.001", or "-"
/// where there is none (no test defined, or no adjustment made).
pub fn format_p(p: Option<f64>) -> String {
    match p {
        None => "-".into(),
        Some(p) if p < 0.001 => "< 0.001".into(),
        Some(p) => format!("{p:.3}"),
    }
}

/// "p = 0.012", "p < 0.001", or where no test is defined "no p-value (identical values)".
pub fn p_is(p: Option<f64>) -> String {
    match p {
        None => "no p-value (identical values)".into(),
        Some(p) if p < 0.001 => "p < 0.001".into(),
        Some(p) => format!("p = {p:.3}"),
    }
}

impl SweepSummary {
    /// summary.json's text, keys sorted as in every summary written so far.
    pub fn to_json(&self) -> serde_json::Result<String> {
        serde_json::to_string_pretty(&serde_json::to_value(self)?)
    }

    /// Sets every `p_adjusted` to the Holm-adjusted p-value over the sweep's one family
    /// of tests ([`P_ADJUSTMENT`]): the same computation from the same raw p-values, so
    /// running it again changes nothing. The baseline against itself is no test and gets
    /// none; nor does a test with fewer than 2 paired seeds, or one that no test defines
    /// (identical values, every seed censored: `p_value` is `None`, and a summary written
    /// before that rule loses the p it held there).
    pub fn adjust_p_values(&mut self) {
        let baseline = self.baseline;
        let mut family: Vec<&mut Option<f64>> = Vec::new();
        let mut raw = Vec::new();
        for variant in &mut self.variants {
            for comparison in &mut variant.comparisons {
                let is_test = comparison.init != baseline;
                for speedup in &mut comparison.speedups {
                    speedup.clear_undefined_p_value();
                    speedup.p_adjusted = None;
                    if let Some(p) = speedup.p_value.filter(|_| is_test && speedup.seeds >= 2) {
                        raw.push(p);
                        family.push(&mut speedup.p_adjusted);
                    }
                }
                if let Some(difference) = &mut comparison.final_difference {
                    difference.clear_undefined_p_values();
                    difference.p_adjusted = None;
                    let tested = is_test && difference.seeds >= 2;
                    if let Some(p) = difference.p_value.filter(|_| tested) {
                        raw.push(p);
                        family.push(&mut difference.p_adjusted);
                    }
                    if let Some(equivalence) = &mut difference.equivalence {
                        equivalence.p_adjusted = None;
                        if let Some(p) = equivalence.p_value.filter(|_| tested) {
                            raw.push(p);
                            family.push(&mut equivalence.p_adjusted);
                        }
                    }
                }
            }
        }
        for test in &mut self.interactions {
            test.difference.clear_undefined_p_values();
            test.difference.p_adjusted = None;
            if let Some(p) = test
                .difference
                .p_value
                .filter(|_| test.difference.seeds >= 2)
            {
                raw.push(p);
                family.push(&mut test.difference.p_adjusted);
            }
        }
        for (slot, adjusted) in family.into_iter().zip(holm(&raw)) {
            *slot = Some(adjusted);
        }
        self.p_adjustment = Some(
            if self.interactions.is_empty() {
                P_ADJUSTMENT
            } else {
                P_ADJUSTMENT_WITH_INTERACTIONS
            }
            .into(),
        );
    }

    /// comparisons.csv: one row per test of every comparison, the raw p-value beside
    /// the Holm-adjusted one (empty where no family was adjusted: the baseline; both
    /// empty where no test is defined: identical values, or no seed reached the target).
    pub fn comparisons_csv(&self) -> String {
        let mut csv = format!("{COMPARISONS_CSV_HEADER}\n");
        let number = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
        for variant in &self.variants {
            for c in &variant.comparisons {
                let init = c.init.name();
                for s in &c.speedups {
                    let i = s.speedup;
                    csv.push_str(&format!(
                        "{},{init},speedup@{},{},{},{},{},,{},{}\n",
                        variant.name,
                        s.fraction,
                        s.seeds,
                        number(i.map(|i| i.estimate)),
                        number(i.map(|i| i.low)),
                        number(i.map(|i| i.high)),
                        number(s.p_value),
                        number(s.p_adjusted),
                    ));
                }
                if let Some(d) = &c.final_difference {
                    let i = d.difference;
                    csv.push_str(&format!(
                        "{},{init},final_difference,{},{},{},{},,{},{}\n",
                        variant.name,
                        d.seeds,
                        i.estimate,
                        i.low,
                        i.high,
                        number(d.p_value),
                        number(d.p_adjusted),
                    ));
                    if let Some(e) = &d.equivalence {
                        csv.push_str(&format!(
                            "{},{init},equivalence,{},{},{},{},{},{},{}\n",
                            variant.name,
                            d.seeds,
                            i.estimate,
                            i.low,
                            i.high,
                            e.margin,
                            number(e.p_value),
                            number(e.p_adjusted),
                        ));
                    }
                }
            }
        }
        csv
    }
}

/// The columns of comparisons.csv (one row per test). `test` is `speedup@F` (F the
/// fraction of the baseline's steps; estimate and CI of the speedup),
/// `final_difference` (final validation loss minus the baseline's, paired t-test) or
/// `equivalence` (the same difference, TOST within ±margin); `p_holm` is `p`
/// Holm-adjusted over the sweep.
pub const COMPARISONS_CSV_HEADER: &str =
    "variant,init,test,seeds,estimate,ci_low,ci_high,margin,p,p_holm";

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
mod tests;
