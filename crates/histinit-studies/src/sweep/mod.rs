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

use histinit_core::data::{bundled_corpus, corpus_text, Corpus};
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

mod aggregate;
mod config;
mod keys;
mod worker;

use aggregate::aggregate;
pub use aggregate::{initial_roles, stored_runs};
pub use config::{Grid, InteractionSpec, SweepConfig, Variant, DEFAULT_EQUIVALENCE_MARGIN};
use keys::*;
pub use keys::{parse_shard, shard_units, units, Shard, Unit};
use worker::{spawn_workers, work};

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
    /// The text file the config's `corpus` names: students train and are scored on it
    /// instead of the bundled text (the teachers' histograms are unchanged).
    #[arg(long)]
    pub corpus: Option<PathBuf>,
}

/// A sweep on its own text names the file in its config (so its runs are keyed by it and
/// `--aggregate` finds them without the flag) and is given that file with `--corpus`.
fn check_corpus(config: &SweepConfig, args: &SweepArgs) -> Result<(), SweepError> {
    let given = args.corpus.as_ref().map(|path| {
        path.file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string())
    });
    let reason = match (&config.base.corpus, given) {
        (Some(named), None) => format!(
            "this sweep trains on the text file '{named}' (`corpus` in [base]): give that file \
             with --corpus FILE"
        ),
        (Some(named), Some(given)) if *named != given => format!(
            "this sweep trains on the text file '{named}', but --corpus gives '{given}': pass the \
             file the config names"
        ),
        (None, Some(given)) => format!(
            "--corpus gives '{given}', but the config names no text: add corpus = \"{given}\" to \
             [base], so that its runs are keyed by the text they read"
        ),
        _ => return Ok(()),
    };
    Err(SweepError::Config {
        path: args.config.clone(),
        reason,
    })
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
    check_corpus(&config, &args)?;
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
    // One worker trains in this process; more are processes of this binary.
    let train = |jobs: usize| {
        if jobs == 1 {
            work(&variants, &mine, &runs_dir, 0, 1, &args)
        } else {
            spawn_workers(&args, &out, jobs)
        }
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
        train(jobs)?;
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
    train(jobs)?;
    aggregate(&config, &text, args.backend, &out, &args.shipped)
}
