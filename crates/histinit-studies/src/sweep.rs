//! `histinit sweep CONFIG.toml`: a grid of recipe variants × inits × seeds, trained
//! natively with runs paired by seed, in parallel worker processes.
//!
//! Nothing is lost: every finished run is its own file under `runs/`, written to a
//! temporary name and renamed, keyed by a hash of everything that determines it. A sweep
//! started again (after Ctrl-C, `kill -9` or a crash) skips the runs it finds, and the
//! aggregates (`curves.csv`, `runs.csv`, `distances.csv`, `summary.json`) are rebuilt
//! from the run files alone, so they come out the same as an uninterrupted sweep's.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use histinit_core::data::{bundled_corpus, Corpus};
use histinit_core::experiment::ExperimentConfig;
use histinit_core::histogram::{Role, TensorHistogram};
use histinit_core::init::{init_weights_scoped, InitGains, InitScope};
use histinit_core::link::{link_key, Access};
use histinit_core::params::{param_specs, Weights};
use histinit_core::plan;
use histinit_core::run::{Run, RunResult, RunStatus};
use histinit_core::source::{RunSources, ScaleRule, WeightSource};
use histinit_core::stats::{compare, interaction, validation_spread, Equivalence};
use histinit_core::text::shown;
use histinit_core::{InitMethod, NormMode};
use histinit_files::fs::FileError;
use serde::{Deserialize, Serialize};

use crate::sources;
use crate::summary::{
    csv_tables, format_p, InteractionTest, RoleMoments, SweepSummary, ValidationSet, VariantSummary,
};
use crate::Backend;
use histinit_files::fs::{remove_stale_temporaries, write_atomically};

#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error("{path}: {reason}")]
    Config { path: PathBuf, reason: String },
    #[error("run {run} of variant {variant} failed: {reason}")]
    Run {
        variant: String,
        run: String,
        reason: String,
    },
    #[error("worker {index} of {count} failed ({status}); finished runs are kept, start the sweep again to resume")]
    Worker {
        index: usize,
        count: usize,
        status: String,
    },
    #[error(transparent)]
    Data(#[from] histinit_core::error::DataError),
    #[error("device: {0}")]
    Device(String),
    #[error("{missing} of {total} runs have no result file in {dir}:\n{list}\nstart the sweep again (or the shards that hold them, `--shard K/N`) to finish them")]
    Missing {
        missing: usize,
        total: usize,
        dir: String,
        /// One line per missing run (variant, init, seed, file), at most
        /// [`MISSING_LISTED`], then how many more.
        list: String,
    },
}

/// How many missing runs [`SweepError::Missing`] names one by one.
pub const MISSING_LISTED: usize = 40;

/// Shard K of N (`--shard K/N`, K from 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// Reads `K/N`: 1 ≤ K ≤ N.
pub fn parse_shard(text: &str) -> Result<Shard, String> {
    let (index, count) = text
        .split_once('/')
        .ok_or_else(|| format!("'{text}' is not K/N (shard K of N, e.g. 1/4)"))?;
    let number = |part: &str, what: &str| {
        part.trim()
            .parse::<usize>()
            .map_err(|_| format!("'{text}': {what} '{part}' is not a whole number"))
    };
    let index = number(index, "shard")?;
    let count = number(count, "shard count")?;
    if count == 0 {
        return Err(format!("'{text}': the shard count must be at least 1"));
    }
    if index == 0 {
        return Err(format!(
            "'{text}': shards are numbered from 1 (1/{count} to {count}/{count})"
        ));
    }
    if index > count {
        return Err(format!(
            "'{text}': there is no shard {index} of {count} (1/{count} to {count}/{count})"
        ));
    }
    Ok(Shard { index, count })
}

/// The runs a shard trains: each distinct run file once (runs shared by variants are
/// one file), in the grid's order; with `--shard K/N`, the i-th of those (i from 0)
/// when i % N == K - 1. Without a shard, all of them.
pub fn shard_units(units: &[Unit], shard: Option<Shard>) -> Vec<&Unit> {
    let mut seen = std::collections::HashSet::new();
    units
        .iter()
        .filter(|unit| seen.insert(unit.file.as_str()))
        .enumerate()
        .filter(|(i, _)| shard.is_none_or(|s| i % s.count == s.index - 1))
        .map(|(_, unit)| unit)
        .collect()
}

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

fn default_baseline() -> InitMethod {
    InitMethod::Kaiming
}

/// The equivalence margin of a config that states none, in nats.
pub const DEFAULT_EQUIVALENCE_MARGIN: f64 = 0.02;

fn default_equivalence_margin() -> f64 {
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
fn set_by_link(config: &mut ExperimentConfig, key: &str, value: &str) -> Result<(), String> {
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
fn variant_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '+')
}

