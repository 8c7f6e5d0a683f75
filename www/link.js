// The page's settings as a query string. The wasm side's parse_link is the one judge of
// what is valid; these helpers only assemble and split strings.

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

/** The query without its `backend` pair: the Session reads experiment keys only. */
export function withoutBackend(query) {
  return query
    .replace(/^\?/, '')
    .split('&')
    .filter((pair) => pair !== '' && !/^backend(=|$)/.test(pair))
    .join('&');
}

/** The link's query: the experiment plus `backend` when it is not the default (auto). */
export function withBackend(query, backend) {
  const base = withoutBackend(query);
  if (!backend || backend === 'auto') return base;
  return base ? `${base}&backend=${encodeURIComponent(backend)}` : `backend=${encodeURIComponent(backend)}`;
}

/** True for an http(s) URL (a histogram source that is not a shipped id). */
export function isUrl(text) {
  return /^https?:\/\//i.test(text ?? '');
}
