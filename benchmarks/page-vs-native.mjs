// The playground page against the native CLI, measured in the same run (issue 5).
//
//   node benchmarks/page-vs-native.mjs [options]      (or: benchmarks/run.sh --page [options])
//
// Native: `histinit bench` (the real Trainer::step, loss read back every step) for the
// playground's configuration (nano, batch 8 x context 64) on the CPU backend with rayon's
// default threads and with RAYON_NUM_THREADS=1, and on wgpu (Mesa's lavapipe here).
// Page: the served page (a snapshot of index.html and www/, so a rebuild of www/pkg
// meanwhile does not change what is measured) in headless Chromium, once with
// backend=cpu and once with backend=webgpu; Start is clicked as soon as the page says
// Ready. From the page's own per-step records (window.histinit.history, `ms` = time in
// session.step, `at` = when the page got the step) it takes
//   step tok/s: batch x context / the time inside session.step, non-evaluation steps;
//   loop tok/s: the same over the page's whole loop (drawing, weight read-backs for the
//               charts, yielding to the browser), intervals ending in an evaluation step
//               left out;
//   first step: navigation to the first finished training step (window.histinit.timing;
//               the first step evaluates too: step 0 is an evaluation step).
// and, to see where the loop's time goes: the gap between steps (the page's own work),
// the last chart redraw per chart (window.histinit.drawParts), and the main-thread tasks
// over 50 ms after the first step (PerformanceObserver 'longtask').
// Prints ratios page / native and writes JSON (default out/bench/page-vs-native.json).
// Not a test: nothing is asserted; record the output in docs/benchmarks.md.
//
// Options (defaults in brackets):
//   --pkg DIR            the wasm-bindgen output to serve as www/pkg [www/pkg]
//   --native-steps N     timed steps of the native CPU bench, after 5 warm-up steps [200]
//   --cpu-steps N        timed page steps on the CPU fallback [50], after --cpu-warmup [10]
//   --webgpu-steps N     timed page steps on WebGPU [3], after --webgpu-warmup [1]
//   --wgpu-steps N       timed native wgpu steps [8], after 2 warm-up steps
//   --wgpu-timeout S     give up on native wgpu after S seconds [900]
//   --webgpu-timeout S   give up on the WebGPU page after S seconds [900]
//   --skip-webgpu        CPU only (no wgpu, no WebGPU page)
//   --long-task-presets LIST   more page runs on the CPU fallback, only for the
//                        main-thread long tasks while training [micro,pythia-14m]
//                        ('' for none); batch 8 at each preset's context, two runs
//   --long-task-steps N  steps of each run of those [6]
//   --out FILE           JSON output [out/bench/page-vs-native.json]
// Environment: HISTINIT_BIN (default $CARGO_TARGET_DIR/debug/histinit), CHROMIUM.

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { histinitBin, startHistinitServer } from '../tests/e2e/server.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..');
const { chromium } = await import(join(ROOT, 'tests/e2e/node_modules/playwright-core/index.mjs'));
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const ARGS = [
  '--enable-unsafe-webgpu',
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
const PRESET = 'nano';
const BATCH = 8;
const CONTEXT = 64; // nano's full context, which is what `histinit bench` trains at
const TOKENS_PER_STEP = BATCH * CONTEXT;
const NATIVE_WARMUP = 5;

function parseArgs(argv) {
  const options = {
    pkg: join(ROOT, 'www/pkg'),
    nativeSteps: 200,
    cpuWarmup: 10,
    cpuSteps: 50,
    webgpuWarmup: 1,
    webgpuSteps: 3,
    wgpuSteps: 8,
    wgpuTimeout: 900,
    webgpuTimeout: 900,
    skipWebgpu: false,
    longTaskPresets: ['micro', 'pythia-14m'],
    longTaskSteps: 6,
    out: join(ROOT, 'out/bench/page-vs-native.json'),
  };
  const numeric = {
    '--native-steps': 'nativeSteps',
    '--cpu-warmup': 'cpuWarmup',
    '--cpu-steps': 'cpuSteps',
    '--webgpu-warmup': 'webgpuWarmup',
    '--webgpu-steps': 'webgpuSteps',
    '--wgpu-steps': 'wgpuSteps',
    '--wgpu-timeout': 'wgpuTimeout',
    '--webgpu-timeout': 'webgpuTimeout',
    '--long-task-steps': 'longTaskSteps',
  };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    if (arg in numeric) {
      const value = Number(argv[++i]);
      if (!Number.isInteger(value) || value < 0) throw new Error(`${arg} needs a whole number`);
      options[numeric[arg]] = value;
    } else if (arg === '--pkg') options.pkg = resolve(argv[++i]);
    else if (arg === '--out') options.out = resolve(argv[++i]);
    else if (arg === '--skip-webgpu') options.skipWebgpu = true;
    else if (arg === '--long-task-presets') options.longTaskPresets = argv[++i].split(',').filter(Boolean);
    else throw new Error(`unknown option ${arg} (see the comment at the top of ${fileURLToPath(import.meta.url)})`);
  }
  return options;
}

