//! An experiment: several inits trained on the same batches for several seeds.
//! The same configuration is written as TOML (CLI) or as a link's query string (page).

use serde::{Deserialize, Serialize};

use crate::config::{ModelConfig, NormMode, TrainConfig};
use crate::data::{Corpus, Split};
use crate::error::{ConfigError, TrainError};
use crate::init::{
    init_weights_scoped, quantile_at, InitMethod, InitScope, ScaleRule, WeightSource,
};
use crate::params::{param_specs, Weights};
use crate::train::{read_scalar, StepMetrics, Trainer};

/// Which backend a link asks for. `auto` means WebGPU where the browser has it (the
/// CLI reads it as its CPU backend, the deterministic reference).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendChoice {
    #[default]
    Auto,
    Webgpu,
    Cpu,
}

impl BackendChoice {
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
    /// First seed; runs use `seed, seed + 1, ..., seed + seeds - 1`. A seed fixes both
    /// the init draw and the batch order, so runs with the same seed are paired.
    pub seed: u64,
    pub seeds: usize,
    pub backend: BackendChoice,
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
            seed: 1,
            seeds: 1,
            backend: BackendChoice::Auto,
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
        let mut config = Self::default();
        for (key, value) in query_pairs(link) {
            config.apply_link_pair(&key, &value)?;
        }
        config.validate()?;
        Ok(config)
    }

    /// Parses a link the forgiving way (the page's): every bad or unknown key is
    /// dropped (its default stays) and named in the returned messages.
    pub fn from_query_lenient(link: &str) -> (Self, Vec<String>) {
        let mut config = Self::default();
        let mut messages = Vec::new();
        let mut given: Vec<String> = Vec::new();
        for (key, value) in query_pairs(link) {
            match config.apply_link_pair(&key, &value) {
                Ok(()) => given.push(key),
                Err(err) => messages.push(format!("ignored '{key}': {err}")),
            }
        }
        // Values that parse can still clash (warmup beyond steps, a context beyond the
        // model's): reset the field the check names, then check again.
        for _ in 0..16 {
            let Err(err) = config.validate() else {
                return (config, messages);
            };
            let field = match &err {
                ConfigError::Invalid { field, .. } | ConfigError::UnknownValue { field, .. } => {
                    *field
                }
            };
            if field == "warmup" && !given.iter().any(|key| key == "warmup") {
                // The default warmup is longer than the link's steps: shorten it.
                fit_warmup_to_steps(&mut config);
                messages.push(format!(
                    "warmup lowered to {} to fit {} steps",
                    config.train.warmup, config.train.steps
                ));
                continue;
            }
            let key = if given.iter().any(|key| key == field) {
                field
            } else {
                // A shape field of the preset: the overrides are what clash.
                ["layers", "width", "heads", "context", "preset"]
                    .into_iter()
                    .find(|key| given.iter().any(|given| given == key))
                    .unwrap_or("")
            };
            if !config.reset_link_key(key) {
                break;
            }
            given.retain(|given| given != key);
            messages.push(format!("ignored '{key}': {err}"));
        }
        if config.validate().is_err() {
            messages.push("the link's settings do not fit together: using the defaults".into());
            config = Self::default();
        }
        (config, messages)
    }

    /// Puts one link key back to its default; false for a key it does not know.
    fn reset_link_key(&mut self, key: &str) -> bool {
        let default = Self::default();
        match key {
            "preset" => self.preset = default.preset,
            "layers" => self.layers = None,
            "width" => self.width = None,
            "heads" => self.heads = None,
            "norm" => self.norm = default.norm,
            "inits" => self.inits = default.inits,
            "source" => self.source = None,
            "scale" => self.scale = default.scale,
            "scope" => self.scope = default.scope,
            "seed" => self.seed = default.seed,
            "seeds" => self.seeds = default.seeds,
            "backend" => self.backend = default.backend,
            "steps" => self.train.steps = default.train.steps,
            "batch" => self.train.batch = default.train.batch,
            "context" => self.train.context = default.train.context,
            "lr" => self.train.lr = default.train.lr,
            "warmup" => self.train.warmup = default.train.warmup.min(self.train.steps),
            "eval_every" => self.train.eval_every = default.train.eval_every,
            _ => return false,
        }
        true
    }

    fn apply_link_pair(&mut self, key: &str, value: &str) -> Result<(), ConfigError> {
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
            "preset" => self.preset = value.to_string(),
            "layers" => self.layers = Some(count("layers")?),
            "width" => self.width = Some(count("width")?),
            "heads" => self.heads = Some(count("heads")?),
            "norm" => self.norm = NormMode::parse(value)?,
            "inits" => {
                self.inits = value
                    .split(',')
                    .map(InitMethod::parse)
                    .collect::<Result<_, _>>()?;
            }
            "source" => {
                self.source = match value {
                    "" => None,
                    text => Some(parse_source(text)?),
                }
            }
            "scale" => self.scale = ScaleRule::parse(value)?,
            "scope" => self.scope = InitScope::parse(value)?,
            "seed" => {
                self.seed = value.parse().map_err(|_| ConfigError::Invalid {
                    field: "seed",
                    reason: format!("'{value}' is not a seed"),
                })?
            }
            "seeds" => self.seeds = count("seeds")?,
            "backend" => self.backend = BackendChoice::parse(value)?,
            "steps" => self.train.steps = count("steps")?,
            "batch" => self.train.batch = count("batch")?,
            "context" => self.train.context = count("context")?,
            "lr" => self.train.lr = number("lr")?,
            "warmup" => self.train.warmup = count("warmup")?,
            "eval_every" => self.train.eval_every = count("eval_every")?,
            other => {
                return Err(ConfigError::UnknownValue {
                    field: "link key",
                    value: other.to_string(),
                    expected: "preset, layers, width, heads, norm, inits, source, scale, scope, seed, seeds, backend, steps, batch, context, lr, warmup, eval_every",
                })
            }
        }
        Ok(())
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
        if let Some(source) = &self.source {
            parts.push(format!("source={}", percent_encode(source)));
        }
        parts.push(format!("scale={}", self.scale.name()));
        if self.scope != InitScope::All {
            // Only ablations carry it, so every other link stays as it was.
            parts.push(format!("scope={}", self.scope.name()));
        }
        parts.push(format!("seed={}", self.seed));
        parts.push(format!("seeds={}", self.seeds));
        parts.push(format!("backend={}", self.backend.name()));
        parts.push(format!("steps={}", self.train.steps));
        parts.push(format!("batch={}", self.train.batch));
        parts.push(format!("context={}", self.train.context));
        parts.push(format!("lr={}", self.train.lr));
        parts.push(format!("warmup={}", self.train.warmup));
        parts.push(format!("eval_every={}", self.train.eval_every));
        parts.join("&")
    }
}

