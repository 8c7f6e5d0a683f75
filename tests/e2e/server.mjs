// Starting a static server for the tests: `histinit serve` (what ships), or, with
// HISTINIT_SERVER=node, a small Node server sending the same CSP (for working on the page
// before the Rust binary is built).

import { spawn } from 'node:child_process';
import { createReadStream, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { homedir } from 'node:os';
import { extname, join, normalize, resolve, sep } from 'node:path';

export const CSP =
  "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data: blob:; " +
  "connect-src 'self' https:; object-src 'none'; base-uri 'none'";

export function histinitBin() {
  if (process.env.HISTINIT_BIN) return process.env.HISTINIT_BIN;
  const target = process.env.CARGO_TARGET_DIR || join(homedir(), '.cache/histinit/target');
  return join(target, 'debug/histinit');
}

/** A port nothing listens on right now (the OS picks it). */
function freePort() {
  return new Promise((resolvePromise, reject) => {
    const probe = createServer();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolvePromise(port));
    });
  });
}

/** Runs `histinit serve` on a free port; resolves {url, stop} once it prints its address. */
export async function startHistinitServer(root) {
  const bin = histinitBin();
  const port = await freePort();
  const child = spawn(bin, ['serve', '--port', String(port), '--dir', root], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolvePromise, reject) => {
    let output = '';
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`${bin} serve printed no address within 30 s; output: ${output}`));
    }, 30_000);
    const onData = (chunk) => {
      output += chunk;
      const match = output.match(/serving (http:\/\/[^\s/]+\/)/);
      if (match) {
        clearTimeout(timer);
        resolvePromise({ url: match[1], stop: () => child.kill() });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`could not start ${bin} (${error.message}); build it with 'cargo build --bin histinit' or set HISTINIT_BIN`));
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${bin} serve exited with ${code}: ${output}`));
    });
  });
}

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.gz': 'application/gzip',
};

/** A minimal static server with the playground's CSP (development fallback only). */
export function startNodeServer(root) {
  const base = resolve(root);
  const server = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url, 'http://x').pathname);
    let file = normalize(join(base, path));
    if (file !== base && !file.startsWith(base + sep)) {
      response.writeHead(403).end();
      return;
    }
    try {
      if (statSync(file).isDirectory()) file = join(file, 'index.html');
      statSync(file);
    } catch {
      response.writeHead(404, { 'Content-Security-Policy': CSP }).end('not found');
      return;
    }
    response.writeHead(200, {
      'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
      'Content-Security-Policy': CSP,
      'Cache-Control': 'no-cache',
    });
    createReadStream(file).pipe(response);
  });
  return new Promise((resolvePromise) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      resolvePromise({ url: `http://127.0.0.1:${port}/`, stop: () => server.close() });
    });
  });
}
