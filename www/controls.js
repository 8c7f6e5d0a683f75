// The form's own controls, beyond the fields settings.js binds by key: the run rows (one
// select per init), the histogram source (a shipped id, a URL, or a local file that no
// link carries), the preset's description, and the `hide` checkboxes. Each widget reads
// and writes its key's value for bindForm().

import { clear, el } from './dom.js';
import { isUrl } from './link.js';
import { initInfo, initList, needsOf, page, shippedSource, ui } from './page.js';
import { showTrajectory } from './drawing.js';

export const MIN_RUNS = 1;
const MAX_RUNS = 4;

/** The local source file picked under "open file…": {name, kind, bytes} (not in the link). */
export const local = { file: null };

export function runSelects() {
  return [...ui.runList.querySelectorAll('select')];
}

export function addRunRow(initName) {
  const select = el(
    'select',
    {},
    page.inits.map((init) => el('option', { value: init.name, textContent: init.name, title: init.description })),
  );
  select.setAttribute('aria-label', `run ${runSelects().length + 1} initialization`);
  select.value = initName;
  if (select.value !== initName) {
    // A name this module does not know (parse_link would have dropped it); show it anyway.
    select.append(el('option', { value: initName, textContent: initName }));
    select.value = initName;
  }
  select.addEventListener('focus', () => describeInit(select.value));
  ui.runList.append(el('li', {}, [select]));
  updateRunButtons();
}

export function describeInit(name) {
  const info = initInfo(name);
  ui.initDescription.textContent = info.description ? `${info.name}: ${info.description}` : '';
}

function updateRunButtons() {
  const count = runSelects().length;
  ui.addRun.disabled = count >= MAX_RUNS;
  ui.removeRun.disabled = count <= MIN_RUNS;
}

/** The run rows: one select per init of the comma-separated list. */
export const runsWidget = {
  read: () => runSelects().map((select) => select.value).join(','),
  write(_, value) {
    // Rebuilding the rows loses focus: keep it on the row that had it.
    const focused = runSelects().indexOf(document.activeElement);
    clear(ui.runList);
    for (const name of initList(value)) addRunRow(name);
    updateRunButtons();
    if (focused >= 0) runSelects()[focused]?.focus();
  },
};

/** The source: a shipped id, a URL (its own field), or a local file (not in the link). */
export const sourceWidget = {
  read() {
    if (ui.source.value === '@url') return ui.sourceUrl.value.trim();
    if (ui.source.value === '@file') return '';
    return ui.source.value;
  },
  write(_, value) {
    if (isUrl(value)) {
      ui.source.value = '@url';
      ui.sourceUrl.value = value;
    } else if (value) {
      ui.source.value = value;
      if (ui.source.value !== value) {
        // An id this page does not ship: keep it visible (Start will say what is missing).
        ui.source.insertBefore(
          el('option', { value, textContent: `${value} (not shipped here)` }),
          ui.source.lastElementChild.previousElementSibling,
        );
        ui.source.value = value;
      }
    } else if (ui.source.value !== '@file') {
      ui.source.value = '';
    }
    showSourceFields();
  },
};

/** The `hide` key: a checkbox per name it takes (the schema's choices: the page's sections, then settings). */
export const hideWidget = {
  read: () => [...ui.hideField.querySelectorAll('input:checked')].map((box) => box.value).join(','),
  write(_, value) {
    const names = new Set(initList(value));
    for (const box of ui.hideField.querySelectorAll('input')) box.checked = names.has(box.value);
  },
};

export function fillHideChoices() {
  const entry = page.schema.find((e) => e.key === 'hide');
  const labels = new Map(page.schema.map((e) => [e.key, e.label]));
  for (const name of entry.choices) {
    const box = el('input', { type: 'checkbox', value: name });
    const text = labels.has(name) ? labels.get(name) : `${name} (section)`;
    ui.hideField.append(el('label', { className: 'inline', title: `link name '${name}'` }, [box, text]));
  }
}

export function fillPresets() {
  for (const option of ui.preset.options) {
    const preset = page.presets.find((p) => p.name === option.value);
    if (!preset) continue;
    const params = preset.parameters >= 1e6 ? `${(preset.parameters / 1e6).toFixed(1)} M` : `${(preset.parameters / 1e3).toFixed(0)} k`;
    option.textContent = `${preset.name} (${params} parameters)`;
  }
}

export function describePreset() {
  const { settings } = page;
  const preset = page.presets.find((p) => p.name === settings.preset);
  if (!preset) {
    ui.presetShape.textContent = '';
    return;
  }
  // The shape overrides are the optional counts that a preset fixes (empty: the preset's).
  const shape = { ...preset };
  let overridden = false;
  for (const { key, kind } of page.schema) {
    if (kind === 'optional_count' && key in preset && settings[key]) {
      shape[key] = Number(settings[key]);
      overridden = true;
    }
  }
  ui.presetShape.textContent = `${shape.layers} layers, width ${shape.width}, ${shape.heads} heads, context up to ${preset.context}${overridden ? ' (shape overridden: see Advanced)' : ''}`;
}

export function fillSources() {
  clear(ui.source);
  ui.source.append(el('option', { value: '', textContent: 'none (standard inits only)' }));
  for (const entry of page.sources) {
    ui.source.append(el('option', { value: entry.id, textContent: entry.id, title: entry.label ?? '' }));
  }
  ui.source.append(el('option', { value: '@url', textContent: 'a URL…' }));
  ui.source.append(el('option', { value: '@file', textContent: 'open file…' }));
}

/** The shipped source that suits a preset: the one measured on it, else the first. */
function defaultSourceId(presetName) {
  const match = page.sources.find((entry) => entry.preset === presetName);
  return (match ?? page.sources[0])?.id ?? '';
}

/** Histogram inits without a source: the shipped one that suits the preset (so the link names it). */
export function withDefaultSource(settings) {
  if (settings.source || ui.source.value === '@file' || !needsOf(initList(settings.inits)).histogram) return settings;
  return { ...settings, source: defaultSourceId(settings.preset) };
}

export function showSourceFields() {
  const choice = ui.source.value;
  ui.sourceUrlLabel.hidden = choice !== '@url';
  ui.sourceFileLabel.hidden = choice !== '@file';
  const entry = shippedSource(choice);
  // The shipped source's own account of where it came from (long: folded away).
  ui.provenance.textContent = entry?.provenance ?? '';
  ui.provenanceDetails.hidden = !entry?.provenance;
  if (entry) {
    ui.sourceLabel.textContent = entry.label ?? '';
  } else if (choice === '@file') {
    ui.sourceLabel.textContent = local.file
      ? `Local file ${local.file.name} (${local.file.kind}); a link cannot carry it.`
      : 'Pick a histogram (.json, .json.gz) or weights (.safetensors) file.';
  } else if (choice === '@url') {
    ui.sourceLabel.textContent = 'A histogram file on another server (it must allow cross-origin requests).';
  } else {
    ui.sourceLabel.textContent = '';
  }
  showTrajectory();
}
