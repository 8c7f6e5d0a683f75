//! `histinit published`: a histogram source drawn from published statistics of real
//! Pythia weights (`histinit_histogram::published`), for students of a histinit preset.

use std::path::PathBuf;

use clap::Args;
use histinit_core::config::ModelConfig;
use histinit_core::histogram::published::{Published, PublishedError, TargetTensor};
use histinit_core::params::param_specs;
use histinit_files::fs::FileError;

#[derive(Debug, thiserror::Error)]
pub enum PublishedSourceError {
    #[error(transparent)]
    Published(#[from] PublishedError),
    #[error(transparent)]
    Config(#[from] histinit_core::error::ConfigError),
    #[error(transparent)]
    File(#[from] FileError),
}

#[derive(Args, Debug)]
pub struct PublishedArgs {
    /// The folder of published figures (T. Ding, arXiv:2605.18898; on the project's
    /// machines ../shared/data/pythia-published). Read, never bundled.
    #[arg(long)]
    pub from: PathBuf,
    /// The students' preset (the figures are pythia-70m's: 6 layers, width 512).
    #[arg(long, default_value = "pythia-70m")]
    pub preset: String,
    /// The histogram file to write (.json.gz or .json).
    #[arg(long)]
    pub out: PathBuf,
}

/// The tensors of a preset's model, as the source builder names them.
pub fn targets(config: &ModelConfig) -> Vec<TargetTensor> {
    param_specs(config)
        .into_iter()
        .map(|spec| TargetTensor {
            name: spec.name,
            role: spec.role,
            layer: spec.layer,
            layers: config.layers,
            shape: spec.shape,
            fan_in: spec.fan_in,
            width: config.width,
        })
        .collect()
}

pub fn run_published(args: PublishedArgs) -> Result<(), PublishedSourceError> {
    let published = Published::read(&args.from)?;
    let config = ModelConfig::preset(&args.preset)?;
    let mut file = published.source(&targets(&config))?;
    file.source.command = crate::tools::command_line();
    let bytes = if args.out.extension().is_some_and(|e| e == "gz") {
        file.to_json_gz()
    } else {
        file.to_json().into_bytes()
    };
    histinit_files::fs::write_file(&args.out, &bytes)?;
    println!(
        "{} tensors of a {} student drawn from published pythia-70m figures -> {} ({} bytes)",
        file.tensors.len(),
        args.preset,
        args.out.display(),
        bytes.len()
    );
    Ok(())
}
