//! `histinit run`: every (init, seed) pair of one experiment trained on one backend,
//! compared with the baseline, written as curves.csv and summary.json.

use std::path::{Path, PathBuf};

use histinit_core::data::{bundled_corpus, load_corpus, Corpus};
use histinit_core::experiment::{BackendChoice, ExperimentConfig, CLI_BUDGET};
use histinit_core::plan;
use histinit_core::run::{Run, RunResult, RunStatus};
use histinit_core::source::RunSources;
use histinit_core::stats::{summarize, Summary};
use histinit_core::InitMethod;
use histinit_files::fs::FileError;
use indicatif::{ProgressBar, ProgressStyle};

use crate::backend::{device, Backend, DeviceError};
use crate::{output, sources};

#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// Experiment config (TOML); defaults apply to anything it leaves out.
    pub config: Option<PathBuf>,
    /// A playground link (or its query string) instead of a TOML file.
    #[arg(long, conflicts_with = "config")]
    pub link: Option<String>,
    /// Override the number of steps.
    #[arg(long)]
    pub steps: Option<usize>,
    /// Override the number of seeds.
    #[arg(long)]
    pub seeds: Option<usize>,
    /// Override the inits (comma-separated, e.g. kaiming,pythia).
    #[arg(long, value_delimiter = ',')]
    pub inits: Option<Vec<String>>,
    /// Backend; by default the link's or config's (`webgpu` → wgpu, `auto` and
    /// `cpu` → cpu, the deterministic reference).
    #[arg(long, value_enum)]
    pub backend: Option<Backend>,
    /// A UTF-8 text file to train on instead of the bundled King James Bible (a few
    /// bytes that are not UTF-8 are replaced and counted in a warning). Required
    /// when the link or config names one (`corpus`), and its file name must match.
    #[arg(long)]
    pub corpus: Option<PathBuf>,
    /// Where curves.csv and summary.json go.
    #[arg(long, default_value = "out/run")]
    pub out: PathBuf,
    /// No progress bar (for logs and CI).
    #[arg(long)]
    pub quiet: bool,
    /// Histogram file (.json or .json.gz) for empirical, gaussian-matched and
    /// parametric inits; default: the link's `source` from the shipped index.
    #[arg(long)]
    pub histogram: Option<PathBuf>,
    /// Teacher weights (.safetensors) for permuted and trained inits.
    #[arg(long)]
    pub weights: Option<PathBuf>,
    /// Where shipped sources are looked up by id.
    #[arg(long, default_value = "www/histograms")]
    pub shipped: PathBuf,
    /// Start even beyond the command line's budget (an estimated 64 GiB of memory
    /// for all runs of the experiment; see `ExperimentConfig::cost`).
    #[arg(long)]
    pub no_budget: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error("{path}: {source}")]
    CorpusFile {
        path: PathBuf,
        source: histinit_core::error::DataError,
    },
    #[error(
        "this experiment trains on the text file '{0}', which a link names but does not \
         carry: give that file with --corpus FILE"
    )]
    CorpusMissing(String),
    #[error(
        "this experiment trains on the text file '{named}', but --corpus gives '{given}': \
         pass the file the link names (the same name and text) to reproduce it"
    )]
    CorpusMismatch { named: String, given: String },
    #[error(transparent)]
    Config(#[from] histinit_core::error::ConfigError),
    #[error(transparent)]
    Data(#[from] histinit_core::error::DataError),
    #[error("run {run} failed: {source}")]
    Run {
        run: String,
        source: histinit_core::run::RunError,
    },
    #[error(transparent)]
    Source(#[from] sources::SourceError),
    #[error(transparent)]
    Device(#[from] DeviceError),
}

/// `histinit run`: the experiment the arguments describe, trained and written to `--out`.
pub fn run_command(args: RunArgs) -> Result<(), RunError> {
    let mut config = load_config(
        args.config.as_deref(),
        args.link.as_deref(),
        args.steps,
        args.seeds,
        args.inits,
    )?;
    name_corpus(&mut config, args.corpus.as_deref())?;
    if !args.no_budget {
        config.check_budget(&CLI_BUDGET)?;
    }
    let backend = args.backend.unwrap_or(match config.backend {
        BackendChoice::Webgpu => Backend::Wgpu,
        BackendChoice::Auto | BackendChoice::Cpu => Backend::Cpu,
    });
    let sources = sources::load(
        &config,
        args.histogram.as_deref(),
        args.weights.as_deref(),
        &args.shipped,
    )?;
    run(
        &config,
        &sources,
        backend,
        args.corpus.as_deref(),
        &args.out,
        args.quiet,
    )
}

/// The experiment of a TOML file, a link or the defaults, with the command line's
/// overrides, checked.
pub fn load_config(
    path: Option<&Path>,
    link: Option<&str>,
    steps: Option<usize>,
    seeds: Option<usize>,
    inits: Option<Vec<String>>,
) -> Result<ExperimentConfig, RunError> {
    let mut config = match (path, link) {
        (Some(path), _) => {
            let text = std::fs::read_to_string(path).map_err(|source| {
                RunError::File(FileError::Read {
                    path: path.into(),
                    source,
                })
            })?;
            ExperimentConfig::from_toml(&text)?
        }
        (None, Some(link)) => ExperimentConfig::from_query(link)?,
        (None, None) => ExperimentConfig::default(),
    };
    if let Some(steps) = steps {
        config.train.steps = steps;
        config.train.warmup = config.train.warmup.min(steps);
    }
    if let Some(seeds) = seeds {
        config.seeds = seeds;
    }
    if let Some(inits) = inits {
        config.inits = inits
            .iter()
            .map(|name| InitMethod::parse(name))
            .collect::<Result<_, _>>()?;
    }
    config.validate()?;
    Ok(config)
}

/// Checks that the text file a config names is the one given with `--corpus` (by file
/// name) and names a given file in the config, so that its link names it too.
fn name_corpus(config: &mut ExperimentConfig, path: Option<&Path>) -> Result<(), RunError> {
    let given = path.map(|path| {
        path.file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string())
    });
    match (&config.corpus, given) {
        (Some(named), None) => Err(RunError::CorpusMissing(named.clone())),
        (Some(named), Some(given)) if *named != given => Err(RunError::CorpusMismatch {
            named: named.clone(),
            given,
        }),
        (Some(_), Some(_)) => Ok(()),
        (None, Some(given)) => {
            config.corpus = Some(histinit_core::link::parse_corpus_name(&given)?);
            Ok(())
        }
        (None, None) => Ok(()),
    }
}

pub fn run(
    config: &ExperimentConfig,
    sources: &RunSources,
    backend: Backend,
    corpus_path: Option<&Path>,
    out: &Path,
    quiet: bool,
) -> Result<(), RunError> {
    let corpus = match corpus_path {
        Some(path) => {
            let bytes = std::fs::read(path).map_err(|source| {
                RunError::File(FileError::Read {
                    path: path.into(),
                    source,
                })
            })?;
            let loaded = load_corpus(&bytes, config.train.context).map_err(|source| {
                RunError::CorpusFile {
                    path: path.into(),
                    source,
                }
            })?;
            if let Some(warning) = &loaded.warning {
                eprintln!("warning: {}: {warning}", path.display());
            }
            loaded.corpus
        }
        None => Corpus::new(&bundled_corpus()?, config.train.context)?,
    };
    let device = device(backend)?;
    std::fs::create_dir_all(out).map_err(|source| {
        RunError::File(FileError::Write {
            path: out.into(),
            source,
        })
    })?;

    let seeds = config.seed_list();
    let total = (config.inits.len() * seeds.len() * config.train.steps) as u64;
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(total)
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{prefix:>18} [{bar:30}] {pos}/{len} steps {per_sec} eta {eta} {msg}",
        )
        .expect("static template")
        .progress_chars("=> "),
    );
    println!(
        "histinit run: {} (layers {}, width {}), inits {}, seeds {:?}, {} steps, backend {:?}",
        config.preset,
        config.model_config()?.layers,
        config.model_config()?.width,
        config
            .inits
            .iter()
            .map(|i| i.name())
            .collect::<Vec<_>>()
            .join(","),
        seeds,
        config.train.steps,
        backend
    );
    let mut runs: Vec<RunResult> = Vec::new();
    for planned in plan::runs(config) {
        let (init, seed) = (planned.init, planned.seed);
        let name = planned.name();
        bar.set_prefix(name.clone());
        let failed = |source| RunError::Run {
            run: name.clone(),
            source,
        };
        let run = Run::new(config, &corpus, init, seed, sources, &device).map_err(failed)?;
        let result = run
            .run_to_end(|point| {
                bar.inc(1);
                if let Some(val) = point.val_loss {
                    bar.set_message(format!("val {val:.3}"));
                }
                if quiet {
                    if let Some(val) = point.val_loss {
                        println!(
                            "  {name} step {:>5} train {:.4} val {val:.4}",
                            point.step, point.train_loss
                        );
                    }
                }
            })
            .map_err(failed)?;
        if let RunStatus::Diverged { step } = result.status {
            bar.println(format!("{name}: diverged at step {step} (non-finite loss or gradient); its curve is kept up to there"));
        }
        runs.push(result);
    }
    bar.finish_and_clear();
    let summary = summarize(&runs, plan::baseline(&config.inits), config.train.steps);
    output::write_curves(&out.join("curves.csv"), &runs).map_err(|source| {
        RunError::File(FileError::Write {
            path: out.join("curves.csv"),
            source,
        })
    })?;
    output::write_summary(&out.join("summary.json"), config, &summary, &runs).map_err(
        |source| {
            RunError::File(FileError::Write {
                path: out.join("summary.json"),
                source,
            })
        },
    )?;
    print_table(&summary);
    println!(
        "wrote {} and {}",
        out.join("curves.csv").display(),
        out.join("summary.json").display()
    );
    Ok(())
}

fn print_table(summary: &Summary) {
    println!();
    println!(
        "{:<18} {:>5} {:>22} {:>26} {:>9}",
        "init",
        "runs",
        "final val loss",
        format!("steps to {} final", summary.baseline.name()),
        "speedup"
    );
    for init in &summary.inits {
        let steps = match init.steps_to_baseline_final {
            Some(steps) => format!("{steps:.0} ({}/{} seeds)", init.reached_baseline, init.runs),
            None => "never reached".to_string(),
        };
        let speedup = init
            .speedup
            .map(|s| format!("{s:.2}x"))
            .unwrap_or_else(|| "-".into());
        let diverged = if init.diverged > 0 {
            format!("  ({} diverged)", init.diverged)
        } else {
            String::new()
        };
        println!(
            "{:<18} {:>5} {:>13.4} ± {:<6.4} {:>26} {:>9}{diverged}",
            init.init.name(),
            init.runs,
            init.final_val_loss_mean,
            init.final_val_loss_std,
            steps,
            speedup
        );
    }
    println!("(± is the sample standard deviation over seeds; steps are paired by seed)");
}
