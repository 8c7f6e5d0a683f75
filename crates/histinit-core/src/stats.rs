//! Statistics computed from stored curves only.

use serde::{Deserialize, Serialize};

use std::borrow::Borrow;

use crate::init::InitMethod;
use crate::run::{RunResult, RunStatus};

/// Mean and sample standard deviation (0 for a single value).
pub fn mean_and_spread(values: &[f64]) -> (f64, f64) {
    if values.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    if values.len() < 2 {
        return (mean, 0.0);
    }
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, var.sqrt())
}

/// The inits of `runs`, each once, in order of first appearance.
fn inits_in_order<R: Borrow<RunResult>>(runs: &[R]) -> Vec<InitMethod> {
    let mut inits: Vec<InitMethod> = Vec::new();
    for run in runs.iter().map(Borrow::borrow) {
        if !inits.contains(&run.init) {
            inits.push(run.init);
        }
    }
    inits
}

/// First step at which a validation curve reaches `target` or lower, linearly
/// interpolated between evaluation points; `None` if it never does.
pub fn steps_to_reach(curve: &[(usize, f64)], target: f64) -> Option<f64> {
    let mut previous: Option<(usize, f64)> = None;
    for &(step, loss) in curve {
        if loss <= target {
            return Some(match previous {
                Some((prev_step, prev_loss)) if prev_loss > loss => {
                    let fraction = (prev_loss - target) / (prev_loss - loss);
                    prev_step as f64 + fraction * (step - prev_step) as f64
                }
                _ => step as f64,
            });
        }
        previous = Some((step, loss));
    }
    None
}

/// The loss of a curve at `step`, linearly interpolated between evaluation points;
/// `None` before the first point or after the last.
pub fn loss_at(curve: &[(usize, f64)], step: f64) -> Option<f64> {
    let upper = curve.iter().position(|&(s, _)| s as f64 >= step)?;
    let (s1, l1) = curve[upper];
    if s1 as f64 == step {
        return Some(l1);
    }
    if upper == 0 {
        return None;
    }
    let (s0, l0) = curve[upper - 1];
    Some(l0 + (l1 - l0) * (step - s0 as f64) / (s1 - s0) as f64)
}

/// How fast each init reaches the baseline's loss at `fraction` of the baseline's
/// `total_steps` (paired by seed, like [`summarize`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FractionReach {
    pub init: InitMethod,
    /// Mean over seeds; `None` until every seed has reached the target (or the
    /// baseline has not got that far yet).
    pub steps: Option<f64>,
    pub reached: usize,
    pub runs: usize,
}

pub fn steps_to_baseline_fraction<R: Borrow<RunResult>>(
    runs: &[R],
    baseline: InitMethod,
    fraction: f64,
    total_steps: usize,
) -> Vec<FractionReach> {
    let at_step = fraction * total_steps as f64 - 1.0;
    let inits = inits_in_order(runs);
    inits
        .into_iter()
        .map(|init| {
            let own: Vec<&RunResult> = runs
                .iter()
                .map(Borrow::borrow)
                .filter(|run| run.init == init)
                .collect();
            let steps: Vec<f64> = own
                .iter()
                .filter_map(|run| {
                    let base = runs
                        .iter()
                        .map(Borrow::borrow)
                        .find(|other| other.init == baseline && other.seed == run.seed)?;
                    let target = loss_at(&base.val_curve(), at_step.max(0.0))?;
                    steps_to_reach(&run.val_curve(), target)
                })
                .collect();
            FractionReach {
                init,
                steps: (steps.len() == own.len() && !steps.is_empty())
                    .then(|| mean_and_spread(&steps).0),
                reached: steps.len(),
                runs: own.len(),
            }
        })
        .collect()
}

/// Per-init summary over seeds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InitSummary {
    pub init: InitMethod,
    pub runs: usize,
    pub diverged: usize,
    pub final_val_loss_mean: f64,
    pub final_val_loss_std: f64,
    /// Mean over seeds of the step where this init first reaches the baseline's final
    /// validation loss of the same seed (paired); `None` if no seed reaches it.
    pub steps_to_baseline_final: Option<f64>,
    /// Seeds that reached the baseline's final loss.
    pub reached_baseline: usize,
    /// Baseline steps divided by this init's steps (above 1 is faster); only when every
    /// seed reached the baseline's final loss.
    pub speedup: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub baseline: InitMethod,
    pub inits: Vec<InitSummary>,
}

/// Summarises runs of `total_steps` steps against `baseline` (usually `kaiming`),
/// pairing runs by seed. Takes runs or references to them (the page summarizes without
/// copying curves).
pub fn summarize<R: Borrow<RunResult>>(
    runs: &[R],
    baseline: InitMethod,
    total_steps: usize,
) -> Summary {
    let inits = inits_in_order(runs);
    let baseline_run = |seed: u64| {
        runs.iter()
            .map(Borrow::borrow)
            .find(|run: &&RunResult| run.init == baseline && run.seed == seed)
    };
    let summaries = inits
        .into_iter()
        .map(|init| {
            let own: Vec<&RunResult> = runs
                .iter()
                .map(Borrow::borrow)
                .filter(|run| run.init == init)
                .collect();
            let finals: Vec<f64> = own
                .iter()
                .filter_map(|run| run.final_val_loss())
                .filter(|v| v.is_finite())
                .collect();
            let (mean, std) = mean_and_spread(&finals);
            let mut steps = Vec::new();
            for run in &own {
                let Some(base) = baseline_run(run.seed) else {
                    continue;
                };
                let Some(target) = base.final_val_loss().filter(|v| v.is_finite()) else {
                    continue;
                };
                if let Some(reached) = steps_to_reach(&run.val_curve(), target) {
                    steps.push(reached);
                }
            }
            let steps_mean = (!steps.is_empty()).then(|| mean_and_spread(&steps).0);
            // The speedup of the sweeps and reports, at the baseline's end; only where
            // every seed reached the baseline's final loss: a seed that never got there
            // would make it an upper bound, which a table cell would present as a value.
            let at_end = paired_speedups(&own, baseline_run, 1.0, total_steps);
            let speedup = (at_end.reached == own.len() && at_end.reached == at_end.per_seed.len())
                .then(|| geometric_mean(&at_end.per_seed))
                .flatten();
            InitSummary {
                init,
                runs: own.len(),
                diverged: own
                    .iter()
                    .filter(|run| matches!(run.status, RunStatus::Diverged { .. }))
                    .count(),
                final_val_loss_mean: mean,
                final_val_loss_std: std,
                steps_to_baseline_final: steps_mean,
                reached_baseline: steps.len(),
                speedup,
            }
        })
        .collect();
    Summary {
        baseline,
        inits: summaries,
    }
}

