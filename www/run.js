// The run: one state machine, idle → preparing → running ⇄ paused → done | failed
// (Start goes to preparing from any phase, Reset to idle). The worker owns the training
// loop: the page opens a session there and sends start, pause, resume and stop; the
// worker answers with a report per step (worker.js), which the page records and draws
// from. `epoch` bumps on Start, Reset and a trap: an async continuation from an older
// epoch (a superseded Start, a fallback overtaken by Reset) ends without touching the page.
// One way from WebGPU to the CPU (fallBackToCpu), one way to clear a run (clearRun).
// Backend 'auto' with a WebGPU adapter measures which trains the link faster here
// (backend.js) and trains on that one; a link's 'webgpu' or 'cpu' is taken as given.

import { errorText } from './dom.js';
import { renderSamples } from './results.js';
import { queryOf } from './settings.js';
import { dismissPrompt } from './sources.js';
import { Trainer } from './trainer.js';
import { settle } from './address.js';
import { clearOutputs, forgetView, redrawDue, refreshView, updateTable } from './drawing.js';
import { gatherSources } from './inputs.js';
import { pauseClock, progress, record, resetProgress, resumeClock, startClock, stepsDone } from './progress.js';
import { addMessage, backendName, clearMessages, initList, page, setStatus, SNAPSHOT_EVERY, ui } from './page.js';
import { keepPrevious, recoverFromTrap } from './recovery.js';
import { showCorpusNote, textFor, textPicked } from './text.js';
import { provenanceOf } from './provenance.js';
import { showRunExport } from './next-teacher.js';
import { measureBackends, webgpuProblem } from './backend.js';

// saveEvery: steps between saves in the browser's storage (worker.js; CPU backend only).
const LOOP = { snapshotEvery: SNAPSHOT_EVERY, sampleEvery: 100, sampleLength: 120, saveEvery: 50 };

export const run = {
  phase: 'idle',
  epoch: 0,
  session: null, // the worker's session (a RemoteSession)
  backend: null, // the session's backend
  settings: null, // the settings the session trains (the form may have moved on)
  sources: [], // the files gathered for them (a fallback reuses them)
  backendNote: '', // why the session trains where it does, when the link did not pin it
  backendChoice: '', // how the backend was chosen, for the provenance (provenance.js)
  measured: null, // what the last 'auto' measure found: {steps, cpu, webgpu, late, deadlineMs, picked}
  measuring: false, // a measure is under way in the worker (a new Start stops that worker)
  hiddenPause: false, // paused because the tab went to the background
  workerMemory: null, // bytes of the training worker's wasm memory, after the last step
  provenance: null, // what made the last session's runs (provenance.js), kept after it ends
  saved: null, // bytes of a saved run the session being opened continues (resuming.js)
};

export function setPhase(phase) {
  run.phase = phase;
  setButtons();
}

/** The buttons follow the run's phase (and whether the module loaded). */
export function setButtons() {
  const { phase } = run;
  const trained = phase === 'running' || phase === 'paused' || phase === 'done';
  ui.start.disabled = page.hi === null || page.aborted !== null;
  ui.start.textContent = trained ? 'Restart' : 'Start';
  ui.pause.disabled = phase !== 'running' && phase !== 'paused';
  ui.pause.textContent = phase === 'paused' ? 'Resume' : 'Pause';
  ui.reset.disabled = phase === 'idle';
  // A failed run may still hold a session with curves worth exporting.
  const exportable = run.session !== null;
  ui.exportCsv.disabled = !exportable;
  ui.exportJson.disabled = !exportable;
  ui.exportPng.disabled = !exportable;
  showRunExport(run.session);
  ui.downloadState.disabled = !exportable || run.backend !== 'cpu';
  ui.resumeSaved.disabled = ui.start.disabled;
  ui.loadState.disabled = ui.start.disabled;
}

/** Says where the run stands in the browser's storage (worker.js `saved` events). */
function onSaved({ steps, error }) {
  ui.savedStatus.textContent = error ?? `Saved in this browser at step ${steps}: after a reload, "Resume saved run" continues it.`;
  ui.savedStatus.classList.toggle('error', Boolean(error));
}

