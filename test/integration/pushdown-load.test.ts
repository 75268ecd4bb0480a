import { beforeAll, describe, expect, it } from "vitest";
import { createApp, defaultDeps } from "../../src/app.js";
import { compileMatcher, type Matcher } from "../../src/query/matchers.js";
import { readScope } from "../../src/query/scope.js";
import { Storage } from "../../src/query/storage/storage.js";
import type { SeriesSamples } from "../../src/query/storage/types.js";
import { basic, PRW1_HEADERS } from "../helpers/config.js";
import { countDocs, integrationConfig, uniquePart } from "../helpers/es.js";
import { type SeriesSpec, writeBody } from "../helpers/payload.js";

/**
 * Loading samples series by series (a composite over the series with `terms` on `@timestamp` inside, pages
 * planned from the lookup's counts) gives exactly what the flat composite gives: labels missing on some
 * series (null after-keys between pages), stale markers, NaN, ±Inf; and it falls back to the flat load when
 * Elasticsearch returns a series the lookup had not seen.
 */

const config = integrationConfig();
const app = createApp(config, defaultDeps());
const DEV = basic("dev", "promgate-dev");
const ns = uniquePart("pdload2");
const T0 = Math.floor((Date.now() - 60 * 60_000) / 1000) * 1000 + 7;

const SERIES: SeriesSpec[] = Array.from({ length: 12 }, (_, i) => {
  const labels: Record<string, string> = { __name__: "pl_m", job: `j${i % 3}`, i: String(i) };
  if (i % 4 !== 0) labels.zone = `z${i % 2}`; // some series lack `zone`: a missing_bucket key in the pages
  const samples: SeriesSpec["samples"] = [];
  for (let k = 0; k < 30 + i * 7; k++) {
    const t = T0 + k * 15_000 + i;
    samples.push([t, k % 11 === 4 ? "stale" : k % 13 === 5 ? Number.NaN : k % 17 === 6 ? (i % 2 ? Infinity : -Infinity) : k * i + 0.25]);
  }
  return { labels, samples };
});

const scope = readScope(config.tenants.find((t) => t.id === "dev")!, { kind: "parts", dataset: "itpdload", namespace: ns });
const matchers = [compileMatcher({ name: "__name__", type: "=", value: "pl_m" } as Matcher)];
const range = { startMs: T0 - 1, endMs: T0 + 3_600_000 };
const fetchFn = defaultDeps().fetch;
/** A fetch that records the search bodies: which way the samples were loaded. */
function recording() {
  const bodies: string[] = [];
  const f: typeof fetchFn = (input, init) => {
    if (typeof init?.body === "string") bodies.push(init.body);
    return fetchFn(input, init);
  };
  const bySeries = () => bodies.filter((b) => b.includes('"terms":{"field":"@timestamp","size"'));
  const flatPages = () => bodies.filter((b) => b.includes('"t":{"terms":{"field":"@timestamp"}}'));
  return { f, bySeries, flatPages };
}

/** Comparable form: NaN and stale markers must match, not just numbers. */
const plain = (xs: SeriesSamples[]) => xs.map((s) => ({ key: s.key, ts: s.timestamps, vs: s.values.map(String), stale: [...s.stale].sort((a, b) => a - b) }));

beforeAll(async () => {
  const res = await app.request(`/metrics/itpdload/${ns}/api/v1/write`, { method: "POST", body: writeBody(SERIES), headers: { ...PRW1_HEADERS, authorization: DEV } });
  expect(res.status).toBe(204);
  expect(await countDocs(`metrics-itpdload.prometheus-${ns}`)).toBe(SERIES.reduce((n, s) => n + s.samples.length, 0));
});