/// Per-seed speedups of one init at a progress point of the baseline (see
/// [`SpeedupAt::per_seed`]): the one definition behind every speedup histinit shows.
struct PairedSpeedups {
    per_seed: Vec<f64>,
    reached: usize,
}

fn paired_speedups<'a>(
    own: &[&RunResult],
    base_of: impl Fn(u64) -> Option<&'a RunResult>,
    fraction: f64,
    total_steps: usize,
) -> PairedSpeedups {
    let at_step = (fraction * total_steps as f64 - 1.0).max(0.0);
    let mut per_seed = Vec::new();
    let mut reached = 0;
    for run in own {
        let Some(base) = base_of(run.seed) else {
            continue;
        };
        let base_curve = base.val_curve();
        let Some(target) = loss_at(&base_curve, at_step) else {
            continue;
        };
        let Some(base_steps) = steps_to_reach(&base_curve, target) else {
            continue;
        };
        // Counted in updates (step s is after s + 1 updates).
        let own_updates = match steps_to_reach(&run.val_curve(), target) {
            Some(steps) => {
                reached += 1;
                steps + 1.0
            }
            None => total_steps as f64,
        };
        per_seed.push((base_steps + 1.0) / own_updates);
    }
    PairedSpeedups { per_seed, reached }
}

/// The geometric mean of ratios (the mean of their logarithms, as [`bootstrap_mean`]
/// takes it); `None` for none.
pub fn geometric_mean(ratios: &[f64]) -> Option<f64> {
    if ratios.is_empty() {
        return None;
    }
    let logs: Vec<f64> = ratios.iter().map(|s| s.ln()).collect();
    Some(arithmetic_mean(&logs).exp())
}

fn arithmetic_mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

/// Progress points of the baseline at which speedups are reported.
pub const PROGRESS_FRACTIONS: [f64; 4] = [0.1, 0.25, 0.5, 1.0];

/// An estimate with its 95% bootstrap confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    pub estimate: f64,
    pub low: f64,
    pub high: f64,
}

impl Interval {
    pub fn contains(&self, value: f64) -> bool {
        self.low <= value && value <= self.high
    }
}

/// How much sooner an init reaches the loss the baseline (same seed) has after
/// `fraction` of its steps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpeedupAt {
    pub fraction: f64,
    /// Seeds with both runs present and a baseline target.
    pub seeds: usize,
    /// Seeds whose run reached the target before its last step.
    pub reached: usize,
    /// Per seed: baseline updates / this init's updates to reach the target. A seed
    /// that never reached it counts at its best possible value (its run's length), so
    /// with `reached < seeds` the estimate is an upper bound.
    pub per_seed: Vec<f64>,
    /// Geometric mean over seeds with a bootstrap CI over seeds.
    pub speedup: Option<Interval>,
    /// Two-sided paired t-test of a zero mean log speedup (with 5 seeds the percentile
    /// bootstrap is narrow, so verdicts ask for both). `None` where no test is defined
    /// ([`SpeedupAt::test`]): no seed reached the target (every value is a censored
    /// bound: "never reached"), or every seed has the same value.
    #[serde(default)]
    pub p_value: Option<f64>,
    /// `p_value` Holm-adjusted over its family (every test of a sweep, see [`holm`]);
    /// `None` where no family was adjusted (the baseline against itself, or summaries
    /// written before adjusted p-values).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p_adjusted: Option<f64>,
}

impl SpeedupAt {
    /// The p-value of the speedups `per_seed` of which `reached` are measurements (the
    /// rest censored at their run's length): the paired t-test of a zero mean log
    /// speedup, `None` where no seed reached the target or the values are identical.
    pub fn test(per_seed: &[f64], reached: usize) -> Option<f64> {
        let logs: Vec<f64> = per_seed.iter().map(|s| s.ln()).collect();
        paired_t_p_value(&logs).filter(|_| reached > 0)
    }

    /// Drops a p-value no test defines ([`SpeedupAt::test`]): summaries written before
    /// the rule held one (0 or 1) for identical or censored values.
    pub fn clear_undefined_p_value(&mut self) {
        if Self::test(&self.per_seed, self.reached).is_none() {
            self.p_value = None;
        }
    }
}

/// Final validation loss of an init minus the baseline's, paired by seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FinalDifference {
    pub seeds: usize,
    pub per_seed: Vec<f64>,
    /// Mean difference (negative: this init ends lower) with a bootstrap CI.
    pub difference: Interval,
    /// Two-sided paired t-test of a zero mean difference; `None` where fewer than two
    /// seeds or identical differences leave it undefined.
    #[serde(default)]
    pub p_value: Option<f64>,
    /// `p_value` Holm-adjusted over its family, as [`SpeedupAt::p_adjusted`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p_adjusted: Option<f64>,
    /// The equivalence test of the same differences, where a margin was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equivalence: Option<Equivalence>,
}

