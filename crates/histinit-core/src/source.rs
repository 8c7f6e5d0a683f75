//! What histogram-based inits draw from: the [`WeightSource`] trait, trained weights
//! and histogram files as sources ([`HistogramSource`], with the [`ScaleRule`] that fits
//! a source of another shape to the target), and [`RunSources`], the sources one
//! experiment has loaded.

use serde::{Deserialize, Serialize};

use crate::config::ModelConfig;
use crate::error::{ConfigError, InitError};
use crate::histogram::*;
use crate::params::{ParamSpec, Weights};
use crate::recipes::{pythia_std, InitMethod};

/// How a histogram taken from a model of another shape is rescaled for the target
/// tensor (see docs/histograms.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScaleRule {
    /// The source's values unchanged.
    AsIs,
    /// Multiplied by sqrt(fan_in_source / fan_in_target), keeping the output variance.
    FanIn,
    /// The source's standardized shape times the target's `pythia` std.
    #[default]
    ShapeOnly,
}

impl ScaleRule {
    pub const ALL: [ScaleRule; 3] = [ScaleRule::AsIs, ScaleRule::FanIn, ScaleRule::ShapeOnly];

    pub fn name(self) -> &'static str {
        match self {
            ScaleRule::AsIs => "as-is",
            ScaleRule::FanIn => "fan-in",
            ScaleRule::ShapeOnly => "shape-only",
        }
    }

    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        Self::ALL
            .into_iter()
            .find(|rule| rule.name() == text)
            .ok_or_else(|| ConfigError::UnknownValue {
                field: "scale",
                value: text.to_string(),
                expected: "as-is, fan-in, shape-only",
            })
    }
}

/// What a histogram-based init draws from, per tensor. The histogram module
/// implements it from a histogram file; trained weights implement it directly.
pub trait WeightSource {
    /// Sorted quantile knots `(probability, value)` spanning [0, 1] for the tensor.
    fn quantiles(&self, spec: &ParamSpec) -> Option<Vec<(f64, f64)>>;
    /// Mean and standard deviation of the tensor.
    fn moments(&self, spec: &ParamSpec) -> Option<(f64, f64)>;
    /// The trained values themselves (same shape as the spec), where available.
    fn values(&self, spec: &ParamSpec) -> Option<Vec<f32>>;
    /// The fitted family `parametric` draws from, already scaled for the tensor.
    fn family(&self, spec: &ParamSpec) -> Option<Family>;
}

/// Trained weights used as a source: exact values, moments and quantiles.
impl WeightSource for Weights {
    fn quantiles(&self, spec: &ParamSpec) -> Option<Vec<(f64, f64)>> {
        let mut values: Vec<f64> = self
            .get(&spec.name)?
            .values
            .iter()
            .map(|&v| v as f64)
            .collect();
        values.sort_by(f64::total_cmp);
        let n = values.len();
        if n == 0 {
            return None;
        }
        let knots = (0..n).map(|i| {
            (
                if n == 1 {
                    0.5
                } else {
                    i as f64 / (n - 1) as f64
                },
                values[i],
            )
        });
        Some(knots.collect())
    }

    fn moments(&self, spec: &ParamSpec) -> Option<(f64, f64)> {
        let values = &self.get(&spec.name)?.values;
        Some(mean_std(values))
    }

    fn values(&self, spec: &ParamSpec) -> Option<Vec<f32>> {
        self.get(&spec.name).map(|tensor| tensor.values.clone())
    }

    /// The zoo fitted to this tensor alone (trained weights carry no role pooling).
    fn family(&self, spec: &ParamSpec) -> Option<Family> {
        let tensor = self.get(&spec.name)?;
        let histogram = TensorHistogram::from_values(
            &spec.name,
            spec.role,
            spec.layer,
            1,
            &tensor.shape,
            spec.fan_in.max(1),
            &tensor.values,
        )
        .ok()?
        .with_fits();
        best_fit(&histogram.fits).map(|fit| fit.family)
    }
}

pub fn mean_std(values: &[f32]) -> (f64, f64) {
    let n = values.len().max(1) as f64;
    let mean = values.iter().map(|&v| v as f64).sum::<f64>() / n;
    let var = values
        .iter()
        .map(|&v| (v as f64 - mean).powi(2))
        .sum::<f64>()
        / n;
    (mean, var.sqrt())
}

