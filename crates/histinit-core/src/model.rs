//! A GPT-NeoX (Pythia) style decoder, readable top to bottom.
//!
//! token embedding → blocks of `x + attn(ln1(x)) + mlp(ln2(x))` (parallel residual,
//! rotary embedding on a quarter of each head's dimensions, GELU MLP of 4x width) →
//! final LayerNorm → untied unembedding. Linear weights are stored `[in, out]` (Burn's
//! row layout); conversion from and to Hugging Face's `[out, in]` happens on the host.

use std::cell::RefCell;
use std::sync::{Arc, Weak};

use burn::module::{Module, ModuleVisitor, Param, ParamId};
use burn::tensor::activation::{gelu, log_softmax, softmax};
use burn::tensor::module::{embedding, layer_norm, linear};
use burn::tensor::{Device, Int, Tensor, TensorData};

use crate::config::{ModelConfig, NormMode};
use crate::data::Batch;
use crate::error::{ModelError, TrainError};
use crate::params::{burn_paths, check_weights, param_specs, HostTensor, NeoxTensor, Weights};

/// A LayerNorm with gain and bias.
#[derive(Module, Debug)]
pub struct Norm {
    pub gain: Param<Tensor<1>>,
    pub bias: Param<Tensor<1>>,
    eps: f64,
}

impl Norm {
    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        layer_norm(x, self.gain.val(), Some(self.bias.val()), self.eps)
    }
}

/// `norm = none` stores no norm at all and passes the input through.
fn apply_norm(norm: &Option<Norm>, x: Tensor<3>) -> Tensor<3> {
    match norm {
        Some(norm) => norm.forward(x),
        None => x,
    }
}

#[derive(Module, Debug)]
pub struct Block {
    pub ln1: Option<Norm>,
    pub ln2: Option<Norm>,
    /// `[d, 3d]`; output columns grouped per head as (q, k, v), as in GPT-NeoX.
    pub qkv_weight: Param<Tensor<2>>,
    pub qkv_bias: Param<Tensor<1>>,
    pub attn_out_weight: Param<Tensor<2>>,
    pub attn_out_bias: Param<Tensor<1>>,
    pub mlp_in_weight: Param<Tensor<2>>,
    pub mlp_in_bias: Param<Tensor<1>>,
    pub mlp_out_weight: Param<Tensor<2>>,
    pub mlp_out_bias: Param<Tensor<1>>,
    heads: usize,
    rotary_dims: usize,
}

/// Position tables shared by every block for a given sequence length.
#[derive(Debug, Clone)]
pub struct PositionTables {
    /// `[1, 1, T, rotary_dims]`
    cos: Tensor<4>,
    sin: Tensor<4>,
    /// `[1, 1, T, T]`: 0 where a query may attend, -inf above the diagonal. Not a large
    /// finite number: exp of one (after the softmax's max shift) underflows through
    /// glibc's slow errno path, ~4% of a CPU step at pythia-14m (issue 14). Every row has
    /// its diagonal unmasked, so the softmax's max is finite and no NaN arises; Burn's own
    /// attention masks with -inf on every backend too.
    causal_bias: Tensor<4>,
    seq: usize,
}

impl PositionTables {
    /// GPT-NeoX's rotary tables: `inv_freq = 10000^(-2i/rotary_dims)`, angles `t * inv_freq`,
    /// duplicated across the two halves (the `rotate_half` convention).
    pub fn new(config: &ModelConfig, seq: usize, device: &Device) -> Self {
        let rot = config.rotary_dims();
        let half = rot / 2;
        let mut cos = Vec::with_capacity(seq * rot);
        let mut sin = Vec::with_capacity(seq * rot);
        for t in 0..seq {
            for i in 0..rot {
                let inv_freq = 1.0 / 10000f64.powf((2 * (i % half.max(1))) as f64 / rot as f64);
                let angle = t as f64 * inv_freq;
                cos.push(angle.cos() as f32);
                sin.push(angle.sin() as f32);
            }
        }
        let mut bias = vec![0f32; seq * seq];
        for query in 0..seq {
            for key in query + 1..seq {
                bias[query * seq + key] = f32::NEG_INFINITY;
            }
        }
        let table = |values: Vec<f32>, cols: usize| {
            Tensor::<4>::from_data(TensorData::new(values, [1, 1, seq, cols]), device)
        };
        Self {
            cos: table(cos, rot),
            sin: table(sin, rot),
            causal_bias: table(bias, seq),
            seq,
        }
    }

    pub fn seq(&self) -> usize {
        self.seq
    }