/** One line: where it trains (and why, after a fallback), then progress. */
function statusLine(what) {
  const total = Number(run.settings?.steps ?? 0);
  const parts = [];
  if (run.backendNote) parts.push(run.backendNote);
  else if (run.backend) parts.push(`Training on ${backendName(run.backend)}`);
  parts.push(`${what} ${stepsDone()} of ${total}`);
  if (run.phase === 'running' && progress.stepsPerSecond > 0) {
    const rate = progress.stepsPerSecond;
    parts.push(`${rate < 1 ? rate.toFixed(2) : rate.toFixed(1)} steps/s over all runs`);
  }
  setStatus(parts.join(' · '));
}

export function failed(message) {
  setStatus(message, true);
  setPhase('failed');
}

// ---------------------------------------------------------------- the worker

/** A new training worker (the old one, if any, is stopped); resolves once its module loaded. */
export async function newTrainer() {
  page.trainer?.terminate();
  page.trainer = new Trainer(onEvent);
  await page.trainer.ready;
}

/** Frees the session (its loop in the worker ends) and forgets it. */
function endSession() {
  run.session?.free();
  run.session = null;
  run.backend = null;
  forgetView();
}

/** The one reset: no session, no progress, empty charts and tables. */
function clearRun() {
  endSession();
  resetProgress();
  clearOutputs();
}

/**
 * Opens a session of run.settings on `backend` in the worker; throws with the reason on
 * failure. A source the session cannot use is a message (prepare() then says which init
 * misses it).
 */
async function openSession(backend) {
  const settings = run.settings;
  try {
    const { session, problems } = await page.trainer.open(queryOf(page.schema, settings), backend, run.sources, textFor(settings), run.saved);
    for (const problem of problems) addMessage(problem, true);
    return session;
  } catch (error) {
    for (const problem of error.problems ?? []) addMessage(problem, true);
    throw error;
  }
}

// ---------------------------------------------------------------- start, pause, resume, reset

