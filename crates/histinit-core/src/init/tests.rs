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
        bias.iter().all(|&v| (v as f64).abs() <= bound + 1e-7) && bias.iter().any(|&v| v != 0.0)
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
    let gaussian = init_weights(&config, InitMethod::GaussianMatched, 3, Some(&trained)).unwrap();
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
