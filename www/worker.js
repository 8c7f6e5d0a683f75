// The playground's training side: a dedicated worker that owns the wasm session (the
// model, the optimizer, the data) and its training loop, so that a training step, however
// long, never blocks the page.
//
// Requests, from the page (www/trainer.js): {id, op, args}, answered {id, value} or
// {id, error, trap, problems}. Requests and training steps are handled strictly in order,
// each awaited before the next, so a session is never used by two calls at once.
//   load, webgpu_available, forget_webgpu_device   the module and the WebGPU device
//   memory                                          bytes of this worker's wasm memory now
//   open {query, backend, text, sources, saved}     a new session (the old one is freed);
//                                                   saved: bytes of a saved run to continue
//   probe {query, backend, text, sources, steps}    times `steps` steps of a throwaway
//                                                   session (after one untimed step); the
//                                                   current session is left as it is
//   state {id}                                      the session's state as bytes (a file)
//   start {id, snapshotEvery, sampleEvery, sampleLength}   its training loop begins
//   pause {id} / resume {id}                        the loop stops before its next step / goes on
//   stop {id}                                       the loop ends and the session is freed
//   view {id, role}, samples, export_csv, export_json   read the session (between steps)
//   export_run {id, run}                            a run's weights and histograms (next-teacher.js)
// Events, from the loop: {event, id, ...} (id: the session's):
//   step {report, memory}    a step was taken (memory: bytes of this worker's wasm memory)
//   samples {samples}        text samples (every sampleEvery steps, and at the end)
//   done                     every run finished
//   saved {steps, error}     the session was saved in the browser's storage (saved.js) at
//                            steps (every saveEvery steps, on pause and at the end; CPU
//                            backend), or error says why not (the run goes on unsaved)
//   failed {error, trap}     a step failed; the loop ended (the session is kept, to export)
//
// A trap (a Rust panic: WebAssembly.RuntimeError) leaves the instance half-updated:
// from then on every request is refused without calling into it, and the page replaces
// this worker.

import init, * as hi from './pkg/histinit_web.js';
import { saveProblem, writeSaved } from './saved.js';

let exports = null; // the instance's exports (its memory, for the page's memory figure)
let session = null;
let sessionId = 0; // which open() made `session`: a late call for an older one is refused
let trapped = null; // the first trap's message
let opened = { query: '', backend: '' }; // the current session's link and backend

function message(error) {
  if (error instanceof Error) return error.message;
  return typeof error === 'string' ? error : String(error);
}

function freeSession() {
  loop.running = false;
  if (session) session.free();
  session = null;
}

function current(id) {
  if (!session || id !== sessionId) throw new Error('this session was closed: press Start');
  return session;
}

// ---------------------------------------------------------------- the training loop

/**
 * The loop of the current session: one step per task in the queue, the next one queued
 * only after this worker handled the messages that arrived meanwhile (so a pause or a
 * view never waits for more than the step in flight).
 */
const loop = {
  session: 0, // the session whose loop was started
  running: false,
  scheduled: false, // a step is queued or about to be
  snapshotEvery: 25,
  sampleEvery: 100,
  sampleLength: 120,
  stepsByRun: new Map(), // run id -> steps done
  nextSnapshot: 0,
  nextSample: 0,
  saveEvery: 0, // 0: never saved
  nextSave: 0,
};

/** The most steps any run has done. */
function stepsNow() {
  return loop.stepsByRun.size ? Math.max(...loop.stepsByRun.values()) : 0;
}

/**
 * Saves the session under its link (between steps: the caller holds the queue). Only on
 * the CPU backend, where the module can read the state back synchronously.
 */
async function save() {
  if (!session || !loop.saveEvery || opened.backend !== 'cpu') return;
  const steps = stepsNow();
  let bytes;
  try {
    bytes = session.save_state();
  } catch (error) {
    if (error instanceof WebAssembly.RuntimeError) throw error;
    post('saved', { steps, error: `This run could not be saved: ${message(error)}` });
    return;
  }
  try {
    await writeSaved(opened.query, bytes, steps);
    post('saved', { steps });
  } catch (error) {
    post('saved', { steps, error: saveProblem(error) });
  }
}

// A task after the messages already waiting (a MessageChannel is not clamped as setTimeout is).
const wake = new MessageChannel();
let woken = null;
wake.port1.onmessage = () => woken?.();
wake.port1.unref?.(); // (under Node, in the tests: the port keeps no process alive)