fn fit_warmup_to_steps(config: &mut ExperimentConfig) {
    config.train.warmup = config.train.warmup.min(config.train.steps);
}

/// A histogram source: a shipped file's id (letters, digits, `-`, `_`, `.`) or an
/// http(s) URL. Anything else (markup, `javascript:`) is refused.
pub fn parse_source(text: &str) -> Result<String, ConfigError> {
    let is_id = !text.is_empty()
        && text.len() <= 64
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    let is_url = (text.starts_with("https://") || text.starts_with("http://"))
        && text.len() <= 2000
        && text.chars().all(|c| c.is_ascii_graphic());
    if is_id || is_url {
        Ok(text.to_string())
    } else {
        Err(ConfigError::Invalid {
            field: "source",
            reason: format!(
                "'{}' is neither a shipped histogram id nor an http(s) URL",
                text.chars().take(80).collect::<String>()
            ),
        })
    }
}

fn query_pairs(link: &str) -> Vec<(String, String)> {
    let query = link.split_once('?').map(|(_, q)| q).unwrap_or(link);
    let query = query.split('#').next().unwrap_or("");
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(key), percent_decode(value))
        })
        .collect()
}

fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
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

impl CurvePoint {
    /// The point of a finished step; `val_loss` where the step was an evaluation step.
    pub fn from_step(train: &TrainConfig, metrics: &StepMetrics, val_loss: Option<f64>) -> Self {
        let step = metrics.step;
        CurvePoint {
            step,
            tokens: (step + 1) * train.batch * train.context,
            train_loss: metrics.train_loss,
            val_loss,
            lr: metrics.lr,
            grad_norm: metrics.grad_norm,
            role_grad_norms: metrics.role_grad_norms.clone(),
        }
    }

