//! The JavaScript API of the playground (see www/app.js). Values cross the boundary as
//! plain JavaScript objects, arrays, numbers and strings (the exports stay text, for
//! download); errors are `Error`s with a message a user can act on.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use histinit_core::burn::tensor::Device;
use histinit_core::config::PRESETS;
use histinit_core::experiment::ExperimentConfig;
use histinit_core::link::{PageLink, PageView};
use histinit_core::params::{param_specs, Role};
use histinit_core::{InitMethod, ModelConfig};
use js_sys::Promise;
use plotters::prelude::*;
use plotters_canvas::CanvasBackend;
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;
use web_sys::HtmlCanvasElement;

use crate::charts::{
    colour_hex, draw_lines, on_clock, study_spread_series, trajectory_axes, Axes, Frame, Series,
    StudySpread, CLOCK_AXIS, UPDATES_AXIS,
};
use crate::session::{self, ChartData, SessionError, SessionState};
use crate::BackendKind;

/// `value` as the JavaScript value `JSON.parse` would give for its JSON: `None` and
/// non-finite numbers are `null`, maps are plain objects, and a whole number beyond
/// 2^53 (a seed can be one) becomes the nearest double instead of an error.
fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsError> {
    let value = serde_json::to_value(value).map_err(|err| JsError::new(&err.to_string()))?;
    to_js_value(&round_large_integers(value))
}

fn to_js_value(value: &serde_json::Value) -> Result<JsValue, JsError> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|err| JsError::new(&err.to_string()))
}

/// The largest integer a JavaScript number holds exactly.
const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

fn round_large_integers(value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Number(n) if n.as_u64().is_some_and(|v| v > MAX_SAFE_INTEGER) => {
            serde_json::json!(n.as_u64().unwrap_or_default() as f64)
        }
        Value::Number(n)
            if n.as_i64()
                .is_some_and(|v| v.unsigned_abs() > MAX_SAFE_INTEGER) =>
        {
            serde_json::json!(n.as_i64().unwrap_or_default() as f64)
        }
        Value::Array(items) => Value::Array(items.into_iter().map(round_large_integers).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(key, value)| (key, round_large_integers(value)))
                .collect(),
        ),
        other => other,
    }
}

/// The one place session errors become JavaScript `Error`s.
fn js_error(err: SessionError) -> JsError {
    JsError::new(&err.to_string())
}

fn reject(err: SessionError) -> JsValue {
    js_error(err).into()
}

#[derive(Serialize)]
struct PresetInfo {
    name: &'static str,
    layers: usize,
    width: usize,
    heads: usize,
    context: usize,
    parameters: usize,
}

/// The model presets with their sizes.
#[wasm_bindgen]
pub fn presets() -> Result<JsValue, JsError> {
    let list: Vec<PresetInfo> = PRESETS
        .iter()
        .map(|&(name, layers, width, heads, context)| PresetInfo {
            name,
            layers,
            width,
            heads,
            context,
            parameters: ModelConfig::preset(name)
                .map(|config| param_specs(&config).iter().map(|s| s.numel()).sum())
                .unwrap_or(0),
        })
        .collect();
    to_js(&list)
}

#[derive(Serialize)]
struct InitInfo {
    name: &'static str,
    needs: &'static str,
    description: &'static str,
}

/// The inits, what each needs and one line on what it is.
#[wasm_bindgen]
pub fn init_methods() -> Result<JsValue, JsError> {
    let list: Vec<InitInfo> = InitMethod::ALL
        .iter()
        .map(|&init| InitInfo {
            name: init.name(),
            needs: match init {
                InitMethod::Kaiming | InitMethod::HeNormal | InitMethod::Pythia => "none",
                InitMethod::Permuted | InitMethod::Trained => "weights",
                _ => "histogram",
            },
            description: crate::describe_init(init),
        })
        .collect();
    to_js(&list)
}

#[derive(Serialize)]
struct ParsedLink {
    /// The page's address: the experiment's keys, then how the page shows it.
    query: String,
    config: ExperimentConfig,
    view: PageView,
    backend: &'static str,
    warnings: Vec<String>,
}

/// Reads a link forgivingly: bad or unknown keys keep their defaults and are named in
/// `warnings` (plain text, for `textContent`).
#[wasm_bindgen]
pub fn parse_link(search: &str) -> Result<JsValue, JsError> {
    let link = PageLink::read(search);
    to_js(&ParsedLink {
        query: link.to_query(),
        backend: link.config.backend.name(),
        config: link.config,
        view: link.view,
        warnings: link.warnings,
    })
}

