// A stand-in for www/pkg/histinit_web.js with the same API and fake training (losses
// decay deterministically per seed). The e2e tests serve it in place of the real module
// to drive paths real hardware cannot reach on demand: a WebGPU device lost mid-run, a
// diverging run. Behaviour is steered through globalThis.__histinitMock, which
// tests/e2e/run.mjs writes at the top of this file as it serves it (the page's training
// worker imports it too, and a worker sees none of the page's globals):
//   { schema: link_schema() JSON (required), webgpu: bool (adapter present),
//     loseDeviceAtStep: n, divergeInit: 'name', abortAtStep: n,
//     stepBusyMs: n (each step keeps its thread busy n ms, as a real CPU step does),
//     webgpuStepMs: n (each step of a WebGPU session keeps its thread busy n ms instead:
//       a fast or a slow WebGPU for the page's 'auto' measure, run.js measureBackends),
//     trapReadingText: bool (check_corpus traps in the page's first instance of the module),
//     webgpuPrepareFails: bool (an adapter is there, but a WebGPU session cannot prepare),
//     bundledPrompt: text (what bundled_prompt() returns) }
// abortAtStep traps like a Rust panic in the real module (WebAssembly.RuntimeError), in
// the page's first training worker only: afterwards this instance refuses every call, as a trapped instance would,
// and the page is expected to replace the worker (each worker is a fresh instance).
// What the tests count (globalThis.__histinitMockLoads, ...WorkerLoads, ...Forgotten,
// ...CallsAfterTrap, ...Sessions_cpu and ...Sessions_webgpu: sessions made on each
// backend, the page's measure included) is counted on the page: a worker's counts come over a
// BroadcastChannel that run.mjs listens to.
//
// The link schema is not copied here: tests/e2e/run.mjs takes it from `histinit
// link-schema` (the same histinit_core::link::schema() the real module returns) and hands
// it over as `schema`. What the mock makes up on its own: the presets' sizes, which inits
// need a histogram or weights (NEEDS), the training numbers.
//
// parse_link here is deliberately not a second parser. It checks only what the schema
// itself says: known key, choice among the choices, list of known names, whole number,
// finite number. It does NOT check what the real one does beyond that: values that clash
// (warmup beyond steps, a context beyond the preset's, a shape heads cannot divide), the
// browser's budget, duplicate inits, the form of a source (id or http(s) URL), the
// lesson's length cap. A bad name in a list drops the whole list, except in a page key's
// list (`hide`), which keeps its known names, as the real one does.
// Its `config` is the key -> value map, not the real ExperimentConfig (the page does not
// read `config`).

const mock = () => globalThis.__histinitMock ?? {};
const inWorker = typeof document === 'undefined';
const counts = inWorker ? new BroadcastChannel('histinit-mock') : null;

/** Adds one to the page's globalThis[name] (from a worker: by message) and returns it. */
function count(name) {
  if (inWorker) {
    counts.postMessage(name);
    return null;
  }
  globalThis[name] = (globalThis[name] ?? 0) + 1;
  return globalThis[name];
}

function schema() {
  const list = mock().schema;
  if (!Array.isArray(list)) throw new Error('mock: no link schema given (tests/e2e/run.mjs passes `histinit link-schema`)');
  return list;
}

const entry = (key) => schema().find((e) => e.key === key);

const NEEDS = { empirical: 'histogram', 'gaussian-matched': 'histogram', 'student-t-matched': 'histogram', parametric: 'histogram', permuted: 'weights', trained: 'weights' };
const COLOURS = ['#0072b2', '#e69f00', '#009e73', '#cc79a7'];

// This instance trapped: every later call fails, as the real module's borrow flags
// left set by a trap make them fail.
let trapped = false;
const alive = () => {
  if (trapped) count('__histinitMockCallsAfterTrap');
  if (trapped) throw new Error('recursive use of an object detected which would lead to unsafe aliasing in rust (mock: trapped instance)');
};

// Which load of the page's module this instance is (1: the first; null in a worker).
let instance = null;

export default async function init() {
  instance = count(inWorker ? '__histinitMockWorkerLoads' : '__histinitMockLoads');
  return {};
}

/** Like the real module's check_corpus (no splitting: made-up split sizes). */
export function check_corpus(bytes, context) {
  alive();
  if (mock().trapReadingText && instance === 1) {
    trapped = true;
    throw new WebAssembly.RuntimeError('unreachable');
  }
  if (!(bytes instanceof Uint8Array) || bytes.length < 16 * (context || 64)) throw new Error('the text is too small for the context (mock)');
  const third = Math.floor(bytes.length / 3);
  return { bytes: bytes.length, invalid_bytes: 0, warning: null, prompt: 'Call me', teacher: third, student: third, val: bytes.length - 2 * third };
}

