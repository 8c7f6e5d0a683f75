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
mod tests {
    use super::*;
    use crate::recipes::*;
    use crate::source::mean_std;

    /// A source whose family has tails beyond f32 (or stored infinities) is an error
    /// naming the tensor, never infinite weights.
    #[test]
    fn draws_beyond_f32_are_refused() {
        struct HeavyTails;
        impl WeightSource for HeavyTails {
            fn quantiles(&self, _: &ParamSpec) -> Option<Vec<(f64, f64)>> {
                Some(vec![(0.0, -1e300), (1.0, 1e300)])
            }
            fn moments(&self, _: &ParamSpec) -> Option<(f64, f64)> {
                Some((0.0, 1e300))
            }
            fn values(&self, spec: &ParamSpec) -> Option<Vec<f32>> {
                Some(vec![f32::INFINITY; spec.numel()])
            }
            fn family(&self, _: &ParamSpec) -> Option<Family> {
                // Cauchy tails at this scale pass f32's 3.4e38 in about 2% of draws.
                Some(Family::StudentT {
                    loc: 0.0,
                    scale: 1e37,
                    dof: 1.0,
                })
            }
        }
        for init in [
            InitMethod::Empirical,
            InitMethod::GaussianMatched,
            InitMethod::Parametric,
            InitMethod::Trained,
        ] {
            let Err(err) = init_weights(&micro(), init, 1, Some(&HeavyTails)) else {
                panic!("{init:?}: weights beyond f32 were accepted");
            };
            assert!(
                err.to_string().contains("not finite as f32"),
                "{init:?}: {err}"
            );
        }
    }

    fn micro() -> ModelConfig {
        ModelConfig::preset("micro").unwrap()
    }

    fn spec_of(config: &ModelConfig, name: &str) -> ParamSpec {
        param_specs(config)
            .into_iter()
            .find(|spec| spec.name == name)
            .unwrap()
    }

    /// Checks that a sample has the given std (within 3%) and mean near 0.
    fn assert_std(values: &[f32], std: f64, what: &str) {
        let (mean, got) = mean_std(values);
        assert!(
            (got / std - 1.0).abs() < 0.03,
            "{what}: std {got}, expected {std}"
        );
        assert!(
            mean.abs() < 4.0 * std / (values.len() as f64).sqrt() + 1e-9,
            "{what}: mean {mean}"
        );
    }

    #[test]
    fn formulas_match_their_definitions() {
        assert!((small_init_std(128) - (2.0f64 / 640.0).sqrt()).abs() < 1e-15);
        assert!((wang_init_std(6, 128) - 2.0 / (6.0 * 128f64.sqrt())).abs() < 1e-15);
        assert!((kaiming_uniform_bound(512) - 1.0 / 512f64.sqrt()).abs() < 1e-15);
        assert!((he_normal_std(128) - (2.0f64 / 128.0).sqrt()).abs() < 1e-15);
    }

    #[test]
    fn pythia_init_follows_small_and_wang_init() {
        let config = micro();
        let weights = init_weights(&config, InitMethod::Pythia, 1, None).unwrap();
        let small = small_init_std(128);
        let wang = wang_init_std(4, 128);
        for (name, std) in [
            ("gpt_neox.embed_in.weight", small),
            ("gpt_neox.layers.0.attention.query_key_value.weight", small),
            ("gpt_neox.layers.1.mlp.dense_h_to_4h.weight", small),
            ("embed_out.weight", small),
            ("gpt_neox.layers.2.attention.dense.weight", wang),
            ("gpt_neox.layers.3.mlp.dense_4h_to_h.weight", wang),
        ] {
            assert_std(&weights[name].values, std, name);
        }
        assert!(weights["gpt_neox.layers.0.attention.dense.bias"]
            .values
            .iter()
            .all(|&v| v == 0.0));
        assert!(weights["gpt_neox.final_layer_norm.weight"]
            .values
            .iter()
            .all(|&v| v == 1.0));
        assert!(weights["gpt_neox.final_layer_norm.bias"]
            .values
            .iter()
            .all(|&v| v == 0.0));
    }

    #[test]
    fn kaiming_is_pytorchs_default() {
        let config = micro();
        let weights = init_weights(&config, InitMethod::Kaiming, 2, None).unwrap();
        let mlp_out = &weights["gpt_neox.layers.0.mlp.dense_4h_to_h.weight"].values;
        let bound = 1.0 / 512f64.sqrt();
        assert!(mlp_out.iter().all(|&v| (v as f64).abs() <= bound + 1e-7));
        // A uniform on [-b, b] has std b / sqrt(3).
        assert_std(mlp_out, bound / 3f64.sqrt(), "mlp_out");
        let bias = &weights["gpt_neox.layers.0.mlp.dense_4h_to_h.bias"].values;
        assert!(
            bias.iter().all(|&v| (v as f64).abs() <= bound + 1e-7)
                && bias.iter().any(|&v| v != 0.0)
        );
        assert_std(
            &weights["gpt_neox.embed_in.weight"].values,
            1.0,
            "embedding",
        );
    }

