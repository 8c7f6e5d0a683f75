// "Use a run as the next teacher": a run of the session exported as a source for
// another: its weights as .safetensors (GPT-NeoX names, the metadata a teacher's
// checkpoint has; the trained and permuted inits read them) and their histograms as
// .json in the shipped format (the histogram inits draw from them), both made in the
// worker by the module's one extractor, the one `histinit extract` runs. Either file
// goes back in as the histogram source "a file" here, or to `histinit run --weights` /
// `--histogram`.

import { clear, download, el, errorText } from './dom.js';
import { addMessage, ui } from './page.js';
import { recoverFromTrap } from './recovery.js';

/** Shows the row for `session` (its runs to pick from), or hides it without one. */
export function showRunExport(session) {
  ui.runExport.hidden = !session;
  if (!session) return;
  const ids = session.runs.map((r) => String(r.id)).join(',');
  if (ui.exportRunPick.dataset.runs === ids) return; // the same runs: keep the pick
  ui.exportRunPick.dataset.runs = ids;
  clear(ui.exportRunPick);
  for (const r of session.runs) ui.exportRunPick.append(el('option', { value: String(r.id), textContent: r.label }));
}

/** Downloads the picked run's weights (`kind` 'weights') or histograms ('histogram'). */
export async function exportRun(session, kind) {
  if (!session) return;
  const index = Number(ui.exportRunPick.value || 0);
  let exported;
  try {
    // Answered by the worker between two steps: the weights as they are now.
    exported = await session.export_run(index);
  } catch (error) {
    addMessage(`Export of the run failed: ${errorText(error)}`, true);
    recoverFromTrap(error, 'worker');
    return;
  }
  const file = kind === 'weights'
    ? { blob: new Blob([exported.weights], { type: 'application/octet-stream' }), name: `${exported.name}.safetensors`, use: 'the trained or permuted init (histinit run --weights FILE)' }
    : { blob: new Blob([exported.histogram], { type: 'application/json' }), name: `${exported.name}.json`, use: 'the histogram inits (histinit run --histogram FILE)' };
  download(file.blob, file.name);
  addMessage(`Saved ${file.name}: pick it as the histogram source "a file" to use it for ${file.use}.`);
}
