// What every part of the page shares: its elements (`ui`), what the module and the
// link gave it (`page`), the status line and the messages. Each other module keeps its
// own state: run.js the run, progress.js the curves, drawing.js what is drawn.

import { clear, el } from './dom.js';

export const SNAPSHOT_EVERY = 25; // steps between weight read-backs for the distribution chart

const $ = (id) => document.getElementById(id);

export const ui = {
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
  consent: $('consent'),
  preset: $('preset'),
  presetShape: $('preset-shape'),
  start: $('start'),
  pause: $('pause'),
  reset: $('reset'),
  copyLink: $('copy-link'),
  exportCsv: $('export-csv'),
  exportJson: $('export-json'),
  exportPng: $('export-png'),
  resumeSaved: $('resume-saved'),
  downloadState: $('download-state'),
  loadState: $('load-state'),
  forgetSaved: $('forget-saved'),
  savedStatus: $('saved-status'),
  linkFallbackLabel: $('link-fallback-label'),
  linkFallback: $('link-fallback'),
  citeRun: $('cite-run'),
  citeLabel: $('cite-label'),
  citeText: $('cite-text'),
  versionLine: $('version-line'),
  runsProvenance: $('runs-provenance'),
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
  studyLinks: $('study-links'),
  studyNote: $('study-note'),
  runExport: $('run-export'),
  exportRunPick: $('export-run-pick'),
  exportWeights: $('export-weights'),
  exportHistogram: $('export-histogram'),
};

/** What the page loaded and what the link says. */
export const page = {
  hi: null, // the page's wasm module (links, drawing); replaced after it traps
  build: null, // build_info(): histinit's version and commit, Burn's, wgpu's, the citation
  moduleLoads: 0, // how many times it was loaded (a reload follows its abort)
  pageMemory: null, // its WebAssembly.Memory
  schema: [], // link_schema(): [{key, kind, role, label, choices, default}]
  presets: [],
  inits: [], // [{name, needs, description}]
  sources: [], // index.json entries
  form: null, // bindForm(): the form bound to the schema
  settings: {}, // link key -> string: what the form shows and the link says
  trainer: null, // the training worker (trainer.js)
  // {error, where: 'page' | 'worker'}: the trap that stopped that instance; until it is
  // replaced, nothing calls into it.
  aborted: null,
  timing: { moduleReady: null, startClicked: null, prepared: null, firstStep: null },
};

export function setStatus(text, isError = false) {
  ui.status.textContent = text;
  ui.status.classList.toggle('error', isError);
}

export function addMessage(text, isError = false) {
  ui.messages.append(el('li', { className: isError ? 'error' : '', textContent: text }));
}

export function clearMessages() {
  clear(ui.messages);
}

export function backendName(backend) {
  return backend === 'webgpu' ? 'WebGPU' : 'the CPU (WebAssembly)';
}

/** A comma-separated list's names. */
export function initList(value) {
  return (value ?? '').split(',').filter(Boolean);
}

/** An init's entry of init_methods() (a made-up one for a name this module does not know). */
export function initInfo(name) {
  return page.inits.find((init) => init.name === name) ?? { name, needs: 'none', description: '' };
}

/** What the inits need: a histogram (or the weights, which have one), the trained weights. */
export function needsOf(initNames) {
  const needs = new Set(initNames.map((name) => initInfo(name).needs));
  return { histogram: needs.has('histogram') || needs.has('weights'), weights: needs.has('weights') };
}

/** The shipped source (index.json entry) with id `id`, or null. */
export function shippedSource(id) {
  return (id && page.sources.find((entry) => entry.id === id)) || null;
}

/** A time stamp for file names. */
export function stamp() {
  return new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
}
