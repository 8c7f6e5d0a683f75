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

/// All parameters of a model, in a fixed order (embedding, blocks, final norm, unembedding).
pub fn param_specs(config: &ModelConfig) -> Vec<ParamSpec> {
    let d = config.width;
    let h = config.mlp_width();
    let v = config.vocab;
    let mut specs = Vec::new();
    let mut push = |name: String, role, layer, shape: Vec<usize>, fan_in, is_matrix| {
        specs.push(ParamSpec {
            name,
            role,
            layer,
            shape,
            fan_in,
            is_matrix,
        });
    };
    push(
        "gpt_neox.embed_in.weight".into(),
        Role::Embed,
        None,
        vec![v, d],
        d,
        true,
    );
    for layer in 0..config.layers {
        let p = format!("gpt_neox.layers.{layer}");
        let l = Some(layer);
        if config.norm == NormMode::Layer {
            push(
                format!("{p}.input_layernorm.weight"),
                Role::NormGain,
                l,
                vec![d],
                d,
                false,
            );
            push(
                format!("{p}.input_layernorm.bias"),
                Role::NormBias,
                l,
                vec![d],
                d,
                false,
            );
            push(
                format!("{p}.post_attention_layernorm.weight"),
                Role::NormGain,
                l,
                vec![d],
                d,
                false,
            );
            push(
                format!("{p}.post_attention_layernorm.bias"),
                Role::NormBias,
                l,
                vec![d],
                d,
                false,
            );
        }
        push(
            format!("{p}.attention.query_key_value.weight"),
            Role::Qkv,
            l,
            vec![3 * d, d],
            d,
            true,
        );
        push(
            format!("{p}.attention.query_key_value.bias"),
            Role::Bias,
            l,
            vec![3 * d],
            d,
            false,
        );
        push(
            format!("{p}.attention.dense.weight"),
            Role::AttnOut,
            l,
            vec![d, d],
            d,
            true,
        );
        push(
            format!("{p}.attention.dense.bias"),
            Role::Bias,
            l,
            vec![d],
            d,
            false,
        );
        push(
            format!("{p}.mlp.dense_h_to_4h.weight"),
            Role::MlpIn,
            l,
            vec![h, d],
            d,
            true,
        );
        push(
            format!("{p}.mlp.dense_h_to_4h.bias"),
            Role::Bias,
            l,
            vec![h],
            d,
            false,
        );
        push(
            format!("{p}.mlp.dense_4h_to_h.weight"),
            Role::MlpOut,
            l,
            vec![d, h],
            h,
            true,
        );
        push(
            format!("{p}.mlp.dense_4h_to_h.bias"),
            Role::Bias,
            l,
            vec![d],
            h,
            false,
        );
    }
    if config.norm == NormMode::Layer {
        push(
            "gpt_neox.final_layer_norm.weight".into(),
            Role::NormGain,
            None,
            vec![d],
            d,
            false,
        );
        push(
            "gpt_neox.final_layer_norm.bias".into(),
            Role::NormBias,
            None,
            vec![d],
            d,
            false,
        );
    }
    push(
        "embed_out.weight".into(),
        Role::Unembed,
        None,
        vec![v, d],
        d,
        true,
    );
    specs
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
    fn roles_round_trip_through_their_names() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.name()), Some(role));
        }
    }
}
