// The backend a run trains on when its link says 'auto': the CPU where the browser has
// no WebGPU adapter (webgpuProblem); otherwise the faster of the two here, measured
// (measureBackends): a tiny model can be slower on the browser's GPU than on the CPU
// (dispatch-bound; a software adapter 10-100x), and only trying tells. The measure's
// sessions are thrown away, so the run's numbers are those of a run pinned to the
// backend it picks. A link's 'webgpu' or 'cpu' is never measured (run.js start).

import { errorText } from './dom.js';
import { queryOf } from './settings.js';
import { initList, page, setStatus } from './page.js';
import { recoverFromTrap } from './recovery.js';
import { textFor } from './text.js';
import { failed, newTrainer, run } from './run.js';

/**
 * How 'auto' measures (window.histinit.probe, for tests and the curious): `steps` timed
 * steps on each backend after one untimed step, and WebGPU given deadlineFactor x the
 * CPU's whole measure, at least minDeadlineMs and at most maxDeadlineMs, before the CPU
 * wins.
 */
export const PROBE = { steps: 3, minDeadlineMs: 15_000, maxDeadlineMs: 60_000, deadlineFactor: 10 };

/** "41 ms" or "3.2 ms" or "1.4 s" (a step's time, for the status line). */
function msText(ms) {
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`;
}

/** "15 s" or "1.5 s" (a deadline). */
function secondsText(ms) {
  const s = ms / 1000;
  return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
}

function mean(list) {
  return list.reduce((a, b) => a + b, 0) / list.length;
}

/**
 * What the measure trains: the link's model, batch, context, corpus and sources, its
 * first init only and one seed (the other runs take as long per step), and enough steps
 * for the untimed one and the timed ones. Its numbers are thrown away.
 */
function probeSettings(settings) {
  const steps = Math.max(Number(settings.steps) || 0, PROBE.steps + 1);
  return { ...settings, inits: initList(settings.inits)[0] ?? settings.inits, seeds: '1', steps: String(steps) };
}

/**
 * Backend 'auto' with a WebGPU adapter: which backend trains the link faster here. Times
 * PROBE.steps steps of a throwaway session on the CPU, then on WebGPU (each after an
 * untimed step: WebGPU's first compiles shaders) with a deadline; a WebGPU still busy
 * then is abandoned by stopping the worker and starting a fresh one, as Reset does mid
 * step. Resolves to {backend, note, choice} (note: both figures and why, for the status
 * line; choice: the same for the provenance), to {webgpuError} when WebGPU failed, or to
 * null once superseded. A trap is recovered from (recovery.js).
 */
export async function measureBackends(settings, epoch) {
  run.measuring = true;
  try {
    return await measure(settings, epoch);
  } finally {
    if (epoch === run.epoch) run.measuring = false;
  }
}

async function measure(settings, epoch) {
  const superseded = () => epoch !== run.epoch;
  const query = queryOf(page.schema, probeSettings(settings));
  const text = textFor(settings);
  const steps = PROBE.steps;
  const measured = { steps, cpu: null, webgpu: null, late: false, deadlineMs: null, picked: null };
  run.measured = measured;
  setStatus(`Measuring which backend is faster here: ${steps} steps on the CPU…`);
  const from = performance.now();
  try {
    measured.cpu = mean((await page.trainer.probe(query, 'cpu', run.sources, text, steps)).ms);
  } catch (error) {
    if (superseded() || recoverFromTrap(error, 'worker')) return null;
    // The CPU cannot train it either (a missing source, say): its own session says why.
    measured.picked = 'cpu';
    return { backend: 'cpu', note: '', choice: `auto: not measured (the CPU could not train it: ${errorText(error)})` };
  }
  if (superseded()) return null;
  const deadline = Math.max(PROBE.minDeadlineMs, Math.min(PROBE.maxDeadlineMs, PROBE.deadlineFactor * (performance.now() - from)));
  measured.deadlineMs = deadline;
  setStatus(`Measuring which backend is faster here: the CPU ${msText(measured.cpu)}/step; now ${steps} steps on WebGPU (at most ${secondsText(deadline)})…`);
  let timer = null;
  const late = new Promise((resolve) => {
    timer = setTimeout(() => resolve({ late: true }), deadline);
  });
  const outcome = await Promise.race([
    page.trainer.probe(query, 'webgpu', run.sources, text, steps).then((value) => ({ value }), (error) => ({ error })),
    late,
  ]);
  clearTimeout(timer);
  if (superseded()) return null;
  const cpuFigure = `the CPU ${msText(measured.cpu)}/step`;
  if (outcome.late) {
    // Stuck in a WebGPU step (a software adapter): stop that worker, as Reset does.
    measured.late = true;
    measured.picked = 'cpu';
    setStatus('WebGPU is too slow here: starting a new training worker…');
    try {
      await newTrainer();
    } catch (error) {
      if (!superseded()) failed(`Could not start: ${errorText(error)}`);
      return null;
    }
    if (superseded()) return null;
    const note = `WebGPU did not finish ${steps} steps in ${secondsText(deadline)} (${cpuFigure}) → training on the CPU`;
    return { backend: 'cpu', note, choice: `auto: ${note}` };
  }
  if (outcome.error) {
    if (recoverFromTrap(outcome.error, 'worker')) return null;
    return { webgpuError: outcome.error };
  }
  measured.webgpu = mean(outcome.value.ms);
  const cpuWins = measured.cpu <= measured.webgpu;
  measured.picked = cpuWins ? 'cpu' : 'webgpu';
  const ratio = Math.max(measured.cpu, measured.webgpu) / Math.max(Math.min(measured.cpu, measured.webgpu), 1e-3);
  const figures = cpuWins ? `${cpuFigure}, WebGPU ${msText(measured.webgpu)}/step` : `WebGPU ${msText(measured.webgpu)}/step, ${cpuFigure}`;
  const why = ratio < 1.05 ? 'about as fast here' : `${ratio < 10 ? ratio.toFixed(1) : Math.round(ratio)}× faster here`;
  const note = `Measured ${steps} steps on each: ${figures} → training on ${cpuWins ? 'the CPU' : 'WebGPU'} (${why})`;
  return { backend: measured.picked, note, choice: `auto: ${note}` };
}

/** Why WebGPU cannot be used here (no navigator.gpu, no adapter), or null. */
export async function webgpuProblem() {
  if (!('gpu' in navigator)) return 'this browser has no navigator.gpu';
  try {
    if (!(await page.trainer.webgpuAvailable())) return 'no WebGPU adapter';
  } catch (error) {
    return errorText(error);
  }
  return null;
}
