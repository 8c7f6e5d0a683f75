//! The link schema: one table of every key a link has, read and written by the same
//! entries. Most keys are the experiment's (they change a number); a few only say how the
//! page shows it (classroom and embed links: hidden controls, a lesson text, a compact
//! layout) and are no part of the experiment's identity. The CLI reads links strictly
//! (`histinit run --link`, which accepts and ignores the page's keys), the page forgivingly
//! (a bad key keeps its default and is named), and the page builds its form and its
//! address from [`LINK_KEYS`]: no other list of keys exists.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::config::{EvalSplit, NormMode, TrainConfig, PRESETS};
use crate::error::ConfigError;
use crate::experiment::{BackendChoice, ExperimentConfig, PAGE_BUDGET};
use crate::init::{InitGains, InitMethod, InitScope, InitTuning};
use crate::source::ScaleRule;
use crate::text::{code_point, first_formatting, shown, visible, without_formatting};

/// What values a key takes (the page picks its form control from it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyKind {
    /// One of the listed names.
    Choice,
    /// A comma-separated list of the listed names (the inits, the hidden controls).
    List,
    /// A whole number.
    Count,
    /// A whole number that may be left unset (a preset's shape is then used).
    OptionalCount,
    /// A finite decimal number.
    Number,
    /// Text: a source id or URL, a file name, group:multiplier pairs, the lesson; empty
    /// for none.
    Text,
    /// On (`1`) or off (absent).
    Flag,
}

/// Whether a key changes the experiment or only how the page shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyRole {
    /// A setting of the experiment: it changes a number, and it is in the run's link
    /// ([`ExperimentConfig::to_query`]), its summary and its exports.
    Experiment,
    /// How the page shows the experiment: `histinit run` ignores it, and the run's own
    /// link leaves it out (the same experiment, hidden controls or not).
    Page,
}

/// How a key reads and writes its value.
pub enum Access {
    Experiment {
        /// The value written to a link; `None` for an unset optional value.
        get: fn(&ExperimentConfig) -> Option<String>,
        set: fn(&mut ExperimentConfig, &str) -> Result<(), ConfigError>,
        reset: fn(&mut ExperimentConfig),
    },
    Page {
        /// The value written to a link; `None` when the page shows it the usual way.
        get: fn(&PageView) -> Option<String>,
        /// Never refuses: what it cannot use it drops, saying so (plain text).
        set: fn(&mut PageView, &str) -> Vec<String>,
    },
}

/// One key of a link.
pub struct LinkKey {
    pub key: &'static str,
    pub kind: KeyKind,
    /// A few words for the page's form label.
    pub label: &'static str,
    /// The names a choice or list key takes.
    pub choices: fn() -> Vec<&'static str>,
    pub access: Access,
}

impl LinkKey {
    pub fn role(&self) -> KeyRole {
        match self.access {
            Access::Experiment { .. } => KeyRole::Experiment,
            Access::Page { .. } => KeyRole::Page,
        }
    }
}

fn no_choices() -> Vec<&'static str> {
    Vec::new()
}

fn count(field: &'static str, value: &str) -> Result<usize, ConfigError> {
    value.parse::<usize>().map_err(|_| ConfigError::Invalid {
        field,
        reason: format!("'{}' is not a whole number", shown(value)),
    })
}

fn number(field: &'static str, value: &str) -> Result<f64, ConfigError> {
    value
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| ConfigError::Invalid {
            field,
            reason: format!("'{}' is not a number", shown(value)),
        })
}

/// `init/gains/lr-multiplier` per tuned init, joined by `;` (the gains or the multiplier
/// may be left empty: `empirical//4`).
fn write_tuned(config: &ExperimentConfig) -> String {
    config
        .tuned
        .iter()
        .map(|(init, tuning)| format!("{}/{}/{}", init.name(), tuning.gain, tuning.lr_scale))
        .collect::<Vec<_>>()
        .join(";")
}

fn parse_tuned(value: &str) -> Result<BTreeMap<InitMethod, InitTuning>, ConfigError> {
    let invalid = |reason: String| ConfigError::Invalid {
        field: "tuned",
        reason,
    };
    let mut tuned = BTreeMap::new();
    for entry in value.split(';').map(str::trim).filter(|e| !e.is_empty()) {
        let parts: Vec<&str> = entry.split('/').collect();
        let [init, gain, lr_scale] = parts[..] else {
            return Err(invalid(format!(
                "'{}' is not init/gains/lr-multiplier (e.g. kaiming/unembed:4/2)",
                shown(entry)
            )));
        };
        let init = InitMethod::parse(init.trim())?;
        let tuning = InitTuning {
            gain: InitGains::parse(gain)?,
            lr_scale: match lr_scale.trim() {
                "" => 1.0,
                text => number("tuned", text)?,
            },
        };
        tuning.check()?;
        if tuned.insert(init, tuning).is_some() {
            return Err(invalid(format!("'{}' is tuned twice", init.name())));
        }
        if tuned.len() > 8 {
            return Err(invalid("more than 8 inits tuned".into()));
        }
    }
    Ok(tuned)
}

