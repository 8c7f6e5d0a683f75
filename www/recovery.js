// When the model code stops: a trap (a Rust panic aborts a wasm instance: `unreachable`)
// in the training worker or in the page's own module. The instance that trapped is never
// called again (its memory may be half-updated); a fresh one replaces it. A run it
// stopped keeps its curves (a picture, CSV and JSON through the page's writer), as does
// a WebGPU run that failed before the page went on on the CPU.

import { errorText } from './dom.js';
import { pngOf } from './charts.js';
import { queryOf } from './settings.js';
import { drawLatestLoss, forgetView, refreshView } from './drawing.js';
import { keptCurves, stepsDone } from './progress.js';
import { addMessage, page, setStatus, ui } from './page.js';
import { failed, newTrainer, run, setButtons, setPhase } from './run.js';
import { provenanceOf } from './provenance.js';

/** The run an interruption kept: {note, csv, json}, or null. */
export let previous = null;

/** Loads the page's wasm module (drawing, links); each later load is a new instance. */
export async function loadModule() {
  page.moduleLoads += 1;
  // The fragment names a new module (and wasm instance) of the same file.
  const hi = await import(page.moduleLoads === 1 ? './pkg/histinit_web.js' : `./pkg/histinit_web.js#load-${page.moduleLoads}`);
  page.pageMemory = (await hi.default())?.memory ?? null; // for window.histinit.memory()
  return hi;
}

/**
 * Whether `error` is a trap of a wasm instance: in the worker (`where` 'worker': a
 * rejected worker call or a failed step) or in the page's own module ('page'). The first
 * one starts the recovery: `what` names what the page was doing outside a run (reading a
 * text: the page's module is reloaded and nothing else changes); without it the run
 * stops and keeps its curves. Later ones, while it recovers, only return true.
 */
export function recoverFromTrap(error, where, what = null) {
  if (!(error instanceof WebAssembly.RuntimeError)) return false;
  if (page.aborted) return true;
  page.aborted = { error, where };
  setButtons();
  if (what) reloadPageModule(what);
  else stopRun();
  return true;
}

/** The page's module trapped doing `what` (no run needs stopping): a fresh module, the rest kept. */
async function reloadPageModule(what) {
  const { error: trap } = page.aborted;
  const status = { text: ui.status.textContent, error: ui.status.classList.contains('error') };
  setStatus(`${what} stopped the model code (${errorText(trap)}); reloading it…`, true);
  forgetView(); // its drawer lived in the dead instance
  try {
    page.hi = await loadModule();
  } catch (error) {
    setStatus(`${what} stopped the model code (${errorText(trap)}) and it could not be reloaded (${errorText(error)}): reload the page.`, true);
    return;
  }
  page.aborted = null;
  addMessage(`${what} stopped the model code (${errorText(trap)}): a bug, please report it. The model code was reloaded; the settings are kept.`, true);
  setStatus(status.text, status.error);
  setButtons();
  if (run.session) await refreshView(); // a new drawer for the charts
}

/** A trap stopped the run: keep its curves, replace the instance that trapped, let the reader start again. */
async function stopRun() {
  const { error: trap, where } = page.aborted;
  const epoch = ++run.epoch; // ends a Start or a fallback under way
  const step = stepsDone();
  const session = run.session;
  run.session = null;
  run.backend = null;
  setPhase('preparing');
  setStatus(`The model code stopped at step ${step} (${errorText(trap)}); reloading it…`, true);
  try {
    if (where === 'page') {
      forgetView(); // its drawer lived in the dead instance
      session?.free(); // the worker is well: its loop ends there
      page.hi = await loadModule();
    } else {
      // Never call into the dead instance, not even to free the session.
      await newTrainer();
    }
  } catch (error) {
    if (epoch === run.epoch) failed(`The model code stopped at step ${step} (${errorText(trap)}) and could not be reloaded (${errorText(error)}): reload the page; the curves drawn so far stay on screen.`);
    return;
  }
  page.aborted = null;
  const note = `The model code stopped at step ${step} (${errorText(trap)}): a bug, please report it with this page's link. The model code was reloaded; the curves it had are kept here.`;
  const kept = keptCurves();
  const interrupted = { note, csv: null, json: null };
  try {
    interrupted.csv = page.hi.kept_curves_csv(kept);
  } catch (error) {
    console.warn('the kept curves could not be written', error);
  }
  interrupted.json = JSON.stringify({ link: queryOf(page.schema, run.settings ?? page.settings), aborted: errorText(trap), runs: kept }, null, 2);
  await showPrevious(interrupted);
  if (epoch !== run.epoch) return;
  failed(`The model code stopped at step ${step} and was reloaded; its curves are kept below. Press Start to train again.`);
}

/** A run that cannot go on (WebGPU failed): its exports and a picture of its loss chart. */
export async function keepPrevious(session, note) {
  const interrupted = { note, csv: null, json: null };
  try {
    interrupted.csv = await session.export_csv();
    interrupted.json = await session.export_json();
    // Draw the latest curves first: the picture is all that is left of them on screen.
    await drawLatestLoss(session);
  } catch (error) {
    console.warn('export of the interrupted run failed', error);
  }
  await showPrevious(interrupted);
}

/** Shows an interrupted run: its note, a picture of the loss chart as drawn, its exports. */
async function showPrevious(interrupted) {
  // What made these curves: the session that trained them (its exports carry it too).
  interrupted.provenance = run.provenance ?? provenanceOf(page.build, null);
  previous = interrupted;
  ui.previousText.textContent = interrupted.note;
  ui.previousCsv.hidden = interrupted.csv === null;
  ui.previousJson.hidden = interrupted.json === null;
  const blob = await pngOf(ui.charts.loss);
  if (blob) {
    if (ui.previousImage.src.startsWith('blob:')) URL.revokeObjectURL(ui.previousImage.src);
    ui.previousImage.src = URL.createObjectURL(blob);
  }
  ui.previous.hidden = false;
}
