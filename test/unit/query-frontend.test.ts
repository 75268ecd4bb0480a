import { describe, expect, it } from "vitest";
import { PromgateError } from "../../src/errors.js";
import { statusOf } from "../../src/http/errors.js";
import { type CompiledMatcher, matchesAll } from "../../src/query/matchers.js";
import type { SampleSource, SeriesData } from "../../src/query/promql/engine.js";
import { EXPERIMENTAL_SYNTAX, parsePromQL } from "../../src/query/promql/parse.js";
import { type QueryOptions, type QueryOutcome, rangeQuery, type RangeRunner } from "../../src/query/promql/query.js";
import { type CacheEvents, type FrontendSettings, MAX_PIECES, QueryFrontend } from "../../src/query/frontend/frontend.js";
import { scopeHash } from "../../src/query/frontend/keys.js";
import { alignToStep, lastStep, splitGrid } from "../../src/query/frontend/range.js";
import { latestRead } from "../../src/query/frontend/reach.js";
import { LruStore } from "../../src/query/frontend/store.js";

/**
 * The range query frontend against the engine itself on in-memory data: the split answer must be the
 * unsplit answer, byte for byte once written as JSON, for queries that reach across piece boundaries in
 * every way PromQL can (lookback, ranges, offsets both ways, `@`, subqueries), and the cache must give back
 * exactly what it was given, to the scope it was given by, and only for data that has settled.
 */

const MIN = 60_000;

/** Mutable in-memory series: tests add samples to show what a cache does or does not see. */
class Memory implements SampleSource {
  constructor(readonly data: SeriesData[]) {}
  async select(matchers: CompiledMatcher[], startMs: number, endMs: number): Promise<SeriesData[]> {
    return this.data
      .filter((s) => matchesAll(s.labels, matchers))
      .map((s) => {
        const keep = s.ts.flatMap((t, i) => (t >= startMs && t <= endMs ? [i] : []));
        const stale = new Set<number>();
        keep.forEach((i, j) => s.stale.has(i) && stale.add(j));
        return { labels: s.labels, ts: keep.map((i) => s.ts[i]!), vs: keep.map((i) => s.vs[i]!), stale };
      })
      .filter((s) => s.ts.length > 0);
  }
  add(labels: Record<string, string>, t: number, v: number): void {
    let s = this.data.find((x) => JSON.stringify(x.labels) === JSON.stringify(labels));
    if (!s) this.data.push((s = { labels, ts: [], vs: [], stale: new Set() }));
    // Kept in time order, as storage returns samples.
    let i = s.ts.length;
    while (i > 0 && s.ts[i - 1]! > t) i--;
    s.ts.splice(i, 0, t);
    s.vs.splice(i, 0, v);
    s.stale = new Set([...s.stale].map((j) => (j >= i ? j + 1 : j)));
  }
}

/** Two counters and a gauge over [t0, t0 + span), one sample every 15 s, with a gap and a stale marker. */
function dataset(t0: number, span: number): Memory {
  const series: SeriesData[] = [];
  const specs: [Record<string, string>, (i: number) => number][] = [
    [{ __name__: "req_total", job: "a" }, (i) => i * 3 + (i % 7 === 0 ? 0.1 : 0)],
    [{ __name__: "req_total", job: "b" }, (i) => (i < 200 ? i : i - 200) * 1.5],
    [{ __name__: "temp", job: "a" }, (i) => Math.sin(i / 10) * 100 + 0.1 * i],
  ];
  for (const [labels, f] of specs) {
    const s: SeriesData = { labels, ts: [], vs: [], stale: new Set() };
    for (let t = t0, i = 0; t < t0 + span; t += 15_000, i++) {
      if (labels.job === "b" && i > 300 && i < 340) continue; // a gap longer than the lookback
      if (labels.__name__ === "temp" && i === 150) s.stale.add(s.ts.length);
      s.ts.push(t);
      s.vs.push(labels.__name__ === "temp" && i === 150 ? Number.NaN : f(i));
    }
    series.push(s);
  }
  return new Memory(series);
}

const noEvents: CacheEvents = { hit() {}, miss() {}, stored() {} };

function counted(): CacheEvents & { hits: number; misses: number } {
  const e = { hits: 0, misses: 0, hit: () => void e.hits++, miss: () => void e.misses++, stored() {} };
  return e;
}

