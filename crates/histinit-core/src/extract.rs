//! Per-tensor histograms from a safetensors checkpoint, without the file system: the one
//! extractor behind `histinit extract` (which maps the files and reads `config.json`),
//! `histinit teacher` and the page's export of a trained run, so a run exported from
//! the page gets exactly the histograms `histinit extract` would give its weights.
//! Names are mapped to roles for GPT-NeoX/Pythia, GPT-2, Llama/Mistral-style and
//! BERT-style models; user rules come first; every tensor that maps to nothing is
//! listed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::checkpoint::{CheckpointError, SafetensorsFile};
use crate::histogram::{HistogramError, HistogramFile, Provenance, TensorHistogram};
use crate::params::Role;

/// The header metadata histinit writes with a model's weights (a teacher's checkpoints,
/// a run exported from the page): what the extractor reads to name the architecture and
/// split the fused QKV per head when no `config.json` lies beside the file.
pub fn neox_metadata(
    model: &crate::config::ModelConfig,
    preset: &str,
    step: usize,
) -> BTreeMap<String, String> {
    [
        ("format", "pt".to_string()),
        ("architecture", "gpt_neox".to_string()),
        ("num_attention_heads", model.heads.to_string()),
        ("num_hidden_layers", model.layers.to_string()),
        ("preset", preset.to_string()),
        ("step", step.to_string()),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_string(), value))
    .collect()
}

#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
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
    #[error("unknown architecture '{0}' (expected gpt_neox, gpt2, llama, bert)")]
    Arch(String),
    #[error(
        "no tensor of {path} maps to a role; add --role 'REGEX=ROLE' rules (unmapped: {unmapped})"
    )]
    NothingMapped { path: PathBuf, unmapped: String },
    #[error(transparent)]
    Histogram(#[from] HistogramError),
}

mod names;
pub use names::*;

/// `[rows, cols]` row-major to `[cols, rows]`.
fn transpose(values: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0.0; values.len()];
    for r in 0..rows {
        for c in 0..cols {
            out[c * rows + r] = values[r * cols + c];
        }
    }
    out
}

/// Splits a fused `[3 * width, in]` QKV weight (rows in `layout`) into q, k and v rows.
pub fn split_qkv(
    values: &[f32],
    rows: usize,
    cols: usize,
    layout: QkvLayout,
    heads: usize,
) -> Option<[Vec<f32>; 3]> {
    if !rows.is_multiple_of(3) || values.len() != rows * cols {
        return None;
    }
    let width = rows / 3;
    let mut parts: [Vec<f32>; 3] = Default::default();
    match layout {
        QkvLayout::Blocks => {
            for (which, part) in parts.iter_mut().enumerate() {
                *part = values[which * width * cols..(which + 1) * width * cols].to_vec();
            }
        }
        QkvLayout::PerHead => {
            if heads == 0 || !width.is_multiple_of(heads) {
                return None;
            }
            let head_dim = width / heads;
            for row in 0..rows {
                let which = (row / head_dim) % 3;
                parts[which].extend_from_slice(&values[row * cols..(row + 1) * cols]);
            }
        }
    }
    Some(parts)
}
/// What the extraction is asked to do (the user's rules are passed beside it).
#[derive(Debug, Clone, Default)]
pub struct ExtractOptions {
    pub arch: Option<Arch>,
    /// Attention heads, for splitting a GPT-NeoX fused QKV per head.
    pub heads: Option<usize>,
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

fn config_usize(config: Option<&Value>, keys: &[&str]) -> Option<usize> {
    let config = config?;
    keys.iter()
        .find_map(|key| config.get(key).and_then(Value::as_u64))
        .map(|v| v as usize)
}

struct Pending {
    role: Role,
    shape: Vec<usize>,
    values: Vec<f32>,
}

/// Extracts histograms from every tensor of `files` (a checkpoint's shards, each with
/// the path or name it is reported under), one tensor converted at a time (plus, for
/// separate q/k/v, one layer's three projections until they are fused). `config`:
/// the checkpoint's `config.json`, if any; `origin`: what the user pointed at.
pub fn extract_files(
    files: &[(PathBuf, SafetensorsFile<'_>)],
    config: Option<&Value>,
    origin: &Path,
    options: &ExtractOptions,
    rules: UserRules<'_>,
) -> Result<Extraction, ExtractError> {
    let model_type = config
        .and_then(|c| c.get("model_type"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| {
            files
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
            files
                .iter()
                .flat_map(|(_, f)| f.entries().iter().map(|e| e.name.as_str())),
        )
    });
    let heads = options
        .heads
        .or_else(|| config_usize(config, &["num_attention_heads", "n_head"]))
        .or_else(|| {
            files.iter().find_map(|(_, f)| {
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
    for (file_index, (_, file)) in files.iter().enumerate() {
        for entry in file.entries() {
            let mapping = map_tensor(&entry.name, arch, rules);
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
    let layers = config_usize(config, &["num_hidden_layers", "n_layer"])
        .or(max_layer.map(|m| m + 1))
        .unwrap_or(1);
    if plan.is_empty() {
        let names: Vec<&str> = unknown.iter().map(|u| u.name.as_str()).take(8).collect();
        return Err(ExtractError::NothingMapped {
            path: origin.to_path_buf(),
            unmapped: names.join(", "),
        });
    }

    let mut tensors = Vec::new();
    let mut warnings = Vec::new();
    // Separate q/k/v of one layer, held until all three are read and fused.
    let mut pending: BTreeMap<(Option<usize>, String), Vec<Pending>> = BTreeMap::new();
    for (file_index, entry, mapping) in plan {
        let (path, file) = &files[file_index];
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

/// [`extract_files`] on one safetensors buffer with no `config.json` and no user rules
/// (its own header's metadata names the architecture and heads, as histinit writes
/// them): what `histinit extract FILE.safetensors` gives for a file alone.
pub fn extract_bytes(
    bytes: &[u8],
    origin: &Path,
    options: &ExtractOptions,
) -> Result<Extraction, ExtractError> {
    let file = SafetensorsFile::parse(bytes).map_err(|source| ExtractError::Checkpoint {
        path: origin.to_path_buf(),
        source,
    })?;
    extract_files(
        &[(origin.to_path_buf(), file)],
        None,
        origin,
        options,
        &no_rules,
    )
}

#[cfg(test)]
mod tests;
