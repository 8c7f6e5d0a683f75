//! The model's parameters as host-side named tensors, in Hugging Face GPT-NeoX naming
//! and layout (`[out, in]` for linear weights, fused QKV interleaved per head), so a
//! real Pythia checkpoint, a histogram file and an init all speak the same language.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::{ModelConfig, NormMode};
use crate::error::ModelError;

// Role lives in the Burn-free histogram crate (so its parser can be fuzzed cheaply).
pub use histinit_histogram::Role;

/// One parameter tensor of the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParamSpec {
    /// Hugging Face GPT-NeoX name, e.g. `gpt_neox.layers.0.attention.dense.weight`.
    pub name: String,
    pub role: Role,
    /// Block index, `None` for embedding, final norm and unembedding.
    pub layer: Option<usize>,
    pub shape: Vec<usize>,
    /// Inputs feeding each output (for a bias: the fan-in of its layer's weight).
    pub fan_in: usize,
    /// Weight decay applies to matrices only (Pythia's recipe).
    pub is_matrix: bool,
}

impl ParamSpec {
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    /// Position of the tensor in depth, 0 at the input and 1 at the output.
    pub fn depth_fraction(&self, layers: usize) -> f64 {
        self.role.depth_fraction(self.layer, layers)
    }
}

/// Where a tensor sits: once below the blocks, once in every block, or once above them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The token embedding.
    Input,
    /// Repeated in every block, with the block index in its names.
    Block,
    /// The final norm and the unembedding.
    Output,
}

/// A dimension of a tensor's shape, resolved against a [`ModelConfig`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dim {
    Vocab,
    /// The model width `d`.
    Width,
    /// The fused QKV width, `3d`.
    Qkv,
    /// The MLP width, `4d`.
    Mlp,
}

impl Dim {
    fn size(self, config: &ModelConfig) -> usize {
        match self {
            Self::Vocab => config.vocab,
            Self::Width => config.width,
            Self::Qkv => 3 * config.width,
            Self::Mlp => config.mlp_width(),
        }
    }
}

/// One kind of parameter tensor, as Hugging Face's GPT-NeoX names it and as
/// [`crate::model::NeoxModel`] holds it: a row of [`NEOX_TENSORS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NeoxTensor {
    pub scope: Scope,
    /// The Hugging Face module: in a block, the part after `gpt_neox.layers.{i}.`
    /// (`attention.query_key_value`), else the whole (`gpt_neox.embed_in`, `embed_out`).
    pub module: &'static str,
    /// `weight` or `bias`.
    pub param: &'static str,
    /// The field path of the `Param` in `NeoxModel`, under `blocks.{i}.` in a block.
    pub burn_path: &'static str,
    pub role: Role,
    /// Hugging Face's layout (`[out, in]` for linear weights).
    pub shape: &'static [Dim],
    pub fan_in: Dim,
}

/// The prefix of the base model's tensors in a GPT-NeoX checkpoint (all but `embed_out`).
pub const NEOX_BASE: &str = "gpt_neox.";

const fn row(
    scope: Scope,
    module: &'static str,
    param: &'static str,
    burn_path: &'static str,
    role: Role,
    shape: &'static [Dim],
    fan_in: Dim,
) -> NeoxTensor {
    NeoxTensor {
        scope,
        module,
        param,
        burn_path,
        role,
        shape,
        fan_in,
    }
}

