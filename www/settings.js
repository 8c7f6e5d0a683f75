// The page's settings: one object, link key -> string, and the form bound to it by key.
//
// The link schema (link_schema() of the wasm module, from histinit_core::link::LINK_KEYS)
// is the only list of keys. A form element marked data-key="KEY" shows and edits that
// key; keys without a hand-made element get a generated field in the "Advanced" section
// (control from the key's kind and choices, label and placeholder from the schema), so
// every key is visible, editable and kept in the link. Values only ever reach the page as
// element values and textContent, never as markup.

import { buildQuery } from './link.js';
import { clear, el } from './dom.js';

/** The settings of a canonical query (parse_link's `query`): every schema key, '' if unset. */
export function settingsFromQuery(schema, query) {
  const params = new URLSearchParams(query.replace(/^\?/, ''));
  return Object.fromEntries(schema.map(({ key }) => [key, params.get(key) ?? '']));
}

/** The settings as a query string, keys in the schema's order; empty values left out. */
export function queryOf(schema, settings) {
  return buildQuery(schema.map(({ key }) => [key, settings[key]]));
}

/** The elements bound to keys, as [key, element] pairs in document order. */
function boundElements(form) {
  return [...form.querySelectorAll('[data-key]')].map((element) => [element.dataset.key, element]);
}

/**
 * Puts `choices` into `select` as options, keeping the text of an option the page already
 * had for a value (nicer words than the bare name) and dropping options not among them.
 */
export function fillChoices(select, choices) {
  const texts = new Map([...select.options].map((option) => [option.value, option.textContent]));
  clear(select);
  for (const choice of choices) select.append(el('option', { value: choice, textContent: texts.get(choice) ?? choice }));
}

/** A generated field for a schema entry: its label and a control chosen by the key's kind. */
function generatedField(entry) {
  let control;
  if (entry.kind === 'choice') {
    control = el('select');
    fillChoices(control, entry.choices);
  } else if (entry.kind === 'count' || entry.kind === 'optional_count') {
    control = el('input', { type: 'number', min: '0', step: '1' });
  } else if (entry.kind === 'number') {
    control = el('input', { type: 'number', step: 'any' });
  } else {
    // text, list (comma-separated names) and any kind this page does not know yet
    control = el('input', { type: 'text' });
  }
  control.name = entry.key;
  control.dataset.key = entry.key;
  control.placeholder = entry.default ?? (entry.kind === 'optional_count' ? 'preset' : '');
  control.title = `link key '${entry.key}'${entry.default == null ? '' : `, default ${entry.default}`}`;
  if (entry.kind === 'list' && entry.choices.length) control.title += ` (from ${entry.choices.join(', ')})`;
  return el('label', {}, [entry.label, control]);
}

/**
 * Binds `form` to the schema. `widgets` are the page's own controls for some keys
 * (data-widget="NAME" next to data-key): {read(element), write(element, value)}.
 * Returns the form's API:
 *   read(element)           the value a bound element (or the field holding `element`) shows
 *   show(settings)          puts every key's value into its element
 *   advancedKeys            the keys that got a generated field
 *   fieldOf(element)        the bound element holding `element` (or null)
 */
export function bindForm({ form, advanced, schema, widgets = {} }) {
  const handMade = new Set(boundElements(form).map(([key]) => key));
  const advancedKeys = [];
  for (const entry of schema) {
    if (handMade.has(entry.key)) continue;
    advanced.append(generatedField(entry));
    advancedKeys.push(entry.key);
  }
  const byKey = new Map(schema.map((entry) => [entry.key, entry]));
  for (const [key, element] of boundElements(form)) {
    const entry = byKey.get(key);
    if (element instanceof HTMLSelectElement && entry?.choices.length) fillChoices(element, entry.choices);
  }

  const read = (element) => {
    const widget = widgets[element.dataset.widget];
    if (widget) return widget.read(element);
    if (element.type === 'checkbox') return element.checked ? element.dataset.on : element.dataset.off;
    return element.value.trim();
  };

  const write = (element, value) => {
    const widget = widgets[element.dataset.widget];
    if (widget) {
      widget.write(element, value);
    } else if (element.type === 'checkbox') {
      element.checked = value === element.dataset.on;
    } else if (element instanceof HTMLSelectElement) {
      element.value = value;
      if (element.value !== value) {
        // A value this page has no option for (the module knows more than the page's
        // markup): show it rather than silently show another one.
        element.append(el('option', { value, textContent: value }));
        element.value = value;
      }
    } else {
      element.value = value;
    }
  };

  return {
    advancedKeys,
    read,
    fieldOf: (element) => element.closest?.('[data-key]') ?? null,
    show(settings) {
      for (const [key, element] of boundElements(form)) write(element, settings[key] ?? '');
    },
  };
}