    /// The tables for `seq` on `device`, shared by every holder on this thread: they
    /// are the same for every run of an experiment, and the mask is `T^2` floats (256
    /// MiB at 8192), so 512 runs must not hold a copy each. Freed when the last holder is.
    pub fn shared(config: &ModelConfig, seq: usize, device: &Device) -> Arc<Self> {
        type Key = (usize, usize, Device);
        thread_local! {
            static SHARED: RefCell<Vec<(Key, Weak<PositionTables>)>> = const { RefCell::new(Vec::new()) };
        }
        let key = (config.rotary_dims(), seq, device.clone());
        SHARED.with_borrow_mut(|shared| {
            shared.retain(|(_, tables)| tables.strong_count() > 0);
            if let Some(tables) = shared
                .iter()
                .find(|(k, _)| *k == key)
                .and_then(|(_, tables)| tables.upgrade())
            {
                return tables;
            }
            let tables = Arc::new(Self::new(config, seq, device));
            shared.push((key, Arc::downgrade(&tables)));
            tables
        })
    }
}

fn rotate_half(x: Tensor<4>) -> Tensor<4> {
    let half = x.dims()[3] / 2;
    let first = x.clone().narrow(3, 0, half);
    let second = x.narrow(3, half, half);
    Tensor::cat(vec![second.neg(), first], 3)
}

impl Block {
    fn apply_rotary(&self, x: Tensor<4>, tables: &PositionTables) -> Tensor<4> {
        let rot = self.rotary_dims;
        if rot == 0 {
            return x;
        }
        let head_dim = x.dims()[3];
        let rotated = x.clone().narrow(3, 0, rot);
        let rotated =
            rotated.clone() * tables.cos.clone() + rotate_half(rotated) * tables.sin.clone();
        if rot == head_dim {
            return rotated;
        }
        Tensor::cat(vec![rotated, x.narrow(3, rot, head_dim - rot)], 3)
    }

    fn attention(&self, x: Tensor<3>, tables: &PositionTables) -> Tensor<3> {
        let [batch, seq, width] = x.dims();
        let head_dim = width / self.heads;
        let qkv = linear(x, self.qkv_weight.val(), Some(self.qkv_bias.val()))
            .reshape([batch, seq, self.heads, 3 * head_dim])
            .swap_dims(1, 2);
        // The 1/sqrt(head_dim) scale goes on q (`[B, H, T, head_dim]`), not on the scores
        // (`[B, H, T, T]`, 4-8x larger here): one pass less over the largest tensor,
        // forward and backward.
        let q = self
            .apply_rotary(qkv.clone().narrow(3, 0, head_dim), tables)
            .mul_scalar((head_dim as f64).sqrt().recip());
        let k = self.apply_rotary(qkv.clone().narrow(3, head_dim, head_dim), tables);
        let v = qkv.narrow(3, 2 * head_dim, head_dim);
        let scores = q.matmul(k.swap_dims(2, 3)) + tables.causal_bias.clone();
        let mixed = softmax(scores, 3)
            .matmul(v)
            .swap_dims(1, 2)
            .reshape([batch, seq, width]);
        linear(
            mixed,
            self.attn_out_weight.val(),
            Some(self.attn_out_bias.val()),
        )
    }

    fn mlp(&self, x: Tensor<3>) -> Tensor<3> {
        let hidden = gelu(linear(
            x,
            self.mlp_in_weight.val(),
            Some(self.mlp_in_bias.val()),
        ));
        linear(
            hidden,
            self.mlp_out_weight.val(),
            Some(self.mlp_out_bias.val()),
        )
    }

    fn forward(&self, x: Tensor<3>, tables: &PositionTables) -> Tensor<3> {
        let attn = self.attention(apply_norm(&self.ln1, x.clone()), tables);
        let mlp = self.mlp(apply_norm(&self.ln2, x.clone()));
        x + attn + mlp
    }
}

#[derive(Module, Debug)]
pub struct NeoxModel {
    pub embed: Param<Tensor<2>>,
    pub blocks: Vec<Block>,
    pub final_norm: Option<Norm>,
    /// `[d, vocab]`
    pub unembed: Param<Tensor<2>>,
}

/// Host-side weight lookup that transposes Hugging Face `[out, in]` matrices.
struct WeightReader<'a> {
    weights: &'a Weights,
    device: &'a Device,
}