/// A name the page shows but did not write (a picked file's), as messages show link
/// values: every character that would reorder, hide or break the text around it written
/// as its code point (`histinit_core::text::visible`, the one rule for it).
#[wasm_bindgen]
pub fn visible_text(text: &str) -> String {
    histinit_core::text::visible(text).into_owned()
}

#[derive(Serialize)]
struct TextInfo {
    bytes: usize,
    invalid_bytes: usize,
    /// The stray-bytes warning (plain text), if any.
    warning: Option<String>,
    /// What the text samples will continue: the first words of the student split.
    prompt: String,
    /// The split sizes in bytes.
    teacher: usize,
    student: usize,
    val: usize,
}

/// Reads a visitor's text file as the corpus for sequences of `context` tokens (the
/// same reading as `histinit run --corpus`): its size, stray bytes and prompt, or an
/// error that names the problem (empty, not text, too small for the context).
#[wasm_bindgen]
pub fn check_corpus(bytes: &[u8], context: usize) -> Result<JsValue, JsError> {
    use histinit_core::data::{load_corpus, Split};
    let loaded = load_corpus(bytes, context).map_err(|err| JsError::new(&err.to_string()))?;
    let corpus = &loaded.corpus;
    to_js(&TextInfo {
        bytes: bytes.len(),
        invalid_bytes: loaded.invalid_bytes,
        warning: loaded.warning.clone(),
        prompt: corpus.prompt(),
        teacher: corpus.split_len(Split::Teacher),
        student: corpus.split_len(Split::Student),
        val: corpus.split_len(Split::Val),
    })
}

/// What one run of a link is ([`histinit_core::link::spread_key`]: the link without
/// the keys that only pick seeds and the backend), or null for a link that does not
/// read cleanly (a bad key, or a key whose meaning changed since the link was made):
/// equal keys mean a run belongs to that published study variant.
#[wasm_bindgen]
pub fn spread_key(search: &str) -> Option<String> {
    let link = PageLink::read(search);
    link.warnings
        .is_empty()
        .then(|| histinit_core::link::spread_key(&link.config))
}

/// The link schema: every key with its kind, choices, label and default, in the order
/// links are written. The page builds its form from it and lists no keys itself.
#[wasm_bindgen]
pub fn link_schema() -> Result<JsValue, JsError> {
    to_js(&histinit_core::link::schema())
}

/// The prompt the bundled corpus's text samples start from (the page shows it; the
/// one definition is histinit-core's).
#[wasm_bindgen]
pub fn bundled_prompt() -> String {
    histinit_core::data::BUNDLED_PROMPT.to_string()
}

/// What made this module ([`crate::BUILD_INFO`]): versions, commit, citation.
#[wasm_bindgen]
pub fn build_info() -> Result<JsValue, JsError> {
    to_js(&crate::BUILD_INFO)
}

/// Whether this browser offers a WebGPU adapter.
#[wasm_bindgen]
pub fn webgpu_available() -> Promise {
    future_to_promise(async move {
        let window = js_sys::global();
        let navigator = js_sys::Reflect::get(&window, &"navigator".into())?;
        let gpu = js_sys::Reflect::get(&navigator, &"gpu".into())?;
        if gpu.is_undefined() || gpu.is_null() {
            return Ok(false.into());
        }
        let request = js_sys::Reflect::get(&gpu, &"requestAdapter".into())?;
        let request: js_sys::Function = request.dyn_into()?;
        let promise: Promise = request.call0(&gpu)?.dyn_into()?;
        let adapter = wasm_bindgen_futures::JsFuture::from(promise).await?;
        Ok((!adapter.is_null() && !adapter.is_undefined()).into())
    })
}

thread_local! {
    /// The page's WebGPU device (Burn registers its runtime per device), and how many
    /// were given up after a failure: the next one is opened as a new registration.
    static WEBGPU_DEVICE: RefCell<Option<Device>> = const { RefCell::new(None) };
    static WEBGPU_GENERATION: Cell<usize> = const { Cell::new(0) };
}

