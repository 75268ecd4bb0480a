import { beforeAll, describe, expect, it } from "vitest";
import { createApp, defaultDeps } from "../../src/app.js";
import { type CompiledMatcher } from "../../src/query/matchers.js";
import { DEFAULT_SUBQUERY_STEP_MS, Evaluator, type SampleSource } from "../../src/query/promql/engine.js";
import { parsePromQL } from "../../src/query/promql/parse.js";
import { storageSource } from "../../src/query/promql/query.js";
import { formatValue, labelsKey, type Value } from "../../src/query/promql/values.js";
import { readScope } from "../../src/query/scope.js";
import { Storage } from "../../src/query/storage/storage.js";
import { basic, PRW1_HEADERS } from "../helpers/config.js";
import { countDocs, integrationConfig, uniquePart } from "../helpers/es.js";
import { type SeriesSpec, writeBody } from "../helpers/payload.js";

/**
 * Every pushed-down plan gives exactly the unpushed result: the same queries evaluated from Elasticsearch
 * bucket statistics and from raw samples, over series with gaps, stale markers, NaN, ±Inf and counter
 * resets, at steps and ranges whose buckets are the whole range, a part of it, or one scrape interval.
 */

const config = integrationConfig();
const app = createApp(config, defaultDeps());
const DEV = basic("dev", "promgate-dev");
const ns = uniquePart("pushdown");
const MIN = 60_000;
// Inside the TSDS look-back window (2 h), on no particular grid.
const T0 = Math.floor((Date.now() - 100 * MIN) / 1000) * 1000 + 137;
const END = T0 + 90 * MIN;

function rng(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x / 2 ** 32;
  };
}

/** Irregular scrapes (5–40 s apart), gaps of several minutes, and the special values. */
function series(labels: Record<string, string>, seed: number, withStale = true): SeriesSpec {
  const rand = rng(seed);
  const samples: SeriesSpec["samples"] = [];
  let t = T0 + Math.floor(rand() * 20_000);
  let counter = 0;
  while (t < END) {
    const r = rand();
    if (r < 0.03 && withStale) samples.push([t, "stale"]);
    else if (r < 0.05) samples.push([t, Number.NaN]);
    else if (r < 0.06) samples.push([t, Infinity]);
    else if (r < 0.07) samples.push([t, -Infinity]);
    else if (r < 0.1) samples.push([t, (counter = Math.floor(rand() * 5))]); // counter reset
    else samples.push([t, (counter += Math.floor(rand() * 100) / 4)]);
    t += rand() < 0.02 ? 4 * MIN + Math.floor(rand() * 6 * MIN) : 5_000 + Math.floor(rand() * 35_000);
  }
  return { labels, samples };
}

/** A sample every 15 s from `from`: every window start and end of the queries below falls on one. */
function edge(instance: string, from: number): SeriesSpec {
  const samples: SeriesSpec["samples"] = [];
  for (let t = from, i = 0; t < END; t += 15_000, i++) samples.push([t, i % 17 === 5 ? "stale" : i % 13 === 3 ? Number.NaN : (i * 7919) % 1000]);
  return { labels: { __name__: "pd_a", job: "edge", instance }, samples };
}

const SERIES: SeriesSpec[] = [
  ...Array.from({ length: 6 }, (_, i) => series({ __name__: "pd_a", job: `j${i % 2}`, instance: `i${i}` }, i + 1)),
  ...Array.from({ length: 3 }, (_, i) => series({ __name__: "pd_b", job: "j0", instance: `b${i}` }, i + 100)),
  // No stale markers at all (presence then needs no latest-sample times).
  ...Array.from({ length: 4 }, (_, i) => series({ __name__: "pd_c", job: `j${i % 2}`, instance: `c${i}` }, i + 200, false)),
  // Samples exactly on window boundaries (the windows are left-open): on both grids the queries use.
  edge("e1", T0 + 5 * MIN + 3_001),
  edge("e2", T0),
  // Only NaN: min/max must be NaN, counts must count them.
  { labels: { __name__: "pd_a", job: "nan", instance: "n" }, samples: Array.from({ length: 40 }, (_, i) => [T0 + i * 30_000, Number.NaN] as [number, number]) },
];

const storage = new Storage(config, defaultDeps().fetch);
const scope = readScope(config.tenants.find((t) => t.id === "dev")!, { kind: "parts", dataset: "itpush", namespace: ns });

/** storageSource, recording whether bucket statistics were asked for. */
function pushingSource(): SampleSource & { bucketCalls: number } {
  const src = storageSource(storage, scope, 5_000_000);
  const out = {
    bucketCalls: 0,
    select: (m: CompiledMatcher[], s: number, e: number) => src.select(m, s, e),
    selectBuckets: (...args: Parameters<NonNullable<SampleSource["selectBuckets"]>>) => {
      out.bucketCalls++;
      return src.selectBuckets!(...args);
    },
  };
  return out;
}