/// A variant's name goes unquoted into runs.csv and the other CSV files, into the
/// study's Markdown report (table cells, headings, code spans) and into file names: it
/// is made of [`variant_name_char`]s only, so none of them needs quoting or escaping.
/// The name is made from the grid's values, so the one that can break it is a free
/// text value: a `source` that is not a shipped id.
fn check_variant_name(name: &str) -> Result<(), String> {
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

/// One training run of the sweep and what determines its result.
#[derive(Debug, Clone)]
pub struct Unit {
    pub variant: usize,
    pub init: InitMethod,
    pub seed: u64,
    /// The canonical description hashed into the file name (and checked on load).
    pub key: String,
    pub file: String,
}

/// The single-run config a unit trains ([`plan::single_run`] on the backend's link name).
fn unit_config(
    variant: &ExperimentConfig,
    init: InitMethod,
    seed: u64,
    backend: Backend,
) -> ExperimentConfig {
    plan::single_run(variant, init, seed, backend.link_choice())
}

pub fn units(variants: &[Variant], backend: Backend) -> Vec<Unit> {
    let mut units = Vec::new();
    for (index, variant) in variants.iter().enumerate() {
        for planned in plan::runs(&variant.config) {
            let (init, seed) = (planned.init, planned.seed);
            let config = unit_config(&variant.config, init, seed, backend);
            // The variant's source is also the reference distances are measured
            // against, so it stays in the key even for inits that do not draw on it.
            let mut key = plan::run_key(&config);
            // A link has no name for LibTorch (the page cannot run it): its keys
            // are marked; CPU keys stay as they were.
            if backend == Backend::Libtorch {
                key.insert_str(0, &format!("{} ", backend.name()));
            }
            let file = plan::run_file(init, seed, &key);
            units.push(Unit {
                variant: index,
                init,
                seed,
                key,
                file,
            });
        }
    }
    units
}

#[derive(Serialize, Deserialize)]
struct RunFile {
    key: String,
    result: RunResult,
}

fn load_run(path: &Path, unit: &Unit) -> Option<RunResult> {
    let bytes = std::fs::read(path).ok()?;
    let file: RunFile = serde_json::from_slice(&bytes).ok()?;
    (file.key == unit.key).then_some(file.result)
}

#[derive(clap::Args)]
pub struct SweepArgs {
    /// Sweep config (TOML): `name`, `[base]` experiment, `[grid]` axes; see experiments/.
    pub config: PathBuf,
    /// Output directory (default: out/sweeps/<name>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Worker processes training in parallel (default: the config's `jobs`, else 1).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Internal: run as worker I of N.
    #[arg(long, hide = true, value_parser = parse_worker)]
    pub worker: Option<(usize, usize)>,
    /// Where shipped sources are looked up by id.
    #[arg(long, default_value = "www/histograms")]
    pub shipped: PathBuf,
    /// Print only the summary.
    #[arg(long)]
    pub quiet: bool,
    /// `wgpu` trains on a GPU (its runs are kept apart from CPU runs of the same config).
    #[arg(long, value_enum, default_value = "cpu")]
    pub backend: Backend,
    /// Print each variant's playground link (name, a tab, the link) and train nothing.
    #[arg(long)]
    pub links: bool,
    /// Train only shard K of N (K from 1): of the grid's distinct runs, in a fixed
    /// order, those whose index is K-1 modulo N. Shards share one --out directory (each
    /// run is its own atomically written file) and may run on different machines; a
    /// shard writes no summary: `--aggregate` does, once every shard has finished.
    #[arg(long, value_parser = parse_shard, conflicts_with_all = ["aggregate", "links"])]
    pub shard: Option<Shard>,
    /// Train nothing: build curves.csv, runs.csv, distances.csv, comparisons.csv and
    /// summary.json from the run files under --out (give the shards' --backend);
    /// refuses, listing them, while any run is missing.
    #[arg(long, conflicts_with = "links")]
    pub aggregate: bool,
}

fn parse_worker(text: &str) -> Result<(usize, usize), String> {
    let (index, count) = text
        .split_once('/')
        .ok_or_else(|| format!("'{text}' is not I/N"))?;
    let index: usize = index
        .parse()
        .map_err(|_| format!("'{index}' is not a number"))?;
    let count: usize = count
        .parse()
        .map_err(|_| format!("'{count}' is not a number"))?;
    if index >= count {
        return Err(format!("worker {index} of {count} does not exist"));
    }
    Ok((index, count))
}

pub fn run(args: SweepArgs) -> Result<(), SweepError> {
    let (config, text) = SweepConfig::load(&args.config)?;
    if args.links {
        for variant in config.variants() {
            println!("{}\t{}", variant.name, variant.config.to_query());
        }
        return Ok(());
    }
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("out/sweeps").join(&config.name));
    if args.aggregate {
        return aggregate(&config, &text, args.backend, &out, &args.shipped);
    }
    let runs_dir = out.join("runs");
    std::fs::create_dir_all(&runs_dir).map_err(|err| {
        SweepError::File(FileError::Write {
            path: runs_dir.clone(),
            source: err,
        })
    })?;
    let variants = config.variants();
    let units = units(&variants, args.backend);
    let mine = shard_units(&units, args.shard);
    if let Some((index, count)) = args.worker {
        return work(&variants, &mine, &runs_dir, index, count, &args);
    }
    // What writers killed in an earlier start left (their runs are trained again).
    let stale = remove_stale_temporaries(&runs_dir, None) + remove_stale_temporaries(&out, None);
    if stale > 0 {
        println!(
            "removed {stale} temporary file{} left by killed writers",
            if stale == 1 { "" } else { "s" }
        );
    }
    let finished = |list: &[&Unit]| {
        list.iter()
            .filter(|unit| load_run(&runs_dir.join(&unit.file), unit).is_some())
            .count()
    };
    let jobs = |left: usize| {
        args.jobs
            .or(config.jobs)
            .unwrap_or(1)
            .clamp(1, 64)
            .min(left)
            .max(1)
    };
    if let Some(shard) = args.shard {
        let done = finished(&mine);
        let jobs = jobs(mine.len() - done);
        println!(
            "histinit sweep '{}' shard {shard}: {} of the {} distinct runs ({} already finished), {} worker{}, results in {}",
            config.name,
            mine.len(),
            shard_units(&units, None).len(),
            done,
            jobs,
            if jobs == 1 { "" } else { "s" },
            out.display()
        );
        if jobs == 1 {
            work(&variants, &mine, &runs_dir, 0, 1, &args)?;
        } else {
            spawn_workers(&args, &out, jobs)?;
        }
        println!(
            "shard {shard} finished; once every shard has: histinit sweep {} --aggregate --out {}{}",
            args.config.display(),
            out.display(),
            match args.backend {
                Backend::Cpu => String::new(),
                other => format!(" --backend {}", other.name()),
            }
        );
        return Ok(());
    }
    let all: Vec<&Unit> = units.iter().collect();
    let done = finished(&all);
    let jobs = jobs(units.len() - done.min(units.len()));
    println!(
        "histinit sweep '{}': {} variants x {} inits x {} seeds = {} runs ({} already finished), {} worker{}, results in {}",
        config.name,
        variants.len(),
        config.base.inits.len(),
        config.base.seeds,
        units.len(),
        done,
        jobs,
        if jobs == 1 { "" } else { "s" },
        out.display()
    );
    if jobs == 1 {
        work(&variants, &mine, &runs_dir, 0, 1, &args)?;
    } else {
        spawn_workers(&args, &out, jobs)?;
    }
    aggregate(&config, &text, args.backend, &out, &args.shipped)
}

