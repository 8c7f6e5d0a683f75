// The training worker's protocol (www/worker.js, run under Node beside a stand-in module):
// the worker owns the loop, reports each step, answers requests between steps (never
// two calls into the session at once), stops before the next step on pause, goes on
// on resume, and frees the session on stop.

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

// Two runs, `steps` steps each; a step takes a few ms, and the session records every call
// and whether one came while another was under way.
const STAND_IN = `
export default async function init() { return { memory: { buffer: { byteLength: 4096 } } }; }
export const webgpu_available = () => false;
export const forget_webgpu_device = () => null;
export class Session {
  constructor(query) {
    this.total = 2 * Number(/steps=(\\d+)/.exec(query)[1]);
    this.taken = 0;
    this.calls = [];
    this.overlaps = 0;
    this.busy = false;
    globalThis.__standIn = this;
  }
  async enter(name, ms) {
    if (this.busy) this.overlaps += 1;
    this.busy = true;
    this.calls.push(name);
    await new Promise((resolve) => setTimeout(resolve, ms));
    this.busy = false;
  }
  async prepare() {}
  runs() { return [{ id: 0, init: 'a' }, { id: 1, init: 'b' }]; }
  async step() {
    await this.enter('step', 3);
    const i = this.taken++;
    return { run: i % 2, step: Math.floor(i / 2), train_loss: 1 / (i + 1), done: this.taken >= this.total };
  }
  async snapshot_weights() { await this.enter('snapshot', 1); }
  async samples(length) { await this.enter('samples', 1); return [{ run: 0, label: 'a', text: 'x'.repeat(length) }]; }
  view(role) { if (this.busy) this.overlaps += 1; this.calls.push('view'); return { charts: '{}', trajectory: null, results: [], role }; }
  export_csv() { if (this.busy) this.overlaps += 1; return 'csv'; }
  free() { this.freed = true; }
}
`;

export async function workerLoopChecks({ check, assert }) {
  await check('worker: it owns the loop: a report per step, requests between steps, pause before the next step, resume, stop', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'histinit-worker-loop-'));
    const saved = Object.getOwnPropertyDescriptor(globalThis, 'self');
    try {
      mkdirSync(join(dir, 'pkg'));
      for (const file of ['worker.js', 'saved.js']) writeFileSync(join(dir, file), readFileSync(new URL(`../../www/${file}`, import.meta.url)));
      writeFileSync(join(dir, 'pkg/histinit_web.js'), STAND_IN);
      const waiting = new Map();
      const events = [];
      let deliver = null;
      let onEvent = () => {};
      globalThis.self = {
        postMessage: (message) => {
          if ('event' in message) {
            events.push(message);
            onEvent();
          } else waiting.get(message.id)?.(message);
        },
        addEventListener: (type, listener) => {
          if (type === 'message') deliver = listener;
        },
      };
      await import(pathToFileURL(join(dir, 'worker.js')).href);
      let next = 0;
      const request = (op, args = {}) =>
        new Promise((resolve) => {
          next += 1;
          waiting.set(next, resolve);
          deliver({ data: { id: next, op, args } });
        });
      const until = (condition) =>
        new Promise((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`timed out; events: ${events.map((e) => e.event).join(' ')}`)), 5000);
          onEvent = () => {
            if (condition()) {
              clearTimeout(timer);
              onEvent = () => {};
              resolve();
            }
          };
          onEvent();
        });
      const steps = () => events.filter((e) => e.event === 'step');

      assert(!('error' in (await request('load'))), 'the module loads');
      const opened = await request('open', { query: 'steps=15', backend: 'cpu', text: null, sources: [] });
      const { id } = opened.value;
      const session = globalThis.__standIn;
      assert(id === 1 && opened.value.runs.length === 2, `a session: ${JSON.stringify(opened)}`);
      assert(!('error' in (await request('start', { id, snapshotEvery: 5, sampleEvery: 10, sampleLength: 4 }))), 'start is answered at once');
      await until(() => steps().length >= 6);
      // A request while the loop runs is answered between two steps.
      const view = await request('view', { id, role: 'embed' });
      assert(view.value?.role === 'embed', `a view between steps: ${JSON.stringify(view)}`);
      const paused = await request('pause', { id });
      assert(!('error' in paused), `pause answered: ${JSON.stringify(paused)}`);
      const atPause = steps().length;
      await new Promise((resolve) => setTimeout(resolve, 60));
      assert(steps().length === atPause, `no step after the pause was answered (${atPause}, then ${steps().length})`);
      assert(session.calls.filter((call) => call === 'step').length === atPause, 'every step taken was reported before the answer');
      assert((await request('export_csv', { id })).value === 'csv', 'an export while paused');
      await request('resume', { id });
      await until(() => events.some((e) => e.event === 'done'));
      const reports = steps().map((e) => e.report);
      assert(reports.length === 30 && reports.every((report, i) => report.train_loss === 1 / (i + 1)), `30 reports in order (${reports.length})`);
      assert(events.at(-1).event === 'done' && events.every((e) => e.id === id), 'done comes last; every event names the session');
      assert(steps().every((e) => e.memory === 4096), 'each report carries the memory');
      // Weight snapshots when the furthest run reached 5, 10 and 15 steps, and after the
      // last step; samples at 10 and after the last step (as the page asked for them).
      assert(session.calls.filter((call) => call === 'snapshot').length === 4, `snapshots: ${session.calls.join(' ')}`);
      assert(events.filter((e) => e.event === 'samples').length === 2, `samples: ${events.map((e) => e.event).join(' ')}`);
      assert(session.overlaps === 0, `never two calls into the session at once (${session.overlaps})`);
      // Stop frees the session; an old id is refused.
      await request('stop', { id });
      assert(session.freed, 'stop frees the session');
      const late = await request('start', { id });
      assert(late.error?.includes('closed'), `a stopped session cannot start: ${JSON.stringify(late)}`);
    } finally {
      if (saved) Object.defineProperty(globalThis, 'self', saved);
      else delete globalThis.self;
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