function afterEvents() {
  return new Promise((resolve) => {
    woken = resolve;
    wake.port2.postMessage(null);
  });
}

function scheduleStep() {
  if (loop.scheduled) return;
  loop.scheduled = true;
  afterEvents().then(() => enqueue(trainStep));
}

function post(event, fields = {}) {
  self.postMessage({ event, id: sessionId, ...fields });
}

/** One step of the run furthest behind, then the weight snapshot and the samples when due. */
async function trainStep() {
  loop.scheduled = false;
  if (!loop.running || !session || trapped !== null) return;
  let report;
  try {
    report = await session.step();
  } catch (error) {
    loop.running = false;
    const trap = error instanceof WebAssembly.RuntimeError;
    if (trap) trapped = message(error);
    post('failed', { error: message(error), trap });
    return;
  }
  post('step', { report, memory: exports?.memory?.buffer.byteLength ?? null });
  // Steps done, counted as the page counts them: report.step is the index of the step just taken.
  loop.stepsByRun.set(report.run, report.step + 1);
  const step = stepsNow();
  try {
    if (loop.saveEvery && (step >= loop.nextSave || report.done)) {
      loop.nextSave = step + loop.saveEvery;
      await save();
    }
    if (step >= loop.nextSnapshot || report.done) {
      loop.nextSnapshot = step + loop.snapshotEvery;
      await session.snapshot_weights().catch((error) => {
        if (error instanceof WebAssembly.RuntimeError) throw error;
        console.warn('weight snapshot failed', error);
      });
    }
    if (step >= loop.nextSample || report.done) {
      loop.nextSample = step + loop.sampleEvery;
      try {
        post('samples', { samples: await session.samples(loop.sampleLength) });
      } catch (error) {
        if (error instanceof WebAssembly.RuntimeError) throw error;
        console.warn('sampling failed', error);
      }
    }
  } catch (error) {
    loop.running = false;
    trapped = message(error);
    post('failed', { error: trapped, trap: true });
    return;
  }
  if (report.done) {
    loop.running = false;
    post('done');
    return;
  }
  if (loop.running) scheduleStep();
}

// ---------------------------------------------------------------- requests

/**
 * What a session trains on, for the exports' provenance: the WebGPU adapter the browser
 * gives for the high-performance request the module makes (its name as the browser
 * reports it) and whether it offers `subgroups`, which the module's device then uses
 * (patches/README.md); none on the CPU backend.
 */
async function deviceInfo(backend) {
  if (backend !== 'webgpu') return { adapter: 'none (CPU backend, WebAssembly)', subgroups: 'no (CPU backend)' };
  try {
    const adapter = await self.navigator.gpu?.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) return { adapter: 'unknown (no adapter answered)', subgroups: 'unknown' };
    const info = adapter.info ?? {};
    const name = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ');
    return { adapter: name || 'unnamed adapter', subgroups: adapter.features.has('subgroups') ? 'yes' : 'no' };
  } catch (error) {
    return { adapter: `unknown (${message(error)})`, subgroups: 'unknown' };
  }
}

