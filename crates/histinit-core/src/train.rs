//! The training step: one function the browser calls once per animation slice and the
//! CLI calls in a loop. A step never reads back from the device; it returns a small
//! metrics tensor that the caller reads when it wants (`into_data_async` on WebGPU).

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param, ParamGroup};
use burn::optim::{
    AdamW, AdamWConfig, AdamWState, AdaptiveMomentumState, GradientsParams, LearningRate,
    ModuleOptimizer, Optimizer,
};
use burn::tensor::{Bytes, DType, Device, Tensor, TensorData};

use crate::config::{ModelConfig, TrainConfig};
use crate::data::Batch;
use crate::error::{ModelError, ResumeError, TrainError};
use crate::model::{NeoxModel, PositionTables};
use crate::params::{param_specs, Weights};

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

/// Collects, in module order, the squared norm of each parameter's gradient.
struct GradSquares<'a> {
    grads: &'a GradientsParams,
    squares: Vec<Option<Tensor<1>>>,
}

impl ModuleVisitor for GradSquares<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.squares.push(
            self.grads
                .get::<D>(param.id)
                .map(|grad| grad.square().sum()),
        );
    }
}

/// Multiplies every gradient by a scalar tensor (global-norm clipping without read-back).
struct ScaleGrads<'a> {
    grads: &'a mut GradientsParams,
    scale: Tensor<1>,
}

impl ModuleVisitor for ScaleGrads<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(grad) = self.grads.remove::<D>(param.id) {
            self.grads
                .register::<D>(param.id, grad * self.scale.clone().unsqueeze::<D>());
        }
    }
}

/// Detaches every parameter from autodiff (for evaluation).
struct NoGrad;

impl ModuleMapper for NoGrad {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        param.map(|tensor| tensor.detach())
    }
}

/// Each parameter's shape (Burn's layout, which the optimizer's moments have), in module order.
struct ParamShapes(Vec<Vec<usize>>);

impl ModuleVisitor for ParamShapes {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.0.push(param.val().dims().to_vec());
    }
}

/// A trainer's step count and AdamW state: Burn's record of it (burnpack bytes), keyed
/// by `param_ids` (the model's parameter ids, in [`param_specs`] order).
#[derive(Debug, Clone, PartialEq)]
pub struct SavedOptimizer {
    pub step: usize,
    pub param_ids: Vec<u64>,
    pub record: Vec<u8>,
}

/// One parameter's AdamW state, read from a saved record.
struct Moments {
    time: usize,
    shape: Vec<usize>,
    moment_1: Vec<f32>,
    moment_2: Vec<f32>,
}

/// Burn's AdamW, which hands each parameter, at its first update, the next of the
/// `resumed` moments (module order) instead of starting them at zero. Burn's own
/// `load_record` would put the moments on `Device::default()`, which is WebGPU in the
/// web build and cannot be created synchronously there (the page's CPU fallback).
#[derive(Clone)]
struct ResumableAdamW {
    adamw: AdamW,
    /// Shared by the trainer's two groups: the module's traversal order is theirs together.
    resumed: Arc<Mutex<VecDeque<Moments>>>,
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
        let state = state.or_else(|| {
            let moments = self.resumed.lock().ok()?.pop_front()?;
            let device = tensor.device();
            let tensor = |values: Vec<f32>| {
                Tensor::from_data(TensorData::new(values, moments.shape.clone()), &device)
            };
            Some(AdamWState {
                momentum: AdaptiveMomentumState {
                    time: moments.time,
                    moment_1: tensor(moments.moment_1),
                    moment_2: tensor(moments.moment_2),
                    max_moment_2: None,
                },
            })
        });
        self.adamw.step(lr, tensor, grad, state)
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        AdamW::to_device(state, device)
    }
}

/// The leaves Burn's `RecordState` derive gives `AdamWState` (momentum.time,
/// momentum.moment_1, momentum.moment_2) under each parameter's id.
const TIME: &str = "momentum.time";
const MOMENT_1: &str = "momentum.moment_1";
const MOMENT_2: &str = "momentum.moment_2";