    /// Whether the step's metrics and its validation loss (if any) are all finite: a
    /// run stops as diverged at the first point where they are not.
    pub fn is_finite(&self, metrics: &StepMetrics) -> bool {
        metrics.is_finite() && self.val_loss.is_none_or(f64::is_finite)
    }
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
    /// Distance of the weights to a reference distribution at evaluation steps, where
    /// the run was given one (the sweep's teacher); empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub distances: Vec<DistancePoint>,
}

/// How far a run's weights of one part of the network are from a reference
/// distribution: the 1-Wasserstein distance between the tensors' values and the
/// reference quantiles, divided by the reference's standard deviation, averaged over
/// the part's weight matrices (weighted by size). 0 means the same distribution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DistancePoint {
    pub step: usize,
    pub scope: InitScope,
    pub w1_over_std: f64,
}

/// The parts of the network whose distance to the reference is tracked.
pub const DISTANCE_SCOPES: [InitScope; 4] = [
    InitScope::Embedding,
    InitScope::Attention,
    InitScope::Mlp,
    InitScope::Unembedding,
];

/// [`DistancePoint`]s of `weights` against `reference`, one per scope that has weight
/// matrices the reference covers.
pub fn distances_to(
    model: &ModelConfig,
    weights: &Weights,
    reference: &dyn WeightSource,
    step: usize,
) -> Vec<DistancePoint> {
    let specs = param_specs(model);
    DISTANCE_SCOPES
        .into_iter()
        .filter_map(|scope| {
            let mut total = 0.0;
            let mut count = 0usize;
            for spec in specs.iter().filter(|s| s.is_matrix && scope.contains(s)) {
                let (Some(tensor), Some(knots), Some((_, std))) = (
                    weights.get(&spec.name),
                    reference.quantiles(spec),
                    reference.moments(spec),
                ) else {
                    continue;
                };
                if std.is_nan() || std <= 0.0 || tensor.values.is_empty() || knots.is_empty() {
                    continue;
                }
                let mut values: Vec<f64> = tensor.values.iter().map(|&v| v as f64).collect();
                values.sort_by(f64::total_cmp);
                let n = values.len();
                let w1 = values
                    .iter()
                    .enumerate()
                    .map(|(i, v)| (v - quantile_at(&knots, (i as f64 + 0.5) / n as f64)).abs())
                    .sum::<f64>()
                    / n as f64;
                total += w1 / std * n as f64;
                count += n;
            }
            (count > 0).then(|| DistancePoint {
                step,
                scope,
                w1_over_std: total / count as f64,
            })
        })
        .collect()
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

/// Every run's curve as CSV, one row per step: the format of `histinit run`'s
/// curves.csv and of the page's CSV export. Fields are names and numbers only.
pub fn curves_csv(runs: &[RunResult]) -> String {
    let mut out = String::from(CURVES_CSV_HEADER);
    out.push('\n');
    for run in runs {
        for point in &run.points {
            out.push_str(&curve_row(run, point));
            out.push('\n');
        }
    }
    out
}

/// The columns of [`curve_row`].
pub const CURVES_CSV_HEADER: &str = "run,init,seed,step,tokens,train_loss,val_loss,lr,grad_norm";

/// One point of a run as a CSV row (no newline), columns as [`CURVES_CSV_HEADER`].
pub fn curve_row(run: &RunResult, point: &CurvePoint) -> String {
    format!(
        "{},{},{},{},{},{},{},{},{}",
        run.name(),
        run.init.name(),
        run.seed,
        point.step,
        point.tokens,
        point.train_loss,
        point.val_loss.map(|v| v.to_string()).unwrap_or_default(),
        point.lr,
        point.grad_norm
    )
}

/// What an init draws from, given a histogram and/or a teacher's weights: `permuted`
/// and `trained` need the weights themselves; the distribution-based inits prefer the
/// histogram and fall back to the weights (which carry their own distribution).
pub fn pick_source<'a>(
    init: InitMethod,
    histogram: Option<&'a dyn WeightSource>,
    weights: Option<&'a dyn WeightSource>,
) -> Option<&'a dyn WeightSource> {
    match init {
        InitMethod::Permuted | InitMethod::Trained => weights,
        _ if init.needs_source() => histogram.or(weights),
        _ => None,
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
    on_point: impl FnMut(&CurvePoint),
) -> Result<RunResult, RunError> {
    run_blocking_traced(config, corpus, init, seed, source, None, device, on_point)
}

