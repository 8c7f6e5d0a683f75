// What the page draws: the worker's view of the runs (session.view(role): the charts'
// series, the trajectory's numbers, the results' rows), turned into a Charts by the
// page's own copy of the module and drawn by charts.js; the tables; the readouts under
// the charts. Redraws are paced: at most four a second (one for readers who asked for
// less motion), and drawing at most a fifth of the time; each chart is drawn in a task
// of its own, so that the page answers between them while the worker trains.

import { clear } from './dom.js';
import { chartParts, drawChart, drawLoss, drawPlaceholders } from './charts.js';
import { renderCurveTable, renderResults, renderRuns } from './results.js';
import { provenanceLine } from './provenance.js';
import { attachReadout, gradText, lossText } from './readout.js';
import { noTrajectoryText, trajectoryCaption, trajectoryEnd, trajectoryRows } from './trajectory.js';
import { lastStep, progress, runLabels, runStatus } from './progress.js';
import { page, shippedSource, SNAPSHOT_EVERY, ui } from './page.js';
import { recoverFromTrap } from './recovery.js';
import { run } from './run.js';
import { initsOf, showStudy, spreadBars, studyFor } from './spread.js';

const REDRAW_MS = 250; // charts at most four times a second...
const CALM_REDRAW_MS = 1000; // ...or once a second for readers who asked for less motion
const DRAW_SHARE = 0.2; // ...and drawing at most a fifth of the time (it blocks the page)

export const drawn = {
  charts: null, // Charts (the page module's drawer) of the last view's series
  trajectory: null, // the trajectory chart's numbers
  results: [], // the results table's rows
  frames: { loss: null, grad: null, traj: null }, // where the last draw put the data (readouts)
  parts: {}, // how long each chart of the last redraw took (ms), for the benchmark
  ms: 0, // ...and the whole redraw
  last: 0, // when the last redraw ended
  busy: false, // a view request or a redraw is under way
  generation: 0, // bumps with each redraw: an older one still under way stops
  readers: null, // attachReadout() of the loss, gradient and trajectory charts
};

const calmQuery = window.matchMedia('(prefers-reduced-motion: reduce)');

/** How often the charts redraw at most: less often for readers who asked for less motion. */
export function redrawMs() {
  return calmQuery.matches ? CALM_REDRAW_MS : REDRAW_MS;
}

/** Whether a redraw is due (and none is under way). */
export function redrawDue() {
  return !drawn.busy && performance.now() - drawn.last > Math.max(redrawMs(), drawn.ms / DRAW_SHARE);
}

/** Keeps the worker's `view`: the charts' drawer, the trajectory, the results. */
function takeView(view) {
  const charts = page.hi.Charts.from_json(view.charts);
  const study = studyFor(run.settings);
  if (study) charts.set_study_spread(spreadBars(study, initsOf(run.settings)));
  drawn.charts?.free();
  drawn.charts = charts;
  drawn.trajectory = view.trajectory;
  drawn.results = view.results;
}

export function forgetView() {
  try {
    // A drawer of a module that trapped is not called, not even to be freed.
    if (page.aborted?.where !== 'page') drawn.charts?.free();
  } catch (error) {
    console.warn('freeing the charts failed', error);
  }
  drawn.charts = null;
  drawn.trajectory = null;
  drawn.results = [];
}

/** Asks the worker for the current view of `session` (the current one by default), then redraws. */
export async function refreshView(session = run.session) {
  if (!session) return;
  let view;
  drawn.busy = true;
  try {
    view = await session.view(ui.role.value);
    if (session !== run.session || page.aborted) return; // replaced meanwhile
    try {
      takeView(view);
    } catch (error) {
      if (!recoverFromTrap(error, 'page')) console.warn('the charts could not be read', error);
      return;
    }
    await redraw();
  } catch (error) {
    if (!recoverFromTrap(error, 'worker')) console.warn('the view of the runs failed', error);
  } finally {
    drawn.busy = false;
  }
}

