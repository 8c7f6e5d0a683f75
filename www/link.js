// Query strings. The wasm side's parse_link is the one judge of what is valid and writes
// the canonical link; these helpers only assemble strings.

/** Encodes a value for a query string, keeping commas readable (inits=kaiming,pythia). */
function encodeValue(value) {
  return encodeURIComponent(String(value)).replace(/%2C/gi, ',');
}

/**
 * Builds `key=value&...` from ordered [key, value] pairs, skipping null/undefined/'' values.
 */
export function buildQuery(pairs) {
  return pairs
    .filter(([, value]) => value !== null && value !== undefined && value !== '')
    .map(([key, value]) => `${encodeURIComponent(key)}=${encodeValue(value)}`)
    .join('&');
}

/** True for an http(s) URL (a histogram source that is not a shipped id). */
export function isUrl(text) {
  return /^https?:\/\//i.test(text ?? '');
}