/// Every parameter tensor of the model, in model order (embedding, one block, final
/// norm, unembedding). The single source of the tensors' Hugging Face names, their
/// places in the Burn module, roles, shapes and fan-ins: [`param_specs`], the model's
/// loader and the checkpoint mapper of `histinit extract` are derived from it.
#[rustfmt::skip]
pub const NEOX_TENSORS: [NeoxTensor; 16] = {
    use Dim::{Mlp, Qkv, Vocab, Width};
    use Scope::{Block, Input, Output};
    [
        //  scope   Hugging Face module          param     NeoxModel field    role             shape            fan-in
        row(Input,  "gpt_neox.embed_in",         "weight", "embed",           Role::Embed,     &[Vocab, Width], Width),
        row(Block,  "input_layernorm",           "weight", "ln1.gain",        Role::NormGain,  &[Width],        Width),
        row(Block,  "input_layernorm",           "bias",   "ln1.bias",        Role::NormBias,  &[Width],        Width),
        row(Block,  "post_attention_layernorm",  "weight", "ln2.gain",        Role::NormGain,  &[Width],        Width),
        row(Block,  "post_attention_layernorm",  "bias",   "ln2.bias",        Role::NormBias,  &[Width],        Width),
        row(Block,  "attention.query_key_value", "weight", "qkv_weight",      Role::Qkv,       &[Qkv, Width],   Width),
        row(Block,  "attention.query_key_value", "bias",   "qkv_bias",        Role::Bias,      &[Qkv],          Width),
        row(Block,  "attention.dense",           "weight", "attn_out_weight", Role::AttnOut,   &[Width, Width], Width),
        row(Block,  "attention.dense",           "bias",   "attn_out_bias",   Role::Bias,      &[Width],        Width),
        row(Block,  "mlp.dense_h_to_4h",         "weight", "mlp_in_weight",   Role::MlpIn,     &[Mlp, Width],   Width),
        row(Block,  "mlp.dense_h_to_4h",         "bias",   "mlp_in_bias",     Role::Bias,      &[Mlp],          Width),
        row(Block,  "mlp.dense_4h_to_h",         "weight", "mlp_out_weight",  Role::MlpOut,    &[Width, Mlp],   Mlp),
        row(Block,  "mlp.dense_4h_to_h",         "bias",   "mlp_out_bias",    Role::Bias,      &[Width],        Mlp),
        row(Output, "gpt_neox.final_layer_norm", "weight", "final_norm.gain", Role::NormGain,  &[Width],        Width),
        row(Output, "gpt_neox.final_layer_norm", "bias",   "final_norm.bias", Role::NormBias,  &[Width],        Width),
        row(Output, "embed_out",                 "weight", "unembed",         Role::Unembed,   &[Vocab, Width], Width),
    ]
};

impl NeoxTensor {
    /// The row of the `NeoxModel` field `burn_path` (`qkv_weight`, `ln1.gain`, `unembed`).
    ///
    /// # Panics
    /// If the table has no such row: a misspelling in the code, which every test that
    /// builds a model finds.
    pub fn of_field(burn_path: &str) -> &'static NeoxTensor {
        NEOX_TENSORS
            .iter()
            .find(|row| row.burn_path == burn_path)
            .unwrap_or_else(|| panic!("NEOX_TENSORS has no row for the field {burn_path}"))
    }

    /// A LayerNorm parameter: absent with `norm = none`.
    pub fn is_norm(&self) -> bool {
        matches!(self.role, Role::NormGain | Role::NormBias)
    }

    /// The Hugging Face name; `layer` is the block index (ignored outside a block).
    pub fn hf_name(&self, layer: usize) -> String {
        match self.scope {
            Scope::Block => format!("{NEOX_BASE}layers.{layer}.{}.{}", self.module, self.param),
            Scope::Input | Scope::Output => format!("{}.{}", self.module, self.param),
        }
    }

    /// The path of the parameter in `NeoxModel` as Burn's module visitor sees it
    /// (`blocks.0.qkv_weight`).
    pub fn burn_path(&self, layer: usize) -> String {
        match self.scope {
            Scope::Block => format!("blocks.{layer}.{}", self.burn_path),
            Scope::Input | Scope::Output => self.burn_path.to_string(),
        }
    }
}

