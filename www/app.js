// histinit playground: the page's entry point. It loads the model code (here, for links
// and drawing; in the training worker, for training), builds the form from the link
// schema, and wires the controls to the modules that do the work:
//   page.js      the page's elements, what the module and the link gave it, status, messages
//   address.js   the settings ⇄ the form ⇄ the address; the view a link asks for (hide, embed)
//   controls.js  the form's own widgets (runs, source, hide) and descriptions
//   text.js      the visitor's own text          inputs.js  the source files a session needs
//   run.js       the run: start, pause, resume, reset, the WebGPU→CPU fallback, step reports
//   backend.js   which backend an 'auto' run trains on: measured, the faster here
//   progress.js  the curves as received          drawing.js the charts, tables and readouts
//   recovery.js  when the model code traps      exports.js CSV, JSON, PNG, the link
// The model trains in a worker (worker.js, trainer.js), which owns the training loop.

import { el, errorText } from './dom.js';
import { bindForm, settingsFromQuery } from './settings.js';
import { drawPlaceholders } from './charts.js';
import { fileBytes, fileKind, loadIndex } from './sources.js';
import { renderStudies } from './studies.js';
import { applyView, changeSettings, fieldChanged, openAdvancedIfUsed, parseLink, revealAll, settle } from './address.js';
import {
  addRunRow, describeInit, fillHideChoices, fillPresets, fillSources, hideWidget, local, MIN_RUNS, runSelects, runsWidget,
  showSourceFields, sourceWidget, withDefaultSource,
} from './controls.js';
import { attachReaders, drawn, redraw, redrawMs, refreshView, updateTable } from './drawing.js';
import { citeRun, copyLink, exportPng, exportPrevious, exportText } from './exports.js';
import { exportRun } from './next-teacher.js';
import { loadSpreads, showStudy } from './spread.js';
import { buildInfo, versionLine } from './provenance.js';
import { progress } from './progress.js';
import { addMessage, page, setStatus, ui } from './page.js';
import { loadModule, previous } from './recovery.js';
import { newTrainer, pause, reset, resume, run, setButtons, start, visibilityChanged } from './run.js';
import { PROBE } from './backend.js';
import { announceSaved, downloadState, forgetSavedRuns, loadStateFile, resumeSaved } from './resuming.js';
import { corpusWidget, PASTED_NAME, useText } from './text.js';

// A handle for tests and the curious (read-only use).
window.histinit = {
  get session() {
    return run.session;
  },
  get backend() {
    return run.backend;
  },
  /** What backend 'auto' measured before the last run ({steps, cpu, webgpu: ms/step, late, deadlineMs, picked}), or null. */
  get measured() {
    return run.measured ? { ...run.measured } : null;
  },
  /** How 'auto' measures (backend.js PROBE: steps, minDeadlineMs, deadlineFactor); tests may set it. */
  probe: PROBE,
  get history() {
    return progress.history;
  },
  /** Bytes of the training worker's wasm memory (benchmarks/page-memory.mjs). */
  get wasmBytes() {
    return run.workerMemory;
  },
  /** Bytes of wasm memory now: {worker, page} (the e2e memory check after refused files). */
  async memory() {
    return { worker: await page.trainer.memory(), page: page.pageMemory?.buffer.byteLength ?? null };
  },
  get drawParts() {
    return { ...drawn.parts, total: drawn.ms };
  },
  get runs() {
    return progress.runs;
  },
  get phase() {
    return run.phase;
  },
  get done() {
    return run.phase === 'done';
  },
  get running() {
    return run.phase === 'running';
  },
  get previous() {
    return previous;
  },
  get provenance() {
    return run.provenance;
  },
  get build() {
    return page.build;
  },
  get settings() {
    return { ...page.settings };
  },
  get frames() {
    return { ...drawn.frames };
  },
  get trajectory() {
    return drawn.trajectory;
  },
  get clock() {
    return [...progress.clock];
  },
  get redrawMs() {
    return redrawMs();
  },
  timing: page.timing,
};

