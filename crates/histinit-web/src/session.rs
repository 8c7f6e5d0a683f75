//! A playground session: several runs (inits × seeds) of one experiment, advanced one
//! step at a time from JavaScript, with everything the page draws and exports. Each
//! run is the core's [`Run`], the one the CLI trains: the page only schedules the
//! runs and awaits their read-backs.
//!
//! All runs with the same seed draw the same batches and every run is evaluated on the
//! same validation batches: only the init differs between paired runs.

use std::cell::RefCell;
use std::sync::OnceLock;

use histinit_core::burn::tensor::{Device, Tensor};
use histinit_core::checkpoint::{weights_from_safetensors, weights_to_safetensors, StoreDtype};
use histinit_core::config::ModelConfig;
use histinit_core::data::{bundled_corpus, load_corpus, Corpus, BUNDLED_PROMPT};
use histinit_core::error::ConfigError;
use histinit_core::experiment::{ExperimentConfig, PAGE_BUDGET};
use histinit_core::extract::{extract_bytes, ExtractOptions};
use histinit_core::generate::TextSampler;
use histinit_core::histogram::{
    HistogramFile, Provenance, RoleSnapshot, TensorHistogram, Trajectory, TRAJECTORY_PROBS,
};
use histinit_core::params::{param_specs, Role, Weights};
use histinit_core::resume::SavedRuns;
use histinit_core::run::{curves_csv, CurvePoint, Run, RunError, RunResult, RunStatus};
use histinit_core::source::{HistogramSource, RunSources};
use histinit_core::stats::{mean_and_spread, steps_to_baseline_fraction, summarize};
use histinit_core::train::read_scalar_async;
use histinit_core::InitMethod;
use serde::{Deserialize, Serialize};

use crate::charts::{
    colour_hex, density, teacher_spreads, trajectory_series, Series, Spread, SpreadTrack,
};
use crate::BackendKind;

/// What can go wrong in a session, each with a message a visitor can act on. The page
/// receives them as `Error`s (converted once, in the JavaScript API).
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("the bundled text cannot be used: {0}")]
    Corpus(String),
    #[error("your text '{name}' cannot be used: {reason}")]
    Text { name: String, reason: String },
    #[error(
        "this link trains on your text file '{0}', which a link names but does not carry: \
         pick that file under \"Text\" to reproduce the run, or go back to the bundled King James Bible"
    )]
    TextNotPicked(String),
    #[error("histogram '{label}' cannot be used: {reason}")]
    Histogram { label: String, reason: String },
    #[error("weights '{label}' cannot be used: {reason}")]
    Weights { label: String, reason: String },
    #[error("the trajectory of '{label}' cannot be shown: {reason}")]
    Trajectory { label: String, reason: String },
    #[error("{run}: {source}")]
    Run { run: String, source: RunError },
    #[error("{0}")]
    Device(String),
    #[error("the GPU rejected a kernel, so this step's numbers cannot be trusted: {0}")]
    Gpu(String),
    #[error("cannot resume: {0}")]
    Resume(#[from] histinit_core::error::ResumeError),
    #[error(
        "saving a run needs the CPU backend: WebGPU's weights cannot be read back \
         synchronously (choose backend 'CPU' to train a run you can resume)"
    )]
    SaveOnWebgpu,
    #[error("call prepare() first")]
    NotPrepared,
    #[error("a step is already running: await it first")]
    Busy,
    #[error("every run is finished")]
    Finished,
    #[error("there is no run {0}")]
    NoSuchRun(usize),
    #[error("run {run} cannot be exported: {reason}")]
    Export { run: String, reason: String },
}

/// The corpus is decompressed and split once per page, for every session.
fn shared_corpus() -> Result<&'static Corpus, SessionError> {
    static CORPUS: OnceLock<Result<Corpus, String>> = OnceLock::new();
    CORPUS
        .get_or_init(|| {
            let text = bundled_corpus().map_err(|err| err.to_string())?;
            // The largest context any preset allows, so one corpus serves them all.
            Corpus::new(&text, 1024).map_err(|err| err.to_string())
        })
        .as_ref()
        .map_err(|err| SessionError::Corpus(err.clone()))
}

/// A visitor's text as a corpus that lives as long as the page (a run borrows its
/// corpus for `'static`): the last one is kept and reused while the same bytes come
/// again, so picking one file and training many times keeps one copy. Each different
/// text picked leaks its corpus (a visitor picks a few; a reload frees them all).
fn user_corpus(bytes: &[u8], context: usize) -> Result<&'static Corpus, String> {
    thread_local! {
        static LAST: RefCell<Option<(u64, usize, &'static Corpus)>> = const { RefCell::new(None) };
    }
    let hash = histinit_core::plan::fnv1a(bytes);
    if let Some(corpus) = LAST.with_borrow(|last| {
        last.filter(|(h, len, _)| (*h, *len) == (hash, bytes.len()))
            .map(|(_, _, corpus)| corpus)
    }) {
        // The block layout does not depend on the context; only the check does.
        corpus
            .check_context(context)
            .map_err(|err| err.to_string())?;
        return Ok(corpus);
    }
    let loaded = load_corpus(bytes, context).map_err(|err| err.to_string())?;
    let corpus: &'static Corpus = Box::leak(Box::new(loaded.corpus));
    LAST.with_borrow_mut(|last| *last = Some((hash, bytes.len(), corpus)));
    Ok(corpus)
}

