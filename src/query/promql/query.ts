import { PromgateError } from "../../errors.js";
import type { CompiledMatcher } from "../matchers.js";
import type { ReadScope } from "../scope.js";
import { windowStart } from "../../chunks/window.js";
import { bucketsFromSamples } from "../storage/buckets-from-samples.js";
import { compactedUntil, type SettledReads, settledSamples } from "../storage/settled.js";
import type { Storage } from "../storage/storage.js";
import type { SeriesSamples } from "../storage/types.js";
import { wellFormed } from "../selector.js";
import { Annotations } from "./annotations.js";
import type { Expr } from "./ast.js";
import type { BucketRequest, BucketSeries } from "./pushdown.js";
import { checkDeadline } from "./deadline.js";
import { foldQueryFunctions, resolveDurations } from "./query-context.js";
import { DEFAULT_SUBQUERY_STEP_MS, Evaluator, type SampleSource, type SeriesData } from "./engine.js";
import { compareLabelSets, labelsByName } from "./order.js";
import { typeOf } from "./parse.js";
import { formatValue, type InstantSample, labelsKey, type Value } from "./values.js";
import { histogramJSON, type HistogramJSON } from "./histogram/json.js";
import { seriesSampleWeight } from "./histogram/float.js";

/** Instant and range queries → Prometheus' JSON `data` objects, with annotations, limit and stats. */

/** Prometheus refuses range queries with more than this many steps (end − start) / step. */
export const MAX_POINTS = 11_000;

export interface QueryOptions {
  /** The query text, for the positions in annotations. */
  query?: string;
  /** Epoch ms after which the query fails with a timeout (503). */
  deadline?: number;
  /** `limit`: at most this many series in the result (a warning says when some were cut). */
  limit?: number;
  /** `stats` given: add Prometheus' stats object. */
  stats?: boolean;
  /** Range queries: the range `start()` and `end()` refer to, when it is not the evaluated one (QueryWindow). */
  anchor?: { startMs: number; endMs: number };
}

export interface QueryOutcome {
  data: { resultType: string; result: unknown; stats?: QueryStats };
  warnings: string[];
  infos: string[];
}

/** Prometheus' stats.QueryStats (timings in seconds). */
export interface QueryStats {
  timings: {
    evalTotalTime: number;
    resultSortTime: number;
    queryPreparationTime: number;
    innerEvalTime: number;
    execQueueTime: number;
    execTotalTime: number;
  };
  samples: { totalQueryableSamples: number; peakSamples: number };
}

/**
 * The sample source of one query over Elasticsearch. With `chunks` (PROMGATE_CHUNKS), the settled part of
 * each range comes from the chunk index (storage/settled.ts), and pushdown over it is computed from those
 * samples (Elasticsearch cannot aggregate chunks); ranges that touch no compacted window read as without.
 */
export function storageSource(storage: Storage, scope: ReadScope, maxSamples: number, deadline = Infinity, chunks?: SettledReads): SampleSource {
  const budget = { left: maxSamples };
  let compacted: Promise<number> | undefined;
  /** End of the compacted windows in scope, looked up once per query; −∞ without chunks. */
  const until = () => (chunks ? (compacted ??= compactedUntil(storage, chunks, scope)) : Promise.resolve(-Infinity));
  const load = async (matchers: CompiledMatcher[], range: { startMs: number; endMs: number }, settled: number): Promise<SeriesSamples[]> => {
    if (chunks && windowStart(range.startMs) < settled) return settledSamples(storage, chunks, scope, matchers, range, budget.left, settled);
    return storage.snapshot(scope, async (at) => storage.samples(at, matchers, range, await storage.series(at, matchers, range), budget.left));
  };
  return {
    async select(matchers: CompiledMatcher[], startMs: number, endMs: number): Promise<SeriesData[]> {
      checkDeadline(deadline, "query preparation");
      const loaded = await load(matchers, { startMs, endMs }, await until());
      for (const s of loaded) budget.left -= seriesSampleWeight(s.timestamps, s.histograms);
      // Selectors load concurrently, each within what was left when it started: check the total too.
      if (budget.left < 0) throw new PromgateError("unprocessable", "query would load more samples than maxQuerySamples allows; narrow the selector or time range");
      // Series in label order, as Prometheus' blocks return them (its in-memory head keeps creation order):
      // results that depend on input order (last bits of sums, limitk, ties in topk) are then stable.
      return loaded
        .map((s) => ({ labels: s.labels, ts: s.timestamps, vs: s.values, stale: s.stale, ...(s.histograms ? { hs: s.histograms } : {}) }))
        .sort((a, b) => compareLabelSets(a.labels, b.labels));
    },
    /** Pushdown (pushdown.ts): each bucket counts as one sample against the budget. */
    async selectBuckets(matchers: CompiledMatcher[], startMs: number, endMs: number, req: BucketRequest): Promise<BucketSeries[]> {
      const range = { startMs, endMs };
      const settled = await until();
      let loaded: BucketSeries[];
      if (chunks && windowStart(startMs) < settled) {
        const samples = await settledSamples(storage, chunks, scope, matchers, range, budget.left, settled);
        loaded = bucketsFromSamples(samples, req).sort((a, b) => compareLabelSets(a.labels, b.labels));
      } else loaded = await storage.snapshot(scope, async (at) => storage.buckets(at, matchers, range, await storage.series(at, matchers, range), req, budget.left));
      for (const s of loaded) budget.left -= s.ends.length;
      if (budget.left < 0) throw new PromgateError("unprocessable", "query would load more samples than maxQuerySamples allows; narrow the selector or time range");
      return loaded;
    },
  };
}

