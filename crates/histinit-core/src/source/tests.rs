use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StudentT};

use super::*;
use crate::init::{init_weights, sample_family, sample_quantiles};
use crate::params::{param_specs, Weights};
use crate::recipes::InitMethod;

const DRAWS: usize = 200_000;

fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// KS distance between draws and a CDF.
fn ks(draws: &[f32], cdf: impl Fn(f64) -> f64) -> f64 {
    let mut sorted: Vec<f64> = draws.iter().map(|&v| v as f64).collect();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len() as f64;
    sorted.iter().enumerate().fold(0.0, |worst: f64, (i, &x)| {
        let f = cdf(x);
        worst
            .max((f - i as f64 / n).abs())
            .max((f - (i + 1) as f64 / n).abs())
    })
}

/// Interquartile range: a scale that heavy-tailed draws estimate stably (the sample
/// std of a Student-t with few degrees of freedom does not).
fn iqr(values: &[f32]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f32::total_cmp);
    let at = |p: f64| sorted[(p * (sorted.len() - 1) as f64).round() as usize] as f64;
    at(0.75) - at(0.25)
}

/// A skewed, heavy-tailed "trained" tensor: 0.02 t(3), one value in four folded.
fn heavy_tensor(count: usize, seed: u64) -> Vec<f32> {
    let t = StudentT::<f64>::new(3.0).unwrap();
    let mut r = rng(seed);
    (0..count)
        .map(|i| {
            let x = 0.02 * t.sample(&mut r);
            (if i % 4 == 0 { x.abs() } else { x }) as f32
        })
        .collect()
}

fn heavy_histogram() -> TensorHistogram {
    let values = heavy_tensor(DRAWS, 1);
    TensorHistogram::from_values("w", Role::MlpIn, Some(0), 1, &[DRAWS], 128, &values).unwrap()
}

#[test]
fn empirical_draws_follow_the_quantile_table() {
    let hist = heavy_histogram();
    let draws = sample_quantiles(&hist.quantiles.knots(), DRAWS, &mut rng(2));
    let d = ks(&draws, |x| hist.quantiles.cdf(x));
    assert!(d < 0.01, "empirical: KS {d}");
}

#[test]
fn gaussian_matched_draws_match_mean_and_std() {
    let hist = heavy_histogram();
    let file = HistogramFile::new(provenance(), vec![hist.clone()]).unwrap();
    let config = ModelConfig::preset("nano").unwrap();
    let source = HistogramSource::new(file, ScaleRule::AsIs, config).unwrap();
    let spec = ParamSpec {
        name: "w".into(),
        role: Role::MlpIn,
        layer: Some(0),
        shape: vec![DRAWS],
        fan_in: 128,
        is_matrix: true,
    };
    let (mean, std) = source.moments(&spec).unwrap();
    assert_eq!((mean, std), (hist.mean, hist.std));
    let normal = Family::Normal {
        loc: mean,
        scale: std,
    };
    let draws = sample_family(&normal, DRAWS, &mut rng(3)).unwrap();
    let (got_mean, got_std) = mean_std(&draws);
    assert!(
        (got_mean - mean).abs() < 0.01 * std,
        "mean {got_mean} vs {mean}"
    );
    assert!((got_std / std - 1.0).abs() < 0.01, "std {got_std} vs {std}");
    let d = ks(&draws, |x| normal.cdf(x));
    assert!(d < 0.01, "gaussian-matched: KS {d}");
}

#[test]
fn every_family_sampler_matches_its_cdf() {
    let families = [
        Family::Normal {
            loc: 0.1,
            scale: 0.02,
        },
        Family::Logistic {
            loc: -0.01,
            scale: 0.03,
        },
        Family::Laplace {
            loc: 0.0,
            scale: 0.05,
        },
        Family::StudentT {
            loc: 0.0,
            scale: 0.02,
            dof: 2.5,
        },
        Family::JohnsonSu {
            xi: 0.01,
            lambda: 0.02,
            gamma: -0.7,
            delta: 1.3,
        },
    ];
    for (i, family) in families.iter().enumerate() {
        let draws = sample_family(family, DRAWS, &mut rng(10 + i as u64)).unwrap();
        let d = ks(&draws, |x| family.cdf(x));
        assert!(d < 0.01, "{}: KS {d}", family.name());
    }
}

