// A stand-in for www/pkg/histinit_web.js with the same API and fake training (losses
// decay deterministically per seed). The e2e tests serve it in place of the real module
// to drive paths real hardware cannot reach on demand: a WebGPU device lost mid-run, a
// diverging run. Behaviour is steered through globalThis.__histinitMock:
//   { webgpu: bool (adapter present), loseDeviceAtStep: n, divergeInit: 'name' }

const mock = () => globalThis.__histinitMock ?? {};

const PRESETS = [
  { name: 'nano', layers: 2, width: 64, heads: 4, context: 64, parameters: 132_000 },
  { name: 'micro', layers: 4, width: 128, heads: 4, context: 128, parameters: 860_000 },
];
const INITS = [
  ['kaiming', 'none', 'PyTorch default'],
  ['he-normal', 'none', 'He normal'],
  ['pythia', 'none', 'GPT-NeoX recipe'],
  ['empirical', 'histogram', 'inverse-CDF draws from the trained histogram'],
  ['gaussian-matched', 'histogram', 'Gaussian with the trained mean and std'],
  ['parametric', 'histogram', 'a fitted parametric family'],
  ['permuted', 'weights', 'trained values, permuted'],
  ['trained', 'weights', 'the trained weights'],
];
const COLOURS = ['#0072b2', '#e69f00', '#009e73', '#cc79a7'];

export default async function init() {}

export function presets() {
  return JSON.stringify(PRESETS);
}

export function init_methods() {
  return JSON.stringify(INITS.map(([name, needs, description]) => ({ name, needs, description })));
}

export async function webgpu_available() {
  return mock().webgpu ?? false;
}

function defaults() {
  return {
    preset: 'nano', layers: null, width: null, heads: null, norm: 'layer', inits: ['kaiming', 'pythia'],
    source: null, scale: 'shape-only', seed: 1, seeds: 1,
    train: { steps: 200, batch: 8, context: 64, lr: 0.001, warmup: 10, eval_every: 10 },
  };
}

function count(value) {
  if (!/^\d+$/.test(value)) throw new Error(`'${value}' is not a whole number`);
  return Number(value);
}

function parse(search) {
  const config = defaults();
  let backend = 'auto';
  const warnings = [];
  const query = search.replace(/^\?/, '').split('#')[0];
  for (const pair of query.split('&').filter(Boolean)) {
    const [rawKey, rawValue = ''] = pair.split(/=(.*)/s);
    const key = decodeURIComponent(rawKey);
    const value = decodeURIComponent(rawValue.replace(/\+/g, ' '));
    try {
      switch (key) {
        case 'preset':
          if (!PRESETS.some((p) => p.name === value)) throw new Error(`unknown preset '${value}'`);
          config.preset = value;
          break;
        case 'inits': {
          const names = value.split(',');
          for (const name of names) if (!INITS.some(([n]) => n === name)) throw new Error(`unknown init '${name}'`);
          config.inits = names;
          break;
        }
        case 'norm':
          if (value !== 'layer' && value !== 'none') throw new Error(`unknown norm '${value}'`);
          config.norm = value;
          break;
        case 'source':
          if (value && !/^[A-Za-z0-9._-]{1,64}$/.test(value) && !/^https?:\/\/\S+$/.test(value)) {
            throw new Error(`'${value}' is neither a shipped histogram id nor an http(s) URL`);
          }
          config.source = value || null;
          break;
        case 'scale':
          if (!['shape-only', 'fan-in', 'as-is'].includes(value)) throw new Error(`unknown scale '${value}'`);
          config.scale = value;
          break;
        case 'backend':
          if (!['auto', 'webgpu', 'cpu'].includes(value)) throw new Error(`unknown backend '${value}'`);
          backend = value;
          break;
        case 'lr': {
          const lr = Number(value);
          if (value === '' || !Number.isFinite(lr)) throw new Error(`'${value}' is not a number`);
          config.train.lr = lr;
          break;
        }
        case 'seed': config.seed = count(value); break;
        case 'seeds': config.seeds = count(value); break;
        case 'layers': case 'width': case 'heads': config[key] = count(value); break;
        case 'steps': case 'batch': case 'context': case 'warmup': case 'eval_every':
          config.train[key] = count(value);
          break;
        default:
          throw new Error(`unknown link key '${key}'`);
      }
    } catch (error) {
      warnings.push(`ignored '${key}': ${error.message}`);
    }
  }
  return { config, backend, warnings };
}

function canonical(config, backend) {
  const parts = [`preset=${config.preset}`];
  for (const key of ['layers', 'width', 'heads']) if (config[key] !== null) parts.push(`${key}=${config[key]}`);
  parts.push(`norm=${config.norm}`, `inits=${config.inits.join(',')}`);
  if (config.source) parts.push(`source=${encodeURIComponent(config.source)}`);
  // The real to_query writes backend too (auto included).
  parts.push(`scale=${config.scale}`, `seed=${config.seed}`, `seeds=${config.seeds}`, `backend=${backend}`);
  const t = config.train;
  parts.push(`steps=${t.steps}`, `batch=${t.batch}`, `context=${t.context}`, `lr=${t.lr}`, `warmup=${t.warmup}`, `eval_every=${t.eval_every}`);
  return parts.join('&');
}

