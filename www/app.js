// histinit playground: the form, the link, and a training loop that keeps the page
// responsive (one awaited step at a time, yielding to the browser in between).

import { clear, download, el, errorText, formatNumber, yieldToBrowser } from './dom.js';
import { buildQuery, isUrl, withBackend, withoutBackend } from './link.js';
import { fetchBytes, fileBytes, fileKind, loadIndex, shippedUrl } from './sources.js';
import { renderStudies } from './studies.js';

const REDRAW_MS = 250; // charts at most four times a second...
const DRAW_SHARE = 0.2; // ...and drawing at most a fifth of the time (it blocks the page)
const SNAPSHOT_EVERY = 25; // steps between weight read-backs for the distribution chart
const SAMPLE_EVERY = 100; // steps between text samples
const SAMPLE_LENGTH = 120; // characters per sample
const MIN_RUNS = 1;
const MAX_RUNS = 4;
// Used only if the wasm module does not list its inits.
const FALLBACK_INITS = ['kaiming', 'he-normal', 'pythia', 'empirical', 'gaussian-matched', 'parametric', 'permuted', 'trained'];

const $ = (id) => document.getElementById(id);

const ui = {
  runList: $('run-list'),
  addRun: $('add-run'),
  removeRun: $('remove-run'),
  initDescription: $('init-description'),
  source: $('source'),
  sourceUrlLabel: $('source-url-label'),
  sourceUrl: $('source-url'),
  sourceFileLabel: $('source-file-label'),
  sourceFile: $('source-file'),
  sourceLabel: $('source-label'),
  provenance: $('provenance'),
  provenanceDetails: $('provenance-details'),
  scale: $('scale'),
  preset: $('preset'),
  presetShape: $('preset-shape'),
  layernorm: $('layernorm'),
  lr: $('lr'),
  warmup: $('warmup'),
  batch: $('batch'),
  context: $('context'),
  steps: $('steps'),
  evalEvery: $('eval-every'),
  seeds: $('seeds'),
  seed: $('seed'),
  backend: $('backend'),
  start: $('start'),
  pause: $('pause'),
  reset: $('reset'),
  copyLink: $('copy-link'),
  exportCsv: $('export-csv'),
  exportJson: $('export-json'),
  exportPng: $('export-png'),
  linkFallbackLabel: $('link-fallback-label'),
  linkFallback: $('link-fallback'),
  status: $('status'),
  messages: $('messages'),
  previous: $('previous'),
  previousText: $('previous-text'),
  previousImage: $('previous-image'),
  previousCsv: $('previous-csv'),
  previousJson: $('previous-json'),
  lossChart: $('loss-chart'),
  distChart: $('dist-chart'),
  gradChart: $('grad-chart'),
  logSteps: $('log-steps'),
  role: $('role'),
  results: $('results').querySelector('tbody'),
  samples: $('samples'),
};

const state = {
  hi: null, // the wasm module
  presets: [],
  inits: [], // [{name, needs, description}]
  sources: [], // index.json entries
  parsed: null, // last parse_link result: {query, config, backend, warnings}
  overrides: {}, // layers/width/heads from the link (no form fields; kept as given)
  localFile: null, // {name, kind, bytes}
  sourceCache: new Map(), // url -> bytes, so a CPU restart does not fetch again
  session: null,
  sessionBackend: null,
  backendNote: '', // why the backend is not the one asked for
  runs: [], // session.runs()
  history: {}, // run id -> [{step, train_loss, val_loss, grad_norm, ms, at}]
  stepByRun: {},
  diverged: new Set(),
  token: 0, // bumps to stop the running loop
  loop: null, // promise of the running loop
  running: false,
  done: false,
  generation: 0, // bumps on Start and Reset, so a superseded Start stops
  starting: false,
  inFlight: false, // a session call is pending: draw later, not now
  redrawWanted: false,
  lastDraw: 0,
  drawMs: 0, // how long the last redraw took
  drawParts: {}, // ...and each chart in it (ms), for the benchmark
  nextSnapshot: SNAPSHOT_EVERY,
  nextSample: SAMPLE_EVERY,
  stepsPerSecond: 0,
  previous: null, // {csv, json} of a run interrupted by a lost device
  timing: { moduleReady: null, startClicked: null, prepared: null, firstStep: null },
};

// A handle for tests and the curious (read-only use).
window.histinit = {
  get session() {
    return state.session;
  },
  get backend() {
    return state.sessionBackend;
  },
  get history() {
    return state.history;
  },
  get drawParts() {
    return { ...state.drawParts, total: state.drawMs };
  },
  get runs() {
    return state.runs;
  },
  get done() {
    return state.done;
  },
  get running() {
    return state.running;
  },
  get previous() {
    return state.previous;
  },
  timing: state.timing,
};

