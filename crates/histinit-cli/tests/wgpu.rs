//! The wgpu backend (a real GPU, or Mesa's lavapipe in software on CI) against the CPU
//! backend: same forward pass, same training curve.

use histinit_core::burn::tensor::{Device, Int, Tensor, TensorData};
use histinit_core::config::ModelConfig;
use histinit_core::data::{bundled_corpus, Corpus, Split};
use histinit_core::init::init_weights;
use histinit_core::model::{NeoxModel, PositionTables};
use histinit_core::train::Trainer;
use histinit_core::{InitMethod, TrainConfig};

fn wgpu() -> Device {
    Device::wgpu(Default::default())
}

#[test]
fn wgpu_matches_the_cpu_backend() {
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
    let gpu = logits(&wgpu());
    let worst = cpu
        .iter()
        .zip(&gpu)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    assert!(
        gpu.iter().all(|v| v.is_finite()),
        "wgpu logits are not finite"
    );
    assert!(worst < 1e-3, "largest logit difference {worst}");

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
    let gpu = losses(wgpu().autodiff());
    assert!(gpu.iter().all(|v| v.is_finite()), "wgpu losses {gpu:?}");
    assert!(gpu[7] < gpu[0], "wgpu loss did not go down: {gpu:?}");
    for (step, (a, b)) in cpu.iter().zip(&gpu).enumerate() {
        assert!(
            ((a - b) / a).abs() < 1e-3,
            "step {step}: cpu {a} vs wgpu {b}"
        );
    }
}