/// Worker processes share the cores: each gets an equal share of rayon threads.
fn spawn_workers(args: &SweepArgs, out: &Path, jobs: usize) -> Result<(), SweepError> {
    let exe = std::env::current_exe().map_err(|err| SweepError::Worker {
        index: 0,
        count: jobs,
        status: format!("cannot find this executable to start it: {err}"),
    })?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = (cores / jobs).max(1);
    let mut children = Vec::new();
    for index in 0..jobs {
        let mut command = Command::new(&exe);
        command
            .arg("sweep")
            .arg(&args.config)
            .arg("--out")
            .arg(out)
            .arg("--shipped")
            .arg(&args.shipped)
            .arg("--worker")
            .arg(format!("{index}/{jobs}"))
            .arg("--backend")
            .arg(args.backend.name())
            .env("RAYON_NUM_THREADS", threads.to_string());
        if let Some(shard) = args.shard {
            command.arg("--shard").arg(shard.to_string());
        }
        if args.quiet {
            command.arg("--quiet");
        }
        let child = command.spawn().map_err(|err| SweepError::Worker {
            index,
            count: jobs,
            status: err.to_string(),
        })?;
        children.push(child);
    }
    let mut failure = None;
    for (index, mut child) in children.into_iter().enumerate() {
        match child.wait() {
            Ok(status) if status.success() => {}
            Ok(status) => failure = failure.or(Some((index, status.to_string()))),
            Err(err) => failure = failure.or(Some((index, err.to_string()))),
        }
    }
    match failure {
        Some((index, status)) => Err(SweepError::Worker {
            index,
            count: jobs,
            status,
        }),
        None => Ok(()),
    }
}

