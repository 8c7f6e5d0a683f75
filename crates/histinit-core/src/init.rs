//! Initializations. Every init draws host-side values from a ChaCha stream per tensor
//! (stream = the tensor's index), so the same seed gives bitwise-identical weights on
//! every backend and platform, and the browser and the CLI start from the same model.

use rand::distr::Open01;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal, StandardNormal, StudentT};
use serde::{Deserialize, Serialize};

use crate::config::ModelConfig;
use crate::error::{ConfigError, InitError};
use crate::histogram::Family;
use crate::params::{param_specs, HostTensor, ParamSpec, Role, Weights};
use crate::recipes::{draw, standard_law};
pub use crate::recipes::{InitGains, InitMethod, InitTuning, STUDENT_T_DOF};
use crate::source::WeightSource;

/// Inverse-CDF sampling: `u ~ U(0,1)` mapped through the piecewise-linear quantile
/// function defined by the knots.
pub fn sample_quantiles(knots: &[(f64, f64)], count: usize, rng: &mut ChaCha8Rng) -> Vec<f32> {
    (0..count)
        .map(|_| quantile_at(knots, rng.random::<f64>()) as f32)
        .collect()
}

/// The piecewise-linear quantile function through sorted `(probability, value)` knots.
pub fn quantile_at(knots: &[(f64, f64)], u: f64) -> f64 {
    let upper = knots.partition_point(|&(p, _)| p < u);
    if upper == 0 {
        return knots[0].1;
    }
    if upper >= knots.len() {
        return knots[knots.len() - 1].1;
    }
    let (p0, v0) = knots[upper - 1];
    let (p1, v1) = knots[upper];
    if p1 <= p0 {
        return v1;
    }
    v0 + (v1 - v0) * (u - p0) / (p1 - p0)
}

/// Draws from a fitted family: inverse CDF for the logistic and Laplace laws, a normal
/// transform for Johnson SU, rand_distr's samplers for the normal and Student-t. A
/// zero scale is a point mass.
pub fn sample_family(
    family: &Family,
    count: usize,
    rng: &mut ChaCha8Rng,
) -> Result<Vec<f32>, String> {
    family.check()?;
    if let Some(loc) = family.point_mass() {
        return Ok(vec![loc as f32; count]);
    }
    let values = match *family {
        Family::Normal { loc, scale } => {
            let normal = Normal::new(loc, scale).map_err(|err| err.to_string())?;
            (0..count).map(|_| normal.sample(rng) as f32).collect()
        }
        Family::Logistic { loc, scale } => (0..count)
            .map(|_| {
                let u: f64 = rng.sample(Open01);
                (loc + scale * (u / (1.0 - u)).ln()) as f32
            })
            .collect(),
        Family::Laplace { loc, scale } => (0..count)
            .map(|_| {
                let c = rng.sample::<f64, _>(Open01) - 0.5;
                (loc - scale * c.signum() * (1.0 - 2.0 * c.abs()).ln()) as f32
            })
            .collect(),
        Family::StudentT { loc, scale, dof } => {
            let t = StudentT::new(dof).map_err(|err| err.to_string())?;
            (0..count)
                .map(|_| (loc + scale * t.sample(rng)) as f32)
                .collect()
        }
        Family::JohnsonSu {
            xi,
            lambda,
            gamma,
            delta,
        } => (0..count)
            .map(|_| {
                let z: f64 = StandardNormal.sample(rng);
                (xi + lambda * ((z - gamma) / delta).sinh()) as f32
            })
            .collect(),
    };
    Ok(values)
}

fn permute(mut values: Vec<f32>, rng: &mut ChaCha8Rng) -> Vec<f32> {
    // Fisher–Yates, written out so the order depends only on the ChaCha stream.
    for i in (1..values.len()).rev() {
        let j = rng.random_range(0..=i);
        values.swap(i, j);
    }
    values
}