/// A run as the page shows it.
pub struct PageRun {
    pub run: Run<'static>,
    pub label: String,
    pub colour: usize,
    /// Weights read back for the distribution chart (first seed of each init only).
    pub snapshot: Option<Weights>,
    /// Each role's spread at every read-back so far (with `snapshot`, from the init on):
    /// how this run's distribution moves, for the trajectory chart.
    pub spreads: Vec<(Role, Spread)>,
}

impl PageRun {
    pub fn init(&self) -> InitMethod {
        self.run.init()
    }

    pub fn seed(&self) -> u64 {
        self.run.seed()
    }
}

/// What one `step` did, as the page receives it: the run's new curve point (with
/// `None` for a value that is not finite: JSON has no NaN) and the session's state.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepReport {
    /// The session's fields (which run, its state, whether all are done) are not kept
    /// in the page's history, so a kept point reads back without them.
    #[serde(default)]
    pub run: usize,
    pub step: usize,
    pub tokens: usize,
    pub train_loss: Option<f64>,
    pub val_loss: Option<f64>,
    pub lr: f64,
    pub grad_norm: Option<f64>,
    #[serde(default)]
    pub diverged: bool,
    #[serde(default)]
    pub done: bool,
}

impl StepReport {
    /// The report of run `run`'s `point` (`done` left to the caller).
    pub fn of(run: usize, point: &CurvePoint, diverged: bool) -> Self {
        let finite_or_none = |v: f64| v.is_finite().then_some(v);
        StepReport {
            run,
            step: point.step,
            tokens: point.tokens,
            train_loss: finite_or_none(point.train_loss),
            val_loss: point.val_loss.and_then(finite_or_none),
            lr: point.lr,
            grad_norm: finite_or_none(point.grad_norm),
            diverged,
            done: false,
        }
    }

    /// The curve point this report was made from.
    pub fn curve_point(&self) -> CurvePoint {
        CurvePoint {
            step: self.step,
            tokens: self.tokens,
            train_loss: self.train_loss.unwrap_or(f64::NAN),
            val_loss: self.val_loss,
            lr: self.lr,
            grad_norm: self.grad_norm.unwrap_or(f64::NAN),
        }
    }
}

/// A run's curve as the page kept it from the step reports it received.
#[derive(Debug, Clone, Deserialize)]
pub struct KeptRun {
    pub init: InitMethod,
    pub seed: u64,
    pub points: Vec<StepReport>,
}

/// The curves CSV (the same writer as [`SessionState::export_csv`]) of runs kept by the
/// page, for a session whose module can no longer answer (it aborted): each run is
/// marked stopped after the points the page received.
pub fn kept_curves_csv(runs: &[KeptRun]) -> String {
    let results: Vec<RunResult> = runs
        .iter()
        .map(|kept| RunResult {
            init: kept.init,
            seed: kept.seed,
            status: RunStatus::Stopped {
                steps: kept.points.len(),
            },
            points: kept.points.iter().map(StepReport::curve_point).collect(),
            distances: Vec::new(),
            final_val_batches: Vec::new(),
        })
        .collect();
    curves_csv(&results)
}

/// One row of the results table (per init, over its seeds).
#[derive(Debug, Clone, Serialize)]
pub struct ResultRow {
    pub init: InitMethod,
    pub label: String,
    pub colour: String,
    pub seeds: usize,
    pub step: usize,
    pub current_val: Option<f64>,
    pub current_val_spread: Option<f64>,
    pub best_val: Option<f64>,
    pub steps_to_25: Option<f64>,
    pub steps_to_50: Option<f64>,
    pub steps_to_100: Option<f64>,
    pub speedup: Option<f64>,
    pub status: &'static str,
}

pub struct SessionState {
    pub config: ExperimentConfig,
    pub model_config: ModelConfig,
    pub backend: BackendKind,
    pub sources: RunSources,
    /// The histogram source's training trajectory, when it has one, and its label.
    pub trajectory: Option<(Trajectory, String)>,
    pub runs: Vec<PageRun>,
    /// Whether runs record validation losses (a probe times the steps alone).
    evaluate: bool,
    device: Option<Device>,
    /// The visitor's text ([`SessionState::set_corpus`]) when the link names one.
    text: Option<&'static Corpus>,
    /// What the text samples continue.
    prompt: String,
}

/// The baseline every init is compared with ([`histinit_core::plan::baseline`]: kaiming
/// where it runs, else the first), as `histinit run` has it.
pub fn baseline_of(config: &ExperimentConfig) -> InitMethod {
    histinit_core::plan::baseline(&config.inits)
}