/// The table's rows that a model of `config` has, each with its block index, in
/// model order.
fn model_rows(config: &ModelConfig) -> Vec<(&'static NeoxTensor, Option<usize>)> {
    let present = |row: &&NeoxTensor| config.norm == NormMode::Layer || !row.is_norm();
    let scope = |scope: Scope| NEOX_TENSORS.iter().filter(move |row| row.scope == scope);
    let mut rows: Vec<_> = scope(Scope::Input)
        .filter(present)
        .map(|r| (r, None))
        .collect();
    for layer in 0..config.layers {
        rows.extend(
            scope(Scope::Block)
                .filter(present)
                .map(|r| (r, Some(layer))),
        );
    }
    rows.extend(scope(Scope::Output).filter(present).map(|r| (r, None)));
    rows
}

/// All parameters of a model, in a fixed order (embedding, blocks, final norm,
/// unembedding), from [`NEOX_TENSORS`].
pub fn param_specs(config: &ModelConfig) -> Vec<ParamSpec> {
    model_rows(config)
        .into_iter()
        .map(|(row, layer)| ParamSpec {
            name: row.hf_name(layer.unwrap_or(0)),
            role: row.role,
            layer,
            shape: row.shape.iter().map(|dim| dim.size(config)).collect(),
            fan_in: row.fan_in.size(config),
            is_matrix: row.shape.len() == 2,
        })
        .collect()
}

/// The path of every parameter in `NeoxModel` (`blocks.0.qkv_weight`), in
/// [`param_specs`] order: what Burn's module visitor must see, in this order.
pub fn burn_paths(config: &ModelConfig) -> Vec<String> {
    model_rows(config)
        .into_iter()
        .map(|(row, layer)| row.burn_path(layer.unwrap_or(0)))
        .collect()
}

/// A host-side tensor: row-major values and their shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostTensor {
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}

/// Named host tensors: the hand-off between inits, checkpoints and the model.
pub type Weights = BTreeMap<String, HostTensor>;

