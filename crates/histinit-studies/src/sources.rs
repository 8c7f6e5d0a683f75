//! Where `histinit run` finds what histogram-based inits draw from: files given on the
//! command line, or a link's `source=<id>` looked up in the shipped index
//! (`www/histograms/index.json`), exactly as the page does.

use std::path::{Path, PathBuf};

use histinit_core::checkpoint::weights_from_safetensors;
use histinit_core::experiment::ExperimentConfig;
use histinit_core::histogram::HistogramFile;
use histinit_core::source::{HistogramSource, RunSources};
use histinit_files::fs::FileError;

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error("{path}: {reason}")]
    Invalid { path: PathBuf, reason: String },
    #[error("source '{id}' is not in {index} (shipped: {known})")]
    UnknownId {
        id: String,
        index: PathBuf,
        known: String,
    },
    #[error(
        "source '{0}' is a URL: download it first (e.g. curl -o source.json.gz '<url>') and pass --histogram"
    )]
    Url(String),
}

pub use histinit_files::shipped::{ShippedIndex, ShippedSource};

fn read(path: &Path) -> Result<Vec<u8>, SourceError> {
    std::fs::read(path).map_err(|err| {
        SourceError::File(FileError::Read {
            path: path.into(),
            source: err,
        })
    })
}

pub fn load(
    config: &ExperimentConfig,
    histogram: Option<&Path>,
    weights: Option<&Path>,
    shipped_dir: &Path,
) -> Result<RunSources, SourceError> {
    let mut histogram_path = histogram.map(Path::to_path_buf);
    let mut weights_path = weights.map(Path::to_path_buf);
    if let Some(id) = &config.source {
        if id.starts_with("http://") || id.starts_with("https://") {
            if histogram_path.is_none() {
                return Err(SourceError::Url(id.clone()));
            }
        } else if histogram_path.is_none() {
            let index_path = shipped_dir.join("index.json");
            let index: ShippedIndex =
                serde_json::from_slice(&read(&index_path)?).map_err(|err| {
                    SourceError::Invalid {
                        path: index_path.clone(),
                        reason: err.to_string(),
                    }
                })?;
            if index.version != 1 {
                return Err(SourceError::Invalid {
                    path: index_path,
                    reason: format!("version {} (this histinit reads version 1)", index.version),
                });
            }
            let shipped = index.sources.iter().find(|s| &s.id == id).ok_or_else(|| {
                SourceError::UnknownId {
                    id: id.clone(),
                    index: index_path.clone(),
                    known: index
                        .sources
                        .iter()
                        .map(|s| s.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                }
            })?;
            println!("histogram source '{id}': {}", shipped.label);
            histogram_path = Some(shipped_dir.join(&shipped.histogram));
            if weights_path.is_none() {
                weights_path = shipped.weights.as_ref().map(|w| shipped_dir.join(w));
            }
        }
    }
    let model = config.model_config().map_err(|err| SourceError::Invalid {
        path: "config".into(),
        reason: err.to_string(),
    })?;
    let histogram = match histogram_path {
        Some(path) => {
            let invalid = |reason: String| SourceError::Invalid {
                path: path.clone(),
                reason,
            };
            let file =
                HistogramFile::parse(&read(&path)?).map_err(|err| invalid(err.to_string()))?;
            let source = HistogramSource::new(file, config.scale, model)
                .map_err(|err| invalid(err.to_string()))?;
            Some((source, path.display().to_string()))
        }
        None => None,
    };
    let weights = match weights_path {
        Some(path) => {
            let weights =
                weights_from_safetensors(&read(&path)?).map_err(|err| SourceError::Invalid {
                    path: path.clone(),
                    reason: err.to_string(),
                })?;
            Some((weights, path.display().to_string()))
        }
        None => None,
    };
    Ok(RunSources { histogram, weights })
}
