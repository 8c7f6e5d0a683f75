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