function frontend(settings: Partial<FrontendSettings>, now = () => Date.now(), events: CacheEvents = noEvents): QueryFrontend {
  return new QueryFrontend({ splitMs: 7 * MIN, alignStep: false, settleMs: 10 * MIN, store: undefined, version: "test", ...settings }, events, now);
}

const SCOPE_A = { tenantPatterns: ["metrics-*.prometheus-a"], routePatterns: undefined };
const SCOPE_B = { tenantPatterns: ["metrics-*.prometheus-b"], routePatterns: undefined };

async function whole(query: string, startMs: number, endMs: number, stepMs: number, source: SampleSource, opts: QueryOptions = {}): Promise<string> {
  return JSON.stringify(await outcome(() => rangeQuery(parsePromQL(query), startMs, endMs, stepMs, source, { query, ...opts })));
}

async function split(fe: QueryFrontend, query: string, startMs: number, endMs: number, stepMs: number, source: SampleSource, opts: QueryOptions = {}, scope = SCOPE_A, cache = true): Promise<string> {
  return JSON.stringify(await outcome(() => fe.runner(scope, cache)(parsePromQL(query), startMs, endMs, stepMs, source, { query, ...opts })));
}

/** The answer, or the error it ends in (which must be the same too). */
async function outcome(run: () => Promise<QueryOutcome>): Promise<QueryOutcome | { error: string; status: number }> {
  try {
    return await run();
  } catch (e) {
    if (e instanceof PromgateError) return { error: e.message, status: statusOf(e.kind) };
    throw e;
  }
}

describe("the grid", () => {
  it("puts every step in exactly one piece, pieces within one interval each", () => {
    for (const [start, end, step, interval] of [
      [0, 3_600_000, 60_000, 7 * MIN],
      [-1_234_567, 2_000_000, 17_000, 5 * MIN],
      [5_000, 5_000, 60_000, MIN],
      [1_000, 10_000_000, 3_600_000, MIN], // step larger than the interval
      [7 * MIN - 1, 7 * MIN + 1, 1, 7 * MIN],
    ] as const) {
      const g = lastStep({ startMs: start, endMs: end, stepMs: step });
      const steps: number[] = [];
      for (const p of splitGrid(g, interval)) {
        expect(Math.floor(p.startMs / interval)).toBe(p.index);
        expect(Math.floor(p.endMs / interval)).toBe(p.index);
        for (let t = p.startMs; t <= p.endMs; t += step) steps.push(t);
      }
      const want: number[] = [];
      for (let t = start; t <= end; t += step) want.push(t);
      expect(steps).toEqual(want);
    }
  });

  it("aligns the range to the step only when asked", async () => {
    const source = dataset(0, 3_600_000);
    const [start, end] = [601_000, 3_000_000];
    expect(await split(frontend({ alignStep: true }), "temp", start, end, 60_000, source)).toBe(await whole("temp", 600_000, 3_000_000, 60_000, source));
    expect(await split(frontend({}), "temp", start, end, 60_000, source)).toBe(await whole("temp", start, end, 60_000, source));
  });

  it("ends at Prometheus' boundary times, where a millisecond is below a double's resolution", () => {
    const min = -9223309901257974 * 1000;
    expect(splitGrid({ startMs: min, endMs: min, stepMs: 1 }, 86_400_000)).toHaveLength(1);
    expect(splitGrid({ startMs: min, endMs: min + 10_000, stepMs: 1000 }, 86_400_000).length).toBeLessThanOrEqual(11);
  });

  it("trims end to the last step, and aligns start only when asked", () => {
    expect(lastStep({ startMs: 1_000, endMs: 130_000, stepMs: 60_000 })).toEqual({ startMs: 1_000, endMs: 121_000, stepMs: 60_000 });
    expect(alignToStep({ startMs: 61_000, endMs: 130_000, stepMs: 60_000 })).toEqual({ startMs: 60_000, endMs: 120_000, stepMs: 60_000 });
    expect(alignToStep({ startMs: -1_000, endMs: 0, stepMs: 60_000 })).toEqual({ startMs: -60_000, endMs: 0, stepMs: 60_000 });
  });

  it("knows how far forward a query reads: offsets, negative offsets, @, subqueries", () => {
    const anchor = { startMs: 0, endMs: 100 * MIN };
    const reach = (q: string) => latestRead(parsePromQL(q), 10 * MIN, anchor);
    expect(reach("rate(x[5m])")).toBe(10 * MIN);
    expect(reach("x offset 2m")).toBe(8 * MIN);
    expect(reach("x offset -2m")).toBe(12 * MIN);
    expect(reach("x @ end()")).toBe(100 * MIN);
    expect(reach("x @ 3000")).toBe(3_000_000);
    expect(reach("max_over_time(x[10m:1m] offset -5m)")).toBe(15 * MIN);
    expect(reach("time()")).toBe(-Infinity);
  });
});

