//! Model shapes, presets and training recipes.

use serde::{Deserialize, Serialize};

use crate::error::ConfigError;
use crate::tokenizer::VOCAB_SIZE;

/// Whether the model has LayerNorms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum NormMode {
    /// GPT-NeoX LayerNorms (pre-norm for attention and MLP, plus a final norm).
    #[default]
    Layer,
    /// Every LayerNorm, the final one included, is the identity: tests whether
    /// normalization is a workaround for a poor initialization.
    None,
}

impl NormMode {
    pub const ALL: [NormMode; 2] = [NormMode::Layer, NormMode::None];

    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        match text {
            "layer" | "layernorm" | "on" => Ok(Self::Layer),
            "none" | "off" => Ok(Self::None),
            other => Err(ConfigError::UnknownValue {
                field: "norm",
                value: other.to_string(),
                expected: "layer, none",
            }),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Layer => "layer",
            Self::None => "none",
        }
    }
}

/// Shape of a GPT-NeoX (Pythia) style decoder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    pub layers: usize,
    pub width: usize,
    pub heads: usize,
    /// Maximum sequence length (the rotary tables are built for it).
    pub context: usize,
    pub vocab: usize,
    /// Fraction of each head's dimensions that get rotary embedding (Pythia: 0.25).
    pub rotary_pct: f64,
    pub norm: NormMode,
    pub layer_norm_eps: f64,
}

/// The named model shapes. The first three are small enough for a browser.
pub const PRESETS: &[(&str, usize, usize, usize, usize)] = &[
    // name, layers, width, heads, context
    ("nano", 2, 64, 4, 64),
    ("micro", 4, 128, 4, 128),
    ("pythia-14m", 6, 128, 4, 256),
    ("pythia-31m", 6, 256, 8, 256),
    ("pythia-70m", 6, 512, 8, 256),
];

impl ModelConfig {
    pub fn preset(name: &str) -> Result<Self, ConfigError> {
        let (_, layers, width, heads, context) = PRESETS
            .iter()
            .find(|(preset, ..)| *preset == name)
            .ok_or_else(|| ConfigError::UnknownValue {
                field: "preset",
                value: name.to_string(),
                expected: "nano, micro, pythia-14m, pythia-31m, pythia-70m",
            })?;
        Self::new(*layers, *width, *heads, *context)
    }

    pub fn new(
        layers: usize,
        width: usize,
        heads: usize,
        context: usize,
    ) -> Result<Self, ConfigError> {
        let config = Self {
            layers,
            width,
            heads,
            context,
            vocab: VOCAB_SIZE,
            rotary_pct: 0.25,
            norm: NormMode::Layer,
            layer_norm_eps: 1e-5,
        };
        config.validate()?;
        Ok(config)
    }

    pub fn with_norm(mut self, norm: NormMode) -> Self {
        self.norm = norm;
        self
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let check = |ok: bool, field: &'static str, reason: String| {
            if ok {
                Ok(())
            } else {
                Err(ConfigError::Invalid { field, reason })
            }
        };
        check(
            (1..=64).contains(&self.layers),
            "layers",
            format!("{} is not in 1..=64", self.layers),
        )?;
        check(
            (1..=8192).contains(&self.width),
            "width",
            format!("{} is not in 1..=8192", self.width),
        )?;
        check(
            (1..=128).contains(&self.heads),
            "heads",
            format!("{} is not in 1..=128", self.heads),
        )?;
        check(
            self.width.is_multiple_of(self.heads),
            "heads",
            format!(
                "width {} is not divisible by {} heads",
                self.width, self.heads
            ),
        )?;
        check(
            (2..=8192).contains(&self.context),
            "context",
            format!("{} is not in 2..=8192", self.context),
        )?;
        check(
            (2..=1 << 20).contains(&self.vocab),
            "vocab",
            format!("{} is not in 2..=2^20", self.vocab),
        )?;
        check(
            (0.0..=1.0).contains(&self.rotary_pct),
            "rotary_pct",
            format!("{} is not in [0, 1]", self.rotary_pct),
        )?;
        Ok(())
    }

    pub fn head_dim(&self) -> usize {
        self.width / self.heads
    }

    /// Rotary dimensions per head, as GPT-NeoX computes them: `int(head_dim * rotary_pct)`.
    pub fn rotary_dims(&self) -> usize {
        let dims = (self.head_dim() as f64 * self.rotary_pct) as usize;
        dims - dims % 2
    }

    pub fn mlp_width(&self) -> usize {
        4 * self.width
    }
}