/** The real one writes formatting characters as code points; the mock's names have none. */
export function visible_text(text) {
  return String(text);
}

export function forget_webgpu_device() {
  return count('__histinitMockForgotten');
}

/** The real module writes the core's curves CSV; this one the same columns, from the kept reports. */
export function kept_curves_csv(runs) {
  alive();
  const lines = ['run,init,seed,step,tokens,train_loss,val_loss,lr,grad_norm'];
  for (const run of runs) {
    for (const p of run.points) lines.push([`${run.init}-s${run.seed}`, run.init, run.seed, p.step, p.tokens, p.train_loss ?? NaN, p.val_loss ?? '', p.lr, p.grad_norm ?? NaN].join(','));
  }
  return `${lines.join('\n')}\n`;
}

export function presets() {
  // Made-up sizes: only the names are the real ones.
  return entry('preset').choices.map((name, i) => ({ name, layers: 2 + 2 * i, width: 64 << i, heads: 4, context: 64, parameters: 132_000 << (2 * i) }));
}

export function init_methods() {
  return entry('inits').choices.map((name) => ({ name, needs: NEEDS[name] ?? 'none', description: `${name} (mock)` }));
}

/** Made up (or the test's `bundledPrompt`), unlike the real module's histinit-core BUNDLED_PROMPT. */
export function bundled_prompt() {
  return mock().bundledPrompt ?? 'In the mock beginning';
}

export function link_schema() {
  return schema();
}

/** Like the real module's build_info() (made-up versions: the real ones are checked against the real module). */
export function build_info() {
  return {
    histinit: '0.0.0-mock',
    commit: 'mock000',
    burn: '0.0.0-mock',
    wgpu: '0.0.0-mock',
    link_version: Number(entry('v')?.default ?? 0),
    citation: { title: 'histinit (mock)', author: 'The histinit developers', version: '0.0.0-mock', date_released: '2026-12-07' },
  };
}

export async function webgpu_available() {
  return mock().webgpu ?? false;
}

/** Why `value` is not a value of `e`, or null. */
function problem(e, value) {
  const whole = /^\d+$/;
  switch (e.kind) {
    case 'choice':
      return e.choices.includes(value) ? null : `unknown ${e.key} '${value}'`;
    case 'list': {
      const bad = value.split(',').filter(Boolean).find((name) => !e.choices.includes(name));
      return bad === undefined ? null : `unknown ${e.key} item '${bad}'`;
    }
    case 'count':
      return whole.test(value) ? null : `'${value}' is not a whole number`;
    case 'optional_count':
      return value === '' || whole.test(value) ? null : `'${value}' is not a whole number`;
    case 'number':
      return value !== '' && Number.isFinite(Number(value)) ? null : `'${value}' is not a number`;
    case 'flag':
      return ['', '0', '1'].includes(value) ? null : `'${value}' is not 1 or 0`;
    default:
      return null;
  }
}

/** The link as key -> value (defaults filled in) and the warnings of what was dropped. */
function parse(search) {
  const values = Object.fromEntries(schema().map((e) => [e.key, e.default ?? '']));
  const warnings = [];
  const given = new Set();
  const query = search.replace(/^[^?]*\?/, '').split('#')[0];
  for (const pair of query.split('&').filter(Boolean)) {
    const [rawKey, rawValue = ''] = pair.split(/=(.*)/s);
    const key = decodeURIComponent(rawKey);
    const value = decodeURIComponent(rawValue.replace(/\+/g, ' '));
    const e = entry(key);
    const why = !e ? `unknown link key '${key}'` : given.has(key) ? 'given twice' : problem(e, value);
    if (why && e?.role === 'page' && e.kind === 'list' && !given.has(key)) {
      // A page key never refuses: the known names stay, in the order of the choices.
      const names = value.split(',');
      warnings.push(`ignored '${key}' of ${names.filter((name) => name && !e.choices.includes(name)).map((name) => `'${name}'`).join(', ')}`);
      given.add(key);
      values[key] = e.choices.filter((name) => names.includes(name)).join(',');
      continue;
    }
    if (why) {
      warnings.push(`ignored '${key}': ${why}`);
      continue;
    }
    given.add(key);
    values[key] = value;
  }
  return { values, warnings };
}

