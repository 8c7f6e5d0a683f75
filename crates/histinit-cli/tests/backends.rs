//! The other backends against the CPU backend: same forward pass, same training curve.
//! wgpu (a real GPU, or Mesa's lavapipe in software on CI) always; LibTorch in builds with
//! `--features libtorch` (never CI's: it needs LibTorch 2.9 on the machine).

use histinit_core::burn::tensor::{Device, Int, Tensor, TensorData};
use histinit_core::config::ModelConfig;
use histinit_core::data::{bundled_corpus, Corpus, Split};
use histinit_core::init::init_weights;
use histinit_core::model::{NeoxModel, PositionTables};
use histinit_core::train::Trainer;
use histinit_core::{InitMethod, TrainConfig};

#[cfg(feature = "wgpu")]
#[test]
fn wgpu_matches_the_cpu_backend() {
    matches_the_cpu_backend("wgpu", || Device::wgpu(Default::default()));
}

#[cfg(feature = "libtorch")]
#[test]
#[allow(deprecated)] // burn-tch is deprecated upstream; kept here for measurements
fn libtorch_matches_the_cpu_backend() {
    matches_the_cpu_backend("libtorch", Device::libtorch);
}

/// Logits within 1e-3 of the CPU backend's, and 8 training steps on the same batches
/// within 1e-3 relative, step after step.
fn matches_the_cpu_backend(name: &str, other: impl Fn() -> Device) {
    let config = ModelConfig::preset("nano").unwrap();
    let weights = init_weights(&config, InitMethod::HeNormal, 4, None).unwrap();
    let seq = 32;
    let tokens: Vec<i32> = b"In the beginning God created the heaven and the earth."[..seq]
        .iter()
        .map(|&b| b as i32)
        .collect();
    let logits = |device: &Device| -> Vec<f32> {
        let model = NeoxModel::from_weights(&config, &weights, device).unwrap();
        let tables = PositionTables::new(&config, seq, device);
        let input = Tensor::<2, Int>::from_data(TensorData::new(tokens.clone(), [1, seq]), device);
        model
            .forward(input, &tables)
            .into_data()
            .try_into_vec::<f32>()
            .unwrap()
    };
    let cpu = logits(&Device::flex());
    let got = logits(&other());
    let worst = cpu
        .iter()
        .zip(&got)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    assert!(
        got.iter().all(|v| v.is_finite()),
        "{name} logits are not finite"
    );
    assert!(worst < 1e-3, "{name}: largest logit difference {worst}");

    // Training: the same batches give the same losses, step after step.
    let train = TrainConfig {
        steps: 8,
        batch: 4,
        context: 32,
        warmup: 0,
        ..TrainConfig::default()
    };
    let corpus = Corpus::new(&bundled_corpus().unwrap(), 64).unwrap();
    let losses = |device: Device| -> Vec<f64> {
        let mut trainer = Trainer::new(config.clone(), train.clone(), &weights, device).unwrap();
        let mut sampler = corpus.sampler(Split::Student, 32, 3);
        (0..train.steps)
            .map(|_| {
                trainer
                    .step(&sampler.next_batch(4))
                    .read()
                    .unwrap()
                    .train_loss
            })
            .collect()
    };
    let cpu = losses(histinit_core::cpu_device());
    let got = losses(other().autodiff());
    assert!(got.iter().all(|v| v.is_finite()), "{name} losses {got:?}");
    assert!(got[7] < got[0], "{name} loss did not go down: {got:?}");
    let worst_loss = cpu
        .iter()
        .zip(&got)
        .map(|(a, b)| ((a - b) / a).abs())
        .fold(0f64, f64::max);
    println!(
        "{name} against cpu: largest logit difference {worst:.2e}, largest relative loss \
         difference over {} steps {worst_loss:.2e}",
        train.steps
    );
    for (step, (a, b)) in cpu.iter().zip(&got).enumerate() {
        assert!(
            ((a - b) / a).abs() < 1e-3,
            "step {step}: cpu {a} vs {name} {b}"
        );
    }
}
