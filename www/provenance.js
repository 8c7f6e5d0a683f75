// What made a run, carried by everything the page hands out: the histinit version and
// commit, the Burn and wgpu versions (build_info() of the module: build.rs reads them
// from git, Cargo.lock and CITATION.cff), the backend, the adapter and whether subgroups
// were on (the worker asks the browser when it opens a session: worker.js deviceInfo),
// and how the backend was chosen (backend_choice: set by the link, or what 'auto'
// measured: run.js measureBackends).
// The footer's version line and the "cite this run" text come from the same place.
// Everything here is text for textContent, never markup.

/** The module's build_info(), or a placeholder before it loaded. */
export function buildInfo(hi) {
  try {
    return hi?.build_info?.() ?? null;
  } catch {
    return null;
  }
}

/** "histinit 0.1.0 (commit abc1234)". */
export function versionLine(build) {
  if (!build) return 'histinit (version unknown: the model code did not load)';
  return `histinit ${build.histinit} (commit ${build.commit})`;
}

/**
 * The provenance of a run trained by `session` (a RemoteSession: backend, device) or, with
 * none, of the page alone; `choice`: how its backend was chosen (run.backendChoice). Keys
 * in a fixed order (CSV comments, PNG text, JSON).
 */
export function provenanceOf(build, session, choice = '') {
  return {
    histinit: build?.histinit ?? 'unknown',
    commit: build?.commit ?? 'unknown',
    burn: build?.burn ?? 'unknown',
    wgpu: build?.wgpu ?? 'unknown',
    link_version: build?.link_version ?? null,
    backend: session?.backend ?? 'none (no run)',
    adapter: session?.device?.adapter ?? 'none (no run)',
    subgroups: session?.device?.subgroups ?? 'none (no run)',
    backend_choice: (session && choice) || 'none (no run)',
  };
}

/** One line for tables and captions. */
export function provenanceLine(p) {
  return (
    `histinit ${p.histinit} (commit ${p.commit}) · Burn ${p.burn} · wgpu ${p.wgpu} · ` +
    `backend ${p.backend} · adapter ${p.adapter} · subgroups ${p.subgroups}` +
    (p.backend_choice && !p.backend_choice.startsWith('none') ? ` · backend chosen: ${p.backend_choice}` : '')
  );
}

/** A line of text with no line breaks (an adapter name is the browser's, not ours). */
function oneLine(value) {
  return String(value).replace(/[\r\n\u2028\u2029]+/g, ' ');
}

/** `csv` with the provenance as `# key: value` lines first (pandas: comment='#'). */
export function csvWithProvenance(csv, p) {
  const lines = Object.entries(p).map(([key, value]) => `# ${key}: ${oneLine(value ?? '')}`);
  return `${lines.join('\n')}\n${csv}`;
}

/**
 * `json` (an object's text) with a "provenance" member first. Spliced as text, so the
 * document's numbers (a seed beyond 2^53) stay exactly as the module wrote them.
 */
export function jsonWithProvenance(json, p) {
  const body = json.trimStart();
  if (!body.startsWith('{')) return json;
  const rest = body.slice(1).trimStart();
  const member = `"provenance": ${JSON.stringify(p)}`;
  return rest.startsWith('}') ? `{\n  ${member}\n}` : `{\n  ${member},\n  ${rest}`;
}

// ---------------------------------------------------------------- PNG tEXt chunks

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n += 1) {
    let c = n;
    for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(bytes) {
  let c = 0xffffffff;
  for (const byte of bytes) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Latin-1 bytes of `text` (PNG tEXt's encoding): other characters as \uXXXX. */
function latin1(text) {
  const escaped = String(text).replace(/[^\x20-\x7e\n]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return Uint8Array.from(escaped, (c) => c.charCodeAt(0));
}

function textChunk(keyword, text) {
  const data = new Uint8Array([...latin1(keyword), 0, ...latin1(text)]);
  const chunk = new Uint8Array(12 + data.length);
  const view = new DataView(chunk.buffer);
  view.setUint32(0, data.length);
  chunk.set([0x74, 0x45, 0x58, 0x74], 4); // "tEXt"
  chunk.set(data, 8);
  view.setUint32(8 + data.length, crc32(chunk.subarray(4, 8 + data.length)));
  return chunk;
}

/**
 * The PNG `blob` with tEXt chunks before its IEND: "Software" (the version line) and
 * "histinit provenance" (the provenance as JSON). The blob unchanged if it is no PNG.
 */
export async function pngWithProvenance(blob, p) {
  const bytes = new Uint8Array(await blob.arrayBuffer());
  const iend = bytes.length - 12;
  const isPng = bytes.length > 20 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47 && String.fromCharCode(...bytes.subarray(iend + 4, iend + 8)) === 'IEND';
  if (!isPng) return blob;
  const chunks = [textChunk('Software', `histinit ${p.histinit} (commit ${p.commit})`), textChunk('histinit provenance', JSON.stringify(p))];
  return new Blob([bytes.subarray(0, iend), ...chunks, bytes.subarray(iend)], { type: 'image/png' });
}

/** The tEXt chunks of PNG `bytes` as {keyword: text} (the e2e suite reads exports back). */
export function pngText(bytes) {
  const out = {};
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = 8; at + 12 <= bytes.length; ) {
    const length = view.getUint32(at);
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    if (type === 'tEXt') {
      const data = bytes.subarray(at + 8, at + 8 + length);
      const zero = data.indexOf(0);
      out[String.fromCharCode(...data.subarray(0, zero))] = String.fromCharCode(...data.subarray(zero + 1));
    }
    at += 12 + length;
  }
  return out;
}

// ---------------------------------------------------------------- citation

/** "cite this run": CITATION.cff's citation of histinit, the commit, and the run's link. */
export function citationText(build, link, date = new Date()) {
  const c = build?.citation ?? {};
  const day = date.toISOString().slice(0, 10);
  return (
    `${c.author || 'The histinit developers'} (${(c.date_released || '').slice(0, 4) || 'n.d.'}). ` +
    `${c.title || 'histinit'} (version ${build?.histinit ?? 'unknown'}, commit ${build?.commit ?? 'unknown'}) [software]. ` +
    `Run: ${link} (accessed ${day}).`
  );
}