/** Counts the samples each selector loaded (the stats' totalQueryableSamples). */
function counting(source: SampleSource): { source: SampleSource; count: () => number } {
  let n = 0;
  return {
    source: {
      async select(matchers, startMs, endMs) {
        const data = await source.select(matchers, startMs, endMs);
        for (const s of data) n += seriesSampleWeight(s.ts, s.hs);
        return data;
      },
      // Pushdown stays available through the count (buckets are not samples: not counted).
      ...(source.selectBuckets ? { selectBuckets: source.selectBuckets.bind(source) } : {}),
      ...(source.typeAndUnitLabels ? { typeAndUnitLabels: true } : {}),
    },
    count: () => n,
  };
}

const sec = (ms: number) => ms / 1000;

class Clock {
  private readonly t0 = performance.now();
  private last = this.t0;
  lap(): number {
    const now = performance.now();
    const d = (now - this.last) / 1000;
    this.last = now;
    return d;
  }
  total(): number {
    return (performance.now() - this.t0) / 1000;
  }
}

function stats(prep: number, inner: number, sort: number, total: number, samples: number): QueryStats {
  return {
    timings: { evalTotalTime: prep + inner + sort, resultSortTime: sort, queryPreparationTime: prep, innerEvalTime: inner, execQueueTime: 0, execTotalTime: total },
    // Every loaded sample is in memory for the whole evaluation, so the peak is the total.
    samples: { totalQueryableSamples: samples, peakSamples: samples },
  };
}

function truncate<T>(result: T[], limit: number | undefined, annotations: string[]): T[] {
  if (limit === undefined || result.length <= limit) return result;
  annotations.push("results truncated due to limit");
  return result.slice(0, limit);
}

export async function instantQuery(expr: Expr, timeMs: number, source: SampleSource, opts: QueryOptions = {}): Promise<QueryOutcome> {
  // An instant query's step() and range() are 0, as in Prometheus.
  expr = foldQueryFunctions(expr, { startMs: timeMs, endMs: timeMs, stepMs: 0 });
  resolveDurations(expr, { stepMs: 0, rangeMs: 0 });
  const clock = new Clock();
  const annotations = new Annotations(opts.query ?? "");
  const ev = new Evaluator({ startMs: timeMs, endMs: timeMs, stepMs: 0 }, DEFAULT_SUBQUERY_STEP_MS, { annotations, deadline: opts.deadline ?? Infinity });
  const counted = counting(source);
  await ev.load(expr, counted.source);
  const prep = clock.lap();
  checkDeadline(opts.deadline ?? Infinity);
  const value = ev.eval(expr, timeMs);
  const inner = clock.lap();
  const warnings = annotations.warnings;
  const data: QueryOutcome["data"] = render(value, timeMs, opts.limit, warnings);
  if (opts.stats) data.stats = stats(prep, inner, 0, clock.total(), counted.count());
  return { data, warnings, infos: annotations.infos };
}

function render(v: Value, timeMs: number, limit: number | undefined, warnings: string[]): { resultType: string; result: unknown } {
  switch (v.type) {
    case "scalar":
      return { resultType: "scalar", result: [sec(timeMs), formatValue(v.v)] };
    case "string":
      return { resultType: "string", result: [sec(timeMs), wellFormed(v.v)] };
    case "vector":
      return { resultType: "vector", result: truncate(v.v, limit, warnings).map((s) => instantJSON(s, timeMs)) };
    case "matrix":
      // Prometheus writes `values` only for series with float points and `histograms` only for those with
      // histogram points (util/jsonutil, web/api/v1/json_codec.go).
      return {
        resultType: "matrix",
        result: truncate(v.v, limit, warnings).map((s) => ({
          metric: labelsByName(s.labels),
          ...(s.ts.length > 0 ? { values: s.ts.map((t, i) => [sec(t), formatValue(s.vs[i]!)]) } : {}),
          ...(s.hts?.length ? { histograms: s.hts.map((t, i) => [sec(t), histogramJSON(s.hs![i]!)]) } : {}),
        })),
      };
  }
}