// ---------------------------------------------------------------- native

/** Runs `histinit bench` for nano; resolves its JSON record, or {error} (timeout, failure). */
function nativeBench(backend, steps, warmup, timeoutS, env = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'histinit-bench-'));
  const json = join(dir, 'bench.json');
  const args = ['bench', '--presets', PRESET, '--backends', backend, '--batch', String(BATCH), '--steps', String(steps), '--warmup', String(warmup), '--json', json];
  const started = Date.now();
  return new Promise((resolvePromise) => {
    const child = spawn(histinitBin(), args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const timer = setTimeout(() => {
      output += `\n(stopped after ${timeoutS} s)`;
      child.kill('SIGKILL');
    }, timeoutS * 1000);
    child.on('error', (error) => {
      clearTimeout(timer);
      resolvePromise({ backend, error: `could not start ${histinitBin()}: ${error.message}` });
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      const wall_s = (Date.now() - started) / 1000;
      let record = null;
      try {
        record = JSON.parse(readFileSync(json, 'utf8'))[0];
      } catch {
        // no JSON: failed or stopped
      }
      rmSync(dir, { recursive: true, force: true });
      if (code === 0 && record) resolvePromise({ ...record, env, wall_s });
      else resolvePromise({ backend, env, wall_s, error: `histinit bench exited with ${code}: ${output.trim().split('\n').slice(-3).join(' | ')}` });
    });
  });
}

// ---------------------------------------------------------------- page

/** index.html and www/ copied to a temporary folder, with `pkg` as www/pkg. */
function siteSnapshot(pkg) {
  const site = mkdtempSync(join(tmpdir(), 'histinit-site-'));
  cpSync(join(ROOT, 'index.html'), join(site, 'index.html'));
  cpSync(join(ROOT, 'www'), join(site, 'www'), { recursive: true, filter: (src) => !src.startsWith(join(ROOT, 'www/pkg')) });
  cpSync(pkg, join(site, 'www/pkg'), { recursive: true });
  return site;
}

function wasmInfo(pkg) {
  const file = join(pkg, 'histinit_web_bg.wasm');
  const bytes = readFileSync(file);
  return {
    path: file,
    bytes: bytes.length,
    sha256: createHash('sha256').update(bytes).digest('hex').slice(0, 16),
    modified: statSync(file).mtime.toISOString(),
  };
}

/**
 * Opens the page with `backend`, lets it click Start as soon as it is Ready, waits for
 * warmup + steps training steps and returns the page's own records.
 */
