// Histogram sources: the files shipped in www/histograms/ (listed in index.json), a URL,
// or a local file. Bytes go to the wasm side unparsed (it reads JSON and gzip itself).
//
// Hostile input: a link can name any https URL as its source, and a picked file can be
// anything. So a link's URL outside the page's own folder is not contacted at all (not
// even to ask its size: any request tells its host who is visiting) until the reader saw
// its host and clicked Fetch (askToFetch); it is then fetched without following redirects
// (a browser does not tell the page where a redirect leads, so the page could not ask
// about that host: it refuses and says so), and given up when it stops answering. Every
// body or file is read with a size cap while streaming (a lying or missing Content-Length
// cannot make the page hold more than the cap). Nothing read here is ever inserted as HTML.

import { clear, el } from './dom.js';

const SHIPPED_DIR = 'www/histograms/';
const MIB = 1024 * 1024;

/**
 * The most bytes read per kind of source. histogram: the module's own limit on a
 * histogram's JSON (histinit-histogram's MAX_JSON_BYTES, 128 MiB; a gzipped file is
 * smaller than its JSON, so its body never needs more). weights: 512 MiB of
 * .safetensors, far above the largest preset's weights, and as much as a tab should
 * hold twice (the bytes, then the module's copy).
 */
export const MAX_BYTES = { histogram: 128 * MIB, weights: 512 * MIB, text: 64 * MIB };

/** How long a link's URL may keep the page waiting for its answer or its next bytes. */
export const LINK_FETCH_IDLE_MS = 15_000;

/** 1234567 -> '1.2 MB' (bytes, KB, MB, GB; decimal units as browsers show downloads). */
export function formatBytes(bytes) {
  if (!Number.isFinite(bytes) || bytes < 0) return 'unknown size';
  if (bytes < 1000) return `${bytes} bytes`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = -1;
  do {
    value /= 1000;
    unit += 1;
  } while (value >= 1000 && unit < units.length - 1);
  return `${value.toFixed(1)} ${units[unit]}`;
}

/** The cap for `kind` ('histogram', 'weights' or 'text'; anything else gets the histogram's). */
function capOf(kind) {
  return MAX_BYTES[kind] ?? MAX_BYTES.histogram;
}

/** A Content-Length header as a number, or null when absent or not a plain decimal. */
function declaredLength(headers) {
  const text = headers.get('Content-Length');
  if (text === null || !/^\s*\d{1,20}\s*$/.test(text)) return null;
  return Number(text);
}

/**
 * Reads a ReadableStream of bytes into one Uint8Array, stopping (and cancelling the
 * stream) as soon as more than `cap` bytes arrived; `tooBig(bytesSoFar)` makes the error.
 * `onChunk` is called after each chunk (a caller's idle timer).
 */
export async function readCapped(stream, cap, tooBig, onChunk = () => {}) {
  const reader = stream.getReader();
  const chunks = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > cap) {
      reader.cancel().catch(() => {});
      throw new Error(tooBig(total));
    }
    chunks.push(value);
    onChunk();
  }
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  return bytes;
}

/** Where `url` points, resolved against the page (a relative URL is the page's own origin). */
function resolved(url) {
  return new URL(url, globalThis.location?.href);
}

/**
 * True unless `url` lies in the page's own folder on its own origin: a host that serves
 * many people's sites on one origin (user folders, project pages) would otherwise let a
 * link reach a stranger's folder without asking.
 */
export function needsConsent(url) {
  const target = resolved(url);
  const here = globalThis.location;
  if (!here || target.origin !== here.origin) return true;
  const folder = here.pathname.slice(0, here.pathname.lastIndexOf('/') + 1);
  return !target.pathname.startsWith(folder);
}

/**
 * Reads www/histograms/index.json. Returns {entries, error}: entries is [] and error a
 * sentence when the list is missing or malformed (standard inits still work then).
 */
export async function loadIndex() {
  let response;
  try {
    response = await fetch(`${SHIPPED_DIR}index.json`, { cache: 'no-cache' });
  } catch (error) {
    return { entries: [], error: `could not load the list of shipped histograms (${error.message})` };
  }
  if (!response.ok) {
    return {
      entries: [],
      error: `no shipped histograms here (${SHIPPED_DIR}index.json: HTTP ${response.status}); standard inits still work`,
    };
  }
  let data;
  try {
    data = await response.json();
  } catch (error) {
    return { entries: [], error: `${SHIPPED_DIR}index.json is not valid JSON (${error.message})` };
  }
  const list = Array.isArray(data) ? data : (data?.sources ?? data?.histograms ?? []);
  const entries = list.filter((entry) => entry && typeof entry.id === 'string' && typeof entry.histogram === 'string');
  if (entries.length === 0) {
    return { entries: [], error: `${SHIPPED_DIR}index.json lists no histograms` };
  }
  return { entries, error: null };
}

/** The URL of a shipped file named in index.json (relative to the page). */
export function shippedUrl(file) {
  return SHIPPED_DIR + file;
}

/**
 * Fetches `url` as bytes, at most MAX_BYTES[kind] (checked against Content-Length first
 * when the server sends one, then while streaming); throws an Error with a sentence a
 * reader understands. `fromLink`: the URL came from a link (askToFetch first), so it is
 * fetched without cookies or referrer, a redirect is refused, and a server silent for
 * LINK_FETCH_IDLE_MS is given up. `kind` defaults from the file name ('.safetensors' is weights).
 */
