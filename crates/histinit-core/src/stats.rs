//! Statistics computed from stored curves only.

use serde::{Deserialize, Serialize};

use crate::experiment::{RunResult, RunStatus};
use crate::init::InitMethod;

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

pub fn steps_to_baseline_fraction(
    runs: &[RunResult],
    baseline: InitMethod,
    fraction: f64,
    total_steps: usize,
) -> Vec<FractionReach> {
    let at_step = fraction * total_steps as f64 - 1.0;
    let mut inits: Vec<InitMethod> = Vec::new();
    for run in runs {
        if !inits.contains(&run.init) {
            inits.push(run.init);
        }
    }
    inits
        .into_iter()
        .map(|init| {
            let own: Vec<&RunResult> = runs.iter().filter(|run| run.init == init).collect();
            let steps: Vec<f64> = own
                .iter()
                .filter_map(|run| {
                    let base = runs
                        .iter()
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

/// Summarises runs against `baseline` (usually `kaiming`), pairing runs by seed.
pub fn summarize(runs: &[RunResult], baseline: InitMethod) -> Summary {
    let mut inits: Vec<InitMethod> = Vec::new();
    for run in runs {
        if !inits.contains(&run.init) {
            inits.push(run.init);
        }
    }
    let baseline_run = |seed: u64| {
        runs.iter()
            .find(|run| run.init == baseline && run.seed == seed)
    };
    let summaries = inits
        .into_iter()
        .map(|init| {
            let own: Vec<&RunResult> = runs.iter().filter(|run| run.init == init).collect();
            let finals: Vec<f64> = own
                .iter()
                .filter_map(|run| run.final_val_loss())
                .filter(|v| v.is_finite())
                .collect();
            let (mean, std) = mean_and_spread(&finals);
            let mut steps = Vec::new();
            let mut baseline_steps = Vec::new();
            for run in &own {
                let Some(base) = baseline_run(run.seed) else {
                    continue;
                };
                let Some(target) = base.final_val_loss().filter(|v| v.is_finite()) else {
                    continue;
                };
                let Some(base_steps) = steps_to_reach(&base.val_curve(), target) else {
                    continue;
                };
                if let Some(reached) = steps_to_reach(&run.val_curve(), target) {
                    steps.push(reached);
                    baseline_steps.push(base_steps);
                }
            }
            let steps_mean = (!steps.is_empty()).then(|| mean_and_spread(&steps).0);
            // A mean over only the seeds that got there would flatter the init: report a
            // speedup only when every seed reached the baseline's final loss.
            let speedup = steps_mean
                .filter(|&s| s > 0.0 && steps.len() == own.len())
                .map(|s| mean_and_spread(&baseline_steps).0 / s);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::CurvePoint;

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
                role_grad_norms: vec![],
            })
            .collect();
        RunResult {
            init,
            seed,
            status: RunStatus::Completed,
            points,
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
        let summary = summarize(&runs, InitMethod::Kaiming);
        let pythia = summary
            .inits
            .iter()
            .find(|s| s.init == InitMethod::Pythia)
            .unwrap();
        assert_eq!(pythia.steps_to_baseline_final, Some(50.0));
        assert!((pythia.speedup.unwrap() - 2.0).abs() < 1e-9);
        let kaiming = summary
            .inits
            .iter()
            .find(|s| s.init == InitMethod::Kaiming)
            .unwrap();
        assert_eq!(kaiming.speedup, Some(1.0));
        assert_eq!(pythia.reached_baseline, 2);
    }
}