/// Two one-sided paired t-tests (TOST) that the mean difference lies within
/// `±margin`: equivalence is shown when both reject, i.e. when `p_value` (the larger
/// of the two one-sided p-values) is below the level.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Equivalence {
    /// The margin (same unit as the differences), stated before the runs.
    pub margin: f64,
    /// max(p of "mean ≤ −margin", p of "mean ≥ +margin"); `None` where undefined
    /// ([`tost_p_value`]).
    #[serde(default)]
    pub p_value: Option<f64>,
    /// `p_value` Holm-adjusted over its family, as [`SpeedupAt::p_adjusted`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p_adjusted: Option<f64>,
}

impl Equivalence {
    pub fn test(differences: &[f64], margin: f64) -> Self {
        Self {
            margin,
            p_value: tost_p_value(differences, margin),
            p_adjusted: None,
        }
    }
}

impl FinalDifference {
    /// The difference of paired values `per_seed` with its interval and test.
    pub fn of(per_seed: Vec<f64>, seed: u64) -> Self {
        Self {
            seeds: per_seed.len(),
            difference: bootstrap_mean(&per_seed, seed),
            p_value: paired_t_p_value(&per_seed),
            p_adjusted: None,
            equivalence: None,
            per_seed,
        }
    }

    /// Drops p-values no test defines (see [`paired_t_p_value`], [`tost_p_value`]),
    /// held by summaries written before the rule.
    pub fn clear_undefined_p_values(&mut self) {
        if paired_t_p_value(&self.per_seed).is_none() {
            self.p_value = None;
        }
        if let Some(equivalence) = &mut self.equivalence {
            if tost_p_value(&self.per_seed, equivalence.margin).is_none() {
                equivalence.p_value = None;
            }
        }
    }
}

/// One init against the baseline, from stored curves only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub init: InitMethod,
    pub runs: usize,
    pub diverged: usize,
    pub final_val_loss_mean: f64,
    pub final_val_loss_std: f64,
    pub speedups: Vec<SpeedupAt>,
    pub final_difference: Option<FinalDifference>,
}

/// Bootstrap resamples behind every interval.
pub const BOOTSTRAP_RESAMPLES: usize = 10_000;

/// Compares every init of `runs` with `baseline`, pairing runs by seed. `total_steps`
/// is the runs' length; `seed` fixes the bootstrap, so a summary is reproducible.
pub fn compare(
    runs: &[RunResult],
    baseline: InitMethod,
    total_steps: usize,
    seed: u64,
) -> Vec<Comparison> {
    let inits = inits_in_order(runs);
    let base_of = |seed: u64| {
        runs.iter()
            .find(|run| run.init == baseline && run.seed == seed)
    };
    inits
        .into_iter()
        .map(|init| {
            let own: Vec<&RunResult> = runs.iter().filter(|run| run.init == init).collect();
            let finals: Vec<f64> = own
                .iter()
                .filter_map(|run| run.final_val_loss())
                .filter(|v| v.is_finite())
                .collect();
            let (mean, std) = mean_and_spread(&finals);
            let speedups = PROGRESS_FRACTIONS
                .iter()
                .map(|&fraction| {
                    let PairedSpeedups { per_seed, reached } =
                        paired_speedups(&own, base_of, fraction, total_steps);
                    let logs: Vec<f64> = per_seed.iter().map(|s| s.ln()).collect();
                    let p_value = SpeedupAt::test(&per_seed, reached);
                    let speedup = geometric_mean(&per_seed).map(|estimate| {
                        let interval = bootstrap_mean(&logs, seed ^ fraction.to_bits());
                        Interval {
                            estimate,
                            low: interval.low.exp(),
                            high: interval.high.exp(),
                        }
                    });
                    SpeedupAt {
                        fraction,
                        seeds: per_seed.len(),
                        reached,
                        p_value,
                        p_adjusted: None,
                        per_seed,
                        speedup,
                    }
                })
                .collect();
            let differences: Vec<f64> = own
                .iter()
                .filter_map(|run| {
                    let own_final = run.final_val_loss().filter(|v| v.is_finite())?;
                    let base_final = base_of(run.seed)?.final_val_loss()?;
                    base_final.is_finite().then_some(own_final - base_final)
                })
                .collect();
            let final_difference = (!differences.is_empty())
                .then(|| FinalDifference::of(differences, seed.wrapping_add(1)));
            Comparison {
                init,
                runs: own.len(),
                diverged: own
                    .iter()
                    .filter(|run| matches!(run.status, RunStatus::Diverged { .. }))
                    .count(),
                final_val_loss_mean: mean,
                final_val_loss_std: std,
                speedups,
                final_difference,
            }
        })
        .collect()
}