impl SessionState {
    /// A session for a link, read strictly (the page has already read it leniently and
    /// writes back only what it kept).
    pub fn new(query: &str, backend: BackendKind) -> Result<Self, SessionError> {
        Self::from_config(ExperimentConfig::from_query(query)?, backend)
    }

    pub fn from_config(
        config: ExperimentConfig,
        backend: BackendKind,
    ) -> Result<Self, SessionError> {
        let model_config = config.validate()?;
        config.check_budget(&PAGE_BUDGET)?;
        Ok(Self {
            config,
            model_config,
            backend,
            sources: RunSources::default(),
            trajectory: None,
            runs: Vec::new(),
            evaluate: true,
            device: None,
            text: None,
            prompt: BUNDLED_PROMPT.to_string(),
        })
    }

    /// The visitor's text file `name` (the link's `corpus`), read as the CLI reads
    /// `--corpus`; the text samples then start from its first words.
    pub fn set_corpus(&mut self, bytes: &[u8], name: &str) -> Result<(), SessionError> {
        let text_error = |reason: String| SessionError::Text {
            name: name.to_string(),
            reason,
        };
        match &self.config.corpus {
            Some(named) if named == name => {}
            Some(named) => {
                return Err(text_error(format!(
                    "the link names '{named}': pick that file"
                )))
            }
            None => return Err(text_error("the link names no text file".into())),
        }
        let corpus = user_corpus(bytes, self.config.train.context).map_err(text_error)?;
        self.prompt = corpus.prompt();
        self.text = Some(corpus);
        Ok(())
    }

    /// Runs prepared from now on record no validation losses.
    pub fn without_evaluation(&mut self) {
        self.evaluate = false;
    }

    pub fn add_histogram(&mut self, bytes: &[u8], label: &str) -> Result<(), SessionError> {
        let invalid = |reason: String| SessionError::Histogram {
            label: label.to_string(),
            reason,
        };
        let file = HistogramFile::parse(bytes).map_err(|err| invalid(err.to_string()))?;
        let source = HistogramSource::new(file, self.config.scale, self.model_config.clone())
            .map_err(|err| invalid(err.to_string()))?;
        self.sources.histogram = Some((source, label.to_string()));
        Ok(())
    }

    pub fn add_weights(&mut self, bytes: &[u8], label: &str) -> Result<(), SessionError> {
        let weights = weights_from_safetensors(bytes).map_err(|err| SessionError::Weights {
            label: label.to_string(),
            reason: err.to_string(),
        })?;
        self.sources.weights = Some((weights, label.to_string()));
        Ok(())
    }

    /// The training trajectory of the histogram source (`teacher-*-trajectory.json.gz`),
    /// for the trajectory chart; `label` names it there.
    pub fn add_trajectory(&mut self, bytes: &[u8], label: &str) -> Result<(), SessionError> {
        let trajectory = Trajectory::parse(bytes).map_err(|err| SessionError::Trajectory {
            label: label.to_string(),
            reason: err.to_string(),
        })?;
        self.trajectory = Some((trajectory, label.to_string()));
        Ok(())
    }