fn tensor_values(
    method: InitMethod,
    spec: &ParamSpec,
    config: &ModelConfig,
    gains: &InitGains,
    source: Option<&dyn WeightSource>,
    rng: &mut ChaCha8Rng,
) -> Result<Vec<f32>, InitError> {
    let count = spec.numel();
    if !method.needs_source() {
        let law = standard_law(method, spec, config).scaled(gains.factor(spec.role));
        return Ok(draw(&law, count, rng));
    }
    let missing = |needs| {
        InitError::MissingSource {
        init: method.name(),
        needs,
        tensor: spec.name.clone(),
        hint: match spec.role {
            Role::NormGain | Role::NormBias => {
                " (was it trained without LayerNorm? then train these students without it too: norm none)"
            }
            _ => "",
        },
    }
    };
    let source = source.ok_or_else(|| missing("a histogram or trained weights"))?;
    let mut values = match method {
        InitMethod::Empirical => {
            let knots = source
                .quantiles(spec)
                .ok_or_else(|| missing("a quantile table"))?;
            if knots.is_empty() || knots.iter().any(|(p, v)| !p.is_finite() || !v.is_finite()) {
                return Err(InitError::BadSource {
                    tensor: spec.name.clone(),
                    reason: "quantile table is empty or not finite".into(),
                });
            }
            sample_quantiles(&knots, count, rng)
        }
        InitMethod::GaussianMatched => {
            let (mean, std) = source
                .moments(spec)
                .ok_or_else(|| missing("a mean and std"))?;
            let normal = Normal::new(mean, std).map_err(|err| InitError::BadSource {
                tensor: spec.name.clone(),
                reason: format!("mean {mean}, std {std}: {err}"),
            })?;
            (0..count).map(|_| normal.sample(rng) as f32).collect()
        }
        InitMethod::StudentTMatched => {
            let (mean, std) = source
                .moments(spec)
                .ok_or_else(|| missing("a mean and std"))?;
            // A t law with ν degrees of freedom has variance ν / (ν − 2).
            let unit = ((STUDENT_T_DOF - 2.0) / STUDENT_T_DOF).sqrt();
            let family = Family::StudentT {
                loc: mean,
                scale: std * unit,
                dof: STUDENT_T_DOF,
            };
            sample_family(&family, count, rng).map_err(|reason| InitError::BadSource {
                tensor: spec.name.clone(),
                reason: format!("mean {mean}, std {std}: {reason}"),
            })?
        }
        InitMethod::Parametric => {
            let family = source
                .family(spec)
                .ok_or_else(|| missing("a fitted family"))?;
            sample_family(&family, count, rng).map_err(|reason| InitError::BadSource {
                tensor: spec.name.clone(),
                reason: format!("{} fit: {reason}", family.name()),
            })?
        }
        InitMethod::Permuted | InitMethod::Trained => {
            let values = source
                .values(spec)
                .ok_or_else(|| missing("trained weights"))?;
            if values.len() != count {
                return Err(InitError::ShapeMismatch {
                    tensor: spec.name.clone(),
                    source_len: values.len(),
                    needed: count,
                });
            }
            if method == InitMethod::Permuted {
                permute(values, rng)
            } else {
                values
            }
        }
        InitMethod::Kaiming | InitMethod::HeNormal | InitMethod::Pythia => {
            unreachable!("handled above")
        }
    };
    // A gain multiplies every drawn value, as it multiplies a standard init's scale:
    // the tensor's mean and spread scale together (trained LayerNorm gains near 1 end
    // near the `norm` factor), its shape is kept.
    let factor = gains.factor(spec.role);
    if factor != 1.0 {
        for value in &mut values {
            *value = (*value as f64 * factor) as f32;
        }
    }
    check_draws(&spec.name, &values)?;
    Ok(values)
}

/// A source's values must be finite as f32: a file's scale, a family's tails (a
/// Student-t with one degree of freedom) or stored weights can exceed f32's range.
fn check_draws(tensor: &str, values: &[f32]) -> Result<(), InitError> {
    match values.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(i) => Err(InitError::BadSource {
            tensor: tensor.to_string(),
            reason: format!(
                "{} of {} values are not finite as f32 (value {i} is {}): the source's scale \
                 or its family's tails exceed f32's range",
                values.iter().filter(|v| !v.is_finite()).count(),
                values.len(),
                values[i]
            ),
        }),
    }
}