/// Trains this worker's share (every `count`-th unit from `index`) of the unfinished
/// runs among `units` (this shard's, each distinct run once: [`shard_units`]).
fn work(
    variants: &[Variant],
    units: &[&Unit],
    runs_dir: &Path,
    index: usize,
    count: usize,
    args: &SweepArgs,
) -> Result<(), SweepError> {
    let text = bundled_corpus()?;
    let device =
        crate::backend::device(args.backend).map_err(|err| SweepError::Device(err.to_string()))?;
    let mut corpora: BTreeMap<usize, Corpus> = BTreeMap::new();
    let mut loaded: BTreeMap<usize, (RunSources, Option<RunSources>)> = BTreeMap::new();
    // Equal runs shared by several variants are one file (`units` holds each once):
    // trained once, by one worker.
    let mine: Vec<&Unit> = units
        .iter()
        .copied()
        .skip(index)
        .step_by(count.max(1))
        .collect();
    let total = mine.len();
    for (position, unit) in mine.into_iter().enumerate() {
        let path = runs_dir.join(&unit.file);
        if load_run(&path, unit).is_some() {
            continue;
        }
        let variant = &variants[unit.variant];
        let failed = |reason: String| SweepError::Run {
            variant: variant.name.clone(),
            run: format!("{}-s{}", unit.init.name(), unit.seed),
            reason,
        };
        let context = variant.config.train.context;
        if let std::collections::btree_map::Entry::Vacant(entry) = corpora.entry(context) {
            entry.insert(Corpus::new(&text, context).map_err(|err| failed(err.to_string()))?);
        }
        let corpus = &corpora[&context];
        if let std::collections::btree_map::Entry::Vacant(entry) = loaded.entry(unit.variant) {
            let sources = sources::load(&variant.config, None, None, &args.shipped)
                .map_err(|err| failed(err.to_string()))?;
            // Distances are measured against the source as it is, not rescaled.
            let reference = match &variant.config.source {
                Some(_) => {
                    let mut as_is = variant.config.clone();
                    as_is.scale = ScaleRule::AsIs;
                    Some(
                        sources::load(&as_is, None, None, &args.shipped)
                            .map_err(|err| failed(err.to_string()))?,
                    )
                }
                None => None,
            };
            entry.insert((sources, reference));
        }
        let (sources, reference) = &loaded[&unit.variant];
        let reference = reference
            .as_ref()
            .and_then(|r| r.histogram.as_ref())
            .map(|(s, _)| s as &dyn WeightSource);
        let single = unit_config(&variant.config, unit.init, unit.seed, args.backend);
        let started = std::time::Instant::now();
        let run = Run::new(&single, corpus, unit.init, unit.seed, sources, &device)
            .map_err(|err| failed(err.to_string()))?;
        let result = match reference {
            Some(reference) => run.run_to_end_traced(reference, |_| {}),
            None => run.run_to_end(|_| {}),
        }
        .map_err(|err| failed(err.to_string()))?;
        let file = RunFile {
            key: unit.key.clone(),
            result,
        };
        let json = serde_json::to_vec(&file).map_err(|err| failed(err.to_string()))?;
        write_atomically(&path, &json).map_err(|err| {
            SweepError::File(FileError::Write {
                path: path.clone(),
                source: err,
            })
        })?;
        if !args.quiet || count > 1 {
            let final_loss = file
                .result
                .final_val_loss()
                .map_or("-".into(), |v| format!("{v:.4}"));
            println!(
                "  [{}{}/{}] {} {}-s{}: final val {} ({:.1} s){}",
                if count > 1 {
                    format!("worker {index}: ")
                } else {
                    String::new()
                },
                position + 1,
                total,
                variant.name,
                unit.init.name(),
                unit.seed,
                final_loss,
                started.elapsed().as_secs_f64(),
                match file.result.status {
                    RunStatus::Diverged { step } => format!(" DIVERGED at step {step}"),
                    _ => String::new(),
                }
            );
        }
    }
    Ok(())
}

/// The seed of every bootstrap in a summary, so summaries are reproducible.
const BOOTSTRAP_SEED: u64 = 2026;

/// Every variant with its runs, read from the run files under `out/runs`: all of them,
/// or an error that says how many are missing.
pub fn stored_runs(
    config: &SweepConfig,
    backend: Backend,
    out: &Path,
) -> Result<Vec<(Variant, Vec<RunResult>)>, SweepError> {
    let runs_dir = out.join("runs");
    let variants = config.variants();
    let units = units(&variants, backend);
    let mut results: Vec<Vec<RunResult>> = vec![Vec::new(); variants.len()];
    let mut missing = Vec::new();
    for unit in &units {
        match load_run(&runs_dir.join(&unit.file), unit) {
            Some(result) => results[unit.variant].push(result),
            None => missing.push(unit),
        }
    }
    if !missing.is_empty() {
        let mut list: Vec<String> = missing
            .iter()
            .take(MISSING_LISTED)
            .map(|unit| {
                format!(
                    "  variant {} {} seed {}: {}",
                    variants[unit.variant].name,
                    unit.init.name(),
                    unit.seed,
                    unit.file
                )
            })
            .collect();
        if missing.len() > MISSING_LISTED {
            list.push(format!("  and {} more", missing.len() - MISSING_LISTED));
        }
        return Err(SweepError::Missing {
            missing: missing.len(),
            total: units.len(),
            dir: runs_dir.display().to_string(),
            list: list.join("\n"),
        });
    }
    Ok(variants.into_iter().zip(results).collect())
}