async fn device_for(backend: BackendKind) -> Result<Device, String> {
    if backend == BackendKind::Webgpu {
        if let Some(device) = WEBGPU_DEVICE.with(|cell| cell.borrow().clone()) {
            return Ok(device);
        }
    }
    let generation = WEBGPU_GENERATION.with(Cell::get);
    let device = crate::open_device_generation(backend, generation).await?;
    if backend == BackendKind::Webgpu {
        WEBGPU_DEVICE.with(|cell| *cell.borrow_mut() = Some(device.clone()));
    }
    Ok(device)
}

/// Gives up the page's WebGPU device after it failed (lost, or a step error): the next
/// WebGPU session opens a new one instead of reusing the dead one. Returns how many
/// devices have been given up.
#[wasm_bindgen]
pub fn forget_webgpu_device() -> usize {
    let had_one = WEBGPU_DEVICE
        .with(|cell| cell.borrow_mut().take())
        .is_some();
    WEBGPU_GENERATION.with(|generation| {
        if had_one {
            generation.set(generation.get() + 1);
        }
        generation.get()
    })
}

/// The curves CSV of runs the page kept from the step reports it received
/// (`[{init, seed, points: [step report, ...]}, ...]`), for a session whose module
/// aborted; the same writer as a session's `export_csv`.
#[wasm_bindgen]
pub fn kept_curves_csv(runs: JsValue) -> Result<String, JsError> {
    let runs: Vec<session::KeptRun> = serde_wasm_bindgen::from_value(runs)
        .map_err(|err| JsError::new(&format!("the kept curves cannot be read: {err}")))?;
    Ok(session::kept_curves_csv(&runs))
}

/// A set of runs trained side by side.
#[wasm_bindgen]
pub struct Session {
    state: Rc<RefCell<SessionState>>,
    busy: Rc<Cell<bool>>,
}

fn parse_role(name: &str) -> Result<Role, JsError> {
    Role::parse(name).ok_or_else(|| JsError::new(&format!("unknown role '{name}'")))
}

fn frame_of(drawn: Result<Option<Frame>, String>) -> Result<JsValue, JsError> {
    to_js(&drawn.map_err(|err| JsError::new(&err))?)
}

fn canvas_area(
    canvas: HtmlCanvasElement,
) -> Result<DrawingArea<CanvasBackend, plotters::coord::Shift>, JsError> {
    CanvasBackend::with_canvas_object(canvas)
        .map(|backend| backend.into_drawing_area())
        .ok_or_else(|| JsError::new("the canvas has no 2D context"))
}

#[wasm_bindgen]
impl Session {
    /// `query`: a playground link's query string; `backend`: "webgpu" or "cpu".
    #[wasm_bindgen(constructor)]
    pub fn new(query: &str, backend: &str) -> Result<Session, JsError> {
        let backend = BackendKind::parse(backend).map_err(|err| JsError::new(&err))?;
        let state = SessionState::new(query, backend).map_err(js_error)?;
        Ok(Session {
            state: Rc::new(RefCell::new(state)),
            busy: Rc::new(Cell::new(false)),
        })
    }

    pub fn add_histogram(&self, bytes: &[u8], label: &str) -> Result<(), JsError> {
        self.state
            .borrow_mut()
            .add_histogram(bytes, label)
            .map_err(js_error)
    }

    /// The visitor's text file the link's `corpus` names; before `prepare`.
    pub fn set_corpus(&self, bytes: &[u8], name: &str) -> Result<(), JsError> {
        self.state
            .borrow_mut()
            .set_corpus(bytes, name)
            .map_err(js_error)
    }

    /// The histogram source's training trajectory (`*-trajectory.json.gz`, gzipped or
    /// not), for the trajectory chart; `label` names it there.
    pub fn add_trajectory(&self, bytes: &[u8], label: &str) -> Result<(), JsError> {
        self.state
            .borrow_mut()
            .add_trajectory(bytes, label)
            .map_err(js_error)
    }

    pub fn add_weights(&self, bytes: &[u8], label: &str) -> Result<(), JsError> {
        self.state
            .borrow_mut()
            .add_weights(bytes, label)
            .map_err(js_error)
    }

    /// Opens the device and draws every run's initial weights.
    pub fn prepare(&self) -> Promise {
        self.open_device_and_prepare(None)
    }

    /// [`Session::prepare`], the runs continued from `saved` (bytes of `save_state` for
    /// this link): refused with the reason when they are damaged or of another link.
    pub fn prepare_resumed(&self, saved: Vec<u8>) -> Promise {
        self.open_device_and_prepare(Some(saved))
    }