    #[test]
    fn he_normal_uses_fan_in() {
        let config = micro();
        let weights = init_weights(&config, InitMethod::HeNormal, 3, None).unwrap();
        assert_std(
            &weights["gpt_neox.layers.1.mlp.dense_4h_to_h.weight"].values,
            he_normal_std(512),
            "mlp_out",
        );
        assert_std(
            &weights["gpt_neox.layers.1.attention.query_key_value.weight"].values,
            he_normal_std(128),
            "qkv",
        );
    }

    #[test]
    fn same_seed_gives_identical_weights_other_seed_differs() {
        let config = ModelConfig::preset("nano").unwrap();
        for method in [
            InitMethod::Kaiming,
            InitMethod::HeNormal,
            InitMethod::Pythia,
        ] {
            let a = init_weights(&config, method, 9, None).unwrap();
            let b = init_weights(&config, method, 9, None).unwrap();
            let c = init_weights(&config, method, 10, None).unwrap();
            assert_eq!(a, b, "{method:?}");
            assert_ne!(a, c, "{method:?}");
        }
    }

    /// Gains multiply each init's tensors by their group's factor (the same draws, so
    /// every value scales exactly): a standard init's LayerNorm gains become the `norm`
    /// constant, and an init drawn from a source is scaled value by value, its LayerNorm
    /// biases left as drawn.
    #[test]
    fn gains_scale_every_init_by_group() {
        let config = ModelConfig::preset("nano").unwrap();
        let gains = InitGains::parse("all:0.5,embed:0.0625,unembed:3,out:0.25,norm:1.5").unwrap();
        assert_eq!(
            gains.to_string(),
            "all:0.5,embed:0.0625,unembed:3,out:0.25,norm:1.5"
        );
        // A trained-like source whose LayerNorm gains and biases are not constant, so the
        // `norm` factor's effect on drawn norm tensors is visible.
        let mut trained = init_weights(&config, InitMethod::HeNormal, 5, None).unwrap();
        for spec in param_specs(&config) {
            if matches!(spec.role, Role::NormGain | Role::NormBias) {
                let tensor = trained.get_mut(&spec.name).unwrap();
                for (i, v) in tensor.values.iter_mut().enumerate() {
                    *v = 1.0 + 0.01 * i as f32;
                }
            }
        }
        for method in [
            InitMethod::Kaiming,
            InitMethod::HeNormal,
            InitMethod::Pythia,
            InitMethod::Empirical,
            InitMethod::GaussianMatched,
            InitMethod::StudentTMatched,
            InitMethod::Permuted,
            InitMethod::Trained,
        ] {
            let source = method
                .needs_source()
                .then_some(&trained as &dyn WeightSource);
            let plain = init_weights(&config, method, 4, source).unwrap();
            let scaled =
                init_weights_scoped(&config, method, InitScope::All, &gains, 4, source).unwrap();
            for spec in param_specs(&config) {
                let factor = match spec.role {
                    Role::Embed => 0.5 * 0.0625,
                    Role::Unembed => 0.5 * 3.0,
                    Role::AttnOut | Role::MlpOut => 0.5 * 0.25,
                    Role::NormGain => 1.5,
                    Role::NormBias => 1.0,
                    _ => 0.5,
                };
                for (a, b) in plain[&spec.name]
                    .values
                    .iter()
                    .zip(&scaled[&spec.name].values)
                {
                    let expected = *a as f64 * factor;
                    assert!(
                        (*b as f64 - expected).abs() <= 1e-6 * expected.abs().max(1e-6),
                        "{method:?} {}: {b} is not {factor} x {a}",
                        spec.name
                    );
                }
            }
        }
    }

    #[test]
    fn gains_are_read_strictly_and_written_canonically() {
        assert_eq!(InitGains::parse("").unwrap(), InitGains::default());
        assert_eq!(InitGains::default().to_string(), "");
        let gains = InitGains::parse(" norm:2 , embed:0.25").unwrap();
        assert_eq!((gains.norm, gains.embed, gains.all), (2.0, 0.25, 1.0));
        assert_eq!(gains.to_string(), "embed:0.25,norm:2");
        for bad in [
            "embed",
            "x:2",
            "all:0",
            "all:-1",
            "all:NaN",
            "all:2000",
            "all:2,all:2",
        ] {
            let err = InitGains::parse(bad).unwrap_err().to_string();
            assert!(err.contains("gain"), "{bad}: {err}");
        }
    }