describe("loading series by series", () => {
  // 0: every series is longer than a page, so the flat composite answers (the reference).
  const flat = new Storage(config, fetchFn, 0);

  it.each([110, 200, 500, 50_000])("equals the flat load with %i samples a page", async (page) => {
    const rec = recording();
    const bySeries = new Storage(config, rec.f, page);
    const list = await bySeries.series(scope, matchers, range);
    expect(list).toHaveLength(12);
    const expected = plain(await flat.samples(scope, matchers, range, list, 1e9));
    expect(expected.reduce((n, s) => n + s.ts.length, 0)).toBe(SERIES.reduce((n, s) => n + s.samples.length, 0));
    expect(expected.some((s) => s.stale.length > 0)).toBe(true);
    expect(plain(await bySeries.samples(scope, matchers, range, list, 1e9))).toEqual(expected);
    // Series by series it was, in as many pages as the counts plan (with null after-keys among them).
    const total = SERIES.reduce((n, s) => n + s.samples.length, 0);
    expect(rec.bySeries().length).toBeGreaterThanOrEqual(Math.ceil(total / page));
    if (page === 110) expect(rec.bySeries().some((b) => /"after":\{[^}]*null/.test(b))).toBe(true);
    expect(rec.flatPages()).toHaveLength(0);
  });

  it("falls back to the flat load when Elasticsearch has a series the lookup did not list", async () => {
    const rec = recording();
    const bySeries = new Storage(config, rec.f, 120);
    const all = await bySeries.series(scope, matchers, range);
    const list = all.filter((_, i) => i !== 5); // as if series 5 appeared after the lookup
    const got = plain(await bySeries.samples(scope, matchers, range, list, 1e9));
    expect(rec.bySeries().length).toBeGreaterThan(0);
    expect(rec.flatPages().length).toBeGreaterThan(0);
    expect(got).toEqual(plain(await flat.samples(scope, matchers, range, list, 1e9)));
    expect(got.map((s) => s.key)).toEqual(list.map((s) => s.key));
  });

  it("loads a single series (every label constant: the composite still needs a source)", async () => {
    const rec = recording();
    const bySeries = new Storage(config, rec.f, 500);
    const one = [...matchers, compileMatcher({ name: "i", type: "=", value: "3" } as Matcher)];
    const list = await bySeries.series(scope, one, range);
    expect(list).toHaveLength(1);
    expect(plain(await bySeries.samples(scope, one, range, list, 1e9))).toEqual(plain(await flat.samples(scope, one, range, list, 1e9)));
    expect(rec.bySeries()).toHaveLength(1);
  });

  it("loads flat when a series is longer than a page", async () => {
    const rec = recording();
    const bySeries = new Storage(config, rec.f, 40);
    const list = await bySeries.series(scope, matchers, range);
    expect(plain(await bySeries.samples(scope, matchers, range, list, 1e9))).toEqual(plain(await flat.samples(scope, matchers, range, list, 1e9)));
    expect(rec.bySeries()).toHaveLength(0);
  });

  /** remote_read's streaming: series handed over one by one, in order. */
  async function streamed(storage: Storage, list: Awaited<ReturnType<Storage["series"]>>) {
    const got: SeriesSamples[] = [];
    expect(await storage.samples(scope, matchers, range, list, 1e9, (x) => got.push(x))).toEqual([]);
    return plain(got);
  }

  it.each([110, 200, 50_000])("streams series by series as the flat load does (%i samples a page)", async (page) => {
    const rec = recording();
    const bySeries = new Storage(config, rec.f, page);
    const list = await bySeries.series(scope, matchers, range);
    const expected = await streamed(flat, list);
    expect(expected).toHaveLength(12);
    expect(await streamed(bySeries, list)).toEqual(expected);
    expect(rec.bySeries().length).toBeGreaterThan(0);
    expect(rec.flatPages()).toHaveLength(0);
  });

  // An unlisted series after the last listed one is never reached: no fallback needed then.
  it.each([
    [0, true],
    [5, true],
    [11, false],
  ])("streaming resumes flat after the series already sent when ES has an unlisted one (series %i)", async (missing, fallback) => {
    const rec = recording();
    const bySeries = new Storage(config, rec.f, 110);
    const list = (await bySeries.series(scope, matchers, range)).filter((_, i) => i !== missing);
    const got = await streamed(bySeries, list);
    expect(got).toEqual(await streamed(flat, list));
    expect(got.map((x) => x.key)).toEqual(list.map((x) => x.key)); // each once, in order
    expect(rec.flatPages().length > 0).toBe(fallback);
  });

  it("keeps the sample budget", async () => {
    const bySeries = new Storage(config, fetchFn, 120);
    const list = await bySeries.series(scope, matchers, range);
    const total = SERIES.reduce((n, s) => n + s.samples.length, 0);
    await expect(bySeries.samples(scope, matchers, range, list, total - 1)).rejects.toThrow(/maxQuerySamples/);
    expect((await bySeries.samples(scope, matchers, range, list, total)).length).toBe(12);
  });
});