/// A number key of the training recipe.
macro_rules! train_number {
    ($key:literal, $field:ident, $label:literal) => {
        LinkKey {
            key: $key,
            kind: KeyKind::Number,
            label: $label,
            choices: no_choices,
            access: Access::Experiment {
                get: |c| Some(c.train.$field.to_string()),
                set: |c, v| {
                    c.train.$field = number($key, v)?;
                    Ok(())
                },
                reset: |c| c.train.$field = TrainConfig::default().$field,
            },
        }
    };
}

/// A whole-number key of the training recipe.
macro_rules! train_count {
    ($key:literal, $field:ident, $label:literal) => {
        LinkKey {
            key: $key,
            kind: KeyKind::Count,
            label: $label,
            choices: no_choices,
            access: Access::Experiment {
                get: |c| Some(c.train.$field.to_string()),
                set: |c, v| {
                    c.train.$field = count($key, v)?;
                    Ok(())
                },
                reset: |c| c.train.$field = TrainConfig::default().$field,
            },
        }
    };
}

/// A shape override of the preset.
macro_rules! shape_override {
    ($key:literal, $field:ident, $label:literal) => {
        LinkKey {
            key: $key,
            kind: KeyKind::OptionalCount,
            label: $label,
            choices: no_choices,
            access: Access::Experiment {
                get: |c| c.$field.map(|v| v.to_string()),
                set: |c, v| {
                    c.$field = if v.is_empty() {
                        None
                    } else {
                        Some(count($key, v)?)
                    };
                    Ok(())
                },
                reset: |c| c.$field = None,
            },
        }
    };
}

