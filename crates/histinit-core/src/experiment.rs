//! An experiment: several inits trained on the same batches for several seeds.
//! The same configuration is written as TOML (CLI) or as a link's query string (page,
//! see [`crate::link`]); each (init, seed) of it is a [`crate::run::Run`].

use serde::{Deserialize, Serialize};

use crate::config::{ModelConfig, NormMode, TrainConfig};
use crate::error::ConfigError;
use std::collections::BTreeMap;

use crate::init::{InitGains, InitMethod, InitScope, InitTuning};
use crate::source::ScaleRule;

/// Which backend a link asks for. `auto`: the page times a few steps on WebGPU and on
/// the CPU (throwaway sessions) and trains on the faster (www/backend.js); the CLI reads
/// it as its CPU backend, the deterministic reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendChoice {
    #[default]
    Auto,
    Webgpu,
    Cpu,
}

impl BackendChoice {
    pub const ALL: [BackendChoice; 3] = [
        BackendChoice::Auto,
        BackendChoice::Webgpu,
        BackendChoice::Cpu,
    ];

    pub fn name(self) -> &'static str {
        match self {
            BackendChoice::Auto => "auto",
            BackendChoice::Webgpu => "webgpu",
            BackendChoice::Cpu => "cpu",
        }
    }

    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        match text {
            "auto" => Ok(Self::Auto),
            "webgpu" | "wgpu" => Ok(Self::Webgpu),
            "cpu" => Ok(Self::Cpu),
            other => Err(ConfigError::UnknownValue {
                field: "backend",
                value: other.to_string(),
                expected: "auto, webgpu, cpu",
            }),
        }
    }
}

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
    /// Where histogram-based inits draw from: a shipped histogram id or a URL.
    pub source: Option<String>,
    /// How a histogram from a model of another shape is rescaled.
    pub scale: ScaleRule,
    /// The tensors the inits apply to (the rest get `kaiming`): per-role ablations.
    pub scope: InitScope,
    /// Multipliers of every init's tensors by group (see [`InitGains`]); 1 everywhere by
    /// default, and then left out of a config's text so older configs keep their hash.
    #[serde(skip_serializing_if = "InitGains::is_default")]
    pub gain: InitGains,
    /// Inits with a recipe of their own (gains and a learning-rate multiplier on top of
    /// the experiment's), so each side of a comparison can be tuned; empty by default,
    /// and then left out of a config's text. Entries for inits not run are ignored.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tuned: BTreeMap<InitMethod, InitTuning>,
    /// First seed; runs use `seed, seed + 1, ..., seed + seeds - 1`. A seed fixes both
    /// the init draw and the batch order, so runs with the same seed are paired.
    pub seed: u64,
    pub seeds: usize,
    pub backend: BackendChoice,
    /// The name of the user's text file the runs train on (`None`: the bundled King
    /// James Bible). Only the name travels in a link: reproducing the run needs the
    /// same file (`histinit run --corpus FILE`, or picked in the page).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub corpus: Option<String>,
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
            source: None,
            scale: ScaleRule::default(),
            scope: InitScope::All,
            gain: InitGains::default(),
            tuned: BTreeMap::new(),
            seed: 1,
            seeds: 1,
            backend: BackendChoice::Auto,
            corpus: None,
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
        if let Some(repeated) = self
            .inits
            .iter()
            .enumerate()
            .find(|(i, init)| self.inits[..*i].contains(init))
        {
            return Err(ConfigError::Invalid {
                field: "inits",
                reason: format!(
                    "'{}' is listed twice (each init is one run per seed)",
                    repeated.1.name()
                ),
            });
        }
        if self.tuned.len() > 8 {
            return Err(ConfigError::Invalid {
                field: "tuned",
                reason: format!("{} inits tuned, expected at most 8", self.tuned.len()),
            });
        }
        for (init, tuning) in &self.tuned {
            tuning.check()?;
            let own = self.for_init(*init);
            own.gain.check()?;
            own.train.validate(&model)?;
        }
        if !(1..=64).contains(&self.seeds) {
            return Err(ConfigError::Invalid {
                field: "seeds",
                reason: format!("{} is not in 1..=64", self.seeds),
            });
        }
        Ok(model)
    }

    /// The single-init recipe `init` trains with: its own tuning applied on top of the
    /// experiment's (gains multiplied group by group, the peak learning rate multiplied)
    /// and the per-init table emptied, so equal recipes compare equal however they were
    /// written. On top, not in place, so that a grid over `gain` or `lr_scale` still
    /// moves every init from its own tuned point.
    pub fn for_init(&self, init: InitMethod) -> ExperimentConfig {
        let mut config = self.clone();
        if let Some(tuning) = config.tuned.remove(&init) {
            config.gain = config.gain.times(&tuning.gain);
            config.train.lr *= tuning.lr_scale;
        }
        config.tuned.clear();
        config
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
}

/// What an experiment costs, estimated from its shape alone (nothing is allocated).
/// Memory: every run keeps its weights, gradients and two AdamW moments (16 bytes a
/// parameter) for as long as the experiment lasts, and the page a copy of the weights of
/// each init's first run for its charts (plus one being read back); one run's step is
/// alive at a time (autodiff keeps each layer's activations, the attention scores and
/// the logits; the batch); the validation set and the position tables (the causal mask
/// is `T^2`) are held once, shared by the runs; and every step of every run leaves a
/// curve point ([`CURVE_POINT_BYTES`]). Compute: the heaviest step, an evaluation step
/// (every run evaluates after its first step): the update and a forward pass over every
/// validation batch.
#[derive(Debug, Clone, PartialEq)]
pub struct Cost {
    /// Parameters of one run (f64: a link's shape can count more than usize holds on wasm32).
    pub parameters: f64,
    pub runs: usize,
    /// Estimated peak memory in bytes.
    pub bytes: f64,
    /// Floating-point operations of the heaviest step of one run: forward and backward
    /// (about 3x the forward's), and at an evaluation step a forward per validation batch.
    pub flops_per_step: f64,
}