/** The canonical query: every key with a value, in the schema's order (`role`: only those). */
function canonical(values, role = null) {
  return schema()
    .filter((e) => values[e.key] !== '' && !(e.kind === 'flag' && values[e.key] === '0') && (!role || e.role === role))
    .map((e) => `${e.key}=${encodeURIComponent(values[e.key]).replace(/%2C/gi, ',')}`)
    .join('&');
}

/** Like the real module's: the experiment's link less seed, seeds and backend; null for a link with warnings. */
export function spread_key(search) {
  const { values, warnings } = parse(search);
  if (warnings.length) return null;
  const spreadKeys = ['seed', 'seeds', 'backend'];
  return canonical(values, 'experiment').split('&').filter((pair) => !spreadKeys.includes(pair.split('=')[0])).join('&');
}

export function parse_link(search) {
  const { values, warnings } = parse(search);
  return { query: canonical(values), config: values, backend: values.backend, warnings };
}

/** Measures text the way plotters does on the web (a span with a style attribute). */
function measure(text) {
  const span = document.createElement('span');
  span.textContent = text;
  span.setAttribute('style', 'display: inline-block; font-size: 14px; position: fixed; top: 100%');
  document.body.append(span);
  const width = span.offsetWidth;
  span.remove();
  return width;
}

/**
 * Draws `series` ([x, y] lists) and returns the frame the real module returns: the
 * ranges plotted and the pixels their ends went to (x from 0, or from 1 on a log axis).
 */
function drawLine(canvas, series, colours, logX = false) {
  measure('loss');
  const context = canvas.getContext('2d');
  context.fillStyle = '#ffffff';
  context.fillRect(0, 0, canvas.width, canvas.height);
  const all = series.flat();
  if (all.length === 0) return null;
  // (a run can take less than a second: a time axis may end below 1)
  const maxX = Math.max(...all.map((p) => p[0]), logX ? 2 : 1e-9);
  const minX = logX ? 1 : 0;
  const ys = all.map((p) => p[1]);
  const minY = Math.min(...ys);
  const maxY = Math.max(...ys) + 1e-9;
  const frame = {
    x_min: minX, x_max: maxX, px_min: 10, px_max: canvas.width - 10,
    y_min: minY, y_max: maxY, py_min: canvas.height - 10, py_max: 10,
    log_x: logX, log_y: false,
  };
  const along = (x) => (logX ? Math.log(x / minX) / Math.log(maxX / minX) : (x - minX) / (maxX - minX));
  series.forEach((points, i) => {
    context.strokeStyle = colours[i];
    context.lineWidth = 3;
    context.beginPath();
    points.forEach(([x, y], j) => {
      const px = frame.px_min + along(x) * (frame.px_max - frame.px_min);
      const py = canvas.height - 10 - ((y - minY) / (maxY - minY)) * (canvas.height - 20);
      if (j === 0) context.moveTo(px, py);
      else context.lineTo(px, py);
    });
    context.stroke();
  });
  return frame;
}

export class Session {
  constructor(query, backend) {
    const { values, warnings } = parse(query);
    if (warnings.length) throw new Error(warnings[0]);
    const config = {
      inits: values.inits.split(',').filter(Boolean),
      seed: Number(values.seed),
      seeds: Number(values.seeds),
      train: { steps: Number(values.steps), eval_every: Number(values.eval_every) },
    };
    this.config = config;
    // The run's own link, as the real module's exports write it: the experiment's keys only.
    this.link = canonical(values, 'experiment');
    this.kind = backend;
    count(`__histinitMockSessions_${backend}`);
    this.histogram = null;
    this.runList = [];
    // Like the real module: seeds outer, inits inner; one colour per init.
    for (let s = 0; s < config.seeds; s += 1) {
      config.inits.forEach((init, index) => {
        const seed = config.seed + s;
        const label = config.seeds > 1 ? `${init} (seed ${seed})` : init;
        this.runList.push({ id: this.runList.length, init, seed, label, colour: COLOURS[index % COLOURS.length] });
      });
    }
    this.curves = this.runList.map(() => []);
  }

  add_histogram(bytes, label) {
    if (!(bytes instanceof Uint8Array) || bytes.length === 0) throw new Error('histogram: empty file');
    this.histogram = label;
  }

  set_corpus(bytes, name) {
    this.corpus = name;
  }

  add_weights(bytes, label) {
    this.weights = label;
  }