#[test]
fn fits_recover_the_family_that_generated_the_data() {
    // Student-t(4) data: the Student-t fit finds dof near 4 and beats the normal.
    let t = StudentT::<f64>::new(4.0).unwrap();
    let mut r = rng(4);
    let values: Vec<f32> = (0..DRAWS)
        .map(|_| (0.03 * t.sample(&mut r)) as f32)
        .collect();
    let hist = TensorHistogram::from_values("t", Role::MlpOut, Some(0), 1, &[DRAWS], 64, &values)
        .unwrap()
        .with_fits();
    let fit = |name: &str| *hist.fits.iter().find(|f| f.family.name() == name).unwrap();
    let student = fit("student_t");
    let Family::StudentT { scale, dof, .. } = student.family else {
        unreachable!()
    };
    assert!((3.3..4.8).contains(&dof), "dof {dof}");
    assert!((scale / 0.03 - 1.0).abs() < 0.05, "scale {scale}");
    assert!(
        student.ks < 0.01 && student.w1_over_std < 0.05,
        "{student:?}"
    );
    let normal = fit("normal");
    assert!(
        normal.ks > 2.0 * student.ks,
        "normal {normal:?} vs t {student:?}"
    );
    let best = best_fit(&hist.fits).unwrap();
    assert!(best.ks <= student.ks);
    // Normal data: the normal fit is within sampling noise.
    let mut r = rng(5);
    let values: Vec<f32> = (0..DRAWS)
        .map(|_| {
            let z: f64 = rand_distr::StandardNormal.sample(&mut r);
            (0.5 + 2.0 * z) as f32
        })
        .collect();
    let hist = TensorHistogram::from_values("n", Role::Embed, None, 1, &[DRAWS], 64, &values)
        .unwrap()
        .with_fits();
    let normal = hist
        .fits
        .iter()
        .find(|f| f.family.name() == "normal")
        .unwrap();
    let Family::Normal { loc, scale } = normal.family else {
        unreachable!()
    };
    assert!((loc - 0.5).abs() < 0.02 && (scale / 2.0 - 1.0).abs() < 0.01);
    assert!(normal.ks < 0.005, "{normal:?}");
}

fn provenance() -> Provenance {
    Provenance {
        model: "histinit-test".into(),
        architecture: "gpt_neox".into(),
        corpus: "synthetic".into(),
        license: "MIT".into(),
        command: "cargo test".into(),
        ..Provenance::default()
    }
}

/// A nano model's weights with heavy-tailed matrices and non-trivial norms and
/// biases, as a histogram file.
fn nano_source() -> (ModelConfig, Weights, HistogramFile) {
    let config = ModelConfig::preset("nano").unwrap();
    let mut weights = init_weights(&config, InitMethod::HeNormal, 1, None).unwrap();
    for (i, spec) in param_specs(&config).iter().enumerate() {
        let tensor = weights.get_mut(&spec.name).unwrap();
        let noise = heavy_tensor(tensor.values.len(), 100 + i as u64);
        for (v, n) in tensor.values.iter_mut().zip(noise) {
            *v = match spec.role {
                Role::NormGain => 0.8 + n,
                _ => *v + n,
            };
        }
    }
    let tensors = param_specs(&config)
        .iter()
        .map(|spec| {
            let tensor = &weights[&spec.name];
            TensorHistogram::from_values(
                &spec.name,
                spec.role,
                spec.layer,
                config.layers,
                &spec.shape,
                spec.fan_in,
                &tensor.values,
            )
            .unwrap()
        })
        .collect();
    let file = HistogramFile::new(provenance(), tensors).unwrap();
    (config, weights, file)
}

#[test]
fn lookup_prefers_name_then_nearest_depth_of_the_same_kind() {
    let (nano, _, file) = nano_source();
    let micro = ModelConfig::preset("micro").unwrap();
    let same = HistogramSource::new(file.clone(), ScaleRule::AsIs, nano.clone()).unwrap();
    for spec in param_specs(&nano) {
        assert_eq!(same.entry(&spec).unwrap().name, spec.name);
    }
    let other = HistogramSource::new(file, ScaleRule::AsIs, micro.clone()).unwrap();
    let entry = |name: &str| {
        let spec = param_specs(&micro)
            .into_iter()
            .find(|s| s.name == name)
            .unwrap();
        other.entry(&spec).unwrap().name.clone()
    };
    // micro's 4 blocks sit at depths 1/8, 3/8, 5/8, 7/8; nano's 2 at 1/4 and 3/4.
    assert_eq!(
        entry("gpt_neox.layers.0.attention.dense.weight"),
        "gpt_neox.layers.0.attention.dense.weight"
    );
    assert_eq!(
        entry("gpt_neox.layers.3.attention.dense.weight"),
        "gpt_neox.layers.1.attention.dense.weight"
    );
    assert_eq!(
        entry("gpt_neox.layers.2.mlp.dense_4h_to_h.bias"),
        "gpt_neox.layers.1.mlp.dense_4h_to_h.bias"
    );
    assert_eq!(
        entry("gpt_neox.layers.1.post_attention_layernorm.weight"),
        "gpt_neox.layers.0.post_attention_layernorm.weight"
    );
    assert_eq!(entry("embed_out.weight"), "embed_out.weight");
}