// ---------------------------------------------------------------- status and messages

function setStatus(text, isError = false) {
  ui.status.textContent = text;
  ui.status.classList.toggle('error', isError);
}

function addMessage(text, isError = false) {
  ui.messages.append(el('li', { className: isError ? 'error' : '', textContent: text }));
}

function clearMessages() {
  clear(ui.messages);
}

function backendName(backend) {
  return backend === 'webgpu' ? 'WebGPU' : 'the CPU (WebAssembly)';
}

// ---------------------------------------------------------------- the form

function initInfo(name) {
  return state.inits.find((init) => init.name === name) ?? { name, needs: 'none', description: '' };
}

function needsOf(initNames) {
  const needs = new Set(initNames.map((name) => initInfo(name).needs));
  return { histogram: needs.has('histogram') || needs.has('weights'), weights: needs.has('weights') };
}

function runSelects() {
  return [...ui.runList.querySelectorAll('select')];
}

function addRunRow(initName) {
  const select = el(
    'select',
    {},
    state.inits.map((init) => el('option', { value: init.name, textContent: init.name, title: init.description })),
  );
  select.setAttribute('aria-label', `run ${runSelects().length + 1} initialization`);
  select.value = initName;
  if (select.value !== initName) {
    // A name this module does not know (parse_link would have dropped it); show it anyway.
    select.append(el('option', { value: initName, textContent: initName }));
    select.value = initName;
  }
  select.addEventListener('change', () => {
    describeInit(select.value);
    settingsChanged();
  });
  select.addEventListener('focus', () => describeInit(select.value));
  ui.runList.append(el('li', {}, [select]));
  updateRunButtons();
}

function describeInit(name) {
  const info = initInfo(name);
  ui.initDescription.textContent = info.description ? `${info.name}: ${info.description}` : '';
}

function updateRunButtons() {
  const count = runSelects().length;
  ui.addRun.disabled = count >= MAX_RUNS;
  ui.removeRun.disabled = count <= MIN_RUNS;
}

function fillPresets() {
  clear(ui.preset);
  for (const preset of state.presets) {
    const params = preset.parameters >= 1e6 ? `${(preset.parameters / 1e6).toFixed(1)} M` : `${(preset.parameters / 1e3).toFixed(0)} k`;
    ui.preset.append(el('option', { value: preset.name, textContent: `${preset.name} (${params} parameters)` }));
  }
}

function describePreset() {
  const preset = state.presets.find((p) => p.name === ui.preset.value);
  if (!preset) {
    ui.presetShape.textContent = '';
    return;
  }
  const { layers = preset.layers, width = preset.width, heads = preset.heads } = state.overrides;
  const changed = Object.keys(state.overrides).length ? ' (shape overridden by the link)' : '';
  ui.presetShape.textContent = `${layers} layers, width ${width}, ${heads} heads, context up to ${preset.context}${changed}`;
}

function fillSources() {
  clear(ui.source);
  ui.source.append(el('option', { value: '', textContent: 'none (standard inits only)' }));
  for (const entry of state.sources) {
    ui.source.append(el('option', { value: entry.id, textContent: entry.id, title: entry.label ?? '' }));
  }
  ui.source.append(el('option', { value: '@url', textContent: 'a URL…' }));
  ui.source.append(el('option', { value: '@file', textContent: 'open file…' }));
}

/** The shipped source that suits a preset: the one measured on it, else the first. */
function defaultSourceId(presetName) {
  const match = state.sources.find((entry) => entry.preset === presetName);
  return (match ?? state.sources[0])?.id ?? '';
}

function showSourceFields() {
  const choice = ui.source.value;
  ui.sourceUrlLabel.hidden = choice !== '@url';
  ui.sourceFileLabel.hidden = choice !== '@file';
  const entry = state.sources.find((e) => e.id === choice);
  // The shipped source's own account of where it came from (long: folded away).
  ui.provenance.textContent = entry?.provenance ?? '';
  ui.provenanceDetails.hidden = !entry?.provenance;
  if (entry) {
    ui.sourceLabel.textContent = entry.label ?? '';
  } else if (choice === '@file') {
    ui.sourceLabel.textContent = state.localFile
      ? `Local file ${state.localFile.name} (${state.localFile.kind}); a link cannot carry it.`
      : 'Pick a histogram (.json, .json.gz) or weights (.safetensors) file.';
  } else if (choice === '@url') {
    ui.sourceLabel.textContent = 'A histogram file on another server (it must allow cross-origin requests).';
  } else {
    ui.sourceLabel.textContent = '';
  }
}