/** The same storage without aggregations: the engine evaluates raw samples. */
function rawSource(): SampleSource {
  const src = storageSource(storage, scope, 5_000_000);
  return { select: (m, s, e) => src.select(m, s, e) };
}

/** A range query's result as Prometheus renders it (label set → [time, formatted value] per step). */
async function run(query: string, start: number, end: number, step: number, source: SampleSource) {
  const expr = parsePromQL(query);
  const ev = new Evaluator({ startMs: start, endMs: end, stepMs: step }, step || DEFAULT_SUBQUERY_STEP_MS);
  await ev.load(expr, source);
  const out: Record<string, [number, string][]> = {};
  for (let t = start; t <= end; t += step || 1) {
    const v: Value = ev.eval(expr, t);
    for (const s of v.type === "vector" ? v.v : []) (out[labelsKey(s.labels)] ??= []).push([t, formatValue(s.value)]);
  }
  return { out, notes: ev.pushdownNotes };
}

beforeAll(async () => {
  const res = await app.request(`/metrics/itpush/${ns}/api/v1/write`, { method: "POST", body: writeBody(SERIES), headers: { ...PRW1_HEADERS, authorization: DEV } });
  expect(res.status).toBe(204);
  expect(await countDocs(`metrics-itpush.prometheus-${ns}`)).toBe(SERIES.reduce((n, s) => n + s.samples.length, 0));
});

const FUNCS = ["count_over_time", "present_over_time", "min_over_time", "max_over_time"];
// [range, step]: buckets = the whole range, gcd(step, range) < both, one bucket per typical scrape, a step
// longer than the range (windows with gaps between them), an instant query.
const SHAPES: [string, number][] = [
  ["5m", 5 * MIN],
  ["5m", 2 * MIN],
  ["3m", 7 * MIN],
  ["10m", 3 * MIN],
  ["1m", 10 * MIN],
  ["7m", 0],
];

describe("pushdown gives exactly the unpushed result", () => {
  for (const f of FUNCS) {
    it.each(SHAPES)(`${f}(pd_a[%s]) at step %i ms`, async (range, step) => {
      const query = `${f}(pd_a[${range}])`;
      const [start, end] = step === 0 ? [T0 + 47 * MIN + 11, T0 + 47 * MIN + 11] : [T0 + 5 * MIN + 3_001, END + 3 * MIN];
      const src = pushingSource();
      const pushed = await run(query, start, end, step, src);
      const raw = await run(query, start, end, step, rawSource());
      expect(src.bucketCalls).toBe(1);
      const rangeMs = Number(range.slice(0, -1)) * MIN;
      const gcd = (x: number, y: number): number => (y === 0 ? x : gcd(y, x % y));
      expect(pushed.notes).toEqual([`${f}() pushed down: ${step === 0 ? rangeMs : gcd(step, rangeMs)} ms buckets`]);
      expect(Object.keys(raw.out).length).toBeGreaterThan(0);
      expect(pushed.out).toEqual(raw.out);
    });
  }

  it.each([
    "sum by (job) (count_over_time(pd_a[5m]))",
    "max_over_time(pd_a[5m] offset 7m)",
    "min_over_time(pd_a[10m] @ end())",
    "count_over_time({__name__=~\"pd_.*\"}[4m])",
    "max_over_time(pd_b[5m]) - min_over_time(pd_b[5m])",
    "count_over_time(pd_a{job=\"nan\"}[2m])",
    // A regex Elasticsearch cannot evaluate exactly (\b): buckets come from the flat composite, post-filtered.
    "max_over_time(pd_a{instance=~\"i\\\\d\\\\b\"}[5m])",
    "count by (job) (pd_a{instance=~\"i\\\\d\\\\b\"})",
    "min_over_time(pd_a{job=\"nan\"}[2m])",
  ])("%s", async (query) => {
    const [start, end, step] = [T0 + 12 * MIN, END, MIN];
    const src = pushingSource();
    const pushed = await run(query, start, end, step, src);
    const raw = await run(query, start, end, step, rawSource());
    expect(src.bucketCalls).toBeGreaterThan(0);
    expect(Object.keys(raw.out).length).toBeGreaterThan(0);
    expect(pushed.out).toEqual(raw.out);
  });
});

