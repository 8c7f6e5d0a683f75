//! Which role and layer a checkpoint's tensor name stands for, per naming convention
//! (GPT-NeoX/Pythia, GPT-2, Llama/Mistral-style, BERT-style), user rules first.

use super::ExtractError;
use crate::params::{NeoxTensor, Role, NEOX_BASE, NEOX_TENSORS};

/// Naming conventions the mapper knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    /// GPT-NeoX / Pythia (and histinit's own models).
    GptNeox,
    /// GPT-2: Conv1D weights are stored `[in, out]`.
    Gpt2,
    /// Llama, Mistral, Qwen2 and the like (separate q/k/v, gated MLP, RMSNorm).
    Llama,
    /// BERT-style encoders (BERT, MiniLM, RoBERTa).
    Bert,
}

impl Arch {
    pub fn parse(text: &str) -> Result<Self, ExtractError> {
        match text {
            "gpt_neox" | "gpt-neox" | "neox" | "pythia" => Ok(Self::GptNeox),
            "gpt2" => Ok(Self::Gpt2),
            "llama" | "mistral" | "mixtral" | "qwen2" | "gemma" => Ok(Self::Llama),
            "bert" | "roberta" | "minilm" | "xlm-roberta" => Ok(Self::Bert),
            other => Err(ExtractError::Arch(other.to_string())),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::GptNeox => "gpt_neox",
            Self::Gpt2 => "gpt2",
            Self::Llama => "llama",
            Self::Bert => "bert",
        }
    }

    /// Guesses the convention from tensor names.
    pub fn detect<'a>(names: impl IntoIterator<Item = &'a str>) -> Option<Self> {
        let qkv = NeoxTensor::of_field("qkv_weight").module;
        for name in names {
            if name.contains(NEOX_BASE) || name.contains(qkv) {
                return Some(Self::GptNeox);
            }
            if name.contains("attn.c_attn") || name.ends_with("wte.weight") {
                return Some(Self::Gpt2);
            }
            if name.contains("self_attn.q_proj") || name.contains("embed_tokens") {
                return Some(Self::Llama);
            }
            if name.contains("attention.self.query") || name.contains("word_embeddings") {
                return Some(Self::Bert);
            }
        }
        None
    }
}

