// histinit playground, the controller: the settings (one object bound to the form and
// the link), one run state machine, and a training loop that drives a worker (trainer.js,
// worker.js: the model trains there, so the page never waits on a step) one awaited
// step at a time. Charts and results are drawn here, from the worker's views, by
// charts.js and results.js; the form is built by settings.js.

import { clear, download, el, errorText } from './dom.js';
import { isUrl } from './link.js';
import { bindForm, queryOf, settingsFromQuery } from './settings.js';
import { drawCharts, drawLoss, drawPlaceholders, chartsPng, pngOf } from './charts.js';
import { labelsByDifference, renderCurveTable, renderResults, renderRuns, renderSamples, RUN_FIELDS } from './results.js';
import { attachReadout, gradText, lossText } from './readout.js';
import { askToFetch, dismissPrompt, fetchBytes, fileBytes, fileKind, formatBytes, loadIndex, shippedUrl } from './sources.js';
import { renderStudies } from './studies.js';
import { noTrajectoryText, trajectoryCaption, trajectoryEnd, trajectoryRows } from './trajectory.js';
import { Trainer } from './trainer.js';

const REDRAW_MS = 250; // charts at most four times a second...
const CALM_REDRAW_MS = 1000; // ...or once a second for readers who asked for less motion
const DRAW_SHARE = 0.2; // ...and drawing at most a fifth of the time (it blocks the page)
const SNAPSHOT_EVERY = 25; // steps between weight read-backs for the distribution chart
const SAMPLE_EVERY = 100; // steps between text samples
const SAMPLE_LENGTH = 120; // characters per sample
const MIN_RUNS = 1;
const MAX_RUNS = 4;

const $ = (id) => document.getElementById(id);

const ui = {
  form: $('settings'),
  advanced: $('advanced'),
  advancedFields: $('advanced-fields'),
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
  preset: $('preset'),
  presetShape: $('preset-shape'),
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
  charts: { loss: $('loss-chart'), dist: $('dist-chart'), grad: $('grad-chart'), traj: $('trajectory-chart') },
  logSteps: $('log-steps'),
  xAxis: $('x-axis'),
  readouts: { loss: $('loss-readout'), grad: $('grad-readout'), traj: $('trajectory-readout') },
  cursors: { loss: $('loss-cursor'), grad: $('grad-cursor'), traj: $('trajectory-cursor') },
  trajectoryCaption: $('trajectory-caption'),
  trajectoryNone: $('trajectory-none'),
  runsTable: $('runs-table').querySelector('tbody'),
  curveData: $('curve-data'),
  curveTable: $('curve-table').querySelector('tbody'),
  curveEvery: $('curve-every'),
  role: $('role'),
  results: $('results').querySelector('tbody'),
  samples: $('samples'),
  samplePrompt: $('sample-prompt'),
  samplePromptFrom: $('sample-prompt-from'),
  corpusName: $('corpus-name'),
  corpusFile: $('corpus-file'),
  corpusPaste: $('corpus-paste'),
  corpusPasteUse: $('corpus-paste-use'),
  corpusBundled: $('corpus-bundled'),
  corpusNote: $('corpus-note'),
  lesson: $('lesson'),
  fixedNote: $('fixed-note'),
  showAll: $('show-all'),
  openFull: $('open-full'),
  openFullLink: $('open-full-link'),
  hideField: $('hide-field'),
  classroomOpen: $('classroom-open'),
};

const BUNDLED_PROMPT = 'And God said';
const PASTED_NAME = 'pasted.txt';

const state = {
  hi: null, // the wasm module
  schema: [], // link_schema(): [{key, kind, role, label, choices, default}]
  presets: [],
  inits: [], // [{name, needs, description}]
  sources: [], // index.json entries
  form: null, // bindForm(): the form bound to the schema
  settings: {}, // link key -> string: what the form shows and the link says
  localFile: null, // {name, kind, bytes}
  text: null, // the visitor's text: {name, bytes, info: check_corpus()}; never leaves the page
  sourceCache: new Map(), // url -> bytes, so a CPU restart does not fetch again
  trainer: null, // the training worker (trainer.js)
  session: null, // the worker's session (a RemoteSession)
  sessionBackend: null,
  sessionSettings: null, // the settings the session trains (the form may have moved on)
  backendNote: '', // why the backend is not the one asked for
  runs: [], // session.runs()
  history: {}, // run id -> [step report: {step, tokens, train_loss, val_loss, lr, grad_norm, ms, at, t}]
  // The page's clock (not in the link: it is this machine's): seconds of training since
  // the session began, paused time left out. clock[k]: when every run had done k + 1 updates.
  clock: [],
  clockStart: 0,
  pausedMs: 0,
  pausedAt: null,
  frames: { loss: null, grad: null, traj: null }, // where the last draw put the data (readouts)
  readers: null, // attachReadout() of the loss, gradient and trajectory charts
  // The worker's last view of the runs (session.view(role)): what the charts and tables show.
  charts: null, // Charts (the module's drawer) of the view's series
  trajectory: null, // the trajectory chart's numbers
  results: [], // the results table's rows
  hiddenPause: false, // paused because the tab went to the background
  workerBusy: false, // a call into the worker's session is awaited
  stepByRun: {},
  diverged: new Set(),
  lastDraw: 0,
  drawMs: 0, // how long the last redraw took
  drawParts: {}, // ...and each chart in it (ms), for the benchmark
  nextSnapshot: SNAPSHOT_EVERY,
  nextSample: SAMPLE_EVERY,
  stepsPerSecond: 0,
  previous: null, // {csv, json} of a run interrupted by a lost device or a module abort
  moduleLoads: 0, // how many times the page's wasm module was loaded (a reload follows its abort)
  aborted: null, // {error, where: 'page' | 'worker'}: the trap that stopped that instance
  workerMemory: null, // bytes of the training worker's wasm memory, after the last step
  timing: { moduleReady: null, startClicked: null, prepared: null, firstStep: null },
};

/**
 * The run's state machine: idle → preparing → running ⇄ paused → done | failed (Start
 * goes to preparing from any phase, Reset to idle). `epoch` bumps on Start, Pause and
 * Reset: an async continuation from an older epoch (a superseded Start, a loop told to
 * stop) ends without touching the page. The buttons derive from the phase.
 */
const run = { phase: 'idle', epoch: 0, loop: null };

