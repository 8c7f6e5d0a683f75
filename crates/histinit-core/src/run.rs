//! One training run: an init and a seed of an experiment, trained step by step. The
//! CLI (`run`, `sweep`, `teacher`, `bench`) and the page drive this one type, so a
//! link gives the same curve wherever it runs.
//!
//! A step is three phases, so that a browser can await its read-backs without holding
//! the run borrowed: [`Run::begin_step`] queues the update, the caller reads the
//! metrics back (blocking or async) and, at an evaluation step, the validation loss
//! ([`Run::eval_loss`]), then [`Run::finish_step`] records the point. [`Run::step`]
//! is the three in a row for blocking backends.

use std::ops::Range;

use crate::config::{ModelConfig, TrainConfig};
use crate::data::{Batch, BatchSampler, Corpus, Split};
use crate::error::{ConfigError, DataError, ResumeError, TrainError};
use crate::experiment::ExperimentConfig;
use crate::init::{init_weights_scoped, InitMethod};
use crate::model::NeoxModel;
use crate::params::Weights;
use crate::resume::RunState;
use crate::source::{RunSources, WeightSource};
use crate::train::{read_scalar, read_values, PendingMetrics, StepMetrics, Trainer};

mod curve;
pub use curve::*;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Init(#[from] crate::error::InitError),
    #[error(transparent)]
    Model(#[from] crate::error::ModelError),
    #[error(transparent)]
    Train(#[from] TrainError),
    #[error("the run has ended ({0}); it takes no more steps")]
    Ended(&'static str),
}

/// A step that has been queued on the device and not yet recorded.
pub struct PendingStep {
    pub metrics: PendingMetrics,
    /// Whether this step is evaluated (see [`is_eval_step`]).
    pub eval_due: bool,
}

/// An (init, seed) run of an experiment.
pub struct Run<'corpus> {
    model_config: ModelConfig,
    train: TrainConfig,
    trainer: Trainer,
    sampler: BatchSampler<'corpus>,
    /// The experiment's validation set, shared with its other runs (see [`Corpus::eval_batches_of`]).
    eval_batches: std::sync::Arc<[Batch]>,
    evaluate: bool,
    record: RunResult,
}

impl<'corpus> Run<'corpus> {
    /// Draws the initial weights (the experiment's scope applied: tensors outside it
    /// get [`InitScope::FALLBACK`]), and sets up the batches of `seed` on the student
    /// split and the fixed validation batches.
    pub fn new(
        config: &ExperimentConfig,
        corpus: &'corpus Corpus,
        init: InitMethod,
        seed: u64,
        sources: &RunSources,
        device: &burn::tensor::Device,
    ) -> Result<Self, RunError> {
        Ok(Self::with_initial_weights(config, corpus, init, seed, sources, device)?.0)
    }

    /// [`Run::new`], also handing back the initial weights (the page draws them).
    pub fn with_initial_weights(
        config: &ExperimentConfig,
        corpus: &'corpus Corpus,
        init: InitMethod,
        seed: u64,
        sources: &RunSources,
        device: &burn::tensor::Device,
    ) -> Result<(Self, Weights), RunError> {
        // This init's own tuning (gains, learning rate), where the experiment gives one.
        let config = &config.for_init(init);
        let model_config = config.validate()?;
        let train = config.train.clone();
        corpus.check_context(train.context)?;
        let source = sources.source_for(init)?;
        let weights = init_weights_scoped(
            &model_config,
            init,
            config.scope,
            &config.gain,
            seed,
            source,
        )?;
        let trainer = Trainer::new(
            model_config.clone(),
            train.clone(),
            &weights,
            device.clone(),
        )?;
        let record = RunResult {
            init,
            seed,
            status: RunStatus::Running,
            points: Vec::with_capacity(train.steps.min(1 << 16)),
            distances: Vec::new(),
            final_val_batches: Vec::new(),
        };
        let sampler = corpus.sampler(Split::Student, train.context, seed);
        let run = Self::assemble(corpus, model_config, train, trainer, sampler, record);
        Ok((run, weights))
    }

    /// The one place a run's fields are put together (fresh or resumed): the batches
    /// of its sampler and the experiment's shared validation set.
    fn assemble(
        corpus: &'corpus Corpus,
        model_config: ModelConfig,
        train: TrainConfig,
        trainer: Trainer,
        sampler: BatchSampler<'corpus>,
        record: RunResult,
    ) -> Self {
        Self {
            sampler,
            eval_batches: corpus.eval_batches_of(
                train.eval_split.split(),
                train.eval_batches,
                train.batch,
                train.context,
            ),
            evaluate: true,
            record,
            model_config,
            train,
            trainer,
        }
    }

    /// Everything [`Run::resume`] needs to continue this run (a blocking read-back of
    /// the weights and the optimizer state: the CPU backend, or native wgpu). Taken
    /// between steps; a run drawing from another split than the student's
    /// ([`Run::on_split`]) resumes on the student's.
    pub fn save_state(&self) -> Result<RunState, ResumeError> {
        Ok(RunState {
            init: self.record.init,
            seed: self.record.seed,
            sampler: self.sampler.position(),
            result: self.record.clone(),
            weights: self.weights()?,
            optimizer: self.trainer.optimizer_state()?,
        })
    }

    /// A run of `config` continued from `state`: the next step is the one the saved run
    /// would have taken, on the same batch, from the same weights and AdamW moments.
    pub fn resume(
        config: &ExperimentConfig,
        corpus: &'corpus Corpus,
        state: RunState,
        device: &burn::tensor::Device,
    ) -> Result<Self, ResumeError> {
        let mismatch = |what: String| {
            ResumeError::Mismatch(format!(
                "{}: {what}",
                crate::plan::run_name(state.init, state.seed)
            ))
        };
        let config = &config.for_init(state.init);
        let model_config = config.validate().map_err(|err| mismatch(err.to_string()))?;
        let train = config.train.clone();
        corpus
            .check_context(train.context)
            .map_err(|err| mismatch(err.to_string()))?;
        let step = state.optimizer.step;
        let points = &state.result.points;
        if step > train.steps
            || points.len() != step
            || points
                .iter()
                .enumerate()
                .any(|(index, point)| point.step != index)
            || (state.result.status == RunStatus::Running) != (step < train.steps)
                && !matches!(state.result.status, RunStatus::Diverged { .. })
        {
            return Err(mismatch(format!(
                "{step} steps saved with {} curve points ({}), the link trains {}",
                points.len(),
                state.result.status.name(),
                train.steps
            )));
        }
        if (state.result.init, state.result.seed) != (state.init, state.seed) {
            return Err(mismatch("its curve is of another run".into()));
        }
        let trainer = Trainer::resumed(
            model_config.clone(),
            train.clone(),
            &state.weights,
            device.clone(),
            state.optimizer,
        )?;
        let mut sampler = corpus.sampler(Split::Student, train.context, state.seed);
        sampler.seek(state.sampler);
        Ok(Self::assemble(
            corpus,
            model_config,
            train,
            trainer,
            sampler,
            state.result,
        ))
    }

    /// Draws the batches from another split (a teacher trains on its own).
    pub fn on_split(mut self, split: Split, corpus: &'corpus Corpus) -> Self {
        self.sampler = corpus.sampler(split, self.train.context, self.record.seed);
        self
    }

    /// No validation losses (a throughput benchmark or a probe times the steps alone).
    pub fn without_evaluation(mut self) -> Self {
        self.evaluate = false;
        self
    }

    pub fn init(&self) -> InitMethod {
        self.record.init
    }

    pub fn seed(&self) -> u64 {
        self.record.seed
    }

    pub fn status(&self) -> &RunStatus {
        &self.record.status
    }

    pub fn is_running(&self) -> bool {
        self.record.status == RunStatus::Running
    }

    pub fn points(&self) -> &[CurvePoint] {
        &self.record.points
    }

    /// The run so far: its points and status (`running` until it ends).
    pub fn result(&self) -> &RunResult {
        &self.record
    }

    pub fn into_result(self) -> RunResult {
        self.record
    }

    pub fn model(&self) -> &NeoxModel {
        self.trainer.model()
    }

    pub fn model_config(&self) -> &ModelConfig {
        &self.model_config
    }

    pub fn train_config(&self) -> &TrainConfig {
        &self.train
    }

    /// The current weights (a blocking read-back).
    pub fn weights(&self) -> Result<Weights, TrainError> {
        self.trainer.weights()
    }

    /// Ends a running run early; its curve is kept as it is.
    pub fn stop(&mut self) {
        if self.is_running() {
            self.record.status = RunStatus::Stopped {
                steps: self.record.points.len(),
            };
        }
    }

    /// Queues the next update (forward, backward, clipping, AdamW) on the next batch.
    pub fn begin_step(&mut self) -> Result<PendingStep, RunError> {
        if !self.is_running() {
            return Err(RunError::Ended(self.record.status.name()));
        }
        let batch = self.sampler.next_batch(self.train.batch);
        let step = self.trainer.step_index();
        Ok(PendingStep {
            metrics: self.trainer.step(&batch),
            eval_due: self.evaluate && is_eval_step(&self.train, step),
        })
    }

    /// The number of fixed validation batches.
    pub fn eval_batch_count(&self) -> usize {
        self.eval_batches.len()
    }

    /// The mean loss over the validation batches in `batches` (no read-back). Means
    /// over disjoint ranges of equal length, averaged, are the mean over all of them:
    /// the page evaluates one batch at a time to give the browser turns in between.
    pub fn eval_loss(&self, batches: Range<usize>) -> burn::tensor::Tensor<1> {
        self.trainer.eval_loss(&self.eval_batches[batches])
    }

    /// Records a step whose metrics (and, at an evaluation step, validation loss)
    /// have been read back; the run ends at the last step or at a non-finite number.
    pub fn finish_step(
        &mut self,
        metrics: StepMetrics,
        val_loss: Option<f64>,
    ) -> Result<&CurvePoint, RunError> {
        if !self.is_running() {
            return Err(RunError::Ended(self.record.status.name()));
        }
        let point = CurvePoint::from_step(&self.train, &metrics, val_loss);
        let step = point.step;
        if !point.is_finite() {
            self.record.status = RunStatus::Diverged { step };
        } else if self.trainer.is_done() {
            self.record.status = RunStatus::Completed;
        }
        self.record.points.push(point);
        Ok(self.record.points.last().expect("just pushed"))
    }

    /// One whole step on a blocking backend (native CPU or wgpu). The last evaluation
    /// also keeps each batch's loss ([`RunResult::final_val_batches`]); the mean is the
    /// same computation as [`Run::eval_loss`]'s, so the curve does not depend on it.
    pub fn step(&mut self) -> Result<&CurvePoint, RunError> {
        let pending = self.begin_step()?;
        let metrics = pending.metrics.read()?;
        let val_loss = if pending.eval_due {
            let per_batch = self.trainer.eval_losses(&self.eval_batches);
            if self.trainer.is_done() {
                self.record.final_val_batches = read_values(per_batch.clone())?;
            }
            Some(read_scalar(per_batch.mean())?)
        } else {
            None
        };
        self.finish_step(metrics, val_loss)
    }

    /// Trains to the end (blocking); `on_point` sees every point as it is recorded.
    pub fn run_to_end(
        mut self,
        mut on_point: impl FnMut(&CurvePoint),
    ) -> Result<RunResult, RunError> {
        while self.is_running() {
            on_point(self.step()?);
        }
        Ok(self.record)
    }

    /// [`Run::run_to_end`], also recording at step 0 and at every evaluation step the
    /// distance of the weights to `reference` (see [`DistancePoint`]).
    pub fn run_to_end_traced(
        mut self,
        reference: &dyn WeightSource,
        mut on_point: impl FnMut(&CurvePoint),
    ) -> Result<RunResult, RunError> {
        let mut distances = distances_to(&self.model_config, &self.weights()?, reference, 0);
        while self.is_running() {
            let point = self.step()?;
            on_point(point);
            if point.val_loss.is_some() {
                // Measured after the update: step `s` is the distance after `s + 1` updates.
                let step = point.step + 1;
                let weights = self.weights()?;
                distances.extend(distances_to(&self.model_config, &weights, reference, step));
            }
        }
        self.record.distances = distances;
        Ok(self.record)
    }
}
