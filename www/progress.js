// The runs' progress as the page received it from the worker's step reports: each run's
// history, the steps done, the runs that diverged, and the page's clock (seconds of
// training since the session began, paused time left out: not in the link, it is this
// machine's). One reset for all of it.

import { labelsByDifference, RUN_FIELDS } from './results.js';

export const progress = {
  runs: [], // the session's runs: [{id, init, seed, label, colour}]
  history: {}, // run id -> [step report: {step, tokens, train_loss, val_loss, lr, grad_norm, ms, at, t}]
  clock: [], // clock[k]: when every run had done k + 1 updates (seconds)
  stepByRun: {}, // run id -> steps done
  diverged: new Set(),
  stepsPerSecond: 0,
  clockStart: 0,
  pausedMs: 0,
  pausedAt: null,
  windowStart: 0, // the steps/s figure: steps counted since windowStart
  windowSteps: 0,
};

/** Forgets every run's progress; `runs` (a new session's) start with empty histories. */
export function resetProgress(runs = []) {
  const now = performance.now();
  Object.assign(progress, {
    runs,
    history: Object.fromEntries(runs.map((r) => [r.id, []])),
    clock: [],
    stepByRun: {},
    diverged: new Set(),
    stepsPerSecond: 0,
    clockStart: now,
    pausedMs: 0,
    pausedAt: null,
    windowStart: now,
    windowSteps: 0,
  });
}

/** The clock starts (at the first step's request). */
export function startClock() {
  progress.clockStart = performance.now();
  progress.windowStart = progress.clockStart;
}

/** The clock stops (a pause) or goes on. */
export function pauseClock() {
  progress.pausedAt ??= performance.now();
}

export function resumeClock() {
  if (progress.pausedAt !== null) progress.pausedMs += performance.now() - progress.pausedAt;
  progress.pausedAt = null;
  progress.windowStart = performance.now();
  progress.windowSteps = 0;
}

/** Seconds of training since the session began, paused time left out. */
function trainingSeconds() {
  const paused = progress.pausedMs + (progress.pausedAt === null ? 0 : performance.now() - progress.pausedAt);
  return (performance.now() - progress.clockStart - paused) / 1000;
}

/**
 * Keeps a step report; returns the run if this step made it diverge (its loss is no
 * longer finite), else null.
 */
export function record(report) {
  const history = (progress.history[report.run] ??= []);
  history.push({
    step: report.step,
    tokens: report.tokens,
    train_loss: report.train_loss,
    val_loss: report.val_loss ?? null,
    lr: report.lr,
    grad_norm: report.grad_norm,
    ms: report.ms, // inside session.step (training step, evaluation if due, read-back)
    at: performance.now(), // when the page got it (benchmarks/page-vs-native.mjs)
    t: trainingSeconds(), // the page's clock (the wall-clock axis)
  });
  const done = history.length - 1;
  progress.clock[done] = Math.max(progress.clock[done] ?? 0, history.at(-1).t);
  // Steps done, counted here: report.step is the index of the step just taken.
  progress.stepByRun[report.run] = history.length;
  progress.windowSteps += 1;
  const now = performance.now();
  if (now - progress.windowStart > 1000) {
    progress.stepsPerSecond = (progress.windowSteps * 1000) / (now - progress.windowStart);
    progress.windowStart = now;
    progress.windowSteps = 0;
  }
  if (report.diverged && !progress.diverged.has(report.run)) {
    progress.diverged.add(report.run);
    return progress.runs.find((candidate) => candidate.id === report.run) ?? { label: `run ${report.run}` };
  }
  return null;
}

/** The most steps any run has done. */
export function stepsDone() {
  return Math.max(0, ...Object.values(progress.stepByRun));
}

/** The last step any run has done (from the histories). */
export function lastStep() {
  return Math.max(0, ...progress.runs.map((r) => (progress.history[r.id] ?? []).length));
}

/** Each run named by how it differs from the others ("empirical, seed 2"). */
export function runLabels() {
  return labelsByDifference(progress.runs, RUN_FIELDS);
}

/** 'diverged', 'done' or 'running', for a run of a session of `steps` steps. */
export function runStatus(r, steps) {
  if (progress.diverged.has(r.id)) return 'diverged';
  return (progress.history[r.id] ?? []).length >= steps ? 'done' : 'running';
}

/** The curves kept, as kept_curves_csv() takes them. */
export function keptCurves() {
  return progress.runs.map((r) => ({ init: r.init, seed: r.seed, points: progress.history[r.id] ?? [] }));
}
