// The page's memory over a long run (issue 13): does a 10,000-step session stay flat?
//
//   node benchmarks/page-memory.mjs [options]
//
// Serves the repository with `histinit serve`, opens the page in headless Chromium (a
// fresh profile) with a CPU-fallback link, presses Start and, every --every steps, reads
//   renderer RSS: VmRSS of the page's renderer process (its pid from the browser's
//                 SystemInfo.getProcessInfo; the only renderer, one tab is open);
//   wasm memory:  the module's linear memory (window.histinit.wasmBytes; it only grows);
//   JS heap:      performance.memory.usedJSHeapSize (after the page's own work, no GC forced).
// The reference is the sample at --reference steps (after warm-up: allocator pools,
// shader/JIT caches, the first snapshots); the ratio final / reference is the number
// the issue asks to keep within ±10%. Not a test: nothing is asserted; record the output
// in docs/benchmarks.md. Writes JSON (default out/bench/page-memory.json).
//
// Options (defaults in brackets):
//   --steps N      steps per run [10000]
//   --every N      sample every N steps [500]
//   --reference N  the step whose sample is the reference [1000]
//   --query Q      the rest of the link [preset=nano&inits=kaiming,pythia&batch=4&context=32&eval_every=100&warmup=100]
//   --out FILE     JSON output [out/bench/page-memory.json]
// Environment: HISTINIT_BIN (default $CARGO_TARGET_DIR/debug/histinit), CHROMIUM.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startHistinitServer } from '../tests/e2e/server.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..');
const { chromium } = await import(join(ROOT, 'tests/e2e/node_modules/playwright-core/index.mjs'));

function options() {
  const defaults = {
    steps: 10_000,
    every: 500,
    reference: 1000,
    query: 'preset=nano&inits=kaiming,pythia&batch=4&context=32&eval_every=100&warmup=100',
    out: join(ROOT, 'out/bench/page-memory.json'),
  };
  const args = process.argv.slice(2);
  for (let i = 0; i < args.length; i += 2) {
    const key = args[i].replace(/^--/, '');
    if (!(key in defaults) || args[i + 1] === undefined) throw new Error(`unknown option or missing value: ${args[i]}`);
    defaults[key] = typeof defaults[key] === 'number' ? Number(args[i + 1]) : args[i + 1];
  }
  return defaults;
}

function rssBytes(pid) {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
  return Number(line.split(/\s+/)[1]) * 1024;
}

const MB = (bytes) => (bytes === null ? '–' : (bytes / 2 ** 20).toFixed(1));

async function main() {
  const opts = options();
  const server = await startHistinitServer(ROOT);
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--enable-unsafe-webgpu'],
  });
  const samples = [];
  try {
    const page = await browser.newPage();
    const cdp = await browser.newBrowserCDPSession();
    const link = `${server.url}?${opts.query}&steps=${opts.steps}&backend=cpu`;
    console.log(`page: ${link}`);
    await page.goto(link);
    await page.waitForFunction(() => document.querySelector('#status').textContent.startsWith('Ready'), null, { timeout: 120_000 });
    const started = Date.now();
    await page.click('#start');
    const renderer = async () => {
      const { processInfo } = await cdp.send('SystemInfo.getProcessInfo');
      const renderers = processInfo.filter((p) => p.type === 'renderer');
      return renderers.reduce((sum, p) => sum + rssBytes(p.id), 0);
    };
    let next = opts.every;
    for (;;) {
      const now = await page.evaluate(() => ({
        step: Math.min(...Object.values(window.histinit.history).map((h) => h.length)),
        done: window.histinit.done,
        failed: window.histinit.phase === 'failed',
        status: document.querySelector('#status').textContent,
        wasm: window.histinit.wasmBytes,
        heap: performance.memory?.usedJSHeapSize ?? null,
      }));
      if (now.failed) throw new Error(`the page failed: ${now.status}`);
      if (now.step >= next || now.done) {
        const sample = { step: now.step, seconds: (Date.now() - started) / 1000, rss: await renderer(), wasm: now.wasm, heap: now.heap };
        samples.push(sample);
        console.log(`step ${String(sample.step).padStart(6)}  ${sample.seconds.toFixed(0).padStart(5)} s  renderer RSS ${MB(sample.rss).padStart(7)} MB  wasm ${MB(sample.wasm).padStart(7)} MB  JS heap ${MB(sample.heap).padStart(6)} MB`);
        while (next <= now.step) next += opts.every;
      }
      if (now.done) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
  } finally {
    await browser.close();
    server.stop();
  }
  const reference = samples.find((s) => s.step >= opts.reference) ?? samples[0];
  const last = samples.at(-1);
  const ratio = (key) => (reference[key] ? last[key] / reference[key] : null);
  const result = { options: opts, samples, reference_step: reference.step, final_step: last.step, ratios: { rss: ratio('rss'), wasm: ratio('wasm'), heap: ratio('heap') } };
  console.log(`final / step ${reference.step}: renderer RSS ${result.ratios.rss?.toFixed(3)}, wasm memory ${result.ratios.wasm?.toFixed(3)}, JS heap ${result.ratios.heap?.toFixed(3)}`);
  mkdirSync(dirname(opts.out), { recursive: true });
  writeFileSync(opts.out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`wrote ${opts.out}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