/// The optimization recipe. Defaults follow Pythia's (AdamW 0.9/0.95, eps 1e-8,
/// weight decay 0.1 on matrices, clip 1.0, cosine to 10% of peak) scaled to small runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    pub steps: usize,
    pub batch: usize,
    /// Sequence length of training batches (at most the model's context).
    pub context: usize,
    pub lr: f64,
    pub warmup: usize,
    /// Final learning rate as a fraction of the peak.
    pub min_lr_ratio: f64,
    pub weight_decay: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    /// Global gradient-norm clip (0 disables).
    pub clip: f64,
    /// Evaluate on the fixed validation batches every this many steps (and at the end).
    pub eval_every: usize,
    pub eval_batches: usize,
    /// The text the evaluation reads: the validation split, or (to tune a baseline on
    /// text that neither the students' training nor the study's evaluation reads) the
    /// teacher split. Left out of a config's text when it is the validation split.
    #[serde(skip_serializing_if = "EvalSplit::is_val")]
    pub eval_split: EvalSplit,
}

/// Which split a run's validation loss is measured on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EvalSplit {
    #[default]
    Val,
    Teacher,
}

impl EvalSplit {
    pub const ALL: [EvalSplit; 2] = [EvalSplit::Val, EvalSplit::Teacher];

    pub fn name(self) -> &'static str {
        match self {
            EvalSplit::Val => "val",
            EvalSplit::Teacher => "teacher",
        }
    }

    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        Self::ALL
            .into_iter()
            .find(|split| split.name() == text)
            .ok_or_else(|| ConfigError::UnknownValue {
                field: "eval_split",
                value: text.to_string(),
                expected: "val, teacher",
            })
    }

    pub fn is_val(&self) -> bool {
        *self == EvalSplit::Val
    }

    pub fn split(self) -> crate::data::Split {
        match self {
            EvalSplit::Val => crate::data::Split::Val,
            EvalSplit::Teacher => crate::data::Split::Teacher,
        }
    }
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            steps: 200,
            batch: 8,
            context: 64,
            lr: 3e-3,
            warmup: 20,
            min_lr_ratio: 0.1,
            weight_decay: 0.1,
            beta1: 0.9,
            beta2: 0.95,
            eps: 1e-8,
            clip: 1.0,
            eval_every: 25,
            eval_batches: 8,
            eval_split: EvalSplit::Val,
        }
    }
}