    /// `student-t-matched` keeps the trained tensor's mean and std and adds the tails.
    #[test]
    fn student_t_matched_has_the_trained_scale_and_heavy_tails() {
        let config = ModelConfig::preset("micro").unwrap();
        let trained = init_weights(&config, InitMethod::HeNormal, 5, None).unwrap();
        let name = "gpt_neox.layers.1.mlp.dense_h_to_4h.weight";
        let (_, trained_std) = mean_std(&trained[name].values);
        let excess_kurtosis = |values: &[f32]| {
            let (mean, std) = mean_std(values);
            let fourth = values
                .iter()
                .map(|&v| ((v as f64 - mean) / std).powi(4))
                .sum::<f64>()
                / values.len() as f64;
            fourth - 3.0
        };
        let heavy = init_weights(&config, InitMethod::StudentTMatched, 3, Some(&trained)).unwrap();
        let gaussian =
            init_weights(&config, InitMethod::GaussianMatched, 3, Some(&trained)).unwrap();
        // A t law with 3 degrees of freedom: its std converges slowly, hence 10%.
        let (mean, std) = mean_std(&heavy[name].values);
        assert!(
            (std / trained_std - 1.0).abs() < 0.1,
            "std {std} vs {trained_std}"
        );
        assert!(mean.abs() < 0.01 * trained_std, "mean {mean}");
        let (heavy_k, gaussian_k) = (
            excess_kurtosis(&heavy[name].values),
            excess_kurtosis(&gaussian[name].values),
        );
        assert!(
            heavy_k > 5.0 && gaussian_k.abs() < 0.2,
            "{heavy_k} vs {gaussian_k}"
        );
    }

    #[test]
    fn source_methods_reproduce_their_source() {
        let config = ModelConfig::preset("nano").unwrap();
        let trained = init_weights(&config, InitMethod::HeNormal, 5, None).unwrap();
        let source: &dyn WeightSource = &trained;
        let name = "gpt_neox.layers.0.mlp.dense_h_to_4h.weight";
        let spec = spec_of(&config, name);

        let copy = init_weights(&config, InitMethod::Trained, 1, Some(source)).unwrap();
        assert_eq!(copy[name], trained[name]);

        let permuted = init_weights(&config, InitMethod::Permuted, 1, Some(source)).unwrap();
        assert_ne!(permuted[name].values, trained[name].values);
        let sorted = |v: &[f32]| {
            let mut v = v.to_vec();
            v.sort_by(f32::total_cmp);
            v
        };
        assert_eq!(
            sorted(&permuted[name].values),
            sorted(&trained[name].values)
        );

        let (_, std) = source.moments(&spec).unwrap();
        let gaussian = init_weights(&config, InitMethod::GaussianMatched, 1, Some(source)).unwrap();
        assert_std(&gaussian[name].values, std, "gaussian-matched");
        let empirical = init_weights(&config, InitMethod::Empirical, 1, Some(source)).unwrap();
        assert_std(&empirical[name].values, std, "empirical");

        let err = init_weights(&config, InitMethod::Empirical, 1, None).unwrap_err();
        assert!(err.to_string().contains("empirical"), "{err}");
    }

    #[test]
    fn quantile_function_interpolates_and_clamps() {
        let knots = [(0.0, -1.0), (0.5, 0.0), (1.0, 3.0)];
        assert_eq!(quantile_at(&knots, 0.0), -1.0);
        assert_eq!(quantile_at(&knots, 0.25), -0.5);
        assert_eq!(quantile_at(&knots, 0.75), 1.5);
        assert_eq!(quantile_at(&knots, 1.0), 3.0);
    }

    #[test]
    fn a_scoped_init_changes_only_its_tensors() {
        let config = micro();
        let kaiming = init_weights(&config, InitMethod::Kaiming, 3, None).unwrap();
        let pythia = init_weights(&config, InitMethod::Pythia, 3, None).unwrap();
        for scope in InitScope::ALL {
            let scoped = init_weights_scoped(
                &config,
                InitMethod::Pythia,
                scope,
                &InitGains::default(),
                3,
                None,
            )
            .unwrap();
            let mut inside = 0;
            for spec in param_specs(&config) {
                let expected = if scope.contains(&spec) {
                    inside += 1;
                    &pythia[&spec.name]
                } else {
                    &kaiming[&spec.name]
                };
                assert_eq!(
                    &scoped[&spec.name],
                    expected,
                    "{} {}",
                    scope.name(),
                    spec.name
                );
            }
            assert!(inside > 0, "scope {} holds no tensor", scope.name());
            assert_eq!(InitScope::parse(scope.name()).unwrap(), scope);
        }
        let attention = param_specs(&config)
            .into_iter()
            .filter(|spec| InitScope::Attention.contains(spec))
            .count();
        // Per block: fused qkv weight and bias, output weight and bias.
        assert_eq!(attention, 4 * config.layers);
    }
}
