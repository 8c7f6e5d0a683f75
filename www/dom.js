// Small DOM helpers. Text from links, files and the network only ever reaches the page
// through textContent (never innerHTML), so it cannot add markup.

/** Creates an element with properties (className, title, value, textContent, ...) and children. */
export function el(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) node[key] = value;
  for (const child of children) {
    node.append(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return node;
}

/** Removes all children of `node`. */
export function clear(node) {
  while (node.firstChild) node.firstChild.remove();
}

/** Saves `blob` as a file called `name` (a temporary link, clicked). */
export function download(blob, name) {
  const url = URL.createObjectURL(blob);
  const link = el('a', { href: url, download: name });
  document.body.append(link);
  link.click();
  link.remove();
  // Some browsers read the URL after click() returns.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** A number for a table cell: `digits` decimals, '–' for missing values. */
export function formatNumber(value, digits) {
  if (value === null || value === undefined || Number.isNaN(value)) return '–';
  if (!Number.isFinite(value)) return String(value);
  return value.toFixed(digits);
}

/** The message of a thrown value (wasm-bindgen throws Error objects; be lenient). */
export function errorText(error) {
  if (error instanceof Error) return error.message;
  if (typeof error === 'string') return error;
  try {
    return JSON.stringify(error);
  } catch {
    return String(error);
  }
}
