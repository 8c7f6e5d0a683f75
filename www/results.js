// The results table and the text samples. Everything from the module (labels, sample
// text) reaches the page as textContent only.

import { clear, el, formatNumber } from './dom.js';

/** Fills `tbody` with session.results() rows: one per init, means over its seeds. */
export function renderResults(tbody, rows) {
  clear(tbody);
  for (const row of rows) {
    const swatch = el('span', { className: 'swatch' });
    swatch.style.backgroundColor = row.colour; // CSSOM, allowed by the CSP
    const label = row.label ?? row.init;
    const name = row.seeds > 1 ? `${label} (${row.seeds} seeds)` : label;
    const current = row.current_val_spread == null
      ? formatNumber(row.current_val, 4)
      : `${formatNumber(row.current_val, 4)} ± ${formatNumber(row.current_val_spread, 4)}`;
    const cells = [
      el('td', {}, [swatch, name]),
      el('td', { textContent: String(row.step ?? 0) }),
      el('td', { textContent: current }),
      el('td', { textContent: formatNumber(row.best_val, 4) }),
      el('td', { textContent: formatNumber(row.steps_to_25, 0) }),
      el('td', { textContent: formatNumber(row.steps_to_50, 0) }),
      el('td', { textContent: formatNumber(row.steps_to_100, 0) }),
      el('td', { textContent: row.speedup == null ? '–' : `${formatNumber(row.speedup, 2)}×` }),
      el('td', { className: `status-${row.status}`, textContent: row.status }),
    ];
    tbody.append(el('tr', {}, cells));
  }
}

/** Fills `container` with session.samples() (one box per run, in the run's colour). */
export function renderSamples(container, samples, runs) {
  clear(container);
  for (const sample of samples) {
    const run = runs.find((r) => r.id === sample.run);
    const box = el('div', { className: 'sample' }, [
      el('h3', { textContent: sample.label ?? run?.label ?? `run ${sample.run}` }),
      el('pre', { textContent: sample.text }),
    ]);
    if (run?.colour) box.style.borderLeftColor = run.colour; // CSSOM, allowed by the CSP
    container.append(box);
  }
}

/**
 * Labels that name items by what differs between them: `fields` is [{key, format}], in
 * the order the label lists them; a field whose value is the same for every item is left
 * out ("empirical, seed 2" when inits and seeds vary, "seed 2" when only seeds do). When
 * nothing differs (one item) the first field names it.
 */
export function labelsByDifference(items, fields) {
  const varying = fields.filter(({ key }) => new Set(items.map((item) => String(item[key]))).size > 1);
  const used = varying.length ? varying : fields.slice(0, 1);
  return items.map((item) => used.map(({ key, format }) => format(item[key])).join(', '));
}

/** How the page's runs differ: their init and their seed (one session shares the rest). */
export const RUN_FIELDS = [
  { key: 'init', format: (value) => value },
  { key: 'seed', format: (value) => `seed ${value}` },
];

/**
 * Fills `tbody` with one row per run, labelled by difference. `runs`: session.runs();
 * `history`: run id -> [{train_loss, val_loss, t}]; `status(run)`: its status text.
 */
export function renderRuns(tbody, runs, history, status) {
  clear(tbody);
  const labels = labelsByDifference(runs, RUN_FIELDS);
  runs.forEach((run, i) => {
    const points = history[run.id] ?? [];
    const last = points.at(-1);
    const vals = points.map((p) => p.val_loss).filter((v) => v != null && Number.isFinite(v));
    const swatch = el('span', { className: 'swatch' });
    swatch.style.backgroundColor = run.colour; // CSSOM, allowed by the CSP
    const state = status(run);
    tbody.append(
      el('tr', {}, [
        el('th', { scope: 'row' }, [swatch, labels[i]]),
        el('td', { textContent: String(points.length) }),
        el('td', { textContent: formatNumber(last?.train_loss, 4) }),
        el('td', { textContent: formatNumber(vals.at(-1), 4) }),
        el('td', { textContent: formatNumber(vals.length ? Math.min(...vals) : null, 4) }),
        el('td', { textContent: last?.t == null ? '–' : `${last.t.toFixed(1)} s` }),
        el('td', { className: `status-${state}`, textContent: state }),
      ]),
    );
  });
}

/** The most rows per run of the curves' table (every Nth step, and the last). */
export const CURVE_TABLE_ROWS = 20;

/** The steps the curves' table lists out of `steps`: every Nth, and the last. */
export function tableSteps(steps) {
  const every = Math.max(1, Math.ceil(steps / CURVE_TABLE_ROWS));
  const list = [];
  for (let step = every; step <= steps; step += every) list.push(step);
  if (steps > 0 && list.at(-1) !== steps) list.push(steps);
  return list;
}

/**
 * The charts' numbers as a table (for screen readers and anyone who wants numbers):
 * for every Nth step, each run's training loss, validation loss (where evaluated) and
 * gradient norm. Returns the N used.
 */
export function renderCurveTable(tbody, runs, history) {
  clear(tbody);
  const labels = labelsByDifference(runs, RUN_FIELDS);
  const steps = Math.max(0, ...runs.map((run) => (history[run.id] ?? []).length));
  for (const step of tableSteps(steps)) {
    runs.forEach((run, i) => {
      const entry = history[run.id]?.[step - 1];
      if (!entry) return;
      tbody.append(
        el('tr', {}, [
          el('td', { textContent: String(step) }),
          el('th', { scope: 'row', textContent: labels[i] }),
          el('td', { textContent: formatNumber(entry.train_loss, 4) }),
          el('td', { textContent: formatNumber(entry.val_loss, 4) }),
          el('td', { textContent: formatNumber(entry.grad_norm, 4) }),
          el('td', { textContent: entry.t == null ? '–' : entry.t.toFixed(1) }),
        ]),
      );
    });
  }
  return Math.max(1, Math.ceil(steps / CURVE_TABLE_ROWS));
}