impl WeightReader<'_> {
    fn get(&self, name: &str) -> Result<&HostTensor, ModelError> {
        self.weights
            .get(name)
            .ok_or_else(|| ModelError::MissingWeight(name.to_string()))
    }

    fn vector(&self, name: &str) -> Result<Param<Tensor<1>>, ModelError> {
        let tensor = self.get(name)?;
        let data = TensorData::new(tensor.values.clone(), [tensor.values.len()]);
        Ok(Param::from_tensor(Tensor::from_data(data, self.device)))
    }

    /// As stored (`[rows, cols]`), used for the embedding table.
    fn matrix(&self, name: &str) -> Result<Param<Tensor<2>>, ModelError> {
        let tensor = self.get(name)?;
        let data = TensorData::new(tensor.values.clone(), [tensor.shape[0], tensor.shape[1]]);
        Ok(Param::from_tensor(Tensor::from_data(data, self.device)))
    }

    /// Transposed from Hugging Face's `[out, in]` to Burn's `[in, out]`.
    fn linear_weight(&self, name: &str) -> Result<Param<Tensor<2>>, ModelError> {
        let tensor = self.get(name)?;
        let (rows, cols) = (tensor.shape[0], tensor.shape[1]);
        let values = transpose(&tensor.values, rows, cols);
        Ok(Param::from_tensor(Tensor::from_data(
            TensorData::new(values, [cols, rows]),
            self.device,
        )))
    }

    /// The LayerNorm whose gain and bias are the `NeoxModel` fields `field.gain` and
    /// `field.bias` of block `layer`.
    fn norm(&self, field: &str, layer: usize, eps: f64) -> Result<Norm, ModelError> {
        let name = |param: &str| NeoxTensor::of_field(&format!("{field}.{param}")).hf_name(layer);
        Ok(Norm {
            gain: self.vector(&name("gain"))?,
            bias: self.vector(&name("bias"))?,
            eps,
        })
    }
}

/// Builds each float parameter's dotted module path from Burn's enter/exit hooks.
#[derive(Default)]
struct ParamPaths {
    path: Vec<String>,
    params: Vec<(String, ParamId)>,
}

impl ModuleVisitor for ParamPaths {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.params.push((self.path.join("."), param.id));
    }
}

/// Checks that the module's parameter paths, in visiting order, are `expected` (from
/// [`burn_paths`]): the first difference is an error naming both.
pub fn check_param_order(found: &[String], expected: &[String]) -> Result<(), ModelError> {
    let missing = || "nothing".to_string();
    for index in 0..found.len().max(expected.len()) {
        let (got, want) = (found.get(index), expected.get(index));
        if got != want {
            return Err(ModelError::ParamOrder {
                index,
                found: got.cloned().unwrap_or_else(missing),
                expected: want.cloned().unwrap_or_else(missing),
            });
        }
    }
    Ok(())
}

/// Row-major `[rows, cols]` → `[cols, rows]`.
pub fn transpose(values: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0f32; values.len()];
    for r in 0..rows {
        for c in 0..cols {
            out[c * rows + r] = values[r * cols + c];
        }
    }
    out
}

impl NeoxModel {
    /// Builds the model on `device` from named host weights (Hugging Face layout).
    pub fn from_weights(
        config: &ModelConfig,
        weights: &Weights,
        device: &Device,
    ) -> Result<Self, ModelError> {
        check_weights(config, weights)?;
        let read = WeightReader { weights, device };
        let eps = config.layer_norm_eps;
        let with_norm = config.norm == NormMode::Layer;
        // Hugging Face's name of a field's tensor, from the one table in params.rs.
        let hf = |field: &str, layer: usize| NeoxTensor::of_field(field).hf_name(layer);
        let mut blocks = Vec::with_capacity(config.layers);
        for layer in 0..config.layers {
            let name = |field: &str| hf(field, layer);
            let (ln1, ln2) = if with_norm {
                (
                    Some(read.norm("ln1", layer, eps)?),
                    Some(read.norm("ln2", layer, eps)?),
                )
            } else {
                (None, None)
            };
            blocks.push(Block {
                ln1,
                ln2,
                qkv_weight: read.linear_weight(&name("qkv_weight"))?,
                qkv_bias: read.vector(&name("qkv_bias"))?,
                attn_out_weight: read.linear_weight(&name("attn_out_weight"))?,
                attn_out_bias: read.vector(&name("attn_out_bias"))?,
                mlp_in_weight: read.linear_weight(&name("mlp_in_weight"))?,
                mlp_in_bias: read.vector(&name("mlp_in_bias"))?,
                mlp_out_weight: read.linear_weight(&name("mlp_out_weight"))?,
                mlp_out_bias: read.vector(&name("mlp_out_bias"))?,
                heads: config.heads,
                rotary_dims: config.rotary_dims(),
            });
        }
        let final_norm = if with_norm {
            Some(read.norm("final_norm", 0, eps)?)
        } else {
            None
        };
        Ok(Self {
            embed: read.matrix(&hf("embed", 0))?,
            blocks,
            final_norm,
            unembed: read.linear_weight(&hf("unembed", 0))?,
        })
    }