    fn corpus(&self) -> Result<&'static Corpus, SessionError> {
        match &self.config.corpus {
            Some(name) => self
                .text
                .ok_or_else(|| SessionError::TextNotPicked(name.clone())),
            None => shared_corpus(),
        }
    }

    /// Draws every run's initial weights and builds its trainer on `device`.
    pub fn prepare(&mut self, device: Device) -> Result<(), SessionError> {
        self.prepare_from(device, None)
    }

    /// [`SessionState::prepare`], each run continued from `saved` (bytes of
    /// [`SessionState::save_state`] for this link) instead of drawn afresh.
    pub fn prepare_resumed(&mut self, device: Device, saved: &[u8]) -> Result<(), SessionError> {
        let saved = SavedRuns::from_bytes(saved, &self.config.to_query())?;
        self.prepare_from(device, Some(saved))
    }

    /// Every run's whole training state, as bytes for the browser's storage or a file
    /// (between steps; the CPU backend only: the read-back blocks).
    pub fn save_state(&self) -> Result<Vec<u8>, SessionError> {
        if self.backend != BackendKind::Cpu {
            return Err(SessionError::SaveOnWebgpu);
        }
        if !self.is_prepared() {
            return Err(SessionError::NotPrepared);
        }
        let runs = self
            .runs
            .iter()
            .map(|page| page.run.save_state())
            .collect::<Result<_, _>>()?;
        let saved = SavedRuns {
            link: self.config.to_query(),
            runs,
        };
        Ok(saved.to_bytes()?)
    }

    fn prepare_from(
        &mut self,
        device: Device,
        saved: Option<SavedRuns>,
    ) -> Result<(), SessionError> {
        let corpus = self.corpus()?;
        let first_seed = self.config.seed;
        // Resumed runs, in plan order, each with its saved weights (the distribution chart's).
        let mut resumed = match saved {
            Some(saved) => {
                let weights: Vec<Weights> =
                    saved.runs.iter().map(|run| run.weights.clone()).collect();
                let runs = saved.resume(&self.config, corpus, &device)?;
                Some(runs.into_iter().zip(weights))
            }
            None => None,
        };
        let mut runs = Vec::new();
        for planned in histinit_core::plan::runs(&self.config) {
            let (init, seed, index) = (planned.init, planned.seed, planned.index);
            let label = planned.label(self.config.seeds);
            let next = match resumed.as_mut() {
                Some(resumed) => resumed.next().map(Ok),
                None => None,
            };
            let (run, weights) = match next {
                Some(run) => run,
                None => Run::with_initial_weights(
                    &self.config,
                    corpus,
                    init,
                    seed,
                    &self.sources,
                    &device,
                ),
            }
            .map_err(|source| SessionError::Run {
                run: label.clone(),
                source,
            })?;
            let run = if self.evaluate {
                run
            } else {
                run.without_evaluation()
            };
            // Only the first seed's weights are drawn: keep no others.
            let snapshot = (seed == first_seed).then_some(weights);
            let updates = run.points().len();
            let spreads = snapshot
                .as_ref()
                .map(|weights| role_spreads(&self.model_config, weights, updates))
                .unwrap_or_default();
            runs.push(PageRun {
                run,
                label,
                colour: index,
                snapshot,
                spreads,
            });
        }
        self.runs = runs;
        self.device = Some(device);
        Ok(())
    }

    /// Every step report the runs made so far (a resumed session's history, for the page
    /// to record as if it had received them).
    pub fn history(&self) -> Vec<StepReport> {
        self.runs
            .iter()
            .enumerate()
            .flat_map(|(index, page)| {
                let points = page.run.points();
                let diverged = matches!(page.run.status(), RunStatus::Diverged { .. });
                points.iter().enumerate().map(move |(at, point)| {
                    StepReport::of(index, point, diverged && at + 1 == points.len())
                })
            })
            .collect()
    }

    pub fn is_prepared(&self) -> bool {
        self.device.is_some()
    }

    /// The run to advance next: the unfinished one that is furthest behind, so the
    /// curves grow together.
    pub fn next_run(&self) -> Option<usize> {
        self.runs
            .iter()
            .enumerate()
            .filter(|(_, page)| page.run.is_running())
            .min_by_key(|(index, page)| (page.run.points().len(), *index))
            .map(|(index, _)| index)
    }

    pub fn all_done(&self) -> bool {
        self.runs.iter().all(|page| !page.run.is_running())
    }

    pub fn results(&self) -> Vec<RunResult> {
        self.runs
            .iter()
            .map(|page| page.run.result().clone())
            .collect()
    }

    pub fn result_rows(&self) -> Vec<ResultRow> {
        // References, not copies: this runs at every redraw of a long session.
        let results = self.records();
        let baseline = baseline_of(&self.config);
        let total = self.config.train.steps;
        let summary = summarize(&results, baseline, total);
        let fraction = |f: f64| steps_to_baseline_fraction(&results, baseline, f, total);
        let (quarter, half, full) = (fraction(0.25), fraction(0.5), fraction(1.0));
        let pick = |list: &[histinit_core::stats::FractionReach], init| {
            list.iter().find(|r| r.init == init).and_then(|r| r.steps)
        };
        self.config
            .inits
            .iter()
            .enumerate()
            .map(|(index, &init)| {
                let own: Vec<&RunResult> = self
                    .runs
                    .iter()
                    .map(|page| page.run.result())
                    .filter(|run| run.init == init)
                    .collect();
                let currents: Vec<f64> = own
                    .iter()
                    .filter_map(|run| run.points.iter().rev().find_map(|p| p.val_loss))
                    .collect();
                let bests: Vec<f64> = own
                    .iter()
                    .filter_map(|run| {
                        run.points
                            .iter()
                            .filter_map(|p| p.val_loss)
                            .filter(|v| v.is_finite())
                            .min_by(f64::total_cmp)
                    })
                    .collect();
                let (current, spread) = mean_and_spread(&currents);
                let diverged = own
                    .iter()
                    .any(|run| matches!(run.status, RunStatus::Diverged { .. }));
                let speedup = summary
                    .inits
                    .iter()
                    .find(|s| s.init == init)
                    .and_then(|s| s.speedup)
                    .filter(|_| own.iter().all(|run| run.status != RunStatus::Running));
                ResultRow {
                    init,
                    label: init.name().to_string(),
                    colour: colour_hex(index),
                    seeds: own.len(),
                    step: own.iter().map(|run| run.points.len()).min().unwrap_or(0),
                    current_val: current.is_finite().then_some(current),
                    current_val_spread: (currents.len() > 1).then_some(spread),
                    best_val: (!bests.is_empty()).then(|| mean_and_spread(&bests).0),
                    steps_to_25: pick(&quarter, init),
                    steps_to_50: pick(&half, init),
                    steps_to_100: pick(&full, init),
                    speedup,
                    status: if diverged {
                        "diverged"
                    } else if own.iter().all(|run| run.status != RunStatus::Running) {
                        "done"
                    } else {
                        "running"
                    },
                }
            })
            .collect()
    }

    /// Each run's record so far, by reference (a redraw copies no curve).
    fn records(&self) -> Vec<&RunResult> {
        self.runs.iter().map(|page| page.run.result()).collect()
    }

    /// The loss chart's series: the one builder the report uses too.
    pub fn loss_series(&self) -> Vec<Series> {
        crate::charts::loss_series(&self.config.inits, &self.records())
    }

    /// The gradient-norm chart's series.
    pub fn grad_series(&self) -> Vec<Series> {
        crate::charts::grad_series(&self.config.inits, &self.records())
    }

    /// Density of each init's current weights of `role` (first seed), against the
    /// histogram source's pooled entry for the role, on a common range.
    pub fn distribution_series(&self, role: Role) -> Vec<Series> {
        let mut per_init: Vec<(usize, InitMethod, Vec<f32>)> = Vec::new();
        for (index, &init) in self.config.inits.iter().enumerate() {
            let Some(run) = self.runs.iter().find(|page| page.init() == init) else {
                continue;
            };
            let Some(snapshot) = &run.snapshot else {
                continue;
            };
            per_init.push((index, init, role_sample(&self.model_config, snapshot, role)));
        }
        let target = self.sources.histogram.as_ref().and_then(|(source, _)| {
            let entry = source.file().pooled(role)?;
            let edges = &entry.bins.edges;
            let total: f64 = entry.bins.counts.iter().map(|&c| c as f64).sum();
            if edges.len() < 2 || total <= 0.0 {
                return None;
            }
            let points: Vec<(f64, f64)> = entry
                .bins
                .counts
                .iter()
                .enumerate()
                .map(|(i, &c)| {
                    let width = edges[i + 1] - edges[i];
                    (
                        (edges[i] + edges[i + 1]) / 2.0,
                        c as f64 / total / width.max(1e-30),
                    )
                })
                .collect();
            // The source's own label is long; the page shows it beside the source select.
            Some((
                "source histogram".to_string(),
                points,
                entry.quantiles.clone(),
            ))
        });
        // A common range: the 0.1% and 99.9% quantiles of everything shown, so one
        // outlier does not squash the shapes.
        let mut all: Vec<f32> = per_init
            .iter()
            .flat_map(|(_, _, v)| v.iter().copied())
            .collect();
        let mut range = None;
        if !all.is_empty() {
            all.sort_by(f32::total_cmp);
            let at = |q: f64| all[((all.len() - 1) as f64 * q) as usize] as f64;
            range = Some((at(0.001), at(0.999)));
        }
        if let Some((_, _, quantiles)) = &target {
            let value_at = |p: f64| histinit_core::init::quantile_at(&quantiles.knots(), p);
            let (lo, hi) = (value_at(0.001), value_at(0.999));
            range = Some(match range {
                Some((a, b)) => (f64::min(a, lo), f64::max(b, hi)),
                None => (lo, hi),
            });
        }
        let Some((low, high)) = range else {
            return Vec::new();
        };
        let mut series = Vec::new();
        if let Some((label, points, _)) = target {
            let points = points
                .into_iter()
                .filter(|(x, _)| *x >= low && *x <= high)
                .collect();
            series.push(Series {
                filled: true,
                ..Series::line(label, 6, points)
            });
        }
        for (index, init, values) in per_init {
            series.push(Series::line(
                init.name(),
                index,
                density(&values, low, high, 60),
            ));
        }
        series
    }

    /// The teacher's spreads of `role` over its training and each init's (first seed)
    /// over its run so far: what the trajectory chart draws and its readout reads. `None`
    /// without a trajectory.
    pub fn trajectory_tracks(&self, role: Role) -> Option<(Vec<Spread>, Vec<SpreadTrack>)> {
        let (trajectory, _) = self.trajectory.as_ref()?;
        let runs = self
            .config
            .inits
            .iter()
            .enumerate()
            .filter_map(|(index, &init)| {
                let page = self
                    .runs
                    .iter()
                    .find(|page| page.init() == init && page.snapshot.is_some())?;
                Some(SpreadTrack {
                    label: init.name().to_string(),
                    colour: index,
                    points: page
                        .spreads
                        .iter()
                        .filter(|(r, _)| *r == role)
                        .map(|(_, spread)| spread.clone())
                        .collect(),
                })
            })
            .collect();
        Some((teacher_spreads(trajectory, role), runs))
    }

    /// What the page's charts draw for `role`, built here, where the runs are, and
    /// drawn where the canvases are (the page's training runs in a worker).
    pub fn chart_data(&self, role: Role) -> ChartData {
        ChartData {
            role,
            loss: self.loss_series(),
            grads: self.grad_series(),
            distribution: self.distribution_series(role),
            trajectory: self
                .trajectory_tracks(role)
                .map(|(teacher, runs)| trajectory_series(&teacher, &runs)),
        }
    }

    /// [`Self::trajectory_tracks`] as the page reads them, with the trajectory's label.
    pub fn trajectory_view(&self, role: Role) -> Option<TrajectoryView> {
        let (teacher, runs) = self.trajectory_tracks(role)?;
        let (_, label) = self.trajectory.as_ref()?;
        Some(TrajectoryView {
            source: label.clone(),
            role,
            probs: crate::charts::SPREAD_PROBS.to_vec(),
            sample: DISTRIBUTION_SAMPLE,
            teacher,
            runs: runs
                .into_iter()
                .map(|track| RunSpreads {
                    label: track.label,
                    colour: colour_hex(track.colour),
                    points: track.points,
                })
                .collect(),
        })
    }

    pub fn export_json(&self) -> String {
        let document = serde_json::json!({
            "link": self.config.to_query(),
            "config": self.config,
            "backend": self.backend,
            "histogram": self.sources.histogram.as_ref().map(|(source, label)| serde_json::json!({
                "label": label,
                "source": source.file().source,
            })),
            "weights": self.sources.weights.as_ref().map(|(_, label)| label),
            "results": self.result_rows(),
            "runs": self.results(),
        });
        serde_json::to_string_pretty(&document)
            .unwrap_or_else(|err| format!("{{\"error\": \"{err}\"}}"))
    }

    pub fn export_csv(&self) -> String {
        curves_csv(&self.results())
    }
}