/// A histogram file as the source of `empirical`, `gaussian-matched` and `parametric`
/// inits for a target model, possibly of another shape (docs/histograms.md, "Inits").
///
/// Lookup for a target tensor: the source tensor with the same name and shape; else
/// the source tensor of the same role at the nearest depth fraction (preferring the
/// same kind, i.e. the same name up to the layer index, so a block's four biases or
/// two norms are told apart); else the pooled role; for an unembedding missing from a
/// model with tied embeddings (BERT, GPT-2), the embedding; for a fused `qkv` target whose
/// source has separate `q`/`k`/`v` projections, the pooled mixture of the three.
///
/// Norm gains, norm biases and biases are dimensionless offsets, not fan-in-scaled
/// weights: no rule rescales them. Under `shape-only` (which borrows `pythia`'s
/// scale, and `pythia` sets them to constants) they are `pythia`'s constants 1 and 0;
/// under `as-is` and `fan-in` they come from the source unchanged, or are those
/// constants where the source has no such role.
#[derive(Debug, Clone)]
pub struct HistogramSource {
    file: HistogramFile,
    scale: ScaleRule,
    target: ModelConfig,
    qkv_mixture: Option<TensorHistogram>,
}

/// How one target tensor is drawn: an entry under the affine map `a + b x`, or a
/// constant.
enum Resolved<'a> {
    Scaled {
        entry: &'a TensorHistogram,
        a: f64,
        b: f64,
    },
    Constant(f64),
}

/// The name with its layer index replaced by `*`: `gpt_neox.layers.*.attention.dense.bias`.
fn kind(name: &str) -> String {
    let mut parts: Vec<&str> = name.split('.').collect();
    for i in 1..parts.len() {
        if parts[i - 1] == "layers" && parts[i].parse::<usize>().is_ok() {
            parts[i] = "*";
        }
    }
    parts.join(".")
}

impl HistogramSource {
    /// A source drawing from `file` for tensors of `target`, rescaled by `scale`.
    pub fn new(
        file: HistogramFile,
        scale: ScaleRule,
        target: ModelConfig,
    ) -> Result<Self, HistogramError> {
        file.validate()?;
        let separate: Vec<&TensorHistogram> = [Role::Q, Role::K, Role::V]
            .into_iter()
            .filter_map(|role| file.pooled(role))
            .collect();
        let qkv_mixture = if file.pooled(Role::Qkv).is_none() && !separate.is_empty() {
            Some(TensorHistogram::pool(Role::Qkv.name(), Role::Qkv, &separate)?.with_fits())
        } else {
            None
        };
        Ok(HistogramSource {
            file,
            scale,
            target,
            qkv_mixture,
        })
    }

    pub fn file(&self) -> &HistogramFile {
        &self.file
    }

    /// The source entry a target tensor draws from (see the type's documentation).
    pub fn entry(&self, spec: &ParamSpec) -> Option<&TensorHistogram> {
        let tensors = &self.file.tensors;
        if let Some(same) = tensors
            .iter()
            .find(|t| t.name == spec.name && t.shape == spec.shape)
        {
            return Some(same);
        }
        let depth = spec.depth_fraction(self.target.layers);
        let same_role: Vec<&TensorHistogram> =
            tensors.iter().filter(|t| t.role == spec.role).collect();
        let target_kind = kind(&spec.name);
        let same_kind: Vec<&TensorHistogram> = same_role
            .iter()
            .copied()
            .filter(|t| kind(&t.name) == target_kind)
            .collect();
        let candidates = if same_kind.is_empty() {
            same_role
        } else {
            same_kind
        };
        // min_by keeps the first of equally near entries: the shallower one.
        if let Some(nearest) = candidates.into_iter().min_by(|a, b| {
            (a.depth_fraction - depth)
                .abs()
                .total_cmp(&(b.depth_fraction - depth).abs())
        }) {
            return Some(nearest);
        }
        if let Some(pooled) = self.file.pooled(spec.role) {
            return Some(pooled);
        }
        match spec.role {
            Role::Qkv => self.qkv_mixture.as_ref(),
            Role::Q | Role::K | Role::V => self.file.pooled(Role::Qkv),
            // Models that tie the output layer to the token embedding (BERT, GPT-2)
            // store no unembedding: the embedding is what their output layer was.
            Role::Unembed => self
                .file
                .pooled(Role::Embed)
                .or_else(|| tensors.iter().find(|t| t.role == Role::Embed)),
            _ => None,
        }
    }