export function parse_link(search) {
  const { config, backend, warnings } = parse(search);
  return JSON.stringify({ query: canonical(config, backend), config, backend, warnings });
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

function line(canvas, series, colours) {
  measure('loss');
  const context = canvas.getContext('2d');
  context.fillStyle = '#ffffff';
  context.fillRect(0, 0, canvas.width, canvas.height);
  const all = series.flat();
  if (all.length === 0) return;
  const maxX = Math.max(...all.map((p) => p[0]), 1);
  const ys = all.map((p) => p[1]);
  const minY = Math.min(...ys);
  const maxY = Math.max(...ys) + 1e-9;
  series.forEach((points, i) => {
    context.strokeStyle = colours[i];
    context.lineWidth = 3;
    context.beginPath();
    points.forEach(([x, y], j) => {
      const px = 10 + (x / maxX) * (canvas.width - 20);
      const py = canvas.height - 10 - ((y - minY) / (maxY - minY)) * (canvas.height - 20);
      if (j === 0) context.moveTo(px, py);
      else context.lineTo(px, py);
    });
    context.stroke();
  });
}

export class Session {
  constructor(query, backend) {
    const { config, warnings } = parse(query);
    if (warnings.length) throw new Error(warnings[0]);
    this.config = config;
    this.kind = backend;
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

  add_weights(bytes, label) {
    this.weights = label;
  }

  async prepare() {
    if (this.kind === 'webgpu' && !mock().webgpu) throw new Error('WebGPU is not available here (mock: no adapter)');
    const needs = this.config.inits.find((init) => INITS.find(([n]) => n === init)[1] !== 'none');
    if (needs && !this.histogram) throw new Error(`a histogram is needed for '${needs}'`);
  }

  runs() {
    return JSON.stringify(this.runList);
  }

  finished(i) {
    return this.curves[i].length >= this.config.train.steps || this.curves[i].at(-1)?.diverged;
  }

  async step() {
    await new Promise((resolve) => setTimeout(resolve, 2));
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
    const speed = run.init === 'pythia' ? 0.05 : 0.03;
    const diverged = mock().divergeInit === run.init && step >= 5;
    const train = diverged ? NaN : 2.5 + 3 * Math.exp(-speed * step) + 0.01 * Math.sin(run.seed * step);
    const val = (step + 1) % this.config.train.eval_every === 0 ? train + 0.05 : null;
    curve.push({ step, train, val, grad: 1 / Math.sqrt(step + 1), diverged });
    const done = this.curves.every((_, i) => this.finished(i));
    const finite = (v) => (Number.isFinite(v) ? v : null);
    return JSON.stringify({ run: run.id, step, train_loss: finite(train), val_loss: finite(val), grad_norm: 1 / Math.sqrt(step + 1), done, diverged, ms: 2 });
  }

  draw_loss(canvas, logSteps) {
    const x = (s) => (logSteps ? Math.log10(s) : s);
    line(canvas, this.curves.map((c) => c.filter((p) => Number.isFinite(p.train)).map((p) => [x(p.step + 1), p.train])), this.runList.map((r) => r.colour));
  }

  draw_grads(canvas) {
    line(canvas, this.curves.map((c) => c.map((p) => [p.step + 1, p.grad])), this.runList.map((r) => r.colour));
  }

  async snapshot_weights() {}

  draw_distribution(canvas, role) {
    const shift = role.length / 10;
    line(canvas, this.runList.map((r, i) => Array.from({ length: 50 }, (_, k) => [k, Math.exp(-(((k - 25) / (8 + i + shift)) ** 2))])), this.runList.map((r) => r.colour));
  }

  // One row per init (means over its seeds), as the real module reports.
  results() {
    return JSON.stringify(this.config.inits.map((init, index) => {
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
    }));
  }

  async samples(length) {
    return JSON.stringify(this.runList.filter((run) => run.seed === this.config.seed).map((run) => ({ run: run.id, label: run.init, text: `<img src=x onerror=alert(1)> ${'abc '.repeat(length / 4)}` })));
  }

  export_csv() {
    const lines = ['run,init,seed,step,train_loss,val_loss,grad_norm'];
    this.curves.forEach((curve, i) => curve.forEach((p) => lines.push([i, this.runList[i].init, this.runList[i].seed, p.step, p.train, p.val ?? '', p.grad].join(','))));
    return lines.join('\n');
  }

  export_json() {
    return JSON.stringify({ backend: this.kind, runs: this.runList, curves: this.curves });
  }

  backend() {
    return this.kind;
  }

  free() {
    this.curves = null;
  }
}
