//! The training step: one function the browser calls once per animation slice and the
//! CLI calls in a loop. A step never reads back from the device; it returns a small
//! metrics tensor that the caller reads when it wants (`into_data_async` on WebGPU).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use burn::module::{Module, ParamGroup};
use burn::optim::{
    AdamW, AdamWConfig, AdamWState, AdaptiveMomentumState, GradientsParams, LearningRate,
    ModuleOptimizer, Optimizer,
};
use burn::tensor::{Device, Tensor, TensorData};

use crate::config::{ModelConfig, TrainConfig};
use crate::data::Batch;
use crate::error::{ModelError, ResumeError, TrainError};
use crate::model::{NeoxModel, PositionTables};
use crate::params::{param_specs, HostTensor, Weights};

/// Host-side metrics of one step.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StepMetrics {
    pub step: usize,
    pub lr: f64,
    pub train_loss: f64,
    /// Global gradient norm before clipping.
    pub grad_norm: f64,
}

impl StepMetrics {
    pub fn is_finite(&self) -> bool {
        self.train_loss.is_finite() && self.grad_norm.is_finite()
    }
}

/// Device-side metrics of one step, to be read back when convenient.
pub struct PendingMetrics {
    pub step: usize,
    pub lr: f64,
    /// `[loss, grad_norm]`
    pub values: Tensor<1>,
}

impl PendingMetrics {
    fn finish(self, data: TensorData) -> Result<StepMetrics, TrainError> {
        let values = data
            .try_into_vec::<f32>()
            .map_err(|err| TrainError::Readback(format!("{err:?}")))?;
        if values.len() != 2 {
            return Err(TrainError::Readback(format!(
                "expected 2 metrics, got {}",
                values.len()
            )));
        }
        Ok(StepMetrics {
            step: self.step,
            lr: self.lr,
            train_loss: values[0] as f64,
            grad_norm: values[1] as f64,
        })
    }

    /// Blocking read-back (native backends).
    pub fn read(self) -> Result<StepMetrics, TrainError> {
        let data = self
            .values
            .clone()
            .try_into_data()
            .map_err(|err| TrainError::Readback(format!("{err:?}")))?;
        self.finish(data)
    }

    /// Non-blocking read-back (required on WebGPU).
    pub async fn read_async(self) -> Result<StepMetrics, TrainError> {
        let data = self
            .values
            .clone()
            .into_data_async()
            .await
            .map_err(|err| TrainError::Readback(format!("{err:?}")))?;
        self.finish(data)
    }
}

mod visitors;
use visitors::{GradSquares, ParamShapes, ScaleGrads};

/// One parameter's AdamW state on the host: its update count and moments (Burn's layout).
#[derive(Debug, Clone, PartialEq)]
pub struct Moments {
    pub time: usize,
    pub moment_1: HostTensor,
    pub moment_2: HostTensor,
}

/// A trainer's step count and each parameter's AdamW state, in module order (none
/// before the first step).
#[derive(Debug, Clone, PartialEq)]
pub struct SavedOptimizer {
    pub step: usize,
    pub moments: Vec<Moments>,
}

/// The moments one update left, still on the device (rank 1; `shape` is the parameter's).
struct LiveMoments {
    time: usize,
    shape: Vec<usize>,
    moment_1: Tensor<1>,
    moment_2: Tensor<1>,
}

/// What the trainer's AdamW groups share, in module order (the order Burn updates in).
#[derive(Default)]
struct MomentsLog {
    /// Saved moments, handed to each parameter at its first update after a resume.
    resumed: VecDeque<Moments>,
    /// The moments of the last step, kept to be saved: Burn keeps them where only its
    /// own record format reaches, which would bring a second serializer into the page.
    latest: Vec<LiveMoments>,
}

/// Burn's AdamW, also keeping each update's moments and starting from saved ones.
#[derive(Clone)]
struct ResumableAdamW {
    adamw: AdamW,
    log: Arc<Mutex<MomentsLog>>,
}

impl Optimizer for ResumableAdamW {
    type State<const D: usize> = AdamWState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        let Ok(mut log) = self.log.lock() else {
            return self.adamw.step(lr, tensor, grad, state);
        };
        let state = state.or_else(|| {
            let saved = log.resumed.pop_front()?;
            let device = tensor.device();
            let tensor = |moment: HostTensor| {
                Tensor::from_data(TensorData::new(moment.values, moment.shape), &device)
            };
            Some(AdamWState {
                momentum: AdaptiveMomentumState {
                    time: saved.time,
                    moment_1: tensor(saved.moment_1),
                    moment_2: tensor(saved.moment_2),
                    max_moment_2: None,
                },
            })
        });
        let (tensor, state) = self.adamw.step(lr, tensor, grad, state);
        if let Some(state) = &state {
            let momentum = &state.momentum;
            let shape = momentum.moment_1.dims().to_vec();
            let flat =
                |moment: &Tensor<D>| moment.clone().reshape([shape.iter().product::<usize>()]);
            log.latest.push(LiveMoments {
                time: momentum.time,
                moment_1: flat(&momentum.moment_1),
                moment_2: flat(&momentum.moment_2),
                shape,
            });
        }
        (tensor, state)
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        AdamW::to_device(state, device)
    }
}

