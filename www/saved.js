// Saved runs in the browser's storage (IndexedDB), keyed by the run's link: the worker
// writes them (worker.js `save`), the page reads and forgets them (run.js). The bytes
// are the module's (Session.save_state): versioned, hashed and checked when read back.

const DB = 'histinit-saved-runs';
const STORE = 'runs';

function openDb() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
    request.onblocked = () => reject(new Error('the saved runs are open in an older tab'));
  });
}

/** Runs `work(store)` in one transaction; resolves with its request's result once committed. */
async function transact(mode, work) {
  const db = await openDb();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const request = work(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(request.result);
      tx.onerror = () => reject(tx.error ?? request.error);
      tx.onabort = () => reject(tx.error ?? new Error('the browser aborted the write'));
    });
  } finally {
    db.close();
  }
}

/** Why a save failed, in words: a full storage says so (the run goes on, unsaved). */
export function saveProblem(error) {
  const quota = error?.name === 'QuotaExceededError' || /quota/i.test(String(error?.message));
  if (quota) return "The browser's storage for this site is full, so this run is not saved (it goes on unsaved; \"Forget saved runs\" frees the space).";
  return `This run could not be saved in the browser's storage (${error?.message ?? error}); it goes on unsaved.`;
}

/** {bytes, steps, saved} of the run saved for `link`, or null. */
export function readSaved(link) {
  return transact('readonly', (store) => store.get(link)).then((entry) => entry ?? null);
}

export function writeSaved(link, bytes, steps) {
  return transact('readwrite', (store) => store.put({ bytes, steps, saved: Date.now() }, link));
}

export function forgetSaved() {
  return transact('readwrite', (store) => store.clear());
}
