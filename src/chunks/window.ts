/**
 * Compaction windows: two hours, aligned to multiples of two hours since the epoch (Prometheus' block
 * range). A window starting at s holds the samples with s ≤ t < s + WINDOW_MS.
 */

export const WINDOW_MS = 2 * 3_600_000;

/** Start of the window holding time `t`. */
export const windowStart = (t: number): number => Math.floor(t / WINDOW_MS) * WINDOW_MS;

/**
 * Where compacted data may end at `nowMs`: the start of the window after the last one whose every sample
 * is older than the settle horizon (ingest refuses samples older than `settleMs`), less a minute for
 * writes still in flight when the horizon passed.
 */
export function settledEnd(nowMs: number, settleMs: number): number {
  return windowStart(nowMs - settleMs - 60_000);
}
