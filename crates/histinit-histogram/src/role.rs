//! Tensor roles. Defined here (and re-exported as `histinit_core::params::Role`) so the
//! histogram format and its fuzzer do not depend on the model crate.

use serde::{Deserialize, Serialize};

/// What a tensor does in the network; inits and histograms are organised by role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Embed,
    Q,
    K,
    V,
    /// Fused query/key/value projection, laid out per head as GPT-NeoX does.
    Qkv,
    AttnOut,
    MlpIn,
    MlpOut,
    NormGain,
    NormBias,
    Bias,
    Unembed,
}

impl Role {
    pub const ALL: [Role; 12] = [
        Role::Embed,
        Role::Q,
        Role::K,
        Role::V,
        Role::Qkv,
        Role::AttnOut,
        Role::MlpIn,
        Role::MlpOut,
        Role::NormGain,
        Role::NormBias,
        Role::Bias,
        Role::Unembed,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Role::Embed => "embed",
            Role::Q => "q",
            Role::K => "k",
            Role::V => "v",
            Role::Qkv => "qkv",
            Role::AttnOut => "attn_out",
            Role::MlpIn => "mlp_in",
            Role::MlpOut => "mlp_out",
            Role::NormGain => "norm_gain",
            Role::NormBias => "norm_bias",
            Role::Bias => "bias",
            Role::Unembed => "unembed",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.name() == text)
    }

    /// Position of a tensor in depth, 0 at the input and 1 at the output: the
    /// embedding is 0, block `l` of `layers` is `(l + 0.5) / layers`, the rest 1.
    pub fn depth_fraction(self, layer: Option<usize>, layers: usize) -> f64 {
        match (self, layer) {
            (Role::Embed, _) => 0.0,
            (_, Some(layer)) => (layer as f64 + 0.5) / layers.max(1) as f64,
            _ => 1.0,
        }
    }
}