/// [`run_blocking`] that also records, at every evaluation step, the distance of the
/// weights to `reference` (see [`DistancePoint`]).
#[allow(clippy::too_many_arguments)]
pub fn run_blocking_traced(
    config: &ExperimentConfig,
    corpus: &Corpus,
    init: InitMethod,
    seed: u64,
    source: Option<&dyn WeightSource>,
    reference: Option<&dyn WeightSource>,
    device: &burn::tensor::Device,
    mut on_point: impl FnMut(&CurvePoint),
) -> Result<RunResult, RunError> {
    let model_config = config.validate()?;
    let train = config.train.clone();
    let weights = init_weights_scoped(&model_config, init, config.scope, seed, source)?;
    let mut distances = Vec::new();
    if let Some(reference) = reference {
        distances.extend(distances_to(&model_config, &weights, reference, 0));
    }
    let mut trainer = Trainer::new(
        model_config.clone(),
        train.clone(),
        &weights,
        device.clone(),
    )?;
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
        if let (Some(reference), Some(_)) = (reference, val_loss) {
            let weights = trainer.weights()?;
            // Measured after the update: step `s` is the distance after `s + 1` updates.
            distances.extend(distances_to(&model_config, &weights, reference, step + 1));
        }
        let point = CurvePoint::from_step(&train, &metrics, val_loss);
        on_point(&point);
        let finite = point.is_finite(&metrics);
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
        distances,
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
            backend: BackendChoice::Cpu,
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
            ("source=%3Cimg%20src%3Dx%3E", "source"),
            ("source=javascript:alert(1)", "source"),
            ("scale=huge", "scale"),
        ] {
            let err = ExperimentConfig::from_query(query).unwrap_err().to_string();
            assert!(err.contains(field), "{query}: {err}");
        }
    }

    #[test]
    fn lenient_links_keep_defaults_and_name_what_was_dropped() {
        let (config, messages) =
            ExperimentConfig::from_query_lenient("?preset=micro&lr=abc&steps=50&bogus=1");
        assert_eq!(config.preset, "micro");
        assert_eq!(config.train.steps, 50);
        assert_eq!(config.train.lr, TrainConfig::default().lr);
        assert_eq!(messages.len(), 2, "{messages:?}");
        assert!(messages[0].contains("lr") && messages[1].contains("bogus"));

        // Fewer steps than the default warmup is fine when the link also sets warmup.
        let (config, messages) = ExperimentConfig::from_query_lenient("steps=10&warmup=0");
        assert_eq!(
            (config.train.steps, config.train.warmup),
            (10, 0),
            "{messages:?}"
        );
        assert!(messages.is_empty());
        // Only steps given: the default warmup is shortened, nothing else changes.
        let (config, messages) =
            ExperimentConfig::from_query_lenient("preset=micro&steps=3&inits=pythia");
        assert_eq!((config.train.steps, config.train.warmup), (3, 3));
        assert_eq!((config.preset.as_str(), config.inits.len()), ("micro", 1));
        assert!(messages[0].contains("warmup lowered"), "{messages:?}");
        // A clash is resolved by dropping the key the check names.
        let (config, messages) = ExperimentConfig::from_query_lenient("steps=10&warmup=50");
        assert_eq!((config.train.steps, config.train.warmup), (10, 10));
        assert!(messages[0].contains("warmup"), "{messages:?}");
        let (config, messages) = ExperimentConfig::from_query_lenient("preset=nano&context=100000");
        assert_eq!(config.train.context, TrainConfig::default().context);
        assert!(messages[0].contains("context"), "{messages:?}");
    }

    #[test]
    fn sources_round_trip_through_links() {
        let config = ExperimentConfig {
            inits: vec![InitMethod::Kaiming, InitMethod::Empirical],
            source: Some("https://example.org/h.json?x=1&y=2".into()),
            scale: ScaleRule::FanIn,
            ..ExperimentConfig::default()
        };
        let query = config.to_query();
        assert_eq!(ExperimentConfig::from_query(&query).unwrap(), config);
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
