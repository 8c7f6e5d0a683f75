// The trajectory chart's words: its caption, the line shown when there is no
// trajectory, and its readout rows. The numbers come from the module
// (session.trajectory(role): the teacher's spreads at its checkpoints, each run's at its
// read-backs, every spread's values at view.probs); nothing here draws.

/** The readout's grey for the teacher (its fan is drawn in translucent black). */
export const TEACHER_COLOUR = '#6b6b6b';

/** A weight value or std, short (3 significant digits). */
export function shortNumber(value) {
  if (value === null || value === undefined || !Number.isFinite(value)) return '–';
  return String(Number(value.toPrecision(3)));
}

/** Index of probability `p` in view.probs (they are exact: the module's constants). */
function at(view, p) {
  return view.probs.findIndex((q) => Math.abs(q - p) < 1e-12);
}

/** "step 64: 5–95 % −0.138 to 0.138, std 0.0843" (the init is "init"). */
export function spreadText(view, spread) {
  const where = spread.step === 0 ? 'init' : `step ${spread.step}`;
  const low = spread.values[at(view, 0.05)];
  const high = spread.values[at(view, 0.95)];
  return `${where}: 5–95 % ${shortNumber(low)} to ${shortNumber(high)}, std ${shortNumber(spread.std)}`;
}

/** The last spread of `points` at or before `step` (points are in step order), or null. */
export function spreadAt(points, step) {
  let found = null;
  for (const point of points) {
    if (point.step > step) break;
    found = point;
  }
  return found;
}

/**
 * The caption under the title: which role, which teacher and its steps, what the
 * colours are, and why one axis of updates done. `every`: steps between read-backs.
 */
export function trajectoryCaption(view, every) {
  const { teacher } = view;
  if (teacher.length === 0) {
    return `Role ${view.role}: the trajectory of ${view.source} has no role ${view.role}; only your runs are drawn.`;
  }
  const last = teacher.at(-1).step;
  return (
    `Role ${view.role}. Grey: ${view.source} at its ${teacher.length} checkpoints, steps 0 to ${last} of its training ` +
    `(median; 50, 90 and 98 % bands). Colours: your runs' 5 % and 95 % quantiles (1 % and 99 % faint), ` +
    `read every ${every} steps on up to ${view.sample.toLocaleString('en')} of the role's weights. ` +
    `One log axis of updates done: each run meets the teacher after as many updates.`
  );
}

/** The line shown in place of the chart when the chosen source has no trajectory. */
export function noTrajectoryText(source, entry) {
  if (!source) {
    return "No histogram source is chosen: pick one of histinit's teachers under \"Histogram source\" to see how its weights moved while it trained, next to your runs.";
  }
  if (typeof entry?.trajectory === 'string') {
    return `The training trajectory of '${entry.id}' could not be loaded (the messages above say why); the runs train all the same.`;
  }
  if (entry) {
    return `The source '${entry.id}' has no training trajectory (only histinit's own teachers ship one), so there is nothing to compare your runs with here.`;
  }
  return "A histogram from a URL or a file has no training trajectory; histinit's shipped teachers have one.";
}

/** The readout rows at `step`: the teacher, then each run (label, colour, text). */
export function trajectoryRows(view, step) {
  const rows = [];
  if (view.teacher.length) {
    const point = spreadAt(view.teacher, step);
    rows.push({ label: `${view.source} (teacher)`, colour: TEACHER_COLOUR, text: point ? spreadText(view, point) : 'no checkpoint yet' });
  }
  for (const run of view.runs) {
    const point = spreadAt(run.points, step);
    rows.push({ label: run.label, colour: run.colour, text: point ? spreadText(view, point) : 'not there yet' });
  }
  return rows;
}

/** The last step on the chart's axis: the teacher's end or the furthest read-back. */
export function trajectoryEnd(view) {
  const steps = [...view.teacher, ...view.runs.flatMap((run) => run.points)].map((point) => point.step);
  return steps.length ? Math.max(...steps) : 0;
}
