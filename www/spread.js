// The study behind the link: when the settings are a run of a published study variant
// (the module's spread_key: the same link but for the seed, the seeds and the backend),
// the loss chart draws that study's seed spread behind the live curves and the note
// under it names the study, links its report and says whether each finished run fell
// inside. The spreads come from docs/results/spreads.json, which `histinit docs` makes
// from the studies' committed summary.json and runs.csv. A published study keeps no
// per-step curves, so the spread is its seeds' final validation losses (median and
// range), drawn as a bar per init just right of the last step.

import { clear, el } from './dom.js';
import { page, ui } from './page.js';
import { queryOf } from './settings.js';

const SPREADS_URL = 'docs/results/spreads.json';
/** A study's folder name, as docs/results has them (anything else is not linked). */
const STUDY_NAME = /^[a-z0-9][a-z0-9-]{0,63}$/;

let variants = null; // [{study, description, name, steps, inits, key}], once loaded

/** Loads the published spreads once; without them (not built, malformed) no band is drawn. */
export async function loadSpreads(hi) {
  let data;
  try {
    const response = await fetch(SPREADS_URL, { cache: 'no-cache' });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    data = await response.json();
  } catch (error) {
    console.info(`no published study spreads (${SPREADS_URL}: ${error.message}); run 'make docs'`);
    variants = [];
    return;
  }
  const list = [];
  for (const study of Array.isArray(data?.studies) ? data.studies : []) {
    if (typeof study?.study !== 'string' || !STUDY_NAME.test(study.study)) continue;
    for (const variant of Array.isArray(study.variants) ? study.variants : []) {
      if (typeof variant?.link !== 'string' || typeof variant.inits !== 'object' || variant.inits === null) continue;
      const key = hi.spread_key(variant.link);
      if (key) list.push({ study: study.study, description: String(study.description ?? ''), name: String(variant.name ?? ''), steps: Number(variant.steps), inits: variant.inits, key });
    }
  }
  variants = list;
}

const cache = { query: null, match: null };

/** The published variant whose runs `query`'s settings are, or null (also before the spreads load). */
export function studyOf(query) {
  if (variants === null || !page.hi) return null;
  if (cache.query !== query) {
    const key = page.hi.spread_key(`?${query}`);
    cache.query = query;
    cache.match = key ? (variants.find((variant) => variant.key === key) ?? null) : null;
  }
  return cache.match;
}

/** The bars the loss chart draws for `match`: one per init of the page's, in its colour. */
export function spreadBars(match, inits) {
  return inits.flatMap((init, colour) => {
    const spread = match.inits[init];
    if (!spread) return [];
    return [{ colour, step: match.steps, min: spread.min, median: spread.median, max: spread.max }];
  });
}

const fixed = (value) => (Number.isFinite(value) ? value.toFixed(3) : '–');

/**
 * The note under the loss chart for `match` (hidden when null): which study, its
 * report, what the bars are, and for each finished init (`results`: the table's rows)
 * whether its final validation loss lies inside the study's range. Plain text only.
 */
export function renderStudyNote(container, match, results = []) {
  clear(container);
  container.hidden = match === null;
  if (!match) return;
  const report = el('a', { textContent: `study ${match.study}` });
  report.setAttribute('href', `docs/results/${match.study}/report.html`);
  const seeds = Math.max(...Object.values(match.inits).map((spread) => Number(spread.seeds) || 0));
  container.append(
    'These settings are a run of the published ',
    report,
    `${match.name && match.name !== 'base' ? ` (variant ${match.name})` : ''}: ${match.description.replace(/[.\s]*$/, '')}. `,
    `The bars right of step ${match.steps} are its spread: each init's median (line) and range (band) of the final validation loss over its ${seeds} seeds, as committed in its runs.csv (a published study keeps no per-step curves, so only the end is drawn).`,
  );
  const verdicts = results
    .filter((row) => row.status === 'done' && match.inits[row.init] && Number.isFinite(row.current_val))
    .map((row) => {
      const spread = match.inits[row.init];
      const inside = row.current_val >= spread.min && row.current_val <= spread.max;
      return `${row.init} ${fixed(row.current_val)}${row.seeds > 1 ? ` (mean of ${row.seeds} seeds)` : ''} is ${inside ? 'inside' : 'outside'} its ${fixed(spread.min)}–${fixed(spread.max)}`;
    });
  if (verdicts.length > 0) container.append(el('span', { className: 'study-verdicts', textContent: ` Your runs: ${verdicts.join('; ')}.` }));
}

/** The inits of `settings`, in the order that gives their colours. */
export function initsOf(settings) {
  return String(settings?.inits ?? '').split(',').filter(Boolean);
}

/** The published variant `settings` are a run of, or null. */
export function studyFor(settings) {
  return settings && page.schema ? studyOf(queryOf(page.schema, settings)) : null;
}

/** The note under the loss chart for `settings` (with the finished runs' `results`). */
export function showStudy(settings, results = []) {
  renderStudyNote(ui.studyNote, studyFor(settings), results);
}
