import type { HistogramJSON } from "../promql/histogram/json.js";
import { compareLabelSets } from "../promql/order.js";

/**
 * The matrix of a range query's answer, in Prometheus' JSON form, and the three things the frontend does
 * with it: take one piece's series apart, cut a cached piece to the steps asked for, and put pieces back
 * together exactly as one evaluation of the whole range would have written them.
 */

export interface MatrixSeries {
  metric: Record<string, string>;
  values?: [number, string][];
  histograms?: [number, HistogramJSON][];
}

/** One piece's answer: its series (sorted, as rangeQuery writes them) and annotations. */
export interface PieceAnswer {
  result: MatrixSeries[];
  warnings: string[];
  infos: string[];
}

const seriesKey = (metric: Record<string, string>): string => JSON.stringify(Object.entries(metric).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

/**
 * The answer's series, as rangeQuery writes them: float points in `values`, histogram points in
 * `histograms`, and no `values` field on a series that has only histogram points.
 */
function written(metric: Record<string, string>, values: [number, string][], histograms: [number, HistogramJSON][]): MatrixSeries {
  if (values.length === 0 && histograms.length > 0) return { metric, histograms };
  return { metric, values, ...(histograms.length > 0 ? { histograms } : {}) };
}

/**
 * The pieces' series concatenated in time order (pieces are given in time order and never share a step),
 * sorted by labels as the engine sorts them. Annotations are deduplicated in order of first appearance,
 * as one evaluation collects them.
 */
export function concatPieces(pieces: PieceAnswer[]): PieceAnswer {
  const byKey = new Map<string, { metric: Record<string, string>; values: [number, string][]; histograms: [number, HistogramJSON][] }>();
  for (const p of pieces) {
    for (const s of p.result) {
      const k = seriesKey(s.metric);
      let r = byKey.get(k);
      if (!r) byKey.set(k, (r = { metric: s.metric, values: [], histograms: [] }));
      if (s.values) r.values.push(...s.values);
      if (s.histograms) r.histograms.push(...s.histograms);
    }
  }
  const result = [...byKey.values()].map((r) => written(r.metric, r.values, r.histograms)).sort((a, b) => compareLabelSets(a.metric, b.metric));
  return { result, warnings: union(pieces.map((p) => p.warnings)), infos: union(pieces.map((p) => p.infos)) };
}

function union(lists: string[][]): string[] {
  return [...new Set(lists.flat())];
}

/**
 * The steps of a stored piece within [startMs, endMs]; series without a point there are left out, as an
 * evaluation of only those steps would leave them out. Timestamps are compared as the answer writes them
 * (seconds = ms / 1000), on the same grid, so the cut is exact.
 */
export function slicePiece(result: MatrixSeries[], startMs: number, endMs: number): MatrixSeries[] {
  const lo = startMs / 1000;
  const hi = endMs / 1000;
  const inside = <T extends [number, unknown]>(points: T[] | undefined): T[] => (points ?? []).filter(([t]) => t >= lo && t <= hi);
  const out: MatrixSeries[] = [];
  for (const s of result) {
    const values = inside(s.values);
    const histograms = inside(s.histograms);
    if (values.length > 0 || histograms.length > 0) out.push(written(s.metric, values, histograms));
  }
  return out;
}