/// The mean of `values` with a 95% percentile-bootstrap interval (resampling the
/// values, i.e. the seeds, with replacement).
pub fn bootstrap_mean(values: &[f64], seed: u64) -> Interval {
    use rand::{Rng, SeedableRng};
    let n = values.len();
    let mean = arithmetic_mean(values);
    if n < 2 {
        return Interval {
            estimate: mean,
            low: mean,
            high: mean,
        };
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut means: Vec<f64> = (0..BOOTSTRAP_RESAMPLES)
        .map(|_| (0..n).map(|_| values[rng.random_range(0..n)]).sum::<f64>() / n as f64)
        .collect();
    means.sort_by(f64::total_cmp);
    let at = |q: f64| means[((q * (means.len() - 1) as f64).round() as usize).min(means.len() - 1)];
    Interval {
        estimate: mean,
        low: at(0.025),
        high: at(0.975),
    }
}

/// Two-sided p-value of a paired t-test that the mean of `differences` is zero. `None`
/// where the test is undefined: fewer than two values, identical values (no spread, so
/// no t statistic: a p of 0 or 1 there would be an artefact, such as seeds that all sit
/// at the same censored value), or a non-finite mean.
pub fn paired_t_p_value(differences: &[f64]) -> Option<f64> {
    let n = differences.len();
    if n < 2 {
        return None;
    }
    let (mean, sd) = mean_and_spread(differences);
    if sd == 0.0 || !mean.is_finite() || !sd.is_finite() {
        return None;
    }
    let t = mean / (sd / (n as f64).sqrt());
    let tail = 1.0 - histinit_histogram::special::student_t_cdf(t.abs(), (n - 1) as f64);
    Some((2.0 * tail).clamp(0.0, 1.0))
}

/// The p-value of two one-sided paired t-tests (TOST) that the mean of `differences`
/// lies within `±margin`: the larger of the one-sided p-values of "mean ≤ −margin" and
/// "mean ≥ +margin". Below a level α, equivalence within the margin is shown at α.
/// `None` where the test is undefined: fewer than two differences, identical ones, a
/// non-finite mean, or a margin that is not positive.
pub fn tost_p_value(differences: &[f64], margin: f64) -> Option<f64> {
    let n = differences.len();
    if n < 2 || margin.is_nan() || margin <= 0.0 {
        return None;
    }
    let (mean, sd) = mean_and_spread(differences);
    if sd == 0.0 || !mean.is_finite() || !sd.is_finite() {
        return None;
    }
    let se = sd / (n as f64).sqrt();
    let dof = (n - 1) as f64;
    let cdf = |t: f64| histinit_histogram::special::student_t_cdf(t, dof);
    // H0: mean ≤ −margin, rejected for large t; H0: mean ≥ margin, for small t.
    let above_lower = 1.0 - cdf((mean + margin) / se);
    let below_upper = cdf((mean - margin) / se);
    Some(above_lower.max(below_upper).clamp(0.0, 1.0))
}

/// Holm–Bonferroni adjusted p-values of one family of tests, in the order given:
/// sorted ascending, the i-th smallest (from 0) is multiplied by `m − i`, capped at 1,
/// and each adjusted value is raised to the largest before it (so the adjusted values
/// keep the raw values' order and tied raw values get one adjusted value). Rejecting
/// where the adjusted value is below α controls the family-wise error rate at α.
/// A NaN stays NaN and counts in `m`.
pub fn holm(p_values: &[f64]) -> Vec<f64> {
    let m = p_values.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p_values[a].total_cmp(&p_values[b]));
    let mut adjusted = vec![f64::NAN; m];
    let mut running = 0.0f64;
    for (rank, &index) in order.iter().enumerate() {
        let p = p_values[index];
        if p.is_nan() {
            continue;
        }
        running = running.max(((m - rank) as f64 * p).min(1.0));
        adjusted[index] = running;
    }
    adjusted
}

/// An init × factor interaction on the final validation loss, paired by seed: per seed,
/// the init's difference from the baseline at level `to` of a factor minus its difference
/// at level `from` (negative: the change from `from` to `to` costs this init less than it
/// costs the baseline). For each init other than the baseline present at both levels, a
/// [`FinalDifference`] of those per-seed values (bootstrap interval, paired t-test);
/// seeds missing a run, or with a non-finite final loss, at either level are left out.
pub fn interaction(
    from: &[RunResult],
    to: &[RunResult],
    baseline: InitMethod,
    seed: u64,
) -> Vec<(InitMethod, FinalDifference)> {
    let final_of = |runs: &[RunResult], init: InitMethod, seed: u64| {
        runs.iter()
            .find(|run| run.init == init && run.seed == seed)
            .and_then(RunResult::final_val_loss)
            .filter(|v| v.is_finite())
    };
    inits_in_order(from)
        .into_iter()
        .filter(|&init| init != baseline)
        .filter_map(|init| {
            let per_seed: Vec<f64> = from
                .iter()
                .filter(|run| run.init == init)
                .filter_map(|run| {
                    let at = |runs| {
                        Some(final_of(runs, init, run.seed)? - final_of(runs, baseline, run.seed)?)
                    };
                    Some(at(to)? - at(from)?)
                })
                .collect();
            (!per_seed.is_empty()).then(|| (init, FinalDifference::of(per_seed, seed)))
        })
        .collect()
}

/// How much the final losses depend on which text the validation set holds, from each
/// run's per-batch losses at its last evaluation ([`RunResult::final_val_batches`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidationSpread {
    /// Batches in the validation set.
    pub batches: usize,
    /// The standard error of one run's final loss over the choice of batches (the
    /// per-batch losses' standard deviation over √batches), averaged over the runs.
    pub run_se: f64,
    /// Per init other than the baseline, the standard error of its mean paired final
    /// difference from the baseline over the choice of batches: on each batch, the
    /// difference averaged over the paired seeds; their standard deviation over √batches.
    /// The seed intervals do not hold this error; it is small next to them when the
    /// set is large enough.
    pub difference_se: std::collections::BTreeMap<InitMethod, f64>,
}

