// Reading the curves: hover or keyboard focus on a chart shows the step (and the time)
// and each run's values at that step, as text beside the chart. The chart's own frame
// (returned by the module's draw call: the plotted ranges and the pixels plotters drew
// them at) turns a pointer position back into an x value, so nothing of the chart's
// layout is repeated here.

import { clear, el, formatNumber } from './dom.js';

/** The x value at canvas pixel column `px` (clamped to the plotted range). */
export function xAtPixel(frame, px) {
  const span = frame.px_max - frame.px_min;
  const f = Math.min(1, Math.max(0, span === 0 ? 0 : (px - frame.px_min) / span));
  if (frame.log_x) return Math.exp(Math.log(frame.x_min) + f * (Math.log(frame.x_max) - Math.log(frame.x_min)));
  return frame.x_min + f * (frame.x_max - frame.x_min);
}

/** The canvas pixel column of the x value `x` (the inverse of xAtPixel). */
export function pixelAtX(frame, x) {
  const f = frame.log_x
    ? (Math.log(x) - Math.log(frame.x_min)) / (Math.log(frame.x_max) - Math.log(frame.x_min))
    : (x - frame.x_min) / (frame.x_max - frame.x_min);
  return frame.px_min + f * (frame.px_max - frame.px_min);
}

/** The step (updates done, from 1) whose clock time is nearest `seconds`. */
export function stepAtTime(clock, seconds) {
  let low = 0;
  let high = clock.length - 1;
  if (high < 0) return 0;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (clock[mid] < seconds) low = mid + 1;
    else high = mid;
  }
  if (low > 0 && Math.abs(clock[low - 1] - seconds) <= Math.abs(clock[low] - seconds)) low -= 1;
  return low + 1;
}

/** Seconds as a short text ("4.2 s", "3 min 05 s"). */
export function formatSeconds(seconds) {
  if (!Number.isFinite(seconds)) return '–';
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes} min ${String(Math.floor(seconds % 60)).padStart(2, '0')} s`;
}

/**
 * Makes `canvas` readable: pointer moves and the arrow keys pick a step, `box` shows it.
 * `source()` gives {frame, axis: 'step' | 'time', clock, steps, rows(step)} for the chart
 * as last drawn, where rows(step) is [{label, colour, text}] and steps is the last step
 * any run has. Returns {refresh(), step()}: refresh redraws the readout after new data.
 */
export function attachReadout({ canvas, box, cursor, name, source }) {
  let step = 0; // 0: nothing picked
  let pointer = false;

  canvas.tabIndex = 0;
  canvas.setAttribute('role', 'slider');
  canvas.setAttribute('aria-label', `${name}: the arrow keys read each step's values`);
  canvas.setAttribute('aria-valuemin', '0');
  canvas.setAttribute('aria-valuemax', '0');
  canvas.setAttribute('aria-valuenow', '0');
  canvas.setAttribute('aria-valuetext', 'no data yet');

  function show() {
    const data = source();
    clear(box);
    if (!step || !data.frame || data.steps === 0) {
      box.append(el('span', { className: 'readout-hint', textContent: `Hover over the chart, or focus it and use the arrow keys, to read each run's values.` }));
      cursor.hidden = true;
      canvas.setAttribute('aria-valuenow', '0');
      canvas.setAttribute('aria-valuetext', 'no step picked');
      return;
    }
    step = Math.min(Math.max(1, step), data.steps);
    const seconds = data.clock[step - 1];
    const head = `step ${step}${Number.isFinite(seconds) ? ` · ${formatSeconds(seconds)}` : ''}`;
    const rows = data.rows(step);
    box.append(el('span', { className: 'readout-step', textContent: head }));
    const list = el('ul', {});
    for (const row of rows) {
      const swatch = el('span', { className: 'swatch' });
      swatch.style.backgroundColor = row.colour; // CSSOM, allowed by the CSP
      list.append(el('li', {}, [swatch, `${row.label}: ${row.text}`]));
    }
    box.append(list);
    canvas.setAttribute('aria-valuemax', String(data.steps));
    canvas.setAttribute('aria-valuenow', String(step));
    canvas.setAttribute('aria-valuetext', `${head}; ${rows.map((row) => `${row.label}: ${row.text}`).join('; ')}`);
    // A thin line at the step, over the canvas (positioned in CSS pixels).
    const x = data.axis === 'time' ? seconds : step;
    const px = Number.isFinite(x) ? pixelAtX(data.frame, x) : NaN;
    if (Number.isFinite(px) && canvas.width > 0) {
      const scale = canvas.clientWidth / canvas.width;
      cursor.style.left = `${canvas.offsetLeft + canvas.clientLeft + px * scale}px`;
      cursor.style.top = `${canvas.offsetTop + canvas.clientTop + data.frame.py_max * scale}px`;
      cursor.style.height = `${(data.frame.py_min - data.frame.py_max) * scale}px`;
      cursor.hidden = false;
    } else {
      cursor.hidden = true;
    }
  }

  function stepAtPointer(event) {
    const data = source();
    if (!data.frame || data.steps === 0) return 0;
    const px = (event.offsetX * canvas.width) / Math.max(1, canvas.clientWidth);
    const x = xAtPixel(data.frame, px);
    return data.axis === 'time' ? stepAtTime(data.clock, x) : Math.round(x);
  }

  canvas.addEventListener('pointermove', (event) => {
    pointer = true;
    step = stepAtPointer(event);
    show();
  });
  canvas.addEventListener('pointerleave', () => {
    pointer = false;
    if (document.activeElement !== canvas) step = 0;
    show();
  });
  canvas.addEventListener('focus', () => {
    if (!step) step = source().steps;
    show();
  });
  canvas.addEventListener('blur', () => {
    if (!pointer) step = 0;
    show();
  });
  canvas.addEventListener('keydown', (event) => {
    const { steps } = source();
    if (!steps) return;
    const big = Math.max(1, Math.round(steps / 10));
    const moves = {
      ArrowLeft: -1, ArrowDown: -1, ArrowRight: 1, ArrowUp: 1, PageDown: -big, PageUp: big,
    };
    if (event.key in moves) step = (step || steps) + moves[event.key];
    else if (event.key === 'Home') step = 1;
    else if (event.key === 'End') step = steps;
    else if (event.key === 'Escape') step = 0;
    else return;
    event.preventDefault();
    show();
  });
  show();
  return {
    refresh: show,
    step: () => step,
  };
}

/** Loss values of one run at `step` (1-based): the raw training loss and the latest validation loss. */
export function lossText(history, step) {
  const entry = history[step - 1];
  if (!entry) return 'not there yet';
  let val = null;
  let valStep = 0;
  for (let i = step - 1; i >= 0; i -= 1) {
    if (history[i].val_loss != null) {
      val = history[i].val_loss;
      valStep = i + 1;
      break;
    }
  }
  const valText = val == null ? 'no val yet' : `val ${formatNumber(val, 4)}${valStep === step ? '' : ` (step ${valStep})`}`;
  return `train ${formatNumber(entry.train_loss, 4)}, ${valText}`;
}

/** The gradient norm of one run at `step`. */
export function gradText(history, step) {
  const entry = history[step - 1];
  return entry ? `grad norm ${formatNumber(entry.grad_norm, 4)}` : 'not there yet';
}
