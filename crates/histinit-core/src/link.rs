//! The link schema: one table of every setting that changes a number, read and written
//! by the same entries. The CLI reads links strictly (`histinit run --link`), the page
//! forgivingly (a bad key keeps its default and is named), and the page builds its form
//! and its address from [`LINK_KEYS`]: no other list of keys exists.

use serde::Serialize;

use crate::config::{EvalSplit, NormMode, TrainConfig, PRESETS};
use crate::error::ConfigError;
use crate::experiment::{BackendChoice, ExperimentConfig, PAGE_BUDGET};
use crate::init::{InitGains, InitMethod, InitScope};
use crate::source::ScaleRule;

/// What values a key takes (the page picks its form control from it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyKind {
    /// One of the listed names.
    Choice,
    /// A comma-separated list of the listed names (the inits).
    List,
    /// A whole number.
    Count,
    /// A whole number that may be left unset (a preset's shape is then used).
    OptionalCount,
    /// A finite decimal number.
    Number,
    /// Free text: a source id or URL, a file name, or group:multiplier pairs.
    Text,
}

/// One setting of a link.
pub struct LinkKey {
    pub key: &'static str,
    pub kind: KeyKind,
    /// A few words for the page's form label.
    pub label: &'static str,
    /// The names a choice or list key takes.
    pub choices: fn() -> Vec<&'static str>,
    /// The value written to a link; `None` for an unset optional value.
    pub get: fn(&ExperimentConfig) -> Option<String>,
    set: fn(&mut ExperimentConfig, &str) -> Result<(), ConfigError>,
    reset: fn(&mut ExperimentConfig),
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

/// A value as an error message shows it: at most 40 characters.
fn shown(value: &str) -> String {
    let mut text: String = value.chars().take(40).collect();
    if value.chars().count() > 40 {
        text.push('…');
    }
    text
}

/// A number key of the training recipe.
macro_rules! train_number {
    ($key:literal, $field:ident, $label:literal) => {
        LinkKey {
            key: $key,
            kind: KeyKind::Number,
            label: $label,
            choices: no_choices,
            get: |c| Some(c.train.$field.to_string()),
            set: |c, v| {
                c.train.$field = number($key, v)?;
                Ok(())
            },
            reset: |c| c.train.$field = TrainConfig::default().$field,
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
            get: |c| Some(c.train.$field.to_string()),
            set: |c, v| {
                c.train.$field = count($key, v)?;
                Ok(())
            },
            reset: |c| c.train.$field = TrainConfig::default().$field,
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
        get: |c| Some(c.preset.clone()),
        set: |c, v| {
            // Checked here so that a bad name is refused as the key's own error.
            crate::config::ModelConfig::preset(v)?;
            c.preset = v.to_string();
            Ok(())
        },
        reset: |c| c.preset = ExperimentConfig::default().preset,
    },
    shape_override!("layers", layers, "layers"),
    shape_override!("width", width, "width"),
    shape_override!("heads", heads, "heads"),
    LinkKey {
        key: "norm",
        kind: KeyKind::Choice,
        label: "LayerNorm",
        choices: || NormMode::ALL.iter().map(|n| n.name()).collect(),
        get: |c| Some(c.norm.name().to_string()),
        set: |c, v| {
            c.norm = NormMode::parse(v)?;
            Ok(())
        },
        reset: |c| c.norm = ExperimentConfig::default().norm,
    },
    LinkKey {
        key: "inits",
        kind: KeyKind::List,
        label: "inits",
        choices: || InitMethod::ALL.iter().map(|i| i.name()).collect(),
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
    LinkKey {
        key: "source",
        kind: KeyKind::Text,
        label: "histogram source",
        choices: no_choices,
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
    LinkKey {
        key: "scale",
        kind: KeyKind::Choice,
        label: "scale rule",
        choices: || ScaleRule::ALL.iter().map(|s| s.name()).collect(),
        get: |c| Some(c.scale.name().to_string()),
        set: |c, v| {
            c.scale = ScaleRule::parse(v)?;
            Ok(())
        },
        reset: |c| c.scale = ExperimentConfig::default().scale,
    },
    LinkKey {
        key: "scope",
        kind: KeyKind::Choice,
        label: "inits apply to",
        choices: || InitScope::ALL.iter().map(|s| s.name()).collect(),
        get: |c| Some(c.scope.name().to_string()),
        set: |c, v| {
            c.scope = InitScope::parse(v)?;
            Ok(())
        },
        reset: |c| c.scope = ExperimentConfig::default().scope,
    },
    LinkKey {
        key: "gain",
        kind: KeyKind::Text,
        label: "standard inits' scale × (e.g. all:0.5,embed:0.0625)",
        choices: || InitGains::GROUPS.to_vec(),
        get: |c| Some(c.gain.to_string()).filter(|text| !text.is_empty()),
        set: |c, v| {
            c.gain = InitGains::parse(v)?;
            Ok(())
        },
        reset: |c| c.gain = InitGains::default(),
    },
    LinkKey {
        key: "seed",
        kind: KeyKind::Count,
        label: "first seed",
        choices: no_choices,
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
    LinkKey {
        key: "seeds",
        kind: KeyKind::Count,
        label: "seeds",
        choices: no_choices,
        get: |c| Some(c.seeds.to_string()),
        set: |c, v| {
            c.seeds = count("seeds", v)?;
            Ok(())
        },
        reset: |c| c.seeds = ExperimentConfig::default().seeds,
    },
    LinkKey {
        key: "backend",
        kind: KeyKind::Choice,
        label: "backend",
        choices: || BackendChoice::ALL.iter().map(|b| b.name()).collect(),
        get: |c| Some(c.backend.name().to_string()),
        set: |c, v| {
            c.backend = BackendChoice::parse(v)?;
            Ok(())
        },
        reset: |c| c.backend = ExperimentConfig::default().backend,
    },
    LinkKey {
        key: "corpus",
        kind: KeyKind::Text,
        label: "your text file",
        choices: no_choices,
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
        // Left out of links on the val split, so the links published before it stay as they were.
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
];

/// The entry of `key`.
pub fn link_key(key: &str) -> Option<&'static LinkKey> {
    LINK_KEYS.iter().find(|entry| entry.key == key)
}

fn unknown_key(key: &str) -> ConfigError {
    let known: Vec<&str> = LINK_KEYS.iter().map(|entry| entry.key).collect();
    ConfigError::Invalid {
        field: "link key",
        reason: format!("unknown key '{}' (known: {})", shown(key), known.join(", ")),
    }
}

/// Sets one key from its link text.
pub fn set_key(config: &mut ExperimentConfig, key: &str, value: &str) -> Result<(), ConfigError> {
    (link_key(key).ok_or_else(|| unknown_key(key))?.set)(config, value)
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

impl ExperimentConfig {
    /// Parses a playground link (the whole URL or just its query string). Unknown or
    /// repeated keys and bad values are errors that name the key.
    pub fn from_query(link: &str) -> Result<Self, ConfigError> {
        check_length(link)?;
        let mut config = Self::default();
        let mut given: Vec<String> = Vec::new();
        for (key, value) in query_pairs(link) {
            if given.contains(&key) {
                return Err(ConfigError::Invalid {
                    field: "link key",
                    reason: format!("'{}' is given twice", shown(&key)),
                });
            }
            set_key(&mut config, &key, &value)?;
            given.push(key);
        }
        config.validate()?;
        Ok(config)
    }

    /// Parses a link the forgiving way (the page's): every bad, unknown or repeated key,
    /// and what makes the experiment too big for a browser ([`PAGE_BUDGET`]), is
    /// dropped (its default stays) and named in the returned messages (plain text).
    pub fn from_query_lenient(link: &str) -> (Self, Vec<String>) {
        let mut config = Self::default();
        let mut messages = Vec::new();
        if let Err(err) = check_length(link) {
            messages.push(format!("ignored the whole link: {err}"));
            return (config, messages);
        }
        let mut given: Vec<String> = Vec::new();
        for (key, value) in query_pairs(link) {
            if given.contains(&key) {
                messages.push(format!("ignored a second '{}'", shown(&key)));
                continue;
            }
            match set_key(&mut config, &key, &value) {
                Ok(()) => given.push(key),
                Err(err) => messages.push(format!("ignored '{}': {err}", shown(&key))),
            }
        }
        // Values that parse can still clash (warmup beyond steps, a context beyond the
        // model's) or ask for more than a browser holds: reset the key the check
        // names, then check again.
        let check = |config: &ExperimentConfig| {
            config.validate()?;
            config.check_budget(&PAGE_BUDGET).map(|_| ())
        };
        for _ in 0..LINK_KEYS.len() {
            let Err(err) = check(&config) else {
                return (config, messages);
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
            let Some(entry) = link_key(key) else { break };
            (entry.reset)(&mut config);
            given.retain(|given| given != key);
            messages.push(format!("ignored '{key}': {err}"));
        }
        if check(&config).is_err() {
            messages.push("the link's settings do not fit together: using the defaults".into());
            config = Self::default();
        }
        (config, messages)
    }

    /// The query string that [`ExperimentConfig::from_query`] reads back to this
    /// configuration: every key of [`LINK_KEYS`] that has a value, so a link keeps
    /// meaning the same run if a default changes.
    pub fn to_query(&self) -> String {
        LINK_KEYS
            .iter()
            .filter_map(|entry| {
                (entry.get)(self).map(|value| format!("{}={}", entry.key, percent_encode(&value)))
            })
            .collect::<Vec<_>>()
            .join("&")
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
/// characters).
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
    pub label: &'static str,
    pub choices: Vec<&'static str>,
    /// The value of the default experiment (absent for an unset optional value).
    pub default: Option<String>,
}

/// The schema as the page receives it.
pub fn schema() -> Vec<KeyInfo> {
    let defaults = ExperimentConfig::default();
    LINK_KEYS
        .iter()
        .map(|entry| KeyInfo {
            key: entry.key,
            kind: entry.kind,
            label: entry.label,
            choices: (entry.choices)(),
            default: (entry.get)(&defaults),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TrainConfig;

    /// A configuration in which every field differs from its default.
    fn every_field_changed() -> ExperimentConfig {
        ExperimentConfig {
            preset: "micro".into(),
            layers: Some(3),
            width: Some(96),
            heads: Some(3),
            norm: NormMode::None,
            inits: vec![InitMethod::HeNormal, InitMethod::Empirical],
            source: Some("https://example.org/h.json?x=1&y=2#frag".into()),
            scale: ScaleRule::FanIn,
            scope: InitScope::Embedding,
            gain: InitGains::parse("all:0.5,embed:0.0625,unembed:2,out:0.25,norm:1.5").unwrap(),
            seed: 17,
            seeds: 3,
            backend: BackendChoice::Cpu,
            corpus: Some("my notes (2024) é.txt".into()),
            train: TrainConfig {
                steps: 500,
                batch: 5,
                context: 48,
                lr: 0.00123,
                warmup: 7,
                min_lr_ratio: 0.25,
                weight_decay: 0.03,
                beta1: 0.8,
                beta2: 0.99,
                eps: 1e-7,
                clip: 0.5,
                eval_every: 11,
                eval_batches: 3,
                eval_split: crate::config::EvalSplit::Teacher,
            },
        }
    }

    #[test]
    fn every_field_round_trips_through_a_link() {
        let config = every_field_changed();
        let default = ExperimentConfig::default();
        // The fixture really changes every field (else a forgotten key would pass).
        let changed = serde_json::to_value(&config).unwrap();
        let defaults = serde_json::to_value(&default).unwrap();
        for (key, value) in changed.as_object().unwrap() {
            if key == "train" {
                for (key, value) in value.as_object().unwrap() {
                    assert_ne!(value, &defaults["train"][key], "train.{key} is the default");
                }
            } else {
                assert_ne!(value, &defaults[key], "{key} is the default");
            }
        }
        let link = format!("http://127.0.0.1:8000/index.html?{}", config.to_query());
        assert_eq!(ExperimentConfig::from_query(&link).unwrap(), config);
        let (lenient, messages) = ExperimentConfig::from_query_lenient(&link);
        assert_eq!((lenient, messages), (config, Vec::<String>::new()));
    }

    #[test]
    fn the_schema_has_one_key_per_field() {
        // Every field set (an unset `corpus` is left out of the serialized form).
        let value = serde_json::to_value(every_field_changed()).unwrap();
        let mut fields: Vec<String> = value
            .as_object()
            .unwrap()
            .iter()
            .flat_map(|(key, value)| match key.as_str() {
                "train" => value.as_object().unwrap().keys().cloned().collect(),
                _ => vec![key.clone()],
            })
            .collect();
        let mut keys: Vec<String> = LINK_KEYS.iter().map(|k| k.key.to_string()).collect();
        fields.sort();
        keys.sort();
        assert_eq!(keys, fields);
    }

    #[test]
    fn every_key_resets_to_its_default() {
        let default = ExperimentConfig::default();
        let changed = every_field_changed();
        for entry in LINK_KEYS {
            let mut config = changed.clone();
            (entry.reset)(&mut config);
            assert_eq!((entry.get)(&config), (entry.get)(&default), "{}", entry.key);
        }
    }

    #[test]
    fn tampered_links_are_refused_naming_the_key() {
        for (query, field) in [
            ("preset=huge", "preset"),
            ("lr=NaN", "lr"),
            ("lr=-1", "lr"),
            ("steps=abc", "steps"),
            ("inits=kaiming,magic", "init"),
            ("inits=kaiming,kaiming", "inits"),
            ("seeds=1000", "seeds"),
            ("context=100000", "context"),
            ("<script>=1", "link key"),
            ("lr=0.1&lr=0.2", "link key"),
            ("source=%3Cimg%20src%3Dx%3E", "source"),
            ("source=javascript:alert(1)", "source"),
            ("scale=huge", "scale"),
            ("gain=embed", "gain"),
            ("gain=magic:2", "gain"),
            ("gain=all:0", "gain"),
            ("gain=all:inf", "gain"),
            ("gain=all:2,all:3", "gain"),
            ("gain=%3Cb%3E:1", "gain"),
            ("eval_split=train", "eval_split"),
            ("beta2=1", "beta2"),
            ("eval_batches=0", "eval_batches"),
            ("corpus=..%2Fetc%2Fpasswd", "corpus"),
            ("corpus=a%0Ab.txt", "corpus"),
            ("corpus=%20", "corpus"),
            ("corpus=%3Cimg%20src%3Dx%3E", "corpus"),
            ("corpus=a%3Fb.txt", "corpus"),
        ] {
            let err = ExperimentConfig::from_query(query).unwrap_err().to_string();
            assert!(err.contains(field), "{query}: {err}");
        }
        let long = format!("steps=1&{}", "x".repeat(MAX_LINK_BYTES));
        assert!(ExperimentConfig::from_query(&long)
            .unwrap_err()
            .to_string()
            .contains("link"));
    }

    #[test]
    fn malformed_percent_encoding_is_kept_as_text() {
        assert_eq!(percent_decode("a%2"), "a%2");
        // `+` is a space in a query; a `%` without two hex digits after it stays.
        assert_eq!(percent_decode("%+1%zz%41"), "% 1%zzA");
        assert_eq!(percent_decode("%FF"), "\u{FFFD}");
        let err = ExperimentConfig::from_query("steps=%+1").unwrap_err();
        assert_eq!(err.field(), "steps");
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
        // An experiment too big for a browser loses the key that made it so.
        let (config, messages) = ExperimentConfig::from_query_lenient("preset=nano&context=8192");
        assert_eq!(config.train.context, TrainConfig::default().context);
        assert!(
            messages[0].contains("'context'") && messages[0].contains("GiB"),
            "{messages:?}"
        );
        // A repeated key keeps its first value.
        let (config, messages) = ExperimentConfig::from_query_lenient("steps=30&steps=40");
        assert_eq!(config.train.steps, 30);
        assert!(messages[0].contains("second 'steps'"), "{messages:?}");
    }

    /// A seeded random search over hostile links (keys from the schema, junk keys,
    /// numbers at every scale, percent-escapes, markup, repeats): neither reader panics,
    /// the forgiving one always returns a configuration that validates and fits the
    /// page's budget, and what it returns writes a link the strict reader accepts.
    #[test]
    fn random_hostile_links_never_panic_and_the_page_always_gets_a_valid_config() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(13);
        let pieces = [
            "",
            "0",
            "-1",
            "1e308",
            "NaN",
            "inf",
            "18446744073709551616",
            "4096",
            "8192",
            "0.5",
            "%",
            "%2",
            "%zz",
            "%FF%FE",
            "%00",
            "+",
            "<script>",
            "\"'",
            "a,b",
            ",,",
            "kaiming,kaiming",
            "https://x.org/h.json",
            "javascript:alert(1)",
            "\u{1F600}",
        ];
        let keys: Vec<&str> = LINK_KEYS
            .iter()
            .map(|k| k.key)
            .chain(["bogus", "", "<img>", "lr%3D"])
            .collect();
        for _ in 0..20_000 {
            let pairs = rng.random_range(0..8);
            let mut link = String::from("?");
            for _ in 0..pairs {
                let key = keys[rng.random_range(0..keys.len())];
                let mut value = String::new();
                for _ in 0..rng.random_range(0..3) {
                    value.push_str(pieces[rng.random_range(0..pieces.len())]);
                }
                if let Some(entry) = link_key(key).filter(|_| rng.random_bool(0.3)) {
                    let choices = (entry.choices)();
                    if !choices.is_empty() {
                        value = choices[rng.random_range(0..choices.len())].to_string();
                    }
                }
                link.push_str(&format!("{key}={value}&"));
            }
            let _ = ExperimentConfig::from_query(&link);
            let (config, _) = ExperimentConfig::from_query_lenient(&link);
            assert!(config.validate().is_ok(), "{link}");
            assert!(config.check_budget(&PAGE_BUDGET).is_ok(), "{link}");
            assert_eq!(
                ExperimentConfig::from_query(&config.to_query()).as_ref(),
                Ok(&config),
                "{link}"
            );
        }
    }

    #[test]
    fn the_page_schema_lists_every_key_with_its_default() {
        let schema = schema();
        assert_eq!(schema.len(), LINK_KEYS.len());
        let lr = schema.iter().find(|k| k.key == "lr").unwrap();
        assert_eq!(lr.default.as_deref(), Some("0.003"));
        let inits = schema.iter().find(|k| k.key == "inits").unwrap();
        assert_eq!(inits.kind, KeyKind::List);
        assert_eq!(inits.choices.len(), InitMethod::ALL.len());
        let layers = schema.iter().find(|k| k.key == "layers").unwrap();
        assert_eq!(layers.default, None);
        let corpus = schema.iter().find(|k| k.key == "corpus").unwrap();
        assert_eq!(
            (corpus.kind, corpus.default.as_ref()),
            (KeyKind::Text, None)
        );
    }

    #[test]
    fn a_corpus_name_is_written_only_when_set_and_never_its_text() {
        assert!(!ExperimentConfig::default().to_query().contains("corpus"));
        let config =
            ExperimentConfig::from_query("corpus=notes%20%C3%A9.txt&steps=5&warmup=0").unwrap();
        assert_eq!(config.corpus.as_deref(), Some("notes é.txt"));
        assert!(config.to_query().contains("corpus=notes%20%C3%A9.txt"));
        let long = format!("corpus={}", "a".repeat(MAX_CORPUS_NAME + 1));
        let err = ExperimentConfig::from_query(&long).unwrap_err().to_string();
        assert!(
            err.contains("corpus") && err.contains("does not carry the text"),
            "{err}"
        );
        // Configs without a corpus serialize as before (sweep keys and summaries keep).
        let json = serde_json::to_string(&ExperimentConfig::default()).unwrap();
        assert!(!json.contains("corpus"), "{json}");
    }
}