/// Every key of a link, in the order links are written. Each field of
/// [`ExperimentConfig`] and [`TrainConfig`] has exactly one (a test checks it).
pub static LINK_KEYS: &[LinkKey] = &[
    LinkKey {
        key: "preset",
        kind: KeyKind::Choice,
        label: "model",
        choices: || PRESETS.iter().map(|p| p.0).collect(),
        access: Access::Experiment {
            get: |c| Some(c.preset.clone()),
            set: |c, v| {
                // Checked here so that a bad name is refused as the key's own error.
                crate::config::ModelConfig::preset(v)?;
                c.preset = v.to_string();
                Ok(())
            },
            reset: |c| c.preset = ExperimentConfig::default().preset,
        },
    },
    shape_override!("layers", layers, "layers"),
    shape_override!("width", width, "width"),
    shape_override!("heads", heads, "heads"),
    LinkKey {
        key: "norm",
        kind: KeyKind::Choice,
        label: "LayerNorm",
        choices: || NormMode::ALL.iter().map(|n| n.name()).collect(),
        access: Access::Experiment {
            get: |c| Some(c.norm.name().to_string()),
            set: |c, v| {
                c.norm = NormMode::parse(v)?;
                Ok(())
            },
            reset: |c| c.norm = ExperimentConfig::default().norm,
        },
    },
    LinkKey {
        key: "inits",
        kind: KeyKind::List,
        label: "inits",
        choices: || InitMethod::ALL.iter().map(|i| i.name()).collect(),
        access: Access::Experiment {
            get: |c| {
                let names: Vec<&str> = c.inits.iter().map(|i| i.name()).collect();
                Some(names.join(","))
            },
            set: |c, v| {
                c.inits = v
                    .split(',')
                    .filter(|name| !name.is_empty())
                    .map(InitMethod::parse)
                    .collect::<Result<_, _>>()?;
                Ok(())
            },
            reset: |c| c.inits = ExperimentConfig::default().inits,
        },
    },
    LinkKey {
        key: "source",
        kind: KeyKind::Text,
        label: "histogram source",
        choices: no_choices,
        access: Access::Experiment {
            get: |c| c.source.clone(),
            set: |c, v| {
                c.source = match v {
                    "" => None,
                    text => Some(parse_source(text)?),
                };
                Ok(())
            },
            reset: |c| c.source = None,
        },
    },
    LinkKey {
        key: "scale",
        kind: KeyKind::Choice,
        label: "scale rule",
        choices: || ScaleRule::ALL.iter().map(|s| s.name()).collect(),
        access: Access::Experiment {
            get: |c| Some(c.scale.name().to_string()),
            set: |c, v| {
                c.scale = ScaleRule::parse(v)?;
                Ok(())
            },
            reset: |c| c.scale = ExperimentConfig::default().scale,
        },
    },
    LinkKey {
        key: "scope",
        kind: KeyKind::Choice,
        label: "inits apply to",
        choices: || InitScope::ALL.iter().map(|s| s.name()).collect(),
        access: Access::Experiment {
            get: |c| Some(c.scope.name().to_string()),
            set: |c, v| {
                c.scope = InitScope::parse(v)?;
                Ok(())
            },
            reset: |c| c.scope = ExperimentConfig::default().scope,
        },
    },
    LinkKey {
        key: "gain",
        kind: KeyKind::Text,
        label: "every init's scale × (e.g. all:0.5,embed:0.0625)",
        choices: || InitGains::GROUPS.to_vec(),
        access: Access::Experiment {
            get: |c| Some(c.gain.to_string()).filter(|text| !text.is_empty()),
            set: |c, v| {
                c.gain = InitGains::parse(v)?;
                Ok(())
            },
            reset: |c| c.gain = InitGains::default(),
        },
    },
    LinkKey {
        key: "tuned",
        kind: KeyKind::Text,
        label: "each init's own recipe: init / gains / lr ×, with ; between inits",
        choices: no_choices,
        access: Access::Experiment {
            get: |c| (!c.tuned.is_empty()).then(|| write_tuned(c)),
            set: |c, v| {
                c.tuned = parse_tuned(v)?;
                Ok(())
            },
            reset: |c| c.tuned.clear(),
        },
    },
    LinkKey {
        key: "seed",
        kind: KeyKind::Count,
        label: "first seed",
        choices: no_choices,
        access: Access::Experiment {
            get: |c| Some(c.seed.to_string()),
            set: |c, v| {
                c.seed = v.parse().map_err(|_| ConfigError::Invalid {
                    field: "seed",
                    reason: format!("'{}' is not a seed (a whole number)", shown(v)),
                })?;
                Ok(())
            },
            reset: |c| c.seed = ExperimentConfig::default().seed,
        },
    },
    LinkKey {
        key: "seeds",
        kind: KeyKind::Count,
        label: "seeds",
        choices: no_choices,
        access: Access::Experiment {
            get: |c| Some(c.seeds.to_string()),
            set: |c, v| {
                c.seeds = count("seeds", v)?;
                Ok(())
            },
            reset: |c| c.seeds = ExperimentConfig::default().seeds,
        },
    },
    LinkKey {
        key: "backend",
        kind: KeyKind::Choice,
        label: "backend",
        choices: || BackendChoice::ALL.iter().map(|b| b.name()).collect(),
        access: Access::Experiment {
            get: |c| Some(c.backend.name().to_string()),
            set: |c, v| {
                c.backend = BackendChoice::parse(v)?;
                Ok(())
            },
            reset: |c| c.backend = ExperimentConfig::default().backend,
        },
    },
    LinkKey {
        key: "corpus",
        kind: KeyKind::Text,
        label: "your text file",
        choices: no_choices,
        access: Access::Experiment {
            get: |c| c.corpus.clone(),
            set: |c, v| {
                c.corpus = match v {
                    "" => None,
                    name => Some(parse_corpus_name(name)?),
                };
                Ok(())
            },
            reset: |c| c.corpus = None,
        },
    },
    train_count!("steps", steps, "steps"),
    train_count!("batch", batch, "batch"),
    train_count!("context", context, "context"),
    train_number!("lr", lr, "peak learning rate"),
    train_count!("warmup", warmup, "warmup steps"),
    train_number!("min_lr_ratio", min_lr_ratio, "final LR / peak"),
    train_number!("weight_decay", weight_decay, "weight decay"),
    train_number!("beta1", beta1, "Adam β1"),
    train_number!("beta2", beta2, "Adam β2"),
    train_number!("eps", eps, "Adam ε"),
    train_number!("clip", clip, "gradient clip (0 = off)"),
    train_count!("eval_every", eval_every, "evaluate every"),
    train_count!("eval_batches", eval_batches, "validation batches"),
    LinkKey {
        key: "eval_split",
        kind: KeyKind::Choice,
        label: "evaluate on",
        choices: || EvalSplit::ALL.iter().map(|s| s.name()).collect(),
        access: Access::Experiment {
            // Left out of links on the val split, so the links published before it stay
            // as they were.
            get: |c| {
                Some(c.train.eval_split)
                    .filter(|split| !split.is_val())
                    .map(|split| split.name().to_string())
            },
            set: |c, v| {
                c.train.eval_split = EvalSplit::parse(v)?;
                Ok(())
            },
            reset: |c| c.train.eval_split = TrainConfig::default().eval_split,
        },
    },
    // How the page shows the experiment (classroom and embed links): last, so a link
    // reads experiment first.
    LinkKey {
        key: "hide",
        kind: KeyKind::List,
        label: "controls to hide",
        choices: hide_choices,
        access: Access::Page {
            get: |v| (!v.hide.is_empty()).then(|| v.hide.join(",")),
            set: set_hide,
        },
    },
    LinkKey {
        key: "lesson",
        kind: KeyKind::Text,
        label: "lesson text",
        choices: no_choices,
        access: Access::Page {
            get: |v| (!v.lesson.is_empty()).then(|| v.lesson.clone()),
            set: set_lesson,
        },
    },
    LinkKey {
        key: "embed",
        kind: KeyKind::Flag,
        label: "compact layout for an iframe",
        choices: no_choices,
        access: Access::Page {
            get: |v| v.embed.then(|| "1".to_string()),
            set: |v, value| match value {
                "1" => {
                    v.embed = true;
                    Vec::new()
                }
                "" | "0" => {
                    v.embed = false;
                    Vec::new()
                }
                other => vec![format!(
                    "ignored 'embed': '{}' is not 1 (compact) or 0",
                    shown(other)
                )],
            },
        },
    },
    // The link format's version: the page writes it into every address, so that a later
    // version can tell which meaning of each key the link was made with
    // ([`KEY_CHANGES`], [`version_warnings`]).
    LinkKey {
        key: VERSION_KEY,
        kind: KeyKind::Count,
        label: "link format version",
        choices: no_choices,
        access: Access::Page {
            get: |_| Some(LINK_VERSION.to_string()),
            set: |_, value| match parse_version(value) {
                Ok(_) => Vec::new(),
                Err(err) => vec![format!("ignored '{VERSION_KEY}': {err}")],
            },
        },
    },
];