/** Puts a canonical config (from parse_link) into the form. */
function applyConfig(parsed) {
  const { config } = parsed;
  state.overrides = {};
  for (const key of ['layers', 'width', 'heads']) {
    if (config[key] !== null && config[key] !== undefined) state.overrides[key] = config[key];
  }
  clear(ui.runList);
  for (const init of config.inits) addRunRow(init);

  if (config.source && isUrl(config.source)) {
    ui.source.value = '@url';
    ui.sourceUrl.value = config.source;
  } else if (config.source) {
    ui.source.value = config.source;
    if (ui.source.value !== config.source) {
      // An id this page does not ship: keep it visible (prepare will say what is missing).
      ui.source.insertBefore(
        el('option', { value: config.source, textContent: `${config.source} (not shipped here)` }),
        ui.source.lastElementChild.previousElementSibling,
      );
      ui.source.value = config.source;
    }
  } else if (ui.source.value !== '@file') {
    ui.source.value = '';
  }
  showSourceFields();

  ui.scale.value = config.scale;
  ui.preset.value = config.preset;
  describePreset();
  ui.layernorm.checked = config.norm !== 'none';
  ui.lr.value = config.train.lr;
  ui.warmup.value = config.train.warmup;
  ui.batch.value = config.train.batch;
  ui.context.value = config.train.context;
  ui.steps.value = config.train.steps;
  ui.evalEvery.value = config.train.eval_every;
  ui.seeds.value = config.seeds;
  ui.seed.value = config.seed;
  ui.backend.value = parsed.backend ?? 'auto';
}

/** The form as link pairs, in the order parse_link writes them. */
function formPairs() {
  // Warmup longer than the run makes the whole link invalid: shorten it instead.
  const steps = Number(ui.steps.value);
  if (Number.isInteger(steps) && steps > 0 && Number(ui.warmup.value) > steps) {
    ui.warmup.value = steps;
    addMessage(`Warmup shortened to ${steps} steps: it cannot be longer than the run.`);
  }
  let source = null;
  if (ui.source.value === '@url') source = ui.sourceUrl.value.trim();
  else if (ui.source.value !== '@file') source = ui.source.value;
  return [
    ['preset', ui.preset.value],
    ['layers', state.overrides.layers],
    ['width', state.overrides.width],
    ['heads', state.overrides.heads],
    ['norm', ui.layernorm.checked ? 'layer' : 'none'],
    ['inits', runSelects().map((s) => s.value).join(',')],
    ['source', source],
    ['scale', ui.scale.value],
    ['seed', ui.seed.value],
    ['seeds', ui.seeds.value],
    ['steps', ui.steps.value],
    ['batch', ui.batch.value],
    ['context', ui.context.value],
    ['lr', ui.lr.value],
    ['warmup', ui.warmup.value],
    ['eval_every', ui.evalEvery.value],
    ['backend', ui.backend.value === 'auto' ? null : ui.backend.value],
  ];
}

/** Validates `search` with the wasm parser; shows its warnings. */
function parseLink(search) {
  const parsed = JSON.parse(state.hi.parse_link(search));
  for (const warning of parsed.warnings ?? []) addMessage(`Link: ${warning}`);
  return parsed;
}

function writeLink(parsed) {
  const query = withBackend(parsed.query, parsed.backend);
  const url = `${location.pathname}${query ? `?${query}` : ''}${location.hash}`;
  history.replaceState(null, '', url);
}

/** Any form change: rebuild the link, validate it, put the canonical values back. */
function settingsChanged() {
  clearMessages();
  // applyConfig rebuilds the run rows: keep keyboard focus on the row that changed.
  const focusedRun = runSelects().indexOf(document.activeElement);
  const parsed = parseLink(`?${buildQuery(formPairs())}`);
  state.parsed = parsed;
  applyConfig(parsed);
  writeLink(parsed);
  if (focusedRun >= 0) runSelects()[focusedRun]?.focus();
  if (state.session) {
    addMessage('Settings changed: press Start to train with them (the current runs keep their settings).');
  }
}

// ---------------------------------------------------------------- sources for a session

async function cachedBytes(url, what) {
  if (!state.sourceCache.has(url)) state.sourceCache.set(url, await fetchBytes(url, what));
  return state.sourceCache.get(url);
}

/**
 * The histogram/weights files the runs need, as [{kind, bytes, label}]. A source that
 * fails to load is a message; prepare() then says which init misses it.
 */