/// Per-role moments of what the first variant's runs start from (its first seed), and
/// of the source's trained weights: the scale and tails each init really drew, computed
/// with the histogram extractor's own statistics.
pub fn initial_roles(config: &SweepConfig, shipped: &Path) -> Result<Vec<RoleMoments>, String> {
    let variant = config.variants().swap_remove(0);
    let experiment = &variant.config;
    let model = experiment.model_config().map_err(|err| err.to_string())?;
    let sources = sources::load(experiment, None, None, shipped).map_err(|err| err.to_string())?;
    let mut sets: Vec<(String, Weights)> = Vec::new();
    for &init in &experiment.inits {
        let source = sources.source_for(init).map_err(|err| err.to_string())?;
        let weights = init_weights_scoped(
            &model,
            init,
            experiment.scope,
            &experiment.for_init(init).gain,
            experiment.seed,
            source,
        )
        .map_err(|err| err.to_string())?;
        sets.push((init.name().to_string(), weights));
    }
    if let Some((weights, _)) = &sources.weights {
        sets.push(("source".to_string(), weights.clone()));
    }
    let specs = param_specs(&model);
    let mut out = Vec::new();
    for (name, weights) in &sets {
        for role in Role::ALL {
            let mut members = Vec::new();
            for spec in specs.iter().filter(|spec| spec.role == role) {
                let Some(tensor) = weights.get(&spec.name) else {
                    continue;
                };
                members.push(
                    TensorHistogram::from_values(
                        &spec.name,
                        role,
                        spec.layer,
                        model.layers,
                        &spec.shape,
                        spec.fan_in,
                        &tensor.values,
                    )
                    .map_err(|err| err.to_string())?,
                );
            }
            if members.is_empty() {
                continue;
            }
            let refs: Vec<&TensorHistogram> = members.iter().collect();
            let pooled =
                TensorHistogram::pool(role.name(), role, &refs).map_err(|err| err.to_string())?;
            out.push(RoleMoments {
                weights: name.clone(),
                role,
                std: pooled.std,
                excess_kurtosis: pooled.excess_kurtosis,
            });
        }
    }
    Ok(out)
}

fn aggregate(
    config: &SweepConfig,
    text: &str,
    backend: Backend,
    out: &Path,
    shipped: &Path,
) -> Result<(), SweepError> {
    let variants = stored_runs(config, backend, out)?;
    let initial_roles = initial_roles(config, shipped).map_err(|reason| SweepError::Config {
        path: out.join("config.toml"),
        reason: format!("the initial weights' statistics: {reason}"),
    })?;
    let mut summary = SweepSummary {
        initial_roles,
        name: config.name.clone(),
        description: config.description.clone(),
        baseline: config.baseline,
        seeds: config.base.seeds,
        backend,
        commit: git_commit(),
        config: text.to_string(),
        variants: variants
            .iter()
            .map(|(variant, runs)| VariantSummary {
                name: variant.name.clone(),
                settings: variant.settings.clone(),
                link: variant.config.to_query(),
                steps: variant.config.train.steps,
                validation: validation_spread(runs, config.baseline).map(|spread| ValidationSet {
                    split: variant.config.train.eval_split.name().to_string(),
                    tokens: spread.batches
                        * variant.config.train.batch
                        * variant.config.train.context,
                    spread,
                }),
                comparisons: compare(
                    runs,
                    config.baseline,
                    variant.config.train.steps,
                    BOOTSTRAP_SEED,
                )
                .into_iter()
                .map(|mut comparison| {
                    if comparison.init != config.baseline {
                        if let Some(difference) = &mut comparison.final_difference {
                            difference.equivalence = Some(Equivalence::test(
                                &difference.per_seed,
                                config.equivalence_margin,
                            ));
                        }
                    }
                    comparison
                })
                .collect(),
            })
            .collect(),
        interactions: interaction_tests(config, &variants),
        equivalence_margin: Some(config.equivalence_margin),
        p_adjustment: None,
    };
    summary.adjust_p_values();
    let write = |name: &str, bytes: &[u8]| {
        let path = out.join(name);
        write_atomically(&path, bytes)
            .map_err(|source| SweepError::from(FileError::Write { path, source }))
    };
    let tables = csv_tables(
        variants
            .iter()
            .map(|(variant, runs)| (variant.name.as_str(), runs.as_slice())),
    );
    for (name, table) in &tables {
        write(name, table.as_bytes())?;
    }
    write("comparisons.csv", summary.comparisons_csv().as_bytes())?;
    write("config.toml", text.as_bytes())?;
    let json = summary.to_json().map_err(|err| FileError::Write {
        path: out.join("summary.json"),
        source: std::io::Error::other(err),
    })?;
    write("summary.json", json.as_bytes())?;
    print_summary(config.baseline, &summary.variants);
    for test in &summary.interactions {
        let d = &test.difference;
        println!(
            "interaction {} ({} -> {}) {}: {:+.4} [{:+.4}, {:+.4}] p {} (Holm {})",
            test.axis,
            test.from,
            test.to,
            test.init.name(),
            d.difference.estimate,
            d.difference.low,
            d.difference.high,
            format_p(d.p_value),
            format_p(d.p_adjusted)
        );
    }
    println!(
        "wrote curves.csv, runs.csv, distances.csv, comparisons.csv and summary.json in {}",
        out.display()
    );
    Ok(())
}