    /// Every run's whole training state as bytes (between steps; CPU backend).
    pub fn save_state(&self) -> Result<Vec<u8>, JsError> {
        if self.busy.get() {
            return Err(js_error(SessionError::Busy));
        }
        self.state.borrow().save_state().map_err(js_error)
    }

    /// The step reports of the runs so far, in run order (a resumed session's history).
    pub fn history(&self) -> Result<JsValue, JsError> {
        to_js(&self.state.borrow().history())
    }

    pub fn runs(&self) -> Result<JsValue, JsError> {
        #[derive(Serialize)]
        struct RunInfo {
            id: usize,
            init: &'static str,
            seed: u64,
            label: String,
            colour: String,
        }
        let state = self.state.borrow();
        let list: Vec<RunInfo> = state
            .runs
            .iter()
            .enumerate()
            .map(|(id, run)| RunInfo {
                id,
                init: run.init().name(),
                seed: run.seed(),
                label: run.label.clone(),
                colour: colour_hex(run.colour),
            })
            .collect();
        to_js(&list)
    }

    /// Advances the run that is furthest behind by one step.
    pub fn step(&self) -> Promise {
        let state = self.state.clone();
        let busy = self.busy.clone();
        future_to_promise(async move {
            if !state.borrow().is_prepared() {
                return Err(reject(SessionError::NotPrepared));
            }
            if busy.replace(true) {
                return Err(reject(SessionError::Busy));
            }
            let started = web_time::Instant::now();
            let next = state.borrow().next_run();
            let result = match next {
                Some(index) => session::step_run(&state, index).await,
                None => Err(SessionError::Finished),
            };
            busy.set(false);
            let report = result.map_err(reject)?;
            let mut value =
                serde_json::to_value(&report).map_err(|err| JsError::new(&err.to_string()))?;
            value["ms"] = serde_json::json!(started.elapsed().as_secs_f64() * 1e3);
            Ok(to_js(&value)?)
        })
    }

    /// What the page shows of the runs for `role`, at a redraw: `charts`, every chart's
    /// series as JSON (for `Charts.from_json` on the page's side of the worker: one
    /// string crosses instead of thousands of small arrays), `trajectory` (the trajectory
    /// chart's numbers for its readout, null without one) and `results` (the table's rows).
    pub fn view(&self, role: &str) -> Result<JsValue, JsError> {
        #[derive(Serialize)]
        struct View {
            charts: String,
            trajectory: Option<session::TrajectoryView>,
            results: Vec<session::ResultRow>,
        }
        let role = parse_role(role)?;
        let state = self.state.borrow();
        let charts = serde_json::to_string(&state.chart_data(role))
            .map_err(|err| JsError::new(&err.to_string()))?;
        to_js(&View {
            charts,
            trajectory: state.trajectory_view(role),
            results: state.result_rows(),
        })
    }

    /// Reads the current weights back (asynchronously) for the distribution chart.
    pub fn snapshot_weights(&self) -> Promise {
        let state = self.state.clone();
        future_to_promise(async move {
            session::snapshot(&state).await.map_err(reject)?;
            Ok(JsValue::UNDEFINED)
        })
    }

    pub fn samples(&self, length: usize) -> Promise {
        let state = self.state.clone();
        future_to_promise(async move {
            let samples = session::samples(&state, length).await.map_err(reject)?;
            Ok(to_js(&samples)?)
        })
    }

    /// Run `index` as a source for another run (between steps): `{name, weights, histogram}`,
    /// its weights as safetensors bytes (a `Uint8Array`) and their histograms as JSON,
    /// made by the extractor `histinit extract` uses.
    pub fn export_run(&self, index: usize) -> Promise {
        let state = self.state.clone();
        future_to_promise(async move {
            let export = session::export_run(&state, index).await.map_err(reject)?;
            let object = js_sys::Object::new();
            let weights = js_sys::Uint8Array::from(export.weights.as_slice());
            for (key, value) in [
                ("name", JsValue::from_str(&export.name)),
                ("weights", weights.into()),
                ("histogram", JsValue::from_str(&export.histogram)),
            ] {
                js_sys::Reflect::set(&object, &key.into(), &value)?;
            }
            Ok(object.into())
        })
    }

    pub fn export_csv(&self) -> String {
        self.state.borrow().export_csv()
    }

    pub fn export_json(&self) -> String {
        self.state.borrow().export_json()
    }
}