async function gatherSources(config) {
  const needs = needsOf(config.inits);
  const out = [];
  if (ui.source.value === '@file') {
    if (state.localFile) {
      out.push({ kind: state.localFile.kind, bytes: state.localFile.bytes, label: state.localFile.name });
    } else if (needs.histogram) {
      addMessage('No file picked: choose a histogram or weights file, or another source.', true);
    }
    return out;
  }
  const source = config.source;
  if (!source) {
    if (needs.histogram) addMessage('These inits need a histogram source: pick one under "Histogram source".', true);
    return out;
  }
  if (isUrl(source)) {
    try {
      out.push({ kind: 'histogram', bytes: await cachedBytes(source, 'the histogram'), label: source });
    } catch (error) {
      addMessage(errorText(error), true);
    }
    if (needs.weights) {
      addMessage('permuted and trained need the trained weights, which a URL source does not have: pick a shipped source or open a .safetensors file.', true);
    }
    return out;
  }
  const entry = state.sources.find((e) => e.id === source);
  if (!entry) {
    addMessage(`The histogram source '${source}' is not shipped with this page.`, true);
    return out;
  }
  const label = entry.label || entry.id;
  try {
    out.push({ kind: 'histogram', bytes: await cachedBytes(shippedUrl(entry.histogram), `the histogram '${entry.id}'`), label });
  } catch (error) {
    addMessage(errorText(error), true);
  }
  if (needs.weights) {
    if (entry.weights) {
      try {
        out.push({ kind: 'weights', bytes: await cachedBytes(shippedUrl(entry.weights), `the weights of '${entry.id}'`), label });
      } catch (error) {
        addMessage(errorText(error), true);
      }
    } else {
      addMessage(`'${entry.id}' ships no trained weights, which permuted and trained need.`, true);
    }
  }
  return out;
}

/** Creates and prepares a session on `backend`; throws with the reason on failure. */
async function openSession(query, backend, sources) {
  const session = new state.hi.Session(query, backend);
  try {
    for (const source of sources) {
      try {
        if (source.kind === 'weights') session.add_weights(source.bytes, source.label);
        else session.add_histogram(source.bytes, source.label);
      } catch (error) {
        addMessage(`${source.label}: ${errorText(error)}`, true);
      }
    }
    await session.prepare();
    return session;
  } catch (error) {
    session.free();
    throw error;
  }
}

async function webgpuProblem() {
  if (!('gpu' in navigator)) return 'this browser has no navigator.gpu';
  try {
    if (!(await state.hi.webgpu_available())) return 'no WebGPU adapter';
  } catch (error) {
    return errorText(error);
  }
  return null;
}

// ---------------------------------------------------------------- training

function resetProgress() {
  state.history = {};
  state.stepByRun = {};
  state.diverged = new Set();
  state.done = false;
  state.nextSnapshot = SNAPSHOT_EVERY;
  state.nextSample = SAMPLE_EVERY;
  state.lastDraw = 0;
  state.stepsPerSecond = 0;
  for (const run of state.runs) state.history[run.id] = [];
}

async function stopLoop() {
  state.token += 1;
  const loop = state.loop;
  if (loop) await loop;
  state.loop = null;
  state.running = false;
}

function freeSession() {
  if (state.session) {
    try {
      state.session.free();
    } catch (error) {
      console.warn('freeing the session failed', error);
    }
  }
  state.session = null;
  state.sessionBackend = null;
}

async function start() {
  state.timing.startClicked ??= performance.now();
  // A later Start or Reset supersedes this one: it checks after every await.
  const generation = ++state.generation;
  const superseded = () => generation !== state.generation;
  state.starting = true;
  await stopLoop();
  freeSession();
  clearMessages();
  state.backendNote = '';
  clearOutputs();
  setButtons();
  const parsed = parseLink(`?${buildQuery(formPairs())}`);
  state.parsed = parsed;
  writeLink(parsed);
  const query = withoutBackend(parsed.query);
  setStatus('Loading histogram sources…');
  const sources = await gatherSources(parsed.config);
  if (superseded()) return;

  let backend = parsed.backend ?? 'auto';
  if (backend === 'auto') {
    const problem = await webgpuProblem();
    if (superseded()) return;
    if (problem) {
      state.backendNote = `WebGPU not available here (${problem}); training on the CPU in WebAssembly instead`;
      backend = 'cpu';
    } else {
      backend = 'webgpu';
    }
  }
  setStatus(`Preparing ${state.parsed.config.inits.length} init(s) on ${backendName(backend)}…`);
  let session;
  try {
    session = await openSession(query, backend, sources);
  } catch (error) {
    if (superseded()) return;
    if (backend !== 'webgpu' || (parsed.backend ?? 'auto') !== 'auto') {
      const hint = backend === 'webgpu' ? " (choose backend 'auto' or 'CPU' to train without WebGPU)" : '';
      failed(`${errorText(error)}${hint}`);
      return;
    }
    state.backendNote = `WebGPU not available here (${errorText(error)}); training on the CPU in WebAssembly instead`;
    backend = 'cpu';
    try {
      session = await openSession(query, backend, sources);
    } catch (cpuError) {
      if (!superseded()) failed(errorText(cpuError));
      return;
    }
  }
  if (superseded()) {
    session.free();
    return;
  }
  state.session = session;
  state.sessionBackend = backend;
  state.starting = false;
  state.timing.prepared = performance.now();
  beginTraining();
}