export async function fetchBytes(url, what, kind = fileKind(resolved(url).pathname), { fromLink = false } = {}) {
  const cap = capOf(kind);
  const host = resolved(url).host;
  const tooBig = (bytes) =>
    `${what} from ${url} is ${formatBytes(bytes)} or more, over the ${formatBytes(cap)} this page reads for a ${kind}: not loaded`;
  const controller = new AbortController();
  let timer = null;
  const idle = () => {
    clearTimeout(timer);
    if (fromLink) timer = setTimeout(() => controller.abort(), LINK_FETCH_IDLE_MS);
  };
  const silent = `not loaded: ${host} stopped answering (nothing for ${LINK_FETCH_IDLE_MS / 1000} s) while sending ${what}`;
  let response;
  idle();
  try {
    response = await fetch(
      url,
      fromLink ? { credentials: 'omit', referrerPolicy: 'no-referrer', redirect: 'manual', signal: controller.signal } : {},
    );
  } catch (error) {
    clearTimeout(timer);
    if (controller.signal.aborted) throw new Error(silent);
    throw new Error(
      `could not fetch ${what} from ${url} (${error.message}; a server elsewhere must allow cross-origin requests)`,
    );
  }
  if (response.type === 'opaqueredirect') {
    clearTimeout(timer);
    throw new Error(
      `not fetched: ${host} answered with a redirect, which this page does not follow for a link's source ` +
        `(the browser does not show the page where it leads, so it could not ask you about that server first); ` +
        `ask for the file's final address and use that as the source`,
    );
  }
  if (!response.ok) {
    clearTimeout(timer);
    throw new Error(`could not fetch ${what} from ${url} (HTTP ${response.status})`);
  }
  const declared = declaredLength(response.headers);
  if (declared !== null && declared > cap) {
    clearTimeout(timer);
    response.body?.cancel().catch(() => {});
    throw new Error(tooBig(declared));
  }
  if (!response.body) {
    clearTimeout(timer);
    return new Uint8Array(0);
  }
  try {
    return await readCapped(response.body, cap, tooBig, idle);
  } catch (error) {
    if (controller.signal.aborted) throw new Error(silent);
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Reads a local File as bytes, refusing one over MAX_BYTES[kind] before reading it.
 * `name`: the file's name as messages show it (the caller makes it visible).
 */
export async function fileBytes(file, kind = fileKind(file.name), name = file.name) {
  const cap = capOf(kind);
  const tooBig = (bytes) =>
    `the file ${name} is ${formatBytes(bytes)}, over the ${formatBytes(cap)} this page reads for a ${kind}: not loaded`;
  if (file.size > cap) throw new Error(tooBig(file.size));
  // The size is checked; the stream is capped too (a file can grow while it is read).
  return readCapped(file.stream(), cap, tooBig);
}

/** 'weights' for a .safetensors file, else 'histogram' (JSON, maybe gzipped). */
export function fileKind(name) {
  return /\.safetensors$/i.test(name) ? 'weights' : 'histogram';
}

// ---------------------------------------------------------------- consent for other origins

/** The prompt showing in each container: {close} takes it away (its promise then never settles). */
const prompts = new WeakMap();

/** Removes the prompt in `container`, if any; its promise never settles (its caller was superseded). */
export function dismissPrompt(container) {
  prompts.get(container)?.close();
}

/**
 * Asks the reader before a link's `url` is fetched. Resolves at once for a URL in the
 * page's own folder (needsConsent). Otherwise: refuses a URL on another origin that is
 * not https (the CSP allows only https elsewhere), shows the host and the URL in
 * `container` with Fetch and Cancel, and resolves on Fetch, rejects on Cancel. Nothing
 * is requested from the host before Fetch (its size is checked as it arrives). All text
 * goes in as text.
 */
export async function askToFetch(url, { container, what = 'the histogram', kind = 'histogram' }) {
  let target;
  try {
    target = resolved(url);
  } catch {
    throw new Error(`${what}: '${String(url).slice(0, 80)}' is not a URL`);
  }
  if (!needsConsent(url)) return;
  const foreign = target.origin !== globalThis.location?.origin;
  if (foreign && target.protocol !== 'https:') {
    throw new Error(
      `not fetched: ${what} at ${target.host} is not on https; this page fetches from other servers only over https`,
    );
  }
  dismissPrompt(container);
  const host = target.host;
  const fetchButton = el('button', { type: 'button', className: 'consent-fetch', textContent: 'Fetch' });
  const cancelButton = el('button', { type: 'button', className: 'consent-cancel', textContent: 'Cancel' });
  const shownUrl = url.length > 200 ? `${url.slice(0, 200)}…` : url;
  clear(container);
  container.append(
    el('p', {}, [
      `Fetch ${what} from ${foreign ? 'another server' : 'outside this page\'s folder on its server'}, `,
      el('strong', { className: 'consent-host', textContent: host }),
      '? ',
      el('span', {
        className: 'consent-size',
        textContent: `Nothing is sent to it before you press Fetch; at most ${formatBytes(capOf(kind))} is read, and a redirect elsewhere is not followed.`,
      }),
    ]),
    el('p', { className: 'consent-url', textContent: shownUrl }),
    el('div', { className: 'row-buttons' }, [fetchButton, cancelButton]),
  );
  container.hidden = false;

  return new Promise((resolve, reject) => {
    const close = () => {
      if (prompts.get(container)?.close === close) prompts.delete(container);
      clear(container);
      container.hidden = true;
    };
    prompts.set(container, { close });
    fetchButton.addEventListener('click', () => {
      close();
      resolve();
    });
    cancelButton.addEventListener('click', () => {
      close();
      reject(new Error(`not fetched: you cancelled fetching ${what} from ${host}`));
    });
  });
}
