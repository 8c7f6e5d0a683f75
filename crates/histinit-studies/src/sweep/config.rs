//! The sweep file: a base experiment, the axes of its grid, and the variants they make
//! (axes that are link keys set through the link schema).

use super::*;

/// The sweep file: a base experiment and the axes of the grid.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SweepConfig {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// The init every other is compared with (paired by seed); default `kaiming`.
    #[serde(default = "default_baseline")]
    pub baseline: InitMethod,
    /// Worker processes (the command line's `--jobs` wins).
    #[serde(default)]
    pub jobs: Option<usize>,
    /// Equivalence margin in nats of final validation loss (default 0.02): a comparison
    /// shows "no difference" only when two one-sided paired t-tests (TOST) put the mean
    /// difference from the baseline within ±margin (Holm-adjusted p < 0.05). Part of the
    /// config, so it is stated before the runs; recorded in summary.json.
    #[serde(default = "default_equivalence_margin")]
    pub equivalence_margin: f64,
    pub base: ExperimentConfig,
    #[serde(default)]
    pub grid: Grid,
    /// A pre-registered init × factor interaction test (see [`InteractionSpec`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interaction: Option<InteractionSpec>,
}

/// An init × factor interaction stated in the config before the runs: does changing the
/// grid axis `axis` from `from` to `to` cost an init more or less than it costs the
/// baseline? Tested in every group of variants that differ only in that axis, per init,
/// paired by seed (see [`histinit_core::stats::interaction`]), in the sweep's Holm family.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct InteractionSpec {
    /// A grid axis, as variant names write it (`warmup`, `lr_scale`, ...).
    pub axis: String,
    /// Its two levels, as variant names write them (`30`, `0`).
    pub from: String,
    pub to: String,
}

impl InteractionSpec {
    /// Pairs of variants (index at `from`, index at `to`) equal in every other axis.
    pub fn pairs(&self, variants: &[Variant]) -> Vec<(usize, usize)> {
        let rest = |variant: &Variant| {
            let mut settings = variant.settings.clone();
            settings.remove(&self.axis);
            settings
        };
        variants
            .iter()
            .enumerate()
            .filter(|(_, v)| v.settings.get(&self.axis) == Some(&self.from))
            .filter_map(|(a, from)| {
                variants
                    .iter()
                    .position(|to| {
                        to.settings.get(&self.axis) == Some(&self.to) && rest(to) == rest(from)
                    })
                    .map(|b| (a, b))
            })
            .collect()
    }
}

pub(super) fn default_baseline() -> InitMethod {
    InitMethod::Kaiming
}

/// The equivalence margin of a config that states none, in nats.
pub const DEFAULT_EQUIVALENCE_MARGIN: f64 = 0.02;

pub(super) fn default_equivalence_margin() -> f64 {
    DEFAULT_EQUIVALENCE_MARGIN
}

/// Each axis left empty keeps the base's value; the sweep runs every combination.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Grid {
    #[serde(default)]
    pub warmup: Vec<usize>,
    /// Schedule lengths: each a whole run of that many steps (its own cosine schedule,
    /// warmup kept at the base's fraction), so that "n times fewer steps" compares
    /// runs that really took fewer steps.
    #[serde(default)]
    pub steps: Vec<usize>,
    /// Multipliers of the base's peak learning rate.
    #[serde(default)]
    pub lr_scale: Vec<f64>,
    #[serde(default)]
    pub norm: Vec<NormMode>,
    #[serde(default)]
    pub layers: Vec<usize>,
    #[serde(default)]
    pub scope: Vec<InitScope>,
    #[serde(default)]
    pub scale: Vec<ScaleRule>,
    #[serde(default)]
    pub source: Vec<String>,
    /// Multipliers of every init's tensors by group (`"all:0.5"`, `"embed:0.0625,out:2"`):
    /// the grid of a tuning.
    #[serde(default)]
    pub gain: Vec<InitGains>,
}