/// Memory one curve point costs where it is kept longest: the run's `CurvePoint` (48
/// bytes, up to twice that in a growing Vec), the page's copy of the step report (a
/// JavaScript object of eight numbers, a few hundred bytes), each init's weight spreads
/// (a few roles every 25 steps) and an export's transient copy (a JSON tree of the point
/// and its text). An estimate with room; the budget test measures it.
pub const CURVE_POINT_BYTES: f64 = 1024.0;

/// What a session holds whatever the link: the CPU backend's working set (buffers it
/// keeps for reuse, its threads' scratch) and the runs' fixed parts, which the terms
/// proportional to the link miss at the smallest shapes.
pub const BASE_BYTES: f64 = 2.0 * (1u64 << 20) as f64;

/// The largest experiment a place will start.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Budget {
    pub max_bytes: f64,
    pub max_flops_per_step: f64,
    /// Where a bigger experiment can run instead (ends the error message).
    pub advice: &'static str,
}

/// The page's budget: a browser tab has a few GiB at most (wasm32 addresses 4 GiB),
/// and a step past ~1e11 operations takes many seconds on a laptop's CPU.
pub const PAGE_BUDGET: Budget = Budget {
    max_bytes: 1.5 * GIB,
    max_flops_per_step: 1e11,
    advice: "run it with the command line instead (histinit run --link '<this link>')",
};

/// The command line's default budget (`--no-budget` lifts it): a workstation's
/// memory; compute is not limited.
pub const CLI_BUDGET: Budget = Budget {
    max_bytes: 64.0 * GIB,
    max_flops_per_step: f64::INFINITY,
    advice: "pass --no-budget if this machine has the memory",
};

const GIB: f64 = (1u64 << 30) as f64;

impl ExperimentConfig {
    /// The estimated cost (see [`Cost`]); the shape must be valid.
    pub fn cost(&self) -> Result<Cost, ConfigError> {
        let model = self.model_config()?;
        // Counted in f64: a link can ask for shapes whose count overflows usize on
        // wasm32 (64 layers of width 8192 is 5e10), which panicked in the page's debug
        // build and wrapped (under-counted) in its release build.
        let parameters: f64 = crate::params::param_specs(&model)
            .iter()
            .map(|spec| spec.shape.iter().map(|&n| n as f64).product::<f64>())
            .sum();
        let runs = self.inits.len().saturating_mul(self.seeds);
        let train = &self.train;
        let (b, t) = (train.batch as f64, train.context as f64);
        let (d, l, v) = (model.width as f64, model.layers as f64, model.vocab as f64);
        let (h, rotary) = (model.heads as f64, model.rotary_dims() as f64);
        let (inits, eval_batches) = (self.inits.len() as f64, train.eval_batches as f64);
        // Per layer: ~48 floats of width d per token (norms and their statistics, q/k/v
        // and their rotations, attention output, 4d MLP in and its activation, residuals;
        // 34 undercounted what autodiff keeps at small widths) and, per head, the scores,
        // masked scores and probabilities (3 T^2 per sequence); logits, softmax and their
        // gradient; the batch's inputs and targets (i32).
        let step =
            4.0 * (l * (48.0 * b * t * d + 3.0 * b * h * t * t) + 3.0 * b * t * v) + 8.0 * b * t;
        let per_run = 16.0 * parameters + 8.0 * eval_batches;
        let snapshots = 4.0 * parameters * (inits + 1.0);
        let shared = 8.0 * eval_batches * b * t + 4.0 * (t * t + 2.0 * t * rotary);
        let curves = CURVE_POINT_BYTES * runs as f64 * train.steps as f64;
        let bytes = BASE_BYTES + per_run * runs as f64 + snapshots + shared + step + curves;
        let forward = 2.0 * parameters * b * t + 4.0 * l * b * t * t * d;
        let flops_per_step = 3.0 * forward + eval_batches * forward;
        Ok(Cost {
            parameters,
            runs,
            bytes,
            flops_per_step,
        })
    }

    /// Refuses an experiment beyond `budget`, naming what is too big.
    pub fn check_budget(&self, budget: &Budget) -> Result<Cost, ConfigError> {
        let cost = self.cost()?;
        let too_big = |what: String| ConfigError::Invalid {
            field: "budget",
            reason: format!("{what}: {}", budget.advice),
        };
        if cost.bytes > budget.max_bytes {
            return Err(too_big(format!(
                "{} runs of {:.1}M parameters at batch {} x context {} for {} steps, with {} \
                 validation batches, need about {:.1} GiB, more than the {:.1} GiB allowed here",
                cost.runs,
                cost.parameters / 1e6,
                self.train.batch,
                self.train.context,
                self.train.steps,
                self.train.eval_batches,
                cost.bytes / GIB,
                budget.max_bytes / GIB
            )));
        }
        if cost.flops_per_step > budget.max_flops_per_step {
            return Err(too_big(format!(
                "one step with its evaluation ({} validation batches) takes about {:.1e} \
                 operations, more than the {:.0e} allowed here",
                self.train.eval_batches, cost.flops_per_step, budget.max_flops_per_step
            )));
        }
        Ok(cost)
    }
}

#[cfg(test)]
mod tests;