/// The key that carries a link's format version.
pub const VERSION_KEY: &str = "v";

/// The link format's version this histinit writes. A link without [`VERSION_KEY`] was
/// made before links carried one (by the page before version 2, or as a run's own link,
/// [`ExperimentConfig::to_query`], which stays as published): it reads as version 1.
/// Raise it, and add a [`KEY_CHANGES`] entry, whenever a key's meaning changes.
pub const LINK_VERSION: u32 = 2;

/// When a key came into links and when its meaning changed, by link format version.
pub struct KeyChange {
    pub key: &'static str,
    /// The first link version that has the key.
    pub introduced: u32,
    /// (version, what changed): a link of an older version meant something else by it.
    pub changed: &'static [(u32, &'static str)],
}

/// Every key of [`LINK_KEYS`], once (a test checks it): a new key is entered with the
/// version that introduces it, a changed meaning with the version that changes it.
pub static KEY_CHANGES: &[KeyChange] = &[
    KeyChange::since(1, "preset"),
    KeyChange::since(1, "layers"),
    KeyChange::since(1, "width"),
    KeyChange::since(1, "heads"),
    KeyChange::since(1, "norm"),
    KeyChange::since(1, "inits"),
    KeyChange::since(1, "source"),
    KeyChange::since(1, "scale"),
    KeyChange::since(1, "scope"),
    KeyChange {
        key: "gain",
        introduced: 1,
        changed: &[(
            2,
            "since commit 44aab79 a gain multiplies the drawn values of every init (the \
             trained-distribution ones too); before, only the standard inits' scales",
        )],
    },
    KeyChange::since(1, "tuned"),
    KeyChange::since(1, "seed"),
    KeyChange::since(1, "seeds"),
    KeyChange::since(1, "backend"),
    KeyChange::since(1, "corpus"),
    KeyChange::since(1, "steps"),
    KeyChange::since(1, "batch"),
    KeyChange::since(1, "context"),
    KeyChange::since(1, "lr"),
    KeyChange::since(1, "warmup"),
    KeyChange::since(1, "min_lr_ratio"),
    KeyChange::since(1, "weight_decay"),
    KeyChange::since(1, "beta1"),
    KeyChange::since(1, "beta2"),
    KeyChange::since(1, "eps"),
    KeyChange::since(1, "clip"),
    KeyChange::since(1, "eval_every"),
    KeyChange::since(1, "eval_batches"),
    KeyChange::since(1, "eval_split"),
    KeyChange::since(1, "hide"),
    KeyChange::since(1, "lesson"),
    KeyChange::since(1, "embed"),
    KeyChange::since(2, VERSION_KEY),
];

impl KeyChange {
    const fn since(introduced: u32, key: &'static str) -> Self {
        Self {
            key,
            introduced,
            changed: &[],
        }
    }
}

/// A link's version: a whole number from 1.
pub fn parse_version(value: &str) -> Result<u32, ConfigError> {
    value
        .parse::<u32>()
        .ok()
        .filter(|version| *version >= 1)
        .ok_or_else(|| ConfigError::Invalid {
            field: VERSION_KEY,
            reason: format!(
                "'{}' is not a link version (a whole number from 1; this histinit writes {LINK_VERSION})",
                shown(value)
            ),
        })
}

/// What a reader should know about a link of `version` (`None`: it has none, version 1)
/// that gives `keys`: each key whose meaning changed after the link's version, each key
/// newer than the link's version, and a version newer than this histinit's. Plain text;
/// the run uses the keys' current meaning either way.
pub fn version_warnings(version: Option<u32>, keys: &[&str]) -> Vec<String> {
    changes_since(KEY_CHANGES, LINK_VERSION, version, keys)
}

