//! Browser glue around histinit-core: device set-up (WebGPU, or the CPU backend where
//! WebGPU is missing) and a training loop that never blocks (read-backs are async).

use histinit_core::burn::tensor::Device;
use histinit_core::experiment::ExperimentConfig;
use histinit_core::InitMethod;
use serde::Serialize;
use wasm_bindgen::prelude::*;

pub use histinit_core as core;

#[cfg(target_arch = "wasm32")]
mod api;
pub use histinit_charts as charts;
mod probe_config;
pub mod session;
pub use probe_config::{PROBE_QUERY, PROBE_STEPS};

/// What made this module: the page's footer, its "cite this run" text and the
/// provenance of every export (build.rs reads the commit, Cargo.lock and CITATION.cff).
#[derive(Debug, Clone, Serialize)]
pub struct BuildInfo {
    /// The workspace's version (Cargo.toml).
    pub histinit: &'static str,
    /// `git rev-parse --short=7 HEAD` at build time, `HISTINIT_COMMIT`, or "unknown".
    pub commit: &'static str,
    pub burn: &'static str,
    pub wgpu: &'static str,
    /// The link format version the page writes ([`histinit_core::link::LINK_VERSION`]).
    pub link_version: u32,
    pub citation: Citation,
}

/// CITATION.cff's title, first author, version and release date.
#[derive(Debug, Clone, Serialize)]
pub struct Citation {
    pub title: &'static str,
    pub author: &'static str,
    pub version: &'static str,
    pub date_released: &'static str,
}

pub const BUILD_INFO: BuildInfo = BuildInfo {
    histinit: env!("CARGO_PKG_VERSION"),
    commit: env!("HISTINIT_COMMIT"),
    burn: env!("HISTINIT_BURN_VERSION"),
    wgpu: env!("HISTINIT_WGPU_VERSION"),
    link_version: histinit_core::link::LINK_VERSION,
    citation: Citation {
        title: env!("HISTINIT_CITE_TITLE"),
        author: env!("HISTINIT_CITE_AUTHOR"),
        version: env!("HISTINIT_CITE_VERSION"),
        date_released: env!("HISTINIT_CITE_DATE"),
    },
};

/// One line on each init, for the page.
pub fn describe_init(init: InitMethod) -> &'static str {
    match init {
        InitMethod::Kaiming => {
            "PyTorch's default: uniform ±1/√fan_in for linear layers, N(0,1) embeddings"
        }
        InitMethod::HeNormal => "He et al.: N(0, 2/fan_in) for every matrix",
        InitMethod::Pythia => {
            "GPT-NeoX's recipe for Pythia: small_init, and wang_init on output projections"
        }
        InitMethod::Empirical => {
            "fresh draws from the trained model's per-tensor distribution (inverse CDF)"
        }
        InitMethod::GaussianMatched => {
            "a Gaussian with the trained distribution's mean and std: same scale, textbook shape"
        }
        InitMethod::StudentTMatched => {
            "a heavy-tailed Student-t (3 degrees of freedom) at the trained mean and std: same scale, heavy tails"
        }
        InitMethod::Parametric => {
            "the best-fitting standard family (normal, logistic, Laplace, Student-t, Johnson SU)"
        }
        InitMethod::Permuted => {
            "the teacher's own weights shuffled within each tensor: exact marginal, no structure"
        }
        InitMethod::Trained => "the teacher's weights as they are: an upper bound, not an init",
    }
}

#[cfg(target_arch = "wasm32")]
unsafe extern "C" {
    /// Synthesized by wasm-ld: runs every static constructor of the module.
    fn __wasm_call_ctors();
}

#[wasm_bindgen(start)]
pub fn start() {
    // Static constructors (cubecl's pliron registers hundreds through `inventory`) run
    // once, here. A module that never calls them itself is linked "command-style": wasm-ld
    // then runs them all again at the top of every export, which was half the time of a
    // chart redraw and part of every training step's calls into the module.
    #[cfg(target_arch = "wasm32")]
    // SAFETY: called once, from wasm-bindgen's start function, before any other export
    // of this module runs; constructors registered through inventory are idempotent.
    unsafe {
        __wasm_call_ctors();
    }
    console_error_panic_hook::set_once();
    let _ = log::set_logger(&PAGE_LOGGER).map(|()| log::set_max_level(log::LevelFilter::Warn));
}

/// Routes `log` to the browser console and keeps the GPU stack's errors: on wasm,
/// cubecl only logs a shader the browser rejected (cubecl#1641) and the kernel then
/// returns stale data, so a step checks `take_gpu_error` and fails loudly instead.
struct PageLogger;

static PAGE_LOGGER: PageLogger = PageLogger;

thread_local! {
    static GPU_ERRORS: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn is_gpu_target(target: &str) -> bool {
    ["wgpu", "cubecl", "naga", "burn_cubecl", "burn_wgpu"]
        .iter()
        .any(|prefix| target.starts_with(prefix))
}

impl log::Log for PageLogger {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        metadata.level() <= log::Level::Warn
    }

    fn log(&self, record: &log::Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let message = format!("[{}] {}", record.target(), record.args());
        if record.level() == log::Level::Error {
            console::error(&message);
            if is_gpu_target(record.target()) {
                GPU_ERRORS.with(|errors| errors.borrow_mut().push(message));
            }
        } else {
            console::warn(&message);
        }
    }

    fn flush(&self) {}
}