describe("splitting gives the unsplit answer", () => {
  const t0 = 1_700_000_000_000 - 2 * 3_600_000;
  const source = dataset(t0, 3 * 3_600_000);
  const queries = [
    "req_total",
    "rate(req_total[5m])",
    "sum by (job) (increase(req_total[10m]))",
    "req_total offset 3m",
    "temp offset -4m",
    "temp @ start()",
    "temp @ end() - temp",
    "max_over_time(rate(req_total[2m])[9m:45s])",
    "avg_over_time(temp[7m:20s] @ end())",
    "timestamp(temp)",
    "time()",
    "changes(temp[15m])",
    "absent(nothing)",
    "topk(1, temp)",
    "histogram_quantile(0.9, req_total)", // annotations: not a histogram (with positions)
    "rate(temp[5m])", // an info on every step: a gauge given to rate
    "label_replace(req_total, \"job\", \"x\", \"\", \"\")", // fails on the step where both series exist
  ];
  // A start off the split boundaries and a step that does not divide the interval.
  const [start, end, step] = [t0 + 123_000, t0 + 2.5 * 3_600_000, 37_000];
  const fe = frontend({});

  for (const q of queries) {
    it(q, async () => {
      const want = await whole(q, start, end, step, source);
      expect(JSON.parse(want)).not.toEqual({ data: { resultType: "matrix", result: [] }, warnings: [], infos: [] });
      expect(await split(fe, q, start, end, step, source)).toBe(want);
    });
  }

  it("evaluates info() whole: its lookups are bounded by the whole range", async () => {
    // Prometheus fetches info series for the range shifted by the offset; a piece's shifted range ends
    // before the step that finds them in the whole range (8m here).
    const minutes = (n: number) => Array.from({ length: n }, (_, i) => i * MIN);
    const info = new Memory([
      { labels: { __name__: "http_requests_total", job: "api", instance: "a" }, ts: minutes(21), vs: minutes(21).map((t) => t / MIN), stale: new Set() },
      { labels: { __name__: "target_info", job: "api", instance: "a", region: "eu" }, ts: minutes(21), vs: minutes(21).map(() => 1), stale: new Set() },
    ]);
    const q = 'info(http_requests_total{instance="a"} offset 6m)';
    const want = await whole(q, 8 * MIN, 14 * MIN, 6 * MIN, info);
    expect(want).toContain('"region":"eu"');
    expect(await split(fe, q, 8 * MIN, 14 * MIN, 6 * MIN, info)).toBe(want);
  });

  it("evaluates whole when a piece's annotation sums up its steps (histogram_quantile's monotonicity info)", async () => {
    const minutes = (n: number) => Array.from({ length: n }, (_, i) => i * MIN);
    const bucket = (le: string, per: number): SeriesData => ({ labels: { __name__: "lat_bucket", le }, ts: minutes(61), vs: minutes(61).map((t) => (t / MIN) * per), stale: new Set() });
    const buckets = new Memory([bucket("1", 5), bucket("2", 3), bucket("+Inf", 6)]);
    const q = "histogram_quantile(0.9, lat_bucket)";
    const want = await whole(q, 10 * MIN, 50 * MIN, 5 * MIN, buckets);
    expect(want).toMatch(/over \d+ samples from 1970-01-01T00:10:00Z to 1970-01-01T00:50:00Z/);
    expect(await split(fe, q, 10 * MIN, 50 * MIN, 5 * MIN, buckets)).toBe(want);
  });

  it.each(["rate(req_total[step() * 4])", "temp offset range() / 100", "temp - end() / 1e9 + start() / 1e9", "max_over_time(temp[range() / 20:step()])"])(
    "evaluates %s whole: range(), start() and end() are the whole query's",
    async (q) => {
      const options = { experimental: new Set(EXPERIMENTAL_SYNTAX) };
      const run = (r: RangeRunner) => outcome(() => r(parsePromQL(q, options), start, end, step, source, { query: q }));
      const want = JSON.stringify(await run(rangeQuery));
      expect(JSON.parse(want)).toHaveProperty("data.result.0");
      expect(JSON.stringify(await run(fe.runner(SCOPE_A, true)))).toBe(want);
    },
  );

  it("runs a query whole when it would make more than MAX_PIECES pieces", async () => {
    let selects = 0;
    const counting: SampleSource = { select: (m, a, b) => (selects++, source.select(m, a, b)) };
    const [from, to] = [t0, t0 + 2.5 * 3_600_000];
    const coarse = (to - from) / (MAX_PIECES + 1);
    const fine = frontend({ splitMs: 1000 });
    expect(await split(fine, "temp", from, to, coarse, counting)).toBe(await whole("temp", from, to, coarse, source));
    expect(selects).toBe(1);
    await split(frontend({ splitMs: 3_600_000 }), "temp", from, to, coarse, counting);
    expect(selects).toBe(1 + 3);
  });

  it("applies limit to the whole answer", async () => {
    expect(await split(fe, "req_total", start, end, step, source, { limit: 1 })).toBe(await whole("req_total", start, end, step, source, { limit: 1 }));
  });

  it("gives stats from one whole evaluation", async () => {
    const r = JSON.parse(await split(fe, "req_total", start, end, step, source, { stats: true })) as QueryOutcome;
    expect(r.data.stats?.samples.totalQueryableSamples).toBeGreaterThan(0);
  });
});