/// What one tensor is, for the histograms.
#[derive(Debug, Clone, PartialEq)]
pub enum Mapping {
    Param {
        role: Role,
        layer: Option<usize>,
        /// GPT-2 Conv1D weight: stored `[in, out]`, transposed to `[out, in]`.
        conv1d: bool,
        /// A fused QKV weight to split into q, k and v as well.
        split: Option<QkvLayout>,
    },
    /// Not a parameter of the kind histinit initializes (buffers, position tables).
    Skip(&'static str),
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QkvLayout {
    /// GPT-NeoX: output rows are `[heads, 3, head_dim]`.
    PerHead,
    /// GPT-2: output rows are `[3, width]` (q block, then k, then v).
    Blocks,
}

/// The first `.N.` in a name: the block index.
fn layer_of(name: &str) -> Option<usize> {
    name.split('.')
        .collect::<Vec<_>>()
        .windows(2)
        .find_map(|w| {
            matches!(w[0], "layers" | "h" | "layer" | "blocks" | "block")
                .then(|| w[1].parse().ok())
                .flatten()
        })
        .or_else(|| name.split('.').find_map(|part| part.parse().ok()))
}

/// The row of histinit's own parameter table (`NEOX_TENSORS`, the one place GPT-NeoX
/// names are spelled) whose Hugging Face module `name` contains, with or without the
/// `gpt_neox.` prefix (GPTNeoXModel, without the LM head, saves none): the module's
/// bias row for a `.bias`, else its weight row.
fn neox_row(name: &str) -> Option<&'static NeoxTensor> {
    let in_module = |row: &&NeoxTensor| {
        let module = row.module.trim_start_matches(NEOX_BASE);
        name.contains(&format!("{module}."))
    };
    let is_bias = name.ends_with(".bias");
    NEOX_TENSORS
        .iter()
        .filter(in_module)
        .find(|row| (row.param == "bias") == is_bias)
        .or_else(|| NEOX_TENSORS.iter().find(in_module))
}

/// A user's rules, tried before any convention: `Some(Some(role))` gives `name` that
/// role, `Some(None)` skips it, `None` leaves it to the convention (the CLI's `--role`
/// rules are regular expressions; the page has none).
pub type UserRules<'a> = &'a dyn Fn(&str) -> Option<Option<Role>>;

/// No user rules.
pub fn no_rules(_: &str) -> Option<Option<Role>> {
    None
}

/// Maps a tensor name to its role under `arch`, after the user rules.
pub fn map_tensor(name: &str, arch: Option<Arch>, rules: UserRules<'_>) -> Mapping {
    if let Some(role) = rules(name) {
        return match role {
            Some(role) => Mapping::Param {
                role,
                layer: layer_of(name),
                conv1d: false,
                split: None,
            },
            None => Mapping::Skip("skipped by a user rule (--role)"),
        };
    }
    let Some(arch) = arch else {
        return Mapping::Unknown;
    };
    let layer = layer_of(name);
    let is_bias = name.ends_with(".bias");
    let param = |role| Mapping::Param {
        role,
        layer,
        conv1d: false,
        split: None,
    };
    let norm = || {
        if is_bias {
            param(Role::NormBias)
        } else {
            param(Role::NormGain)
        }
    };
    let has = |part: &str| name.contains(part);
    match arch {
        Arch::GptNeox => {
            if name.ends_with("attention.bias")
                || name.ends_with("attention.masked_bias")
                || has("rotary_emb")
            {
                Mapping::Skip("attention mask or rotary buffer, not a parameter")
            } else if let Some(row) = neox_row(name) {
                Mapping::Param {
                    role: row.role,
                    layer,
                    conv1d: false,
                    split: (row.role == Role::Qkv).then_some(QkvLayout::PerHead),
                }
            } else if has("layernorm") || has("layer_norm") {
                norm()
            } else if is_bias && layer.is_some() {
                param(Role::Bias)
            } else {
                Mapping::Unknown
            }
        }
        Arch::Gpt2 => {
            let conv = |role| Mapping::Param {
                role,
                layer,
                conv1d: true,
                split: None,
            };
            if name.ends_with("attn.bias") || name.ends_with("attn.masked_bias") {
                Mapping::Skip("attention mask buffer, not a parameter")
            } else if name.ends_with("wpe.weight") {
                Mapping::Skip("learned position embedding (histinit's models use rotary positions)")
            } else if name.ends_with("wte.weight") {
                param(Role::Embed)
            } else if name.ends_with("lm_head.weight") {
                param(Role::Unembed)
            } else if has("ln_") {
                norm()
            } else if is_bias && layer.is_some() {
                param(Role::Bias)
            } else if has("attn.c_attn.") {
                Mapping::Param {
                    role: Role::Qkv,
                    layer,
                    conv1d: true,
                    split: Some(QkvLayout::Blocks),
                }
            } else if has("attn.c_proj.") {
                conv(Role::AttnOut)
            } else if has("mlp.c_fc.") {
                conv(Role::MlpIn)
            } else if has("mlp.c_proj.") {
                conv(Role::MlpOut)
            } else {
                Mapping::Unknown
            }
        }
        Arch::Llama => {
            if has("rotary_emb") {
                Mapping::Skip("rotary buffer, not a parameter")
            } else if has("embed_tokens.") {
                param(Role::Embed)
            } else if name.ends_with("lm_head.weight") {
                param(Role::Unembed)
            } else if has("norm.") {
                norm()
            } else if is_bias && layer.is_some() {
                param(Role::Bias)
            } else if has("q_proj.") {
                param(Role::Q)
            } else if has("k_proj.") {
                param(Role::K)
            } else if has("v_proj.") {
                param(Role::V)
            } else if has("o_proj.") {
                param(Role::AttnOut)
            } else if has("gate_proj.") || has("up_proj.") {
                param(Role::MlpIn)
            } else if has("down_proj.") {
                param(Role::MlpOut)
            } else {
                Mapping::Unknown
            }
        }
        Arch::Bert => {
            if name.ends_with("position_ids") {
                Mapping::Skip("position id buffer, not a parameter")
            } else if has("position_embeddings.") || has("token_type_embeddings.") {
                Mapping::Skip("position or segment embedding (no matching role)")
            } else if has("pooler.") || has("cls.") {
                Mapping::Skip("pooler or task head, not part of the encoder stack")
            } else if has("word_embeddings.") {
                param(Role::Embed)
            } else if has("LayerNorm.") || has("layer_norm.") {
                norm()
            } else if is_bias && layer.is_some() {
                param(Role::Bias)
            } else if has("attention.self.query.") {
                param(Role::Q)
            } else if has("attention.self.key.") {
                param(Role::K)
            } else if has("attention.self.value.") {
                param(Role::V)
            } else if has("attention.output.dense.") {
                param(Role::AttnOut)
            } else if has("intermediate.dense.") {
                param(Role::MlpIn)
            } else if has("output.dense.") {
                param(Role::MlpOut)
            } else {
                Mapping::Unknown
            }
        }
    }
}