function failed(message) {
  state.starting = false;
  setStatus(`Could not start: ${message}`, true);
  setButtons();
}

function beginTraining() {
  state.runs = JSON.parse(state.session.runs());
  resetProgress();
  updateTable();
  const where = backendName(state.sessionBackend);
  const first = state.sessionBackend === 'webgpu' ? ' (the first step compiles shaders and can take a while)' : '';
  setStatus(state.backendNote ? `${state.backendNote} · first step…` : `Training on ${where}: first step${first}…`);
  resume();
}

function resume() {
  if (!state.session || state.running || state.done) return;
  state.running = true;
  const token = state.token;
  state.loop = trainLoop(token).catch((error) => {
    // A bug in the page, not in training: say so rather than stall silently.
    console.error(error);
    setStatus(`Training stopped: ${errorText(error)}`, true);
  }).finally(() => {
    if (token === state.token) state.running = false;
    setButtons();
  });
  setButtons();
}

async function pause() {
  await stopLoop();
  setButtons();
  statusLine('paused at step');
}

async function trainLoop(token) {
  const session = state.session;
  let windowStart = performance.now();
  let windowSteps = 0;
  while (token === state.token) {
    let result;
    state.inFlight = true;
    try {
      result = JSON.parse(await session.step());
    } catch (error) {
      state.inFlight = false;
      if (token !== state.token) return;
      await stepFailed(error, token);
      return;
    }
    state.inFlight = false;
    state.timing.firstStep ??= performance.now();
    record(result);

    windowSteps += 1;
    const now = performance.now();
    if (now - windowStart > 1000) {
      state.stepsPerSecond = (windowSteps * 1000) / (now - windowStart);
      windowStart = now;
      windowSteps = 0;
    }
    const step = Math.max(...Object.values(state.stepByRun));
    if (step >= state.nextSnapshot || result.done) {
      state.nextSnapshot = step + SNAPSHOT_EVERY;
      await snapshot(session);
    }
    if (step >= state.nextSample || result.done) {
      state.nextSample = step + SAMPLE_EVERY;
      await showSamples(session);
    }
    if (result.done) {
      state.done = true;
      redraw();
      statusLine('done: step');
      return;
    }
    const interval = Math.max(REDRAW_MS, state.drawMs / DRAW_SHARE);
    if (state.redrawWanted || now - state.lastDraw > interval) {
      redraw();
      statusLine('step');
    }
    await yieldToBrowser();
  }
}

function record(result) {
  const history = (state.history[result.run] ??= []);
  history.push({
    step: result.step,
    train_loss: result.train_loss,
    val_loss: result.val_loss ?? null,
    grad_norm: result.grad_norm,
    ms: result.ms, // inside session.step (training step, evaluation if due, read-back)
    at: performance.now(), // when the page got it (benchmarks/page-vs-native.mjs)
  });
  // Steps done, counted here: report.step is the index of the step just taken.
  state.stepByRun[result.run] = history.length;
  if (result.diverged && !state.diverged.has(result.run)) {
    state.diverged.add(result.run);
    const run = state.runs.find((r) => r.id === result.run);
    addMessage(`${run?.label ?? `run ${result.run}`} diverged at step ${history.length} (its loss is no longer finite); the other runs continue.`, true);
  }
}

async function snapshot(session) {
  state.inFlight = true;
  try {
    await session.snapshot_weights();
  } catch (error) {
    console.warn('weight snapshot failed', error);
  } finally {
    state.inFlight = false;
  }
}

async function showSamples(session) {
  state.inFlight = true;
  let samples;
  try {
    samples = JSON.parse(await session.samples(SAMPLE_LENGTH));
  } catch (error) {
    console.warn('sampling failed', error);
    return;
  } finally {
    state.inFlight = false;
  }
  clear(ui.samples);
  for (const sample of samples) {
    const run = state.runs.find((r) => r.id === sample.run);
    const box = el('div', { className: 'sample' }, [
      el('h3', { textContent: sample.label ?? run?.label ?? `run ${sample.run}` }),
      el('pre', { textContent: sample.text }),
    ]);
    if (run?.colour) box.style.borderLeftColor = run.colour; // CSSOM, allowed by the CSP
    ui.samples.append(box);
  }
}