/** A task after the ones waiting (the page answers input between two charts). */
function nextTask() {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * Redraws the charts and the table from the last view: the loss chart at once, each
 * other chart in a task of its own, then the tables. Resolves when it is done, or
 * stopped by a newer redraw or view.
 */
export async function redraw() {
  if (!run.session || !drawn.charts) {
    drawPlaceholders(ui.charts);
    return;
  }
  if (page.aborted?.where === 'page') return; // the module is being reloaded
  const generation = ++drawn.generation;
  const charts = drawn.charts;
  const clock = ui.xAxis.value === 'time' ? progress.clock : null;
  const options = { logSteps: ui.logSteps.checked, clock, trajectory: drawn.trajectory !== null };
  const parts = {};
  let busy = 0;
  showTrajectory();
  for (const [i, part] of chartParts(options).entries()) {
    if (i > 0) await nextTask();
    // A newer redraw, or a newer view (whose takeView freed this drawer), took over.
    if (generation !== drawn.generation || charts !== drawn.charts || page.aborted?.where === 'page') return;
    let result;
    try {
      result = drawChart(charts, ui.charts, part, options);
    } catch (error) {
      if (!recoverFromTrap(error, 'page')) throw error;
      return;
    }
    parts[result.part] = result.ms;
    busy += result.ms;
    if (result.frameName) drawn.frames = { ...drawn.frames, [result.frameName]: result.frame };
  }
  if (!options.trajectory) drawn.frames = { ...drawn.frames, traj: null };
  const from = performance.now();
  updateTable();
  refreshReaders();
  drawn.parts = parts;
  drawn.last = performance.now();
  drawn.ms = busy + (drawn.last - from); // the page's time spent drawing, not the tasks between
}

/** The loss chart of `session`'s latest view alone (the picture kept of an interrupted run). */
export async function drawLatestLoss(session) {
  takeView(await session.view(ui.role.value));
  drawLoss(drawn.charts, ui.charts.loss, ui.logSteps.checked);
}

/** Empties the charts, tables and samples (placeholders in the charts). */
export function clearOutputs() {
  clear(ui.results);
  clear(ui.samples);
  clear(ui.runsTable);
  ui.runsProvenance.textContent = '';
  clear(ui.curveTable);
  drawn.frames = { loss: null, grad: null, traj: null };
  drawn.last = 0;
  forgetView();
  showTrajectory(); // before the placeholders: a hidden canvas gets none
  drawPlaceholders(ui.charts);
  refreshReaders();
  showStudy(page.settings);
}

function refreshReaders() {
  for (const reader of Object.values(drawn.readers ?? {})) reader.refresh();
}

/**
 * The trajectory chart or, where there is none to draw, one line saying why. With a
 * session it follows what the session has (the source it was started with); before
 * one, the source chosen in the form.
 */
export function showTrajectory() {
  let shown;
  if (run.session) {
    shown = drawn.trajectory !== null;
    if (shown) ui.trajectoryCaption.textContent = trajectoryCaption(drawn.trajectory, SNAPSHOT_EVERY);
  } else {
    const entry = shippedSource(page.settings.source);
    shown = typeof entry?.trajectory === 'string' && ui.source.value !== '@file';
    if (shown) ui.trajectoryCaption.textContent = `The teacher ${entry.id}'s training, and your runs next to it, once they start.`;
    if (shown && ui.charts.traj.hidden) {
      ui.charts.traj.hidden = false;
      drawPlaceholders(ui.charts); // a canvas just shown has none yet
    }
  }
  if (!shown) {
    const settings = run.session ? run.settings : page.settings;
    const file = ui.source.value === '@file';
    ui.trajectoryNone.textContent = noTrajectoryText(file ? '@file' : settings?.source, shippedSource(settings?.source));
    ui.trajectoryCaption.textContent = '';
  }
  ui.trajectoryNone.hidden = shown;
  ui.charts.traj.hidden = !shown;
  ui.readouts.traj.hidden = !shown;
  if (!shown) ui.cursors.traj.hidden = true;
}

export function updateTable() {
  if (!run.session) return;
  ui.runsProvenance.textContent = run.provenance ? `made by ${provenanceLine(run.provenance)}` : '';
  const steps = Number(run.settings?.steps ?? 0);
  renderResults(ui.results, drawn.results);
  showStudy(run.settings, drawn.results);
  renderRuns(ui.runsTable, progress.runs, progress.history, (r) => runStatus(r, steps));
  if (ui.curveData.open) ui.curveEvery.textContent = String(renderCurveTable(ui.curveTable, progress.runs, progress.history));
}

// ---------------------------------------------------------------- the readouts

function readerRows(text) {
  return (step) => {
    const labels = runLabels();
    return progress.runs.map((r, i) => ({ label: labels[i], colour: r.colour, text: text(progress.history[r.id] ?? [], step) }));
  };
}

export function attachReaders() {
  drawn.readers = {
    loss: attachReadout({
      canvas: ui.charts.loss,
      box: ui.readouts.loss,
      cursor: ui.cursors.loss,
      name: 'Loss chart',
      source: () => ({
        frame: drawn.frames.loss,
        axis: ui.xAxis.value,
        clock: progress.clock,
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
        frame: drawn.frames.grad,
        axis: 'step',
        clock: progress.clock,
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
        frame: drawn.frames.traj,
        axis: 'step',
        clock: [],
        steps: drawn.trajectory ? trajectoryEnd(drawn.trajectory) : 0,
        rows: (step) => trajectoryRows(drawn.trajectory, step),
      }),
    }),
  };
}