async function pageRun(context, base, backend, warmup, steps, timeoutS, shape = { preset: PRESET, inits: 'pythia', context: CONTEXT }) {
  // Evaluation at step 0 and at the last step only (is_eval_step); the run is one step
  // longer than what is measured, so the last (evaluating) step is never waited for.
  const total = warmup + steps + 1;
  const context_ = shape.context ? `&context=${shape.context}` : '';
  const query = `preset=${shape.preset}&inits=${shape.inits}&seeds=1&steps=${total}&warmup=0&batch=${BATCH}${context_}&eval_every=${total}&backend=${backend}`;
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  await page.addInitScript(() => {
    // Main-thread tasks over 50 ms (the browser's long-task threshold), for the
    // responsiveness target: none over 100 ms while training on WebGPU.
    window.__longTasks = [];
    new PerformanceObserver((list) => {
      for (const task of list.getEntries()) window.__longTasks.push({ at: task.startTime, ms: task.duration });
    }).observe({ type: 'longtask', buffered: true });
    // Press Start the moment the page says Ready (what a user would do, minus reaction time).
    const tryStart = () => {
      const status = document.querySelector('#status');
      if (status?.textContent.startsWith('Ready')) {
        document.querySelector('#start').click();
        return true;
      }
      return false;
    };
    document.addEventListener('DOMContentLoaded', () => {
      if (tryStart()) return;
      const observer = new MutationObserver(() => {
        if (tryStart()) observer.disconnect();
      });
      observer.observe(document.querySelector('#status'), { childList: true, characterData: true, subtree: true });
    });
  });
  const started = Date.now();
  await page.goto(`${base}?${query}`);
  const need = warmup + steps;
  try {
    await page.waitForFunction(
      (need) => (window.histinit?.history?.[0]?.length ?? 0) >= need || document.querySelector('#status').classList.contains('error'),
      need,
      { timeout: timeoutS * 1000, polling: 200 },
    );
  } catch (error) {
    const status = await page.locator('#status').textContent().catch(() => '?');
    const done = await page.evaluate(() => window.histinit?.history?.[0]?.length ?? 0).catch(() => 0);
    await page.close();
    return { backend, query, error: `${done} of ${need} steps after ${timeoutS} s (status '${status}')`, problems };
  }
  const record = await page.evaluate(async () => {
    const adapter = await navigator.gpu?.requestAdapter().catch(() => null);
    const info = adapter?.info;
    return {
      backend: window.histinit.backend,
      status: document.querySelector('#status').textContent,
      error: document.querySelector('#status').classList.contains('error'),
      timing: { ...window.histinit.timing },
      history: window.histinit.history[0] ?? [],
      drawParts: window.histinit.drawParts,
      longTasks: window.__longTasks,
      adapter: info ? { vendor: info.vendor, architecture: info.architecture, device: info.device, description: info.description } : null,
    };
  });
  await page.close();
  const wall_s = (Date.now() - started) / 1000;
  if (record.error || record.backend !== backend) {
    return { backend, query, error: `status '${record.status}', trained on ${record.backend}`, problems, wall_s };
  }
  const { history } = record;
  const tokensPerStep = history[0]?.tokens ?? TOKENS_PER_STEP; // the first step's batch x context
  const timed = history.slice(warmup, need);
  const training = timed.filter((entry) => entry.val_loss === null);
  const stepMs = training.reduce((sum, entry) => sum + entry.ms, 0);
  // The loop: from the previous step's arrival to this one's, drawing and read-backs included.
  let loopMs = 0;
  let loopSteps = 0;
  for (let k = Math.max(warmup, 1); k < need; k += 1) {
    if (history[k].val_loss !== null) continue;
    loopMs += history[k].at - history[k - 1].at;
    loopSteps += 1;
  }
  return {
    backend,
    query,
    adapter: record.adapter,
    warmup,
    timed_steps: training.length,
    step_tokens_per_s: (training.length * tokensPerStep * 1000) / stepMs,
    loop_tokens_per_s: loopSteps ? (loopSteps * tokensPerStep * 1000) / loopMs : null,
    timing_ms: record.timing,
    first_step_ms: history[0]?.ms,
    step_ms: history.slice(0, need).map((entry) => Math.round(entry.ms * 10) / 10),
    // Between steps: the page's own work (drawing, read-backs, yielding to the browser).
    last_redraw_ms: record.drawParts,
    // Long tasks from the first finished step on (loading and the first step excluded).
    long_tasks_ms: record.longTasks
      .filter((task) => task.at >= (record.timing.firstStep ?? Infinity))
      .map((task) => Math.round(task.ms)),
    gap_ms: history.slice(Math.max(warmup, 1), need).map((entry, i) => {
      const previous = history[Math.max(warmup, 1) + i - 1];
      return Math.round((entry.at - previous.at - entry.ms) * 10) / 10;
    }),
    eval_steps: history.slice(0, need).filter((entry) => entry.val_loss !== null).map((entry) => entry.step),
    problems,
    wall_s,
  };
}

