//! The standard (source-free) initializations: what PyTorch, He et al. and GPT-NeoX
//! draw for each tensor, and the names of every init histinit compares.

use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal, Uniform};
use serde::{Deserialize, Serialize};

use crate::config::ModelConfig;
use crate::error::ConfigError;
use crate::params::{ParamSpec, Role};

/// The initializations histinit compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
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
    /// A Gaussian with the trained tensor's mean and std (controls for scale vs shape):
    /// the "moments only" init, no histogram shape.
    GaussianMatched,
    /// A Student-t law with [`STUDENT_T_DOF`] degrees of freedom, placed at the trained
    /// tensor's mean and std: the same scale as `gaussian-matched` with heavy tails, the
    /// contrast the shape test needs (the teachers' own weights are near-Gaussian).
    StudentTMatched,
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
    pub const ALL: [InitMethod; 9] = [
        InitMethod::Kaiming,
        InitMethod::HeNormal,
        InitMethod::Pythia,
        InitMethod::Empirical,
        InitMethod::GaussianMatched,
        InitMethod::StudentTMatched,
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
            InitMethod::StudentTMatched => "student-t-matched",
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
                    "kaiming, he-normal, pythia, empirical, gaussian-matched, student-t-matched, parametric, permuted, trained",
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

/// Degrees of freedom of `student-t-matched`. Three is the heaviest tail with a finite
/// variance (so the law can be put at a trained std); its kurtosis is infinite, so a drawn
/// tensor's sample excess kurtosis is large (tens for the nano teacher's tensor sizes),
/// as heavy-tailed as MiniLM's MLP output projections (pooled excess kurtosis 443) and far
/// from the teachers' near-Gaussian roles (below 1 outside q, k and biases).
pub const STUDENT_T_DOF: f64 = 3.0;

/// Multipliers of every init's tensors by group, the knobs of a tuned init: `kaiming`,
/// `he-normal` and `pythia` (and the `kaiming` outside an ablation's scope) draw every
/// tensor at its usual scale times its factor; an init drawn from a source (a histogram,
/// its moments, trained weights) multiplies every drawn value by it, so the tensor's mean
/// and spread scale together and its shape is kept (the `norm` factor multiplies drawn
/// LayerNorm gains; drawn LayerNorm biases are left as they are).
/// Written as `all:2,embed:0.0625` (the multipliers that are not 1, in this order).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct InitGains {
    /// Every matrix and linear bias (not the LayerNorms).
    pub all: f64,
    /// The token embedding (times `all`).
    pub embed: f64,
    /// The output projection to the vocabulary (times `all`).
    pub unembed: f64,
    /// The attention and MLP output projections (times `all`).
    pub out: f64,
    /// The LayerNorm gains' constant (1 by default).
    pub norm: f64,
}

impl Default for InitGains {
    fn default() -> Self {
        Self {
            all: 1.0,
            embed: 1.0,
            unembed: 1.0,
            out: 1.0,
            norm: 1.0,
        }
    }
}

impl InitGains {
    /// The groups in the order a link writes them.
    pub const GROUPS: [&'static str; 5] = ["all", "embed", "unembed", "out", "norm"];
    /// The range a multiplier may take.
    pub const RANGE: (f64, f64) = (1.0 / 1024.0, 1024.0);

    fn slot(&mut self, group: &str) -> Option<&mut f64> {
        Some(match group {
            "all" => &mut self.all,
            "embed" => &mut self.embed,
            "unembed" => &mut self.unembed,
            "out" => &mut self.out,
            "norm" => &mut self.norm,
            _ => return None,
        })
    }

    fn values(&self) -> [f64; 5] {
        [self.all, self.embed, self.unembed, self.out, self.norm]
    }

    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }

    /// The factor of a tensor of `role`.
    pub fn factor(&self, role: Role) -> f64 {
        match role {
            Role::NormGain => self.norm,
            Role::NormBias => 1.0,
            Role::Embed => self.all * self.embed,
            Role::Unembed => self.all * self.unembed,
            Role::AttnOut | Role::MlpOut => self.all * self.out,
            _ => self.all,
        }
    }

