// Hostile links and files: what a stranger's link or file can make the page do.
//
// hostileUnitChecks: www/sources.js's size caps, in Node (a stubbed fetch and File), and
// www/worker.js's request lookup (a stand-in module and `self`).
// hostileLinkChecks: against the real module, one tab opens links built to break the page
// (markup in every key, huge and negative numbers, NaN, malformed percent-encoding,
// oversized shapes, a context larger than any window, foreign and non-http sources,
// duplicate inits, a 10,000-character link, repeated keys), then foreign and plain-http
// sources and a picked file over the size cap. For each: a visible message names the
// problem, nothing from the link became an element, no dialog opened, no CSP rule was
// broken, and a source on another origin is not fetched (GET) before the reader pressed
// Fetch (a HEAD asks its size first). Then the same tab still trains a normal run.

import { mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const MIB = 1024 * 1024;

// What every hostile link carries as markup: an alert (a dialog, caught below) and a flag.
const MARKUP = '<img src=x onerror="window.__pwned=1;alert(1)">';
const SCRIPT = '<script>window.__pwned=1;alert(1)</script>';

/** [name, query (raw, as a stranger would write it), words the messages must contain]. */
function hostileLinks(schema) {
  const everyKey = schema.map(({ key }) => `${key}=${MARKUP}`).join('&');
  // The lesson takes any text: markup in it is shown as text, not refused (checked by
  // injected() below, and by the classroom checks in run.mjs).
  const anyText = (entry) => entry.role === 'page' && entry.kind === 'text';
  return [
    ['markup as the preset', `preset=${SCRIPT}`, ["'preset'"]],
    // Every key of the schema at once; each must be named (checked below, key by key).
    ['markup in every key', everyKey, schema.filter((entry) => !anyText(entry)).map(({ key }) => `'${key}'`)],
    ['markup in an overlong lesson', `lesson=${MARKUP.repeat(20)}&hide=${MARKUP}`, ["'lesson' shortened", "'hide'"]],
    // The key ends at the first '=': the message names '<img src' as an unknown key.
    ['markup as a key', `${MARKUP}=1&steps=2`, ["ignored '<img src'", 'unknown key']],
    ['markup as an init', 'inits=<b>x</b>,kaiming', ["'inits'"]],
    ['markup as the backend', `backend=<svg onload="alert(1)">`, ["'backend'"]],
    ['negative lr', 'lr=-1', ["'lr'"]],
    ['NaN lr', 'lr=NaN', ["'lr'"]],
    ['infinite steps', 'steps=Infinity', ["'steps'"]],
    ['1e400 steps', 'steps=1e400', ["'steps'"]],
    ['huge batch', 'batch=99999999999', ["'batch'"]],
    ['negative warmup', 'warmup=-5', ["'warmup'"]],
    ['beta2 of 1', 'beta2=1', ["'beta2'"]],
    ['zero eval batches', 'eval_batches=0', ["'eval_batches'"]],
    ['a thousand seeds', 'seeds=1000', ["'seeds'"]],
    ['oversized shape', 'layers=64&width=8192&heads=128', ['ignored']],
    ['context larger than any window', 'context=8192', ["'context'"]],
    ['duplicate inits', 'inits=kaiming,kaiming', ["'inits'"]],
    ['malformed percent-encoding (truncated)', 'steps=%E0%A4%A', ["'steps'"]],
    ['malformed percent-encoding (%zz)', 'preset=%zz&lr=%zz', ["'preset'", "'lr'"]],
    ['javascript: source', 'source=javascript:alert(1)', ["'source'"]],
    ['data: source', `source=data:text/html,${SCRIPT}`, ["'source'"]],
    ['markup source', `source=${MARKUP}`, ["'source'"]],
    ['repeated keys', 'lr=0.001&lr=0.002&lr=0.003', ["second 'lr'"]],
    ['a 10,000-character link', `steps=2&preset=${'x'.repeat(10_000)}`, ['8192']],
  ];
}

/** What a link could have added: markup elements, a flag, inline handlers. */
async function injected(page) {
  return page.evaluate(() => {
    const found = [];
    const selectors = ['script:not([src])', 'img[src=x]', 'b', 'svg', 'iframe', 'object', 'embed', '[onerror]', '[onload]'];
    for (const selector of selectors) {
      const count = document.querySelectorAll(selector).length;
      if (count) found.push(`${count} × ${selector}`);
    }
    const images = [...document.querySelectorAll('img')].filter((img) => img.id !== 'previous-image');
    if (images.length) found.push(`${images.length} img`);
    if (window.__pwned !== undefined) found.push('window.__pwned set');
    return found;
  });
}

async function messagesText(page) {
  return (await page.locator('#messages').textContent()) ?? '';
}

export async function hostileUnitChecks({ check, assert }) {
  const sources = await import('../../www/sources.js');

  await check('sources: a stream over the cap is stopped and cancelled', async () => {
    let cancelled = false;
    let pulls = 0;
    const stream = new ReadableStream({
      pull(controller) {
        pulls += 1;
        if (pulls > 100) controller.close();
        else controller.enqueue(new Uint8Array(10));
      },
      cancel() {
        cancelled = true;
      },
    });
    let error = null;
    try {
      await sources.readCapped(stream, 25, (bytes) => `too big: ${bytes}`);
    } catch (caught) {
      error = caught;
    }
    assert(error?.message === 'too big: 30', `stops past the cap with the caller's message (${error?.message})`);
    assert(cancelled && pulls <= 4, `the stream is cancelled right away (cancelled ${cancelled}, ${pulls} pulls)`);
    const ok = await sources.readCapped(new Blob(['abc', 'def']).stream(), 6, () => 'unexpected');
    assert(new TextDecoder().decode(ok) === 'abcdef', 'a body at the cap is read whole');
  });

  await check('sources: fetchBytes refuses a declared or streamed body over the cap', async () => {
    const realFetch = globalThis.fetch;
    try {
      let pulls = 0;
      const endless = () =>
        new ReadableStream({
          // 300 MiB, then the end (without a cap the check fails instead of hanging).
          pull(controller) {
            pulls += 1;
            if (pulls > 300) controller.close();
            else controller.enqueue(new Uint8Array(MIB));
          },
        });
      // Content-Length says too much: refused before any of the body is read.
      globalThis.fetch = async () => new Response(endless(), { headers: { 'Content-Length': String(200 * MIB) } });
      let error = null;
      try {
        await sources.fetchBytes('https://evil.example/h.json', 'the histogram');
      } catch (caught) {
        error = caught;
      }
      assert(/over the 134\.2 MB this page reads for a histogram/.test(error?.message), `declared size refused: ${error?.message}`);
      assert(error.message.includes('209.7 MB'), `the message gives the declared size: ${error.message}`);
      // No (or a lying) Content-Length: stopped while streaming, just past 128 MiB.
      pulls = 0;
      globalThis.fetch = async () => new Response(endless(), { headers: { 'Content-Length': '10' } });
      error = null;
      try {
        await sources.fetchBytes('https://evil.example/h.json', 'the histogram');
      } catch (caught) {
        error = caught;
      }
      assert(/over the 134\.2 MB/.test(error?.message), `streamed size refused: ${error?.message}`);
      assert(pulls <= 132, `reading stopped at the cap (${pulls} MiB pulled)`);
      // Weights get their own, larger cap.
      globalThis.fetch = async () => new Response('abc', { headers: { 'Content-Length': String(600 * MIB) } });
      error = null;
      try {
        await sources.fetchBytes('https://x.example/w.safetensors', 'the weights');
      } catch (caught) {
        error = caught;
      }
      assert(/over the 536\.9 MB this page reads for a weights/.test(error?.message), `weights cap: ${error?.message}`);
      // A garbage Content-Length is ignored, and a small body passes.
      globalThis.fetch = async () => new Response('{"a":1}', { headers: { 'Content-Length': '-5e999' } });
      const bytes = await sources.fetchBytes('https://x.example/h.json', 'the histogram');
      assert(bytes.length === 7, `a small body is returned whole (${bytes.length})`);
    } finally {
      globalThis.fetch = realFetch;
    }
  });

  await check('sources: fileBytes refuses a file over the cap before reading it', async () => {
    let read = false;
    const big = { name: 'huge.json.gz', size: 129 * MIB, stream: () => (read = true) };
    let error = null;
    try {
      await sources.fileBytes(big);
    } catch (caught) {
      error = caught;
    }
    assert(error?.message.includes('huge.json.gz') && /over the 134\.2 MB/.test(error.message), `file refused: ${error?.message}`);
    assert(!read, 'not read');
    const small = new File(['{"x":1}'], 'ok.json');
    assert((await sources.fileBytes(small)).length === 7, 'a small file is read');
  });

  await check('worker: a request named after what every object inherits is unknown, and the worker still answers', async () => {
    // www/worker.js as it is, beside a stand-in module, with a `self` that records replies.
    const dir = mkdtempSync(join(tmpdir(), 'histinit-worker-'));
    const saved = Object.getOwnPropertyDescriptor(globalThis, 'self');
    try {
      mkdirSync(join(dir, 'pkg'));
      for (const file of ['worker.js', 'saved.js']) writeFileSync(join(dir, file), readFileSync(new URL(`../../www/${file}`, import.meta.url)));
      writeFileSync(
        join(dir, 'pkg/histinit_web.js'),
        'export default async function init() { return {}; }\n' +
          'export const webgpu_available = () => false;\n' +
          'export const forget_webgpu_device = () => null;\n' +
          'export class Session {}\n',
      );
      const waiting = new Map();
      let deliver = null;
      globalThis.self = {
        postMessage: (reply) => waiting.get(reply.id)?.(reply),
        addEventListener: (type, listener) => {
          if (type === 'message') deliver = listener;
        },
      };
      await import(pathToFileURL(join(dir, 'worker.js')).href);
      let next = 0;
      const request = (op) =>
        new Promise((resolve) => {
          next += 1;
          waiting.set(next, resolve);
          deliver({ data: { id: next, op, args: {} } });
        });
      for (const op of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf', 'nonsense', 7, null]) {
        const reply = await request(op);
        assert(
          reply.error?.startsWith(`unknown request '${String(op)}'`) && reply.error.includes('load') && reply.trap === false,
          `${String(op)}: ${JSON.stringify(reply)}`,
        );
      }
      const reply = await request('webgpu_available');
      assert(reply.value === false && !('error' in reply), `a real request after them: ${JSON.stringify(reply)}`);
    } finally {
      if (saved) Object.defineProperty(globalThis, 'self', saved);
      else delete globalThis.self;
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

/**
 * The hostile links, one tab, against the real module. `helpers`: the runner's check,
 * assert, openPage, waitReady, waitDone, lossSummary, cspViolations and LINK_SCHEMA.
 */
export async function hostileLinkChecks(context, base, helpers) {
  const { check, assert, openPage, waitReady, waitDone, lossSummary, cspViolations, schema } = helpers;

  await check('Hostile links: each is named in a message, nothing injected, no foreign fetch before consent, then a normal run trains', async () => {
    const started = Date.now();
    // The served CSP lets the page reach only its own origin and https elsewhere.
    const csp = (await context.request.get(base)).headers()['content-security-policy'] ?? '';
    assert(/connect-src 'self' https:;/.test(csp) && !csp.includes('http:'), `connect-src is 'self' https: only: ${csp}`);
    const page = await openPage(context, base, '');
    await waitReady(page);
    const dialogs = [];
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      dialog.dismiss().catch(() => {});
    });
    // Requests to the strangers' servers, by method; answered here (none leave the machine).
    const foreign = [];
    await page.route(/^https?:\/\/(evil|huge)\.example\//, (route) => {
      const request = route.request();
      foreign.push(`${request.method()} ${request.url()}`);
      const huge = request.url().includes('huge.example');
      const headers = {
        'access-control-allow-origin': '*',
        'content-type': 'application/json',
        // A HEAD answer's body is empty, so its Content-Length is what the server claims.
        'content-length': huge ? String(10 ** 12) : '2048',
      };
      if (request.method() === 'HEAD') return route.fulfill({ status: 200, headers, body: '' });
      return route.fulfill({ status: 200, headers: { 'access-control-allow-origin': '*' }, contentType: 'application/json', body: '{"not": "a histogram <b>x</b>"}' });
    });

    const failures = [];
    const links = hostileLinks(schema);
    for (const [name, query, words] of links) {
      await page.goto(`${base}?${query}`);
      await waitReady(page);
      const problems = [];
      const text = await messagesText(page);
      const missing = words.filter((word) => !text.includes(word));
      if (missing.length) problems.push(`messages do not name ${missing.join(', ')}: '${text.slice(0, 300)}'`);
      if (!(await page.locator('#messages li').first().isVisible())) problems.push('no visible message');
      const found = await injected(page);
      if (found.length) problems.push(`injected: ${found.join(', ')}`);
      const violations = await cspViolations(page);
      if (violations.length) problems.push(`CSP violations: ${violations.join('; ')}`);
      console.log(`  ${problems.length ? 'FAILED' : 'ok'}: ${name}: ${text.replace(/\s+/g, ' ').slice(0, 160)}`);
      if (problems.length) failures.push(`${name}: ${problems.join('; ')}`);
    }

    // Sources on other servers: the link itself is valid, so the page must ask first.
    const foreignLink = (source) =>
      `preset=nano&inits=empirical&source=${encodeURIComponent(source)}&steps=2&batch=4&context=32&warmup=0&backend=cpu`;
    const consentSteps = async (name, body) => {
      try {
        await body();
        console.log(`  ok: ${name}`);
      } catch (error) {
        console.log(`  FAILED: ${name}: ${error.message}`);
        failures.push(`${name}: ${error.message}`);
      }
    };
    const waitFailed = () =>
      page.waitForFunction(() => document.querySelector('#status').classList.contains('error'), null, { timeout: 60_000 });

    await consentSteps('foreign https source: host and size shown, fetched only on Fetch', async () => {
      await page.goto(`${base}?${foreignLink('https://evil.example/h.json?<b>x</b>')}`);
      await waitReady(page);
      assert(foreign.length === 0, `nothing requested from evil.example on load: ${foreign}`);
      await page.click('#start');
      await page.locator('#consent .consent-fetch').waitFor({ state: 'visible', timeout: 10_000 });
      assert((await page.locator('#consent .consent-host').textContent()) === 'evil.example', 'the prompt names the host');
      await page.waitForFunction(() => document.querySelector('#consent .consent-size')?.textContent.includes('2.0 KB'), null, { timeout: 10_000 });
      assert(foreign.every((request) => request.startsWith('HEAD ')), `only the size was asked before the click: ${foreign}`);
      assert((await injected(page)).length === 0, `nothing injected by the prompt: ${await injected(page)}`);
      // Cancel: nothing fetched, a message says so, and the run cannot start without it.
      await page.click('#consent .consent-cancel');
      await waitFailed();
      assert(await page.locator('#consent').isHidden(), 'the prompt is gone');
      const text = await messagesText(page);
      assert(text.includes('you cancelled fetching the histogram from evil.example'), `cancel explained: ${text}`);
      assert(!foreign.some((request) => request.startsWith('GET ')), `no GET after Cancel: ${foreign}`);
      // Start again, Fetch: now (and only now) the body is fetched; the module judges it.
      await page.click('#start');
      await page.locator('#consent .consent-fetch').waitFor({ state: 'visible', timeout: 10_000 });
      assert(!foreign.some((request) => request.startsWith('GET ')), `still no GET before Fetch: ${foreign}`);
      await page.click('#consent .consent-fetch');
      await waitFailed();
      assert(foreign.filter((request) => request.startsWith('GET ')).length === 1, `one GET after Fetch: ${foreign}`);
      const after = await messagesText(page);
      assert(after.includes('evil.example'), `the module's refusal names the source: ${after}`);
      assert((await injected(page)).length === 0, `nothing injected from the body: ${await injected(page)}`);
    });

    await consentSteps('foreign source declaring 1 TB: refused from its HEAD, never fetched', async () => {
      await page.goto(`${base}?${foreignLink('https://huge.example/h.json')}`);
      await waitReady(page);
      await page.click('#start');
      await waitFailed();
      const text = await messagesText(page);
      assert(/huge\.example is 1\.0 TB, over the 134\.2 MB/.test(text), `size refusal: ${text}`);
      assert(!foreign.some((request) => request.startsWith('GET https://huge')), `no GET to huge.example: ${foreign}`);
    });

    await consentSteps('plain http source on another origin: refused, nothing requested', async () => {
      const before = foreign.length;
      await page.goto(`${base}?${foreignLink('http://evil.example/h.json')}`);
      await waitReady(page);
      await page.click('#start');
      await waitFailed();
      const text = await messagesText(page);
      assert(text.includes('evil.example is not on https'), `http refusal: ${text}`);
      assert(foreign.length === before, `no request: ${foreign.slice(before)}`);
    });

    await consentSteps('a picked file over the cap: refused from its size, not read', async () => {
      // Sparse: 130 MiB on paper, nothing on disk; the page must refuse it from file.size.
      const dir = mkdtempSync(join(tmpdir(), 'histinit-hostile-'));
      const path = join(dir, 'huge <img src=x onerror=alert(1)>.json.gz');
      try {
        writeFileSync(path, '');
        truncateSync(path, 130 * MIB);
        await page.goto(`${base}?preset=nano&inits=empirical&steps=2&backend=cpu`);
        await waitReady(page);
        await page.selectOption('#source', '@file');
        await page.setInputFiles('#source-file', path);
        await page.waitForFunction(() => document.querySelector('#messages').textContent.includes('over the'), null, { timeout: 10_000 });
        const text = await messagesText(page);
        assert(text.includes('the file huge <img src=x onerror=alert(1)>.json.gz is 136.3 MB, over the 134.2 MB'), `file refused: ${text}`);
        assert(!text.includes('Using the local file'), `the file is not used: ${text}`);
        assert((await injected(page)).length === 0, `nothing injected by the file name: ${await injected(page)}`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    assert(links.length + 4 >= 20, `at least 20 hostile links (${links.length + 4})`);
    assert(dialogs.length === 0, `no dialog opened: ${dialogs.join(' | ')}`);
    assert(failures.length === 0, `hostile links:\n    ${failures.join('\n    ')}`);

    // Still alive: the same tab trains a normal run.
    await page.goto(`${base}?preset=nano&inits=kaiming,pythia&steps=6&batch=4&context=32&warmup=1&eval_every=3&backend=cpu`);
    await waitReady(page);
    assert((await page.locator('#messages li').count()) === 0, `no warnings for the normal link: ${await messagesText(page)}`);
    await page.click('#start');
    await waitDone(page, 120_000);
    const runs = await lossSummary(page);
    assert(runs.length === 2 && runs.every((run) => run.steps === 6), `two runs of 6 steps (${runs.map((run) => run.steps)})`);
    assert(runs.every((run) => run.losses.every(Number.isFinite)), `finite losses: ${runs.map((run) => run.losses)}`);
    assert(dialogs.length === 0, `no dialog opened: ${dialogs.join(' | ')}`);
    const unexpected = page.problems.filter((problem) => !problem.includes('.example/'));
    assert(unexpected.length === 0, `no console errors: ${unexpected.join(' | ')}`);
    console.log(`  ${links.length + 4} hostile links, sources and files, then a normal run, in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    await page.close();
  });
}
