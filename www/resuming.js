// Saved runs, the page's side: "Resume saved run" continues the run this link saved in
// the browser's storage (the worker saves it: worker.js), "Forget saved runs" clears
// them, and the same state goes to and comes from a file. The module checks the bytes
// (format version, hash, link) and says what is wrong; nothing here reads them.

import { download, errorText } from './dom.js';
import { queryOf } from './settings.js';
import { settle } from './address.js';
import { page, setStatus, stamp, ui } from './page.js';
import { forgetSaved, readSaved } from './saved.js';
import { run, start } from './run.js';

/** Says, when the page opens, that this browser holds a saved run of its link. */
export async function announceSaved() {
  const entry = await readSaved(queryOf(page.schema, page.settings)).catch(() => null);
  if (entry && !run.session) ui.savedStatus.textContent = `This browser holds this link's run, saved at step ${entry.steps}: "Resume saved run" continues it.`;
}

/** Continues the run saved for the current link, if this browser has one. */
export async function resumeSaved() {
  settle(page.settings);
  let entry;
  try {
    entry = await readSaved(queryOf(page.schema, page.settings));
  } catch (error) {
    setStatus(`The browser's storage cannot be read: ${errorText(error)}`, true);
    return;
  }
  if (!entry) {
    setStatus('No run of this link is saved in this browser: press Start (runs on the CPU backend are saved as they train).', true);
    return;
  }
  await start(new Uint8Array(entry.bytes));
}

export async function forgetSavedRuns() {
  try {
    await forgetSaved();
    ui.savedStatus.textContent = 'Saved runs forgotten: this browser keeps none now.';
  } catch (error) {
    setStatus(`The saved runs could not be forgotten: ${errorText(error)}`, true);
  }
}

export async function downloadState() {
  if (!run.session) return;
  try {
    const bytes = await run.session.state();
    download(new Blob([bytes], { type: 'application/octet-stream' }), `histinit-run-${stamp()}.histrun`);
  } catch (error) {
    setStatus(`The run's state could not be saved as a file: ${errorText(error)}`, true);
  }
}

/** Continues the run saved in `file` (refused with the reason if it is not of this link). */
export async function loadStateFile(file) {
  if (!file) return;
  const bytes = new Uint8Array(await file.arrayBuffer());
  ui.loadState.value = '';
  await start(bytes);
}