/** Starts the link's runs afresh, or continues them from `saved` (bytes of a saved run). */
export async function start(saved = null) {
  const named = page.settings.corpus;
  if (named && !textPicked(named)) {
    // Never train on the King James Bible in place of the text the link names.
    setStatus(`Pick the text file '${named}' first (under "Text"): this link trains on it, and a link does not carry it.`, true);
    showCorpusNote(named);
    ui.corpusFile.focus();
    return;
  }
  page.timing.startClicked ??= performance.now();
  const epoch = ++run.epoch;
  // A later Start or Reset supersedes this one: it checks after every await.
  const superseded = () => epoch !== run.epoch;
  clearRun();
  clearMessages();
  run.backendNote = '';
  setPhase('preparing');
  settle(page.settings);
  const settings = page.settings;
  run.settings = settings;
  run.saved = saved;
  ui.savedStatus.textContent = '';
  if (run.measuring) {
    // The Start this one supersedes is measuring in the worker (a WebGPU step can take
    // minutes on a software adapter): stop that worker, as Reset does.
    run.measuring = false;
    page.trainer.terminate();
  }
  if (page.trainer.dead) {
    // The worker was stopped (Reset during a step) or died outside a request.
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
  run.sources = sources;

  let backend = settings.backend;
  run.measured = null;
  run.backendChoice = `${backend} (set by the link; not measured)`;
  if (backend === 'auto') {
    const problem = await webgpuProblem();
    if (superseded()) return;
    if (problem) {
      run.backendNote = `WebGPU not available here (${problem}); training on the CPU in WebAssembly instead`;
      run.backendChoice = `auto: ${run.backendNote}`;
      backend = 'cpu';
    } else {
      const choice = await measureBackends(settings, epoch);
      if (choice === null || superseded()) return;
      if (choice.webgpuError) {
        const note = `WebGPU not available here (${errorText(choice.webgpuError)}); training on the CPU in WebAssembly instead`;
        await fallBackToCpu(note, epoch);
        return;
      }
      backend = choice.backend;
      run.backendNote = choice.note;
      run.backendChoice = choice.choice;
    }
  }
  setStatus(`Preparing ${initList(settings.inits).length} init(s) on ${backendName(backend)}…`);
  let session;
  try {
    session = await openSession(backend);
  } catch (error) {
    if (superseded() || recoverFromTrap(error, 'worker')) return;
    if (backend === 'webgpu' && settings.backend === 'auto') {
      await fallBackToCpu(`WebGPU not available here (${errorText(error)}); training on the CPU in WebAssembly instead`, epoch);
    } else {
      const hint = backend === 'webgpu' ? " (choose backend 'auto' or 'CPU' to train without WebGPU)" : '';
      failed(`Could not start: ${errorText(error)}${hint}`);
    }
    return;
  }
  if (superseded()) {
    session.free();
    return;
  }
  page.timing.prepared = performance.now();
  await begin(session, backend, epoch);
}

/** Trains `session`: fresh progress, the worker's loop started; the phase becomes running. */
async function begin(session, backend, epoch) {
  run.session = session;
  run.backend = backend;
  run.provenance = provenanceOf(page.build, session, run.backendChoice);
  run.saved = null;
  resetProgress(session.runs);
  for (const report of session.history) record(report);
  if (backend !== 'cpu') ui.savedStatus.textContent = "Runs on WebGPU are not saved in the browser's storage: choose backend 'CPU' to train one you can resume after a reload.";
  updateTable();
  setButtons();
  // The charts of the runs as initialized, drawn before the first step: the first draw
  // (the drawer's set-up) is the slowest, and the page is idle now.
  await refreshView(session);
  if (epoch !== run.epoch || session !== run.session) return;
  startClock();
  setPhase('running');
  const first = backend === 'webgpu' ? ' (the first step compiles shaders and can take a while)' : '';
  setStatus(run.backendNote ? `${run.backendNote} · first step…` : `Training on ${backendName(backend)}: first step${first}…`);
  try {
    await session.start({ ...LOOP, stepsByRun: Object.entries(progress.stepByRun).map(([id, steps]) => [Number(id), steps]) });
  } catch (error) {
    if (epoch === run.epoch && !recoverFromTrap(error, 'worker')) failed(`Could not start: ${errorText(error)}`);
    return;
  }
  if (document.hidden) pauseHidden();
}

/**
 * The one way from WebGPU to the CPU, when WebGPU cannot prepare the runs (backend
 * auto) or fails mid-run: `note` says why (it leads the status line from then on); the
 * failed device is given up, so that a later WebGPU session opens a new one.
 */
async function fallBackToCpu(note, epoch) {
  clearRun();
  run.backendNote = note;
  run.backendChoice = `${run.settings?.backend ?? 'auto'}: ${note}`;
  setPhase('preparing');
  setStatus(`${note} · preparing…`);
  await page.trainer.forgetWebgpuDevice().catch((error) => console.warn('forgetting the WebGPU device failed', error));
  let session;
  try {
    session = await openSession('cpu');
  } catch (error) {
    if (epoch === run.epoch && !recoverFromTrap(error, 'worker')) failed(`${note}, but the CPU failed too: ${errorText(error)}`);
    return;
  }
  if (epoch !== run.epoch) {
    session.free(); // Start or Reset was pressed meanwhile
    return;
  }
  await begin(session, 'cpu', epoch);
}

/** Stops the worker's loop before its next step; the phase becomes paused with `what` said. */
async function pauseLoop(what) {
  const session = run.session;
  try {
    await session.pause();
  } catch (error) {
    recoverFromTrap(error, 'worker');
    return;
  }
  // The run may have finished (done, or failed) with the step in flight.
  if (session !== run.session || run.phase !== 'running') return;
  setPhase('paused');
  pauseClock();
  statusLine(what);
  if (run.hiddenPause && !document.hidden) resume(); // the tab came back meanwhile
  else refreshView(); // the charts at the step it paused at
}

export function pause() {
  run.hiddenPause = false; // paused by hand: stays paused when the tab comes back
  if (run.phase === 'running') pauseLoop('paused at step');
}

/**
 * The tab went to the background: the loop pauses before its next step (a hidden page
 * would only heat the machine, and its clock would count time nobody watched), says
 * so, and resumes when the tab is shown again.
 */
function pauseHidden() {
  if (run.phase !== 'running' || run.hiddenPause) return;
  run.hiddenPause = true;
  pauseLoop('paused while this tab is hidden (it goes on when you come back): step');
}

export function visibilityChanged() {
  if (document.hidden && run.phase === 'running') pauseHidden();
  else if (!document.hidden && run.hiddenPause && run.phase === 'paused') resume();
}

export async function resume() {
  if (run.phase !== 'paused') return;
  run.hiddenPause = false;
  resumeClock();
  setPhase('running');
  try {
    await run.session.resume();
  } catch (error) {
    if (!recoverFromTrap(error, 'worker')) failed(`Training stopped: ${errorText(error)}`);
  }
}

export function reset() {
  run.epoch += 1; // cancels a Start in progress (its measure too), and a fallback
  run.measuring = false;
  if (run.phase === 'running' || page.trainer?.busy) {
    // A step (a first WebGPU step can take a minute) or a prepare is running in the
    // worker: stop it rather than wait. The next Start starts a fresh worker.
    page.trainer.terminate();
  }
  run.hiddenPause = false;
  dismissPrompt(ui.consent); // ...and a Start waiting for consent to fetch
  clearRun();
  run.backendNote = '';
  clearMessages();
  ui.previous.hidden = true;
  setPhase('idle');
  setStatus('Ready: press Start.');
}

// ---------------------------------------------------------------- the worker's reports

/** An event of the worker's training loop (worker.js); only the current session's count. */
function onEvent(data, trainer) {
  const session = run.session;
  if (!session || session.trainer !== trainer || data.id !== session.id) return;
  try {
    if (data.event === 'step') onStep(data);
    else if (data.event === 'samples') renderSamples(ui.samples, data.samples, progress.runs);
    else if (data.event === 'done') finish();
    else if (data.event === 'failed') stepFailed(data);
    else if (data.event === 'saved') onSaved(data);
  } catch (error) {
    if (recoverFromTrap(error, 'page')) return;
    // A bug in the page, not in training: say so rather than stall silently.
    console.error(error);
    session.pause().catch(() => {}); // the session stays, for its exports
    failed(`Training stopped: ${errorText(error)}`);
  }
}

function onStep({ report, memory }) {
  page.timing.firstStep ??= performance.now();
  run.workerMemory = memory;
  // Recorded also while a pause is on its way: the session took the step.
  const diverged = record(report);
  if (diverged) {
    const steps = progress.history[report.run].length;
    addMessage(`${diverged.label} diverged at step ${steps} (its loss is no longer finite); the other runs continue.`, true);
  }
  if (run.phase !== 'running' || report.done) return;
  if (document.hidden) {
    pauseHidden();
    return;
  }
  if (redrawDue()) {
    refreshView().then(() => {
      if (run.phase === 'running') statusLine('step');
    });
  }
}

/** Every run finished: the last view drawn (tables included), then the phase is done. */
async function finish() {
  const session = run.session;
  await refreshView();
  if (session !== run.session || page.aborted) return; // Start, Reset or a trap meanwhile
  setPhase('done');
  statusLine('done: step');
}

/** A step failed: a trap reloads the model code; WebGPU falls back to the CPU; else the run stops. */
async function stepFailed({ error: message, trap }) {
  const error = trap ? new WebAssembly.RuntimeError(message) : new Error(message);
  if (recoverFromTrap(error, 'worker')) return;
  if (run.backend !== 'webgpu') {
    failed(`Training stopped: ${message}`);
    return;
  }
  const epoch = run.epoch;
  const step = stepsDone();
  setPhase('preparing');
  await keepPrevious(run.session, `WebGPU stopped at step ${step} (${message}). Its curves and exports are kept here; training restarted on the CPU.`);
  if (epoch !== run.epoch) return;
  await fallBackToCpu(`WebGPU stopped at step ${step} (${message}); restarted on the CPU in WebAssembly`, epoch);
}
