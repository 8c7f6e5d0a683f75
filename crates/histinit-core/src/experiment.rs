//! An experiment: several inits trained on the same batches for several seeds.
//! The same configuration is written as TOML (CLI) or as a link's query string (page).

use serde::{Deserialize, Serialize};

use crate::config::{ModelConfig, NormMode, TrainConfig};
use crate::data::{Corpus, Split};
use crate::error::{ConfigError, TrainError};
use crate::init::{init_weights, InitMethod, WeightSource};
use crate::train::{read_scalar, StepMetrics, Trainer};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExperimentConfig {
    pub preset: String,
    /// Overrides of the preset's shape.
    pub layers: Option<usize>,
    pub width: Option<usize>,
    pub heads: Option<usize>,
    pub norm: NormMode,
    pub inits: Vec<InitMethod>,
    /// First seed; runs use `seed, seed + 1, ..., seed + seeds - 1`. A seed fixes both
    /// the init draw and the batch order, so runs with the same seed are paired.
    pub seed: u64,
    pub seeds: usize,
    pub train: TrainConfig,
}

impl Default for ExperimentConfig {
    fn default() -> Self {
        Self {
            preset: "nano".into(),
            layers: None,
            width: None,
            heads: None,
            norm: NormMode::Layer,
            inits: vec![InitMethod::Kaiming, InitMethod::Pythia],
            seed: 1,
            seeds: 1,
            train: TrainConfig::default(),
        }
    }
}

impl ExperimentConfig {
    pub fn model_config(&self) -> Result<ModelConfig, ConfigError> {
        let preset = ModelConfig::preset(&self.preset)?;
        let config = ModelConfig::new(
            self.layers.unwrap_or(preset.layers),
            self.width.unwrap_or(preset.width),
            self.heads.unwrap_or(preset.heads),
            preset.context.max(self.train.context),
        )?
        .with_norm(self.norm);
        Ok(config)
    }

    pub fn validate(&self) -> Result<ModelConfig, ConfigError> {
        let model = self.model_config()?;
        self.train.validate(&model)?;
        if self.inits.is_empty() || self.inits.len() > 8 {
            return Err(ConfigError::Invalid {
                field: "inits",
                reason: format!("{} inits given, expected 1 to 8", self.inits.len()),
            });
        }
        if !(1..=64).contains(&self.seeds) {
            return Err(ConfigError::Invalid {
                field: "seeds",
                reason: format!("{} is not in 1..=64", self.seeds),
            });
        }
        Ok(model)
    }

