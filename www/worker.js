// The playground's training side: a dedicated worker that owns the wasm session (the
// model, the optimizer, the data), so that a training step, however long, never blocks
// the page. The page (www/trainer.js) sends one request at a time as {id, op, args} and
// gets {id, value} or {id, error, trap} back; requests are handled strictly in order,
// each awaited before the next, so a session is never used by two calls at once.
//
// A trap (a Rust panic: WebAssembly.RuntimeError) leaves the instance half-updated:
// from then on every request is refused without calling into it, and the page replaces
// this worker.

import init, * as hi from './pkg/histinit_web.js';

let exports = null; // the instance's exports (its memory, for the page's memory figure)
let session = null;
let sessionId = 0; // which open() made `session`: a late call for an older one is refused
let trapped = null; // the first trap's message

function message(error) {
  if (error instanceof Error) return error.message;
  return typeof error === 'string' ? error : String(error);
}

function freeSession() {
  if (session) session.free();
  session = null;
}

function current(id) {
  if (!session || id !== sessionId) throw new Error('this session was closed: press Start');
  return session;
}

const ops = {
  async load() {
    exports = await init();
    return null;
  },
  webgpu_available: () => hi.webgpu_available(),
  forget_webgpu_device: () => hi.forget_webgpu_device(),

  /**
   * A new session: `query` (the link), `backend` ('webgpu' | 'cpu'), `text` ({bytes,
   * name} or null), `sources` ([{kind, bytes, label}]). A source that cannot be used is
   * a problem to show, not a failure: prepare() then says which init misses it.
   */
  async open({ query, backend, text, sources }) {
    freeSession();
    const opened = new hi.Session(query, backend);
    const problems = [];
    try {
      if (text) opened.set_corpus(text.bytes, text.name);
      for (const source of sources) {
        try {
          if (source.kind === 'weights') opened.add_weights(source.bytes, source.label);
          else if (source.kind === 'trajectory') opened.add_trajectory(source.bytes, source.label);
          else opened.add_histogram(source.bytes, source.label);
        } catch (error) {
          if (error instanceof WebAssembly.RuntimeError) throw error;
          problems.push(`${source.label}: ${message(error)}`);
        }
      }
      await opened.prepare();
    } catch (error) {
      if (!(error instanceof WebAssembly.RuntimeError)) opened.free();
      throw Object.assign(error, { problems });
    }
    session = opened;
    sessionId += 1;
    return { id: sessionId, runs: opened.runs(), problems };
  },

  /** One step of the run furthest behind; with a `role`, the charts' view after it. */
  async step({ id, role }) {
    const report = await current(id).step();
    const memory = exports?.memory?.buffer.byteLength ?? null;
    return { report, view: role ? session.view(role) : null, memory };
  },
  view: ({ id, role }) => current(id).view(role),
  snapshot_weights: ({ id }) => current(id).snapshot_weights(),
  samples: ({ id, length }) => current(id).samples(length),
  export_csv: ({ id }) => current(id).export_csv(),
  export_json: ({ id }) => current(id).export_json(),
  free({ id }) {
    if (id === sessionId) freeSession();
  },
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
    if (trap) trapped = message(error);
    self.postMessage({ id, error: message(error), trap, problems: error?.problems ?? [] });
  }
}

let queue = Promise.resolve();
self.addEventListener('message', ({ data }) => {
  queue = queue.then(() => handle(data));
});
