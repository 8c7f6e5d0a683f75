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
            let read: serde_json::Value = serde_json::from_str(&text).unwrap();
            // Summaries from before the backend was recorded read as CPU.
            if read.get("backend").is_none() {
                written.as_object_mut().unwrap().remove("backend");
            }
            assert!(
                written == read,
                "{} changes at {}",
                path.display(),
                first_difference(&written, &read, String::new())
            );
            assert!(!summary.variants.is_empty());
            studies += 1;
        }
        assert!(
            studies >= 8,
            "{studies} studies under {}",
            results.display()
        );
    }

    /// Where two JSON values first differ (a path like `variants[2].comparisons[0].runs`).
    fn first_difference(a: &serde_json::Value, b: &serde_json::Value, at: String) -> String {
        use serde_json::Value;
        match (a, b) {
            (Value::Object(x), Value::Object(y)) => {
                for key in x.keys().chain(y.keys()) {
                    match (x.get(key), y.get(key)) {
                        (Some(p), Some(q)) if p == q => {}
                        (Some(p), Some(q)) => return first_difference(p, q, format!("{at}.{key}")),
                        (p, q) => return format!("{at}.{key}: {p:?} vs {q:?}"),
                    }
                }
                at
            }
            (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
                .iter()
                .zip(y)
                .enumerate()
                .find(|(_, (p, q))| p != q)
                .map_or(at.clone(), |(i, (p, q))| {
                    first_difference(p, q, format!("{at}[{i}]"))
                }),
            _ => format!("{at}: {a} vs {b}"),
        }
    }

    /// A summary of two variants, each with the baseline and one other init.
    fn two_variants() -> SweepSummary {
        use histinit_core::stats::{compare, Equivalence};
        let run = |init: &str, seed: u64, rate: f64| -> RunResult {
            let points: Vec<serde_json::Value> = (0..20)
                .map(|t| {
                    let loss = 1.0 + 4.0 / (1.0 + rate * (1.0 + 0.1 * seed as f64) * t as f64);
                    serde_json::json!({"step": t, "tokens": t, "train_loss": loss,
                        "val_loss": loss, "lr": 0.0, "grad_norm": 0.0, "role_grad_norms": []})
                })
                .collect();
            serde_json::from_value(serde_json::json!({
                "init": init, "seed": seed, "status": {"status": "completed"},
                "points": points, "distances": []
            }))
            .unwrap()
        };
        let variant = |name: &str, speed: f64| {
            let runs: Vec<RunResult> = (1..=4)
                .flat_map(|seed| {
                    [
                        run("kaiming", seed, 0.1),
                        run("pythia", seed, 0.1 * speed * (1.0 + 0.02 * seed as f64)),
                    ]
                })
                .collect();
            let mut comparisons = compare(&runs, InitMethod::Kaiming, 20, 3);
            for c in comparisons
                .iter_mut()
                .filter(|c| c.init != InitMethod::Kaiming)
            {
                let d = c.final_difference.as_mut().unwrap();
                d.equivalence = Some(Equivalence::test(&d.per_seed, 0.02));
            }
            VariantSummary {
                name: name.into(),
                settings: BTreeMap::new(),
                link: String::new(),
                steps: 20,
                validation: None,
                comparisons,
            }
        };
        SweepSummary {
            name: "t".into(),
            description: String::new(),
            baseline: InitMethod::Kaiming,
            seeds: 4,
            backend: Backend::Cpu,
            commit: None,
            config: String::new(),
            equivalence_margin: Some(0.02),
            p_adjustment: None,
            initial_roles: Vec::new(),
            interactions: Vec::new(),
            variants: vec![variant("fast", 1.5), variant("same", 1.0)],
        }
    }

    #[test]
    fn one_holm_family_spans_the_sweep_without_the_baseline() {
        let mut summary = two_variants();
        summary.adjust_p_values();
        // The family, by hand: per variant 4 speedup tests, the final-loss test and the
        // equivalence test of pythia; kaiming against itself is no test.
        let mut raw = Vec::new();
        let mut adjusted = Vec::new();
        for variant in &summary.variants {
            for c in &variant.comparisons {
                let d = c.final_difference.as_ref().unwrap();
                if c.init == InitMethod::Kaiming {
                    assert!(c.speedups.iter().all(|s| s.p_adjusted.is_none()));
                    assert!(d.p_adjusted.is_none() && d.equivalence.is_none());
                    continue;
                }
                for s in &c.speedups {
                    raw.push(s.p_value.unwrap());
                    adjusted.push(s.p_adjusted.unwrap());
                }
                raw.push(d.p_value.unwrap());
                adjusted.push(d.p_adjusted.unwrap());
                let e = d.equivalence.unwrap();
                raw.push(e.p_value.unwrap());
                adjusted.push(e.p_adjusted.unwrap());
            }
        }
        assert_eq!(raw.len(), 12);
        assert_eq!(adjusted, holm(&raw));
        // Not per variant: adjusting one variant alone gives smaller values somewhere.
        assert_ne!(adjusted[..6], holm(&raw[..6])[..]);
        // Running it again changes nothing, and the JSON says how it was done.
        let once = summary.to_json().unwrap();
        summary.adjust_p_values();
        assert_eq!(summary.to_json().unwrap(), once);
        assert!(once.contains("\"p_adjustment\": \"holm: one family per sweep"));
        assert!(once.contains("\"equivalence_margin\": 0.02"));

        // comparisons.csv: one row per test, raw p beside the adjusted one.
        let csv = summary.comparisons_csv();
        let mut lines = csv.lines();
        assert_eq!(lines.next(), Some(COMPARISONS_CSV_HEADER));
        let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
        // 2 variants x (kaiming: 4 speedups + final; pythia: 4 + final + equivalence).
        assert_eq!(rows.len(), 2 * (5 + 6));
        let pythia: Vec<&Vec<&str>> = rows.iter().filter(|r| r[1] == "pythia").collect();
        for (row, (r, a)) in pythia.iter().zip(raw.iter().zip(&adjusted)) {
            assert_eq!(row[8].parse::<f64>().unwrap(), *r, "{row:?}");
            assert_eq!(row[9].parse::<f64>().unwrap(), *a, "{row:?}");
        }
        assert_eq!(pythia[5][2], "equivalence");
        assert_eq!(pythia[5][7], "0.02");
        assert!(rows
            .iter()
            .filter(|r| r[1] == "kaiming")
            .all(|r| r[9].is_empty()));
    }

    #[test]
    fn a_test_on_identical_values_has_no_p_and_leaves_the_family() {
        let mut summary = two_variants();
        summary.adjust_p_values();
        let adjusted = |s: &SweepSummary| {
            s.variants
                .iter()
                .flat_map(|v| &v.comparisons)
                .flat_map(|c| &c.speedups)
                .filter(|s| s.p_adjusted.is_some())
                .count()
        };
        let before = adjusted(&summary);
        // As a summary written before the rule held it: every seed at the same value
        // (as when all sit at one censored bound) and a t-test p of 0.
        fn pythia(s: &mut SweepSummary) -> &mut histinit_core::stats::SpeedupAt {
            let c = s.variants[0]
                .comparisons
                .iter_mut()
                .find(|c| c.init == InitMethod::Pythia)
                .unwrap();
            &mut c.speedups[1]
        }
        pythia(&mut summary).per_seed = vec![2.5; 4];
        pythia(&mut summary).p_value = Some(0.0);
        summary.adjust_p_values();
        assert_eq!(pythia(&mut summary).p_value, None);
        assert_eq!(pythia(&mut summary).p_adjusted, None);
        assert_eq!(adjusted(&summary), before - 1);
        let csv = summary.comparisons_csv();
        let row = csv
            .lines()
            .find(|l| l.starts_with("fast,pythia,speedup@0.25,"))
            .unwrap();
        assert!(row.ends_with(",,"), "no p and no Holm p: {row}");
    }

    #[test]
    fn p_values_below_a_thousandth_are_not_printed_as_zero() {
        assert_eq!(format_p(Some(0.0004)), "< 0.001");
        assert_eq!(format_p(Some(0.0)), "< 0.001");
        assert_eq!(format_p(Some(0.001)), "0.001");
        assert_eq!(format_p(Some(0.0456)), "0.046");
        assert_eq!(format_p(None), "-");
        assert_eq!(p_is(Some(0.00001)), "p < 0.001");
        assert_eq!(p_is(Some(0.25)), "p = 0.250");
        assert_eq!(p_is(None), "no p-value (identical values)");
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
