import { HttpError } from "../../http/errors.js";
import type { CompiledMatcher } from "../matchers.js";
import type { ReadScope } from "../scope.js";
import type { Storage } from "../storage.js";
import type { Expr } from "./ast.js";
import { DEFAULT_SUBQUERY_STEP_MS, Evaluator, type SampleSource, type SeriesData } from "./engine.js";
import { typeOf } from "./parse.js";
import { formatValue, labelsKey, type Value } from "./values.js";

/** Instant and range queries → Prometheus' JSON `data` objects. */

/** Prometheus refuses range queries with more points per series than this. */
export const MAX_POINTS = 11_000;

export function storageSource(storage: Storage, scope: ReadScope, maxSamples: number): SampleSource {
  const budget = { left: maxSamples };
  return {
    async select(matchers: CompiledMatcher[], startMs: number, endMs: number): Promise<SeriesData[]> {
      const range = { startMs, endMs };
      const series = await storage.series(scope, matchers, range);
      const loaded = await storage.samples(scope, matchers, range, series, budget.left);
      for (const s of loaded) budget.left -= s.timestamps.length;
      return loaded.map((s) => ({ labels: s.labels, ts: s.timestamps, vs: s.values, stale: s.stale }));
    },
  };
}

const sec = (ms: number) => ms / 1000;

export async function instantQuery(expr: Expr, timeMs: number, source: SampleSource): Promise<{ resultType: string; result: unknown }> {
  const ev = new Evaluator({ startMs: timeMs, endMs: timeMs, stepMs: 0 }, DEFAULT_SUBQUERY_STEP_MS);
  await ev.load(expr, source);
  return render(ev.eval(expr, timeMs), timeMs);
}

function render(v: Value, timeMs: number): { resultType: string; result: unknown } {
  switch (v.type) {
    case "scalar":
      return { resultType: "scalar", result: [sec(timeMs), formatValue(v.v)] };
    case "string":
      return { resultType: "string", result: [sec(timeMs), v.v] };
    case "vector":
      return { resultType: "vector", result: v.v.map((s) => ({ metric: s.labels, value: [sec(timeMs), formatValue(s.value)] })) };
    case "matrix":
      return {
        resultType: "matrix",
        result: v.v.map((s) => ({ metric: s.labels, values: s.ts.map((t, i) => [sec(t), formatValue(s.vs[i]!)]) })),
      };
  }
}

export async function rangeQuery(expr: Expr, startMs: number, endMs: number, stepMs: number, source: SampleSource): Promise<{ resultType: string; result: unknown }> {
  const t = typeOf(expr);
  if (t !== "vector" && t !== "scalar") {
    throw new HttpError(400, `invalid expression type "${t === "matrix" ? "range vector" : t}" for range query, must be Scalar or instant Vector`);
  }
  if (Math.floor((endMs - startMs) / stepMs) + 1 > MAX_POINTS) {
    throw new HttpError(400, "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)");
  }
  // Subqueries inside a range query default to the query's step.
  const ev = new Evaluator({ startMs, endMs, stepMs }, stepMs);
  await ev.load(expr, source);
  const series = new Map<string, { metric: Record<string, string>; values: [number, string][] }>();
  for (let ts = startMs; ts <= endMs; ts += stepMs) {
    const v = ev.eval(expr, ts);
    const samples = v.type === "scalar" ? [{ labels: {}, value: v.v }] : v.type === "vector" ? v.v : [];
    for (const s of samples) {
      const k = labelsKey(s.labels);
      let r = series.get(k);
      if (!r) series.set(k, (r = { metric: s.labels, values: [] }));
      r.values.push([sec(ts), formatValue(s.value)]);
    }
  }
  const result = [...series.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, s]) => s);
  return { resultType: "matrix", result };
}
