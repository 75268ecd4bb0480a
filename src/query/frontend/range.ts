/**
 * The evaluation grid of a range query and how the frontend may change it.
 *
 * Prometheus evaluates a range query at start, start + step, … up to end, so the grid's phase is
 * `start mod step`. Two normalisations follow:
 * - trimming `end` down to the last evaluated step never changes the answer (the same steps are evaluated,
 *   and `end()` in `@` is left anchored to the end that was asked for);
 * - moving `start` to a multiple of the step changes every evaluated timestamp unless it is one already,
 *   which is why Prometheus does not do it. Grafana already sends aligned ranges; for other clients it is an
 *   opt-in (PROMGATE_QUERY_ALIGN_STEP), as in Cortex and Mimir, where aligned ranges let refreshes of a
 *   moving dashboard share cached pieces.
 */

export interface Grid {
  startMs: number;
  endMs: number;
  stepMs: number;
}

/** Floor modulo: the grid phase of negative times (before 1970) counts the same way as positive ones. */
const mod = (a: number, n: number): number => ((a % n) + n) % n;

/** `end` → the last step the query evaluates. Never changes an answer. */
export function lastStep(g: Grid): Grid {
  return { ...g, endMs: g.startMs + Math.floor((g.endMs - g.startMs) / g.stepMs) * g.stepMs };
}

/** Opt-in alignment: start and end down to multiples of the step (Cortex' and Mimir's rule). */
export function alignToStep(g: Grid): Grid {
  return { ...g, startMs: g.startMs - mod(g.startMs, g.stepMs), endMs: g.endMs - mod(g.endMs, g.stepMs) };
}

/** The grid's phase: the cache keys carry it so grids with the same step but shifted never share pieces. */
export const phaseOf = (g: Grid): number => mod(g.startMs, g.stepMs);

/** One piece of a split range query: its first and last evaluated step, both on the query's grid. */
export interface Piece {
  /** The interval the piece lies in: pieces with the same index and grid are the same piece. */
  index: number;
  startMs: number;
  endMs: number;
}

/**
 * Splits the grid at multiples of `intervalMs` (UTC days for 1d), so that refreshes of a moving range share
 * their inner pieces. Each step belongs to exactly one piece: piece k holds the steps t with
 * k·interval ≤ t < (k+1)·interval. Steps are counted by index, not by adding the step to a time: near
 * Prometheus' boundary times (±9.2e18 ms) a millisecond step is below a double's resolution, and a loop
 * that added it would never end.
 */
export function splitGrid(g: Grid, intervalMs: number): Piece[] {
  const pieces: Piece[] = [];
  const steps = Math.floor((g.endMs - g.startMs) / g.stepMs);
  for (let k = 0; k <= steps; k++) {
    const t = g.startMs + k * g.stepMs;
    const index = Math.floor(t / intervalMs);
    const last = pieces[pieces.length - 1];
    if (last && last.index === index) last.endMs = t;
    else pieces.push({ index, startMs: t, endMs: t });
  }
  return pieces;
}