impl TrainConfig {
    pub fn validate(&self, model: &ModelConfig) -> Result<(), ConfigError> {
        let check = |ok: bool, field: &'static str, reason: String| {
            if ok {
                Ok(())
            } else {
                Err(ConfigError::Invalid { field, reason })
            }
        };
        check(
            (1..=10_000_000).contains(&self.steps),
            "steps",
            format!("{} is not in 1..=10^7", self.steps),
        )?;
        check(
            (1..=4096).contains(&self.batch),
            "batch",
            format!("{} is not in 1..=4096", self.batch),
        )?;
        check(
            self.context >= 2 && self.context <= model.context,
            "context",
            format!(
                "{} is not in 2..={} (the model's context)",
                self.context, model.context
            ),
        )?;
        check(
            self.lr.is_finite() && self.lr > 0.0 && self.lr <= 10.0,
            "lr",
            format!("{} is not in (0, 10]", self.lr),
        )?;
        check(
            self.warmup <= self.steps,
            "warmup",
            format!("{} exceeds steps {}", self.warmup, self.steps),
        )?;
        check(
            (0.0..=1.0).contains(&self.min_lr_ratio),
            "min_lr_ratio",
            format!("{} is not in [0, 1]", self.min_lr_ratio),
        )?;
        check(
            self.weight_decay.is_finite() && self.weight_decay >= 0.0,
            "weight_decay",
            format!("{} is negative or not finite", self.weight_decay),
        )?;
        check(
            (0.0..1.0).contains(&self.beta1),
            "beta1",
            format!("{} is not in [0, 1)", self.beta1),
        )?;
        check(
            (0.0..1.0).contains(&self.beta2),
            "beta2",
            format!("{} is not in [0, 1)", self.beta2),
        )?;
        check(
            self.eps > 0.0 && self.eps.is_finite(),
            "eps",
            format!("{} must be positive", self.eps),
        )?;
        check(
            self.clip >= 0.0 && self.clip.is_finite(),
            "clip",
            format!("{} must be >= 0", self.clip),
        )?;
        check(
            self.eval_every >= 1,
            "eval_every",
            "must be at least 1".to_string(),
        )?;
        check(
            (1..=1024).contains(&self.eval_batches),
            "eval_batches",
            format!("{} is not in 1..=1024", self.eval_batches),
        )?;
        Ok(())
    }

    /// Linear warmup from 0 to the peak over `warmup` steps, then cosine decay to
    /// `min_lr_ratio * lr` at the last step. `step` counts from 0.
    pub fn lr_at(&self, step: usize) -> f64 {
        if step < self.warmup {
            return self.lr * (step + 1) as f64 / self.warmup as f64;
        }
        let decay_steps = self.steps.saturating_sub(self.warmup).max(1);
        let progress = ((step - self.warmup) as f64 / decay_steps as f64).min(1.0);
        let cosine = 0.5 * (1.0 + (std::f64::consts::PI * progress).cos());
        self.lr * (self.min_lr_ratio + (1.0 - self.min_lr_ratio) * cosine)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_have_pythia_shapes() {
        let tiny = ModelConfig::preset("pythia-14m").unwrap();
        assert_eq!(
            (tiny.layers, tiny.width, tiny.heads, tiny.context),
            (6, 128, 4, 256)
        );
        assert_eq!(tiny.head_dim(), 32);
        assert_eq!(tiny.rotary_dims(), 8);
        let big = ModelConfig::preset("pythia-70m").unwrap();
        assert_eq!((big.layers, big.width, big.heads), (6, 512, 8));
        assert_eq!(big.rotary_dims(), 16);
        assert!(ModelConfig::preset("gpt-5").is_err());
    }

    #[test]
    fn invalid_shapes_are_rejected_with_the_field_named() {
        let err = ModelConfig::new(2, 66, 4, 64).unwrap_err();
        assert!(err.to_string().contains("heads"), "{err}");
        let err = ModelConfig::new(0, 64, 4, 64).unwrap_err();
        assert!(err.to_string().contains("layers"), "{err}");
    }

    #[test]
    fn schedule_warms_up_linearly_then_decays_to_ten_percent() {
        let train = TrainConfig {
            steps: 100,
            warmup: 10,
            lr: 1.0,
            ..TrainConfig::default()
        };
        assert!((train.lr_at(0) - 0.1).abs() < 1e-12);
        assert!((train.lr_at(9) - 1.0).abs() < 1e-12);
        assert!((train.lr_at(10) - 1.0).abs() < 1e-12);
        assert!((train.lr_at(55) - 0.55).abs() < 1e-12);
        assert!((train.lr_at(100) - 0.1).abs() < 1e-12);
        let no_warmup = TrainConfig { warmup: 0, ..train };
        assert!((no_warmup.lr_at(0) - 1.0).abs() < 1e-12);
    }
}
