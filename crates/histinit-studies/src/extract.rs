//! `histinit extract`: per-tensor histograms from a real checkpoint.
//!
//! Inputs are a `.safetensors` file, a sharded `model.safetensors.index.json`, or a
//! Hugging Face model directory. Files are memory-mapped and tensors converted one at
//! a time, so a checkpoint larger than RAM works. Names are mapped to roles for
//! GPT-NeoX/Pythia, GPT-2, Llama/Mistral-style and BERT-style models; user rules
//! (`--role 'pattern=role'`) come first; every tensor that maps to nothing is listed.

mod input;
mod layout;
mod names;

use std::collections::BTreeMap;
use std::fs::File;
use std::path::PathBuf;

use histinit_core::checkpoint::{CheckpointError, SafetensorsFile};
use histinit_core::histogram::{HistogramError, HistogramFile, Provenance, TensorHistogram};
use histinit_core::params::Role;
use histinit_files::fs::FileError;
use memmap2::Mmap;
use serde_json::Value;

pub use input::{resolve_input, Input};
pub use layout::split_qkv;
use layout::transpose;
pub use names::{map_tensor, Arch, Mapping, QkvLayout, RoleRule};

#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error("{path}: {source}")]
    Checkpoint {
        path: PathBuf,
        source: CheckpointError,
    },
    #[error("{path}: tensor '{tensor}': {reason}")]
    Tensor {
        path: PathBuf,
        tensor: String,
        reason: String,
    },
    #[error("{path}: {reason}")]
    Input { path: PathBuf, reason: String },
    #[error(
        "--role '{rule}': {reason} (expected 'REGEX=ROLE' with ROLE one of embed, q, k, v, \
         qkv, attn_out, mlp_in, mlp_out, norm_gain, norm_bias, bias, unembed, skip)"
    )]
    Rule { rule: String, reason: String },
    #[error("unknown architecture '{0}' (expected gpt_neox, gpt2, llama, bert)")]
    Arch(String),
    #[error(
        "no tensor of {path} maps to a role; add --role 'REGEX=ROLE' rules (unmapped: {unmapped})"
    )]
    NothingMapped { path: PathBuf, unmapped: String },
    #[error(transparent)]
    Histogram(#[from] HistogramError),
}

/// What `extract` was asked to do.
#[derive(Debug, Clone, Default)]
pub struct ExtractOptions {
    pub arch: Option<Arch>,
    /// Attention heads, for splitting a GPT-NeoX fused QKV per head.
    pub heads: Option<usize>,
    pub rules: Vec<RoleRule>,
    pub provenance: Provenance,
}

/// A tensor that did not become a histogram, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Unmapped {
    pub name: String,
    pub shape: Vec<usize>,
    pub reason: String,
}

#[derive(Debug)]
pub struct Extraction {
    pub file: HistogramFile,
    pub arch: Option<Arch>,
    /// Tensors skipped on purpose (buffers, position tables), with the reason.
    pub skipped: Vec<Unmapped>,
    /// Tensors no rule or convention covers: listed, never silently dropped.
    pub unknown: Vec<Unmapped>,
    /// Tensors that held some non-finite values (counted in their entries).
    pub warnings: Vec<String>,
}

fn config_usize(config: &Option<Value>, keys: &[&str]) -> Option<usize> {
    let config = config.as_ref()?;
    keys.iter()
        .find_map(|key| config.get(key).and_then(Value::as_u64))
        .map(|v| v as usize)
}

struct Pending {
    role: Role,
    shape: Vec<usize>,
    values: Vec<f32>,
}

