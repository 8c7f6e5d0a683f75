//! A run's curve and what is read off it: its points, its result, distances between
//! weights, and the CSV rows the page and the CLI export.

use serde::{Deserialize, Serialize};

use crate::config::{ModelConfig, TrainConfig};
use crate::init::{quantile_at, InitMethod, InitScope};
use crate::params::{param_specs, Weights};
use crate::source::WeightSource;
use crate::train::StepMetrics;

/// One point of a run's curve.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CurvePoint {
    pub step: usize,
    pub tokens: usize,
    pub train_loss: f64,
    /// Present at evaluation steps.
    pub val_loss: Option<f64>,
    pub lr: f64,
    pub grad_norm: f64,
}

impl CurvePoint {
    /// The point of a finished step; `val_loss` where the step was an evaluation step.
    pub(super) fn from_step(
        train: &TrainConfig,
        metrics: &StepMetrics,
        val_loss: Option<f64>,
    ) -> Self {
        let step = metrics.step;
        CurvePoint {
            step,
            tokens: (step + 1) * train.batch * train.context,
            train_loss: metrics.train_loss,
            val_loss,
            lr: metrics.lr,
            grad_norm: metrics.grad_norm,
        }
    }

    /// Whether every number of the point is finite: a run stops as diverged at the
    /// first point where one is not.
    pub fn is_finite(&self) -> bool {
        self.train_loss.is_finite()
            && self.grad_norm.is_finite()
            && self.val_loss.is_none_or(f64::is_finite)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum RunStatus {
    /// Still training: an export taken now holds a partial curve.
    Running,
    /// Trained for every step of the schedule.
    Completed,
    /// The loss or gradient became non-finite at this step; the run stopped there.
    Diverged { step: usize },
    /// Stopped by the user after `steps` steps, before the end of the schedule.
    Stopped { steps: usize },
}

impl RunStatus {
    pub fn name(&self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Completed => "completed",
            RunStatus::Diverged { .. } => "diverged",
            RunStatus::Stopped { .. } => "stopped",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    pub init: InitMethod,
    pub seed: u64,
    pub status: RunStatus,
    pub points: Vec<CurvePoint>,
    /// Distance of the weights to a reference distribution at evaluation steps, where
    /// the run was given one (the sweep's teacher); empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub distances: Vec<DistancePoint>,
    /// The loss of each validation batch at the last evaluation (blocking runs: the CLI),
    /// whose mean is the final validation loss: what the validation set's own sampling
    /// error is computed from. Empty where not recorded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub final_val_batches: Vec<f64>,
}

impl RunResult {
    pub fn name(&self) -> String {
        crate::plan::run_name(self.init, self.seed)
    }

    pub fn final_val_loss(&self) -> Option<f64> {
        self.points.iter().rev().find_map(|p| p.val_loss)
    }

    pub fn val_curve(&self) -> Vec<(usize, f64)> {
        self.points
            .iter()
            .filter_map(|p| p.val_loss.map(|v| (p.step, v)))
            .collect()
    }
}

/// How far a run's weights of one part of the network are from a reference
/// distribution: the 1-Wasserstein distance between the tensors' values and the
/// reference quantiles, divided by the reference's standard deviation, averaged over
/// the part's weight matrices (weighted by size). 0 means the same distribution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DistancePoint {
    pub step: usize,
    pub scope: InitScope,
    pub w1_over_std: f64,
}

/// The parts of the network whose distance to the reference is tracked.
pub const DISTANCE_SCOPES: [InitScope; 4] = [
    InitScope::Embedding,
    InitScope::Attention,
    InitScope::Mlp,
    InitScope::Unembedding,
];

/// [`DistancePoint`]s of `weights` against `reference`, one per scope that has weight
/// matrices the reference covers.
pub fn distances_to(
    model: &ModelConfig,
    weights: &Weights,
    reference: &dyn WeightSource,
    step: usize,
) -> Vec<DistancePoint> {
    let specs = param_specs(model);
    DISTANCE_SCOPES
        .into_iter()
        .filter_map(|scope| {
            let mut total = 0.0;
            let mut count = 0usize;
            for spec in specs.iter().filter(|s| s.is_matrix && scope.contains(s)) {
                let (Some(tensor), Some(knots), Some((_, std))) = (
                    weights.get(&spec.name),
                    reference.quantiles(spec),
                    reference.moments(spec),
                ) else {
                    continue;
                };
                if std.is_nan() || std <= 0.0 || tensor.values.is_empty() || knots.is_empty() {
                    continue;
                }
                let mut values: Vec<f64> = tensor.values.iter().map(|&v| v as f64).collect();
                values.sort_by(f64::total_cmp);
                let n = values.len();
                let w1 = values
                    .iter()
                    .enumerate()
                    .map(|(i, v)| (v - quantile_at(&knots, (i as f64 + 0.5) / n as f64)).abs())
                    .sum::<f64>()
                    / n as f64;
                total += w1 / std * n as f64;
                count += n;
            }
            (count > 0).then(|| DistancePoint {
                step,
                scope,
                w1_over_std: total / count as f64,
            })
        })
        .collect()
}

/// Every run's curve as CSV, one row per step: the format of `histinit run`'s
/// curves.csv and of the page's CSV export. Fields are names and numbers only.
pub fn curves_csv(runs: &[RunResult]) -> String {
    let mut out = String::from(CURVES_CSV_HEADER);
    out.push('\n');
    for run in runs {
        for point in &run.points {
            out.push_str(&curve_row(run, point));
            out.push('\n');
        }
    }
    out
}

/// The columns of [`curve_row`].
pub const CURVES_CSV_HEADER: &str = "run,init,seed,step,tokens,train_loss,val_loss,lr,grad_norm";

/// One point of a run as a CSV row (no newline), columns as [`CURVES_CSV_HEADER`]; its
/// names through [`crate::text::csv_field`], as every CSV field that is text.
pub fn curve_row(run: &RunResult, point: &CurvePoint) -> String {
    use crate::text::csv_field;
    format!(
        "{},{},{},{},{},{},{},{},{}",
        csv_field(&run.name()),
        csv_field(run.init.name()),
        run.seed,
        point.step,
        point.tokens,
        point.train_loss,
        point.val_loss.map(|v| v.to_string()).unwrap_or_default(),
        point.lr,
        point.grad_norm
    )
}

/// Whether `step` (0-based, after the update) is an evaluation step: the first, every
/// `eval_every`-th and the last.
pub fn is_eval_step(train: &TrainConfig, step: usize) -> bool {
    step == 0 || (step + 1).is_multiple_of(train.eval_every) || step + 1 == train.steps
}