impl Session {
    /// Opens the session's device, then draws every run (or continues it from `saved`).
    fn open_device_and_prepare(&self, saved: Option<Vec<u8>>) -> Promise {
        let state = self.state.clone();
        future_to_promise(async move {
            let backend = state.borrow().backend;
            let device = device_for(backend)
                .await
                .map_err(|err| reject(SessionError::Device(err)))?;
            let mut state = state.borrow_mut();
            match saved {
                None => state.prepare(device),
                Some(saved) => state.prepare_resumed(device, &saved),
            }
            .map_err(reject)?;
            Ok(JsValue::UNDEFINED)
        })
    }
}

/// The charts' series as the session built them (`Session.view(role).charts`), drawn on
/// the page's canvases: the page draws, the worker trains.
#[wasm_bindgen]
pub struct Charts {
    data: ChartData,
    /// A published study's spread, drawn behind the loss curves (see `set_study_spread`).
    study: Vec<Series>,
}

#[wasm_bindgen]
impl Charts {
    pub fn from_json(json: &str) -> Result<Charts, JsError> {
        let data = serde_json::from_str(json)
            .map_err(|err| JsError::new(&format!("the charts' data is malformed: {err}")))?;
        Ok(Charts {
            data,
            study: Vec::new(),
        })
    }

    /// The spread of the published study these settings belong to (`[{colour, step,
    /// min, median, max}]`, one per init), drawn behind the loss curves against steps.
    pub fn set_study_spread(&mut self, spreads: JsValue) -> Result<(), JsError> {
        let spreads: Vec<StudySpread> = serde_wasm_bindgen::from_value(spreads)
            .map_err(|err| JsError::new(&format!("the study's spread cannot be read: {err}")))?;
        self.study = study_spread_series(&spreads);
        Ok(())
    }

    /// Returns where the data went (a `Frame`, null before the first point). `clock`:
    /// when each update was done, in seconds (the page's own clock): x becomes time.
    pub fn draw_loss(
        &self,
        canvas: HtmlCanvasElement,
        log_steps: bool,
        clock: Option<Vec<f64>>,
    ) -> Result<JsValue, JsError> {
        let series = match &clock {
            Some(clock) => on_clock(self.data.loss.clone(), clock),
            // A study's bars stand at its last step: on the step axis only.
            None => [self.study.as_slice(), &self.data.loss].concat(),
        };
        let axes = Axes {
            title: "Loss (nats per byte)",
            x_label: if clock.is_some() {
                CLOCK_AXIS
            } else {
                UPDATES_AXIS
            },
            y_label: "loss",
            log_x: log_steps,
            log_y: false,
            init_x: None,
            legend_above: false,
        };
        frame_of(draw_lines(&canvas_area(canvas)?, axes, &series))
    }

    /// Returns where the data went, as `draw_loss` does.
    pub fn draw_grads(&self, canvas: HtmlCanvasElement) -> Result<JsValue, JsError> {
        let axes = Axes {
            title: "Gradient norm (before clipping)",
            x_label: UPDATES_AXIS,
            y_label: "global norm",
            log_x: true,
            log_y: true,
            init_x: None,
            legend_above: false,
        };
        frame_of(draw_lines(&canvas_area(canvas)?, axes, &self.data.grads))
    }

    pub fn draw_distribution(&self, canvas: HtmlCanvasElement) -> Result<(), JsError> {
        let title = format!("Weights of role {} (density)", self.data.role.name());
        let axes = Axes {
            title: &title,
            x_label: "weight value",
            y_label: "density",
            log_x: false,
            log_y: false,
            init_x: None,
            legend_above: false,
        };
        draw_lines(&canvas_area(canvas)?, axes, &self.data.distribution)
            .map(|_| ())
            .map_err(|err| JsError::new(&err))
    }

    /// Draws how the role's distribution moves (the teacher's training against each
    /// run's) and returns where the data went, as `draw_loss` does; null without a
    /// trajectory or before there is anything to draw.
    pub fn draw_trajectory(&self, canvas: HtmlCanvasElement) -> Result<JsValue, JsError> {
        let Some(series) = &self.data.trajectory else {
            return Ok(JsValue::NULL);
        };
        let title = format!(
            "Weights of role {} over training (quantiles)",
            self.data.role.name()
        );
        frame_of(draw_lines(
            &canvas_area(canvas)?,
            trajectory_axes(&title),
            series,
        ))
    }
}