/** A step rejected. On WebGPU (e.g. device lost): keep what was learned, go on on the CPU. */
async function stepFailed(error, token) {
  const message = errorText(error);
  const session = state.session;
  if (state.sessionBackend !== 'webgpu') {
    setStatus(`Training stopped: ${message}`, true);
    return;
  }
  const step = Math.max(0, ...Object.values(state.stepByRun));
  await keepPrevious(session, `WebGPU stopped at step ${step} (${message}). Its curves and exports are kept here; training restarted on the CPU.`);
  freeSession();
  state.backendNote = `WebGPU stopped at step ${step} (${message}); restarted on the CPU in WebAssembly`;
  setStatus(`${state.backendNote} · preparing…`);
  try {
    const sources = await gatherSources(state.parsed.config);
    const session = await openSession(withoutBackend(state.parsed.query), 'cpu', sources);
    if (token !== state.token) {
      session.free(); // Start or Reset was pressed meanwhile
      return;
    }
    state.session = session;
    state.sessionBackend = 'cpu';
  } catch (cpuError) {
    setStatus(`${state.backendNote}, but the CPU failed too: ${errorText(cpuError)}`, true);
    return;
  }
  state.runs = JSON.parse(state.session.runs());
  resetProgress();
  updateTable();
  // This function runs inside the loop: start the next loop once this one has ended.
  setTimeout(resume, 0);
}

async function keepPrevious(session, note) {
  const previous = { note, csv: null, json: null };
  try {
    previous.csv = session.export_csv();
    previous.json = session.export_json();
  } catch (error) {
    console.warn('export of the interrupted run failed', error);
  }
  state.previous = previous;
  ui.previousText.textContent = note;
  try {
    // Draw the latest curves first: the picture is all that is left of them on screen.
    fitCanvas(ui.lossChart);
    withCssomStyles(() => session.draw_loss(ui.lossChart, ui.logSteps.checked));
  } catch (error) {
    console.warn('drawing the interrupted run failed', error);
  }
  ui.previousCsv.hidden = previous.csv === null;
  ui.previousJson.hidden = previous.json === null;
  const blob = await new Promise((resolve) => ui.lossChart.toBlob(resolve, 'image/png'));
  if (blob) {
    if (ui.previousImage.src.startsWith('blob:')) URL.revokeObjectURL(ui.previousImage.src);
    ui.previousImage.src = URL.createObjectURL(blob);
  }
  ui.previous.hidden = false;
}

async function resetAll() {
  state.generation += 1; // cancels a Start in progress
  state.starting = false;
  await stopLoop();
  freeSession();
  state.runs = [];
  state.backendNote = '';
  clearOutputs();
  clearMessages();
  ui.previous.hidden = true;
  setButtons();
  setStatus('Ready: press Start.');
}

// ---------------------------------------------------------------- drawing

/** Matches the canvas's pixel size to its on-screen size (sharp on high-DPI screens). */
function fitCanvas(canvas) {
  const ratio = window.devicePixelRatio || 1;
  const width = Math.max(1, Math.round(canvas.clientWidth * ratio));
  const height = Math.max(1, Math.round(canvas.clientHeight * ratio));
  if (canvas.width !== width || canvas.height !== height) {
    canvas.width = width;
    canvas.height = height;
  }
}

function placeholder(canvas, text) {
  fitCanvas(canvas);
  const context = canvas.getContext('2d');
  context.clearRect(0, 0, canvas.width, canvas.height);
  context.fillStyle = '#8a929c';
  context.font = `${Math.round(14 * (window.devicePixelRatio || 1))}px system-ui, sans-serif`;
  context.textAlign = 'center';
  context.textBaseline = 'middle';
  context.fillText(text, canvas.width / 2, canvas.height / 2);
}

/**
 * Runs `draw` (a synchronous chart call into the wasm module) with style attributes
 * routed through the CSSOM. plotters measures text with a temporary
 * span.setAttribute('style', ...), which the page's CSP (style-src 'self') blocks, so the
 * measurement came out wrong and every label logged a violation; the same declarations
 * set as element.style.cssText are allowed. Only for the duration of the call.
 */
function withCssomStyles(draw) {
  const setAttribute = Element.prototype.setAttribute;
  Element.prototype.setAttribute = function setAttributeViaCssom(name, value) {
    if (String(name).toLowerCase() === 'style' && this instanceof HTMLElement) {
      this.style.cssText = String(value);
      return undefined;
    }
    return setAttribute.call(this, name, value);
  };
  try {
    return draw();
  } finally {
    Element.prototype.setAttribute = setAttribute;
  }
}

/** Redraws the charts and the table, or asks the loop to do it when a call is pending. */
function redraw() {
  if (!state.session) {
    drawPlaceholders();
    return;
  }
  if (state.inFlight) {
    state.redrawWanted = true;
    return;
  }
  state.redrawWanted = false;
  const started = performance.now();
  const session = state.session;
  const timed = (part, draw) => {
    const from = performance.now();
    draw();
    state.drawParts[part] = performance.now() - from;
  };
  try {
    timed('loss', () => {
      fitCanvas(ui.lossChart);
      withCssomStyles(() => session.draw_loss(ui.lossChart, ui.logSteps.checked));
    });
    timed('grads', () => {
      fitCanvas(ui.gradChart);
      withCssomStyles(() => session.draw_grads(ui.gradChart));
    });
    // Until the first read-back this shows the weights as initialized.
    timed('distribution', () => {
      fitCanvas(ui.distChart);
      withCssomStyles(() => session.draw_distribution(ui.distChart, ui.role.value));
    });
  } catch (error) {
    console.warn('drawing failed', error);
  }
  updateTable();
  state.lastDraw = performance.now();
  state.drawMs = state.lastDraw - started;
}