  add_trajectory(bytes, label) {
    if (!(bytes instanceof Uint8Array) || bytes.length === 0) throw new Error(`the trajectory of '${label}' cannot be shown: empty file`);
    this.trajectoryLabel = label;
  }

  // Like the real module's TrajectoryView: spreads (values at probs) of the teacher at
  // Pythia's checkpoints up to 2000 (the shipped nano teacher's), and of each init's
  // first seed at step 0, every 25 steps and its last; made-up widths that grow.
  trajectoryView(role) {
    if (!this.trajectoryLabel) return null;
    const probs = [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99];
    const z = [-2.33, -1.64, -0.67, 0, 0.67, 1.64, 2.33];
    const spread = (step, std) => ({ step, std, values: z.map((v) => v * std) });
    const base = 0.05 + role.length / 200;
    const teacher = [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000, 2000].map((step) => spread(step, base * (1 + step / 2000)));
    const runs = this.config.inits.map((init, index) => {
      const done = this.curves[index].length;
      const steps = [...new Set([0, ...Array.from({ length: Math.floor(done / 25) }, (_, k) => 25 * (k + 1)), done])];
      return { label: init, colour: COLOURS[index % COLOURS.length], points: steps.map((step) => spread(step, base * (0.8 + index / 10) * (1 + step / 500))) };
    });
    return { source: this.trajectoryLabel, role, probs, sample: 16384, teacher, runs };
  }

  async prepare() {
    if (this.kind === 'webgpu' && !mock().webgpu) throw new Error('WebGPU is not available here (mock: no adapter)');
    if (this.kind === 'webgpu' && mock().webgpuPrepareFails) throw new Error('no device (mock: prepare failed)');
    const needs = this.config.inits.find((init) => NEEDS[init]);
    if (needs && !this.histogram) throw new Error(`a histogram is needed for '${needs}'`);
  }

  runs() {
    alive();
    return this.runList;
  }

  // Saved runs: the mock keeps none (the real module's are checked end to end).
  save_state() {
    alive();
    return new Uint8Array([104, 105]);
  }

  history() {
    return [];
  }

  async prepare_resumed() {
    throw new Error('cannot resume: the mock module keeps no state');
  }

  finished(i) {
    return this.curves[i].length >= this.config.train.steps || this.curves[i].at(-1)?.diverged;
  }

  async step() {
    alive();
    await new Promise((resolve) => setTimeout(resolve, 2));
    const busy = this.kind === 'webgpu' ? mock().webgpuStepMs ?? mock().stepBusyMs : mock().stepBusyMs;
    const busyUntil = performance.now() + (busy ?? 0);
    while (performance.now() < busyUntil) {
      // the thread is busy: nothing else runs on it meanwhile
    }
    // The unfinished run furthest behind, as the real module picks it.
    let index = -1;
    this.curves.forEach((curve, i) => {
      if (!this.finished(i) && (index < 0 || curve.length < this.curves[index].length)) index = i;
    });
    if (index < 0) throw new Error('every run is finished');
    const run = this.runList[index];
    const curve = this.curves[index];
    const step = curve.length; // the index of this step, as in the real module
    if (this.kind === 'webgpu' && mock().loseDeviceAtStep === step + 1) throw new Error('device lost (mock)');
    // Once per page: in its first training worker (trainer.js numbers them).
    if (mock().abortAtStep === step + 1 && inWorker && self.name === 'histinit-training-1') {
      trapped = true;
      throw new WebAssembly.RuntimeError('unreachable');
    }
    const speed = run.init === 'pythia' ? 0.05 : 0.03;
    const diverged = mock().divergeInit === run.init && step >= 5;
    const train = diverged ? NaN : 2.5 + 3 * Math.exp(-speed * step) + 0.01 * Math.sin(run.seed * step);
    const val = (step + 1) % this.config.train.eval_every === 0 ? train + 0.05 : null;
    curve.push({ step, train, val, grad: 1 / Math.sqrt(step + 1), diverged });
    const done = this.curves.every((_, i) => this.finished(i));
    const finite = (v) => (Number.isFinite(v) ? v : null);
    return { run: run.id, step, tokens: 512 * (step + 1), train_loss: finite(train), val_loss: finite(val), lr: 0.003, grad_norm: 1 / Math.sqrt(step + 1), done, diverged, ms: 2 };
  }

  async snapshot_weights() {}

  /** Like the real module's view: the charts' data as JSON (here the mock's own), the trajectory, the results. */
  view(role) {
    alive();
    const trajectory = this.trajectoryView(role);
    const charts = { role, curves: this.curves, colours: this.runList.map((r) => r.colour), trajectory };
    return { charts: JSON.stringify(charts), trajectory, results: this.results() };
  }