/// The most weights of one role the distribution chart sorts and bins per run (and a
/// read-back summarizes for the trajectory chart): a redraw costs the same for every
/// model size.
const DISTRIBUTION_SAMPLE: usize = 16_384;

/// The finite weights of `role` in `weights`, at most [`DISTRIBUTION_SAMPLE`], evenly
/// spaced over the role's tensors: what both the distribution and the trajectory chart
/// show of a run.
fn role_sample(config: &ModelConfig, weights: &Weights, role: Role) -> Vec<f32> {
    let values: Vec<f32> = param_specs(config)
        .iter()
        .filter(|spec| spec.role == role)
        .filter_map(|spec| weights.get(&spec.name))
        .flat_map(|tensor| tensor.values.iter().copied())
        .filter(|v| v.is_finite())
        .collect();
    evenly_spaced(values, DISTRIBUTION_SAMPLE)
}

/// Each role's spread in `weights` after `step` updates, through the statistics a
/// teacher's trajectory is written with (a histogram entry, then its snapshot), so the
/// run and the teacher are measured alike (the run on its role's sample).
fn role_spreads(config: &ModelConfig, weights: &Weights, step: usize) -> Vec<(Role, Spread)> {
    Role::ALL
        .into_iter()
        .filter_map(|role| {
            let sample = role_sample(config, weights, role);
            let entry = TensorHistogram::from_values(
                role.name(),
                role,
                None,
                config.layers,
                &[sample.len()],
                1,
                &sample,
            )
            .ok()?;
            let spread = Spread::of(step, &RoleSnapshot::of(&entry), &TRAJECTORY_PROBS)?;
            Some((role, spread))
        })
        .collect()
}