    pub fn seed_list(&self) -> Vec<u64> {
        (0..self.seeds as u64)
            .map(|i| self.seed.wrapping_add(i))
            .collect()
    }

    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let config: Self = toml::from_str(text).map_err(|err| ConfigError::Invalid {
            field: "config",
            reason: err.to_string(),
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Parses a playground link (the whole URL or just its query string). Unknown keys
    /// and bad values are errors that name the key.
    pub fn from_query(link: &str) -> Result<Self, ConfigError> {
        let query = link.split_once('?').map(|(_, q)| q).unwrap_or(link);
        let query = query.split('#').next().unwrap_or("");
        let mut config = Self::default();
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = percent_decode(value);
            let number = |field: &'static str| -> Result<f64, ConfigError> {
                value
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| ConfigError::Invalid {
                        field,
                        reason: format!("'{value}' is not a number"),
                    })
            };
            let count = |field: &'static str| -> Result<usize, ConfigError> {
                value.parse::<usize>().map_err(|_| ConfigError::Invalid {
                    field,
                    reason: format!("'{value}' is not a whole number"),
                })
            };
            match key {
                "preset" => config.preset = value.clone(),
                "layers" => config.layers = Some(count("layers")?),
                "width" => config.width = Some(count("width")?),
                "heads" => config.heads = Some(count("heads")?),
                "norm" => config.norm = NormMode::parse(&value)?,
                "inits" => {
                    config.inits = value.split(',').map(InitMethod::parse).collect::<Result<_, _>>()?;
                }
                "seed" => {
                    config.seed = value.parse().map_err(|_| ConfigError::Invalid { field: "seed", reason: format!("'{value}' is not a seed") })?
                }
                "seeds" => config.seeds = count("seeds")?,
                "steps" => config.train.steps = count("steps")?,
                "batch" => config.train.batch = count("batch")?,
                "context" => config.train.context = count("context")?,
                "lr" => config.train.lr = number("lr")?,
                "warmup" => config.train.warmup = count("warmup")?,
                "eval_every" => config.train.eval_every = count("eval_every")?,
                other => {
                    return Err(ConfigError::UnknownValue {
                        field: "link key",
                        value: other.to_string(),
                        expected: "preset, layers, width, heads, norm, inits, seed, seeds, steps, batch, context, lr, warmup, eval_every",
                    })
                }
            }
        }
        config.validate()?;
        Ok(config)
    }

    /// The query string that `from_query` reads back to this configuration.
    pub fn to_query(&self) -> String {
        let mut parts = vec![format!("preset={}", self.preset)];
        for (key, value) in [
            ("layers", self.layers),
            ("width", self.width),
            ("heads", self.heads),
        ] {
            if let Some(value) = value {
                parts.push(format!("{key}={value}"));
            }
        }
        let inits: Vec<&str> = self.inits.iter().map(|init| init.name()).collect();
        parts.push(format!("norm={}", self.norm.name()));
        parts.push(format!("inits={}", inits.join(",")));
        parts.push(format!("seed={}", self.seed));
        parts.push(format!("seeds={}", self.seeds));
        parts.push(format!("steps={}", self.train.steps));
        parts.push(format!("batch={}", self.train.batch));
        parts.push(format!("context={}", self.train.context));
        parts.push(format!("lr={}", self.train.lr));
        parts.push(format!("warmup={}", self.train.warmup));
        parts.push(format!("eval_every={}", self.train.eval_every));
        parts.join("&")
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                match u8::from_str_radix(
                    std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"),
                    16,
                ) {
                    Ok(byte) => {
                        out.push(byte);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// One point of a run's curve.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CurvePoint {
    pub step: usize,
    pub tokens: usize,
    pub train_loss: f64,
    /// Present at evaluation steps.
    pub val_loss: Option<f64>,
    pub lr: f64,
    pub grad_norm: f64,
    pub role_grad_norms: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum RunStatus {
    Completed,
    /// The loss or gradient became non-finite at this step; the run stopped there.
    Diverged {
        step: usize,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    pub init: InitMethod,
    pub seed: u64,
    pub status: RunStatus,
    pub points: Vec<CurvePoint>,
}

impl RunResult {
    pub fn name(&self) -> String {
        format!("{}-s{}", self.init.name(), self.seed)
    }

    pub fn final_val_loss(&self) -> Option<f64> {
        self.points.iter().rev().find_map(|p| p.val_loss)
    }

    pub fn val_curve(&self) -> Vec<(usize, f64)> {
        self.points
            .iter()
            .filter_map(|p| p.val_loss.map(|v| (p.step, v)))
            .collect()
    }
}

/// Whether `step` (0-based, after the update) is an evaluation step.
pub fn is_eval_step(train: &TrainConfig, step: usize) -> bool {
    step == 0 || (step + 1).is_multiple_of(train.eval_every) || step + 1 == train.steps
}

/// Trains one (init, seed) run to the end on a blocking backend (native CLI, tests).
/// `on_point` sees every point as it is produced.
pub fn run_blocking(
    config: &ExperimentConfig,
    corpus: &Corpus,
    init: InitMethod,
    seed: u64,
    source: Option<&dyn WeightSource>,
    device: &burn::tensor::Device,
    mut on_point: impl FnMut(&CurvePoint),
) -> Result<RunResult, RunError> {
    let model_config = config.validate()?;
    let train = config.train.clone();
    let weights = init_weights(&model_config, init, seed, source)?;
    let mut trainer = Trainer::new(model_config, train.clone(), &weights, device.clone())?;
    let mut sampler = corpus.sampler(Split::Student, train.context, seed);
    let eval_batches = corpus.eval_batches(train.eval_batches, train.batch, train.context);
    let mut points = Vec::with_capacity(train.steps);
    let mut status = RunStatus::Completed;
    while !trainer.is_done() {
        let batch = sampler.next_batch(train.batch);
        let metrics: StepMetrics = trainer.step(&batch).read()?;
        let step = metrics.step;
        let val_loss = if is_eval_step(&train, step) {
            Some(read_scalar(trainer.eval_loss(&eval_batches))?)
        } else {
            None
        };
        let point = CurvePoint {
            step,
            tokens: (step + 1) * train.batch * train.context,
            train_loss: metrics.train_loss,
            val_loss,
            lr: metrics.lr,
            grad_norm: metrics.grad_norm,
            role_grad_norms: metrics.role_grad_norms.clone(),
        };
        on_point(&point);
        let finite = metrics.is_finite() && val_loss.is_none_or(f64::is_finite);
        points.push(point);
        if !finite {
            status = RunStatus::Diverged { step };
            break;
        }
    }
    Ok(RunResult {
        init,
        seed,
        status,
        points,
    })
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Init(#[from] crate::error::InitError),
    #[error(transparent)]
    Model(#[from] crate::error::ModelError),
    #[error(transparent)]
    Train(#[from] TrainError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_round_trip() {
        let config = ExperimentConfig {
            preset: "micro".into(),
            layers: Some(3),
            norm: NormMode::None,
            inits: vec![
                InitMethod::Kaiming,
                InitMethod::HeNormal,
                InitMethod::Pythia,
            ],
            seed: 17,
            seeds: 3,
            train: TrainConfig {
                steps: 500,
                lr: 0.001,
                warmup: 0,
                ..TrainConfig::default()
            },
            ..ExperimentConfig::default()
        };
        let link = format!("http://127.0.0.1:8000/index.html?{}", config.to_query());
        assert_eq!(ExperimentConfig::from_query(&link).unwrap(), config);
    }

    #[test]
    fn tampered_links_are_refused_naming_the_key() {
        for (query, field) in [
            ("preset=huge", "preset"),
            ("lr=NaN", "lr"),
            ("lr=-1", "lr"),
            ("steps=abc", "steps"),
            ("inits=kaiming,magic", "init"),
            ("seeds=1000", "seeds"),
            ("context=100000", "context"),
            ("<script>=1", "link key"),
        ] {
            let err = ExperimentConfig::from_query(query).unwrap_err().to_string();
            assert!(err.contains(field), "{query}: {err}");
        }
    }

    #[test]
    fn toml_configs_parse() {
        let config = ExperimentConfig::from_toml(
            "preset = \"nano\"\ninits = [\"kaiming\", \"pythia\"]\nseeds = 2\n[train]\nsteps = 30\nwarmup = 0\n",
        )
        .unwrap();
        assert_eq!(config.seed_list(), vec![1, 2]);
        assert_eq!(config.train.steps, 30);
        assert!(ExperimentConfig::from_toml("preset = \"nano\"\ntypo = 1\n").is_err());
    }
}
