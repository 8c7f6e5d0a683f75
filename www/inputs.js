// The files a session needs besides its settings: the histogram, the trained weights and
// the teacher's trajectory of the chosen source (shipped, a URL, or a local file),
// fetched once per page (a restart on the CPU does not fetch again).

import { errorText } from './dom.js';
import { isUrl } from './link.js';
import { askToFetch, fetchBytes, shippedUrl } from './sources.js';
import { local } from './controls.js';
import { addMessage, initList, needsOf, shippedSource, ui } from './page.js';

const cache = new Map(); // url -> bytes

async function cachedBytes(url, what, kind, options) {
  if (!cache.has(url)) cache.set(url, await fetchBytes(url, what, kind, options));
  return cache.get(url);
}

/**
 * The histogram/weights/trajectory files the runs of `settings` need, as [{kind, bytes,
 * label}]. A source that fails to load is a message; prepare() then says which init
 * misses it.
 */
export async function gatherSources(settings) {
  const needs = needsOf(initList(settings.inits));
  const out = [];
  if (ui.source.value === '@file') {
    if (local.file) {
      out.push({ kind: local.file.kind, bytes: local.file.bytes, label: local.file.name });
    } else if (needs.histogram) {
      addMessage('No file picked: choose a histogram or weights file, or another source.', true);
    }
    return out;
  }
  const source = settings.source;
  if (!source) {
    if (needs.histogram) addMessage('These inits need a histogram source: pick one under "Histogram source".', true);
    return out;
  }
  if (isUrl(source)) {
    try {
      // Outside the page's folder: nothing is sent before the reader saw the host and pressed Fetch.
      if (!cache.has(source)) await askToFetch(source, { container: ui.consent, what: 'the histogram' });
      const bytes = await cachedBytes(source, 'the histogram', 'histogram', { fromLink: true });
      out.push({ kind: 'histogram', bytes, label: source });
    } catch (error) {
      addMessage(errorText(error), true);
    }
    if (needs.weights) {
      addMessage('permuted and trained need the trained weights, which a URL source does not have: pick a shipped source or open a .safetensors file.', true);
    }
    return out;
  }
  const entry = shippedSource(source);
  if (!entry) {
    addMessage(`The histogram source '${source}' is not shipped with this page.`, true);
    return out;
  }
  const label = entry.label || entry.id;
  try {
    out.push({ kind: 'histogram', bytes: await cachedBytes(shippedUrl(entry.histogram), `the histogram '${entry.id}'`), label });
  } catch (error) {
    addMessage(errorText(error), true);
  }
  if (typeof entry.trajectory === 'string') {
    // Only for the trajectory chart: a failure is a message, the runs train anyway.
    try {
      out.push({ kind: 'trajectory', bytes: await cachedBytes(shippedUrl(entry.trajectory), `the trajectory of '${entry.id}'`, 'histogram'), label: entry.id });
    } catch (error) {
      addMessage(errorText(error), true);
    }
  }
  if (needs.weights) {
    if (entry.weights) {
      try {
        out.push({ kind: 'weights', bytes: await cachedBytes(shippedUrl(entry.weights), `the weights of '${entry.id}'`), label });
      } catch (error) {
        addMessage(errorText(error), true);
      }
    } else {
      addMessage(`'${entry.id}' ships no trained weights, which permuted and trained need.`, true);
    }
  }
  return out;
}
