//! `histinit teacher`: trains a Pythia-architecture model of a preset on the corpus's
//! teacher split (never the student or validation text), with the `pythia` init and
//! recipe, saving checkpoints on Pythia's schedule (steps 0, 1, 2, 4, ..., 512, then
//! every 1000, and the last) with histograms extracted from each checkpoint file.

use std::path::{Path, PathBuf};
use std::time::Instant;

use histinit_core::burn::tensor::Device;
use histinit_core::checkpoint::{weights_to_safetensors, CheckpointError, StoreDtype};
use histinit_core::config::{ModelConfig, NormMode, TrainConfig};
use histinit_core::data::{Corpus, Split};
use histinit_core::experiment::ExperimentConfig;
use histinit_core::histogram::{
    HistogramFile, Provenance, RoleSnapshot, Trajectory, TrajectoryPoint, TRAJECTORY_PROBS,
    TRAJECTORY_VERSION,
};
use histinit_core::run::{Run, RunError};
use histinit_core::source::RunSources;
use histinit_core::train::read_scalar;
use histinit_core::InitMethod;

use histinit_files::fs::FileError;

use crate::extract::{extract, resolve_input, ExtractError, ExtractOptions};

#[derive(Debug, thiserror::Error)]
pub enum TeacherError {
    #[error(transparent)]
    Config(#[from] histinit_core::error::ConfigError),
    #[error(transparent)]
    Run(#[from] RunError),
    #[error(transparent)]
    Train(#[from] histinit_core::error::TrainError),
    #[error("checkpoint at step {step}: {source}")]
    Checkpoint {
        step: usize,
        source: CheckpointError,
    },
    #[error(transparent)]
    Extract(#[from] ExtractError),
    #[error(transparent)]
    File(#[from] FileError),
    #[error("training diverged at step {step} (loss {loss}); lower --lr")]
    Diverged { step: usize, loss: f64 },
}

/// The teacher's file names' stem: `teacher-<preset>`, `-nonorm` for one without LayerNorm.
pub fn teacher_id(preset: &str, norm: NormMode) -> String {
    match norm {
        NormMode::Layer => format!("teacher-{preset}"),
        NormMode::None => format!("teacher-{preset}-nonorm"),
    }
}

/// Pythia's checkpoint steps, cut to `total`: 0, 1, 2, 4, ..., 512, every 1000, `total`.
pub fn checkpoint_steps(total: usize) -> Vec<usize> {
    let mut steps = vec![0];
    steps.extend((0..10).map(|k| 1usize << k).filter(|&s| s <= total));
    steps.extend((1..).map(|k| k * 1000).take_while(|&s| s <= total));
    steps.push(total);
    steps.sort_unstable();
    steps.dedup();
    steps
}

pub struct TeacherOptions {
    pub preset: String,
    /// `None`: a teacher without LayerNorm (every norm the identity), for students that
    /// train without one from a distribution that was itself learned without one.
    pub norm: NormMode,
    pub steps: usize,
    pub batch: usize,
    pub lr: f64,
    pub seed: u64,
    pub out: PathBuf,
    /// dtype of the final `teacher-<preset>.safetensors` (checkpoints are f32).
    pub final_dtype: StoreDtype,
    pub backend_name: String,
    pub command: String,
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), TeacherError> {
    Ok(histinit_files::fs::write_file(path, bytes)?)
}

/// What a teacher run produced.
pub struct TeacherReport {
    pub final_histogram: PathBuf,
    pub final_weights: PathBuf,
    pub trajectory: PathBuf,
    pub seconds: f64,
    pub final_val_loss: f64,
    pub initial_val_loss: f64,
}

pub fn train_teacher(
    options: &TeacherOptions,
    corpus: &Corpus,
    device: &Device,
    mut log: impl FnMut(&str),
) -> Result<TeacherReport, TeacherError> {
    let model = ModelConfig::preset(&options.preset)?;
    let train = TrainConfig {
        steps: options.steps,
        batch: options.batch,
        context: model.context,
        lr: options.lr,
        // Pythia warms up over 1% of training.
        warmup: (options.steps / 100).max(1).min(options.steps),
        ..TrainConfig::default()
    };
    let experiment = ExperimentConfig {
        preset: options.preset.clone(),
        norm: options.norm,
        inits: vec![InitMethod::Pythia],
        seed: options.seed,
        train: train.clone(),
        ..ExperimentConfig::default()
    };
    // Validation losses are taken on the checkpoint schedule below, before each step.
    let mut run = Run::new(
        &experiment,
        corpus,
        InitMethod::Pythia,
        options.seed,
        &RunSources::default(),
        device,
    )?
    .on_split(Split::Teacher, corpus)
    .without_evaluation();
    let eval_batches = 0..run.eval_batch_count();
    let schedule = checkpoint_steps(train.steps);
    let id = teacher_id(&options.preset, options.norm);
    let tokens_per_step = (train.batch * train.context) as u64;
    let model_id = format!("histinit-{id}");
    let base_provenance = |step: usize| {
        Provenance {
        model: model_id.clone(),
        architecture: "gpt_neox".into(),
        revision: Some(format!("step{step}")),
        step: Some(step as u64),
        tokens_trained: Some(step as u64 * tokens_per_step),
        corpus: "King James Bible (bundled), teacher split only (45% of blocks, disjoint from the student and validation splits)".into(),
        license: "MIT OR Apache-2.0 (weights trained by histinit; the KJV text is public domain)".into(),
        command: options.command.clone(),
        note: Some(format!(
            "A {} preset GPT-NeoX (Pythia architecture: {} layers, width {}, {} heads, byte vocabulary{}) \
             trained by histinit with the pythia init and recipe (AdamW 0.9/0.95, weight decay 0.1 on \
             matrices, clip 1.0, warmup {} steps, cosine to 10%) at lr {}, batch {} x {} tokens, {} steps, \
             seed {}, on the {} backend. Not a Pythia checkpoint from EleutherAI.",
            options.preset,
            model.layers,
            model.width,
            model.heads,
            match options.norm {
                NormMode::Layer => "",
                NormMode::None => ", without LayerNorm: every norm is the identity",
            },
            train.warmup,
            train.lr,
            train.batch,
            train.context,
            train.steps,
            options.seed,
            options.backend_name
        )),
    }
    };
    let start = Instant::now();
    let mut points = Vec::new();
    let mut loss_sum = 0.0;
    let mut loss_count = 0usize;
    let mut last_file = None;
    let mut initial_val_loss = f64::NAN;
    let mut final_val_loss = f64::NAN;
    for step in 0..=train.steps {
        if schedule.contains(&step) {
            let val_loss = read_scalar(run.eval_loss(eval_batches.clone()))?;
            if step == 0 {
                initial_val_loss = val_loss;
            }
            final_val_loss = val_loss;
            let weights = run.weights()?;
            let provenance = base_provenance(step);
            let meta = histinit_core::extract::neox_metadata(&model, &options.preset, step);
            let bytes = weights_to_safetensors(&weights, StoreDtype::F32, &meta)
                .map_err(|source| TeacherError::Checkpoint { step, source })?;
            let checkpoint = options
                .out
                .join("checkpoints")
                .join(format!("step{step:06}.safetensors"));
            write(&checkpoint, &bytes)?;
            // Histograms come from the saved file through the same path as any
            // real checkpoint's.
            let input = resolve_input(&checkpoint)?;
            let extraction = extract(
                &input,
                &ExtractOptions {
                    provenance: provenance.clone(),
                    ..ExtractOptions::default()
                },
            )?;
            write(
                &options
                    .out
                    .join("histograms")
                    .join(format!("step{step:06}.json.gz")),
                &extraction.file.to_json_gz(),
            )?;
            points.push(TrajectoryPoint {
                step,
                tokens: step as u64 * tokens_per_step,
                train_loss: (loss_count > 0).then(|| loss_sum / loss_count as f64),
                val_loss,
                roles: extraction
                    .file
                    .pooled
                    .iter()
                    .map(RoleSnapshot::of)
                    .collect(),
            });
            loss_sum = 0.0;
            loss_count = 0;
            log(&format!(
                "step {step:>6}: val loss {val_loss:.4}, checkpoint saved ({:.0} s)",
                start.elapsed().as_secs_f64()
            ));
            last_file = Some((extraction.file, weights));
        }
        if step == train.steps {
            break;
        }
        let point = run.step()?;
        if !point.is_finite() {
            return Err(TeacherError::Diverged {
                step,
                loss: point.train_loss,
            });
        }
        loss_sum += point.train_loss;
        loss_count += 1;
        if (step + 1) % 100 == 0 {
            log(&format!(
                "step {:>6}: train loss {:.4} ({:.0} s)",
                step + 1,
                point.train_loss,
                start.elapsed().as_secs_f64()
            ));
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    let (file, weights) = last_file.expect("the last step is always a checkpoint");
    let mut final_file: HistogramFile = file;
    if let Some(note) = &mut final_file.source.note {
        note.push_str(&format!(
            " Trained in {seconds:.0} s; validation loss {initial_val_loss:.3} at step 0, {final_val_loss:.3} at the end."
        ));
    }
    let final_histogram = options.out.join(format!("{id}.json.gz"));
    write(&final_histogram, &final_file.to_json_gz())?;
    let meta = histinit_core::extract::neox_metadata(&model, &options.preset, train.steps);
    let final_weights = options.out.join(format!("{id}.safetensors"));
    write(
        &final_weights,
        &weights_to_safetensors(&weights, options.final_dtype, &meta).map_err(|source| {
            TeacherError::Checkpoint {
                step: train.steps,
                source,
            }
        })?,
    )?;
    let trajectory = Trajectory {
        version: TRAJECTORY_VERSION,
        source: final_file.source.clone(),
        probs: TRAJECTORY_PROBS.to_vec(),
        checkpoints: points,
    };
    let trajectory_path = options.out.join(format!("{id}-trajectory.json.gz"));
    write(&trajectory_path, &trajectory.to_json_gz())?;
    Ok(TeacherReport {
        final_histogram,
        final_weights,
        trajectory: trajectory_path,
        seconds,
        final_val_loss,
        initial_val_loss,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_follows_pythia() {
        assert_eq!(
            checkpoint_steps(2000),
            vec![0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000, 2000]
        );
        assert_eq!(checkpoint_steps(5), vec![0, 1, 2, 4, 5]);
        assert_eq!(
            checkpoint_steps(1500),
            vec![0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000, 1500]
        );
    }
}