fn changes_since(
    table: &[KeyChange],
    current: u32,
    version: Option<u32>,
    keys: &[&str],
) -> Vec<String> {
    let made = version.unwrap_or(1);
    let of_link = match version {
        Some(version) => format!("this link is of version {version}"),
        None => "this link has no version: made before links carried one".to_string(),
    };
    let mut warnings = Vec::new();
    if made > current {
        warnings.push(format!(
            "this link is of link version {made}, newer than this histinit's {current}: its keys may mean what this version does not know"
        ));
        return warnings;
    }
    // (The version key itself is what says the version: not a key to warn about.)
    for entry in table
        .iter()
        .filter(|entry| entry.key != VERSION_KEY && keys.contains(&entry.key))
    {
        if entry.introduced > made {
            warnings.push(format!(
                "'{}' came with link version {}, but {of_link}: read with its current meaning",
                entry.key, entry.introduced
            ));
        }
        for (changed, what) in entry.changed.iter().filter(|(at, _)| *at > made) {
            warnings.push(format!(
                "'{}' changed meaning in link version {changed} ({of_link}): {what}; the run uses the current meaning",
                entry.key
            ));
        }
    }
    warnings
}

/// The version a link gives (its first `v`), if it gives a valid one.
fn version_of(pairs: &[(String, String)]) -> Option<u32> {
    pairs
        .iter()
        .find(|(key, _)| key == VERSION_KEY)
        .and_then(|(_, value)| parse_version(value).ok())
}

/// Parts of the page that `hide` can name besides the experiment's keys (each is the
/// element marked `data-group="NAME"` in index.html; the e2e suite checks they agree).
pub const PAGE_GROUPS: &[&str] = &[
    "intro",
    "studies",
    "histogram",
    "model",
    "training",
    "advanced",
    "export",
    "tables",
    "samples",
];

/// The longest lesson text kept, in characters: a few sentences, not a page.
pub const MAX_LESSON_CHARS: usize = 500;

/// How the page shows an experiment. Nothing here changes a number.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PageView {
    /// Controls the page hides (their values still apply): names from [`hide_choices`],
    /// each once, in that order.
    pub hide: Vec<String>,
    /// A short text shown above the page: plain text, a paragraph per line, at most
    /// [`MAX_LESSON_CHARS`] characters.
    pub lesson: String,
    /// The compact layout, for an iframe.
    pub embed: bool,
}

/// What `hide` can name: the [`PAGE_GROUPS`] (what a teacher hides most), then the
/// experiment's keys.
pub fn hide_choices() -> Vec<&'static str> {
    PAGE_GROUPS
        .iter()
        .copied()
        .chain(
            LINK_KEYS
                .iter()
                .filter(|entry| entry.role() == KeyRole::Experiment)
                .map(|entry| entry.key),
        )
        .collect()
}

fn set_hide(view: &mut PageView, value: &str) -> Vec<String> {
    let known = hide_choices();
    let mut named: Vec<&str> = Vec::new();
    let mut unknown: Vec<String> = Vec::new();
    let mut more = 0;
    for name in value
        .split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
    {
        match known.iter().find(|known| **known == name) {
            Some(known) => named.push(known),
            // A few are quoted: a long list stays a readable message.
            None if unknown.len() < 5 => unknown.push(format!("'{}'", shown(name))),
            None => more += 1,
        }
    }
    if more > 0 {
        unknown.push(format!("{more} more"));
    }
    view.hide = known
        .iter()
        .filter(|name| named.contains(name))
        .map(|name| name.to_string())
        .collect();
    if unknown.is_empty() {
        return Vec::new();
    }
    vec![format!(
        "ignored 'hide' of {}: not a control of this page (it can hide {})",
        unknown.join(", "),
        known.join(", ")
    )]
}

fn set_lesson(view: &mut PageView, value: &str) -> Vec<String> {
    // Plain text: line breaks separate paragraphs, other control characters go, and so
    // do the characters that would reorder or hide the text (a lesson is shown as the
    // page's own words, so it must read as exactly what it is).
    let mut text: String = value
        .replace("\r\n", "\n")
        .chars()
        .map(|c| match c {
            '\t' | '\r' => ' ',
            '\u{2028}' | '\u{2029}' => '\n',
            c => c,
        })
        .filter(|c| *c == '\n' || !c.is_control())
        .collect();
    let mut warnings = Vec::new();
    if let Some(first) = first_formatting(&text) {
        let (kept, removed) = without_formatting(&text);
        warnings.push(format!(
            "'lesson': removed {removed} invisible or reordering character{} (the first: {})",
            if removed == 1 { "" } else { "s" },
            code_point(first)
        ));
        text = kept;
    }
    let text = text.trim();
    let count = text.chars().count();
    if count <= MAX_LESSON_CHARS {
        view.lesson = text.to_string();
        return warnings;
    }
    view.lesson = text
        .chars()
        .take(MAX_LESSON_CHARS)
        .collect::<String>()
        .trim_end()
        .to_string();
    warnings.push(format!(
        "'lesson' shortened to its first {MAX_LESSON_CHARS} characters (it had {count}): a lesson is a few sentences"
    ));
    warnings
}