/** One sample of an instant vector: `value` for a float, `histogram` for a native histogram. */
function instantJSON(s: InstantSample, timeMs: number): { metric: Record<string, string>; value?: [number, string]; histogram?: [number, HistogramJSON] } {
  if (s.h) return { metric: labelsByName(s.labels), histogram: [sec(timeMs), histogramJSON(s.h)] };
  return { metric: labelsByName(s.labels), value: [sec(timeMs), formatValue(s.value)] };
}

/** Checks Prometheus makes before a range query runs (bad_data). */
export function checkRange(expr: Expr, startMs: number, endMs: number, stepMs: number): void {
  const t = typeOf(expr);
  if (t !== "vector" && t !== "scalar") {
    throw new PromgateError("invalid", `invalid expression type "${t === "matrix" ? "range vector" : t}" for range query, must be Scalar or instant Vector`);
  }
  if (Math.floor((endMs - startMs) / stepMs) > MAX_POINTS) {
    throw new PromgateError("invalid", "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)");
  }
}

/** A range query's series with only histogram points has no `values` field (as Prometheus writes it). */
function dropEmptyValues<T extends { values: unknown[]; histograms?: unknown[] }>(s: T): T | Omit<T, "values"> {
  if (s.values.length > 0 || !s.histograms) return s;
  const { values: _, ...rest } = s;
  return rest;
}

/** What answers a range query once its parameters are checked: rangeQuery itself, or the query frontend. */
export type RangeRunner = (expr: Expr, startMs: number, endMs: number, stepMs: number, source: SampleSource, opts: QueryOptions) => Promise<QueryOutcome>;

export async function rangeQuery(expr: Expr, startMs: number, endMs: number, stepMs: number, source: SampleSource, opts: QueryOptions = {}): Promise<QueryOutcome> {
  checkRange(expr, startMs, endMs, stepMs);
  // start(), end(), range() are the whole query's, also when a frontend evaluates a piece of it (the anchor).
  const whole = opts.anchor ?? { startMs, endMs };
  expr = foldQueryFunctions(expr, { ...whole, stepMs });
  resolveDurations(expr, { stepMs, rangeMs: whole.endMs - whole.startMs });
  const clock = new Clock();
  const deadline = opts.deadline ?? Infinity;
  const annotations = new Annotations(opts.query ?? "");
  // Subqueries without a step use the default evaluation interval, as in instant queries: Prometheus takes
  // its global evaluation_interval, never the range query's step.
  const ev = new Evaluator({ startMs, endMs, stepMs, ...(opts.anchor ? { anchor: opts.anchor } : {}) }, DEFAULT_SUBQUERY_STEP_MS, { annotations, deadline });
  const counted = counting(source);
  await ev.load(expr, counted.source);
  const prep = clock.lap();
  const series = new Map<string, { metric: Record<string, string>; values: [number, string][]; histograms?: [number, HistogramJSON][] }>();
  for (let ts = startMs; ts <= endMs; ts += stepMs) {
    checkDeadline(deadline);
    const v = ev.eval(expr, ts);
    const samples = v.type === "scalar" ? [{ labels: {}, value: v.v }] : v.type === "vector" ? v.v : [];
    for (const s of samples) {
      const k = labelsKey(s.labels);
      let r = series.get(k);
      if (!r) series.set(k, (r = { metric: labelsByName(s.labels), values: [] }));
      if ("h" in s && s.h) (r.histograms ??= []).push([sec(ts), histogramJSON(s.h)]);
      else r.values.push([sec(ts), formatValue(s.value)]);
    }
  }
  const inner = clock.lap();
  const sorted = [...series.values()].map(dropEmptyValues).sort((a, b) => compareLabelSets(a.metric, b.metric));
  const sort = clock.lap();
  const warnings = annotations.warnings;
  const data: QueryOutcome["data"] = { resultType: "matrix", result: truncate(sorted, opts.limit, warnings) };
  if (opts.stats) data.stats = stats(prep, inner, sort, clock.total(), counted.count());
  return { data, warnings, infos: annotations.infos };
}