/// A model, its optimizer and its schedule, advanced one step at a time.
pub struct Trainer {
    pub model_config: ModelConfig,
    pub train_config: TrainConfig,
    device: Device,
    model: Option<NeoxModel>,
    optim: ModuleOptimizer,
    moments: Arc<Mutex<MomentsLog>>,
    /// Shared with the experiment's other runs ([`PositionTables::shared`]).
    tables: std::sync::Arc<PositionTables>,
    step: usize,
}

impl Trainer {
    /// `device` must be autodiff-capable (`Device::flex().autodiff()` etc.).
    pub fn new(
        model_config: ModelConfig,
        train_config: TrainConfig,
        weights: &Weights,
        device: Device,
    ) -> Result<Self, ModelError> {
        let model = NeoxModel::from_weights(&model_config, weights, &device)?;
        Self::with_model(model_config, train_config, model, device)
    }

    /// A trainer saved by [`Trainer::optimizer_state`] after `step` steps, continued from
    /// the saved weights and AdamW moments, checked against the model first (a moment
    /// missing or of the wrong shape is an error, not a silent restart of the moments).
    pub fn resumed(
        model_config: ModelConfig,
        train_config: TrainConfig,
        weights: &Weights,
        device: Device,
        saved: SavedOptimizer,
    ) -> Result<Self, ResumeError> {
        let model = NeoxModel::from_weights(&model_config, weights, &device)?;
        let mut shapes = ParamShapes(Vec::new());
        model.visit(&mut shapes);
        let expected = if saved.step > 0 { shapes.0.len() } else { 0 };
        if saved.moments.len() != expected {
            return Err(ResumeError::Mismatch(format!(
                "AdamW moments of {} parameters saved after {} steps, the model has {} parameters",
                saved.moments.len(),
                saved.step,
                shapes.0.len()
            )));
        }
        for (index, (moments, shape)) in saved.moments.iter().zip(&shapes.0).enumerate() {
            for moment in [&moments.moment_1, &moments.moment_2] {
                if moment.shape != *shape || moment.values.len() != shape.iter().product::<usize>()
                {
                    return Err(ResumeError::Mismatch(format!(
                        "the AdamW moment of parameter {index} has shape {:?}, the parameter {shape:?}",
                        moment.shape
                    )));
                }
            }
        }
        let mut trainer = Self::with_model(model_config, train_config, model, device)?;
        if let Ok(mut log) = trainer.moments.lock() {
            log.resumed = saved.moments.into();
        }
        trainer.step = saved.step;
        Ok(trainer)
    }

    /// What [`Trainer::resumed`] needs besides the weights (a blocking read-back).
    pub fn optimizer_state(&self) -> Result<SavedOptimizer, ResumeError> {
        let log = self
            .moments
            .lock()
            .map_err(|_| TrainError::Readback("the optimizer's moments are poisoned".into()))?;
        // Resumed and not stepped since: the saved moments are still the current ones.
        let moments = if !log.resumed.is_empty() {
            log.resumed.iter().cloned().collect()
        } else {
            let host = |moment: &Tensor<1>, shape: &[usize]| -> Result<HostTensor, TrainError> {
                Ok(HostTensor {
                    shape: shape.to_vec(),
                    values: read_values(moment.clone())?
                        .into_iter()
                        .map(|v| v as f32)
                        .collect(),
                })
            };
            log.latest
                .iter()
                .map(|live| {
                    Ok(Moments {
                        time: live.time,
                        moment_1: host(&live.moment_1, &live.shape)?,
                        moment_2: host(&live.moment_2, &live.shape)?,
                    })
                })
                .collect::<Result<_, TrainError>>()?
        };
        Ok(SavedOptimizer {
            step: self.step,
            moments,
        })
    }

    fn with_model(
        model_config: ModelConfig,
        train_config: TrainConfig,
        model: NeoxModel,
        device: Device,
    ) -> Result<Self, ModelError> {
        let specs = param_specs(&model_config);
        // The weight-decay group and the per-role gradient norms pair module order
        // with the specs: checked by name, not just by count.
        let ids = model.param_ids(&model_config)?;
        let matrix_ids = ids
            .iter()
            .zip(&specs)
            .filter(|(_, spec)| spec.is_matrix)
            .map(|(id, _)| *id)
            .collect();
        let adamw = |weight_decay: f64| {
            AdamWConfig::new()
                .with_beta_1(train_config.beta1 as f32)
                .with_beta_2(train_config.beta2 as f32)
                .with_epsilon(train_config.eps as f32)
                .with_weight_decay(weight_decay as f32)
        };
        let moments = Arc::new(Mutex::new(MomentsLog::default()));
        let adamw = |weight_decay: f64| ResumableAdamW {
            adamw: adamw(weight_decay).build(),
            log: moments.clone(),
        };
        // Pythia decays matrices only: biases and LayerNorm parameters get no decay.
        let optim = ModuleOptimizer::from(adamw(0.0)).with_group(
            ParamGroup::from_ids(matrix_ids),
            adamw(train_config.weight_decay),
            None,
        );
        let tables = PositionTables::shared(&model_config, train_config.context, &device);
        Ok(Self {
            model_config,
            train_config,
            device,
            model: Some(model),
            optim,
            moments,
            tables,
            step: 0,
        })
    }

