//! histinit's core: a GPT-NeoX (Pythia) style decoder, byte tokenizer, corpus splits,
//! initializations and the training step, backend-agnostic through Burn's `Device`.
//! No browser or file-system code lives here: the CLI and the web crate bring those.
//!
//! Data flows one way: sources ([`source`]) → initial weights ([`init`]) → a
//! [`run::Run`] (the [`train::Trainer`] step by step) → curves ([`run::RunResult`]) →
//! statistics ([`stats`]). An experiment ([`experiment`]) is written as TOML or as a
//! link ([`link`]).

pub mod checkpoint;
pub mod config;
pub mod data;
pub mod error;
pub mod experiment;
pub mod extract;
pub mod generate;
pub mod histogram;
pub mod init;
pub mod link;
pub mod model;
pub mod params;
pub mod plan;
pub mod recipes;
pub mod resume;
pub mod run;
pub mod source;
pub mod stats;
pub mod text;
pub mod tokenizer;
pub mod train;

pub use burn;
pub use config::{ModelConfig, NormMode, TrainConfig};
pub use experiment::ExperimentConfig;
pub use init::InitMethod;
pub use run::{Run, RunResult};

/// The CPU backend (Burn's flex), with autodiff: the reference backend, also the
/// page's fallback where WebGPU is missing.
pub fn cpu_device() -> burn::tensor::Device {
    burn::tensor::Device::flex().autodiff()
}