/// The config's interaction test in every pair of variants it names.
fn interaction_tests(
    config: &SweepConfig,
    variants: &[(Variant, Vec<RunResult>)],
) -> Vec<InteractionTest> {
    let Some(spec) = &config.interaction else {
        return Vec::new();
    };
    let names: Vec<Variant> = variants.iter().map(|(v, _)| v.clone()).collect();
    spec.pairs(&names)
        .into_iter()
        .flat_map(|(a, b)| {
            let (from, to) = (&variants[a], &variants[b]);
            let mut within = from.0.settings.clone();
            within.remove(&spec.axis);
            interaction(&from.1, &to.1, config.baseline, BOOTSTRAP_SEED)
                .into_iter()
                .map(move |(init, difference)| InteractionTest {
                    axis: spec.axis.clone(),
                    from: from.0.name.clone(),
                    to: to.0.name.clone(),
                    within: within.clone(),
                    init,
                    difference,
                })
        })
        .collect()
}

/// The commit the binary's working directory is at, where git can tell.
fn git_commit() -> Option<String> {
    let output = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_string())
}

fn print_summary(baseline: InitMethod, summaries: &[VariantSummary]) {
    for variant in summaries {
        println!("\n{} (baseline {}):", variant.name, baseline.name());
        for comparison in &variant.comparisons {
            let at_end = comparison
                .speedups
                .iter()
                .find(|s| s.fraction == 1.0)
                .and_then(|s| s.speedup.map(|i| (i, s.reached, s.seeds)));
            let speedup = match at_end {
                Some((i, reached, seeds)) => format!(
                    "{:.2}x [{:.2}, {:.2}] ({reached}/{seeds} reached)",
                    i.estimate, i.low, i.high
                ),
                None => "-".into(),
            };
            let difference = comparison
                .final_difference
                .as_ref()
                .map_or("-".into(), |d| {
                    format!(
                        "{:+.4} [{:+.4}, {:+.4}] p {} (Holm {})",
                        d.difference.estimate,
                        d.difference.low,
                        d.difference.high,
                        format_p(d.p_value),
                        format_p(d.p_adjusted)
                    )
                });
            println!(
                "  {:<17} final {:.4} ± {:.4}  speedup@100% {speedup:<30} diff {difference}{}",
                comparison.init.name(),
                comparison.final_val_loss_mean,
                comparison.final_val_loss_std,
                if comparison.diverged > 0 {
                    format!("  ({} diverged)", comparison.diverged)
                } else {
                    String::new()
                }
            );
        }
    }
}

#[cfg(test)]
mod grid_axes {
    use super::*;

    /// An interaction pairs the variants that differ only in its axis, one pair per
    /// value of the other axes; a spec naming levels no variant has is refused.
    #[test]
    fn an_interaction_pairs_variants_differing_only_in_its_axis() {
        let text = r#"
name = "factorial"
[base]
inits = ["kaiming", "pythia"]
[grid]
warmup = [3, 0]
lr_scale = [1.0, 4.0]
[interaction]
axis = "warmup"
from = "3"
to = "0"
[base.train]
steps = 6
warmup = 3
"#;
        let config = SweepConfig::parse(text, Path::new("f.toml")).unwrap();
        let variants = config.variants();
        let names = |(a, b): (usize, usize)| (variants[a].name.clone(), variants[b].name.clone());
        let pairs: Vec<(String, String)> = config
            .interaction
            .as_ref()
            .unwrap()
            .pairs(&variants)
            .into_iter()
            .map(names)
            .collect();
        assert_eq!(
            pairs,
            vec![
                ("warmup-3_lr_scale-1".into(), "warmup-0_lr_scale-1".into()),
                ("warmup-3_lr_scale-4".into(), "warmup-0_lr_scale-4".into()),
            ]
        );
        let bad = text.replace("to = \"0\"", "to = \"5\"");
        let err = SweepConfig::parse(&bad, Path::new("f.toml")).unwrap_err();
        assert!(err.to_string().contains("interaction"), "{err}");
    }

