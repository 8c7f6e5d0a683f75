// The settings and the address: every change goes through the module's forgiving link
// parser, whose canonical query becomes the settings object, every field of the form and
// the address. And the view a link asks for: controls hidden for a classroom, a lesson
// shown as text, the compact layout of an embed.

import { clear, el } from './dom.js';
import { queryOf, settingsFromQuery } from './settings.js';
import { describePreset } from './controls.js';
import { addMessage, clearMessages, initList, page, ui } from './page.js';
import { run } from './run.js';
import { showStudy } from './spread.js';

/** Reads `search` with the module's forgiving parser; shows its warnings. */
export function parseLink(search) {
  const parsed = page.hi.parse_link(search);
  for (const warning of parsed.warnings ?? []) addMessage(`Link: ${warning}`);
  return parsed;
}

/**
 * Puts `settings` through parse_link and makes its canonical query the page's truth:
 * the settings object, every field of the form, and the address. Returns the parse.
 */
export function settle(settings) {
  const parsed = parseLink(`?${queryOf(page.schema, settings)}`);
  page.settings = settingsFromQuery(page.schema, parsed.query);
  page.form.show(page.settings);
  describePreset();
  history.replaceState(null, '', `${location.pathname}${parsed.query ? `?${parsed.query}` : ''}${location.hash}`);
  showLesson(page.settings.lesson);
  ui.classroomOpen.href = location.href;
  ui.openFullLink.href = addressWithout('embed');
  if (!run.session) showStudy(page.settings);
  return parsed;
}

/** The settings changed by hand: settle them, and say that a running session keeps its own. */
export function changeSettings(settings) {
  clearMessages();
  const before = page.settings;
  settle(settings);
  // The page's own keys (hide, lesson, embed) change no number of a run.
  const experimentChanged = page.schema.some(({ key, role }) => role === 'experiment' && before[key] !== page.settings[key]);
  if (run.session && experimentChanged) {
    addMessage('Settings changed: press Start to train with them (the current runs keep their settings).');
  }
}

/** A field was changed by hand: its key takes the field's value. */
export function fieldChanged(field) {
  changeSettings({ ...page.settings, [field.dataset.key]: page.form.read(field) });
}

/** Opens Advanced when the link sets any of its keys away from the default. */
export function openAdvancedIfUsed() {
  const byKey = new Map(page.schema.map((entry) => [entry.key, entry]));
  const used = page.form.advancedKeys.filter((key) => page.settings[key] !== (byKey.get(key).default ?? ''));
  if (used.length) ui.advanced.open = true;
}

// ---------------------------------------------------------------- classroom and embed links

/** What a `hide` name hides: a page section (data-group) or a setting's field. */
function hideTarget(name) {
  const group = document.querySelector(`[data-group="${CSS.escape(name)}"]`);
  if (group) return group;
  const field = ui.form.querySelector(`[data-key="${CSS.escape(name)}"]`);
  return field ? (field.closest('[data-field]') ?? field.closest('label') ?? field) : null;
}

/** The elements the link hid (so that Show all controls can bring them back). */
const hiddenByLink = [];

/**
 * Shows the page as a link asks: `hide` names hidden (a fieldset left empty with them),
 * the compact layout for `embed`. Only on opening a link: a teacher building one keeps
 * every control.
 */
export function applyView(hide, embed) {
  revealAll();
  for (const name of initList(hide)) {
    const target = hideTarget(name);
    if (target && !target.hidden) {
      target.hidden = true;
      hiddenByLink.push(target);
    }
  }
  for (const fieldset of ui.form.querySelectorAll('fieldset')) {
    const fields = [...fieldset.querySelectorAll('[data-key]')];
    if (!fieldset.hidden && fields.length && fields.every((field) => field.closest('[hidden]'))) {
      fieldset.hidden = true;
      hiddenByLink.push(fieldset);
    }
  }
  ui.fixedNote.hidden = hiddenByLink.length === 0;
  document.body.classList.toggle('embed', embed);
  ui.openFull.hidden = !embed;
}

export function revealAll() {
  for (const target of hiddenByLink.splice(0)) target.hidden = false;
  ui.fixedNote.hidden = true;
}

/** The lesson as plain text: a paragraph per line. */
function showLesson(text) {
  clear(ui.lesson);
  for (const line of (text ?? '').split('\n')) {
    if (line.trim()) ui.lesson.append(el('p', { textContent: line }));
  }
  ui.lesson.hidden = !ui.lesson.firstChild;
}

/** The address without `key` (the full page from an embed link). */
function addressWithout(key) {
  const url = new URL(location.href);
  url.searchParams.delete(key);
  return url.href;
}