/// Which tensors an init applies to; the rest get [`InitScope::FALLBACK`]. Per-role
/// ablations use it to trace a gain to one part of the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InitScope {
    #[default]
    All,
    /// The token embedding.
    Embedding,
    /// Query/key/value and attention output projections with their biases.
    Attention,
    /// Both MLP projections with their biases.
    Mlp,
    /// LayerNorm gains and biases.
    Norms,
    /// The output projection to the vocabulary.
    Unembedding,
}

impl InitScope {
    pub const ALL: [InitScope; 6] = [
        InitScope::All,
        InitScope::Embedding,
        InitScope::Attention,
        InitScope::Mlp,
        InitScope::Norms,
        InitScope::Unembedding,
    ];
    /// What tensors outside the scope get: the baseline, so that an ablation differs
    /// from the `kaiming` run of the same seed in the scope's tensors only.
    pub const FALLBACK: InitMethod = InitMethod::Kaiming;

    pub fn name(self) -> &'static str {
        match self {
            InitScope::All => "all",
            InitScope::Embedding => "embedding",
            InitScope::Attention => "attention",
            InitScope::Mlp => "mlp",
            InitScope::Norms => "norms",
            InitScope::Unembedding => "unembedding",
        }
    }

    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        Self::ALL
            .into_iter()
            .find(|scope| scope.name() == text)
            .ok_or_else(|| ConfigError::UnknownValue {
                field: "scope",
                value: text.to_string(),
                expected: "all, embedding, attention, mlp, norms, unembedding",
            })
    }

    pub fn contains(self, spec: &ParamSpec) -> bool {
        let in_block = |part: &str| spec.name.contains(part);
        match self {
            InitScope::All => true,
            InitScope::Embedding => spec.role == Role::Embed,
            InitScope::Attention => match spec.role {
                Role::Q | Role::K | Role::V | Role::Qkv | Role::AttnOut => true,
                Role::Bias => in_block(".attention."),
                _ => false,
            },
            InitScope::Mlp => match spec.role {
                Role::MlpIn | Role::MlpOut => true,
                Role::Bias => in_block(".mlp."),
                _ => false,
            },
            InitScope::Norms => matches!(spec.role, Role::NormGain | Role::NormBias),
            InitScope::Unembedding => spec.role == Role::Unembed,
        }
    }
}

/// Initial weights for `config` under `method`, reproducible from `seed`.
pub fn init_weights(
    config: &ModelConfig,
    method: InitMethod,
    seed: u64,
    source: Option<&dyn WeightSource>,
) -> Result<Weights, InitError> {
    init_weights_scoped(
        config,
        method,
        InitScope::All,
        &InitGains::default(),
        seed,
        source,
    )
}

/// Like [`init_weights`], with `method` for the tensors in `scope` and
/// [`InitScope::FALLBACK`] for the others. Each tensor draws from its own stream of
/// `seed`, so a tensor outside the scope is the fallback run's tensor exactly. `gains`
/// multiply every tensor by its group's factor, whatever init drew it (the fallback
/// included).
pub fn init_weights_scoped(
    config: &ModelConfig,
    method: InitMethod,
    scope: InitScope,
    gains: &InitGains,
    seed: u64,
    source: Option<&dyn WeightSource>,
) -> Result<Weights, InitError> {
    let mut weights = Weights::new();
    for (index, spec) in param_specs(config).into_iter().enumerate() {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(index as u64);
        let method = if scope.contains(&spec) {
            method
        } else {
            InitScope::FALLBACK
        };
        let values = tensor_values(method, &spec, config, gains, source, &mut rng)?;
        weights.insert(
            spec.name.clone(),
            HostTensor {
                shape: spec.shape.clone(),
                values,
            },
        );
    }
    Ok(weights)
}

#[cfg(test)]
mod tests;