/// Each parameter's moments from a saved record, in module order (`ids`, with `shapes`):
/// none before the first step, every parameter's after it, each F32 of its parameter's
/// shape; anything else is an error naming the entry.
fn read_moments(
    record: &[u8],
    ids: &[u64],
    shapes: &[Vec<usize>],
    stepped: bool,
) -> Result<VecDeque<Moments>, ResumeError> {
    let corrupt = |what: String| ResumeError::Corrupt(format!("optimizer state: {what}"));
    let reader = burn_pack::Reader::from_bytes(Bytes::from_bytes_vec(record.to_vec()))
        .map_err(|err| corrupt(format!("{err:?}")))?;
    let scalars = reader.scalars().clone();
    let mut tensors = BTreeMap::new();
    for tensor in reader
        .into_tensors()
        .map_err(|err| corrupt(format!("{err:?}")))?
    {
        let name = tensor.name.clone();
        tensors.insert(name, tensor);
    }
    if !stepped {
        return if tensors.is_empty() {
            Ok(VecDeque::new())
        } else {
            Err(corrupt("moments saved before the first step".into()))
        };
    }
    let mut moments = VecDeque::with_capacity(ids.len());
    for (id, shape) in ids.iter().zip(shapes) {
        let mut moment = |leaf: &str| -> Result<Vec<f32>, ResumeError> {
            let name = format!("{id}.{leaf}");
            let tensor = tensors
                .remove(&name)
                .ok_or_else(|| corrupt(format!("'{name}' is missing")))?;
            if tensor.dtype != DType::F32 || tensor.shape.as_slice() != shape.as_slice() {
                return Err(corrupt(format!(
                    "'{name}' is {:?} {:?}, its parameter is F32 {shape:?}",
                    tensor.dtype,
                    tensor.shape.as_slice()
                )));
            }
            let bytes = tensor
                .into_bytes()
                .map_err(|err| corrupt(format!("'{name}': {err:?}")))?;
            Ok(bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect())
        };
        let (moment_1, moment_2) = (moment(MOMENT_1)?, moment(MOMENT_2)?);
        let time_key = format!("{id}.{TIME}");
        let time = scalars
            .get(&time_key)
            .and_then(|time| usize::try_from(*time).ok())
            .ok_or_else(|| corrupt(format!("'{time_key}' is missing")))?;
        moments.push_back(Moments {
            time,
            shape: shape.clone(),
            moment_1,
            moment_2,
        });
    }
    if let Some(name) = tensors.keys().next() {
        return Err(corrupt(format!(
            "'{name}' is of no parameter of this model"
        )));
    }
    Ok(moments)
}

/// A model, its optimizer and its schedule, advanced one step at a time.
pub struct Trainer {
    pub model_config: ModelConfig,
    pub train_config: TrainConfig,
    device: Device,
    model: Option<NeoxModel>,
    optim: ModuleOptimizer,
    tables: PositionTables,
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
        Self::with_model(model_config, train_config, model, device, VecDeque::new())
    }

    /// A trainer saved by [`Trainer::optimizer_state`] after `step` steps, continued from
    /// the saved weights and AdamW moments. The record is checked against the model
    /// first, so a damaged one is an error naming the entry, not a silent restart of
    /// the moments.
    pub fn resumed(
        model_config: ModelConfig,
        train_config: TrainConfig,
        weights: &Weights,
        device: Device,
        saved: &SavedOptimizer,
    ) -> Result<Self, ResumeError> {
        let model = NeoxModel::from_weights(&model_config, weights, &device)?;
        let mut shapes = ParamShapes(Vec::new());
        model.visit(&mut shapes);
        if saved.param_ids.len() != shapes.0.len() {
            return Err(ResumeError::Mismatch(format!(
                "{} parameter ids saved, the model has {} parameters",
                saved.param_ids.len(),
                shapes.0.len()
            )));
        }
        let moments = read_moments(&saved.record, &saved.param_ids, &shapes.0, saved.step > 0)?;
        let mut trainer = Self::with_model(model_config, train_config, model, device, moments)?;
        trainer.step = saved.step;
        Ok(trainer)
    }

    /// What [`Trainer::resumed`] needs besides the weights (a blocking read-back).
    pub fn optimizer_state(&self) -> Result<SavedOptimizer, ResumeError> {
        let record = self
            .optim
            .into_bytes()
            .map_err(|err| TrainError::Readback(format!("optimizer state: {err:?}")))?;
        Ok(SavedOptimizer {
            step: self.step,
            param_ids: self
                .model()
                .param_ids(&self.model_config)?
                .into_iter()
                .map(|id| id.val())
                .collect(),
            record: record.to_vec(),
        })
    }

    fn with_model(
        model_config: ModelConfig,
        train_config: TrainConfig,
        model: NeoxModel,
        device: Device,
        resumed: VecDeque<Moments>,
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
        let resumed = Arc::new(Mutex::new(resumed));
        let adamw = |weight_decay: f64| ResumableAdamW {
            adamw: adamw(weight_decay).build(),
            resumed: resumed.clone(),
        };
        // Pythia decays matrices only: biases and LayerNorm parameters get no decay.
        let optim = ModuleOptimizer::from(adamw(0.0)).with_group(
            ParamGroup::from_ids(matrix_ids),
            adamw(train_config.weight_decay),
            None,
        );
        let tables = PositionTables::new(&model_config, train_config.context, &device);
        Ok(Self {
            model_config,
            train_config,
            device,
            model: Some(model),
            optim,
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
        let model = self.model().clone().map(&mut NoGrad);
        let seq = batches
            .first()
            .map(|b| b.context)
            .unwrap_or(self.train_config.context);
        let tables = if seq == self.tables.seq() {
            self.tables.clone()
        } else {
            PositionTables::new(&self.model_config, seq, &self.device)
        };
        let losses: Vec<Tensor<1>> = batches
            .iter()
            .map(|batch| model.loss(batch, &tables, &self.device).detach().inner())
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