/** A picked file's bytes and its name as shown (visible_text), or null (the reason is a message). */
async function pickedBytes(input, kind) {
  const file = input.files?.[0];
  if (!file) return null;
  const name = page.hi.visible_text(file.name);
  try {
    return { file, name, bytes: await fileBytes(file, kind, name) }; // refuses a file over the size cap before reading it
  } catch (error) {
    addMessage(errorText(error), true);
    return null;
  }
}

function wire() {
  // 'change' fires on commit (blur/enter/select), so the form is not rewritten mid-typing.
  ui.form.addEventListener('change', (event) => {
    if (event.target === ui.sourceFile) return;
    const field = page.form.fieldOf(event.target);
    if (!field) return;
    if (event.target === ui.source) {
      showSourceFields();
      if (ui.source.value === '@url' && !ui.sourceUrl.value) {
        ui.sourceUrl.focus();
        return; // wait for a URL
      }
    }
    if (ui.runList.contains(event.target)) describeInit(event.target.value);
    fieldChanged(field);
  });
  ui.form.addEventListener('submit', (event) => event.preventDefault());
  ui.sourceFile.addEventListener('change', async () => {
    const picked = await pickedBytes(ui.sourceFile);
    if (!picked) return;
    local.file = { name: picked.name, kind: fileKind(picked.file.name), bytes: picked.bytes };
    showSourceFields();
    fieldChanged(page.form.fieldOf(ui.source));
    addMessage(`Using the local file ${picked.name}; a copied link does not include it.`);
  });
  ui.corpusFile.addEventListener('change', async () => {
    const picked = await pickedBytes(ui.corpusFile, 'text');
    if (picked) useText(picked.file.name, picked.bytes);
  });
  ui.corpusPasteUse.addEventListener('click', () => useText(PASTED_NAME, new TextEncoder().encode(ui.corpusPaste.value)));
  ui.corpusBundled.addEventListener('click', () => {
    ui.corpusFile.value = '';
    changeSettings({ ...page.settings, corpus: '' });
  });
  ui.addRun.addEventListener('click', () => {
    const used = new Set(runSelects().map((s) => s.value));
    const next = page.inits.find((init) => !used.has(init.name))?.name ?? page.inits[0].name;
    addRunRow(next);
    changeSettings(withDefaultSource({ ...page.settings, [ui.runList.dataset.key]: runsWidget.read() }));
  });
  ui.removeRun.addEventListener('click', () => {
    const rows = ui.runList.querySelectorAll('li');
    if (rows.length > MIN_RUNS) rows[rows.length - 1].remove();
    fieldChanged(ui.runList);
  });
  ui.start.addEventListener('click', () => start());
  ui.pause.addEventListener('click', () => (run.phase === 'paused' ? resume() : pause()));
  ui.reset.addEventListener('click', () => reset());
  ui.resumeSaved.addEventListener('click', () => resumeSaved());
  ui.forgetSaved.addEventListener('click', () => forgetSavedRuns());
  ui.downloadState.addEventListener('click', () => downloadState());
  ui.loadState.addEventListener('change', () => loadStateFile(ui.loadState.files?.[0]));
  ui.copyLink.addEventListener('click', () => copyLink());
  ui.citeRun.addEventListener('click', () => citeRun());
  ui.showAll.addEventListener('click', () => {
    revealAll();
    settle({ ...page.settings, hide: '' });
  });
  ui.exportCsv.addEventListener('click', () => exportText('csv'));
  ui.exportJson.addEventListener('click', () => exportText('json'));
  ui.exportPng.addEventListener('click', () => exportPng());
  ui.exportWeights.addEventListener('click', () => exportRun(run.session, 'weights'));
  ui.exportHistogram.addEventListener('click', () => exportRun(run.session, 'histogram'));
  ui.previousCsv.addEventListener('click', () => exportPrevious('csv'));
  ui.previousJson.addEventListener('click', () => exportPrevious('json'));
  ui.logSteps.addEventListener('change', () => redraw());
  ui.xAxis.addEventListener('change', () => redraw());
  ui.curveData.addEventListener('toggle', () => updateTable());
  ui.role.addEventListener('change', () => refreshView());
  document.addEventListener('visibilitychange', visibilityChanged);
  new ResizeObserver(() => redraw()).observe(ui.charts.loss);
}

