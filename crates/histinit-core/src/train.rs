//! The training step: one function the browser calls once per animation slice and the
//! CLI calls in a loop. A step never reads back from the device; it returns a small
//! metrics tensor that the caller reads when it wants (`into_data_async` on WebGPU).

use burn::module::{Module, ModuleVisitor, Param, ParamGroup};
use burn::optim::{AdamWConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Tensor, TensorData};

use crate::config::{ModelConfig, TrainConfig};
use crate::data::Batch;
use crate::error::{ModelError, TrainError};
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

/// A model, its optimizer and its schedule, advanced one step at a time.
pub struct Trainer {
    pub model_config: ModelConfig,
    pub train_config: TrainConfig,
    device: Device,
    model: Option<NeoxModel>,
    optim: ModuleOptimizer,
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
        // Pythia decays matrices only: biases and LayerNorm parameters get no decay.
        let optim = adamw(0.0).init().with_group(
            ParamGroup::from_ids(matrix_ids),
            adamw(train_config.weight_decay).build(),
            None,
        );
        let tables = PositionTables::shared(&model_config, train_config.context, &device);
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
