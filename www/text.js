// The visitor's own text (the `corpus` key): a picked or pasted file, read by the page's
// module (check_corpus: size, stray bytes, prompt). It never leaves the page: a link names
// the file, and whoever opens the link picks the same file.

import { errorText } from './dom.js';
import { formatBytes } from './sources.js';
import { changeSettings } from './address.js';
import { addMessage, page, ui } from './page.js';
import { recoverFromTrap } from './recovery.js';

export const PASTED_NAME = 'pasted.txt';

/** The text picked here: {name, bytes, info: check_corpus()}, or null. */
let picked = null;

/** The `corpus` key: the name of the visitor's text file, shown read-only (files are picked beside it). */
export const corpusWidget = {
  read(element) {
    return element.value.trim();
  },
  write(element, value) {
    element.value = value;
    showCorpusNote(value);
  },
};

/** Whether the text the settings name is the one picked here. */
export function textPicked(name) {
  return Boolean(name) && picked?.name === name;
}

/** The visitor's text the settings name, as the worker takes it ({name, bytes}), or null (the bundled corpus). */
export function textFor(settings) {
  return textPicked(settings.corpus) ? { name: picked.name, bytes: picked.bytes } : null;
}

/** Says what the runs train on and, for a text file, that a link needs the same file. */
export function showCorpusNote(name) {
  ui.corpusNote.classList.remove('error');
  // The bundled corpus's prompt is the module's (histinit-core's), never a copy here.
  let prompt = page.hi.bundled_prompt();
  let from = 'the corpus is the King James Bible';
  if (!name) {
    ui.corpusNote.textContent = 'The bundled King James Bible. Pick a text file or paste text to train on your own.';
  } else if (textPicked(name)) {
    const { info } = picked;
    const stray = info.invalid_bytes ? `; ${info.invalid_bytes} byte${info.invalid_bytes === 1 ? '' : 's'} not UTF-8, replaced` : '';
    ui.corpusNote.textContent =
      `Training on your text '${name}' (${formatBytes(info.bytes)}${stray}), split teacher/student/validation ` +
      `as histinit run --corpus splits it. It stays in this browser: a copied link names the file but does not ` +
      `carry it, so reproducing the run needs the same file (here, or histinit run --link '<link>' --corpus ${name}).`;
    prompt = info.prompt;
    from = `the first words of your text's training split`;
  } else {
    ui.corpusNote.textContent =
      `This link trains on the text file '${name}', which a link names but does not carry: pick that same file ` +
      `above to reproduce the run (or go back to the King James Bible). Start waits for it.`;
    ui.corpusNote.classList.add('error');
  }
  ui.samplePrompt.textContent = prompt;
  ui.samplePromptFrom.textContent = from;
}

/** Reads `bytes` as the text `name`; on success the settings name it. */
export function useText(name, bytes) {
  const shown = page.hi.visible_text(name); // (the link judges the name itself: settings below)
  let info;
  try {
    info = page.hi.check_corpus(bytes, Number(page.settings.context) || 0);
  } catch (error) {
    // The page's own module trapped reading it: reload that module (the settings stay).
    if (recoverFromTrap(error, 'page', `Reading '${shown}'`)) return;
    const message = `${shown}: ${errorText(error)}`;
    addMessage(message, true);
    ui.corpusNote.textContent = `${message}. Still training on ${page.settings.corpus ? `'${page.settings.corpus}'` : 'the King James Bible'}.`;
    ui.corpusNote.classList.add('error');
    return;
  }
  picked = { name, bytes, info };
  changeSettings({ ...page.settings, corpus: name });
  if (page.settings.corpus !== name) {
    // parse_link refused the name (and said why): a link could not name this file.
    ui.corpusNote.textContent = `This file's name cannot go in a link (the message above says why): rename the file and pick it again.`;
    ui.corpusNote.classList.add('error');
    return;
  }
  if (info.warning) addMessage(`${shown}: ${info.warning}.`);
}
