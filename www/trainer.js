// The page's side of the training worker (www/worker.js): every request is a message,
// every answer a promise, and the worker's training loop reports each step as an event.
// The page draws and handles input; the worker trains.

/** A call the worker refused. `trap`: the model code aborted (a Rust panic) in the worker. */
function workerError(reply) {
  const error = reply.trap ? new WebAssembly.RuntimeError(reply.error) : new Error(reply.error);
  error.problems = reply.problems ?? [];
  return error;
}

let started = 0; // workers started on this page

export class Trainer {
  /**
   * Starts a worker and loads the model code in it; `await ready` before using it.
   * `onEvent(data, trainer)` gets the training loop's events ({event, id, ...}: see
   * worker.js), none after the worker was stopped.
   */
  constructor(onEvent = () => {}) {
    // Named, for the browser's tools (and the e2e mock, which traps in the first only).
    started += 1;
    this.worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module', name: `histinit-training-${started}` });
    this.pending = new Map();
    this.nextId = 0;
    this.dead = null; // why the worker cannot answer any more
    this.worker.addEventListener('message', ({ data }) => {
      if (typeof data?.event === 'string') {
        if (!this.dead) onEvent(data, this);
        return;
      }
      const call = this.pending.get(data.id);
      if (!call) return;
      this.pending.delete(data.id);
      if ('error' in data) call.reject(workerError(data));
      else call.resolve(data.value);
    });
    // The worker's script failed to load or threw outside a request.
    this.worker.addEventListener('error', (event) => {
      event.preventDefault();
      this.fail(new Error(`the training worker failed: ${event.message || 'its script did not load'}`));
    });
    this.worker.addEventListener('messageerror', () => this.fail(new Error('the training worker sent a message that could not be read')));
    this.ready = this.call('load');
  }

  /** Whether a request is waiting for its answer. */
  get busy() {
    return this.pending.size > 0;
  }

  fail(error) {
    this.dead ??= error;
    for (const call of this.pending.values()) call.reject(this.dead);
    this.pending.clear();
  }

  call(op, args = {}) {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, op, args });
    });
  }

  /** Stops the worker at once (a step in flight is abandoned, pending calls rejected). */
  terminate() {
    this.worker.terminate();
    this.fail(new Error('the training worker was stopped'));
  }

  webgpuAvailable() {
    return this.call('webgpu_available');
  }

  /** Bytes of the worker's wasm memory now. */
  memory() {
    return this.call('memory');
  }

  forgetWebgpuDevice() {
    return this.call('forget_webgpu_device');
  }

  /**
   * Times `steps` training steps of a throwaway session of `query` on `backend` after an
   * untimed one (worker.js `probe`): {prepareMs, warmupMs, ms: [each step]}.
   */
  probe(query, backend, sources, text, steps) {
    return this.call('probe', { query, backend, sources, text, steps });
  }

  /**
   * Opens a session in the worker (see worker.js `open`); resolves to a RemoteSession
   * and the problems with single sources, rejects with why the session cannot train.
   */
  async open(query, backend, sources, text, saved = null) {
    const { id, runs, history, problems, device } = await this.call('open', { query, backend, sources, text, saved });
    const session = new RemoteSession(this, id, runs, backend);
    session.history = history ?? []; // a resumed session's step reports so far
    session.device = device ?? { adapter: 'unknown', subgroups: 'unknown' };
    return { session, problems };
  }
}

/** The session in the worker, as the page uses it. */
export class RemoteSession {
  constructor(trainer, id, runs, backend) {
    this.trainer = trainer;
    this.id = id;
    this.runs = runs;
    this.backend = backend;
    this.freed = false;
  }

  /** Starts the worker's training loop: `options` {snapshotEvery, sampleEvery, sampleLength}. */
  start(options) {
    return this.trainer.call('start', { id: this.id, ...options });
  }

  /** Resolves once the loop stopped: every step taken was reported before. */
  pause() {
    return this.trainer.call('pause', { id: this.id });
  }

  resume() {
    return this.trainer.call('resume', { id: this.id });
  }

  /** {charts: JSON for Charts.from_json, trajectory, results} for `role`. */
  view(role) {
    return this.trainer.call('view', { id: this.id, role });
  }

  samples(length) {
    return this.trainer.call('samples', { id: this.id, length });
  }

  /** The session's whole state as bytes (a file to resume from; CPU backend). */
  state() {
    return this.trainer.call('state', { id: this.id });
  }

  export_csv() {
    return this.trainer.call('export_csv', { id: this.id });
  }

  export_json() {
    return this.trainer.call('export_json', { id: this.id });
  }

  /** {name, weights (Uint8Array), histogram (JSON text)} of run `run`, as it is now. */
  export_run(run) {
    return this.trainer.call('export_run', { id: this.id, run });
  }

  /** Ends the loop and frees the worker's session if it is still this one (nothing to wait for). */
  free() {
    if (this.freed) return;
    this.freed = true;
    if (!this.trainer.dead) this.trainer.call('stop', { id: this.id }).catch(() => {});
  }
}
