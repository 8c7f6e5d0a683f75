//! Where the tensors come from: a safetensors file, a sharded index or a model folder
//! (with its config.json).

use std::path::{Path, PathBuf};

use histinit_files::fs::FileError;
use serde_json::Value;

use super::ExtractError;

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