function setPhase(phase) {
  run.phase = phase;
  setButtons();
}

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
  /** Bytes of the training worker's wasm memory (benchmarks/page-memory.mjs). */
  get wasmBytes() {
    return state.workerMemory;
  },
  get drawParts() {
    return { ...state.drawParts, total: state.drawMs };
  },
  get runs() {
    return state.runs;
  },
  get phase() {
    return run.phase;
  },
  get done() {
    return run.phase === 'done';
  },
  get running() {
    return run.phase === 'running';
  },
  get previous() {
    return state.previous;
  },
  get settings() {
    return { ...state.settings };
  },
  get frames() {
    return { ...state.frames };
  },
  get trajectory() {
    return state.trajectory;
  },
  get clock() {
    return [...state.clock];
  },
  get redrawMs() {
    return redrawMs();
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

// ---------------------------------------------------------------- the form's own controls

function initInfo(name) {
  return state.inits.find((init) => init.name === name) ?? { name, needs: 'none', description: '' };
}

function initList(value) {
  return (value ?? '').split(',').filter(Boolean);
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

/** The run rows: one select per init of the comma-separated list. */
const runsWidget = {
  read: () => runSelects().map((select) => select.value).join(','),
  write(_, value) {
    // Rebuilding the rows loses focus: keep it on the row that had it.
    const focused = runSelects().indexOf(document.activeElement);
    clear(ui.runList);
    for (const name of initList(value)) addRunRow(name);
    updateRunButtons();
    if (focused >= 0) runSelects()[focused]?.focus();
  },
};

/** The source: a shipped id, a URL (its own field), or a local file (not in the link). */
/** The `corpus` key: the name of the visitor's text file, shown read-only (files are picked beside it). */
const corpusWidget = {
  read(element) {
    return element.value.trim();
  },
  write(element, value) {
    element.value = value;
    showCorpusNote(value);
  },
};

/** Whether the text the settings name is the one picked here. */
function textPicked(name) {
  return Boolean(name) && state.text?.name === name;
}

/** The visitor's text the settings name, or null (the bundled corpus, or not picked). */
function textFor(settings) {
  return textPicked(settings.corpus) ? state.text : null;
}

/** Says what the runs train on and, for a text file, that a link needs the same file. */
function showCorpusNote(name) {
  ui.corpusNote.classList.remove('error');
  let prompt = BUNDLED_PROMPT;
  let from = 'the corpus is the King James Bible';
  if (!name) {
    ui.corpusNote.textContent = 'The bundled King James Bible. Pick a text file or paste text to train on your own.';
  } else if (textPicked(name)) {
    const { info } = state.text;
    const stray = info.invalid_bytes ? `; ${info.invalid_bytes} byte${info.invalid_bytes === 1 ? '' : 's'} not UTF-8, replaced` : '';
    ui.corpusNote.textContent =
      `Training on your text '${name}' (${formatBytes(info.bytes)}${stray}), split teacher/student/validation ` +
      `as histinit run --corpus splits it. It stays in this browser: a copied link names the file but does not ` +
      `carry it, so reproducing the run needs the same file (here, or histinit run --link '<link>' --corpus ${name}).`;
    prompt = info.prompt;
    from = `the first words of your text's training split`;
  } else {
    ui.corpusNote.textContent =
      `This link trains on the text file '${name}', which a link names but does not carry: pick that same file ` +
      `above to reproduce the run (or go back to the King James Bible). Start waits for it.`;
    ui.corpusNote.classList.add('error');
  }
  ui.samplePrompt.textContent = prompt;
  ui.samplePromptFrom.textContent = from;
}

/** Reads `bytes` as the text `name` (check_corpus: size, stray bytes, prompt); on success the settings name it. */
function useText(name, bytes) {
  let info;
  try {
    info = state.hi.check_corpus(bytes, Number(state.settings.context) || 0);
  } catch (error) {
    if (noteAbort(error)) return;
    const message = `${name}: ${errorText(error)}`;
    addMessage(message, true);
    ui.corpusNote.textContent = `${message}. Still training on ${state.settings.corpus ? `'${state.settings.corpus}'` : 'the King James Bible'}.`;
    ui.corpusNote.classList.add('error');
    return;
  }
  state.text = { name, bytes, info };
  changeSettings({ ...state.settings, corpus: name });
  if (state.settings.corpus !== name) {
    // parse_link refused the name (and said why): a link could not name this file.
    ui.corpusNote.textContent = `This file's name cannot go in a link (the message above says why): rename the file and pick it again.`;
    ui.corpusNote.classList.add('error');
    return;
  }
  if (info.warning) addMessage(`${name}: ${info.warning}.`);
}

const sourceWidget = {
  read() {
    if (ui.source.value === '@url') return ui.sourceUrl.value.trim();
    if (ui.source.value === '@file') return '';
    return ui.source.value;
  },
  write(_, value) {
    if (isUrl(value)) {
      ui.source.value = '@url';
      ui.sourceUrl.value = value;
    } else if (value) {
      ui.source.value = value;
      if (ui.source.value !== value) {
        // An id this page does not ship: keep it visible (Start will say what is missing).
        ui.source.insertBefore(
          el('option', { value, textContent: `${value} (not shipped here)` }),
          ui.source.lastElementChild.previousElementSibling,
        );
        ui.source.value = value;
      }
    } else if (ui.source.value !== '@file') {
      ui.source.value = '';
    }
    showSourceFields();
  },
};

// ---------------------------------------------------------------- classroom and embed links

/** The `hide` key: a checkbox per name it takes (the schema's choices: the page's sections, then settings). */
const hideWidget = {
  read: () => [...ui.hideField.querySelectorAll('input:checked')].map((box) => box.value).join(','),
  write(_, value) {
    const names = new Set(initList(value));
    for (const box of ui.hideField.querySelectorAll('input')) box.checked = names.has(box.value);
  },
};

function fillHideChoices() {
  const entry = state.schema.find((e) => e.key === 'hide');
  const labels = new Map(state.schema.map((e) => [e.key, e.label]));
  for (const name of entry.choices) {
    const box = el('input', { type: 'checkbox', value: name });
    const text = labels.has(name) ? labels.get(name) : `${name} (section)`;
    ui.hideField.append(el('label', { className: 'inline', title: `link name '${name}'` }, [box, text]));
  }
}

/** What a `hide` name hides: a page section (data-group) or a setting's field. */
function hideTarget(name) {
  const group = document.querySelector(`[data-group="${CSS.escape(name)}"]`);
  if (group) return group;
  const field = ui.form.querySelector(`[data-key="${CSS.escape(name)}"]`);
  return field ? (field.closest('[data-field]') ?? field.closest('label') ?? field) : null;
}

/** The elements the link hid (so that Show all controls can bring them back). */
const hiddenByLink = [];

/**
 * Shows the page as a link asks: `hide` names hidden (a fieldset left empty with them),
 * the compact layout for `embed`. Only on opening a link: a teacher building one keeps
 * every control.
 */
function applyView(hide, embed) {
  revealAll();
  for (const name of initList(hide)) {
    const target = hideTarget(name);
    if (target && !target.hidden) {
      target.hidden = true;
      hiddenByLink.push(target);
    }
  }
  for (const fieldset of ui.form.querySelectorAll('fieldset')) {
    const fields = [...fieldset.querySelectorAll('[data-key]')];
    if (!fieldset.hidden && fields.length && fields.every((field) => field.closest('[hidden]'))) {
      fieldset.hidden = true;
      hiddenByLink.push(fieldset);
    }
  }
  ui.fixedNote.hidden = hiddenByLink.length === 0;
  document.body.classList.toggle('embed', embed);
  ui.openFull.hidden = !embed;
}

function revealAll() {
  for (const target of hiddenByLink.splice(0)) target.hidden = false;
  ui.fixedNote.hidden = true;
}

/** The lesson as plain text: a paragraph per line. */
function showLesson(text) {
  clear(ui.lesson);
  for (const line of (text ?? '').split('\n')) {
    if (line.trim()) ui.lesson.append(el('p', { textContent: line }));
  }
  ui.lesson.hidden = !ui.lesson.firstChild;
}

/** The address without `key` (the full page from an embed link). */
function addressWithout(key) {
  const url = new URL(location.href);
  url.searchParams.delete(key);
  return url.href;
}

function fillPresets() {
  for (const option of ui.preset.options) {
    const preset = state.presets.find((p) => p.name === option.value);
    if (!preset) continue;
    const params = preset.parameters >= 1e6 ? `${(preset.parameters / 1e6).toFixed(1)} M` : `${(preset.parameters / 1e3).toFixed(0)} k`;
    option.textContent = `${preset.name} (${params} parameters)`;
  }
}

function describePreset() {
  const { settings } = state;
  const preset = state.presets.find((p) => p.name === settings.preset);
  if (!preset) {
    ui.presetShape.textContent = '';
    return;
  }
  // The shape overrides are the optional counts that a preset fixes (empty: the preset's).
  const shape = { ...preset };
  let overridden = false;
  for (const { key, kind } of state.schema) {
    if (kind === 'optional_count' && key in preset && settings[key]) {
      shape[key] = Number(settings[key]);
      overridden = true;
    }
  }
  ui.presetShape.textContent = `${shape.layers} layers, width ${shape.width}, ${shape.heads} heads, context up to ${preset.context}${overridden ? ' (shape overridden: see Advanced)' : ''}`;
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

/** Histogram inits without a source: the shipped one that suits the preset (so the link names it). */
function withDefaultSource(settings) {
  if (settings.source || ui.source.value === '@file' || !needsOf(initList(settings.inits)).histogram) return settings;
  return { ...settings, source: defaultSourceId(settings.preset) };
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
  showTrajectory();
}

// ---------------------------------------------------------------- settings and the link

/** Reads `search` with the module's forgiving parser; shows its warnings. */
function parseLink(search) {
  const parsed = state.hi.parse_link(search);
  for (const warning of parsed.warnings ?? []) addMessage(`Link: ${warning}`);
  return parsed;
}

/**
 * Puts `settings` through parse_link and makes its canonical query the page's truth:
 * the settings object, every field of the form, and the address. Returns the parse.
 */
function settle(settings) {
  const parsed = parseLink(`?${queryOf(state.schema, settings)}`);
  state.settings = settingsFromQuery(state.schema, parsed.query);
  state.form.show(state.settings);
  describePreset();
  history.replaceState(null, '', `${location.pathname}${parsed.query ? `?${parsed.query}` : ''}${location.hash}`);
  showLesson(state.settings.lesson);
  ui.classroomOpen.href = location.href;
  ui.openFullLink.href = addressWithout('embed');
  return parsed;
}

/** The settings changed by hand: settle them, and say that a running session keeps its own. */
function changeSettings(settings) {
  clearMessages();
  const before = state.settings;
  settle(settings);
  // The page's own keys (hide, lesson, embed) change no number of a run.
  const experimentChanged = state.schema.some(({ key, role }) => role === 'experiment' && before[key] !== state.settings[key]);
  if (state.session && experimentChanged) {
    addMessage('Settings changed: press Start to train with them (the current runs keep their settings).');
  }
}

/** A field was changed by hand: its key takes the field's value. */
function fieldChanged(field) {
  changeSettings({ ...state.settings, [field.dataset.key]: state.form.read(field) });
}

/** Opens Advanced when the link sets any of its keys away from the default. */
function openAdvancedIfUsed() {
  const byKey = new Map(state.schema.map((entry) => [entry.key, entry]));
  const used = state.form.advancedKeys.filter((key) => state.settings[key] !== (byKey.get(key).default ?? ''));
  if (used.length) ui.advanced.open = true;
}

// ---------------------------------------------------------------- sources for a session

async function cachedBytes(url, what, kind) {
  if (!state.sourceCache.has(url)) state.sourceCache.set(url, await fetchBytes(url, what, kind));
  return state.sourceCache.get(url);
}

/**
 * The histogram/weights files the runs need, as [{kind, bytes, label}]. A source that
 * fails to load is a message; prepare() then says which init misses it.
 */
async function gatherSources(settings) {
  const needs = needsOf(initList(settings.inits));
  const out = [];
  if (ui.source.value === '@file') {
    if (state.localFile) {
      out.push({ kind: state.localFile.kind, bytes: state.localFile.bytes, label: state.localFile.name });
    } else if (needs.histogram) {
      addMessage('No file picked: choose a histogram or weights file, or another source.', true);
    }
    return out;
  }
  const source = settings.source;
  if (!source) {
    if (needs.histogram) addMessage('These inits need a histogram source: pick one under "Histogram source".', true);
    return out;
  }
  if (isUrl(source)) {
    try {
      // Another origin: only after the reader saw its host and size and pressed Fetch.
      if (!state.sourceCache.has(source)) await askToFetch(source, { container: $('consent'), what: 'the histogram' });
      out.push({ kind: 'histogram', bytes: await cachedBytes(source, 'the histogram', 'histogram'), label: source });
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
  if (typeof entry.trajectory === 'string') {
    // Only for the trajectory chart: a failure is a message, the runs train anyway.
    try {
      out.push({ kind: 'trajectory', bytes: await cachedBytes(shippedUrl(entry.trajectory), `the trajectory of '${entry.id}'`, 'histogram'), label: entry.id });
    } catch (error) {
      addMessage(errorText(error), true);
    }
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

/**
 * Creates and prepares a session on `backend` in the worker; throws with the reason on
 * failure. A source the session cannot use is a message (prepare() then says which init
 * misses it).
 */
async function openSession(query, backend, sources, text) {
  state.workerBusy = true;
  try {
    const { session, problems } = await state.trainer.open(query, backend, sources, text);
    for (const problem of problems) addMessage(problem, true);
    return session;
  } catch (error) {
    for (const problem of error.problems ?? []) addMessage(problem, true);
    noteAbort(error, 'worker');
    throw error;
  } finally {
    state.workerBusy = false;
  }
}

async function webgpuProblem() {
  if (!('gpu' in navigator)) return 'this browser has no navigator.gpu';
  try {
    if (!(await state.trainer.webgpuAvailable())) return 'no WebGPU adapter';
  } catch (error) {
    return errorText(error);
  }
  return null;
}

// ---------------------------------------------------------------- the run

/** Ends the current epoch and waits for its loop; returns the new epoch. */
async function newEpoch() {
  const epoch = ++run.epoch;
  if (run.loop) await run.loop;
  return epoch;
}

function freeSession() {
  state.session?.free();
  state.session = null;
  state.sessionBackend = null;
  forgetView();
}

async function start() {
  const named = state.settings.corpus;
  if (named && !textPicked(named)) {
    // Never train on the King James Bible in place of the text the link names.
    setStatus(`Pick the text file '${named}' first (under "Text"): this link trains on it, and a link does not carry it.`, true);
    showCorpusNote(named);
    ui.corpusFile.focus();
    return;
  }
  state.timing.startClicked ??= performance.now();
  const epoch = await newEpoch();
  // A later Start or Reset supersedes this one: it checks after every await.
  const superseded = () => epoch !== run.epoch;
  if (superseded()) return;
  freeSession();
  clearMessages();
  state.backendNote = '';
  clearOutputs();
  setPhase('preparing');
  settle(state.settings);
  const settings = state.settings;
  state.sessionSettings = settings;
  const query = queryOf(state.schema, settings);
  if (state.trainer.dead) {
    // The worker died outside a request (its script failed, or the browser stopped it).
    setStatus('Starting a new training worker…');
    try {
      await newTrainer();
    } catch (error) {
      if (!superseded()) failed(`Could not start: ${errorText(error)}`);
      return;
    }
    if (superseded()) return;
  }
  setStatus('Loading histogram sources…');
  const sources = await gatherSources(settings);
  if (superseded()) return;

  let backend = settings.backend;
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
  setStatus(`Preparing ${initList(settings.inits).length} init(s) on ${backendName(backend)}…`);
  let session;
  try {
    session = await openSession(query, backend, sources, textFor(settings));
  } catch (error) {
    if (superseded()) return;
    if (state.aborted) {
      await recoverFromAbort(epoch);
      return;
    }
    if (backend !== 'webgpu' || settings.backend !== 'auto') {
      const hint = backend === 'webgpu' ? " (choose backend 'auto' or 'CPU' to train without WebGPU)" : '';
      failed(`Could not start: ${errorText(error)}${hint}`);
      return;
    }
    state.backendNote = `WebGPU not available here (${errorText(error)}); training on the CPU in WebAssembly instead`;
    backend = 'cpu';
    try {
      session = await openSession(query, backend, sources, textFor(settings));
    } catch (cpuError) {
      if (!superseded()) failed(`Could not start: ${errorText(cpuError)}`);
      return;
    }
  }
  if (superseded()) {
    session.free();
    return;
  }
  state.session = session;
  state.sessionBackend = backend;
  state.timing.prepared = performance.now();
  beginTraining();
  const where = backendName(backend);
  const first = backend === 'webgpu' ? ' (the first step compiles shaders and can take a while)' : '';
  setStatus(state.backendNote ? `${state.backendNote} · first step…` : `Training on ${where}: first step${first}…`);
  run.loop = drive(run.epoch);
}

function failed(message) {
  setStatus(message, true);
  setPhase('failed');
}

/** A fresh session's runs, progress and table; the phase becomes running. */
function beginTraining() {
  state.runs = state.session.runs;
  resetProgress();
  updateTable();
  setPhase('running');
}

function resume() {
  if (run.phase !== 'paused') return;
  if (state.pausedAt !== null) state.pausedMs += performance.now() - state.pausedAt;
  state.pausedAt = null;
  state.hiddenPause = false;
  setPhase('running');
  run.loop = drive(run.epoch);
}

/**
 * The tab went to the background: the loop pauses before its next step (a hidden page
 * would only heat the machine, and its clock would count time nobody watched), says
 * so, and resumes when the tab is shown again. Called by the loop itself.
 */
function pauseHidden() {
  state.hiddenPause = true;
  setPhase('paused');
  state.pausedAt = performance.now();
  statusLine('paused while this tab is hidden (it goes on when you come back): step');
}

function visibilityChanged() {
  if (!document.hidden && state.hiddenPause && run.phase === 'paused') resume();
}

async function pause() {
  state.hiddenPause = false; // paused by hand: stays paused when the tab comes back
  if (run.phase !== 'running') return;
  await newEpoch();
  // The loop may have finished (done, or failed) while the last step completed.
  if (run.phase !== 'running') return;
  setPhase('paused');
  state.pausedAt = performance.now();
  statusLine('paused at step');
}

async function resetAll() {
  const waiting = newEpoch(); // also cancels a Start in progress
  if (state.workerBusy) {
    // A step (a first WebGPU step can take a minute) or a prepare is running in the
    // worker: stop it rather than wait. The next Start starts a fresh worker.
    state.trainer.terminate();
  }
  await waiting;
  dismissPrompt($('consent')); // ...and a Start waiting for consent to fetch
  freeSession();
  state.runs = [];
  state.backendNote = '';
  clearOutputs();
  clearMessages();
  ui.previous.hidden = true;
  setPhase('idle');
  setStatus('Ready: press Start.');
}

/**
 * Trains until done, a failure, or the end of `epoch`. A step that fails on WebGPU (a
 * lost device) keeps what was learned and goes on with a fresh session on the CPU.
 */
async function drive(epoch) {
  try {
    for (;;) {
      const outcome = await trainLoop(epoch);
      if (outcome.stopped) return;
      if (outcome.done) {
        setPhase('done');
        await refreshView();
        statusLine('done: step');
        return;
      }
      if (state.aborted) {
        await recoverFromAbort(epoch);
        return;
      }
      if (state.sessionBackend !== 'webgpu') {
        failed(`Training stopped: ${errorText(outcome.error)}`);
        return;
      }
      if (!(await restartOnCpu(outcome.error, epoch))) return;
    }
  } catch (error) {
    if (noteAbort(error, 'page')) {
      await recoverFromAbort(epoch);
      return;
    }
    // A bug in the page, not in training: say so rather than stall silently.
    console.error(error);
    failed(`Training stopped: ${errorText(error)}`);
  }
}

/**
 * Whether `error` is a trap of a wasm instance (a Rust panic aborts it: `unreachable`),
 * in the worker (a rejected worker call) or in the page's own module (`where`: 'page').
 * The first one is kept in state.aborted; from then on that instance is not called
 * again (its memory may be half-updated) until a fresh one replaces it.
 */
function noteAbort(error, where) {
  if (!(error instanceof WebAssembly.RuntimeError)) return false;
  state.aborted ??= { error, where };
  return true;
}

/** Loads the page's wasm module (drawing, links); each later load is a new instance. */
async function loadModule() {
  state.moduleLoads += 1;
  // The fragment names a new module (and wasm instance) of the same file.
  const hi = await import(state.moduleLoads === 1 ? './pkg/histinit_web.js' : `./pkg/histinit_web.js#load-${state.moduleLoads}`);
  await hi.default();
  return hi;
}

/** A new training worker (the old one, if any, is stopped); resolves once its module loaded. */
async function newTrainer() {
  state.trainer?.terminate();
  state.trainer = new Trainer();
  await state.trainer.ready;
}

/**
 * An instance aborted: keep the curves the page received (picture, CSV and JSON through
 * the page's writer), replace the instance that trapped (the worker, or the page's own
 * module), and let the reader start again.
 */
async function recoverFromAbort(epoch) {
  const { error: trap, where } = state.aborted;
  const step = Math.max(0, ...Object.values(state.stepByRun));
  // Never call into the dead instance, not even to free the session.
  state.session = null;
  state.sessionBackend = null;
  setPhase('preparing');
  setStatus(`The model code stopped at step ${step} (${errorText(trap)}); reloading it…`, true);
  try {
    if (where === 'page') {
      forgetView(); // its drawer lived in the dead instance
      state.hi = await loadModule();
    }
    await newTrainer();
  } catch (error) {
    if (epoch === run.epoch) failed(`The model code stopped at step ${step} (${errorText(trap)}) and could not be reloaded (${errorText(error)}): reload the page; the curves drawn so far stay on screen.`);
    return;
  }
  state.aborted = null;
  const note = `The model code stopped at step ${step} (${errorText(trap)}): a bug, please report it with this page's link. The model code was reloaded; the curves it had are kept here.`;
  const kept = state.runs.map((r) => ({ init: r.init, seed: r.seed, points: state.history[r.id] ?? [] }));
  const previous = { note, csv: null, json: null };
  try {
    previous.csv = state.hi.kept_curves_csv(kept);
  } catch (error) {
    console.warn('the kept curves could not be written', error);
  }
  previous.json = JSON.stringify({ link: queryOf(state.schema, state.sessionSettings ?? state.settings), aborted: errorText(trap), runs: kept }, null, 2);
  await showPrevious(previous);
  if (epoch !== run.epoch) return;
  failed(`The model code stopped at step ${step} and was reloaded; its curves are kept below. Press Start to train again.`);
  setButtons();
}

/** WebGPU failed mid-run: keep its curves and exports, continue on the CPU. */
async function restartOnCpu(error, epoch) {
  const message = errorText(error);
  const step = Math.max(0, ...Object.values(state.stepByRun));
  setPhase('preparing');
  await keepPrevious(state.session, `WebGPU stopped at step ${step} (${message}). Its curves and exports are kept here; training restarted on the CPU.`);
  freeSession();
  // The next WebGPU session opens a new device instead of the one that failed.
  await state.trainer.forgetWebgpuDevice().catch((error) => console.warn('forgetting the WebGPU device failed', error));
  state.backendNote = `WebGPU stopped at step ${step} (${message}); restarted on the CPU in WebAssembly`;
  setStatus(`${state.backendNote} · preparing…`);
  let session;
  try {
    const settings = state.sessionSettings;
    session = await openSession(queryOf(state.schema, settings), 'cpu', await gatherSources(settings), textFor(settings));
  } catch (cpuError) {
    if (epoch === run.epoch) failed(`${state.backendNote}, but the CPU failed too: ${errorText(cpuError)}`);
    return false;
  }
  if (epoch !== run.epoch) {
    session.free(); // Start or Reset was pressed meanwhile
    return false;
  }
  state.session = session;
  state.sessionBackend = 'cpu';
  beginTraining();
  return true;
}

function resetProgress() {
  state.history = {};
  state.clock = [];
  state.clockStart = performance.now();
  state.pausedMs = 0;
  state.pausedAt = null;
  state.stepByRun = {};
  state.diverged = new Set();
  state.nextSnapshot = SNAPSHOT_EVERY;
  state.nextSample = SAMPLE_EVERY;
  state.lastDraw = 0;
  state.stepsPerSecond = 0;
  for (const r of state.runs) state.history[r.id] = [];
}

/** Awaits a call into the worker's session; a trap there is noted. */
async function sessionCall(call) {
  state.workerBusy = true;
  try {
    return await call();
  } catch (error) {
    noteAbort(error, 'worker');
    throw error;
  } finally {
    state.workerBusy = false;
  }
}

/**
 * Steps until every run is done ({done}), a step fails ({error}) or the epoch ends
 * ({stopped}). The step runs in the worker: this loop only waits for it, so the page
 * stays responsive however long a step takes.
 */
async function trainLoop(epoch) {
  const session = state.session;
  let windowStart = performance.now();
  let windowSteps = 0;
  while (epoch === run.epoch) {
    if (document.hidden) {
      pauseHidden();
      return { stopped: true };
    }
    let result;
    try {
      result = await sessionCall(() => session.step());
    } catch (error) {
      return epoch === run.epoch ? { error } : { stopped: true };
    }
    state.timing.firstStep ??= performance.now();
    state.workerMemory = result.memory;
    // Recorded even if the epoch ended meanwhile: the session took the step.
    record(result.report);

    windowSteps += 1;
    const now = performance.now();
    if (now - windowStart > 1000) {
      state.stepsPerSecond = (windowSteps * 1000) / (now - windowStart);
      windowStart = now;
      windowSteps = 0;
    }
    const step = Math.max(...Object.values(state.stepByRun));
    if (step >= state.nextSnapshot || result.report.done) {
      state.nextSnapshot = step + SNAPSHOT_EVERY;
      await snapshot(session);
    }
    if (step >= state.nextSample || result.report.done) {
      state.nextSample = step + SAMPLE_EVERY;
      await showSamples(session);
    }
    if (result.report.done) return { done: true };
    const interval = Math.max(redrawMs(), state.drawMs / DRAW_SHARE);
    if (now - state.lastDraw > interval) {
      await refreshView(session);
      statusLine('step');
    }
  }
  return { stopped: true };
}

function record(result) {
  const history = (state.history[result.run] ??= []);
  history.push({
    step: result.step,
    tokens: result.tokens,
    train_loss: result.train_loss,
    val_loss: result.val_loss ?? null,
    lr: result.lr,
    grad_norm: result.grad_norm,
    ms: result.ms, // inside session.step (training step, evaluation if due, read-back)
    at: performance.now(), // when the page got it (benchmarks/page-vs-native.mjs)
    t: trainingSeconds(), // the page's clock (the wall-clock axis)
  });
  const done = history.length - 1;
  state.clock[done] = Math.max(state.clock[done] ?? 0, history.at(-1).t);
  // Steps done, counted here: report.step is the index of the step just taken.
  state.stepByRun[result.run] = history.length;
  if (result.diverged && !state.diverged.has(result.run)) {
    state.diverged.add(result.run);
    const r = state.runs.find((candidate) => candidate.id === result.run);
    addMessage(`${r?.label ?? `run ${result.run}`} diverged at step ${history.length} (its loss is no longer finite); the other runs continue.`, true);
  }
}

async function snapshot(session) {
  try {
    await sessionCall(() => session.snapshot_weights());
  } catch (error) {
    console.warn('weight snapshot failed', error);
  }
}

async function showSamples(session) {
  let samples;
  try {
    samples = await sessionCall(() => session.samples(SAMPLE_LENGTH));
  } catch (error) {
    console.warn('sampling failed', error);
    return;
  }
  renderSamples(ui.samples, samples, state.runs);
}

async function keepPrevious(session, note) {
  const previous = { note, csv: null, json: null };
  try {
    previous.csv = await session.export_csv();
    previous.json = await session.export_json();
    // Draw the latest curves first: the picture is all that is left of them on screen.
    takeView(await session.view(ui.role.value));
    drawLoss(state.charts, ui.charts.loss, ui.logSteps.checked);
  } catch (error) {
    console.warn('export of the interrupted run failed', error);
  }
  await showPrevious(previous);
}

/** Shows an interrupted run: its note, a picture of the loss chart as drawn, its exports. */
async function showPrevious(previous) {
  state.previous = previous;
  ui.previousText.textContent = previous.note;
  ui.previousCsv.hidden = previous.csv === null;
  ui.previousJson.hidden = previous.json === null;
  const blob = await pngOf(ui.charts.loss);
  if (blob) {
    if (ui.previousImage.src.startsWith('blob:')) URL.revokeObjectURL(ui.previousImage.src);
    ui.previousImage.src = URL.createObjectURL(blob);
  }
  ui.previous.hidden = false;
}

// ---------------------------------------------------------------- drawing

/** Keeps the worker's `view` (session.view): the charts' drawer, the trajectory, the results. */
function takeView(view) {
  const charts = state.hi.Charts.from_json(view.charts);
  state.charts?.free();
  state.charts = charts;
  state.trajectory = view.trajectory;
  state.results = view.results;
}

function forgetView() {
  try {
    state.charts?.free();
  } catch (error) {
    console.warn('freeing the charts failed', error);
  }
  state.charts = null;
  state.trajectory = null;
  state.results = [];
}

/** Asks the worker for the current view of `session` (the current one by default), then redraws. */
async function refreshView(session = state.session) {
  if (!session) return;
  let view;
  try {
    view = await sessionCall(() => session.view(ui.role.value));
  } catch (error) {
    if (!noteAbort(error, 'worker')) console.warn('the view of the runs failed', error);
    return;
  }
  if (session !== state.session || state.aborted) return; // replaced meanwhile
  try {
    takeView(view);
  } catch (error) {
    if (!noteAbort(error, 'page')) console.warn('the charts could not be read', error);
    return;
  }
  redraw();
}

/** Redraws the charts and the table from the last view. */
function redraw() {
  if (!state.session || !state.charts) {
    drawPlaceholders(ui.charts);
    return;
  }
  if (state.aborted?.where === 'page') return; // the loop is reloading the module
  const started = performance.now();
  const clock = ui.xAxis.value === 'time' ? state.clock : null;
  try {
    showTrajectory();
    const drawn = drawCharts(state.charts, ui.charts, {
      logSteps: ui.logSteps.checked, clock, trajectory: state.trajectory !== null,
    });
    state.drawParts = drawn.parts;
    state.frames = drawn.frames;
  } catch (error) {
    if (!noteAbort(error, 'page')) throw error;
    return;
  }
  updateTable();
  refreshReaders();
  state.lastDraw = performance.now();
  state.drawMs = state.lastDraw - started;
}

function clearOutputs() {
  state.runs = [];
  state.history = {};
  state.stepByRun = {};
  clear(ui.results);
  clear(ui.samples);
  clear(ui.runsTable);
  clear(ui.curveTable);
  state.frames = { loss: null, grad: null, traj: null };
  forgetView();
  showTrajectory(); // before the placeholders: a hidden canvas gets none
  drawPlaceholders(ui.charts);
  refreshReaders();
}

function refreshReaders() {
  for (const reader of Object.values(state.readers ?? {})) reader.refresh();
}

/**
 * The trajectory chart or, where there is none to draw, one line saying why. With a
 * session it follows what the session has (the source it was started with); before
 * one, the source chosen in the form.
 */
function showTrajectory() {
  let shown;
  if (state.session) {
    shown = state.trajectory !== null;
    if (shown) ui.trajectoryCaption.textContent = trajectoryCaption(state.trajectory, SNAPSHOT_EVERY);
  } else {
    const entry = shippedSource(state.settings.source);
    shown = typeof entry?.trajectory === 'string' && ui.source.value !== '@file';
    if (shown) ui.trajectoryCaption.textContent = `The teacher ${entry.id}'s training, and your runs next to it, once they start.`;
    if (shown && ui.charts.traj.hidden) {
      ui.charts.traj.hidden = false;
      drawPlaceholders(ui.charts); // a canvas just shown has none yet
    }
  }
  if (!shown) {
    const settings = state.session ? state.sessionSettings : state.settings;
    const file = ui.source.value === '@file';
    ui.trajectoryNone.textContent = noTrajectoryText(file ? '@file' : settings?.source, shippedSource(settings?.source));
    ui.trajectoryCaption.textContent = '';
  }
  ui.trajectoryNone.hidden = shown;
  ui.charts.traj.hidden = !shown;
  ui.readouts.traj.hidden = !shown;
  if (!shown) ui.cursors.traj.hidden = true;
}

/** The shipped source (index.json entry) with id `id`, or null. */
function shippedSource(id) {
  return (id && state.sources.find((entry) => entry.id === id)) || null;
}

function updateTable() {
  if (!state.session) return;
  renderResults(ui.results, state.results);
  renderRuns(ui.runsTable, state.runs, state.history, runStatus);
  if (ui.curveData.open) ui.curveEvery.textContent = String(renderCurveTable(ui.curveTable, state.runs, state.history));
}

function runStatus(r) {
  if (state.diverged.has(r.id)) return 'diverged';
  const total = Number(state.sessionSettings?.steps ?? 0);
  return (state.history[r.id] ?? []).length >= total ? 'done' : 'running';
}

// ---------------------------------------------------------------- the clock and the readouts

/** Seconds of training since the session began, paused time left out. */
function trainingSeconds() {
  const paused = state.pausedMs + (state.pausedAt === null ? 0 : performance.now() - state.pausedAt);
  return (performance.now() - state.clockStart - paused) / 1000;
}

const calmQuery = window.matchMedia('(prefers-reduced-motion: reduce)');

/** How often the charts redraw at most: less often for readers who asked for less motion. */
function redrawMs() {
  return calmQuery.matches ? CALM_REDRAW_MS : REDRAW_MS;
}

/** The last step any run has done. */
function lastStep() {
  return Math.max(0, ...state.runs.map((r) => (state.history[r.id] ?? []).length));
}

/** Each run named by how it differs from the others ("empirical, seed 2"). */
function runLabels() {
  return labelsByDifference(state.runs, RUN_FIELDS);
}

function readerRows(text) {
  return (step) => {
    const labels = runLabels();
    return state.runs.map((r, i) => ({ label: labels[i], colour: r.colour, text: text(state.history[r.id] ?? [], step) }));
  };
}

function attachReaders() {
  state.readers = {
    loss: attachReadout({
      canvas: ui.charts.loss,
      box: ui.readouts.loss,
      cursor: ui.cursors.loss,
      name: 'Loss chart',
      source: () => ({
        frame: state.frames.loss,
        axis: ui.xAxis.value,
        clock: state.clock,
        steps: lastStep(),
        rows: readerRows(lossText),
      }),
    }),
    grad: attachReadout({
      canvas: ui.charts.grad,
      box: ui.readouts.grad,
      cursor: ui.cursors.grad,
      name: 'Gradient norm chart',
      source: () => ({
        frame: state.frames.grad,
        axis: 'step',
        clock: state.clock,
        steps: lastStep(),
        rows: readerRows(gradText),
      }),
    }),
    // Steps here run to the teacher's end; the page's clock does not reach them.
    traj: attachReadout({
      canvas: ui.charts.traj,
      box: ui.readouts.traj,
      cursor: ui.cursors.traj,
      name: 'Trajectory chart',
      source: () => ({
        frame: state.frames.traj,
        axis: 'step',
        clock: [],
        steps: state.trajectory ? trajectoryEnd(state.trajectory) : 0,
        rows: (step) => trajectoryRows(state.trajectory, step),
      }),
    }),
  };
}

/** One line: where it trains (and why, after a fallback), then progress. */
function statusLine(what) {
  const total = Number(state.sessionSettings?.steps ?? 0);
  const step = Math.max(0, ...Object.values(state.stepByRun));
  const parts = [];
  if (state.backendNote) parts.push(state.backendNote);
  else if (state.sessionBackend) parts.push(`Training on ${backendName(state.sessionBackend)}`);
  parts.push(`${what} ${step} of ${total}`);
  if (run.phase === 'running' && state.stepsPerSecond > 0) {
    const rate = state.stepsPerSecond;
    parts.push(`${rate < 1 ? rate.toFixed(2) : rate.toFixed(1)} steps/s over all runs`);
  }
  setStatus(parts.join(' · '));
}

/** The buttons follow the run's phase (and whether the module loaded). */
function setButtons() {
  const { phase } = run;
  const trained = phase === 'running' || phase === 'paused' || phase === 'done';
  ui.start.disabled = state.hi === null || state.aborted !== null;
  ui.start.textContent = trained ? 'Restart' : 'Start';
  ui.pause.disabled = phase !== 'running' && phase !== 'paused';
  ui.pause.textContent = phase === 'paused' ? 'Resume' : 'Pause';
  ui.reset.disabled = phase === 'idle';
  // A failed run may still hold a session with curves worth exporting.
  const exportable = state.session !== null;
  ui.exportCsv.disabled = !exportable;
  ui.exportJson.disabled = !exportable;
  ui.exportPng.disabled = !exportable;
}

// ---------------------------------------------------------------- exports and the link

function stamp() {
  return new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
}

async function exportText(kind) {
  const session = state.session;
  if (!session) return;
  let text;
  try {
    // Queued in the worker behind the step in flight, if any.
    text = await sessionCall(() => (kind === 'csv' ? session.export_csv() : session.export_json()));
  } catch (error) {
    addMessage(`Export ${kind.toUpperCase()} failed: ${errorText(error)}`, true);
    return;
  }
  const type = kind === 'csv' ? 'text/csv' : 'application/json';
  download(new Blob([text], { type }), `histinit-${stamp()}.${kind}`);
}

async function exportPng() {
  const blob = await chartsPng(ui.charts);
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
  // 'change' fires on commit (blur/enter/select), so the form is not rewritten mid-typing.
  ui.form.addEventListener('change', (event) => {
    if (event.target === ui.sourceFile) return;
    const field = state.form.fieldOf(event.target);
    if (!field) return;
    if (event.target === ui.source) {
      showSourceFields();
      if (ui.source.value === '@url' && !ui.sourceUrl.value) {
        ui.sourceUrl.focus();
        return; // wait for a URL
      }
    }
    if (ui.runList.contains(event.target)) describeInit(event.target.value);
    fieldChanged(field);
  });
  ui.form.addEventListener('submit', (event) => event.preventDefault());
  ui.sourceFile.addEventListener('change', async () => {
    const file = ui.sourceFile.files?.[0];
    if (!file) return;
    let bytes;
    try {
      bytes = await fileBytes(file); // refuses a file over the size cap before reading it
    } catch (error) {
      addMessage(errorText(error), true);
      return;
    }
    state.localFile = { name: file.name, kind: fileKind(file.name), bytes };
    showSourceFields();
    fieldChanged(state.form.fieldOf(ui.source));
    addMessage(`Using the local file ${file.name}; a copied link does not include it.`);
  });
  ui.corpusFile.addEventListener('change', async () => {
    const file = ui.corpusFile.files?.[0];
    if (!file) return;
    let bytes;
    try {
      bytes = await fileBytes(file, 'text'); // refuses a file over the size cap before reading it
    } catch (error) {
      addMessage(errorText(error), true);
      return;
    }
    useText(file.name, bytes);
  });
  ui.corpusPasteUse.addEventListener('click', () => {
    const bytes = new TextEncoder().encode(ui.corpusPaste.value);
    useText(PASTED_NAME, bytes);
  });
  ui.corpusBundled.addEventListener('click', () => {
    ui.corpusFile.value = '';
    changeSettings({ ...state.settings, corpus: '' });
  });
  ui.addRun.addEventListener('click', () => {
    const used = new Set(runSelects().map((s) => s.value));
    const next = state.inits.find((init) => !used.has(init.name))?.name ?? state.inits[0].name;
    addRunRow(next);
    changeSettings(withDefaultSource({ ...state.settings, [ui.runList.dataset.key]: runsWidget.read() }));
  });
  ui.removeRun.addEventListener('click', () => {
    const rows = ui.runList.querySelectorAll('li');
    if (rows.length > MIN_RUNS) rows[rows.length - 1].remove();
    fieldChanged(ui.runList);
  });
  ui.start.addEventListener('click', () => start());
  ui.pause.addEventListener('click', () => (run.phase === 'paused' ? resume() : pause()));
  ui.reset.addEventListener('click', () => resetAll());
  ui.copyLink.addEventListener('click', () => copyLink());
  ui.showAll.addEventListener('click', () => {
    revealAll();
    settle({ ...state.settings, hide: '' });
  });
  ui.exportCsv.addEventListener('click', () => exportText('csv'));
  ui.exportJson.addEventListener('click', () => exportText('json'));
  ui.exportPng.addEventListener('click', () => exportPng());
  ui.previousCsv.addEventListener('click', () => {
    if (state.previous?.csv) download(new Blob([state.previous.csv], { type: 'text/csv' }), `histinit-interrupted-${stamp()}.csv`);
  });
  ui.previousJson.addEventListener('click', () => {
    if (state.previous?.json) download(new Blob([state.previous.json], { type: 'application/json' }), `histinit-interrupted-${stamp()}.json`);
  });
  ui.logSteps.addEventListener('change', () => redraw());
  ui.xAxis.addEventListener('change', () => redraw());
  ui.curveData.addEventListener('toggle', () => updateTable());
  ui.role.addEventListener('change', () => refreshView());
  document.addEventListener('visibilitychange', visibilityChanged);
  new ResizeObserver(() => redraw()).observe(ui.charts.loss);
}

async function main() {
  // The link's view at once, read from the address as it is (the module, which judges
  // the link, takes a moment to load), so that a student does not see the controls
  // flash by meanwhile.
  const early = new URLSearchParams(location.search);
  applyView(early.get('hide') ?? '', early.get('embed') === '1');
  renderStudies($('study-links')); // plain links: they work even if the module does not load
  drawPlaceholders(ui.charts);
  attachReaders();
  try {
    // The worker loads its copy of the module meanwhile.
    state.trainer = new Trainer();
    const hi = await loadModule();
    state.hi = hi;
    state.schema = hi.link_schema();
    state.presets = hi.presets();
    state.inits = hi.init_methods();
  } catch (error) {
    setStatus(`The model code did not load (${errorText(error)}). Build it with 'make web' and reload.`, true);
    return;
  }
  try {
    await state.trainer.ready;
  } catch (error) {
    setStatus(`The model code did not load in a worker (${errorText(error)}): this browser cannot train here. Build it with 'make web' and reload.`, true);
    return;
  }
  const index = await loadIndex();
  state.sources = index.entries;
  fillSources();
  fillHideChoices();
  state.form = bindForm({
    form: ui.form,
    advanced: ui.advancedFields,
    schema: state.schema,
    widgets: { runs: runsWidget, source: sourceWidget, corpus: corpusWidget, hide: hideWidget },
  });
  fillPresets();

  const parsed = parseLink(location.search);
  settle(withDefaultSource(settingsFromQuery(state.schema, parsed.query)));
  applyView(state.settings.hide, state.settings.embed === '1');
  openAdvancedIfUsed();
  if (index.error) addMessage(index.error);

  wire();
  setButtons();
  state.timing.moduleReady = performance.now();
  setStatus('Ready: press Start.');
}

main();