    /// The `steps` axis gives whole shorter or longer runs (warmup at the base's
    /// fraction) and the `gain` axis the multipliers, each in a file-safe variant name.
    #[test]
    fn steps_and_gain_axes_make_their_variants() {
        let text = r#"
name = "axes"
[base]
inits = ["kaiming", "empirical"]
source = "teacher-nano"
[base.train]
steps = 300
warmup = 30
[grid]
steps = [150, 1200]
gain = ["", "embed:0.0625,out:2"]
"#;
        let config = SweepConfig::parse(text, Path::new("axes.toml")).unwrap();
        let variants = config.variants();
        let summary: Vec<(String, usize, usize, String)> = variants
            .iter()
            .map(|v| {
                (
                    v.name.clone(),
                    v.config.train.steps,
                    v.config.train.warmup,
                    v.config.gain.to_string(),
                )
            })
            .collect();
        let row = |name: &str, steps, warmup, gain: &str| {
            (name.to_string(), steps, warmup, gain.to_string())
        };
        assert_eq!(
            summary,
            vec![
                row("steps-150_gain-1", 150, 15, ""),
                row(
                    "steps-150_gain-embed0.0625+out2",
                    150,
                    15,
                    "embed:0.0625,out:2"
                ),
                row("steps-1200_gain-1", 1200, 120, ""),
                row(
                    "steps-1200_gain-embed0.0625+out2",
                    1200,
                    120,
                    "embed:0.0625,out:2"
                ),
            ]
        );
        let bad = text.replace("out:2", "out:0");
        let err = SweepConfig::parse(&bad, Path::new("axes.toml")).unwrap_err();
        assert!(err.to_string().contains("gain"), "{err}");
    }

