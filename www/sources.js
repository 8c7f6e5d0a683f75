// Histogram sources: the files shipped in www/histograms/ (listed in index.json), a URL,
// or a local file. Bytes go to the wasm side unparsed (it reads JSON and gzip itself).

const SHIPPED_DIR = 'www/histograms/';

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

/** Fetches `url` as bytes; throws an Error with a sentence a reader understands. */
export async function fetchBytes(url, what) {
  let response;
  try {
    response = await fetch(url);
  } catch (error) {
    throw new Error(
      `could not fetch ${what} from ${url} (${error.message}; a server elsewhere must allow cross-origin requests)`,
    );
  }
  if (!response.ok) {
    throw new Error(`could not fetch ${what} from ${url} (HTTP ${response.status})`);
  }
  return new Uint8Array(await response.arrayBuffer());
}

/** Reads a local File as bytes. */
export async function fileBytes(file) {
  return new Uint8Array(await file.arrayBuffer());
}

/** 'weights' for a .safetensors file, else 'histogram' (JSON, maybe gzipped). */
export function fileKind(name) {
  return /\.safetensors$/i.test(name) ? 'weights' : 'histogram';
}
