//! The standard (source-free) initializations: what PyTorch, He et al. and GPT-NeoX
//! draw for each tensor, and the names of every init histinit compares.

use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal, Uniform};
use serde::{Deserialize, Serialize};

use crate::config::ModelConfig;
use crate::error::ConfigError;
use crate::params::{ParamSpec, Role};

/// The initializations histinit compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InitMethod {
    /// What a PyTorch (or Burn) user gets by default: linear weights and biases
    /// U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (Kaiming-uniform with a = sqrt(5)),
    /// embeddings N(0, 1), LayerNorm gain 1 and bias 0.
    Kaiming,
    /// He et al.: every matrix N(0, sqrt(2 / fan_in)), biases 0, LayerNorm 1 and 0.
    HeNormal,
    /// GPT-NeoX's recipe for Pythia: small_init N(0, sqrt(2 / (5d))) for embeddings,
    /// QKV, MLP-in and unembedding; wang_init N(0, 2 / (L sqrt(d))) for the attention
    /// output and MLP output projections; biases 0; LayerNorm gain 1 and bias 0.
    Pythia,
    /// Inverse-CDF samples from a trained model's per-tensor quantile table.
    Empirical,
    /// A Gaussian with the trained tensor's mean and std (controls for scale vs shape).
    GaussianMatched,
    /// The best-fitting (smallest KS) family of a small zoo (normal, logistic, Laplace,
    /// Student-t, Johnson SU) fitted to the role: can a standard law replace the table?
    Parametric,
    /// The trained tensor's own values, randomly permuted (keeps the exact marginal,
    /// destroys structure).
    Permuted,
    /// The trained tensor itself (an upper reference, not an init one could use).
    Trained,
}

impl InitMethod {
    pub const ALL: [InitMethod; 8] = [
        InitMethod::Kaiming,
        InitMethod::HeNormal,
        InitMethod::Pythia,
        InitMethod::Empirical,
        InitMethod::GaussianMatched,
        InitMethod::Parametric,
        InitMethod::Permuted,
        InitMethod::Trained,
    ];

    pub fn name(self) -> &'static str {
        match self {
            InitMethod::Kaiming => "kaiming",
            InitMethod::HeNormal => "he-normal",
            InitMethod::Pythia => "pythia",
            InitMethod::Empirical => "empirical",
            InitMethod::GaussianMatched => "gaussian-matched",
            InitMethod::Parametric => "parametric",
            InitMethod::Permuted => "permuted",
            InitMethod::Trained => "trained",
        }
    }

    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        Self::ALL
            .into_iter()
            .find(|init| init.name() == text)
            .ok_or_else(|| ConfigError::UnknownValue {
                field: "init",
                value: text.to_string(),
                expected:
                    "kaiming, he-normal, pythia, empirical, gaussian-matched, parametric, permuted, trained",
            })
    }

    /// Whether the method needs trained weights or their distribution.
    pub fn needs_source(self) -> bool {
        !matches!(
            self,
            InitMethod::Kaiming | InitMethod::HeNormal | InitMethod::Pythia
        )
    }
}

/// Standard deviation of GPT-NeoX's `small_init`: sqrt(2 / (5 d)).
pub fn small_init_std(width: usize) -> f64 {
    (2.0 / (5.0 * width as f64)).sqrt()
}

/// Standard deviation of GPT-NeoX's `wang_init`: 2 / (L sqrt(d)).
pub fn wang_init_std(layers: usize, width: usize) -> f64 {
    2.0 / (layers as f64 * (width as f64).sqrt())
}

/// Bound of PyTorch's default `nn.Linear` init: 1 / sqrt(fan_in).
pub fn kaiming_uniform_bound(fan_in: usize) -> f64 {
    1.0 / (fan_in as f64).sqrt()
}

/// Standard deviation of He-normal: sqrt(2 / fan_in).
pub fn he_normal_std(fan_in: usize) -> f64 {
    (2.0 / fan_in as f64).sqrt()
}

/// The standard deviation `pythia` gives the tensor (0 where it is a constant): the
/// scale the `shape-only` rule puts a histogram's standardized shape at.
pub fn pythia_std(spec: &ParamSpec, config: &ModelConfig) -> f64 {
    match standard_law(InitMethod::Pythia, spec, config) {
        Law::Constant(_) => 0.0,
        Law::Normal(std) => std,
        Law::Uniform(bound) => bound / 3f64.sqrt(),
    }
}

/// One tensor's values under a standard (source-free) init.
pub(crate) enum Law {
    Constant(f32),
    Normal(f64),
    Uniform(f64),
}

pub(crate) fn standard_law(method: InitMethod, spec: &ParamSpec, config: &ModelConfig) -> Law {
    match (spec.role, method) {
        (Role::NormGain, _) => Law::Constant(1.0),
        (Role::NormBias, _) => Law::Constant(0.0),
        (Role::Bias, InitMethod::Kaiming) => Law::Uniform(kaiming_uniform_bound(spec.fan_in)),
        (Role::Bias, _) => Law::Constant(0.0),
        (Role::Embed, InitMethod::Kaiming) => Law::Normal(1.0),
        (_, InitMethod::Kaiming) => Law::Uniform(kaiming_uniform_bound(spec.fan_in)),
        (_, InitMethod::HeNormal) => Law::Normal(he_normal_std(spec.fan_in)),
        (Role::AttnOut | Role::MlpOut, _) => {
            Law::Normal(wang_init_std(config.layers, config.width))
        }
        _ => Law::Normal(small_init_std(config.width)),
    }
}

pub(crate) fn draw(law: &Law, count: usize, rng: &mut ChaCha8Rng) -> Vec<f32> {
    match *law {
        Law::Constant(value) => vec![value; count],
        Law::Normal(std) => {
            let normal = Normal::new(0.0, std).expect("std is finite and non-negative");
            (0..count).map(|_| normal.sample(rng) as f32).collect()
        }
        Law::Uniform(bound) => {
            let uniform = Uniform::new_inclusive(-bound, bound).expect("bound is finite");
            (0..count).map(|_| uniform.sample(rng) as f32).collect()
        }
    }
}
