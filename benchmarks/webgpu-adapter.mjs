// Which WebGPU adapter headless Chromium gives a page under given flags (issue 14: can
// the page run on Mesa's lavapipe, like native wgpu, instead of SwiftShader?).
//   node benchmarks/webgpu-adapter.mjs [--no-playwright-gl] [CHROMIUM_FLAG ...]
// e.g. VK_ICD_FILENAMES=/usr/share/vulkan/icd.d/lvp_icd.x86_64.json \
//   node benchmarks/webgpu-adapter.mjs --no-playwright-gl --use-angle=vulkan \
//   --enable-features=Vulkan --ignore-gpu-blocklist --use-webgpu-adapter=opengles \
//   --enable-webgpu-developer-features
// Prints the adapter's info for a core request, each power preference, a
// compatibility-mode request and a forced fallback, then chrome://gpu's feature status
// and "Dawn Info" adapter lines (every adapter Dawn found, and why it is blocklisted).
// --no-playwright-gl drops playwright's own `--use-angle=swiftshader-webgl` and
// `--enable-unsafe-swiftshader`. Needs `npm ci` in tests/e2e (playwright-core).
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { chromium } = await import(join(ROOT, 'tests/e2e/node_modules/playwright-core/index.mjs'));

const args = process.argv.slice(2);
const dropPlaywrightGl = args.includes('--no-playwright-gl');
const flags = args.filter((a) => a !== '--no-playwright-gl');

// WebGPU needs a secure context: an empty page on 127.0.0.1.
const server = createServer((_, res) => {
  res.setHeader('content-type', 'text/html');
  res.end('<!doctype html><title>adapter</title>');
});
await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
const profile = mkdtempSync(join(tmpdir(), 'histinit-adapter-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: [
    '--no-sandbox', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--no-first-run', '--disable-dev-shm-usage', '--enable-unsafe-webgpu',
    ...flags,
  ],
  ...(dropPlaywrightGl ? { ignoreDefaultArgs: ['--use-angle=swiftshader-webgl', '--enable-unsafe-swiftshader'] } : {}),
});
try {
  const page = await context.newPage();
  await page.goto(`http://127.0.0.1:${server.address().port}/`, { timeout: 60_000 });
  const adapters = await page.evaluate(async () => {
    if (!navigator.gpu) return { error: 'no navigator.gpu' };
    const describe = (a) => a && {
      vendor: a.info.vendor, architecture: a.info.architecture, device: a.info.device,
      description: a.info.description, isFallbackAdapter: a.info.isFallbackAdapter,
      subgroups: a.features.has('subgroups'), core: a.features.has('core-features-and-limits'),
    };
    const requests = {
      default: undefined,
      'high-performance': { powerPreference: 'high-performance' },
      'low-power': { powerPreference: 'low-power' },
      compatibility: { featureLevel: 'compatibility' },
      fallback: { forceFallbackAdapter: true },
    };
    const out = {};
    for (const [name, options] of Object.entries(requests)) {
      out[name] = describe(await navigator.gpu.requestAdapter(options));
    }
    return out;
  });
  for (const [name, info] of Object.entries(adapters)) console.log(`${name}: ${JSON.stringify(info)}`);
  const gpu = await context.newPage();
  await gpu.goto('chrome://gpu');
  await gpu.waitForTimeout(3000);
  const text = await gpu.evaluate(() => {
    // chrome://gpu draws into shadow roots: walk them for the text.
    const walk = (node) => (node.shadowRoot ? walk(node.shadowRoot) : '') + [...node.childNodes]
      .map((c) => (c.nodeType === 3 ? c.textContent
        : c.nodeType === 1 ? walk(c) + (['DIV', 'TR', 'LI', 'H3', 'H4', 'P'].includes(c.tagName) ? '\n' : ' ') : ''))
      .join('');
    return walk(document.body);
  });
  const lines = text.split('\n').map((l) => l.replace(/\s+/g, ' ').trim()).filter(Boolean);
  for (const line of lines) {
    if (/^(\* )?(Vulkan|WebGPU):|^<.*> .* backend - |Blocklisted|^\* Available|WebGPU has been disabled/.test(line)) {
      console.log(`chrome://gpu: ${line}`);
    }
  }
} finally {
  await context.close();
  server.close();
  rmSync(profile, { recursive: true, force: true });
}
