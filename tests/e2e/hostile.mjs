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
// broken, and a source on another origin is not contacted at all before the reader
// pressed Fetch. Then the same tab still trains a normal run.
// hostileRoundTwoChecks: issue 24's classes (see there).

import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { gzipSync } from 'node:zlib';
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

  await check("sources: a link's URL asks first outside the page's folder, refuses redirects and gives up on a silent host", async () => {
    const realFetch = globalThis.fetch;
    const saved = Object.getOwnPropertyDescriptor(globalThis, 'location');
    const refusal = async (promise) => {
      try {
        await promise;
      } catch (error) {
        return error.message;
      }
      return null;
    };
    try {
      // A page in one person's folder of a shared host.
      Object.defineProperty(globalThis, 'location', { value: new URL('https://pages.example/~alice/index.html?x=1'), configurable: true });
      assert(!sources.needsConsent('https://pages.example/~alice/www/h.json'), 'its own folder: no question');
      assert(!sources.needsConsent('www/h.json'), 'a relative URL in its folder: no question');
      assert(sources.needsConsent('https://pages.example/~mallory/h.json'), "another person's folder on the same origin: asked");
      assert(sources.needsConsent('https://pages.example/~alice/../~mallory/h.json'), 'a dot segment out of the folder: asked');
      assert(sources.needsConsent('https://pages.example/~alicex/h.json'), 'a folder that only starts like it: asked');
      assert(sources.needsConsent('https://evil.example/h.json'), 'another host: asked');
      // Fetched from a link: no cookies, no referrer, redirects not followed.
      let options = null;
      globalThis.fetch = async (url, given) => {
        options = given;
        return { type: 'opaqueredirect', status: 0, ok: false, headers: new Headers() };
      };
      const redirected = await refusal(sources.fetchBytes('https://evil.example/h.json', 'the histogram', 'histogram', { fromLink: true }));
      assert(options.redirect === 'manual' && options.credentials === 'omit' && options.referrerPolicy === 'no-referrer', `options: ${JSON.stringify(options)}`);
      assert(redirected?.includes('evil.example answered with a redirect') && redirected.includes("final address"), `redirect refused: ${redirected}`);
      // A host that sends nothing: given up (the idle limit, shortened by a fake clock).
      const realSetTimeout = globalThis.setTimeout;
      globalThis.setTimeout = (callback) => realSetTimeout(callback, 10);
      globalThis.fetch = (url, given) =>
        new Promise((resolve, reject) => given.signal.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError'))));
      let silent;
      try {
        silent = await refusal(sources.fetchBytes('https://silent.example/h.json', 'the histogram', 'histogram', { fromLink: true }));
      } finally {
        globalThis.setTimeout = realSetTimeout;
      }
      assert(silent?.includes('silent.example stopped answering (nothing for 15 s)'), `silent host: ${silent}`);
    } finally {
      globalThis.fetch = realFetch;
      if (saved) Object.defineProperty(globalThis, 'location', saved);
      else delete globalThis.location;
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
        // What the server claims, whatever the body.
        'content-length': huge ? String(10 ** 12) : '2048',
      };
      if (huge) return route.fulfill({ status: 200, headers, body: '{}' });
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

    await consentSteps('foreign https source: host shown, nothing requested before Fetch', async () => {
      await page.goto(`${base}?${foreignLink('https://evil.example/h.json?<b>x</b>')}`);
      await waitReady(page);
      assert(foreign.length === 0, `nothing requested from evil.example on load: ${foreign}`);
      await page.click('#start');
      await page.locator('#consent .consent-fetch').waitFor({ state: 'visible', timeout: 10_000 });
      assert((await page.locator('#consent .consent-host').textContent()) === 'evil.example', 'the prompt names the host');
      assert(foreign.length === 0, `nothing asked before the click: ${foreign}`);
      assert((await injected(page)).length === 0, `nothing injected by the prompt: ${await injected(page)}`);
      // Cancel: nothing fetched, a message says so, and the run cannot start without it.
      await page.click('#consent .consent-cancel');
      await waitFailed();
      assert(await page.locator('#consent').isHidden(), 'the prompt is gone');
      const text = await messagesText(page);
      assert(text.includes('you cancelled fetching the histogram from evil.example'), `cancel explained: ${text}`);
      assert(foreign.length === 0, `nothing after Cancel: ${foreign}`);
      // Start again, Fetch: now (and only now) the body is fetched; the module judges it.
      await page.click('#start');
      await page.locator('#consent .consent-fetch').waitFor({ state: 'visible', timeout: 10_000 });
      assert(foreign.length === 0, `still nothing before Fetch: ${foreign}`);
      await page.click('#consent .consent-fetch');
      await waitFailed();
      assert(foreign.length === 1 && foreign[0].startsWith('GET '), `one GET after Fetch: ${foreign}`);
      const after = await messagesText(page);
      assert(after.includes('evil.example'), `the module's refusal names the source: ${after}`);
      assert((await injected(page)).length === 0, `nothing injected from the body: ${await injected(page)}`);
    });

    await consentSteps('foreign source declaring 1 TB: refused from its answer, the body not read', async () => {
      await page.goto(`${base}?${foreignLink('https://huge.example/h.json')}`);
      await waitReady(page);
      await page.click('#start');
      await page.locator('#consent .consent-fetch').waitFor({ state: 'visible', timeout: 10_000 });
      assert(!foreign.some((request) => request.includes('huge.example')), `nothing before Fetch: ${foreign}`);
      await page.click('#consent .consent-fetch');
      await waitFailed();
      const text = await messagesText(page);
      assert(/huge\.example\/h\.json is 1\.0 TB or more, over the 134\.2 MB/.test(text), `size refusal: ${text}`);
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

// ---------------------------------------------------------------- round two (issue 24)

const TEACHER = new URL('../../www/histograms/teacher-nano.json.gz', import.meta.url);
const WEIGHTS = new URL('../../www/histograms/teacher-nano.safetensors', import.meta.url);
const SHORT = 'preset=nano&steps=2&batch=4&context=32&warmup=0&eval_every=2&eval_batches=1&backend=cpu';

/** The hostile files of round two, written to `dir`: {name: path}. */
function hostileFiles(dir) {
  const files = {};
  const write = (name, bytes) => {
    files[name] = join(dir, name);
    writeFileSync(files[name], bytes);
  };
  // 200 MiB of spaces before any JSON: 200 KB on disk, past the 128 MiB a file may inflate to.
  const bomb = gzipSync(Buffer.alloc(200 * MIB, 0x20), { level: 9 });
  write('bomb.json.gz', bomb);
  write('trajectory-bomb.json.gz', bomb);
  // One provenance string of 2 MiB (past the 1 MiB a string of a gzipped file may have).
  write('long-string.json.gz', gzipSync(Buffer.from(`{"version":1,"model":"${'x'.repeat(2 * MIB)}"}`)));
  // A safetensors header that claims 1 TiB.
  const header = Buffer.alloc(8);
  header.writeBigUInt64LE(1n << 40n);
  write('huge-header.safetensors', Buffer.concat([header, Buffer.from('{}')]));
  // A header of 20 MiB of JSON (past the 16 MiB a header may have), all of it there.
  const big = Buffer.from(`{"__metadata__":{"x":"${'y'.repeat(20 * MIB)}"}}`);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(big.length));
  write('big-header.safetensors', Buffer.concat([length, big]));
  // Names that would reorder or hide what is shown around them.
  write('gnp.\u202Ejson', Buffer.from('{"not": "a histogram"}'));
  write('tiny\u200Bnote.json', Buffer.from('{"not": "a histogram"}'));
  write('notes\u202E.txt', Buffer.from('too short'));
  write('binary.txt', Buffer.from(Array.from({ length: 64 * 1024 }, (_, i) => (i * 7919) % 256)));
  // Sparse: 65 MiB on paper, nothing on disk (over the 64 MiB read of a text).
  files['huge.txt'] = join(dir, 'huge.txt');
  writeFileSync(files['huge.txt'], '');
  truncateSync(files['huge.txt'], 65 * MIB);
  write('tiny-invalid.json', Buffer.from('{"not": "a histogram"}'));
  return files;
}

/**
 * Round two of the hostile cases: consent before any request to another host (or to
 * another folder of the page's own origin), redirects and silent hosts, framing by
 * another origin on a host with and without headers, picked files built to exhaust the
 * module (with the worker's wasm memory measured against a fresh tab), and names that
 * would reorder what is shown. Each case asserts a message naming the problem, then a
 * short run that trains in the same tab (or, after a frame, in a tab of its own).
 * `helpers`: as for hostileLinkChecks, with startNodeServer and root (the repository).
 */
export async function hostileRoundTwoChecks(context, base, helpers) {
  const { check, assert, openPage, waitReady, waitDone, lossSummary, startNodeServer, root } = helpers;

  await check('Hostile round two: consent first, redirects, silent hosts, framing, hostile files and names; each named, then a run trains', async () => {
    const started = Date.now();
    const dir = mkdtempSync(join(tmpdir(), 'histinit-hostile2-'));
    const files = hostileFiles(dir);
    // A host that sends no headers of the site's choosing (GitHub Pages): the Node server,
    // with the page under /alice/ and a stranger's folder /mallory/ on the same origin.
    const shared = mkdtempSync(join(tmpdir(), 'histinit-shared-'));
    symlinkSync(root, join(shared, 'alice'));
    mkdirSync(join(shared, 'mallory'));
    writeFileSync(join(shared, 'mallory/h.json'), '{"not": "a histogram"}');
    const headerless = await startNodeServer(shared);
    const cleanup = [() => headerless.stop(), () => rmSync(dir, { recursive: true, force: true }), () => rmSync(shared, { recursive: true, force: true })];
    try {
      await roundTwo();
    } finally {
      for (const step of cleanup) step();
    }
    async function roundTwo() {
      const failures = [];
      const memory = {};
      let cases = 0;
      const page = await openPage(context, base, '');
      const requests = [];
      page.on('request', (request) => requests.push(`${request.method()} ${request.url()}`));
      // Requests to `host` (its name in a page's own query does not count).
      const sent = (host) => requests.filter((line) => line.split(' ')[1].startsWith(`https://${host}/`));
      const messages = async (target = page) => (await target.locator('#messages').textContent()) ?? '';
      const waitMessage = (words, target = page, timeout = 60_000) =>
        target.waitForFunction((words) => words.every((word) => document.querySelector('#messages').textContent.includes(word)), words, { timeout });
      const waitFailed = (target = page, timeout = 60_000) =>
        target.waitForFunction(() => document.querySelector('#status').classList.contains('error'), null, { timeout });
      /** A short run of `inits` trains to the end in `target` as it is. */
      const trains = async (target = page) => {
        await target.click('#start');
        await waitDone(target, 120_000);
        const runs = await target.evaluate(() => window.histinit.runs.map((run) => (window.histinit.history[run.id] ?? []).map((e) => e.train_loss)));
        assert(runs.length >= 1 && runs.every((losses) => losses.length === 2 && losses.every(Number.isFinite)), `a short run trains: ${JSON.stringify(runs)}`);
      };
      /** The same tab, a standard init: trains. */
      const trainsAfter = async () => {
        await page.goto(`${base}?${SHORT}&inits=kaiming`);
        await waitReady(page);
        await trains();
      };
      /** A picked file refused, then a good histogram picked in the same tab trains. */
      const trainsWithGoodFile = async (good = TEACHER) => {
        await page.setInputFiles('#source-file', good.pathname);
        await waitMessage([`Using the local file ${good.pathname.split('/').pop()}`]);
        await trains();
      };
      // E2E_CASE=a|b runs only the cases whose name contains a or b (to see one fail on old code).
      const one = async (name, body) => {
        if (process.env.E2E_CASE && !process.env.E2E_CASE.split('|').some((part) => name.includes(part))) return;
        cases += 1;
        try {
          await body();
          console.log(`  ok: ${name}`);
        } catch (error) {
          console.log(`  FAILED: ${name}: ${error.message.split('\n')[0]}`);
          failures.push(`${name}: ${error.message}`);
        }
      };
      const workerBytes = () => page.evaluate(() => window.histinit.memory());

      // ------------------------------------------------ links naming other hosts
      await page.route(/^https?:\/\/[a-z-]+\.example\//, async (route) => {
        const url = new URL(route.request().url());
        const cors = { 'access-control-allow-origin': '*' };
        if (url.host === 'silent.example') return; // never answers
        if (url.host === 'redirect.example') {
          return route.fulfill({ status: 302, headers: { ...cors, location: 'https://other.example/h.json' } });
        }
        if (url.host === 'hop.example') {
          return route.fulfill({ status: 301, headers: { ...cors, location: 'https://hop.example/moved.json' } });
        }
        if (url.host === 'tb.example') {
          return route.fulfill({ status: 200, headers: { ...cors, 'content-length': String(10 ** 12), 'content-type': 'application/json' }, body: '{}' });
        }
        if (url.host === 'gone.example') return route.fulfill({ status: 404, headers: cors, body: 'no' });
        return route.fulfill({ status: 200, headers: cors, contentType: 'application/json', body: '{"not": "a histogram"}' });
      });
      const foreignLink = (source) => `${SHORT}&inits=empirical&source=${encodeURIComponent(source)}`;
      const openForeign = async (source) => {
        await page.goto(`${base}?${foreignLink(source)}`);
        await waitReady(page);
        await page.click('#start');
        await page.locator('#consent .consent-fetch').waitFor({ state: 'visible', timeout: 10_000 });
      };

      await one('a foreign source: no request at all (not even HEAD) before Fetch; Cancel says so', async () => {
        await openForeign('https://quiet.example/h.json');
        await page.waitForTimeout(1500); // time for a size question, were one sent
        assert(sent('quiet.example').length === 0, `nothing sent before Fetch: ${sent('quiet.example')}`);
        const prompt = await page.locator('#consent').textContent();
        assert(prompt.includes('quiet.example') && prompt.includes('Nothing is sent to it before you press Fetch'), `the prompt says so: ${prompt}`);
        await page.click('#consent .consent-cancel');
        await waitFailed();
        assert((await messages()).includes('you cancelled fetching the histogram from quiet.example'), await messages());
        assert(sent('quiet.example').length === 0, `nothing sent after Cancel: ${sent('quiet.example')}`);
        await trainsAfter();
      });

      await one('a foreign source that redirects to another host: refused, the other host never contacted', async () => {
        await openForeign('https://redirect.example/h.json');
        await page.click('#consent .consent-fetch');
        await waitFailed();
        assert((await messages()).includes('redirect.example answered with a redirect'), await messages());
        assert(sent('other.example').length === 0, `other.example not contacted: ${sent('other.example')}`);
        await trainsAfter();
      });

      await one('a foreign source that redirects within its host: refused too (the page cannot see where)', async () => {
        await openForeign('https://hop.example/h.json');
        await page.click('#consent .consent-fetch');
        await waitFailed();
        assert((await messages()).includes('hop.example answered with a redirect'), await messages());
        assert(!sent('hop.example').some((line) => line.includes('moved')), `the redirect not followed: ${sent('hop.example')}`);
        await trainsAfter();
      });

      await one('a foreign host that never answers: given up after 15 s with a message', async () => {
        await openForeign('https://silent.example/h.json');
        await page.click('#consent .consent-fetch');
        await waitFailed(page, 40_000);
        assert((await messages()).includes('silent.example stopped answering'), await messages());
        await trainsAfter();
      });

      await one('a foreign source declaring 1 TB: no size question before Fetch, refused from its answer', async () => {
        await openForeign('https://tb.example/h.json');
        assert(sent('tb.example').length === 0, `nothing before Fetch: ${sent('tb.example')}`);
        await page.click('#consent .consent-fetch');
        await waitFailed();
        assert(/tb\.example\/h\.json is 1\.0 TB or more, over the 134\.2 MB/.test(await messages()), await messages());
        await trainsAfter();
      });

      await one('a foreign source answering 404: named with its status', async () => {
        await openForeign('https://gone.example/h.json');
        await page.click('#consent .consent-fetch');
        await waitFailed();
        assert((await messages()).includes('could not fetch the histogram from https://gone.example/h.json (HTTP 404)'), await messages());
        await trainsAfter();
      });

      await one('a foreign source is fetched without cookies or referrer', async () => {
        await context.addCookies([{ name: 'who', value: 'visitor', domain: 'crumbs.example', path: '/' }]);
        const seen = new Promise((resolve) => page.once('request', (request) => request.url().includes('crumbs.example') && resolve(request)));
        await openForeign('https://crumbs.example/h.json');
        await page.click('#consent .consent-fetch');
        const request = await seen;
        const headers = await request.allHeaders();
        assert(!('cookie' in headers) && !('referer' in headers), `no cookie, no referrer: ${JSON.stringify(headers)}`);
        await waitFailed();
        assert((await messages()).includes('crumbs.example'), await messages());
        await trainsAfter();
      });

      // ------------------------------------------------ a shared origin: the page in /alice/
      const alice = `${headerless.url}alice/index.html`;
      await one("the same origin, a stranger's folder: asked first, like another host", async () => {
        const stranger = `${headerless.url}mallory/h.json`;
        await page.goto(`${alice}?${foreignLink(stranger)}`);
        await waitReady(page);
        await page.click('#start');
        await page.locator('#consent .consent-fetch').waitFor({ state: 'visible', timeout: 10_000 });
        const prompt = await page.locator('#consent').textContent();
        assert(prompt.includes("outside this page's folder"), `the prompt says where: ${prompt}`);
        assert(!requests.some((line) => line.includes('/mallory/')), `nothing sent before Fetch: ${requests.filter((line) => line.includes('/mallory/'))}`);
        await page.click('#consent .consent-cancel');
        await waitFailed();
        assert((await messages()).includes('you cancelled fetching the histogram from 127.0.0.1'), await messages());
        // The page's own folder needs no question: a shipped file by its URL trains.
        await page.goto(`${alice}?${foreignLink(`${headerless.url}alice/www/histograms/teacher-nano.json.gz`)}`);
        await waitReady(page);
        await trains();
        assert(await page.locator('#consent').isHidden(), 'no prompt for the own folder');
      });

      // ------------------------------------------------ framing by another origin
      // Another site on this machine: a server of its own, with no policy (a page fulfilled
      // by a route counts as public, and Chromium lets no public page frame a loopback one).
      const framerServer = createServer((request, response) => {
        const src = new URL(request.url, 'http://x').searchParams.get('src') ?? '';
        const attribute = src.replace(/&/g, '&amp;').replace(/"/g, '&quot;');
        response.writeHead(200, { 'content-type': 'text/html' }).end(`<!doctype html><iframe src="${attribute}" width="600" height="500"></iframe>`);
      });
      await new Promise((resolve) => framerServer.listen(0, '127.0.0.1', resolve));
      cleanup.push(() => framerServer.close());
      const framer = async (src) => {
        const top = await context.newPage();
        await top.goto(`http://localhost:${framerServer.address().port}/?src=${encodeURIComponent(src)}`);
        return top;
      };
      const frameOf = (top, prefix) => top.frames().find((frame) => frame.url().startsWith(prefix));

      await one('framed without embed=1 on a host without headers: refuses to run, links to its own tab', async () => {
        const target = `${alice}?${SHORT}&inits=kaiming`;
        const top = await framer(target);
        try {
          const frame = frameOf(top, headerless.url);
          assert(frame, `the frame loaded: ${top.frames().map((f) => f.url())}`);
          await frame.locator('#framed-refusal').waitFor({ timeout: 20_000 });
          const text = await frame.locator('body').textContent();
          assert(text.includes("does not run inside another site's frame") && text.includes('embed=1'), text);
          const link = frame.locator('a[target=_blank]');
          assert((await link.getAttribute('href')) === target, `links to itself: ${await link.getAttribute('href')}`);
          assert((await frame.locator('#start').count()) === 0, 'no control left');
        } finally {
          await top.close();
        }
        await page.goto(`${alice}?${SHORT}&inits=kaiming`);
        await waitReady(page);
        await trains();
      });

      await one('framed with embed=1 on a host without headers: runs and trains in the frame', async () => {
        const top = await framer(`${alice}?${SHORT}&inits=kaiming&embed=1`);
        try {
          const frame = frameOf(top, headerless.url);
          await frame.waitForFunction(() => document.querySelector('#status')?.textContent.startsWith('Ready'), null, { timeout: 60_000 });
          assert((await frame.locator('#framed-refusal').count()) === 0, 'not refused');
          await trains(frame);
        } finally {
          await top.close();
        }
      });

      await one('framed with embed=1 by histinit serve: allowed, and trains in the frame', async () => {
        const top = await framer(`${base}index.html?${SHORT}&inits=kaiming&embed=1`);
        try {
          const frame = frameOf(top, base);
          await frame.waitForFunction(() => document.querySelector('#status')?.textContent.startsWith('Ready'), null, { timeout: 60_000 });
          await trains(frame);
        } finally {
          await top.close();
        }
      });

      await one('framed without embed=1 by histinit serve: the browser refuses the frame (frame-ancestors)', async () => {
        const top = await framer(`${base}index.html?${SHORT}&inits=kaiming`);
        try {
          await top.waitForTimeout(2000);
          const frame = frameOf(top, base);
          const loaded = frame ? await frame.evaluate(() => Boolean(document.querySelector('#start'))).catch(() => false) : false;
          assert(!loaded, `the page did not load in the frame (${top.frames().map((f) => f.url())})`);
        } finally {
          await top.close();
        }
        await trainsAfter();
      });

      await one('framing a file that is not the page, even on an embed link, is refused by histinit serve', async () => {
        const top = await framer(`${base}www/histograms/index.json?embed=1`);
        try {
          await top.waitForTimeout(2000);
          const frame = frameOf(top, base);
          const shown = frame ? await frame.evaluate(() => document.body?.textContent ?? '').catch(() => '') : '';
          assert(!shown.includes('teacher-nano'), `the file is not shown in the frame: ${shown.slice(0, 80)}`);
        } finally {
          await top.close();
        }
        await trainsAfter();
      });

      // ------------------------------------------------ picked files built to exhaust the module
      const pickLink = `${base}?${SHORT}&inits=empirical`;
      const fresh = async () => {
        await page.goto(pickLink);
        await waitReady(page);
        await page.selectOption('#source', '@file');
      };
      await fresh();
      memory.fresh = await workerBytes().catch(() => null); // (judged by the memory case below)
      const refusedFile = async (file, words, { inits = 'empirical' } = {}) => {
        await page.goto(`${base}?${SHORT}&inits=${inits}`);
        await waitReady(page);
        await page.selectOption('#source', '@file');
        await page.setInputFiles('#source-file', files[file]);
        await waitMessage(['Using the local file']);
        await page.click('#start');
        await waitFailed(page, 120_000);
        const text = await messages();
        const missing = words.filter((word) => !text.includes(word));
        assert(missing.length === 0, `the message names ${missing.join(', ')}: ${text}`);
        memory[file] = await workerBytes().catch(() => null);
        await trainsWithGoodFile(inits === 'trained' ? WEIGHTS : TEACHER);
      };

      await one('a tiny invalid histogram (the reference refusal)', () => refusedFile('tiny-invalid.json', ["histogram 'tiny-invalid.json' cannot be used"]));
      await one('a gzip bomb as the histogram: refused while inflating, the worker stays small', () =>
        refusedFile('bomb.json.gz', ["histogram 'bomb.json.gz' cannot be used", 'once decompressed']));
      await one('a 2 MiB string in a gzipped histogram: refused at the string', () =>
        refusedFile('long-string.json.gz', ["histogram 'long-string.json.gz' cannot be used"]));
      await one('a safetensors header claiming 1 TiB: refused from its length', () =>
        refusedFile('huge-header.safetensors', ["weights 'huge-header.safetensors' cannot be used"], { inits: 'trained' }));
      await one('a safetensors header of 20 MiB: refused past the header limit', () =>
        refusedFile('big-header.safetensors', ["weights 'big-header.safetensors' cannot be used"], { inits: 'trained' }));

      let trainedReference = null;
      await one('a gzip bomb as the shipped trajectory (a tampered host): the chart says so, the runs train', async () => {
        // The reference: the same runs trained in a fresh tab with the real trajectory, so
        // the memory check compares like with like (training itself holds the models, the
        // optimizer state and the run's saved state).
        await page.goto(`${base}?${SHORT}&inits=kaiming,empirical&source=teacher-nano`);
        await waitReady(page);
        await page.click('#start');
        await waitDone(page, 120_000);
        trainedReference = await workerBytes();
        await page.route('**/www/histograms/teacher-nano-trajectory.json.gz', (route) =>
          route.fulfill({ status: 200, contentType: 'application/gzip', body: readFileSync(files['trajectory-bomb.json.gz']) }),
        );
        try {
          await page.goto(`${base}?${SHORT}&inits=kaiming,empirical&source=teacher-nano`);
          await waitReady(page);
          await page.click('#start');
          await waitDone(page, 120_000);
          const text = await messages();
          assert(text.includes("the trajectory of 'teacher-nano' cannot be shown") && text.includes('once decompressed'), text);
          memory['trajectory-bomb.json.gz'] = await workerBytes();
          const runs = await lossSummary(page);
          assert(runs.length === 2 && runs.every((run) => run.steps === 2), `the runs trained: ${runs.map((run) => run.steps)}`);
        } finally {
          await page.unroute('**/www/histograms/teacher-nano-trajectory.json.gz');
        }
      });

      await one('a 65 MiB text: refused from its size, not read', async () => {
        await page.goto(`${base}?${SHORT}&inits=kaiming`);
        await waitReady(page);
        await page.setInputFiles('#corpus-file', files['huge.txt']);
        await waitMessage(['the file huge.txt is 68.2 MB, over the 67.1 MB']);
        memory['huge.txt'] = await workerBytes();
        await trains();
      });

      await one('a binary file as the text: refused by the module, the run trains on the bundled text', async () => {
        await page.goto(`${base}?${SHORT}&inits=kaiming`);
        await waitReady(page);
        await page.setInputFiles('#corpus-file', files['binary.txt']);
        await waitMessage(['binary.txt: ']);
        memory['binary.txt'] = await workerBytes();
        await trains();
      });

      // ------------------------------------------------ names that would reorder what is shown
      await one('a picked histogram named with a right-to-left override: shown as <U+202E>', async () => {
        await fresh();
        await page.setInputFiles('#source-file', files['gnp.\u202Ejson']);
        await waitMessage(['Using the local file gnp.<U+202E>json']);
        await page.click('#start');
        await waitFailed();
        const text = await messages();
        assert(text.includes("histogram 'gnp.<U+202E>json' cannot be used") && !text.includes('\u202E'), text);
        await trainsWithGoodFile();
      });

      await one('a picked histogram named with a zero-width space: shown as <U+200B>', async () => {
        await fresh();
        await page.setInputFiles('#source-file', files['tiny\u200Bnote.json']);
        await waitMessage(['Using the local file tiny<U+200B>note.json']);
        assert(!(await messages()).includes('\u200B'), await messages());
        await trainsWithGoodFile();
      });

      await one('a picked text named with a right-to-left override: its refusal shows <U+202E>', async () => {
        await page.goto(`${base}?${SHORT}&inits=kaiming`);
        await waitReady(page);
        await page.setInputFiles('#corpus-file', files['notes\u202E.txt']);
        await waitMessage(['notes<U+202E>.txt: ']);
        assert(!(await messages()).includes('\u202E') && !(await page.locator('#corpus-note').textContent()).includes('\u202E'), await messages());
        await trains();
      });

      // ------------------------------------------------ the worker's memory after refused files
      // The module holds the bytes it is given (a file is copied into its memory whole), so
      // the margin is the file's own size and 20 MiB: a fresh tab's worker holds 4.6 MiB, a
      // session opened on a 22-byte invalid file 12.9 MiB (the model and the corpus).
      await one("the worker after each refused file stays within 20 MiB and the file's size of a fresh tab", async () => {
        const sizes = Object.fromEntries(Object.entries(files).map(([name, path]) => [name, statSync(path).size]));
        const figures = Object.entries(memory).map(([name, bytes]) => `${name}: worker ${(bytes?.worker / MIB).toFixed(1)} MiB, page ${(bytes?.page / MIB).toFixed(1)} MiB`);
        console.log(`  wasm memory: ${figures.join('; ')}`);
        if (trainedReference) console.log(`  the trajectory case's reference (the same runs trained, real trajectory): worker ${(trainedReference.worker / MIB).toFixed(1)} MiB`);
        for (const [name, bytes] of Object.entries(memory)) {
          assert(Number.isFinite(bytes?.worker), `${name}: a figure`);
          const margin = 20 * MIB + (name === 'fresh' || name === 'huge.txt' ? 0 : sizes[name]);
          // A refused trajectory arrives after training: its baseline is the same training.
          const base = name === 'trajectory-bomb.json.gz' ? trainedReference : memory.fresh;
          assert(Number.isFinite(base?.worker), `${name}: a baseline figure`);
          assert(bytes.worker - base.worker <= margin, `${name}: worker ${bytes.worker} bytes, baseline ${base.worker}`);
          assert(bytes.page - base.page <= margin, `${name}: page ${bytes.page} bytes, baseline ${base.page}`);
        }
      });

      await page.close();
      if (!process.env.E2E_CASE) assert(cases >= 20, `at least 20 cases (${cases})`);
      assert(failures.length === 0, `round two:\n    ${failures.join('\n    ')}`);
      console.log(`  ${cases} cases in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
  });
}