  // One row per init (means over its seeds), as the real module reports.
  results() {
    return this.config.inits.map((init, index) => {
      const own = this.runList.filter((run) => run.init === init).map((run) => run.id);
      const lasts = own.map((i) => this.curves[i].map((p) => p.val).filter((v) => v !== null && Number.isFinite(v)).at(-1)).filter((v) => v !== undefined);
      const mean = lasts.length ? lasts.reduce((a, b) => a + b, 0) / lasts.length : null;
      const spread = lasts.length > 1 ? Math.sqrt(lasts.reduce((a, b) => a + (b - mean) ** 2, 0) / (lasts.length - 1)) : null;
      return {
        init, label: init, colour: COLOURS[index % COLOURS.length], seeds: own.length,
        step: Math.min(...own.map((i) => this.curves[i].length)),
        current_val: mean, current_val_spread: spread, best_val: mean,
        steps_to_25: null, steps_to_50: null, steps_to_100: null, speedup: null,
        status: own.some((i) => this.curves[i].at(-1)?.diverged) ? 'diverged' : own.every((i) => this.finished(i)) ? 'done' : 'running',
      };
    });
  }

  async samples(length) {
    alive();
    return this.runList.filter((run) => run.seed === this.config.seed).map((run) => ({ run: run.id, label: run.init, text: `<img src=x onerror=alert(1)> ${'abc '.repeat(length / 4)}` }));
  }

  export_csv() {
    alive();
    const lines = ['run,init,seed,step,train_loss,val_loss,grad_norm'];
    this.curves.forEach((curve, i) => curve.forEach((p) => lines.push([i, this.runList[i].init, this.runList[i].seed, p.step, p.train, p.val ?? '', p.grad].join(','))));
    return lines.join('\n');
  }

  export_json() {
    alive();
    return JSON.stringify({ link: this.link, backend: this.kind, runs: this.runList, curves: this.curves });
  }

  // The real module's shape: {name, weights (safetensors bytes), histogram (JSON text)}.
  async export_run(index) {
    alive();
    const run = this.runList[index];
    if (!run) throw new Error(`there is no run ${index}`);
    return { name: `histinit-${run.init}-seed${run.seed}-step${this.curves[index].length}`, weights: new Uint8Array(8), histogram: '{"version": 1, "tensors": []}' };
  }

  backend() {
    alive();
    return this.kind;
  }

  free() {
    alive();
    this.curves = null;
  }
}

/** The page's drawer of a view's charts, as the real module's Charts. */
export class Charts {
  static from_json(json) {
    alive();
    return Object.assign(new Charts(), JSON.parse(json, (key, value) => (value === null && key === 'train' ? NaN : value)));
  }

  // Like the real module: x is the updates done, or clock[updates - 1] with a clock.
  draw_loss(canvas, logSteps, clock) {
    alive();
    const x = (step) => (clock ? clock[step] : step + 1);
    const points = (c) => c.filter((p) => Number.isFinite(p.train) && (!clock || p.step < clock.length)).map((p) => [x(p.step), p.train]);
    return drawLine(canvas, this.curves.map(points), this.colours, logSteps);
  }

  draw_grads(canvas) {
    alive();
    return drawLine(canvas, this.curves.map((c) => c.map((p) => [p.step + 1, p.grad])), this.colours, true);
  }

  set_study_spread(spreads) {
    alive();
    this.study = spreads;
  }

  draw_distribution(canvas) {
    alive();
    const shift = this.role.length / 10;
    drawLine(canvas, this.colours.map((_, i) => Array.from({ length: 50 }, (_, k) => [k, Math.exp(-(((k - 25) / (8 + i + shift)) ** 2))])), this.colours);
  }

  draw_trajectory(canvas) {
    alive();
    const view = this.trajectory;
    if (!view) return null;
    // x is step + 1 here (the mock's log axis starts at 1); the frame says so.
    const line = (points, at) => points.map((p) => [p.step + 1, p.values[at]]);
    const series = [line(view.teacher, 1), line(view.teacher, 3), line(view.teacher, 5)];
    const colours = ['#777777', '#777777', '#777777'];
    for (const run of view.runs) {
      series.push(line(run.points, 1), line(run.points, 5));
      colours.push(run.colour, run.colour);
    }
    return drawLine(canvas, series, colours, true);
  }

  free() {}
}