/// Checks that `weights` has every tensor of `config` with the right shape.
pub fn check_weights(config: &ModelConfig, weights: &Weights) -> Result<(), ModelError> {
    for spec in param_specs(config) {
        let tensor = weights
            .get(&spec.name)
            .ok_or_else(|| ModelError::MissingWeight(spec.name.clone()))?;
        if tensor.shape != spec.shape {
            return Err(ModelError::WrongShape {
                name: spec.name,
                got: tensor.shape.clone(),
                expected: spec.shape,
            });
        }
        if tensor.values.len() != spec.numel() {
            return Err(ModelError::WrongLength {
                name: spec.name.clone(),
                got: tensor.values.len(),
                shape: spec.shape.clone(),
                expected: spec.numel(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pythia_14m_shape_has_the_expected_parameter_count() {
        let config = ModelConfig::preset("pythia-14m").unwrap();
        let total: usize = param_specs(&config).iter().map(ParamSpec::numel).sum();
        // Per block: 4 norms of 128, qkv 3*128*128+384, dense 128*128+128,
        // MLP 512*128+512 and 128*512+128; plus embeddings, unembedding and final norm.
        let block = 4 * 128
            + (3 * 128 * 128 + 384)
            + (128 * 128 + 128)
            + (512 * 128 + 512)
            + (128 * 512 + 128);
        assert_eq!(total, 6 * block + 2 * 256 * 128 + 2 * 128);
        let no_norm = param_specs(&config.with_norm(NormMode::None));
        assert!(no_norm
            .iter()
            .all(|spec| !matches!(spec.role, Role::NormGain | Role::NormBias)));
    }

    #[test]
    fn the_table_spells_hugging_face_gpt_neox_names_in_model_order() {
        // Written out by hand (as in a Pythia checkpoint), not derived from the table.
        let mut config = ModelConfig::preset("nano").unwrap();
        config.layers = 1;
        let names: Vec<String> = param_specs(&config).into_iter().map(|s| s.name).collect();
        let expected = [
            "gpt_neox.embed_in.weight",
            "gpt_neox.layers.0.input_layernorm.weight",
            "gpt_neox.layers.0.input_layernorm.bias",
            "gpt_neox.layers.0.post_attention_layernorm.weight",
            "gpt_neox.layers.0.post_attention_layernorm.bias",
            "gpt_neox.layers.0.attention.query_key_value.weight",
            "gpt_neox.layers.0.attention.query_key_value.bias",
            "gpt_neox.layers.0.attention.dense.weight",
            "gpt_neox.layers.0.attention.dense.bias",
            "gpt_neox.layers.0.mlp.dense_h_to_4h.weight",
            "gpt_neox.layers.0.mlp.dense_h_to_4h.bias",
            "gpt_neox.layers.0.mlp.dense_4h_to_h.weight",
            "gpt_neox.layers.0.mlp.dense_4h_to_h.bias",
            "gpt_neox.final_layer_norm.weight",
            "gpt_neox.final_layer_norm.bias",
            "embed_out.weight",
        ];
        assert_eq!(names, expected);
        let paths = burn_paths(&config);
        assert_eq!(paths[0], "embed");
        assert_eq!(paths[5], "blocks.0.qkv_weight");
        assert_eq!(paths[15], "unembed");
    }

    #[test]
    fn specs_keep_their_shapes_fan_ins_and_order_across_blocks() {
        let config = ModelConfig::preset("micro").unwrap();
        let (d, h, v) = (config.width, config.mlp_width(), config.vocab);
        let specs = param_specs(&config);
        assert_eq!(specs.len(), 1 + 12 * config.layers + 3);
        let spec = |name: &str| specs.iter().find(|s| s.name == name).unwrap();
        let mlp_out = spec("gpt_neox.layers.3.mlp.dense_4h_to_h.weight");
        assert_eq!((mlp_out.shape.clone(), mlp_out.fan_in), (vec![d, h], h));
        assert_eq!(mlp_out.layer, Some(3));
        assert!(mlp_out.is_matrix);
        let bias = spec("gpt_neox.layers.2.mlp.dense_4h_to_h.bias");
        assert_eq!(
            (bias.shape.clone(), bias.fan_in, bias.role),
            (vec![d], h, Role::Bias)
        );
        assert!(!bias.is_matrix);
        let qkv = spec("gpt_neox.layers.1.attention.query_key_value.bias");
        assert_eq!(qkv.shape, vec![3 * d]);
        assert_eq!(spec("embed_out.weight").shape, vec![v, d]);
        assert_eq!(spec("embed_out.weight").layer, None);
        // Blocks follow each other whole: block 1 starts right after block 0's last bias.
        let at = |name: &str| specs.iter().position(|s| s.name == name).unwrap();
        assert_eq!(
            at("gpt_neox.layers.1.input_layernorm.weight"),
            at("gpt_neox.layers.0.mlp.dense_4h_to_h.bias") + 1
        );
        let layers = config.layers;
        let no_norm = config.with_norm(NormMode::None);
        assert_eq!(param_specs(&no_norm).len(), 1 + 8 * layers + 1);
        assert_eq!(burn_paths(&no_norm).len(), param_specs(&no_norm).len());
    }

    #[test]
    fn every_row_is_found_by_its_field_and_names_are_unique() {
        for row in &NEOX_TENSORS {
            assert_eq!(NeoxTensor::of_field(row.burn_path), row);
        }
        let config = ModelConfig::preset("micro").unwrap();
        let mut names: Vec<String> = param_specs(&config).into_iter().map(|s| s.name).collect();
        let mut paths = burn_paths(&config);
        let count = names.len();
        names.sort();
        names.dedup();
        paths.sort();
        paths.dedup();
        assert_eq!((names.len(), paths.len()), (count, count));
    }

    #[test]
    fn roles_round_trip_through_their_names() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.name()), Some(role));
        }
    }
}