#[test]
fn scale_rules_set_the_scale_of_every_histogram_init() {
    let (nano, _, file) = nano_source();
    let micro = ModelConfig::preset("micro").unwrap();
    let spec = param_specs(&micro)
        .into_iter()
        .find(|s| s.name == "gpt_neox.layers.3.mlp.dense_h_to_4h.weight")
        .unwrap();
    let gain = param_specs(&micro)
        .into_iter()
        .find(|s| s.role == Role::NormGain)
        .unwrap();
    let src = file
        .tensor("gpt_neox.layers.1.mlp.dense_h_to_4h.weight")
        .unwrap()
        .clone();
    let src_gain = file.tensor(&gain.name).unwrap().clone();
    for rule in ScaleRule::ALL {
        let source = HistogramSource::new(file.clone(), rule, micro.clone()).unwrap();
        let (want_mean, want_std) = match rule {
            ScaleRule::AsIs => (src.mean, src.std),
            // nano's fan-in 64 over micro's 128.
            ScaleRule::FanIn => (src.mean * 0.5f64.sqrt(), src.std * 0.5f64.sqrt()),
            ScaleRule::ShapeOnly => (0.0, pythia_std(&spec, &micro)),
        };
        let (mean, std) = source.moments(&spec).unwrap();
        assert!((mean - want_mean).abs() < 1e-12 && (std / want_std - 1.0).abs() < 1e-12);
        for method in [
            InitMethod::Empirical,
            InitMethod::GaussianMatched,
            InitMethod::Parametric,
        ] {
            let weights = init_weights(&micro, method, 7, Some(&source)).unwrap();
            let drawn = &weights[&spec.name].values;
            if method == InitMethod::Parametric {
                // The fit matches quantiles, not moments: compare the spread.
                let b = std / src.std;
                let want = b * (src.quantiles.quantile(0.75) - src.quantiles.quantile(0.25));
                let got = iqr(drawn);
                assert!(
                    (got / want - 1.0).abs() < 0.06,
                    "{}: IQR {got} vs {want}",
                    rule.name()
                );
                continue;
            }
            let (got_mean, got_std) = mean_std(drawn);
            assert!(
                (got_std / want_std - 1.0).abs() < 0.06
                    && (got_mean - want_mean).abs() < 0.05 * want_std,
                "{} {}: mean {got_mean} std {got_std}, want {want_mean} {want_std}",
                rule.name(),
                method.name()
            );
            let gains = &weights[&gain.name].values;
            if rule == ScaleRule::ShapeOnly {
                assert!(gains.iter().all(|&g| g == 1.0), "{}", method.name());
            } else {
                let (m, _) = mean_std(gains);
                assert!(
                    (m - src_gain.mean).abs() < 0.05,
                    "{} gain {m}",
                    method.name()
                );
            }
        }
    }
    let _ = nano;
}