/**
 * The framing rule, as `histinit serve` and _headers state it (histinit-files' serve.rs,
 * `frameable`): the page may sit in another page's frame only on an embed link. A host
 * that sends no headers (GitHub Pages) cannot enforce that, so the page does: framed
 * without embed=1 it does not run and offers itself in a tab of its own.
 */
function refusedFrame(embed) {
  if (window.top === window.self || embed) return false;
  const open = el('a', { href: location.href, target: '_blank', rel: 'noopener', textContent: 'Open the playground in its own tab ↗' });
  const text = 'This page does not run inside another site\'s frame unless its link asks for the embedded layout (embed=1).';
  document.body.replaceChildren(el('main', { className: 'framed-refusal' }, [el('p', { id: 'framed-refusal', textContent: text }), el('p', {}, [open])]));
  return true;
}

async function main() {
  // The link's view at once, read from the address as it is (the module, which judges
  // the link, takes a moment to load), so that a student does not see the controls
  // flash by meanwhile.
  const early = new URLSearchParams(location.search);
  const embed = early.get('embed') === '1';
  if (refusedFrame(embed)) return;
  applyView(early.get('hide') ?? '', embed);
  renderStudies(ui.studyLinks); // plain links: they work even if the module does not load
  drawPlaceholders(ui.charts);
  attachReaders();
  // The worker loads its copy of the module meanwhile.
  const trainer = newTrainer();
  trainer.catch(() => {}); // (awaited below)
  try {
    const hi = await loadModule();
    page.hi = hi;
    page.build = buildInfo(hi);
    ui.versionLine.textContent = `${versionLine(page.build)} · Burn ${page.build?.burn} · wgpu ${page.build?.wgpu} · link format ${page.build?.link_version}`;
    page.schema = hi.link_schema();
    page.presets = hi.presets();
    page.inits = hi.init_methods();
  } catch (error) {
    setStatus(`The model code did not load (${errorText(error)}). Build it with 'make web' and reload.`, true);
    return;
  }
  try {
    await trainer;
  } catch (error) {
    setStatus(`The model code did not load in a worker (${errorText(error)}): this browser cannot train here. Build it with 'make web' and reload.`, true);
    return;
  }
  const index = await loadIndex();
  page.sources = index.entries;
  fillSources();
  fillHideChoices();
  page.form = bindForm({
    form: ui.form,
    advanced: ui.advancedFields,
    schema: page.schema,
    widgets: { runs: runsWidget, source: sourceWidget, corpus: corpusWidget, hide: hideWidget },
  });
  fillPresets();

  const parsed = parseLink(location.search);
  settle(withDefaultSource(settingsFromQuery(page.schema, parsed.query)));
  // The module's reading of `embed` is the one serve applies; the early one only saved the load.
  if (refusedFrame(page.settings.embed === '1')) {
    page.trainer?.terminate();
    return;
  }
  applyView(page.settings.hide, page.settings.embed === '1');
  openAdvancedIfUsed();
  if (index.error) addMessage(index.error);

  wire();
  setButtons();
  // The published studies' spreads, for the note and the loss chart (none without them).
  loadSpreads(page.hi).then(() => {
    if (!run.session) showStudy(page.settings);
  });
  page.timing.moduleReady = performance.now();
  setStatus('Ready: press Start.');
  announceSaved();
}

main();