function drawPlaceholders() {
  placeholder(ui.lossChart, 'press Start: losses appear here');
  placeholder(ui.distChart, 'weight distributions appear here');
  placeholder(ui.gradChart, 'gradient norms appear here');
}

function clearOutputs() {
  state.runs = [];
  state.history = {};
  state.stepByRun = {};
  state.done = false;
  clear(ui.results);
  clear(ui.samples);
  drawPlaceholders();
}

function updateTable() {
  if (!state.session) return;
  let rows;
  try {
    rows = JSON.parse(state.session.results());
  } catch (error) {
    console.warn('results failed', error);
    return;
  }
  clear(ui.results);
  for (const row of rows) {
    const swatch = el('span', { className: 'swatch' });
    swatch.style.backgroundColor = row.colour; // CSSOM, allowed by the CSP
    // One row per init; with several seeds the numbers are means (± the spread).
    const name = row.seeds > 1 ? `${row.label ?? row.init} (${row.seeds} seeds)` : (row.label ?? row.init);
    const current = row.current_val_spread == null
      ? formatNumber(row.current_val, 4)
      : `${formatNumber(row.current_val, 4)} ± ${formatNumber(row.current_val_spread, 4)}`;
    const cells = [
      el('td', {}, [swatch, name]),
      el('td', { textContent: String(row.step ?? 0) }),
      el('td', { textContent: current }),
      el('td', { textContent: formatNumber(row.best_val, 4) }),
      el('td', { textContent: formatNumber(row.steps_to_25, 0) }),
      el('td', { textContent: formatNumber(row.steps_to_50, 0) }),
      el('td', { textContent: formatNumber(row.steps_to_100, 0) }),
      el('td', { textContent: row.speedup == null ? '–' : `${formatNumber(row.speedup, 2)}×` }),
      el('td', { className: `status-${row.status}`, textContent: row.status }),
    ];
    ui.results.append(el('tr', {}, cells));
  }
}

/** One line: where it trains (and why, after a fallback), then progress. */
function statusLine(what) {
  const total = state.parsed?.config.train.steps ?? 0;
  const step = Math.max(0, ...Object.values(state.stepByRun));
  const parts = [];
  if (state.backendNote) parts.push(state.backendNote);
  else if (state.sessionBackend) parts.push(`Training on ${backendName(state.sessionBackend)}`);
  parts.push(`${what} ${step} of ${total}`);
  if (state.running && state.stepsPerSecond > 0) {
    const rate = state.stepsPerSecond;
    parts.push(`${rate < 1 ? rate.toFixed(2) : rate.toFixed(1)} steps/s over all runs`);
  }
  setStatus(parts.join(' · '));
}

function setButtons() {
  const ready = state.hi !== null;
  ui.start.disabled = !ready;
  ui.start.textContent = state.session ? 'Restart' : 'Start';
  ui.pause.disabled = !state.session || state.done;
  ui.pause.textContent = state.running ? 'Pause' : 'Resume';
  if (!state.session) ui.pause.textContent = 'Pause';
  ui.reset.disabled = !state.session && !state.starting;
  const exportable = state.session !== null;
  ui.exportCsv.disabled = !exportable;
  ui.exportJson.disabled = !exportable;
  ui.exportPng.disabled = !exportable;
}

// ---------------------------------------------------------------- exports and the link

function stamp() {
  return new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
}

function exportText(kind) {
  if (!state.session || state.inFlight) {
    addMessage('Export: wait for the current step to finish (or pause), then try again.');
    return;
  }
  const text = kind === 'csv' ? state.session.export_csv() : state.session.export_json();
  const type = kind === 'csv' ? 'text/csv' : 'application/json';
  download(new Blob([text], { type }), `histinit-${stamp()}.${kind}`);
}

/** The three charts side by side in one PNG. */
async function exportPng() {
  const charts = [ui.lossChart, ui.distChart, ui.gradChart];
  const gap = 8;
  const height = Math.max(...charts.map((c) => c.height));
  const width = charts.reduce((sum, c) => sum + c.width, 0) + gap * (charts.length - 1);
  const canvas = el('canvas', { width, height });
  const context = canvas.getContext('2d');
  context.fillStyle = '#ffffff';
  context.fillRect(0, 0, width, height);
  let x = 0;
  for (const chart of charts) {
    context.drawImage(chart, x, 0);
    x += chart.width + gap;
  }
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, 'image/png'));
  if (blob) download(blob, `histinit-charts-${stamp()}.png`);
  else addMessage('Export PNG: the browser could not encode the image.', true);
}