/// The validation set's own sampling error of `runs` (see [`ValidationSpread`]); `None`
/// where no run kept its per-batch losses or they disagree in count (runs written before
/// they were kept).
pub fn validation_spread(runs: &[RunResult], baseline: InitMethod) -> Option<ValidationSpread> {
    let batches = runs.first()?.final_val_batches.len();
    if batches < 2
        || runs
            .iter()
            .any(|run| run.final_val_batches.len() != batches)
    {
        return None;
    }
    let se = |values: &[f64]| mean_and_spread(values).1 / (values.len() as f64).sqrt();
    let run_se = runs
        .iter()
        .map(|run| se(&run.final_val_batches))
        .sum::<f64>()
        / runs.len() as f64;
    let base_of = |seed: u64| {
        runs.iter()
            .find(|run| run.init == baseline && run.seed == seed)
    };
    let difference_se = inits_in_order(runs)
        .into_iter()
        .filter(|&init| init != baseline)
        .filter_map(|init| {
            let pairs: Vec<(&RunResult, &RunResult)> = runs
                .iter()
                .filter(|run| run.init == init)
                .filter_map(|run| Some((run, base_of(run.seed)?)))
                .collect();
            if pairs.is_empty() {
                return None;
            }
            let per_batch: Vec<f64> = (0..batches)
                .map(|b| {
                    pairs
                        .iter()
                        .map(|(own, base)| own.final_val_batches[b] - base.final_val_batches[b])
                        .sum::<f64>()
                        / pairs.len() as f64
                })
                .collect();
            Some((init, se(&per_batch)))
        })
        .collect();
    Some(ValidationSpread {
        batches,
        run_se,
        difference_se,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::CurvePoint;

    #[test]
    fn holm_matches_hand_computed_values() {
        // m = 5. Sorted: 0.01 (x5 = 0.05), 0.02 (x4 = 0.08), 0.03 (x3 = 0.09),
        // 0.04 (x2 = 0.08, raised to 0.09 by the step before), 0.5 (x1 = 0.5).
        let adjusted = holm(&[0.04, 0.5, 0.01, 0.03, 0.02]);
        let expected = [0.09, 0.5, 0.05, 0.09, 0.08];
        for (a, e) in adjusted.iter().zip(expected) {
            assert!((a - e).abs() < 1e-12, "{adjusted:?}");
        }
        // Ties: 0.01 and 0.01 take ranks 0 and 1 (x4 = 0.04, x3 = 0.03 raised to 0.04),
        // so both read 0.04 in either order; 0.02 x2 = 0.04; 0.3 x1 = 0.3.
        for input in [[0.01, 0.01, 0.02, 0.3], [0.3, 0.02, 0.01, 0.01]] {
            let adjusted = holm(&input);
            for (raw, a) in input.iter().zip(&adjusted) {
                let e = if *raw == 0.3 { 0.3 } else { 0.04 };
                assert!((a - e).abs() < 1e-12, "{input:?} -> {adjusted:?}");
            }
        }
        // Capped at 1, and the cap carries through the monotone step: 0.3 x3 = 0.9,
        // 0.4 x2 = 0.8 raised to 0.9, 0.45 x1 = 0.45 raised to 0.9; 0.6 x3 capped.
        let adjusted = holm(&[0.4, 0.3, 0.45]);
        assert!(
            adjusted.iter().all(|a| (a - 0.9).abs() < 1e-12),
            "{adjusted:?}"
        );
        assert_eq!(holm(&[0.6, 0.7, 0.9]), vec![1.0, 1.0, 1.0]);
        // One test: unchanged; none: nothing.
        assert_eq!(holm(&[0.037]), vec![0.037]);
        assert!(holm(&[]).is_empty());
        // Never below the raw value, never below Bonferroni's for the smallest.
        let raw = [0.001, 0.2, 0.0004, 0.03, 0.03, 0.06, 0.9];
        let adjusted = holm(&raw);
        assert!(raw.iter().zip(&adjusted).all(|(r, a)| a >= r));
        assert!((adjusted[2] - 0.0028).abs() < 1e-12, "{adjusted:?}");
        // 0.03 and 0.03 at ranks 2 and 3: x5 = 0.15 and x4 = 0.12 raised: 0.15 both.
        assert!((adjusted[3] - 0.15).abs() < 1e-12 && adjusted[3] == adjusted[4]);
    }

    /// Seeds' differences with a given mean and a spread (sample sd 1 × `spread`).
    fn differences(mean: f64, spread: f64) -> Vec<f64> {
        // Mean 0, sample sd exactly 1.
        let unit = [-1.0, -0.5, 0.0, 0.5, 1.0];
        let sd = mean_and_spread(&unit).1;
        unit.iter().map(|u| mean + spread * u / sd).collect()
    }

    #[test]
    fn equivalence_is_shown_only_when_the_data_pin_the_difference_inside_the_margin() {
        let margin = 0.02;
        // Clearly equivalent: mean 0.002, sd 0.004 over 5 seeds (se 0.0018).
        let tight = differences(0.002, 0.004);
        let p = tost_p_value(&tight, margin).unwrap();
        // By hand: t = (0.02 - 0.002) / 0.004 * sqrt 5 = 10.06 with 4 dof: p ≈ 0.00027.
        assert!(p < 0.001, "{p}");
        assert!(
            paired_t_p_value(&tight).unwrap() > 0.05,
            "not different either"
        );
        // Clearly different: mean 0.06, sd 0.01; no equivalence, a clear difference.
        let far = differences(0.06, 0.01);
        assert!(tost_p_value(&far, margin).unwrap() > 0.99);
        assert!(paired_t_p_value(&far).unwrap() < 0.001);
        // Too noisy to tell: mean 0.005, sd 0.05. Neither equivalent nor different.
        let noisy = differences(0.005, 0.05);
        let p = tost_p_value(&noisy, margin).unwrap();
        // t = (0.02 - 0.005) / (0.05 / sqrt 5) = 0.671 with 4 dof: p ≈ 0.27.
        assert!((0.2..0.35).contains(&p), "{p}");
        assert!(paired_t_p_value(&noisy).unwrap() > 0.5);
        // The larger one-sided p decides: a mean near the upper margin is not shown
        // equivalent, mirrored the same way (t = ±1.118: p ≈ 0.163).
        let near_upper = tost_p_value(&differences(0.015, 0.01), margin).unwrap();
        let near_lower = tost_p_value(&differences(-0.015, 0.01), margin).unwrap();
        assert!((near_upper - near_lower).abs() < 1e-12);
        assert!((0.1..0.25).contains(&near_upper), "{near_upper}");
        // Degenerate inputs: no test from one seed, from identical values (no spread,
        // no t statistic, inside the margin or not) or with no positive margin.
        assert_eq!(tost_p_value(&[0.0], margin), None);
        assert_eq!(tost_p_value(&[0.0; 5], margin), None);
        assert_eq!(tost_p_value(&[0.03; 5], margin), None);
        assert_eq!(tost_p_value(&tight, 0.0), None);
        assert_eq!(tost_p_value(&tight, f64::NAN), None);
        assert_eq!(paired_t_p_value(&[0.01]), None);
        assert_eq!(paired_t_p_value(&[0.01; 5]), None);
        assert_eq!(paired_t_p_value(&[0.0; 5]), None);
    }

    /// Loss curves `1 + 4 / (1 + rate t)` evaluated every 10 of 200 steps, with a
    /// seed-dependent rate (runs of one seed share it, as paired runs share batches).
    fn synthetic(init: InitMethod, seed: u64, speed: f64) -> RunResult {
        let rate = 0.02 * (1.0 + 0.15 * ((seed as f64) * 1.7).sin());
        let curve: Vec<(usize, f64)> = (0..200)
            .filter(|t| t % 10 == 9 || *t == 0)
            .map(|t| {
                let updates = (t + 1) as f64 * speed;
                (t, 1.0 + 4.0 / (1.0 + rate * updates))
            })
            .collect();
        run(init, seed, &curve)
    }

    #[test]
    fn a_known_twofold_speedup_is_recovered_with_a_ci_containing_two() {
        let mut runs = Vec::new();
        for seed in 1..=6 {
            // Seed-to-seed jitter in the speedup itself, centred on 2.
            let jitter = 1.0 + 0.08 * ((seed as f64) * 2.3).cos();
            runs.push(synthetic(InitMethod::Kaiming, seed, 1.0));
            runs.push(synthetic(InitMethod::Empirical, seed, 2.0 * jitter));
            runs.push(synthetic(InitMethod::Pythia, seed, 1.0));
        }
        let comparisons = compare(&runs, InitMethod::Kaiming, 200, 7);
        let empirical = comparisons
            .iter()
            .find(|c| c.init == InitMethod::Empirical)
            .unwrap();
        for at in &empirical.speedups {
            let speedup = at.speedup.unwrap();
            assert_eq!(at.reached, 6, "{at:?}");
            assert!(
                speedup.contains(2.0),
                "fraction {}: {speedup:?}",
                at.fraction
            );
            assert!(speedup.low > 1.5 && speedup.high < 2.6, "{speedup:?}");
            assert!(at.p_value.unwrap() < 0.001, "{at:?}");
        }
        let difference = empirical.final_difference.as_ref().unwrap();
        assert!(difference.difference.high < 0.0, "{difference:?}");
        assert!(difference.p_value.unwrap() < 0.01, "{difference:?}");
        // The same init under another name: speedup 1, no difference.
        let pythia = comparisons
            .iter()
            .find(|c| c.init == InitMethod::Pythia)
            .unwrap();
        for at in &pythia.speedups {
            let speedup = at.speedup.unwrap();
            assert!((speedup.estimate - 1.0).abs() < 1e-9, "{speedup:?}");
        }
        // Identical runs: every difference is 0, which no t-test can weigh.
        let same = pythia.final_difference.as_ref().unwrap();
        assert!(same.per_seed.iter().all(|&d| d == 0.0), "{same:?}");
        assert_eq!(same.p_value, None);
    }

    #[test]
    fn a_slower_init_that_never_arrives_is_bounded_and_counted() {
        let mut runs = Vec::new();
        for seed in 1..=5 {
            runs.push(synthetic(InitMethod::Kaiming, seed, 1.0));
            runs.push(synthetic(InitMethod::Pythia, seed, 0.5));
        }
        let comparisons = compare(&runs, InitMethod::Kaiming, 200, 7);
        let pythia = comparisons
            .iter()
            .find(|c| c.init == InitMethod::Pythia)
            .unwrap();
        let at_end = pythia.speedups.iter().find(|s| s.fraction == 1.0).unwrap();
        assert_eq!(at_end.reached, 0);
        assert!(at_end.speedup.unwrap().high <= 1.0);
        // Every seed censored: a bound, not a measurement, so no p-value ("never
        // reached"; bounds that differ between seeds are tested below).
        assert_eq!(at_end.p_value, None);
        let at_quarter = pythia.speedups.iter().find(|s| s.fraction == 0.25).unwrap();
        assert_eq!(at_quarter.reached, 5);
        assert!(at_quarter.speedup.unwrap().contains(0.5), "{at_quarter:?}");
        let difference = pythia.final_difference.as_ref().unwrap();
        assert!(difference.difference.low > 0.0 && difference.p_value.unwrap() < 0.01);
    }

    #[test]
    fn p_values_no_test_defines_are_dropped_from_old_summaries() {
        let censored = SpeedupAt {
            fraction: 1.0,
            seeds: 3,
            reached: 0,
            per_seed: vec![0.9, 0.8, 0.95],
            speedup: None,
            p_value: Some(0.42),
            p_adjusted: None,
        };
        let identical = SpeedupAt {
            reached: 3,
            per_seed: vec![300.0; 3],
            p_value: Some(0.0),
            ..censored.clone()
        };
        let measured = SpeedupAt {
            reached: 2,
            per_seed: vec![1.2, 1.3, 1.0],
            p_value: Some(0.3),
            ..censored.clone()
        };
        for (mut speedup, kept) in [(censored, false), (identical, false), (measured, true)] {
            let before = speedup.p_value;
            speedup.clear_undefined_p_value();
            assert_eq!(
                speedup.p_value,
                if kept { before } else { None },
                "{speedup:?}"
            );
            assert_eq!(
                SpeedupAt::test(&speedup.per_seed, speedup.reached).is_some(),
                kept
            );
        }
        let mut same = FinalDifference::of(vec![0.01; 4], 1);
        assert_eq!(same.p_value, None);
        same.p_value = Some(0.0);
        same.equivalence = Some(Equivalence {
            margin: 0.02,
            p_value: Some(0.0),
            p_adjusted: None,
        });
        same.clear_undefined_p_values();
        assert_eq!(same.p_value, None);
        assert_eq!(same.equivalence.unwrap().p_value, None);
        let mut spread = FinalDifference::of(vec![0.01, 0.02, 0.0, 0.015], 1);
        spread.equivalence = Some(Equivalence::test(&spread.per_seed, 0.02));
        let before = spread.clone();
        spread.clear_undefined_p_values();
        assert!(spread.p_value.is_some() && spread.equivalence.unwrap().p_value.is_some());
        assert_eq!(spread, before);
    }

    #[test]
    fn the_t_test_matches_a_textbook_value() {
        // Mean 1, sd 1, n 4: t = 2 with 3 dof, two-sided p = 0.1393.
        let p = paired_t_p_value(&[0.0, 1.0, 2.0, 1.0 + 0.0f64.sqrt()]).unwrap();
        let (_, sd) = mean_and_spread(&[0.0, 1.0, 2.0, 1.0]);
        assert!((sd - (2.0f64 / 3.0).sqrt()).abs() < 1e-12);
        // t = 1 / (sqrt(2/3) / 2) = 2.449 with 3 dof: p = 0.0917.
        assert!((p - 0.0917).abs() < 0.001, "{p}");
    }

    fn run(init: InitMethod, seed: u64, curve: &[(usize, f64)]) -> RunResult {
        let points = curve
            .iter()
            .map(|&(step, loss)| CurvePoint {
                step,
                tokens: step,
                train_loss: loss,
                val_loss: Some(loss),
                lr: 0.0,
                grad_norm: 0.0,
            })
            .collect();
        RunResult {
            init,
            seed,
            status: RunStatus::Completed,
            points,
            distances: Vec::new(),
            final_val_batches: Vec::new(),
        }
    }

    #[test]
    fn fractions_of_the_baseline_are_reached_in_proportion() {
        let curve = |rate: f64| -> Vec<(usize, f64)> {
            (0..100)
                .map(|t| (t, 1.0 / (1.0 + rate * t as f64)))
                .collect()
        };
        let runs = vec![
            run(InitMethod::Kaiming, 1, &curve(1.0)),
            run(InitMethod::Pythia, 1, &curve(2.0)),
        ];
        let half = steps_to_baseline_fraction(&runs, InitMethod::Kaiming, 0.5, 100);
        let pythia = half.iter().find(|r| r.init == InitMethod::Pythia).unwrap();
        // Kaiming's loss at step 49 is reached by the twice-as-fast init at step 24.5.
        assert!((pythia.steps.unwrap() - 24.5).abs() < 0.05, "{pythia:?}");
        // The baseline has not been trained to 200 steps: no target yet.
        let later = steps_to_baseline_fraction(&runs, InitMethod::Kaiming, 1.0, 200);
        assert!(later.iter().all(|r| r.steps.is_none()));
        assert_eq!(loss_at(&[(0, 4.0), (10, 2.0)], 5.0), Some(3.0));
        assert_eq!(loss_at(&[(0, 4.0), (10, 2.0)], 11.0), None);
    }

    #[test]
    fn spread_is_the_sample_standard_deviation() {
        let (mean, std) = mean_and_spread(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(mean, 2.5);
        assert!((std - (5.0f64 / 3.0).sqrt()).abs() < 1e-12);
    }

    #[test]
    fn reaching_a_target_interpolates() {
        let curve = [(0, 5.0), (10, 3.0), (20, 2.0)];
        assert_eq!(steps_to_reach(&curve, 3.0), Some(10.0));
        assert_eq!(steps_to_reach(&curve, 2.5), Some(15.0));
        assert_eq!(steps_to_reach(&curve, 1.0), None);
    }

    #[test]
    fn a_twice_as_fast_init_shows_a_speedup_of_two() {
        // Loss 1/(1+t) for the baseline and 1/(1+2t) for the other init.
        let curve = |rate: f64| -> Vec<(usize, f64)> {
            (0..=100)
                .map(|t| (t, 1.0 / (1.0 + rate * t as f64)))
                .collect()
        };
        let runs = vec![
            run(InitMethod::Kaiming, 1, &curve(1.0)),
            run(InitMethod::Pythia, 1, &curve(2.0)),
            run(InitMethod::Kaiming, 2, &curve(1.0)),
            run(InitMethod::Pythia, 2, &curve(2.0)),
        ];
        let summary = summarize(&runs, InitMethod::Kaiming, 101);
        let pythia = summary
            .inits
            .iter()
            .find(|s| s.init == InitMethod::Pythia)
            .unwrap();
        assert_eq!(pythia.steps_to_baseline_final, Some(50.0));
        // In updates: the baseline's final loss after 101, the other init's after 51.
        assert!((pythia.speedup.unwrap() - 101.0 / 51.0).abs() < 1e-9);
        let kaiming = summary
            .inits
            .iter()
            .find(|s| s.init == InitMethod::Kaiming)
            .unwrap();
        assert_eq!(kaiming.speedup, Some(1.0));
        assert_eq!(pythia.reached_baseline, 2);
    }

    /// The page's table and `histinit run` (via [`summarize`]) and the sweep summary
    /// and report (via [`compare`]) show one speedup: the same value for the same runs,
    /// over seeds that differ.
    #[test]
    fn the_summary_and_the_comparison_give_one_speedup() {
        let curve = |rate: f64| -> Vec<(usize, f64)> {
            (0..=99)
                .map(|t| (t, 1.0 / (1.0 + rate * t as f64)))
                .collect()
        };
        let mut runs = Vec::new();
        for (seed, (base_rate, rate)) in
            [(1.0, 1.7), (1.1, 2.9), (0.9, 1.2)].into_iter().enumerate()
        {
            runs.push(run(InitMethod::Kaiming, seed as u64, &curve(base_rate)));
            runs.push(run(InitMethod::Empirical, seed as u64, &curve(rate)));
        }
        let shown = |runs: &[RunResult]| {
            summarize(runs, InitMethod::Kaiming, 100)
                .inits
                .iter()
                .find(|s| s.init == InitMethod::Empirical)
                .unwrap()
                .speedup
        };
        let at_end = |runs: &[RunResult]| {
            let comparison = compare(runs, InitMethod::Kaiming, 100, 7);
            comparison
                .iter()
                .find(|c| c.init == InitMethod::Empirical)
                .unwrap()
                .speedups
                .iter()
                .find(|s| s.fraction == 1.0)
                .unwrap()
                .clone()
        };
        let reported = at_end(&runs);
        assert_eq!(reported.reached, 3);
        let estimate = reported.speedup.unwrap().estimate;
        assert_eq!(shown(&runs), Some(estimate));
        // Seeds with different speeds: the geometric mean of the per-seed ratios (1.80
        // here), not the ratio of mean steps that the page showed before.
        let expected = reported.per_seed.iter().map(|s| s.ln()).sum::<f64>() / 3.0;
        assert!((estimate - expected.exp()).abs() < 1e-12);
        let own_steps: Vec<f64> = runs
            .iter()
            .filter(|r| r.init == InitMethod::Empirical)
            .map(|r| {
                let base = runs
                    .iter()
                    .find(|b| b.init == InitMethod::Kaiming && b.seed == r.seed);
                steps_to_reach(&r.val_curve(), base.unwrap().final_val_loss().unwrap()).unwrap()
            })
            .collect();
        let ratio_of_means = 99.0 / mean_and_spread(&own_steps).0;
        assert!(
            (estimate - ratio_of_means).abs() > 0.03,
            "{estimate} {ratio_of_means}"
        );
        // A seed that never reaches the baseline's final loss: the comparison keeps a
        // bound, the table shows none.
        runs[5] = run(InitMethod::Empirical, 2, &curve(0.5));
        assert_eq!(at_end(&runs).reached, 2);
        assert_eq!(shown(&runs), None);
    }

    /// The validation set's error: one run's from its batches' spread, a paired
    /// difference's from the spread of the per-batch differences averaged over seeds.
    #[test]
    fn validation_spread_is_the_batches_standard_error() {
        let with_batches = |init, seed, batches: &[f64]| RunResult {
            final_val_batches: batches.to_vec(),
            ..run(init, seed, &[(0, 3.0), (9, 2.0)])
        };
        let runs = vec![
            with_batches(InitMethod::Kaiming, 1, &[2.0, 2.2, 1.8, 2.0]),
            with_batches(InitMethod::Empirical, 1, &[1.9, 2.1, 1.8, 2.0]),
            with_batches(InitMethod::Kaiming, 2, &[2.1, 2.3, 1.9, 2.1]),
            with_batches(InitMethod::Empirical, 2, &[2.1, 2.1, 1.8, 2.2]),
        ];
        let spread = validation_spread(&runs, InitMethod::Kaiming).unwrap();
        assert_eq!(spread.batches, 4);
        let se = |v: &[f64]| mean_and_spread(v).1 / 2.0;
        let expected_run = (se(&[2.0, 2.2, 1.8, 2.0])
            + se(&[1.9, 2.1, 1.8, 2.0])
            + se(&[2.1, 2.3, 1.9, 2.1])
            + se(&[2.1, 2.1, 1.8, 2.2]))
            / 4.0;
        assert!((spread.run_se - expected_run).abs() < 1e-12);
        // Per batch, the seed-averaged differences: (-0.1+0)/2, (-0.1-0.2)/2, (0-0.1)/2, (0+0.1)/2.
        let expected = se(&[-0.05, -0.15, -0.05, 0.05]);
        assert_eq!(spread.difference_se.len(), 1);
        assert!((spread.difference_se[&InitMethod::Empirical] - expected).abs() < 1e-12);
        // Runs that kept no batches (or disagree in count) have no spread to report.
        let mut old = runs.clone();
        old[3].final_val_batches.pop();
        assert_eq!(validation_spread(&old, InitMethod::Kaiming), None);
    }

    /// The interaction is the per-seed difference of the paired differences: an init
    /// that loses 0.1 to the baseline at `from` and 0.3 at `to` has +0.2, whatever the
    /// levels' own losses.
    #[test]
    fn interaction_is_the_difference_of_paired_differences() {
        let ended = |init, seed, loss: f64| run(init, seed, &[(0, 5.0), (9, loss)]);
        let from: Vec<RunResult> = (1..=3)
            .flat_map(|s| {
                let base = 2.0 + 0.01 * s as f64;
                [
                    ended(InitMethod::Kaiming, s, base),
                    ended(InitMethod::Empirical, s, base + 0.1),
                ]
            })
            .collect();
        let to: Vec<RunResult> = (1..=3)
            .flat_map(|s| {
                let base = 2.5 - 0.02 * s as f64;
                [
                    ended(InitMethod::Kaiming, s, base),
                    ended(InitMethod::Empirical, s, base + 0.3 + 0.01 * s as f64),
                ]
            })
            .collect();
        let result = interaction(&from, &to, InitMethod::Kaiming, 7);
        assert_eq!(result.len(), 1);
        let (init, difference) = &result[0];
        assert_eq!(*init, InitMethod::Empirical);
        assert_eq!(difference.seeds, 3);
        for (value, expected) in difference.per_seed.iter().zip([0.21, 0.22, 0.23]) {
            assert!((value - expected).abs() < 1e-9, "{value} vs {expected}");
        }
        assert!((difference.difference.estimate - 0.22).abs() < 1e-9);
        assert!(difference.p_value.unwrap() < 0.01, "{difference:?}");
        // A seed without its baseline run at one level is left out.
        let partial: Vec<RunResult> = to
            .iter()
            .filter(|r| !(r.seed == 2 && r.init == InitMethod::Kaiming))
            .cloned()
            .collect();
        assert_eq!(
            interaction(&from, &partial, InitMethod::Kaiming, 7)[0]
                .1
                .seeds,
            2
        );
    }
}