/// The first GPU error logged since the last call, if any.
pub fn take_gpu_error() -> Option<String> {
    GPU_ERRORS.with(|errors| {
        let mut errors = errors.borrow_mut();
        let first = errors.first().cloned();
        errors.clear();
        first
    })
}

#[cfg(target_arch = "wasm32")]
mod console {
    use wasm_bindgen::prelude::*;

    #[wasm_bindgen]
    extern "C" {
        #[wasm_bindgen(js_namespace = console)]
        pub fn error(message: &str);
        #[wasm_bindgen(js_namespace = console)]
        pub fn warn(message: &str);
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod console {
    pub fn error(message: &str) {
        eprintln!("{message}");
    }
    pub fn warn(message: &str) {
        eprintln!("{message}");
    }
}

/// Which backend a run uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    Webgpu,
    Cpu,
}

impl BackendKind {
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "webgpu" | "wgpu" => Ok(Self::Webgpu),
            "cpu" => Ok(Self::Cpu),
            other => Err(format!(
                "unknown backend '{other}' (expected webgpu or cpu)"
            )),
        }
    }
}

/// Opens the autodiff device for `backend`.
pub async fn open_device(backend: BackendKind) -> Result<Device, String> {
    open_device_generation(backend, 0).await
}

/// Opens `backend`'s device; for WebGPU, `generation` 0 is Burn's default device and
/// each later generation a new registration (a fresh adapter and device), because Burn
/// keeps a runtime per device selector and a lost device's runtime cannot be reopened.
/// In the browser every selector but `IntegratedGpu` asks for the high-performance
/// adapter, so `DiscreteGpu(n)` only names the n-th registration.
pub async fn open_device_generation(
    backend: BackendKind,
    generation: usize,
) -> Result<Device, String> {
    let selector = match generation {
        0 => histinit_core::burn::tensor::DeviceKind::DefaultDevice,
        n => histinit_core::burn::tensor::DeviceKind::DiscreteGpu(n),
    };
    match backend {
        BackendKind::Cpu => Ok(histinit_core::cpu_device()),
        BackendKind::Webgpu => Device::wgpu_options()
            .device_kind(selector)
            .init_async()
            .await
            .map(Device::autodiff)
            .map_err(|err| format!("WebGPU is not available here ({err:?})")),
    }
}

/// What [`probe`] returns: the losses of each step, in order.
#[derive(Debug, Serialize)]
pub struct ProbeResult {
    pub backend: BackendKind,
    /// Non-finite losses are sent as `null` (JSON has no NaN).
    pub losses: Vec<Option<f64>>,
    pub all_finite: bool,
    pub first_step_ms: f64,
    pub steps_per_second: f64,
}

/// Trains the first init of the linked experiment (its first seed) for `steps` steps
/// through the page's own session code, without evaluations, and reports every loss.
pub async fn probe(
    backend: BackendKind,
    query: &str,
    steps: usize,
) -> Result<ProbeResult, session::SessionError> {
    let mut config = ExperimentConfig::from_query(query)?;
    config.inits.truncate(1);
    config.seeds = 1;
    let mut state = session::SessionState::from_config(config, backend)?;
    state.without_evaluation();
    let device = open_device(backend)
        .await
        .map_err(session::SessionError::Device)?;
    state.prepare(device)?;
    let state = std::cell::RefCell::new(state);
    let mut losses = Vec::with_capacity(steps);
    let started = web_time::Instant::now();
    let mut first_step_ms = 0.0;
    while losses.len() < steps && state.borrow().next_run().is_some() {
        let report = session::step_run(&state, 0).await?;
        if losses.is_empty() {
            first_step_ms = started.elapsed().as_secs_f64() * 1e3;
        }
        losses.push(report.train_loss);
        // The CPU backend's read-back resolves at once: without this the whole run
        // would be one task, freezing the page (and timing out chromedriver).
        yield_to_browser().await;
    }
    let rest = started.elapsed().as_secs_f64() - first_step_ms / 1e3;
    Ok(ProbeResult {
        backend,
        steps_per_second: if losses.len() > 1 {
            (losses.len() - 1) as f64 / rest.max(1e-9)
        } else {
            0.0
        },
        all_finite: losses.iter().all(Option::is_some),
        losses,
        first_step_ms,
    })
}

#[cfg(target_arch = "wasm32")]
#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(handler: &js_sys::Function, millis: i32) -> JsValue;
}

/// Lets the browser run its own tasks (input, rendering, drivers) before going on.
#[cfg(target_arch = "wasm32")]
pub async fn yield_to_browser() {
    let promise = js_sys::Promise::new(&mut |resolve, _reject| {
        set_timeout(&resolve, 0);
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

#[cfg(not(target_arch = "wasm32"))]
pub async fn yield_to_browser() {}
