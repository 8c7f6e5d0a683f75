//! Training throughput (tokens/s) of the real training step, for the benchmark script.

use std::time::Instant;

use histinit_core::burn::tensor::Device;
use histinit_core::config::ModelConfig;
use histinit_core::data::{bundled_corpus, Corpus};
use histinit_core::experiment::ExperimentConfig;
use histinit_core::run::Run;
use histinit_core::source::RunSources;
use histinit_core::{InitMethod, TrainConfig};
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct Throughput {
    pub preset: String,
    pub backend: String,
    pub batch: usize,
    pub context: usize,
    pub steps: usize,
    pub first_step_s: f64,
    pub tokens_per_s: f64,
}

pub fn measure(
    preset: &str,
    backend: &str,
    device: &Device,
    batch: usize,
    steps: usize,
    warmup: usize,
) -> Result<Throughput, String> {
    let model = ModelConfig::preset(preset).map_err(|e| e.to_string())?;
    let context = model.context;
    let train = TrainConfig {
        steps: steps + warmup,
        batch,
        context,
        warmup: 0,
        ..TrainConfig::default()
    };
    let corpus = Corpus::new(&bundled_corpus().map_err(|e| e.to_string())?, context)
        .map_err(|e| e.to_string())?;
    let experiment = ExperimentConfig {
        preset: preset.to_string(),
        inits: vec![InitMethod::Pythia],
        train,
        ..ExperimentConfig::default()
    };
    let mut run = Run::new(
        &experiment,
        &corpus,
        InitMethod::Pythia,
        1,
        &RunSources::default(),
        device,
    )
    .map_err(|e| e.to_string())?
    .without_evaluation();
    let started = Instant::now();
    let mut first_step_s = 0.0;
    let mut timed_from = started;
    for step in 0..steps + warmup {
        let point = run.step().map_err(|e| e.to_string())?;
        if !point.is_finite() {
            return Err(format!(
                "{preset} on {backend}: non-finite loss at step {step}"
            ));
        }
        if step == 0 {
            first_step_s = started.elapsed().as_secs_f64();
        }
        if step + 1 == warmup {
            timed_from = Instant::now();
        }
    }
    let elapsed = timed_from.elapsed().as_secs_f64();
    Ok(Throughput {
        preset: preset.to_string(),
        backend: backend.to_string(),
        batch,
        context,
        steps,
        first_step_s,
        tokens_per_s: (steps * batch * context) as f64 / elapsed,
    })
}