/// The entry of `key`.
pub fn link_key(key: &str) -> Option<&'static LinkKey> {
    LINK_KEYS.iter().find(|entry| entry.key == key)
}

/// Every key a link has, as messages list them.
fn known_keys() -> String {
    let known: Vec<&str> = LINK_KEYS.iter().map(|entry| entry.key).collect();
    known.join(", ")
}

fn unknown_key(key: &str) -> ConfigError {
    ConfigError::Invalid {
        field: "link key",
        reason: format!("unknown key '{}' (known: {})", shown(key), known_keys()),
    }
}

/// The longest link read: a link is typed or pasted by people, never megabytes.
pub const MAX_LINK_BYTES: usize = 8192;

fn check_length(link: &str) -> Result<(), ConfigError> {
    if link.len() > MAX_LINK_BYTES {
        return Err(ConfigError::Invalid {
            field: "link",
            reason: format!(
                "{} bytes long, more than the {MAX_LINK_BYTES} a link may have",
                link.len()
            ),
        });
    }
    Ok(())
}

/// The most unknown keys a link's warnings name one by one (the rest are counted).
pub const MAX_UNKNOWN_NAMED: usize = 5;

/// The most warnings [`PageLink::read`] gives for one link: room for one about every
/// key (the e2e suite breaks every key at once) and a few more; the rest are counted
/// in the last.
pub const MAX_WARNINGS: usize = 48;

/// The longest warning, in characters: enough for a bad `hide` (five quoted names and
/// every name it can hide).
pub const MAX_WARNING_CHARS: usize = 800;

/// So whatever a link holds, its warnings are at most this many characters in all.
pub const MAX_WARNINGS_TOTAL_CHARS: usize = MAX_WARNINGS * MAX_WARNING_CHARS;

/// Every warning made [`visible`] (nothing from the link reorders or hides the text
/// around it, wherever a message quotes it) and cut at [`MAX_WARNING_CHARS`]; at most
/// [`MAX_WARNINGS`] of them.
fn bounded(warnings: Vec<String>) -> Vec<String> {
    let count = warnings.len();
    let mut out: Vec<String> = warnings
        .into_iter()
        .take(if count > MAX_WARNINGS {
            MAX_WARNINGS - 1
        } else {
            MAX_WARNINGS
        })
        .map(|warning| {
            let warning = visible(&warning);
            if warning.chars().count() <= MAX_WARNING_CHARS {
                return warning.into_owned();
            }
            let mut cut: String = warning.chars().take(MAX_WARNING_CHARS - 1).collect();
            cut.push('…');
            cut
        })
        .collect();
    if count > MAX_WARNINGS {
        out.push(format!(
            "and {} more problems with this link",
            count - out.len()
        ));
    }
    out
}

/// A link as the page reads it: the experiment, how the page shows it, and what was
/// dropped from either (plain text, for `textContent`).
#[derive(Debug, Clone, PartialEq)]
pub struct PageLink {
    pub config: ExperimentConfig,
    pub view: PageView,
    pub warnings: Vec<String>,
}

impl PageLink {
    /// Reads a link the forgiving way (the page's): every bad, unknown or repeated key,
    /// and what makes the experiment too big for a browser ([`PAGE_BUDGET`]), is
    /// dropped (its default stays) and named in `warnings`.
    pub fn read(link: &str) -> Self {
        let mut config = ExperimentConfig::default();
        let mut view = PageView::default();
        let mut warnings = Vec::new();
        if let Err(err) = check_length(link) {
            warnings.push(format!("ignored the whole link: {err}"));
            return Self {
                config,
                view,
                warnings,
            };
        }
        // Keys read (each once: a repeat is ignored whether the first was used or not),
        // the ones whose value was used, how often each was repeated, and the distinct
        // unknown keys: a link of thousands of keys gets a few lines, not thousands.
        let mut seen: Vec<String> = Vec::new();
        let mut given: Vec<String> = Vec::new();
        let mut repeated: Vec<(String, usize)> = Vec::new();
        let mut unknown: BTreeSet<String> = BTreeSet::new();
        let pairs = query_pairs(link);
        let version = version_of(&pairs);
        for (key, value) in pairs {
            if seen.contains(&key) {
                match repeated.iter_mut().find(|(name, _)| *name == key) {
                    Some((_, times)) => *times += 1,
                    None => repeated.push((key, 1)),
                }
                continue;
            }
            match link_key(&key).map(|entry| &entry.access) {
                None => {
                    if unknown.insert(key.clone()) && unknown.len() <= MAX_UNKNOWN_NAMED {
                        // The known keys once, with the first.
                        let known = match unknown.len() {
                            1 => format!(" (a link's keys are: {})", known_keys()),
                            _ => String::new(),
                        };
                        warnings.push(format!("ignored '{}': unknown key{known}", shown(&key)));
                    }
                    continue;
                }
                Some(Access::Experiment { set, .. }) => match set(&mut config, &value) {
                    Ok(()) => given.push(key.clone()),
                    Err(err) => warnings.push(format!("ignored '{}': {err}", shown(&key))),
                },
                Some(Access::Page { set, .. }) => {
                    warnings.extend(set(&mut view, &value));
                    given.push(key.clone());
                }
            }
            seen.push(key);
        }
        if let Some(more) = unknown
            .len()
            .checked_sub(MAX_UNKNOWN_NAMED)
            .filter(|n| *n > 0)
        {
            warnings.push(format!(
                "ignored {more} more unknown key{}",
                if more == 1 { "" } else { "s" }
            ));
        }
        for (key, times) in repeated {
            warnings.push(match times {
                1 => format!("ignored a second '{key}'"),
                _ => format!("ignored a second '{key}' and {} more", times - 1),
            });
        }
        let used: Vec<&str> = given.iter().map(String::as_str).collect();
        warnings.extend(version_warnings(version, &used));
        fit_the_page(&mut config, &given, &mut warnings);
        Self {
            config,
            view,
            warnings: bounded(warnings),
        }
    }