describe("count and group of an instant selector use presence from buckets, exactly", () => {
  const queries = ["count by (job) (pd_a)", "group by (instance) (pd_a)", "count((pd_a))", "count(pd_a offset 3m)", "count without (instance) ({__name__=~\"pd_.*\"})", "count(pd_a @ end())", "count by (job) (pd_c)"];
  for (const query of queries) {
    it.each([5 * MIN, 2 * MIN, 7 * MIN, 0])(`${query} at step %i ms`, async (step) => {
      const [start, end] = step === 0 ? [T0 + 47 * MIN + 11, T0 + 47 * MIN + 11] : [T0 + 5 * MIN + 3_001, END + 3 * MIN];
      const src = pushingSource();
      const pushed = await run(query, start, end, step, src);
      const raw = await run(query, start, end, step, rawSource());
      expect(src.bucketCalls).toBe(1);
      expect(pushed.notes.join()).toMatch(/pushed down: presence from \d+ ms buckets/);
      expect(Object.keys(raw.out).length).toBeGreaterThan(0);
      expect(pushed.out).toEqual(raw.out);
    });
  }

  it("a stale marker as the latest sample ends the series at once", async () => {
    // e1 has a stale marker at every 17th sample from T0 + 5m + 3.001 s on its 15 s grid (i = 5, 22, …).
    const t = T0 + 5 * MIN + 3_001 + 5 * 15_000;
    const q = 'count(pd_a{instance="e1"})';
    const at = async (time: number) => (await run(q, time, time, 0, pushingSource())).out;
    expect(await at(t)).toEqual({});
    expect(await at(t - 15_000)).toEqual({ "[]": [[t - 15_000, "1"]] });
    expect(await at(t + 15_000)).toEqual({ "[]": [[t + 15_000, "1"]] });
  });
});

describe("the planner says what it did not push down, and why", () => {
  it.each([
    ["rate(pd_a[5m])", "rate() not pushed down: needs the samples in order (counter resets, extrapolation)"],
    ["sum_over_time(pd_a[5m])", "sum_over_time() not pushed down: floating-point sums depend on the order of the additions"],
    ["max_over_time(count_over_time(pd_a[1m])[5m:1m])", "max_over_time() not pushed down: its argument is not a range selector"],
    ["last_over_time(pd_a[5m])", "last_over_time() not pushed down: no core aggregation gives the value at a bucket's latest timestamp"],
  ])("%s", async (query, note) => {
    const src = pushingSource();
    const { notes } = await run(query, T0 + 12 * MIN, END, MIN, src);
    expect(notes).toContain(note);
    if (!query.includes(":")) expect(src.bucketCalls).toBe(0);
  });

  it.each([
    ["count_over_time(pd_a[5m])", "count_over_time() not pushed down: 15000 ms buckets would hold too few samples"],
    ["count(pd_a)", "count(pd_a) not pushed down: 15000 ms buckets would hold too few samples"],
  ])("%s at a 15 s step: buckets too narrow to pay", async (query, note) => {
    const src = pushingSource();
    const { notes } = await run(query, T0 + 12 * MIN, END, 15_000, src);
    expect(notes).toContain(note);
    expect(src.bucketCalls).toBe(0);
  });

  it("inside a subquery nothing is pushed down", async () => {
    const src = pushingSource();
    const { notes } = await run("max_over_time(count_over_time(pd_a[1m])[5m:1m])", T0 + 12 * MIN, END, MIN, src);
    expect(notes).toContain("count_over_time() not pushed down: inside a subquery");
    expect(src.bucketCalls).toBe(0);
  });
});

describe("over HTTP", () => {
  it("query_range pushes down and answers as the unpushed evaluation does", async () => {
    const bodies: string[] = [];
    const deps = defaultDeps();
    const recording = createApp(config, {
      ...deps,
      fetch: (input, init) => {
        if (typeof init?.body === "string") bodies.push(init.body);
        return deps.fetch(input, init);
      },
    });
    const [start, end, step] = [T0 + 12 * MIN, END, 5 * MIN];
    const query = "count_over_time(pd_a[5m])";
    const form = new URLSearchParams({ query, start: String(start / 1000), end: String(end / 1000), step: String(step / 1000) });
    const res = await recording.request(`/metrics/itpush/${ns}/api/v1/query_range`, { method: "POST", body: form, headers: { authorization: DEV, "content-type": "application/x-www-form-urlencoded" } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { data: { result: { metric: Record<string, string>; values: [number, string][] }[] } };
    expect(bodies.some((b) => b.includes('"date_histogram"'))).toBe(true);
    const raw = (await run(query, start, end, step, rawSource())).out;
    const got = Object.fromEntries(body.data.result.map((r) => [labelsKey(r.metric), r.values.map(([t, v]) => [t * 1000, v])]));
    expect(got).toEqual(raw);
  });
});