#[test]
fn separate_q_k_v_feed_a_fused_qkv_through_their_pooled_mixture() {
    let mut tensors = Vec::new();
    for (role, scale) in [(Role::Q, 0.01f32), (Role::K, 0.02), (Role::V, 0.04)] {
        for layer in 0..2 {
            let values: Vec<f32> = heavy_tensor(4096, layer as u64)
                .into_iter()
                .map(|v| v * scale)
                .collect();
            tensors.push(
                TensorHistogram::from_values(
                    &format!("model.layers.{layer}.self_attn.{}_proj.weight", role.name()),
                    role,
                    Some(layer),
                    2,
                    &[64, 64],
                    64,
                    &values,
                )
                .unwrap(),
            );
        }
    }
    let file = HistogramFile::new(provenance(), tensors).unwrap();
    let nano = ModelConfig::preset("nano").unwrap();
    let source = HistogramSource::new(file, ScaleRule::AsIs, nano.clone()).unwrap();
    let spec = param_specs(&nano)
        .into_iter()
        .find(|s| s.role == Role::Qkv)
        .unwrap();
    let mixture = source.entry(&spec).unwrap();
    assert_eq!((mixture.name.as_str(), mixture.count), ("qkv", 6 * 4096));
    assert!(!mixture.fits.is_empty());
    // The mixture's variance is the mean of the three variances (equal counts).
    let pooled: Vec<f64> = [Role::Q, Role::K, Role::V]
        .iter()
        .map(|&r| source.file().pooled(r).unwrap().std.powi(2))
        .collect();
    let want = (pooled.iter().sum::<f64>() / 3.0).sqrt();
    assert!(
        (mixture.std / want - 1.0).abs() < 0.02,
        "{} vs {want}",
        mixture.std
    );
    // `parametric` draws from the mixture's own best fit, whose distance to the
    // mixture is on record (a scale mixture is heavier-tailed than the zoo).
    let family = source.family(&spec).unwrap();
    let best = best_fit(&mixture.fits).unwrap();
    assert_eq!(family, best.family);
    assert!(best.ks < 0.1, "{best:?}");
    let drawn = sample_family(&family, 100_000, &mut rng(6)).unwrap();
    let d = ks(&drawn, |x| family.cdf(x));
    assert!(d < 0.01, "draws vs the fitted family: KS {d}");
    // Biases are missing from this source: constants.
    let bias = param_specs(&nano)
        .into_iter()
        .find(|s| s.role == Role::Bias)
        .unwrap();
    assert_eq!(source.quantiles(&bias), Some(vec![(0.0, 0.0), (1.0, 0.0)]));
    // A model with tied embeddings has no unembedding: the embedding stands in.
    let mut tied = tensors_of(&source);
    tied.push(
        TensorHistogram::from_values(
            "embeddings.word_embeddings.weight",
            Role::Embed,
            None,
            2,
            &[512, 64],
            64,
            &heavy_tensor(512 * 64, 9),
        )
        .unwrap(),
    );
    let tied = HistogramSource::new(
        HistogramFile::new(provenance(), tied).unwrap(),
        ScaleRule::AsIs,
        nano.clone(),
    )
    .unwrap();
    let unembed = param_specs(&nano)
        .into_iter()
        .find(|s| s.role == Role::Unembed)
        .unwrap();
    assert_eq!(tied.entry(&unembed).unwrap().role, Role::Embed);
    assert!(tied.quantiles(&unembed).is_some() && tied.moments(&unembed).is_some());
    // A matrix role missing from the source is an error naming the tensor.
    let err = init_weights(&nano, InitMethod::Parametric, 1, Some(&source)).unwrap_err();
    assert!(
        err.to_string().contains("gpt_neox.embed_in.weight"),
        "{err}"
    );
}

fn tensors_of(source: &HistogramSource) -> Vec<TensorHistogram> {
    source.file().tensors.clone()
}

#[test]
fn trained_weights_still_drive_every_source_init() {
    let (nano, weights, _) = nano_source();
    let source: &dyn WeightSource = &weights;
    for method in InitMethod::ALL.into_iter().filter(|m| m.needs_source()) {
        let init = init_weights(&nano, method, 3, Some(source)).unwrap();
        let name = "gpt_neox.layers.1.mlp.dense_4h_to_h.weight";
        // Moment-matched inits keep the std, quantile-matched ones the IQR. A t law
        // with 3 degrees of freedom at unit variance has an IQR of 2 t(0.75) / sqrt(3)
        // (t(0.75) = 0.764892), a steadier measure of its scale than its sample std.
        let (trained, drawn) = (&weights[name].values, &init[name].values);
        let (want, got) = match method {
            InitMethod::GaussianMatched => (mean_std(trained).1, mean_std(drawn).1),
            InitMethod::StudentTMatched => (
                mean_std(trained).1,
                iqr(drawn) / (2.0 * 0.764892 / 3f64.sqrt()),
            ),
            _ => (iqr(trained), iqr(drawn)),
        };
        assert!(
            (got / want - 1.0).abs() < 0.06,
            "{}: {got} vs {want}",
            method.name()
        );
    }
}