    fn resolve(&self, spec: &ParamSpec) -> Option<Resolved<'_>> {
        let constant = match spec.role {
            Role::NormGain => Some(1.0),
            Role::NormBias | Role::Bias => Some(0.0),
            _ => None,
        };
        if let Some(constant) = constant {
            return Some(match (self.scale, self.entry(spec)) {
                (ScaleRule::ShapeOnly, _) | (_, None) => Resolved::Constant(constant),
                (_, Some(entry)) => Resolved::Scaled {
                    entry,
                    a: 0.0,
                    b: 1.0,
                },
            });
        }
        let entry = self.entry(spec)?;
        let (a, b) = match self.scale {
            ScaleRule::AsIs => (0.0, 1.0),
            ScaleRule::FanIn => (0.0, (entry.fan_in as f64 / spec.fan_in as f64).sqrt()),
            ScaleRule::ShapeOnly => {
                let target_std = pythia_std(spec, &self.target);
                if entry.std > 0.0 {
                    let b = target_std / entry.std;
                    (-entry.mean * b, b)
                } else {
                    // A constant has no shape to keep: zeros.
                    (0.0, 0.0)
                }
            }
        };
        Some(Resolved::Scaled { entry, a, b })
    }
}

impl WeightSource for HistogramSource {
    fn quantiles(&self, spec: &ParamSpec) -> Option<Vec<(f64, f64)>> {
        Some(match self.resolve(spec)? {
            Resolved::Scaled { entry, a, b } => entry
                .quantiles
                .knots()
                .into_iter()
                .map(|(p, v)| (p, a + b * v))
                .collect(),
            Resolved::Constant(c) => vec![(0.0, c), (1.0, c)],
        })
    }

    fn moments(&self, spec: &ParamSpec) -> Option<(f64, f64)> {
        Some(match self.resolve(spec)? {
            Resolved::Scaled { entry, a, b } => (a + b * entry.mean, b * entry.std),
            Resolved::Constant(c) => (c, 0.0),
        })
    }

    /// A histogram holds no values: `permuted` and `trained` need the weights.
    fn values(&self, _spec: &ParamSpec) -> Option<Vec<f32>> {
        None
    }

    /// The role's best family (from the pooled entry's fits) with its location and
    /// scale refitted to the looked-up entry, then scaled like the other inits.
    fn family(&self, spec: &ParamSpec) -> Option<Family> {
        match self.resolve(spec)? {
            Resolved::Constant(c) => Some(Family::Normal { loc: c, scale: 0.0 }),
            Resolved::Scaled { entry, a, b } => {
                let placed = if let Some(own) = best_fit(&entry.fits) {
                    own.family
                } else {
                    let pooled = self.file.pooled(entry.role).or(self
                        .qkv_mixture
                        .as_ref()
                        .filter(|_| entry.role == Role::Qkv))?;
                    let role_fit = best_fit(&pooled.fits)?.family;
                    role_fit
                        .refit_location_scale(&entry.quantiles.probs, &entry.quantiles.values)
                        .unwrap_or(Family::Normal {
                            loc: entry.mean,
                            scale: 0.0,
                        })
                };
                Some(placed.affine(a, b))
            }
        }
    }
}

/// The sources one experiment has loaded, each with a label for the user: a histogram
/// file (what `empirical`, `gaussian-matched` and `parametric` draw from) and a
/// teacher's weights (what `permuted` and `trained` need; the distribution-based inits
/// fall back to them when there is no histogram, as the weights carry their own
/// distribution). The CLI loads them from files, the page from the network.
#[derive(Default)]
pub struct RunSources {
    pub histogram: Option<(HistogramSource, String)>,
    pub weights: Option<(Weights, String)>,
}

impl RunSources {
    /// What `init` draws from: `None` for the standard inits, an error naming what is
    /// missing for an init that needs a source this experiment does not have.
    pub fn source_for(&self, init: InitMethod) -> Result<Option<&dyn WeightSource>, InitError> {
        let histogram = self.histogram.as_ref().map(|(s, _)| s as &dyn WeightSource);
        let weights = self.weights.as_ref().map(|(w, _)| w as &dyn WeightSource);
        let (source, needs) = match init {
            InitMethod::Permuted | InitMethod::Trained => (
                weights,
                "a teacher's weights (a shipped source with weights, or --weights)",
            ),
            _ if init.needs_source() => (histogram.or(weights), "a histogram source"),
            _ => return Ok(None),
        };
        source.map(Some).ok_or(InitError::NoSource {
            init: init.name(),
            needs,
        })
    }
}

#[cfg(test)]
mod tests;