    /// The path (`blocks.0.qkv_weight`) and id of every parameter, in the order Burn's
    /// module visitors (the optimizer's groups, gradient clipping) walk them.
    pub fn param_paths(&self) -> Vec<(String, ParamId)> {
        let mut visitor = ParamPaths::default();
        self.visit(&mut visitor);
        visitor.params
    }

    /// The parameter ids in [`param_specs`] order, after checking by name that Burn
    /// visits the parameters in exactly that order: code that pairs module order with
    /// the specs (weight-decay groups, gradient norms per role) relies on it.
    pub fn param_ids(&self, config: &ModelConfig) -> Result<Vec<ParamId>, ModelError> {
        let (paths, ids): (Vec<String>, Vec<ParamId>) = self.param_paths().into_iter().unzip();
        check_param_order(&paths, &burn_paths(config))?;
        Ok(ids)
    }

    /// Logits `[batch, seq, vocab]` for token ids `[batch, seq]`.
    pub fn forward(&self, tokens: Tensor<2, Int>, tables: &PositionTables) -> Tensor<3> {
        let mut x = embedding(self.embed.val(), tokens);
        for block in &self.blocks {
            x = block.forward(x, tables);
        }
        linear(apply_norm(&self.final_norm, x), self.unembed.val(), None)
    }

    /// Mean next-token cross-entropy (nats) of a batch; shape `[1]`.
    pub fn loss(&self, batch: &Batch, tables: &PositionTables, device: &Device) -> Tensor<1> {
        let (inputs, targets) = batch_tensors(batch, device);
        let logits = self.forward(inputs, tables);
        let log_probs = log_softmax(logits, 2);
        log_probs.gather(2, targets.unsqueeze_dim(2)).mean().neg()
    }

    /// Reads the weights back to the host in Hugging Face layout (blocking; native only).
    pub fn to_weights(&self, config: &ModelConfig) -> Result<Weights, TrainError> {
        let mut weights = Weights::new();
        for (spec, tensor) in param_specs(config).into_iter().zip(self.param_tensors()) {
            let values = tensor_values(tensor.into_data())?;
            weights.insert(spec.name.clone(), host_tensor(&spec.shape, values));
        }
        Ok(weights)
    }

    /// Reads the weights back without blocking (needed on WebGPU).
    pub async fn to_weights_async(&self, config: &ModelConfig) -> Result<Weights, TrainError> {
        let mut weights = Weights::new();
        for (spec, tensor) in param_specs(config).into_iter().zip(self.param_tensors()) {
            let data = tensor
                .into_data_async()
                .await
                .map_err(|err| TrainError::Readback(format!("{err:?}")))?;
            weights.insert(
                spec.name.clone(),
                host_tensor(&spec.shape, tensor_values(data)?),
            );
        }
        Ok(weights)
    }

    /// Every parameter as a flat tensor, in `param_specs` order; linear weights in
    /// Hugging Face's `[out, in]` orientation.
    pub fn param_tensors(&self) -> Vec<Tensor<1>> {
        let flat2 = |t: Tensor<2>| t.flatten::<1>(0, 1);
        let linear = |p: &Param<Tensor<2>>| flat2(p.val().transpose());
        let mut out = vec![flat2(self.embed.val())];
        for block in &self.blocks {
            for norm in [&block.ln1, &block.ln2].into_iter().flatten() {
                out.push(norm.gain.val());
                out.push(norm.bias.val());
            }
            out.push(linear(&block.qkv_weight));
            out.push(block.qkv_bias.val());
            out.push(linear(&block.attn_out_weight));
            out.push(block.attn_out_bias.val());
            out.push(linear(&block.mlp_in_weight));
            out.push(block.mlp_in_bias.val());
            out.push(linear(&block.mlp_out_weight));
            out.push(block.mlp_out_bias.val());
        }
        if let Some(norm) = &self.final_norm {
            out.push(norm.gain.val());
            out.push(norm.bias.val());
        }
        out.push(linear(&self.unembed));
        out
    }
}

fn host_tensor(shape: &[usize], values: Vec<f32>) -> HostTensor {
    HostTensor {
        shape: shape.to_vec(),
        values,
    }
}

fn tensor_values(data: TensorData) -> Result<Vec<f32>, TrainError> {
    data.try_into_vec::<f32>()
        .map_err(|err| TrainError::Readback(format!("{err:?}")))
}

/// Input and target id tensors `[batch, seq]`.
pub fn batch_tensors(batch: &Batch, device: &Device) -> (Tensor<2, Int>, Tensor<2, Int>) {
    let shape = [batch.batch, batch.context];
    (
        Tensor::from_data(TensorData::new(batch.inputs.clone(), shape), device),
        Tensor::from_data(TensorData::new(batch.targets.clone(), shape), device),
    )
}
