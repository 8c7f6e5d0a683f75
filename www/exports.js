// What the reader takes away: the session's CSV and JSON (written in the worker), a PNG
// of the charts, the link, the exports of an interrupted run, and a citation. Each
// export carries what made it (provenance.js): CSV comment lines, a JSON member, PNG
// tEXt chunks.

import { download, errorText } from './dom.js';
import { chartsPng } from './charts.js';
import { addMessage, page, stamp, ui } from './page.js';
import { previous, recoverFromTrap } from './recovery.js';
import { run } from './run.js';
import { citationText, csvWithProvenance, jsonWithProvenance, pngWithProvenance, provenanceOf } from './provenance.js';

/** The provenance of what the page exports now: the last session's, else the page's own. */
function currentProvenance() {
  return run.provenance ?? provenanceOf(page.build, null);
}

function withProvenance(kind, text, provenance) {
  return kind === 'csv' ? csvWithProvenance(text, provenance) : jsonWithProvenance(text, provenance);
}

export async function exportText(kind) {
  const session = run.session;
  if (!session) return;
  let text;
  try {
    // Answered by the worker between two steps.
    text = await (kind === 'csv' ? session.export_csv() : session.export_json());
  } catch (error) {
    addMessage(`Export ${kind.toUpperCase()} failed: ${errorText(error)}`, true);
    recoverFromTrap(error, 'worker');
    return;
  }
  const type = kind === 'csv' ? 'text/csv' : 'application/json';
  download(new Blob([withProvenance(kind, text, currentProvenance())], { type }), `histinit-${stamp()}.${kind}`);
}

export async function exportPng() {
  const blob = await chartsPng(ui.charts);
  if (blob) download(await pngWithProvenance(blob, currentProvenance()), `histinit-charts-${stamp()}.png`);
  else addMessage('Export PNG: the browser could not encode the image.', true);
}

/** The interrupted run's CSV or JSON. */
export function exportPrevious(kind) {
  const text = previous?.[kind];
  if (!text) return;
  const type = kind === 'csv' ? 'text/csv' : 'application/json';
  const provenance = previous.provenance ?? currentProvenance();
  download(new Blob([withProvenance(kind, text, provenance)], { type }), `histinit-interrupted-${stamp()}.${kind}`);
}

export async function copyLink() {
  const link = location.href;
  try {
    await navigator.clipboard.writeText(link);
    ui.linkFallbackLabel.hidden = true;
    addMessage('Link copied: whoever opens it gets these settings.');
  } catch {
    // No clipboard permission (or an insecure origin): show the link to copy by hand.
    ui.linkFallback.value = link;
    ui.linkFallbackLabel.hidden = false;
    ui.linkFallback.focus();
    ui.linkFallback.select();
  }
}

/** "Cite this run": histinit's citation (CITATION.cff) and this run's link, as text to copy. */
export async function citeRun() {
  const text = citationText(page.build, location.href);
  ui.citeText.value = text;
  ui.citeLabel.hidden = false;
  try {
    await navigator.clipboard.writeText(text);
    addMessage('Citation copied: histinit as CITATION.cff asks, with this run\'s link.');
  } catch {
    ui.citeText.focus();
    ui.citeText.select();
  }
}