    /// Both sets of multipliers applied, group by group.
    pub fn times(&self, other: &InitGains) -> InitGains {
        InitGains {
            all: self.all * other.all,
            embed: self.embed * other.embed,
            unembed: self.unembed * other.unembed,
            out: self.out * other.out,
            norm: self.norm * other.norm,
        }
    }

    /// Every multiplier within [`InitGains::RANGE`] (a product of two may leave it).
    pub fn check(&self) -> Result<(), ConfigError> {
        let (low, high) = Self::RANGE;
        for (group, value) in Self::GROUPS.iter().zip(self.values()) {
            if !(value.is_finite() && (low..=high).contains(&value)) {
                return Err(ConfigError::Invalid {
                    field: "gain",
                    reason: format!("{group}: {value} is not in [1/1024, 1024]"),
                });
            }
        }
        Ok(())
    }

    /// Reads `group:multiplier` pairs separated by commas; empty is every factor 1.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let invalid = |reason: String| ConfigError::Invalid {
            field: "gain",
            reason,
        };
        let mut gains = Self::default();
        let mut seen = Vec::new();
        for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (group, value) = pair.split_once(':').ok_or_else(|| {
                invalid(format!(
                    "'{}' is not group:multiplier (e.g. embed:0.0625)",
                    crate::text::shown(pair)
                ))
            })?;
            let group = group.trim();
            if seen.contains(&group) {
                return Err(invalid(format!("'{group}' is given twice")));
            }
            let slot = gains.slot(group).ok_or_else(|| {
                invalid(format!(
                    "unknown group '{}' (known: {})",
                    crate::text::shown(group),
                    Self::GROUPS.join(", ")
                ))
            })?;
            let value: f64 = value
                .trim()
                .parse()
                .ok()
                .filter(|v: &f64| v.is_finite())
                .ok_or_else(|| {
                    invalid(format!(
                        "{group}: '{}' is not a number",
                        crate::text::shown(value.trim())
                    ))
                })?;
            let (low, high) = Self::RANGE;
            if !(low..=high).contains(&value) {
                return Err(invalid(format!(
                    "{group}: {value} is not in [1/1024, 1024]"
                )));
            }
            *slot = value;
            seen.push(group);
        }
        Ok(gains)
    }
}

impl std::fmt::Display for InitGains {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let pairs: Vec<String> = Self::GROUPS
            .iter()
            .zip(self.values())
            .filter(|(_, value)| *value != 1.0)
            .map(|(group, value)| format!("{group}:{value}"))
            .collect();
        f.write_str(&pairs.join(","))
    }
}

impl TryFrom<String> for InitGains {
    type Error = ConfigError;
    fn try_from(text: String) -> Result<Self, ConfigError> {
        Self::parse(&text)
    }
}

impl From<InitGains> for String {
    fn from(gains: InitGains) -> String {
        gains.to_string()
    }
}

/// One init's own tuned recipe, so that both sides of a comparison can be tuned each its
/// own way: gains and a multiplier of the peak learning rate, both on top of the
/// experiment's (see [`crate::experiment::ExperimentConfig::for_init`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InitTuning {
    #[serde(skip_serializing_if = "InitGains::is_default")]
    pub gain: InitGains,
    pub lr_scale: f64,
}

impl Default for InitTuning {
    fn default() -> Self {
        Self {
            gain: InitGains::default(),
            lr_scale: 1.0,
        }
    }
}

impl InitTuning {
    /// The range a learning-rate multiplier may take.
    pub const LR_SCALE_RANGE: (f64, f64) = (1.0 / 1024.0, 1024.0);

    pub fn check(&self) -> Result<(), ConfigError> {
        let (low, high) = Self::LR_SCALE_RANGE;
        if !(self.lr_scale.is_finite() && (low..=high).contains(&self.lr_scale)) {
            return Err(ConfigError::Invalid {
                field: "tuned",
                reason: format!("lr_scale {} is not in [1/1024, 1024]", self.lr_scale),
            });
        }
        Ok(())
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

impl Law {
    /// The law of the values times `factor`.
    pub(crate) fn scaled(self, factor: f64) -> Law {
        match self {
            Law::Constant(value) => Law::Constant((value as f64 * factor) as f32),
            Law::Normal(std) => Law::Normal(std * factor),
            Law::Uniform(bound) => Law::Uniform(bound * factor),
        }
    }
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
