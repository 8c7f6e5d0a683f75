//! `histinit extract`: per-tensor histograms from a real checkpoint on disk.
//!
//! Inputs are a `.safetensors` file, a sharded `model.safetensors.index.json`, or a
//! Hugging Face model directory. Files are memory-mapped and handed to the core's
//! extractor (`histinit_core::extract`, the one the page's export uses too), which
//! converts tensors one at a time, so a checkpoint larger than RAM works. User rules
//! (`--role 'pattern=role'`) are regular expressions, tried first.

use std::fs::File;
use std::path::{Path, PathBuf};

use histinit_core::checkpoint::SafetensorsFile;
pub use histinit_core::extract::{
    map_tensor as map_tensor_with, split_qkv, Arch, Extraction, Mapping, QkvLayout, Unmapped,
};
use histinit_core::histogram::Provenance;
use histinit_core::params::Role;
use memmap2::Mmap;
use regex::Regex;
use serde_json::Value;

use histinit_files::fs::FileError;

#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error(transparent)]
    Extract(#[from] histinit_core::extract::ExtractError),
    #[error("{path}: {reason}")]
    Input { path: PathBuf, reason: String },
    #[error(
        "--role '{rule}': {reason} (expected 'REGEX=ROLE' with ROLE one of embed, q, k, v, \
         qkv, attn_out, mlp_in, mlp_out, norm_gain, norm_bias, bias, unembed, skip)"
    )]
    Rule { rule: String, reason: String },
}

/// A user rule: tensors whose name matches `pattern` get `role` (or are skipped).
#[derive(Debug, Clone)]
pub struct RoleRule {
    pub pattern: Regex,
    pub role: Option<Role>,
}

impl RoleRule {
    pub fn parse(rule: &str) -> Result<Self, ExtractError> {
        let fail = |reason: String| ExtractError::Rule {
            rule: rule.to_string(),
            reason,
        };
        let (pattern, role) = rule.rsplit_once('=').ok_or_else(|| fail("no '='".into()))?;
        let role = match role.trim() {
            "skip" => None,
            name => Some(Role::parse(name).ok_or_else(|| fail(format!("unknown role '{name}'")))?),
        };
        let pattern = Regex::new(pattern).map_err(|err| fail(err.to_string()))?;
        Ok(Self { pattern, role })
    }
}

/// The first rule whose pattern matches `name`: its role, or `None` for `skip`.
fn rule_for(rules: &[RoleRule], name: &str) -> Option<Option<Role>> {
    rules
        .iter()
        .find(|rule| rule.pattern.is_match(name))
        .map(|rule| rule.role)
}

/// Maps a tensor name to its role under `arch`, after the user rules.
pub fn map_tensor(name: &str, arch: Option<Arch>, rules: &[RoleRule]) -> Mapping {
    map_tensor_with(name, arch, &|name| rule_for(rules, name))
}

/// Where the tensors come from: shard files in order, plus what `config.json` says.
#[derive(Debug, Clone, Default)]
pub struct Input {
    pub files: Vec<PathBuf>,
    pub config: Option<Value>,
    /// What the user pointed at (for messages and provenance).
    pub origin: PathBuf,
}

fn read_json(path: &Path) -> Result<Value, ExtractError> {
    let text = std::fs::read_to_string(path).map_err(|source| {
        ExtractError::File(FileError::Read {
            path: path.into(),
            source,
        })
    })?;
    serde_json::from_str(&text).map_err(|err| ExtractError::Input {
        path: path.into(),
        reason: format!("not valid JSON: {err}"),
    })
}

/// The shard files of an index, in order of first appearance (deduplicated).
fn index_files(index: &Path) -> Result<Vec<PathBuf>, ExtractError> {
    let json = read_json(index)?;
    let map = json
        .get("weight_map")
        .and_then(Value::as_object)
        .ok_or_else(|| ExtractError::Input {
            path: index.into(),
            reason: "no \"weight_map\" object (is this a model.safetensors.index.json?)".into(),
        })?;
    let dir = index.parent().unwrap_or(Path::new("."));
    let mut files: Vec<PathBuf> = Vec::new();
    for (tensor, file) in map {
        let file = file.as_str().ok_or_else(|| ExtractError::Input {
            path: index.into(),
            reason: format!("weight_map entry '{tensor}' is not a file name"),
        })?;
        let path = dir.join(file);
        if !files.contains(&path) {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Resolves a file, an index or a model directory.
pub fn resolve_input(path: &Path) -> Result<Input, ExtractError> {
    let meta = std::fs::metadata(path).map_err(|source| {
        ExtractError::File(FileError::Read {
            path: path.into(),
            source,
        })
    })?;
    let config_near = |dir: &Path| -> Result<Option<Value>, ExtractError> {
        let config = dir.join("config.json");
        if config.is_file() {
            read_json(&config).map(Some)
        } else {
            Ok(None)
        }
    };
    if meta.is_dir() {
        let index = path.join("model.safetensors.index.json");
        let single = path.join("model.safetensors");
        let files = if index.is_file() {
            index_files(&index)?
        } else if single.is_file() {
            vec![single]
        } else {
            let mut files: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|source| {
                    ExtractError::File(FileError::Read {
                        path: path.into(),
                        source,
                    })
                })?
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "safetensors"))
                .collect();
            files.sort();
            if files.is_empty() {
                let has_bin = path.join("pytorch_model.bin").is_file();
                return Err(ExtractError::Input {
                    path: path.into(),
                    reason: if has_bin {
                        "only pytorch_model.bin here; extract reads safetensors (convert the \
                         checkpoint, e.g. with transformers' save_pretrained(safe_serialization=True))"
                            .into()
                    } else {
                        "no model.safetensors, model.safetensors.index.json or *.safetensors file"
                            .into()
                    },
                });
            }
            files
        };
        return Ok(Input {
            files,
            config: config_near(path)?,
            origin: path.into(),
        });
    }
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let dir = path.parent().unwrap_or(Path::new("."));
    let files = if name.ends_with(".index.json") {
        index_files(path)?
    } else {
        vec![path.to_path_buf()]
    };
    Ok(Input {
        files,
        config: config_near(dir)?,
        origin: path.into(),
    })
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

/// Extracts histograms from every tensor of `input` (see `histinit_core::extract`).
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
                .map_err(|source| histinit_core::extract::ExtractError::Checkpoint {
                    path: o.path.clone(),
                    source,
                })
        })
        .collect::<Result<_, _>>()?;

    let core = histinit_core::extract::ExtractOptions {
        arch: options.arch,
        heads: options.heads,
        provenance: options.provenance.clone(),
    };
    Ok(histinit_core::extract::extract_files(
        &parsed,
        input.config.as_ref(),
        &input.origin,
        &core,
        &|name| rule_for(&options.rules, name),
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_rules_come_first_and_can_skip() {
        let rules = vec![
            RoleRule::parse(r"^blk\.\d+\.wq$=q").unwrap(),
            RoleRule::parse("embed_out=skip").unwrap(),
        ];
        assert!(matches!(
            map_tensor("blk.7.wq", None, &rules),
            Mapping::Param {
                role: Role::Q,
                layer: Some(7),
                ..
            }
        ));
        assert!(matches!(
            map_tensor("embed_out.weight", Some(Arch::GptNeox), &rules),
            Mapping::Skip(_)
        ));
        let err = RoleRule::parse("x=queries").unwrap_err().to_string();
        assert!(err.contains("queries"), "{err}");
        assert!(RoleRule::parse("(unclosed=q").is_err());
        assert!(RoleRule::parse("no equals sign").is_err());
    }
}