describe("the results cache's scope key", () => {
  it("is the same for routes naming the same streams in any order, and differs when the streams differ", async () => {
    const tenant = ["metrics-*.prometheus-a"];
    const key = (routePatterns: string[] | undefined) => scopeHash({ tenantPatterns: tenant, routePatterns });
    const twoStreams = await key(["metrics-x.prometheus-a", "metrics-y.prometheus-a"]);
    expect(await key(["metrics-y.prometheus-a", "metrics-x.prometheus-a"])).toBe(twoStreams);
    expect(await key(["metrics-x.prometheus-a"])).not.toBe(twoStreams);
    expect(await key(["metrics-x.prometheus-a,metrics-y.prometheus-a"])).toBe(twoStreams); // one index expression, the same streams
  });

  it("differs when series are read with __type__ and __unit__ from metadata (type-and-unit-labels)", async () => {
    const scope = { tenantPatterns: ["metrics-*.prometheus-a"], routePatterns: undefined };
    expect(await scopeHash({ ...scope, metadataLabels: true })).not.toBe(await scopeHash(scope));
    expect(await scopeHash({ ...scope, metadataLabels: false })).toBe(await scopeHash(scope));
  });
});

describe("the results cache", () => {
  const now = 1_700_000_000_000;
  const t0 = now - 3 * 3_600_000;
  const q = "sum by (job) (rate(req_total[5m]))";

  it("answers warm exactly as cold, and from the cache", async () => {
    const source = dataset(t0, 3 * 3_600_000);
    const events = counted();
    const fe = frontend({ store: new LruStore(1 << 24, () => now) }, () => now, events);
    const want = await whole(q, t0, now, 30_000, source);
    expect(await split(fe, q, t0, now, 30_000, source)).toBe(want);
    expect(events.hits).toBe(0);
    const misses = events.misses;
    expect(misses).toBeGreaterThan(10);
    expect(await split(fe, q, t0, now, 30_000, source)).toBe(want);
    expect(events.hits).toBe(misses);
    // Data added to a settled piece stays unseen: the warm answer came from the cache.
    source.add({ __name__: "req_total", job: "a" }, t0 + 3_600_000 + 1, 1e9);
    expect(await split(fe, q, t0, now, 30_000, source)).toBe(want);
  });

  it("sees a late sample written inside the settle window", async () => {
    const source = dataset(t0, 3 * 3_600_000 - 5 * MIN);
    const fe = frontend({ store: new LruStore(1 << 24, () => now) }, () => now);
    await split(fe, "req_total", t0, now, 30_000, source);
    source.add({ __name__: "req_total", job: "a" }, now - 2 * MIN, 42);
    const r = JSON.parse(await split(fe, "req_total", t0, now, 30_000, source)) as { data: { result: { metric: { job: string }; values: [number, string][] }[] } };
    const a = r.data.result.find((s) => s.metric.job === "a")!;
    expect(a.values.some(([, v]) => v === "42")).toBe(true);
    expect(await split(fe, "req_total", t0, now, 30_000, source)).toBe(await whole("req_total", t0, now, 30_000, source));
  });

  it("never gives one scope's entry to another", async () => {
    const a = dataset(t0, 3 * 3_600_000);
    const b = new Memory([{ labels: { __name__: "req_total", job: "other" }, ts: [t0 + MIN], vs: [7], stale: new Set() }]);
    const events = counted();
    const fe = frontend({ store: new LruStore(1 << 24, () => now) }, () => now, events);
    await split(fe, q, t0, now, 30_000, a, {}, SCOPE_A);
    expect(await split(fe, q, t0, now, 30_000, b, {}, SCOPE_B)).toBe(await whole(q, t0, now, 30_000, b));
    expect(events.hits).toBe(0);
  });

  it("is neither read nor written when the request says no-store", async () => {
    const source = dataset(t0, 3 * 3_600_000);
    const events = counted();
    const store = new LruStore(1 << 24, () => now);
    const fe = frontend({ store }, () => now, events);
    await split(fe, q, t0, now, 30_000, source, {}, SCOPE_A, false);
    expect(store.bytes()).toBe(0);
    await split(fe, q, t0, now, 30_000, source);
    source.add({ __name__: "req_total", job: "a" }, t0 + 3_600_000 + 1, 1e9);
    expect(await split(fe, q, t0, now, 30_000, source, {}, SCOPE_A, false)).toBe(await whole(q, t0, now, 30_000, source));
    expect(events.hits).toBe(0);
  });

  it("serves a moving dashboard's shrinking first piece from what it stored", async () => {
    const source = dataset(t0 - 3_600_000, 4 * 3_600_000);
    const events = counted();
    let clock = now;
    const fe = frontend({ store: new LruStore(1 << 24, () => clock), splitMs: 30 * MIN }, () => clock, events);
    const range = 2 * 3_600_000;
    await split(fe, q, now - range, now, 30_000, source);
    clock += 30_000;
    const misses = events.misses;
    const moved = await split(fe, q, now - range + 30_000, now + 30_000, 30_000, source);
    expect(moved).toBe(await whole(q, now - range + 30_000, now + 30_000, 30_000, source));
    expect(events.misses).toBe(misses); // the cut first piece and the middle ones were all hits
    expect(events.hits).toBeGreaterThan(0);
  });

  it("keeps the settled steps of a piece still filling up, and later evaluates only the steps after them", async () => {
    const source = dataset(t0 - 3_600_000, 4 * 3_600_000);
    const reads: [number, number][] = [];
    const watched: SampleSource = { select: (m, a, b) => (reads.push([a, b]), source.select(m, a, b)) };
    let clock = now;
    // One piece holds the whole 2 h range (a 1d split): before, each refresh evaluated all of it again.
    const fe = frontend({ store: new LruStore(1 << 24, () => clock), splitMs: 24 * 60 * MIN }, () => clock);
    const range = 2 * 3_600_000;
    const first = now - range;
    expect(await split(fe, q, first, now, 30_000, watched)).toBe(await whole(q, first, now, 30_000, source));
    // 30 s later, the same range moved: only the steps after the settled extent (now − 10 min) are read.
    clock += 30_000;
    reads.length = 0;
    expect(await split(fe, q, first + 30_000, now + 30_000, 30_000, watched)).toBe(await whole(q, first + 30_000, now + 30_000, 30_000, source));
    expect(reads.length).toBeGreaterThan(0);
    for (const [from] of reads) expect(from).toBeGreaterThanOrEqual(now - 10 * MIN - 5 * MIN);
    // A sample added inside the extent stays unseen (it is served from the cache); one after it is seen.
    source.add({ __name__: "req_total", job: "a" }, now - 40 * MIN + 1, 1e9);
    source.add({ __name__: "req_total", job: "b" }, now + 20_000, 1e9);
    const third = await split(fe, q, first + 30_000, now + 30_000, 30_000, watched);
    expect(third).not.toBe(await whole(q, first + 30_000, now + 30_000, 30_000, source));
    const r = JSON.parse(third) as { data: { result: { metric: { job: string }; values: [number, string][] }[] } };
    const [a, b] = ["a", "b"].map((job) => r.data.result.find((x) => x.metric.job === job)!.values);
    expect(a!.every(([, v]) => Number(v) < 1e5)).toBe(true);
    expect(b!.some(([, v]) => Number(v) > 1e5)).toBe(true);
    // Ten minutes on, the extent has grown: what settled since is read once more, then no longer.
    clock += 10 * MIN;
    await split(fe, q, first + 11 * MIN, now + 11 * MIN, 30_000, watched);
    reads.length = 0;
    await split(fe, q, first + 11 * MIN, now + 11 * MIN, 30_000, watched);
    for (const [from] of reads) expect(from).toBeGreaterThanOrEqual(now + 30_000 - 5 * MIN);
  });

  it("recomputes rather than cuts a stored piece that carries annotations", async () => {
    // A gauge given to rate() (an info) only in the range's first piece: the moved range's answer has the
    // info, which only that piece can contribute.
    const source = dataset(t0 - 3_600_000, 4 * 3_600_000);
    const start = now - 2 * 3_600_000;
    for (let t = start - 5 * MIN; t < start + 10 * MIN; t += 15_000) source.add({ __name__: "level", job: "a" }, t, t / 1e9);
    const fe = frontend({ store: new LruStore(1 << 24, () => now), splitMs: 30 * MIN }, () => now);
    const annotated = "rate(level[5m])";
    expect((JSON.parse(await split(fe, annotated, start, now, 30_000, source)) as QueryOutcome).infos).toHaveLength(1);
    const moved = start + 30_000;
    expect(await split(fe, annotated, moved, now, 30_000, source)).toBe(await whole(annotated, moved, now, 30_000, source));
  });

  it("keys pieces with `@ start()` by the whole query's start", async () => {
    const source = dataset(t0, 3 * 3_600_000);
    const fe = frontend({ store: new LruStore(1 << 24, () => now) }, () => now);
    const pinned = "temp @ start()";
    await split(fe, pinned, t0, now - 3_600_000, 60_000, source);
    const later = t0 + 30 * MIN;
    expect(await split(fe, pinned, later, now - 3_600_000, 60_000, source)).toBe(await whole(pinned, later, now - 3_600_000, 60_000, source));
  });

  it.each(["temp - start() / 1e6", "temp offset range() / 100", "max_over_time(temp[range() / 20:1m])"])(
    "never serves %s from a piece of another range: range(), start() and end() are the whole query's",
    async (q) => {
      const source = dataset(t0, 3 * 3_600_000);
      const fe = frontend({ store: new LruStore(1 << 24, () => now) }, () => now);
      const options = { experimental: new Set(EXPERIMENTAL_SYNTAX) };
      const run = (r: RangeRunner, from: number) => outcome(() => r(parsePromQL(q, options), from, now - 3_600_000, 60_000, source, { query: q }));
      await run(fe.runner(SCOPE_A, true), t0);
      const later = t0 + 30 * MIN;
      expect(JSON.stringify(await run(fe.runner(SCOPE_A, true), later))).toBe(JSON.stringify(await run(rangeQuery, later)));
    },
  );
});

describe("the in-memory store", () => {
  it("stays within its bytes, dropping the least recently used first", async () => {
    const s = new LruStore(100, () => 0);
    await s.put("a", "x".repeat(20)); // 42 bytes
    await s.put("b", "y".repeat(20));
    await s.get("a");
    await s.put("c", "z".repeat(20));
    expect(await s.get("b")).toBeUndefined();
    expect(await s.get("a")).toBe("x".repeat(20));
    expect(await s.get("c")).toBe("z".repeat(20));
    expect(s.bytes()).toBe(84);
    await s.put("huge", "h".repeat(100));
    expect(await s.get("huge")).toBeUndefined();
    expect(s.bytes()).toBe(84);
  });

  it("forgets entries after a day", async () => {
    let t = 0;
    const s = new LruStore(1000, () => t);
    await s.put("a", "1");
    t = 24 * 3_600_000 + 1;
    expect(await s.get("a")).toBeUndefined();
    expect(s.bytes()).toBe(0);
  });
});