/// Every chart's series for one role: what the worker sends the page at a redraw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChartData {
    /// The role the distribution and trajectory charts show.
    pub role: Role,
    pub loss: Vec<Series>,
    pub grads: Vec<Series>,
    pub distribution: Vec<Series>,
    /// The trajectory chart's lines; `None` without a trajectory.
    pub trajectory: Option<Vec<Series>>,
}

/// The trajectory chart's numbers, as the page receives them.
#[derive(Debug, Clone, Serialize)]
pub struct TrajectoryView {
    /// The trajectory's label (the shipped source's id).
    pub source: String,
    pub role: Role,
    /// The probabilities of every spread's `values`.
    pub probs: Vec<f64>,
    /// The most weights of the role a run's spread is measured on.
    pub sample: usize,
    /// The teacher's checkpoints (updates done from 0), in order.
    pub teacher: Vec<Spread>,
    pub runs: Vec<RunSpreads>,
}

/// One init's spreads (first seed) at each read-back so far.
#[derive(Debug, Clone, Serialize)]
pub struct RunSpreads {
    pub label: String,
    pub colour: String,
    pub points: Vec<Spread>,
}

/// At most `cap` of `values` (all of them when fewer): one from each of `cap` equal
/// windows in storage order, at a place in its window that moves from one window to the
/// next (the golden-ratio sequence). A fixed place would alias with the rows of a
/// matrix: with 2 values per window, every other input column, whose quantiles can
/// differ from the whole tensor's by several percent.
fn evenly_spaced(values: Vec<f32>, cap: usize) -> Vec<f32> {
    if values.len() <= cap {
        return values;
    }
    const GOLDEN: f64 = 0.618_033_988_749_894_9;
    let stride = values.len() as f64 / cap as f64;
    (0..cap)
        .map(|i| {
            let within = (i as f64 * GOLDEN).fract();
            values[(((i as f64 + within) * stride) as usize).min(values.len() - 1)]
        })
        .collect()
}

