//! `histinit`: run initialization experiments headless.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use histinit_core::burn::tensor::Device;
use histinit_core::data::{bundled_corpus, load_corpus, Corpus};
use histinit_core::experiment::{BackendChoice, ExperimentConfig, CLI_BUDGET};
use histinit_core::run::{Run, RunResult, RunStatus};
use histinit_core::source::RunSources;
use histinit_core::stats::{summarize, Summary};
use histinit_core::InitMethod;
use indicatif::{ProgressBar, ProgressStyle};

mod allocator;
mod bench;
mod docs;
mod extract;
mod hub;
mod output;
mod report;
mod serve;
mod site;
mod sources;
mod summary;
mod sweep;
mod teacher;
mod tools;

#[derive(Parser)]
#[command(
    name = "histinit",
    version,
    about = "Do trained weight distributions make better initializations? Run the experiment headless."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(
    Clone, Copy, ValueEnum, PartialEq, Eq, Debug, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Backend {
    /// Burn's CPU backend (flex): deterministic, the page's fallback.
    #[default]
    Cpu,
    /// Burn's wgpu backend: a real GPU, or Mesa's lavapipe in software.
    Wgpu,
    /// Burn's LibTorch backend (PyTorch's own kernels): the first CUDA GPU LibTorch sees,
    /// else its CPU. Only in builds with `--features libtorch` (docs/benchmarks.md).
    Libtorch,
}

impl Backend {
    /// The name `--backend` takes (clap's, so the two cannot differ).
    pub(crate) fn name(self) -> String {
        self.to_possible_value()
            .expect("every backend is a value of --backend")
            .get_name()
            .to_string()
    }
}

#[derive(Subcommand)]
enum Command {
    /// Train every (init, seed) pair of an experiment and compare them.
    Run {
        /// Experiment config (TOML); defaults apply to anything it leaves out.
        config: Option<PathBuf>,
        /// A playground link (or its query string) instead of a TOML file.
        #[arg(long, conflicts_with = "config")]
        link: Option<String>,
        /// Override the number of steps.
        #[arg(long)]
        steps: Option<usize>,
        /// Override the number of seeds.
        #[arg(long)]
        seeds: Option<usize>,
        /// Override the inits (comma-separated, e.g. kaiming,pythia).
        #[arg(long, value_delimiter = ',')]
        inits: Option<Vec<String>>,
        /// Backend; by default the link's or config's (`webgpu` → wgpu, `auto` and
        /// `cpu` → cpu, the deterministic reference).
        #[arg(long, value_enum)]
        backend: Option<Backend>,
        /// A UTF-8 text file to train on instead of the bundled King James Bible (a few
        /// bytes that are not UTF-8 are replaced and counted in a warning). Required
        /// when the link or config names one (`corpus`), and its file name must match.
        #[arg(long)]
        corpus: Option<PathBuf>,
        /// Where curves.csv and summary.json go.
        #[arg(long, default_value = "out/run")]
        out: PathBuf,
        /// No progress bar (for logs and CI).
        #[arg(long)]
        quiet: bool,
        /// Histogram file (.json or .json.gz) for empirical, gaussian-matched and
        /// parametric inits; default: the link's `source` from the shipped index.
        #[arg(long)]
        histogram: Option<PathBuf>,
        /// Teacher weights (.safetensors) for permuted and trained inits.
        #[arg(long)]
        weights: Option<PathBuf>,
        /// Where shipped sources are looked up by id.
        #[arg(long, default_value = "www/histograms")]
        shipped: PathBuf,
        /// Start even beyond the command line's budget (an estimated 64 GiB of memory
        /// for all runs of the experiment; see `ExperimentConfig::cost`).
        #[arg(long)]
        no_budget: bool,
    },
    /// Run a grid of recipe variants x inits x seeds (a study), resumable after any
    /// interruption; writes curves.csv, runs.csv, distances.csv and summary.json.
    Sweep(sweep::SweepArgs),
    /// Write report.md and PNG charts for a finished sweep (from its stored files only).
    Report {
        /// The sweep's output directory (with summary.json and the runs/ it was made from).
        dir: PathBuf,
        /// A TrueType font for the charts' text (default: DejaVu Sans or Liberation Sans).
        #[arg(long)]
        font: Option<PathBuf>,
        /// Keep the charts already in DIR and rewrite only the text (report.md,
        /// summary.json, comparisons.csv) from summary.json: for a published study folder
        /// (docs/results/<study>), which holds no runs.
        #[arg(long)]
        keep_charts: bool,
    },
    /// List the model presets.
    Presets,
    /// Print the link schema (every key, its kind, choices and default) as JSON: the
    /// list the page builds its form from.
    LinkSchema,
    /// Histograms of a checkpoint's weights (safetensors file, sharded index, model
    /// folder or hub repository), tensor by tensor and pooled by role.
    Extract(tools::ExtractArgs),
    /// Train a teacher model on the teacher split and extract its histograms on
    /// Pythia's checkpoint schedule.
    Teacher(tools::TeacherArgs),
    /// Serve the playground (index.html and www/) on 127.0.0.1; `make demo` builds it first.
    Serve {
        /// The directory holding index.html (the repository root).
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// 0 picks a free port.
        #[arg(long, default_value_t = 8000)]
        port: u16,
    },
    /// Render the study's Markdown (every docs/**/*.md) into HTML pages beside it, for
    /// the served page (`make web` and `make web-dev` run it).
    Docs {
        /// The repository root (holding docs/ and www/docs.css).
        #[arg(long, default_value = ".")]
        root: PathBuf,
    },
    /// Write the playground as a self-contained static folder (page, module, shipped
    /// histograms, rendered docs, `_headers`) for any static host; `make site` builds
    /// the shipped module first.
    Site {
        /// The folder to write (replaced if an earlier `histinit site` wrote it).
        #[arg(long, default_value = "site")]
        out: PathBuf,
        /// The repository root (holding index.html, www/ and docs/).
        #[arg(long, default_value = ".")]
        root: PathBuf,
        /// The wasm-bindgen output to ship (default: ROOT/www/pkg).
        #[arg(long)]
        pkg: Option<PathBuf>,
    },
    /// Measure training throughput (tokens/s); see benchmarks/run.sh.
    Bench {
        #[arg(long, value_delimiter = ',', default_value = "micro,pythia-14m")]
        presets: Vec<String>,
        #[arg(long, value_enum, value_delimiter = ',', default_value = "cpu")]
        backends: Vec<Backend>,
        #[arg(long, default_value_t = 16)]
        batch: usize,
        /// Timed steps (after the warm-up steps).
        #[arg(long, default_value_t = 10)]
        steps: usize,
        #[arg(long, default_value_t = 2)]
        warmup: usize,
        /// Also write the measurements as JSON here.
        #[arg(long)]
        json: Option<PathBuf>,
    },
}

#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
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
    Serve(serve::ServeError),
    #[error(transparent)]
    Source(#[from] sources::SourceError),
    #[error(transparent)]
    Tool(#[from] tools::ToolError),
    #[error(transparent)]
    Sweep(#[from] sweep::SweepError),
    #[error(transparent)]
    Report(#[from] report::ReportError),
    #[error(transparent)]
    Docs(#[from] docs::DocsError),
    #[error(transparent)]
    Site(#[from] site::SiteError),
    #[error("benchmark: {0}")]
    Bench(String),
    /// A backend this build does not have.
    #[error("backend: {0}")]
    Device(String),
}

fn main() -> ExitCode {
    allocator::keep_freed_memory();
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run {
            config,
            link,
            steps,
            seeds,
            inits,
            backend,
            corpus,
            out,
            quiet,
            histogram,
            weights,
            shipped,
            no_budget,
        } => load_config(config.as_deref(), link.as_deref(), steps, seeds, inits).and_then(
            |mut config| {
                name_corpus(&mut config, corpus.as_deref())?;
                if !no_budget {
                    config.check_budget(&CLI_BUDGET)?;
                }
                let backend = backend.unwrap_or(match config.backend {
                    BackendChoice::Webgpu => Backend::Wgpu,
                    BackendChoice::Auto | BackendChoice::Cpu => Backend::Cpu,
                });
                let sources =
                    sources::load(&config, histogram.as_deref(), weights.as_deref(), &shipped)?;
                run(&config, &sources, backend, corpus.as_deref(), &out, quiet)
            },
        ),
        Command::Bench {
            presets,
            backends,
            batch,
            steps,
            warmup,
            json,
        } => run_bench(
            &presets,
            &backends,
            batch,
            steps,
            warmup.max(1),
            json.as_deref(),
        ),
        Command::Sweep(args) => sweep::run(args).map_err(CliError::from),
        Command::Report {
            dir,
            font,
            keep_charts,
        } => {
            let charts = if keep_charts {
                report::Charts::Keep
            } else {
                report::Charts::Draw
            };
            report::run(&dir, font.as_deref(), charts).map_err(CliError::from)
        }
        Command::Serve { dir, port } => serve::serve(&dir, port).map_err(CliError::Serve),
        Command::Docs { root } => docs::render_all(&root, &root)
            .map(|(pages, _)| {
                println!(
                    "rendered {pages} pages from {}",
                    root.join(docs::DOCS_DIR).display()
                )
            })
            .map_err(CliError::from),
        Command::Site { out, root, pkg } => {
            let pkg = pkg.unwrap_or_else(|| root.join("www/pkg"));
            site::build(&root, &out, &pkg)
                .map(|summary| {
                    println!(
                        "wrote {} ({} files, {:.1} MB, {} docs pages); serve it as it is, \
                         with the headers in {}/_headers",
                        out.display(),
                        summary.files,
                        summary.bytes as f64 / 1e6,
                        summary.pages,
                        out.display()
                    )
                })
                .map_err(CliError::from)
        }
        Command::Extract(args) => tools::run_extract(args).map_err(CliError::from),
        Command::Teacher(args) => device(args.backend)
            .and_then(|device| tools::run_teacher(args, &device).map_err(CliError::from)),
        Command::LinkSchema => {
            match serde_json::to_string_pretty(&histinit_core::link::schema()) {
                Ok(text) => println!("{text}"),
                Err(err) => eprintln!("{err}"),
            }
            Ok(())
        }
        Command::Presets => {
            println!(
                "{:<12} {:>6} {:>6} {:>6} {:>8}",
                "preset", "layers", "width", "heads", "context"
            );
            for (name, layers, width, heads, context) in histinit_core::config::PRESETS {
                println!("{name:<12} {layers:>6} {width:>6} {heads:>6} {context:>8}");
            }
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}

fn load_config(
    path: Option<&Path>,
    link: Option<&str>,
    steps: Option<usize>,
    seeds: Option<usize>,
    inits: Option<Vec<String>>,
) -> Result<ExperimentConfig, CliError> {
    let mut config = match (path, link) {
        (Some(path), _) => {
            let text = std::fs::read_to_string(path).map_err(|source| CliError::Read {
                path: path.into(),
                source,
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
fn name_corpus(config: &mut ExperimentConfig, path: Option<&Path>) -> Result<(), CliError> {
    let given = path.map(|path| {
        path.file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string())
    });
    match (&config.corpus, given) {
        (Some(named), None) => Err(CliError::CorpusMissing(named.clone())),
        (Some(named), Some(given)) if *named != given => Err(CliError::CorpusMismatch {
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

pub(crate) fn device(backend: Backend) -> Result<Device, CliError> {
    match backend {
        Backend::Cpu => Ok(histinit_core::cpu_device()),
        #[cfg(feature = "wgpu")]
        Backend::Wgpu => Ok(Device::wgpu(Default::default()).autodiff()),
        #[cfg(not(feature = "wgpu"))]
        Backend::Wgpu => Err(CliError::Device(
            "this build has no wgpu backend (build with --features wgpu)".into(),
        )),
        #[cfg(feature = "libtorch")]
        Backend::Libtorch => Ok(libtorch_device().autodiff()),
        #[cfg(not(feature = "libtorch"))]
        Backend::Libtorch => Err(CliError::Device(
            "this build has no LibTorch backend: `benchmarks/libtorch.sh build` makes one (LibTorch \
             2.9 from PyPI, then `--features libtorch`), `benchmarks/libtorch.sh run ...` runs it"
                .into(),
        )),
    }
}

/// LibTorch's first CUDA device where it sees one, else its CPU. burn-tch is deprecated
/// upstream (Burn 0.22), hence the allow: it is kept behind a feature for measurements.
#[cfg(feature = "libtorch")]
#[allow(deprecated)]
fn libtorch_device() -> Device {
    Device::enumerate(histinit_core::burn::tensor::DeviceType::LibTorch)
        .into_iter()
        .next()
        .unwrap_or_else(Device::libtorch)
}

fn run(
    config: &ExperimentConfig,
    sources: &RunSources,
    backend: Backend,
    corpus_path: Option<&Path>,
    out: &Path,
    quiet: bool,
) -> Result<(), CliError> {
    let corpus = match corpus_path {
        Some(path) => {
            let bytes = std::fs::read(path).map_err(|source| CliError::Read {
                path: path.into(),
                source,
            })?;
            let loaded = load_corpus(&bytes, config.train.context).map_err(|source| {
                CliError::CorpusFile {
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
    std::fs::create_dir_all(out).map_err(|source| CliError::Write {
        path: out.into(),
        source,
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
    for &seed in &seeds {
        for &init in &config.inits {
            let name = format!("{}-s{seed}", init.name());
            bar.set_prefix(name.clone());
            let failed = |source| CliError::Run {
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
    }
    bar.finish_and_clear();
    let summary = summarize(&runs, baseline(config), config.train.steps);
    output::write_curves(&out.join("curves.csv"), &runs).map_err(|source| CliError::Write {
        path: out.join("curves.csv"),
        source,
    })?;
    output::write_summary(&out.join("summary.json"), config, &summary, &runs).map_err(
        |source| CliError::Write {
            path: out.join("summary.json"),
            source,
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

fn run_bench(
    presets: &[String],
    backends: &[Backend],
    batch: usize,
    steps: usize,
    warmup: usize,
    json: Option<&Path>,
) -> Result<(), CliError> {
    let mut results = Vec::new();
    for &backend in backends {
        let device = device(backend)?;
        let name = backend.name();
        for preset in presets {
            let result = bench::measure(preset, &name, &device, batch, steps, warmup)
                .map_err(CliError::Bench)?;
            println!(
                "{:<12} {:<8} batch {:>3} x context {:>4}: {:>9.0} tokens/s (first step {:.2} s)",
                result.preset,
                result.backend,
                result.batch,
                result.context,
                result.tokens_per_s,
                result.first_step_s
            );
            results.push(result);
        }
    }
    if let Some(path) = json {
        let text = serde_json::to_string_pretty(&results)
            .map_err(|err| CliError::Bench(err.to_string()))?;
        std::fs::write(path, text).map_err(|source| CliError::Write {
            path: path.into(),
            source,
        })?;
    }
    Ok(())
}

fn baseline(config: &ExperimentConfig) -> InitMethod {
    if config.inits.contains(&InitMethod::Kaiming) {
        InitMethod::Kaiming
    } else {
        config.inits[0]
    }
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