    /// A variant's name goes unquoted into CSV files and Markdown: a grid value that
    /// would need quoting or escaping there is refused when the config is read, naming
    /// the character (visibly) and the variant.
    #[test]
    fn grid_values_that_would_break_a_csv_or_markdown_are_refused() {
        let config = |source: &str| {
            format!(
                "name = \"hostile\"\n[base]\ninits = [\"kaiming\", \"empirical\"]\n\
                 [grid]\nsource = [\"teacher-nano\", {source}]\n"
            )
        };
        for (source, shown) in [
            (r#""a,b""#, "','"),
            (r#""x\"y""#, "'\"'"),
            (r#""p|q""#, "'|'"),
            (r#""<img src=x>""#, "'<'"),
            (r#""`code`""#, "'`'"),
            (r#""line\nbreak""#, "<U+000A>"),
            (r#""cr\rlf""#, "<U+000D>"),
            (r#""tab\there""#, "<U+0009>"),
            (r#""rtl\u202Egnp""#, "<U+202E>"),
            (r#""zero\u200Bwidth""#, "<U+200B>"),
            (r#""a b""#, "<U+0020>"),
            (r#""[l](javascript:x)""#, "'['"),
            (r#""https://example.org/h.json""#, "':'"),
        ] {
            let err = SweepConfig::parse(&config(source), Path::new("h.toml"))
                .unwrap_err()
                .to_string();
            assert!(
                err.starts_with("h.toml: variant 'source-")
                    && err.contains(&format!("holds {shown};"))
                    && err.contains("letters, digits"),
                "{source}: {err}"
            );
            // Nothing in the message reorders or breaks it.
            assert!(
                !err.chars().any(histinit_core::text::is_unshowable),
                "{err:?}"
            );
        }
        let ok = SweepConfig::parse(&config(r#""minilm-l6""#), Path::new("h.toml")).unwrap();
        let names: Vec<String> = ok.variants().into_iter().map(|v| v.name).collect();
        assert_eq!(names, ["source-teacher-nano", "source-minilm-l6"]);
        // What the check lets through needs no CSV quoting.
        let allowed: String = (' '..='~').filter(|&c| variant_name_char(c)).collect();
        assert_eq!(histinit_core::text::csv_field(&allowed), allowed.as_str());
        assert!(!allowed.contains(['|', '<', '>', '`', '[', '\\', '"', ',']));
    }
}

#[cfg(test)]
mod published_studies {
    use super::*;

    /// Every study under docs/results: its config, and the summary its report shows.
    fn studies() -> Vec<(PathBuf, SweepConfig, serde_json::Value)> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/results");
        let mut found = Vec::new();
        for entry in std::fs::read_dir(&root).unwrap() {
            let dir = entry.unwrap().path();
            let (Ok(_), Ok(summary)) = (
                std::fs::metadata(dir.join("config.toml")),
                std::fs::read_to_string(dir.join("summary.json")),
            ) else {
                continue;
            };
            let (config, _) = SweepConfig::load(&dir.join("config.toml")).unwrap();
            found.push((dir, config, serde_json::from_str(&summary).unwrap()));
        }
        assert!(found.len() >= 8, "only {} studies found", found.len());
        found
    }

    #[test]
    fn every_published_link_is_its_variants_experiment() {
        for (dir, config, summary) in studies() {
            let report = std::fs::read_to_string(dir.join("report.md")).unwrap_or_default();
            for variant in config.variants() {
                let stored = summary["variants"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|v| v["name"] == variant.name.as_str())
                    .unwrap_or_else(|| panic!("{}: no variant {}", dir.display(), variant.name));
                let link = stored["link"].as_str().unwrap();
                let parsed = ExperimentConfig::from_query(link)
                    .unwrap_or_else(|err| panic!("{} {}: {err}", dir.display(), variant.name));
                assert_eq!(parsed, variant.config, "{} {}", dir.display(), variant.name);
                assert_eq!(link, variant.config.to_query());
                assert!(
                    report.is_empty() || report.contains(link),
                    "{}: report.md does not show the link of {}",
                    dir.display(),
                    variant.name
                );
            }
        }
    }

    /// The page's one-click study links (www/studies.js) are published variants, with
    /// fewer seeds or a subset of the inits at most: the same recipe, the same numbers.
    #[test]
    fn the_pages_study_links_are_published_variants() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../www/studies.js");
        let script = std::fs::read_to_string(path).unwrap();
        let queries: Vec<&str> = script
            .split("query: '")
            .skip(1)
            .map(|rest| rest.split('\'').next().unwrap())
            .collect();
        assert!(queries.len() >= 5, "{queries:?}");
        let variants: Vec<ExperimentConfig> = studies()
            .into_iter()
            .flat_map(|(_, config, _)| config.variants().into_iter().map(|v| v.config))
            .collect();
        for query in queries {
            let linked = ExperimentConfig::from_query(query).unwrap();
            let matches = |variant: &ExperimentConfig| {
                let mut narrowed = variant.clone();
                narrowed.inits.retain(|init| linked.inits.contains(init));
                narrowed.seeds = linked.seeds.min(variant.seeds);
                narrowed.backend = linked.backend;
                narrowed == linked
            };
            assert!(
                variants.iter().any(matches),
                "www/studies.js: no published variant has the recipe of {query}"
            );
        }
    }

    #[test]
    fn every_experiment_config_reads_back_from_its_link() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../experiments");
        let mut count = 0;
        for entry in std::fs::read_dir(&root).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "toml") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let configs: Vec<ExperimentConfig> = if text.contains("[base]") {
                let (config, _) = SweepConfig::load(&path).unwrap();
                config.variants().into_iter().map(|v| v.config).collect()
            } else {
                vec![ExperimentConfig::from_toml(&text).unwrap()]
            };
            for config in configs {
                let back = ExperimentConfig::from_query(&config.to_query()).unwrap();
                assert_eq!(back, config, "{}", path.display());
                count += 1;
            }
        }
        assert!(count >= 10, "only {count} configs checked");
    }
}

#[cfg(test)]
mod backend_keys {
    use super::*;

    /// Each backend's runs are files of their own (floating point differs between them),
    /// while a CPU run keeps the key it had before other backends existed.
    #[test]
    fn every_backend_keeps_its_runs_apart() {
        let text = r#"
name = "keys"
[base]
inits = ["kaiming", "empirical"]
source = "teacher-nano"
seeds = 2
"#;
        let variants = SweepConfig::parse(text, Path::new("keys.toml"))
            .unwrap()
            .variants();
        let files = |backend| -> Vec<String> {
            units(&variants, backend)
                .into_iter()
                .map(|unit| unit.file)
                .collect()
        };
        let (cpu, wgpu, libtorch) = (
            files(Backend::Cpu),
            files(Backend::Wgpu),
            files(Backend::Libtorch),
        );
        assert_eq!(cpu.len(), 4);
        let all: std::collections::BTreeSet<&String> =
            cpu.iter().chain(&wgpu).chain(&libtorch).collect();
        assert_eq!(all.len(), 12, "{cpu:?} {wgpu:?} {libtorch:?}");
        for unit in units(&variants, Backend::Cpu) {
            assert!(unit.key.starts_with('{'), "{}", unit.key);
            assert!(!unit.key.contains("webgpu"), "{}", unit.key);
        }
        for unit in units(&variants, Backend::Libtorch) {
            assert!(unit.key.starts_with("libtorch {"), "{}", unit.key);
        }
    }
}