    pub fn step_index(&self) -> usize {
        self.step
    }

    pub fn is_done(&self) -> bool {
        self.step >= self.train_config.steps
    }

    pub fn model(&self) -> &NeoxModel {
        self.model
            .as_ref()
            .expect("the model is only taken during a step")
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    /// One optimizer step on `batch`: forward, backward, global-norm clipping, AdamW.
    pub fn step(&mut self, batch: &Batch) -> PendingMetrics {
        let lr = self.train_config.lr_at(self.step);
        let model = self
            .model
            .take()
            .expect("the model is only taken during a step");
        let loss = model.loss(batch, &self.tables, &self.device);
        let mut grads = GradientsParams::from_grads(loss.backward(), &model);

        let mut squares = GradSquares {
            grads: &grads,
            squares: Vec::new(),
        };
        model.visit(&mut squares);
        let inner = self.device.clone().inner();
        let total_square = squares
            .squares
            .into_iter()
            .flatten()
            .fold(Tensor::<1>::zeros([1], &inner), |total, square| {
                total + square
            });
        let grad_norm = total_square.sqrt();
        if self.train_config.clip > 0.0 {
            // PyTorch's clip_grad_norm_: scale by clip / (norm + 1e-6) when that is below 1.
            let scale = (grad_norm.clone() + 1e-6)
                .recip()
                .mul_scalar(self.train_config.clip)
                .clamp_max(1.0);
            model.visit(&mut ScaleGrads {
                grads: &mut grads,
                scale,
            });
        }
        if let Ok(mut log) = self.moments.lock() {
            log.latest.clear();
        }
        let model = self.optim.step(lr, model, grads);
        self.model = Some(model);
        self.step += 1;

        PendingMetrics {
            step: self.step - 1,
            lr,
            values: Tensor::cat(vec![loss.inner(), grad_norm], 0),
        }
    }

    /// Mean loss over the fixed evaluation batches, as a `[1]` tensor (no read-back).
    pub fn eval_loss(&self, batches: &[Batch]) -> Tensor<1> {
        self.eval_losses(batches).mean()
    }

    /// The loss of each batch of `batches` (no read-back), in order.
    pub fn eval_losses(&self, batches: &[Batch]) -> Tensor<1> {
        // Off autodiff: with tracked parameters each batch's forward kept its graph (every
        // activation) until the losses were read, eval_batches steps' worth of memory.
        let model = self.model().valid();
        let device = self.device.clone().inner();
        let seq = batches
            .first()
            .map(|b| b.context)
            .unwrap_or(self.train_config.context);
        let tables = PositionTables::shared(&self.model_config, seq, &device);
        let losses: Vec<Tensor<1>> = batches
            .iter()
            .map(|batch| model.loss(batch, &tables, &device))
            .collect();
        Tensor::cat(losses, 0)
    }

    pub fn weights(&self) -> Result<Weights, TrainError> {
        self.model().to_weights(&self.model_config)
    }
}

/// Reads a `[1]` tensor (blocking).
pub fn read_scalar(tensor: Tensor<1>) -> Result<f64, TrainError> {
    read_values(tensor)?
        .first()
        .copied()
        .ok_or_else(|| TrainError::Readback("empty tensor".into()))
}

/// Reads a 1-D tensor's values (blocking).
pub fn read_values(tensor: Tensor<1>) -> Result<Vec<f64>, TrainError> {
    let data = tensor
        .try_into_data()
        .map_err(|err| TrainError::Readback(format!("{err:?}")))?;
    let values = data
        .try_into_vec::<f32>()
        .map_err(|err| TrainError::Readback(format!("{err:?}")))?;
    Ok(values.into_iter().map(f64::from).collect())
}

/// Reads a `[1]` tensor without blocking.
pub async fn read_scalar_async(tensor: Tensor<1>) -> Result<f64, TrainError> {
    let data = tensor
        .into_data_async()
        .await
        .map_err(|err| TrainError::Readback(format!("{err:?}")))?;
    let values = data
        .try_into_vec::<f32>()
        .map_err(|err| TrainError::Readback(format!("{err:?}")))?;
    values
        .first()
        .map(|&v| v as f64)
        .ok_or_else(|| TrainError::Readback("empty tensor".into()))
}