impl Grid {
    /// The axes that are link keys, in the order variants are made: each key with its
    /// values, as (the value in a variant's name, the value as a link writes it).
    fn link_axes(&self) -> [(&'static str, Vec<(String, String)>); 7] {
        fn both<T>(values: &[T], name: impl Fn(&T) -> String) -> Vec<(String, String)> {
            values.iter().map(|v| (name(v), name(v))).collect()
        }
        [
            ("warmup", both(&self.warmup, |v| v.to_string())),
            ("norm", both(&self.norm, |v| v.name().into())),
            ("layers", both(&self.layers, |v| v.to_string())),
            ("scope", both(&self.scope, |v| v.name().into())),
            ("scale", both(&self.scale, |v| v.name().into())),
            ("source", both(&self.source, |v| v.clone())),
            (
                "gain",
                self.gain
                    .iter()
                    // File-name safe: `gain-embed0.0625+out2`, `gain-1` for no multiplier.
                    .map(|v| {
                        let label = match v.to_string().replace(':', "").replace(',', "+") {
                            text if text.is_empty() => "1".into(),
                            text => text,
                        };
                        (label, v.to_string())
                    })
                    .collect(),
            ),
        ]
    }
}

/// Sets the experiment key `key` of `config` to `value` through the link schema
/// ([`histinit_core::link::LINK_KEYS`]), as a link with `key=value` would.
pub(super) fn set_by_link(
    config: &mut ExperimentConfig,
    key: &str,
    value: &str,
) -> Result<(), String> {
    match link_key(key).map(|k| &k.access) {
        Some(Access::Experiment { set, .. }) => set(config, value).map_err(|err| err.to_string()),
        _ => Err(format!("'{key}' is no experiment key of a link")),
    }
}

/// One point of the grid: the base with some fields set.
#[derive(Debug, Clone)]
pub struct Variant {
    pub name: String,
    pub settings: BTreeMap<String, String>,
    pub config: ExperimentConfig,
}

impl SweepConfig {
    pub fn load(path: &Path) -> Result<(Self, String), SweepError> {
        let text = std::fs::read_to_string(path).map_err(|err| {
            SweepError::File(FileError::Read {
                path: path.into(),
                source: err,
            })
        })?;
        Ok((Self::parse(&text, path)?, text))
    }

    /// Reads and checks a sweep config; `path` names where it came from in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self, SweepError> {
        let config: SweepConfig = toml::from_str(text).map_err(|err| SweepError::Config {
            path: path.into(),
            reason: err.to_string(),
        })?;
        let invalid = |reason: String| SweepError::Config {
            path: path.into(),
            reason,
        };
        if config.name.is_empty()
            || !config
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        {
            return Err(invalid(format!(
                "name '{}' must be letters, digits, '-' or '_'",
                config.name
            )));
        }
        if !(config.equivalence_margin.is_finite() && config.equivalence_margin > 0.0) {
            return Err(invalid(format!(
                "equivalence_margin {} must be a positive number of nats",
                config.equivalence_margin
            )));
        }
        let variants = config.variants();
        for variant in &variants {
            check_variant_name(&variant.name).map_err(invalid)?;
            variant
                .config
                .validate()
                .map_err(|err| invalid(format!("variant '{}': {err}", variant.name)))?;
        }
        // What the variants' names and configs let through is also what a link takes.
        for (key, values) in config.grid.link_axes() {
            for (_, text) in values {
                set_by_link(&mut config.base.clone(), key, &text)
                    .map_err(|err| invalid(format!("grid {key} '{}': {err}", shown(&text))))?;
            }
        }
        if let Some(spec) = &config.interaction {
            if spec.pairs(&variants).is_empty() {
                return Err(invalid(format!(
                    "interaction: no two variants differ only in {} ({} and {}); the grid's \
                     axes are written as in the variants' names, e.g. warmup-30",
                    shown(&spec.axis),
                    shown(&spec.from),
                    shown(&spec.to)
                )));
            }
        }
        if !config.base.inits.contains(&config.baseline) {
            return Err(invalid(format!(
                "the baseline '{}' is not among the inits",
                config.baseline.name()
            )));
        }
        Ok(config)
    }