    /// The page's address: the experiment's link ([`ExperimentConfig::to_query`]) and
    /// the page's keys that differ from the usual view, which [`PageLink::read`] reads
    /// back to the same.
    pub fn to_query(&self) -> String {
        query_of(&self.config, Some(&self.view))
    }
}

/// Values that parse can still clash (warmup beyond steps, a context beyond the model's)
/// or ask for more than a browser holds: resets the key the check names, then checks
/// again; the defaults if nothing else helps.
fn fit_the_page(config: &mut ExperimentConfig, given: &[String], messages: &mut Vec<String>) {
    let mut given = given.to_vec();
    let check = |config: &ExperimentConfig| {
        config.validate()?;
        config.check_budget(&PAGE_BUDGET).map(|_| ())
    };
    for _ in 0..LINK_KEYS.len() {
        let Err(err) = check(config) else {
            return;
        };
        let field = err.field();
        if field == "warmup" && !given.iter().any(|key| key == "warmup") {
            // The default warmup is longer than the link's steps: shorten it.
            config.train.warmup = config.train.warmup.min(config.train.steps);
            messages.push(format!(
                "warmup lowered to {} to fit {} steps",
                config.train.warmup, config.train.steps
            ));
            continue;
        }
        let key = if given.iter().any(|key| key == field) {
            field
        } else {
            // A check on the model's shape or size: the overrides are what clash.
            [
                "layers", "width", "heads", "context", "batch", "seeds", "inits", "preset",
            ]
            .into_iter()
            .find(|key| given.iter().any(|given| given == key))
            .unwrap_or("")
        };
        let Some(Access::Experiment { reset, .. }) = link_key(key).map(|entry| &entry.access)
        else {
            break;
        };
        reset(config);
        given.retain(|given| given != key);
        messages.push(format!("ignored '{key}': {err}"));
    }
    if check(config).is_err() {
        messages.push("the link's settings do not fit together: using the defaults".into());
        *config = ExperimentConfig::default();
    }
}

/// The experiment keys that say which seeds run, and where, rather than what one run
/// is: a run of any seed on any backend is one more draw from the spread a study
/// measured over its seeds. Every other experiment key must be equal for a run to
/// belong to a study's variant ([`spread_key`]).
pub const SPREAD_KEYS: &[&str] = &["seed", "seeds", "backend"];

