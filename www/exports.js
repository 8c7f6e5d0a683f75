// What the reader takes away: the session's CSV and JSON (written in the worker), a PNG
// of the charts, the link, and the exports of an interrupted run.

import { download, errorText } from './dom.js';
import { chartsPng } from './charts.js';
import { addMessage, stamp, ui } from './page.js';
import { previous, recoverFromTrap } from './recovery.js';
import { run } from './run.js';

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
  download(new Blob([text], { type }), `histinit-${stamp()}.${kind}`);
}

export async function exportPng() {
  const blob = await chartsPng(ui.charts);
  if (blob) download(blob, `histinit-charts-${stamp()}.png`);
  else addMessage('Export PNG: the browser could not encode the image.', true);
}

/** The interrupted run's CSV or JSON. */
export function exportPrevious(kind) {
  const text = previous?.[kind];
  if (!text) return;
  const type = kind === 'csv' ? 'text/csv' : 'application/json';
  download(new Blob([text], { type }), `histinit-interrupted-${stamp()}.${kind}`);
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