    /// Every combination of the grid's axes, in a fixed order.
    pub fn variants(&self) -> Vec<Variant> {
        let mut variants = vec![Variant {
            name: String::new(),
            settings: BTreeMap::new(),
            config: self.base.clone(),
        }];
        fn expand<T: Clone>(
            variants: Vec<Variant>,
            key: &str,
            values: &[T],
            label: impl Fn(&T) -> String,
            apply: impl Fn(&mut ExperimentConfig, &T),
        ) -> Vec<Variant> {
            if values.is_empty() {
                return variants;
            }
            let mut out = Vec::new();
            for variant in variants {
                for value in values {
                    let mut next = variant.clone();
                    apply(&mut next.config, value);
                    let text = label(value);
                    next.settings.insert(key.to_string(), text.clone());
                    if !next.name.is_empty() {
                        next.name.push('_');
                    }
                    next.name.push_str(&format!("{key}-{text}"));
                    out.push(next);
                }
            }
            out
        }
        let base_lr = self.base.train.lr;
        let base_train = self.base.train.clone();
        let g = &self.grid;
        let axes = g.link_axes();
        // An axis that is a link key is set through the link schema, as a link sets it.
        let by_link = |variants: Vec<Variant>, key: &'static str| {
            let values = &axes.iter().find(|(k, _)| *k == key).expect("a link axis").1;
            expand(
                variants,
                key,
                values,
                |(label, _)| label.clone(),
                // A value a link refuses is left unset here: `SweepConfig::parse`
                // refuses the config, naming it.
                |c, (_, text)| {
                    let _ = set_by_link(c, key, text);
                },
            )
        };
        variants = expand(
            variants,
            "steps",
            &g.steps,
            |v| v.to_string(),
            |c, v| {
                c.train.steps = *v;
                let fraction = base_train.warmup as f64 / base_train.steps as f64;
                c.train.warmup = (fraction * *v as f64).round() as usize;
            },
        );
        variants = by_link(variants, "warmup");
        variants = expand(
            variants,
            "lr_scale",
            &g.lr_scale,
            |v| v.to_string(),
            |c, v| c.train.lr = base_lr * v,
        );
        for key in ["norm", "layers", "scope", "scale", "source", "gain"] {
            variants = by_link(variants, key);
        }
        for variant in &mut variants {
            if variant.name.is_empty() {
                variant.name = "base".into();
            }
        }
        variants
    }
}

/// Whether `c` may be in a variant's name: what the grid's values write (numbers,
/// names like `as-is`, gains like `embed0.0625+out2`, shipped source ids).
pub(super) fn variant_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '+')
}

/// A variant's name goes unquoted into runs.csv and the other CSV files, into the
/// study's Markdown report (table cells, headings, code spans) and into file names: it
/// is made of [`variant_name_char`]s only, so none of them needs quoting or escaping.
/// The name is made from the grid's values, so the one that can break it is a free
/// text value: a `source` that is not a shipped id.
pub(super) fn check_variant_name(name: &str) -> Result<(), String> {
    match name.chars().find(|&c| !variant_name_char(c)) {
        None => Ok(()),
        Some(c) => Err(format!(
            "variant '{}': its name, made from the grid's values, holds {}; a variant's name \
             goes into CSV files and Markdown reports, so the grid's values may hold only \
             letters, digits, '-', '_', '.' and '+' (a source is a shipped histogram id)",
            shown(name),
            if c.is_ascii_graphic() {
                format!("'{c}'")
            } else {
                histinit_core::text::code_point(c)
            }
        )),
    }
}

#[cfg(test)]
mod grid_axes;
#[cfg(test)]
mod published_studies;