/// What one run of `config` is: its link without [`SPREAD_KEYS`]. A run belongs to a
/// published study variant exactly when their keys are equal (the page draws that
/// study's spread behind its curves then).
pub fn spread_key(config: &ExperimentConfig) -> String {
    query_of(config, None)
        .split('&')
        .filter(|pair| {
            let key = pair.split_once('=').map_or(*pair, |(key, _)| key);
            !SPREAD_KEYS.contains(&key)
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// The query of `config` and, if given, `view`: every key of [`LINK_KEYS`] with a value.
fn query_of(config: &ExperimentConfig, view: Option<&PageView>) -> String {
    LINK_KEYS
        .iter()
        .filter_map(|entry| {
            let value = match (&entry.access, view) {
                (Access::Experiment { get, .. }, _) => get(config),
                (Access::Page { get, .. }, Some(view)) => get(view),
                (Access::Page { .. }, None) => None,
            }?;
            Some(format!("{}={}", entry.key, percent_encode(&value)))
        })
        .collect::<Vec<_>>()
        .join("&")
}

impl ExperimentConfig {
    /// Parses a playground link (the whole URL or just its query string). Unknown or
    /// repeated keys and bad values are errors that name the key. The page's keys
    /// ([`KeyRole::Page`]) are accepted and ignored: they change no number.
    pub fn from_query(link: &str) -> Result<Self, ConfigError> {
        check_length(link)?;
        let mut config = Self::default();
        let mut given: Vec<String> = Vec::new();
        let pairs = query_pairs(link);
        for (key, value) in &pairs {
            let key = key.clone();
            if given.contains(&key) {
                return Err(ConfigError::Invalid {
                    field: "link key",
                    reason: format!("'{}' is given twice", shown(&key)),
                });
            }
            match &link_key(&key).ok_or_else(|| unknown_key(&key))?.access {
                Access::Experiment { set, .. } => set(&mut config, value)?,
                Access::Page { .. } if key == VERSION_KEY => {
                    parse_version(value)?;
                }
                Access::Page { .. } => {}
            }
            given.push(key);
        }
        config.validate()?;
        // A key whose meaning changed since the link was made: said on the log (the CLI
        // prints warnings on stderr), the run goes on with the current meaning.
        let keys: Vec<&str> = given.iter().map(String::as_str).collect();
        for warning in version_warnings(version_of(&pairs), &keys) {
            log::warn!("link: {}", visible(&warning));
        }
        Ok(config)
    }

    /// [`PageLink::read`] without the page's view.
    pub fn from_query_lenient(link: &str) -> (Self, Vec<String>) {
        let PageLink {
            config, warnings, ..
        } = PageLink::read(link);
        (config, warnings)
    }

    /// The query string that [`ExperimentConfig::from_query`] reads back to this
    /// configuration: every experiment key of [`LINK_KEYS`] that has a value, so a link
    /// keeps meaning the same run if a default changes. The page's keys are not in it:
    /// this is the experiment's identity (summaries, exports, sweeps).
    pub fn to_query(&self) -> String {
        query_of(self, None)
    }
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
                shown(text)
            ),
        })
    }
}

/// The longest corpus file name a link carries.
pub const MAX_CORPUS_NAME: usize = 128;

/// Characters a corpus name may not hold: paths' separators and what no Windows file
/// name has (which also keeps markup out: `<`, `>`, `"`).
const NOT_IN_FILE_NAMES: &[char] = &['/', '\\', '<', '>', ':', '"', '|', '?', '*'];

/// A corpus file's name as a link carries it: a file name, not a path or the text
/// itself (at most [`MAX_CORPUS_NAME`] bytes, none of `/ \\ < > : " | ? *`, no control
/// characters, and none that reorder or hide text: [`crate::text::is_formatting`], since
/// the page shows the name as the file to pick).
pub fn parse_corpus_name(name: &str) -> Result<String, ConfigError> {
    let invalid = |reason: String| ConfigError::Invalid {
        field: "corpus",
        reason,
    };
    if name.len() > MAX_CORPUS_NAME {
        return Err(invalid(format!(
            "a file name of {} bytes, more than {MAX_CORPUS_NAME}: a link names the text file, it does not carry the text",
            name.len()
        )));
    }
    if name.trim().is_empty()
        || name == "."
        || name == ".."
        || name
            .chars()
            .any(|c| c.is_control() || NOT_IN_FILE_NAMES.contains(&c))
    {
        return Err(invalid(format!(
            "'{}' is not a file name (none of / \\ < > : \" | ? * or control characters)",
            shown(name)
        )));
    }
    if let Some(c) = first_formatting(name) {
        return Err(invalid(format!(
            "'{}' holds {}, a character that reorders or hides text: rename the file without it",
            shown(name),
            code_point(c)
        )));
    }
    Ok(name.to_string())
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
        // `,` stays readable in the inits list; it has no meaning in a query value.
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~' | b',') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Decodes `%XX` and `+`; a `%` not followed by two hex digits stays as it is, and
/// bytes that are not UTF-8 become U+FFFD.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |at: usize| bytes.get(at).and_then(|b| (*b as char).to_digit(16));
        match bytes[i] {
            b'%' => {
                if let (Some(high), Some(low)) = (hex(i + 1), hex(i + 2)) {
                    out.push((high * 16 + low) as u8);
                    i += 3;
                    continue;
                }
                out.push(b'%');
            }
            b'+' => out.push(b' '),
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// What the page needs to know of a key to build its form.
#[derive(Debug, Clone, Serialize)]
pub struct KeyInfo {
    pub key: &'static str,
    pub kind: KeyKind,
    pub role: KeyRole,
    pub label: &'static str,
    pub choices: Vec<&'static str>,
    /// The value of the default experiment (absent for an unset optional value).
    pub default: Option<String>,
}

/// The schema as the page receives it.
pub fn schema() -> Vec<KeyInfo> {
    let (config, view) = (ExperimentConfig::default(), PageView::default());
    LINK_KEYS
        .iter()
        .map(|entry| KeyInfo {
            key: entry.key,
            kind: entry.kind,
            role: entry.role(),
            label: entry.label,
            choices: (entry.choices)(),
            default: match &entry.access {
                Access::Experiment { get, .. } => get(&config),
                Access::Page { get, .. } => get(&view),
            },
        })
        .collect()
}

#[cfg(test)]
mod tests;