const ops = {
  async load() {
    exports = await init();
    return null;
  },
  webgpu_available: () => hi.webgpu_available(),
  memory: () => exports?.memory?.buffer.byteLength ?? null,
  forget_webgpu_device: () => hi.forget_webgpu_device(),

  /**
   * A new session: `query` (the link), `backend` ('webgpu' | 'cpu'), `text` ({bytes,
   * name} or null), `sources` ([{kind, bytes, label}]). A source that cannot be used is
   * a problem to show, not a failure: prepare() then says which init misses it.
   */
  async open({ query, backend, text, sources, saved = null }) {
    freeSession();
    const made = new hi.Session(query, backend);
    const problems = [];
    try {
      if (text) made.set_corpus(text.bytes, text.name);
      for (const source of sources) {
        try {
          if (source.kind === 'weights') made.add_weights(source.bytes, source.label);
          else if (source.kind === 'trajectory') made.add_trajectory(source.bytes, source.label);
          else made.add_histogram(source.bytes, source.label);
        } catch (error) {
          if (error instanceof WebAssembly.RuntimeError) throw error;
          problems.push(`${source.label}: ${message(error)}`);
        }
      }
      if (saved) await made.prepare_resumed(saved);
      else await made.prepare();
    } catch (error) {
      if (!(error instanceof WebAssembly.RuntimeError)) made.free();
      throw Object.assign(error, { problems });
    }
    session = made;
    sessionId += 1;
    opened = { query, backend };
    const history = saved ? made.history() : [];
    return { id: sessionId, runs: made.runs(), history, problems, device: await deviceInfo(backend) };
  },

  /**
   * How fast `backend` trains `query` here (run.js measures before an 'auto' run): a
   * throwaway session of its own, prepared, one untimed warm-up step (WebGPU compiles
   * its shaders in the first), then `steps` steps timed one by one; freed before the
   * answer. The current session, if any, is not touched. A source that cannot be used is
   * skipped (the real session says so). {prepareMs, warmupMs, ms: [each timed step]}.
   */
  async probe({ query, backend, text, sources = [], steps = 3 }) {
    const from = performance.now();
    const made = new hi.Session(query, backend);
    try {
      if (text) made.set_corpus(text.bytes, text.name);
      for (const source of sources) {
        try {
          if (source.kind === 'weights') made.add_weights(source.bytes, source.label);
          else if (source.kind === 'histogram') made.add_histogram(source.bytes, source.label);
        } catch (error) {
          if (error instanceof WebAssembly.RuntimeError) throw error;
        }
      }
      await made.prepare();
      const prepared = performance.now();
      let report = await made.step();
      const warmed = performance.now();
      const ms = [];
      while (ms.length < steps && !report.done) {
        const at = performance.now();
        report = await made.step();
        ms.push(performance.now() - at);
      }
      made.free();
      return { prepareMs: prepared - from, warmupMs: warmed - prepared, ms };
    } catch (error) {
      if (!(error instanceof WebAssembly.RuntimeError)) made.free();
      throw error;
    }
  },

  /** Starts the session's training loop; step reports follow as events. */
  start({ id, snapshotEvery = 25, sampleEvery = 100, sampleLength = 120, saveEvery = 0, stepsByRun = [] }) {
    current(id);
    // A resumed session goes on from its runs' steps (stepsByRun: [[run, steps]]).
    const done = new Map(stepsByRun);
    const step = done.size ? Math.max(...done.values()) : 0;
    Object.assign(loop, {
      session: id, snapshotEvery, sampleEvery, sampleLength, saveEvery, stepsByRun: done,
      nextSnapshot: step + snapshotEvery, nextSample: step + sampleEvery, nextSave: step + saveEvery,
    });
    loop.running = true;
    scheduleStep();
    return null;
  },
  /** Stops the loop before its next step (the step in flight, if any, was reported before this answer). */
  async pause({ id }) {
    current(id);
    loop.running = false;
    await save();
    return null;
  },
  state: ({ id }) => current(id).save_state(),
  resume({ id }) {
    current(id);
    if (loop.session !== id) throw new Error('this session was not started: press Start');
    loop.running = true;
    scheduleStep();
    return null;
  },
  /** Ends the loop and frees the session, if it is still this one (nothing to wait for). */
  stop({ id }) {
    if (id === sessionId) freeSession();
    return null;
  },
  view: ({ id, role }) => current(id).view(role),
  samples: ({ id, length }) => current(id).samples(length),
  export_csv: ({ id }) => current(id).export_csv(),
  export_json: ({ id }) => current(id).export_json(),
  export_run: ({ id, run }) => current(id).export_run(run),
};

/** `op` if it names one of `ops`' own requests (never one `ops` inherits from Object). */
function known(op) {
  if (typeof op === 'string' && Object.hasOwn(ops, op)) return op;
  throw new Error(`unknown request '${String(op).slice(0, 40)}': this worker handles ${Object.keys(ops).join(', ')}`);
}

async function handle({ id, op, args }) {
  if (trapped !== null) {
    self.postMessage({ id, error: `the model code stopped earlier (${trapped})`, trap: true });
    return;
  }
  try {
    const value = await ops[known(op)](args ?? {});
    self.postMessage({ id, value: value ?? null });
  } catch (error) {
    const trap = error instanceof WebAssembly.RuntimeError;
    if (trap) {
      trapped = message(error);
      loop.running = false;
    }
    self.postMessage({ id, error: message(error), trap, problems: error?.problems ?? [] });
  }
}

let queue = Promise.resolve();
function enqueue(task) {
  queue = queue.then(task);
  return queue;
}
self.addEventListener('message', ({ data }) => {
  enqueue(() => handle(data));
});