/// Extracts histograms from every tensor of `input`, one tensor in memory at a time
/// (plus, for separate q/k/v, one layer's three projections until they are fused).
pub fn extract(input: &Input, options: &ExtractOptions) -> Result<Extraction, ExtractError> {
    struct Opened {
        path: PathBuf,
        map: Mmap,
    }
    let mut opened = Vec::new();
    for path in &input.files {
        let file = File::open(path).map_err(|source| {
            ExtractError::File(FileError::Read {
                path: path.clone(),
                source,
            })
        })?;
        // SAFETY: the map is only read, and only while this function runs; a file that
        // is truncated underneath us is caught by the header checks or raises SIGBUS,
        // as with any mmap reader (the safetensors crate documents the same).
        let map = unsafe { Mmap::map(&file) }.map_err(|source| {
            ExtractError::File(FileError::Read {
                path: path.clone(),
                source,
            })
        })?;
        opened.push(Opened {
            path: path.clone(),
            map,
        });
    }
    let parsed: Vec<(PathBuf, SafetensorsFile<'_>)> = opened
        .iter()
        .map(|o| {
            SafetensorsFile::parse(&o.map)
                .map(|file| (o.path.clone(), file))
                .map_err(|source| ExtractError::Checkpoint {
                    path: o.path.clone(),
                    source,
                })
        })
        .collect::<Result<_, _>>()?;

    let model_type = input
        .config
        .as_ref()
        .and_then(|c| c.get("model_type"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| {
            parsed
                .iter()
                .find_map(|(_, f)| f.metadata().get("architecture").cloned())
        });
    let arch = match (options.arch, model_type) {
        (Some(arch), _) => Some(arch),
        (None, Some(model_type)) => Arch::parse(&model_type).ok(),
        (None, None) => None,
    }
    .or_else(|| {
        Arch::detect(
            parsed
                .iter()
                .flat_map(|(_, f)| f.entries().iter().map(|e| e.name.as_str())),
        )
    });
    let heads = options
        .heads
        .or_else(|| config_usize(&input.config, &["num_attention_heads", "n_head"]))
        .or_else(|| {
            parsed.iter().find_map(|(_, f)| {
                f.metadata()
                    .get("num_attention_heads")
                    .and_then(|h| h.parse().ok())
            })
        });

    // Fan-in of each weight, so a bias can take its layer's.
    let mut fan_ins: BTreeMap<String, usize> = BTreeMap::new();
    let mut plan = Vec::new();
    let mut skipped = Vec::new();
    let mut unknown = Vec::new();
    let mut max_layer = None::<usize>;
    for (file_index, (_, file)) in parsed.iter().enumerate() {
        for entry in file.entries() {
            let mapping = map_tensor(&entry.name, arch, &options.rules);
            let unmapped = |reason: String| Unmapped {
                name: entry.name.clone(),
                shape: entry.shape.clone(),
                reason,
            };
            match mapping {
                Mapping::Skip(reason) => skipped.push(unmapped(reason.into())),
                Mapping::Unknown => unknown.push(unmapped(match arch {
                    Some(arch) => format!("no {} rule covers it", arch.name()),
                    None => "architecture unknown (pass --arch or --role rules)".into(),
                })),
                Mapping::Param { .. } if !entry.is_float() => skipped.push(unmapped(format!(
                    "dtype {} is not a float type",
                    entry.dtype
                ))),
                Mapping::Param { layer, conv1d, .. } => {
                    if entry.shape.len() >= 2 {
                        let fan_in = if conv1d {
                            entry.shape[0]
                        } else {
                            entry.shape[1..].iter().product()
                        };
                        fan_ins.insert(entry.name.clone(), fan_in);
                    }
                    if let Some(layer) = layer {
                        max_layer = Some(max_layer.map_or(layer, |m: usize| m.max(layer)));
                    }
                    plan.push((file_index, entry.clone(), mapping));
                }
            }
        }
    }
    let layers = config_usize(&input.config, &["num_hidden_layers", "n_layer"])
        .or(max_layer.map(|m| m + 1))
        .unwrap_or(1);
    if plan.is_empty() {
        let names: Vec<&str> = unknown.iter().map(|u| u.name.as_str()).take(8).collect();
        return Err(ExtractError::NothingMapped {
            path: input.origin.clone(),
            unmapped: names.join(", "),
        });
    }

    let mut tensors = Vec::new();
    let mut warnings = Vec::new();
    // Separate q/k/v of one layer, held until all three are read and fused.
    let mut pending: BTreeMap<(Option<usize>, String), Vec<Pending>> = BTreeMap::new();
    for (file_index, entry, mapping) in plan {
        let (path, file) = &parsed[file_index];
        let Mapping::Param {
            role,
            layer,
            conv1d,
            split,
        } = mapping
        else {
            continue;
        };
        let tensor_err = |reason: String| ExtractError::Tensor {
            path: path.clone(),
            tensor: entry.name.clone(),
            reason,
        };
        let mut values = file
            .tensor_unchecked(&entry.name)
            .map_err(|source| ExtractError::Checkpoint {
                path: path.clone(),
                source,
            })?
            .values;
        let non_finite = values.iter().filter(|v| !v.is_finite()).count();
        if non_finite == values.len() && !values.is_empty() {
            return Err(ExtractError::Checkpoint {
                path: path.clone(),
                source: CheckpointError::NonFinite {
                    tensor: entry.name.clone(),
                    count: non_finite,
                    total: values.len(),
                },
            });
        }
        if non_finite > 0 {
            warnings.push(format!(
                "{}: tensor '{}': {non_finite} of {} values are NaN or infinite (left out of its statistics)",
                path.display(),
                entry.name,
                values.len()
            ));
        }
        let mut shape = entry.shape.clone();
        if conv1d && shape.len() == 2 {
            values = transpose(&values, shape[0], shape[1]);
            shape = vec![shape[1], shape[0]];
        }
        let fan_in = if shape.len() >= 2 {
            shape[1..].iter().product()
        } else {
            // A bias or norm: its layer's weight's fan-in, else its own length.
            let sibling = entry
                .name
                .strip_suffix(".bias")
                .map(|s| format!("{s}.weight"));
            sibling
                .and_then(|s| fan_ins.get(&s).copied())
                .unwrap_or(shape.first().copied().unwrap_or(1))
        }
        .max(1);
        let histogram = |name: &str, role: Role, shape: &[usize], values: &[f32]| {
            TensorHistogram::from_values(name, role, layer, layers, shape, fan_in, values)
        };
        tensors.push(histogram(&entry.name, role, &shape, &values)?);
        if let (Some(layout), 2) = (split, shape.len()) {
            let heads_needed = layout == QkvLayout::PerHead;
            match (heads, heads_needed) {
                (None, true) => warnings.push(format!(
                    "{}: tensor '{}' kept whole only: splitting it into q, k, v needs the \
                     head count (pass --heads or put config.json beside the checkpoint)",
                    path.display(),
                    entry.name
                )),
                _ => {
                    let parts = split_qkv(&values, shape[0], shape[1], layout, heads.unwrap_or(1))
                        .ok_or_else(|| {
                            tensor_err(format!(
                                "shape {shape:?} cannot be split into q, k, v with {} heads",
                                heads.unwrap_or(1)
                            ))
                        })?;
                    for (part, (role, tag)) in
                        parts
                            .iter()
                            .zip([(Role::Q, "q"), (Role::K, "k"), (Role::V, "v")])
                    {
                        let part_shape = [shape[0] / 3, shape[1]];
                        tensors.push(histogram(
                            &format!("{}#{tag}", entry.name),
                            role,
                            &part_shape,
                            part,
                        )?);
                    }
                }
            }
        }
        // Separate projections: also fuse q, k, v of a layer into one qkv entry, so a
        // fused-QKV student finds a `qkv` law in every source.
        if matches!(role, Role::Q | Role::K | Role::V) && shape.len() == 2 && split.is_none() {
            let stem = entry
                .name
                .rsplit_once('.')
                .map(|(stem, _)| stem)
                .unwrap_or(&entry.name);
            let parent = stem
                .rsplit_once('.')
                .map(|(p, _)| p)
                .unwrap_or("")
                .to_string();
            let group = pending.entry((layer, parent.clone())).or_default();
            group.push(Pending {
                role,
                shape: shape.clone(),
                values,
            });
            if group.len() == 3 {
                let mut group = pending.remove(&(layer, parent.clone())).unwrap_or_default();
                group.sort_by_key(|p| p.role);
                let cols = group[0].shape[1];
                if group.iter().all(|p| p.shape[1] == cols)
                    && group.iter().map(|p| p.role).collect::<Vec<_>>()
                        == [Role::Q, Role::K, Role::V]
                {
                    let rows: usize = group.iter().map(|p| p.shape[0]).sum();
                    let fused: Vec<f32> = group.into_iter().flat_map(|p| p.values).collect();
                    let name = if parent.is_empty() {
                        "qkv#fused".to_string()
                    } else {
                        format!("{parent}.qkv#fused")
                    };
                    tensors.push(histogram(&name, Role::Qkv, &[rows, cols], &fused)?);
                }
            }
        }
    }
    let mut provenance = options.provenance.clone();
    if provenance.architecture.is_empty() {
        provenance.architecture = arch.map(|a| a.name().to_string()).unwrap_or_default();
    }
    if !unknown.is_empty() {
        let names: Vec<&str> = unknown.iter().map(|u| u.name.as_str()).take(20).collect();
        let more = unknown.len().saturating_sub(names.len());
        let listed = format!(
            "Unmapped tensors (not in this file): {}{}.",
            names.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        );
        provenance.note = Some(match provenance.note.take() {
            Some(note) => format!("{note} {listed}"),
            None => listed,
        });
    }
    let file = HistogramFile::new(provenance, tensors)?;
    Ok(Extraction {
        file,
        arch,
        skipped,
        unknown,
        warnings,
    })
}

#[cfg(test)]
mod tests;