async function copyLink() {
  const link = location.href;
  try {
    await navigator.clipboard.writeText(link);
    ui.linkFallbackLabel.hidden = true;
    addMessage('Link copied: whoever opens it gets these settings.');
  } catch {
    // No clipboard permission (or an insecure origin): show the link to copy by hand.
    ui.linkFallback.value = link;
    ui.linkFallbackLabel.hidden = false;
    ui.linkFallback.focus();
    ui.linkFallback.select();
  }
}

// ---------------------------------------------------------------- wiring

function wire() {
  const form = $('settings');
  // 'change' fires on commit (blur/enter/select), so the form is not rewritten mid-typing.
  form.addEventListener('change', (event) => {
    if (event.target === ui.sourceFile || event.target.closest('#run-list')) return;
    if (event.target === ui.source) {
      showSourceFields();
      if (ui.source.value === '@url' && !ui.sourceUrl.value) {
        ui.sourceUrl.focus();
        return; // wait for a URL
      }
    }
    settingsChanged();
  });
  form.addEventListener('submit', (event) => event.preventDefault());
  ui.sourceFile.addEventListener('change', async () => {
    const file = ui.sourceFile.files?.[0];
    if (!file) return;
    state.localFile = { name: file.name, kind: fileKind(file.name), bytes: await fileBytes(file) };
    showSourceFields();
    settingsChanged();
    addMessage(`Using the local file ${file.name}; a copied link does not include it.`);
  });
  ui.addRun.addEventListener('click', () => {
    const used = new Set(runSelects().map((s) => s.value));
    const next = state.inits.find((init) => !used.has(init.name))?.name ?? state.inits[0].name;
    addRunRow(next);
    if (needsOf([next]).histogram && !ui.source.value) ui.source.value = defaultSourceId(ui.preset.value);
    settingsChanged();
  });
  ui.removeRun.addEventListener('click', () => {
    const rows = ui.runList.querySelectorAll('li');
    if (rows.length > MIN_RUNS) rows[rows.length - 1].remove();
    updateRunButtons();
    settingsChanged();
  });
  ui.start.addEventListener('click', () => start());
  ui.pause.addEventListener('click', () => (state.running ? pause() : resume()));
  ui.reset.addEventListener('click', () => resetAll());
  ui.copyLink.addEventListener('click', () => copyLink());
  ui.exportCsv.addEventListener('click', () => exportText('csv'));
  ui.exportJson.addEventListener('click', () => exportText('json'));
  ui.exportPng.addEventListener('click', () => exportPng());
  ui.previousCsv.addEventListener('click', () => {
    if (state.previous?.csv) download(new Blob([state.previous.csv], { type: 'text/csv' }), `histinit-webgpu-${stamp()}.csv`);
  });
  ui.previousJson.addEventListener('click', () => {
    if (state.previous?.json) download(new Blob([state.previous.json], { type: 'application/json' }), `histinit-webgpu-${stamp()}.json`);
  });
  ui.logSteps.addEventListener('change', () => redraw());
  ui.role.addEventListener('change', () => redraw());
  new ResizeObserver(() => redraw()).observe(ui.lossChart);
}

async function main() {
  renderStudies($('study-links')); // plain links: they work even if the module does not load
  drawPlaceholders();
  try {
    const hi = await import('./pkg/histinit_web.js');
    await hi.default();
    state.hi = hi;
  } catch (error) {
    setStatus(`The model code did not load (${errorText(error)}). Build it with 'make web' and reload.`, true);
    return;
  }
  state.presets = JSON.parse(state.hi.presets());
  try {
    state.inits = JSON.parse(state.hi.init_methods());
  } catch {
    state.inits = FALLBACK_INITS.map((name) => ({ name, needs: 'none', description: '' }));
  }
  fillPresets();
  const index = await loadIndex();
  state.sources = index.entries;
  fillSources();

  const parsed = parseLink(location.search);
  if (!parsed.config.source && needsOf(parsed.config.inits).histogram && state.sources.length) {
    // Histogram inits without a source: pick the shipped one that suits the preset, so
    // the link names it and reproduces the experiment.
    parsed.config.source = defaultSourceId(parsed.config.preset);
  }
  applyConfig(parsed);
  const settled = parseLink(`?${buildQuery(formPairs())}`);
  state.parsed = settled;
  writeLink(settled);
  if (index.error) addMessage(index.error);

  wire();
  setButtons();
  state.timing.moduleReady = performance.now();
  setStatus('Ready: press Start.');
}

main();
