//! The model against the reference implementation, causality, and determinism.

use burn::tensor::{Device, Int, Tensor, TensorData};
use histinit_core::burn;
use histinit_core::config::ModelConfig;
use histinit_core::data::{bundled_corpus, Corpus};
use histinit_core::experiment::ExperimentConfig;
use histinit_core::init::init_weights;
use histinit_core::model::{NeoxModel, PositionTables};
use histinit_core::params::{HostTensor, Weights};
use histinit_core::run::Run;
use histinit_core::source::RunSources;
use histinit_core::{InitMethod, NormMode, TrainConfig};
use serde::Deserialize;

#[derive(Deserialize)]
struct Reference {
    config: ReferenceConfig,
    weights: std::collections::BTreeMap<String, HostTensor>,
    inputs: Ints,
    logits: HostTensor,
}

#[derive(Deserialize)]
struct ReferenceConfig {
    layers: usize,
    width: usize,
    heads: usize,
    context: usize,
}

#[derive(Deserialize)]
struct Ints {
    shape: Vec<usize>,
    values: Vec<i32>,
}

fn logits(
    model: &NeoxModel,
    config: &ModelConfig,
    tokens: &[i32],
    shape: [usize; 2],
    device: &Device,
) -> Vec<f32> {
    let tables = PositionTables::new(config, shape[1], device);
    let input = Tensor::<2, Int>::from_data(TensorData::new(tokens.to_vec(), shape), device);
    model
        .forward(input, &tables)
        .into_data()
        .try_into_vec::<f32>()
        .unwrap()
}

#[test]
fn reproduces_hugging_face_gpt_neox_logits() {
    // Produced by tests/reference/make_neox_vectors.py with transformers' GPTNeoXForCausalLM.
    let text = include_str!("data/neox_reference.json");
    let reference: Reference = serde_json::from_str(text).unwrap();
    let c = &reference.config;
    let config = ModelConfig::new(c.layers, c.width, c.heads, c.context).unwrap();
    let device = Device::flex();
    let weights: Weights = reference.weights.into_iter().collect();
    let model = NeoxModel::from_weights(&config, &weights, &device).unwrap();
    let shape = [reference.inputs.shape[0], reference.inputs.shape[1]];
    let ours = logits(&model, &config, &reference.inputs.values, shape, &device);
    assert_eq!(ours.len(), reference.logits.values.len());
    let worst = ours
        .iter()
        .zip(&reference.logits.values)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    assert!(worst < 1e-4, "largest logit difference {worst}");
}

#[test]
fn a_future_token_never_changes_earlier_logits() {
    for norm in [NormMode::Layer, NormMode::None] {
        let config = ModelConfig::preset("nano").unwrap().with_norm(norm);
        let device = Device::flex();
        let weights = init_weights(&config, InitMethod::Pythia, 3, None).unwrap();
        let model = NeoxModel::from_weights(&config, &weights, &device).unwrap();
        let seq = 24;
        let tokens: Vec<i32> = (0..seq as i32).map(|i| (i * 37 + 11) % 256).collect();
        let base = logits(&model, &config, &tokens, [1, seq], &device);
        for changed in [5, 12, seq - 1] {
            let mut altered = tokens.clone();
            altered[changed] = (altered[changed] + 101) % 256;
            let other = logits(&model, &config, &altered, [1, seq], &device);
            let prefix = changed * 256;
            assert_eq!(
                base[..prefix],
                other[..prefix],
                "{norm:?}: changing token {changed} changed earlier logits"
            );
            assert_ne!(
                base[prefix..],
                other[prefix..],
                "{norm:?}: changing token {changed} changed nothing"
            );
        }
    }
}

fn short_experiment() -> ExperimentConfig {
    ExperimentConfig {
        preset: "nano".into(),
        train: TrainConfig {
            steps: 12,
            batch: 4,
            context: 32,
            warmup: 2,
            eval_every: 6,
            eval_batches: 2,
            ..TrainConfig::default()
        },
        ..ExperimentConfig::default()
    }
}

#[test]
fn training_is_bitwise_deterministic_on_the_cpu_backend() {
    let config = short_experiment();
    let corpus = Corpus::new(&bundled_corpus().unwrap(), 64).unwrap();
    let device = histinit_core::cpu_device();
    let run = || {
        Run::new(
            &config,
            &corpus,
            InitMethod::Kaiming,
            5,
            &RunSources::default(),
            &device,
        )
        .unwrap()
        .run_to_end(|_| {})
        .unwrap()
    };
    let (first, second) = (run(), run());
    assert_eq!(first.points.len(), 12);
    for (a, b) in first.points.iter().zip(&second.points) {
        assert_eq!(
            a.train_loss.to_bits(),
            b.train_loss.to_bits(),
            "step {}",
            a.step
        );
        assert_eq!(
            a.grad_norm.to_bits(),
            b.grad_norm.to_bits(),
            "step {}",
            a.step
        );
        assert_eq!(
            a.val_loss.map(f64::to_bits),
            b.val_loss.map(f64::to_bits),
            "step {}",
            a.step
        );
    }
}

#[test]
fn loss_goes_down_for_every_standard_init() {
    let mut config = short_experiment();
    config.train.steps = 40;
    config.train.eval_every = 20;
    let corpus = Corpus::new(&bundled_corpus().unwrap(), 64).unwrap();
    let device = histinit_core::cpu_device();
    for init in [
        InitMethod::Kaiming,
        InitMethod::HeNormal,
        InitMethod::Pythia,
    ] {
        let run = Run::new(&config, &corpus, init, 1, &RunSources::default(), &device)
            .unwrap()
            .run_to_end(|_| {})
            .unwrap();
        let first = run.points[0].val_loss.unwrap();
        let last = run.final_val_loss().unwrap();
        assert!(
            run.points.iter().all(|p| p.train_loss.is_finite()),
            "{init:?}"
        );
        assert!(last < first - 0.5, "{init:?}: val loss {first} -> {last}");
        // A byte model starts near ln(256) = 5.55 unless the init is far from uniform.
        assert!(first > 3.0, "{init:?}: first val loss {first}");
    }
}

#[test]
fn weights_read_back_as_they_were_loaded() {
    let config = ModelConfig::preset("nano").unwrap();
    let weights = init_weights(&config, InitMethod::HeNormal, 8, None).unwrap();
    let model = NeoxModel::from_weights(&config, &weights, &Device::flex()).unwrap();
    assert_eq!(model.to_weights(&config).unwrap(), weights);
}