// ---------------------------------------------------------------- report

const fmt = (value, digits = 0) => (value === null || value === undefined || !Number.isFinite(value) ? '–' : value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }));
const ratio = (a, b) => (a && b ? a / b : null);

function report(result) {
  const { native, page } = result;
  const rows = [
    ['CPU fallback (WASM, 1 thread)', page.cpu, 'native CPU, rayon default threads', native.cpu],
    ['CPU fallback (WASM, 1 thread)', page.cpu, 'native CPU, RAYON_NUM_THREADS=1', native.cpu1],
    ['CPU fallback (WASM, 1 thread)', page.cpu, 'native CPU, default, after the page', native.cpuAfter],
  ];
  if (page.webgpu || native.wgpu) rows.push(['WebGPU (browser adapter)', page.webgpu, 'native wgpu (Vulkan)', native.wgpu]);
  const pad = (text, width) => String(text).padEnd(width);
  const padStart = (text, width) => String(text).padStart(width);
  console.log(`\n${pad('page', 30)} ${padStart('loop tok/s', 11)} ${padStart('step tok/s', 11)}  ${pad('native', 34)} ${padStart('tok/s', 8)} ${padStart('loop/nat', 9)} ${padStart('step/nat', 9)}`);
  result.ratios = [];
  for (const [pageName, p, nativeName, n] of rows) {
    const loop = p && !p.error ? p.loop_tokens_per_s : null;
    const step = p && !p.error ? p.step_tokens_per_s : null;
    const nat = n && !n.error ? n.tokens_per_s : null;
    result.ratios.push({ page: pageName, native: nativeName, loop_ratio: ratio(loop, nat), step_ratio: ratio(step, nat) });
    console.log(
      `${pad(pageName, 30)} ${padStart(fmt(loop), 11)} ${padStart(fmt(step), 11)}  ${pad(nativeName, 34)} ${padStart(fmt(nat), 8)} ` +
        `${padStart(fmt(ratio(loop, nat), 2), 9)} ${padStart(fmt(ratio(step, nat), 2), 9)}`,
    );
  }
  for (const [name, entry] of [...Object.entries(native), ...Object.entries(page)]) {
    if (entry?.error) console.log(`  ${name}: ${entry.error}`);
  }
  for (const p of [page.cpu, page.webgpu]) {
    if (!p || p.error) continue;
    const t = p.timing_ms;
    console.log(
      `${p.backend}: navigation -> first training step ${fmt(t.firstStep / 1000, 2)} s (module ready ${fmt(t.moduleReady / 1000, 2)} s, ` +
        `Start ${fmt(t.startClicked / 1000, 2)} s, runs prepared ${fmt(t.prepared / 1000, 2)} s, first step ${fmt(p.first_step_ms / 1000, 2)} s ` +
        `incl. its evaluation); steps (ms): ${p.step_ms.join(', ')}; between steps (ms): ${p.gap_ms.join(', ')}; last redraw (ms): ${JSON.stringify(p.last_redraw_ms)}; ` +
        `main-thread tasks over 50 ms after the first step: ${p.long_tasks_ms.length} (longest ${Math.max(0, ...p.long_tasks_ms)} ms)`,
    );
    if (p.adapter) console.log(`  WebGPU adapter: ${JSON.stringify(p.adapter)}`);
    if (p.problems.length) console.log(`  page problems: ${p.problems.join(' | ')}`);
  }
  console.log('\nmain-thread tasks over 50 ms from the first finished step on (training runs in a worker):');
  const longTaskRuns = [['nano', page.cpu], ...Object.entries(result.longTasks ?? {}).map(([preset, p]) => [preset, p]), ['nano', page.webgpu]];
  for (const [preset, p] of longTaskRuns) {
    if (!p) continue;
    if (p.error) {
      console.log(`  ${preset} on ${p.backend}: ${p.error}`);
      continue;
    }
    const median = [...p.step_ms].sort((a, b) => a - b)[p.step_ms.length >> 1];
    console.log(`  ${pad(`${preset} on ${p.backend}`, 22)} ${padStart(p.long_tasks_ms.length, 3)} tasks (longest ${Math.max(0, ...p.long_tasks_ms)} ms) over ${p.step_ms.length} steps of median ${median} ms`);
  }
  for (const n of Object.values(native)) {
    if (n && !n.error) console.log(`native ${n.backend}${n.env?.RAYON_NUM_THREADS ? ` (RAYON_NUM_THREADS=${n.env.RAYON_NUM_THREADS})` : ''}: first step ${fmt(n.first_step_s, 2)} s, ${n.steps} timed steps, ${fmt(n.wall_s, 1)} s in all`);
  }
  console.log(`load average before ${result.machine.loadavg_before.map((x) => x.toFixed(2)).join(' ')}, after ${result.machine.loadavg_after.map((x) => x.toFixed(2)).join(' ')} (${result.machine.cores} cores)`);
}