/// Advances run `index` by one step: the update, the evaluation when one is due, and
/// the read-backs, which are awaited without holding the session borrowed (the page
/// draws while a step is in flight).
pub async fn step_run(
    state: &RefCell<SessionState>,
    index: usize,
) -> Result<StepReport, SessionError> {
    let (pending, queued_eval) = {
        let mut state = state.borrow_mut();
        let backend = state.backend;
        let page = state
            .runs
            .get_mut(index)
            .ok_or(SessionError::NoSuchRun(index))?;
        let pending = page.run.begin_step().map_err(|source| SessionError::Run {
            run: page.label.clone(),
            source,
        })?;
        // On WebGPU the evaluation is queued with the step and read back once. The CPU
        // backend computes as operations are issued, on the page's thread, so there it
        // is split by batch below, with turns for the browser in between.
        let queued = (pending.eval_due && backend == BackendKind::Webgpu)
            .then(|| page.run.eval_loss(0..page.run.eval_batch_count()));
        (pending, queued)
    };
    let metrics = pending
        .metrics
        .read_async()
        .await
        .map_err(|err| run_error(state, index, err.into()))?;
    let eval = match queued_eval {
        None if pending.eval_due => Some(eval_batch_by_batch(state, index).await?),
        queued => queued,
    };
    let val_loss = match eval {
        Some(tensor) => Some(
            read_scalar_async(tensor)
                .await
                .map_err(|err| run_error(state, index, err.into()))?,
        ),
        None => None,
    };
    if let Some(error) = crate::take_gpu_error() {
        return Err(SessionError::Gpu(error));
    }
    let mut borrowed = state.borrow_mut();
    let page = borrowed
        .runs
        .get_mut(index)
        .ok_or(SessionError::NoSuchRun(index))?;
    let point = page
        .run
        .finish_step(metrics, val_loss)
        .map_err(|source| SessionError::Run {
            run: page.label.clone(),
            source,
        })?
        .clone();
    let diverged = matches!(page.run.status(), RunStatus::Diverged { .. });
    let report = StepReport::of(index, &point, diverged);
    let done = borrowed.all_done();
    Ok(StepReport { done, ..report })
}

/// An error of run `index`, named by its label (the session must not be borrowed).
fn run_error(state: &RefCell<SessionState>, index: usize, source: RunError) -> SessionError {
    let run = state
        .borrow()
        .runs
        .get(index)
        .map_or_else(|| format!("run {index}"), |page| page.label.clone());
    SessionError::Run { run, source }
}

/// Gives the browser a turn (input, painting) once ~30 ms of work have passed since the
/// last one: on the CPU backend the page's computing runs on its only thread, and
/// read-backs are ready at once, so awaiting them alone never lets the browser in.
struct BrowserTurns(web_time::Instant);

impl BrowserTurns {
    const AFTER: std::time::Duration = std::time::Duration::from_millis(30);

    fn new() -> Self {
        Self(web_time::Instant::now())
    }

    async fn take_if_due(&mut self) {
        if self.0.elapsed() > Self::AFTER {
            crate::yield_to_browser().await;
            self.0 = web_time::Instant::now();
        }
    }
}

/// The run's evaluation one batch at a time, with turns for the browser. The same
/// operations on the same values as evaluating all batches at once (the mean of each
/// batch's loss, then the mean over batches), so the curves do not change.
async fn eval_batch_by_batch(
    state: &RefCell<SessionState>,
    index: usize,
) -> Result<Tensor<1>, SessionError> {
    let count = {
        let state = state.borrow();
        let page = state
            .runs
            .get(index)
            .ok_or(SessionError::NoSuchRun(index))?;
        page.run.eval_batch_count()
    };
    let mut losses = Vec::with_capacity(count);
    let mut turns = BrowserTurns::new();
    for batch in 0..count {
        turns.take_if_due().await;
        let state = state.borrow();
        let page = state
            .runs
            .get(index)
            .ok_or(SessionError::NoSuchRun(index))?;
        losses.push(page.run.eval_loss(batch..batch + 1));
    }
    Ok(Tensor::cat(losses, 0).mean())
}

