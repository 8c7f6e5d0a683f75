// The charts: drawn by the wasm module's Charts (plotters on the canvas) from the
// training worker's view, sized to the screen, with placeholders before a run and a PNG
// of the three main ones for export.

import { el } from './dom.js';

/** Matches the canvas's pixel size to its on-screen size (sharp on high-DPI screens). */
export function fitCanvas(canvas) {
  const ratio = window.devicePixelRatio || 1;
  const width = Math.max(1, Math.round(canvas.clientWidth * ratio));
  const height = Math.max(1, Math.round(canvas.clientHeight * ratio));
  if (canvas.width !== width || canvas.height !== height) {
    canvas.width = width;
    canvas.height = height;
  }
}

function placeholder(canvas, text) {
  fitCanvas(canvas);
  const context = canvas.getContext('2d');
  context.clearRect(0, 0, canvas.width, canvas.height);
  context.fillStyle = '#8a929c';
  context.font = `${Math.round(14 * (window.devicePixelRatio || 1))}px system-ui, sans-serif`;
  context.textAlign = 'center';
  context.textBaseline = 'middle';
  context.fillText(text, canvas.width / 2, canvas.height / 2);
}

/** `charts`: {loss, dist, grad, traj} canvases (a hidden one is left alone: it has no size). */
export function drawPlaceholders(charts) {
  placeholder(charts.loss, 'press Start: losses appear here');
  placeholder(charts.dist, 'weight distributions appear here');
  placeholder(charts.grad, 'gradient norms appear here');
  if (!charts.traj.hidden) placeholder(charts.traj, "press Start: the teacher's training and your runs appear here");
}

/**
 * Runs `draw` (a synchronous chart call into the wasm module) with style attributes
 * routed through the CSSOM. plotters measures text with a temporary
 * span.setAttribute('style', ...), which the page's CSP (style-src 'self') blocks, so the
 * measurement came out wrong and every label logged a violation; the same declarations
 * set as element.style.cssText are allowed. Only for the duration of the call.
 */
function withCssomStyles(draw) {
  const setAttribute = Element.prototype.setAttribute;
  Element.prototype.setAttribute = function setAttributeViaCssom(name, value) {
    if (String(name).toLowerCase() === 'style' && this instanceof HTMLElement) {
      this.style.cssText = String(value);
      return undefined;
    }
    return setAttribute.call(this, name, value);
  };
  try {
    return draw();
  } finally {
    Element.prototype.setAttribute = setAttribute;
  }
}

/** The loss chart alone (for the picture kept of an interrupted run); `charts`: a Charts. */
export function drawLoss(charts, canvas, logSteps) {
  fitCanvas(canvas);
  withCssomStyles(() => charts.draw_loss(canvas, logSteps));
}

/**
 * The charts of a view, in the order they are drawn: [part, canvas name in `charts`
 * ({loss, dist, grad, traj}), frame name, draw(data, canvas, options)]. The loss,
 * gradient and trajectory charts return where they put their data (a frame: what the
 * module's draw calls return, null before the first point). `options`: {logSteps, clock,
 * trajectory}: with a clock (seconds per update) the loss chart's x axis is time; the
 * trajectory chart is drawn when `trajectory` is true (the session has one).
 */
const CHART_PARTS = [
  ['loss', 'loss', 'loss', (data, canvas, options) => data.draw_loss(canvas, options.logSteps, options.clock ?? undefined)],
  ['grads', 'grad', 'grad', (data, canvas) => data.draw_grads(canvas)],
  // Until the first read-back this shows the weights as initialized.
  ['distribution', 'dist', null, (data, canvas) => data.draw_distribution(canvas)],
  ['trajectory', 'traj', 'traj', (data, canvas) => data.draw_trajectory(canvas)],
];

/** The parts of a redraw with `options` (the trajectory only where there is one). */
export function chartParts(options) {
  return CHART_PARTS.filter(([part]) => part !== 'trajectory' || options.trajectory);
}

/**
 * Draws one part of chartParts() from `data` (a Charts: the series of one view, for one
 * role); returns {part, ms, frameName, frame}. A chart that fails is logged and left as
 * it was (drawing is never worth stopping training for); a trap of the module is thrown.
 */
export function drawChart(data, charts, [part, canvasName, frameName, draw], options) {
  const from = performance.now();
  const canvas = charts[canvasName];
  let frame = null;
  try {
    fitCanvas(canvas);
    frame = withCssomStyles(() => draw(data, canvas, options)) ?? null;
  } catch (error) {
    if (error instanceof WebAssembly.RuntimeError) throw error; // the module trapped: the page reloads it
    console.warn('drawing failed', error);
  }
  return { part, ms: performance.now() - from, frameName, frame };
}

/** A canvas as a PNG blob (null if the browser cannot encode it). */
export function pngOf(canvas) {
  return new Promise((resolve) => canvas.toBlob(resolve, 'image/png'));
}

/** The three charts side by side in one PNG blob (loss, distribution, gradients). */
export function chartsPng(charts) {
  const list = [charts.loss, charts.dist, charts.grad];
  const gap = 8;
  const height = Math.max(...list.map((c) => c.height));
  const width = list.reduce((sum, c) => sum + c.width, 0) + gap * (list.length - 1);
  const canvas = el('canvas', { width, height });
  const context = canvas.getContext('2d');
  context.fillStyle = '#ffffff';
  context.fillRect(0, 0, width, height);
  let x = 0;
  for (const chart of list) {
    context.drawImage(chart, x, 0);
    x += chart.width + gap;
  }
  return pngOf(canvas);
}