// ---------------------------------------------------------------- main

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const result = {
    started: new Date().toISOString(),
    config: { preset: PRESET, batch: BATCH, context: CONTEXT, options },
    machine: { cores: availableParallelism(), loadavg_before: loadavg() },
    wasm: wasmInfo(options.pkg),
    native: {},
    page: {},
  };
  console.log(`serving ${options.pkg} (${(result.wasm.bytes / 1e6).toFixed(1)} MB, sha256 ${result.wasm.sha256}); load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);

  console.log('native CPU (rayon default threads)…');
  result.native.cpu = await nativeBench('cpu', options.nativeSteps, NATIVE_WARMUP, 600);
  console.log('native CPU (RAYON_NUM_THREADS=1)…');
  result.native.cpu1 = await nativeBench('cpu', options.nativeSteps, NATIVE_WARMUP, 600, { RAYON_NUM_THREADS: '1' });

  const site = siteSnapshot(options.pkg);
  const server = await startHistinitServer(site);
  const userData = mkdtempSync(join(tmpdir(), 'histinit-bench-chromium-'));
  let context;
  try {
    context = await chromium.launchPersistentContext(userData, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1280, height: 900 } });
    console.log('page, CPU fallback…');
    result.page.cpu = await pageRun(context, server.url, 'cpu', options.cpuWarmup, options.cpuSteps, 600);
    // The load from other processes drifts: native CPU once more, right after the page.
    console.log('native CPU again (rayon default threads)…');
    result.native.cpuAfter = await nativeBench('cpu', options.nativeSteps, NATIVE_WARMUP, 600);
    result.longTasks = {};
    for (const preset of options.longTaskPresets) {
      console.log(`page, CPU fallback, ${preset} (long tasks)…`);
      result.longTasks[preset] = await pageRun(context, server.url, 'cpu', 1, options.longTaskSteps, 900, { preset, inits: 'kaiming,pythia' });
    }
    if (!options.skipWebgpu) {
      console.log('native wgpu…');
      result.native.wgpu = await nativeBench('wgpu', options.wgpuSteps, 2, options.wgpuTimeout);
      console.log('page, WebGPU…');
      result.page.webgpu = await pageRun(context, server.url, 'webgpu', options.webgpuWarmup, options.webgpuSteps, options.webgpuTimeout);
    }
  } finally {
    await context?.close();
    server.stop();
    rmSync(userData, { recursive: true, force: true });
    rmSync(site, { recursive: true, force: true });
  }
  result.machine.loadavg_after = loadavg();
  report(result);
  mkdirSync(dirname(options.out), { recursive: true });
  writeFileSync(options.out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`wrote ${options.out}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