/// Reads every run's current weights back (first seed per init only: that is what
/// the distribution chart shows).
pub async fn snapshot(state: &RefCell<SessionState>) -> Result<(), SessionError> {
    let jobs: Vec<(usize, usize, histinit_core::model::NeoxModel)> = {
        let state = state.borrow();
        let first_seed = state.config.seed;
        state
            .runs
            .iter()
            .enumerate()
            .filter(|(_, page)| page.seed() == first_seed)
            .map(|(index, page)| (index, page.run.points().len(), page.run.model().clone()))
            .collect()
    };
    let config = state.borrow().model_config.clone();
    for (index, updates, model) in jobs {
        let weights = model
            .to_weights_async(&config)
            .await
            .map_err(|err| run_error(state, index, err.into()))?;
        if let Some(page) = state.borrow_mut().runs.get_mut(index) {
            // A finished run is read back again at the end: one point per step.
            if page
                .spreads
                .last()
                .is_none_or(|(_, last)| last.step < updates)
            {
                page.spreads
                    .extend(role_spreads(&config, &weights, updates));
            }
            page.snapshot = Some(weights);
        }
    }
    Ok(())
}

/// A run as a source for another: its current weights as safetensors (GPT-NeoX names,
/// the metadata a teacher's checkpoint has) and the histograms `histinit extract` gives
/// those bytes, made by the same extractor, as JSON.
pub struct RunExport {
    /// A file stem naming the run and its updates (`histinit-empirical-seed1-step300`).
    pub name: String,
    pub weights: Vec<u8>,
    pub histogram: String,
}

/// Reads run `index`'s weights back now (between steps) and exports them ([`RunExport`]).
pub async fn export_run(
    state: &RefCell<SessionState>,
    index: usize,
) -> Result<RunExport, SessionError> {
    let (model, config, experiment, updates, init, seed, label) = {
        let state = state.borrow();
        let page = state
            .runs
            .get(index)
            .ok_or(SessionError::NoSuchRun(index))?;
        (
            page.run.model().clone(),
            state.model_config.clone(),
            state.config.clone(),
            page.run.points().len(),
            page.init(),
            page.seed(),
            page.label.clone(),
        )
    };
    let weights = model
        .to_weights_async(&config)
        .await
        .map_err(|err| run_error(state, index, err.into()))?;
    let name = format!("histinit-{}-seed{seed}-step{updates}", init.name());
    let export_err = |reason: String| SessionError::Export {
        run: name.clone(),
        reason,
    };
    let metadata = histinit_core::extract::neox_metadata(&config, &experiment.preset, updates);
    let bytes = weights_to_safetensors(&weights, StoreDtype::F32, &metadata)
        .map_err(|err| export_err(err.to_string()))?;
    let provenance = Provenance {
        model: name.clone(),
        architecture: "gpt_neox".into(),
        revision: Some(format!("step{updates}")),
        step: Some(updates as u64),
        tokens_trained: Some((updates * experiment.train.batch * experiment.train.context) as u64),
        corpus: match &experiment.corpus {
            Some(file) => format!("the visitor's text '{file}', student split"),
            None => "King James Bible (bundled), student split".into(),
        },
        license: "whatever the trainer chooses (weights trained in the histinit playground)".into(),
        command: format!("histinit playground, link {}", experiment.to_query()),
        note: Some(format!(
            "Run '{label}' of a playground session ({} init, seed {seed}) after {updates} \
             updates, exported from the page; extracted from {name}.safetensors.",
            init.name()
        )),
    };
    let extraction = extract_bytes(
        &bytes,
        std::path::Path::new(&format!("{name}.safetensors")),
        &ExtractOptions {
            provenance,
            ..ExtractOptions::default()
        },
    )
    .map_err(|err| export_err(err.to_string()))?;
    Ok(RunExport {
        histogram: extraction.file.to_json(),
        name,
        weights: bytes,
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct Sample {
    pub run: usize,
    pub label: String,
    /// What the model continued (the corpus's prompt).
    pub prompt: String,
    pub text: String,
}

/// A few characters from each run's model (first seed per init), after a fixed prompt.
pub async fn samples(
    state: &RefCell<SessionState>,
    length: usize,
) -> Result<Vec<Sample>, SessionError> {
    let (jobs, config, device, prompt) = {
        let state = state.borrow();
        let first_seed = state.config.seed;
        let jobs: Vec<(usize, String, histinit_core::model::NeoxModel)> = state
            .runs
            .iter()
            .enumerate()
            .filter(|(_, page)| page.seed() == first_seed)
            .map(|(index, page)| {
                (
                    index,
                    page.init().name().to_string(),
                    // A validation snapshot on the plain device: no autodiff.
                    histinit_core::burn::module::Module::valid(page.run.model()),
                )
            })
            .collect();
        (
            jobs,
            state.model_config.clone(),
            state.device.clone(),
            state.prompt.clone(),
        )
    };
    let device = device.ok_or(SessionError::NotPrepared)?.inner();
    let mut out = Vec::new();
    let mut turns = BrowserTurns::new();
    for (run, label, model) in jobs {
        let mut sampler = TextSampler::new(&prompt, 0.8, 7);
        for _ in 0..length.min(200) {
            sampler
                .next_byte(&model, &config, &device)
                .await
                .map_err(|err| run_error(state, run, err.into()))?;
            turns.take_if_due().await;
        }
        out.push(Sample {
            run,
            label,
            prompt: prompt.clone(),
            text: sampler.text(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
