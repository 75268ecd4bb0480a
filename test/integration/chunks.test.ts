import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp, defaultDeps } from "../../src/app.js";
import { Compactor, type StepOutcome } from "../../src/chunks/compactor.js";
import { settledEnd, WINDOW_MS, windowStart } from "../../src/chunks/window.js";
import { chunksTemplate } from "../../src/elastic/templates.js";
import { type NativeHistogram, ResetHint } from "../../src/model/histogram.js";
import { basic, PRW1_HEADERS } from "../helpers/config.js";
import { countDocs, es, integrationConfig, uniquePart } from "../helpers/es.js";
import { type SeriesSpec, V2_CONTENT_TYPE, writeBody, writeBodyV2 } from "../helpers/payload.js";

/**
 * The chunk index answers exactly as raw documents do: the same queries through an app with chunks on and
 * one with them off give byte-identical answers, across the join of compacted and recent data, with stale
 * markers, NaN, ±Inf, a native histogram series (kept raw), pushed-down functions, and after the raw data
 * changed under the compacted windows (a late sample written straight to Elasticsearch, deleted documents).
 */

const MIN = 60_000;
const run = uniquePart("chunks");
const ns = run;
const stream = `metrics-itchunks.prometheus-${ns}`;
const chunkIndex = `promgate-chunks-${run.replace(/_/g, "-")}`;
const DEV = basic("dev", "promgate-dev");
const NOW = Date.now();
// Four settled windows (the compactor's settle time is 1 h), then the recent part up to two minutes ago.
const T0 = settledEnd(NOW, 3_600_000) - 4 * WINDOW_MS;
const END = Math.floor((NOW - 2 * MIN) / 1000) * 1000;

const raw = createApp(integrationConfig(), defaultDeps());
const chunked = createApp(integrationConfig({ PROMGATE_CHUNKS: "true", PROMGATE_CHUNKS_INDEX: chunkIndex }), defaultDeps());
const compactor = new Compactor({ ...integrationConfig(), chunks: { index: chunkIndex, settleMs: 3_600_000 } }, (i, init) => fetch(i, init), undefined, () => NOW, stream);

function rng(seed: number): () => number {
  let x = seed >>> 0;
  return () => (x = (Math.imul(x, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

/** Irregular scrapes with gaps, counter resets and every special value, over the whole span. */
function series(labels: Record<string, string>, seed: number): SeriesSpec {
  const rand = rng(seed);
  const samples: SeriesSpec["samples"] = [];
  let t = T0 + Math.floor(rand() * 30_000);
  let c = 0;
  while (t < END) {
    const r = rand();
    if (r < 0.02) samples.push([t, "stale"]);
    else if (r < 0.03) samples.push([t, Number.NaN]);
    else if (r < 0.035) samples.push([t, Infinity]);
    else if (r < 0.04) samples.push([t, -Infinity]);
    else if (r < 0.06) samples.push([t, (c = Math.floor(rand() * 5))]);
    else samples.push([t, (c += Math.floor(rand() * 1000) / 8)]);
    t += rand() < 0.01 ? 10 * MIN : 15_000 + Math.floor(rand() * 45_000);
  }
  return { labels, samples };
}

/** A sample on every window boundary and either side of it, so the join is exercised at the millisecond. */
function edges(): SeriesSpec {
  const samples: SeriesSpec["samples"] = [];
  for (let w = T0; w < END; w += WINDOW_MS) for (const d of [-1, 0, 1]) if (w + d >= T0 && w + d < END) samples.push([w + d, w + d]);
  return { labels: { __name__: "ck_edge", job: "edge" }, samples };
}

const histogram = (count: number): NativeHistogram => ({
  float: false,
  schema: 1,
  zeroThreshold: 0.001,
  zeroCount: 1,
  count,
  sum: count * 1.5,
  positiveSpans: [{ offset: 0, length: 2 }],
  positiveBuckets: [count - 3, 2],
  negativeSpans: [],
  negativeBuckets: [],
  resetHint: ResetHint.No,
  customValues: [],
});

async function write(specs: SeriesSpec[], v2 = false): Promise<void> {
  const res = await raw.request(`/metrics/itchunks/${ns}/api/v1/write`, {
    method: "POST",
    body: v2 ? writeBodyV2(specs) : writeBody(specs),
    headers: { ...PRW1_HEADERS, ...(v2 ? { "content-type": V2_CONTENT_TYPE } : {}), authorization: DEV },
  });
  expect(res.status, await res.clone().text()).toBe(204);
}

const instant = (q: string, t: number) => `/metrics/itchunks/${ns}/api/v1/query?${new URLSearchParams({ query: q, time: String(t / 1000) })}`;
const range = (q: string, start: number, end: number, step: number) =>
  `/metrics/itchunks/${ns}/api/v1/query_range?${new URLSearchParams({ query: q, start: String(start / 1000), end: String(end / 1000), step: String(step / 1000) })}`;

async function answer(app: ReturnType<typeof createApp>, path: string): Promise<string> {
  const res = await app.request(path, { headers: { authorization: DEV } });
  return `${res.status} ${await res.text()}`;
}

const QUERIES = [
  range("ck_c_total", T0, END, 60_000),
  range("sum by (job) (rate(ck_c_total[5m]))", T0 + 5 * MIN, END, 15_000),
  range('rate(ck_c_total{idx=~"1|3"}[7m])', T0, END, 37_000),
  range("sum by (job) (max_over_time(ck_c_total[1h]))", T0, END, 3_600_000),
  range("count_over_time(ck_c_total[2h])", T0, END, 2 * 3_600_000),
  range("sum(count_over_time(ck_c_total[10m]))", T0, END, 10 * MIN),
  range("count(ck_c_total)", T0, END, 5 * MIN),
  range("ck_edge", T0, END, 1000 * 60 * 29 + 1),
  range("ck_h", T0, END, 5 * MIN),
  range("histogram_count(rate(ck_h[10m]))", T0, END, 5 * MIN),
  instant("ck_edge[3h]", windowStart(END) + 1),
  instant("ck_c_total[2h]", T0 + 2 * WINDOW_MS),
  instant("ck_c_total[2h]", T0 + 2 * WINDOW_MS - 1),
  instant("last_over_time(ck_c_total[1d])", END),
  instant('{__name__=~"ck_.*", job!="edge"}', T0 + WINDOW_MS + 3 * MIN),
];

/** After the first test: a few queries over every window (the whole list takes long on shared machines). */
const FEW = [QUERIES[0]!, QUERIES[3]!, QUERIES[7]!, QUERIES[8]!];

async function expectSameAnswers(queries = QUERIES): Promise<void> {
  for (const q of queries) {
    const want = await answer(raw, q);
    expect(want.startsWith("200 "), `${q}: ${want.slice(0, 300)}`).toBe(true);
    const got = await answer(chunked, q);
    expect(got === want, `${q}\n${firstDifference(got, want)}`).toBe(true);
  }
}

/** Where two answers part, with some context (answers are too long to print whole). */
function firstDifference(got: string, want: string): string {
  let i = 0;
  while (i < got.length && got[i] === want[i]) i++;
  return `at ${i}: got …${got.slice(Math.max(0, i - 150), i + 150)}… want …${want.slice(Math.max(0, i - 150), i + 150)}…`;
}

/** promgate_chunks_read_windows_total{source} of the chunked app. */
async function readWindows(): Promise<{ chunks: number; raw: number }> {
  const text = await (await chunked.request("/metrics", { headers: { authorization: DEV } })).text();
  const v = (source: string) => Number(new RegExp(`^promgate_chunks_read_windows_total\\{source="${source}"\\} (\\S+)$`, "m").exec(text)?.[1] ?? 0);
  return { chunks: v("chunks"), raw: v("raw") };
}

async function compactAll(): Promise<void> {
  for (let i = 0; i < 50; i++) if ((await compactor.step()).kind === "idle") return;
  throw new Error("the compactor did not finish");
}

beforeAll(async () => {
  const { template } = chunksTemplate(chunkIndex);
  expect((await es("PUT", `/${chunkIndex}`, { settings: template.settings, mappings: template.mappings })).status).toBe(200);
  const specs = Array.from({ length: 6 }, (_, i) => series({ __name__: "ck_c_total", job: `j${i % 2}`, idx: String(i) }, i + 1));
  await write([...specs, edges()]);
  const hs: NonNullable<SeriesSpec["histograms"]> = [];
  for (let t = T0 + 7_000, n = 10; t < END; t += 2 * MIN, n += 3) hs.push([t, n % 40 === 1 ? "stale" : histogram(n)]);
  await write([{ labels: { __name__: "ck_h", job: "h" }, samples: [], histograms: hs }], true);
  await es("POST", `/${stream}/_refresh`);
  await compactAll();
}, 120_000);

afterAll(async () => {
  await es("DELETE", `/${chunkIndex}`);
});

describe("chunk index", () => {
  it("compacts the settled windows and nothing after them", async () => {
    const chunks = await countDocs(chunkIndex, { term: { kind: "chunk" } });
    // 6 counters, the edge series and the histogram series (kept raw) in each of 4 windows.
    expect(chunks).toBe(4 * 8);
    const raw = await countDocs(chunkIndex, { bool: { filter: [{ term: { kind: "chunk" } }, { term: { raw: true } }] } });
    expect(raw).toBe(4);
    const r = await es<{ hits: { hits: { _source: { until: number } }[] } }>("POST", `/${chunkIndex}/_search`, { query: { term: { kind: "progress" } } });
    expect(r.json.hits.hits.map((h) => h._source.until)).toEqual([T0 + 4 * WINDOW_MS]);
  });

  it("answers every query byte for byte as raw documents do, from chunks", async () => {
    const before = await readWindows();
    await expectSameAnswers();
    const after = await readWindows();
    expect(after.chunks).toBeGreaterThan(before.chunks);
    expect(after.raw).toBe(before.raw);
  });

  it("a rerun of a window changes nothing (same ids, same documents)", async () => {
    const before = await countDocs(chunkIndex, { term: { kind: "chunk" } });
    await compactor.compactWindow(stream, T0 + WINDOW_MS);
    expect(await countDocs(chunkIndex, { term: { kind: "chunk" } })).toBe(before);
    await expectSameAnswers(FEW);
  });

  it("sees a late sample written straight to Elasticsearch into a compacted window, then recompacts it", async () => {
    const t = T0 + WINDOW_MS + 17 * MIN + 1;
    const bulk = `${JSON.stringify({ create: {} })}\n${JSON.stringify({ "@timestamp": t, labels: { __name__: "ck_c_total", job: "j9", idx: "late" }, metrics: { ck_c_total: 42 } })}\n`;
    const res = await es("POST", `/${stream}/_bulk?refresh=true`, bulk);
    expect(res.status).toBe(200);
    const before = await readWindows();
    await expectSameAnswers(FEW);
    expect(await answer(chunked, instant('ck_c_total{idx="late"}', t + MIN))).toContain('"42"');
    const mid = await readWindows();
    expect(mid.raw).toBeGreaterThan(before.raw); // the window was read raw
    // Queued by the read without waiting for it: give the write a moment.
    let queued = 0;
    for (let i = 0; i < 20 && queued === 0; i++, await new Promise((r) => setTimeout(r, 100))) queued = await countDocs(chunkIndex, { term: { kind: "dirty" } });
    expect(queued).toBe(1);
    const step = await compactor.step();
    expect(step).toEqual({ kind: "dirty", start: T0 + WINDOW_MS, streams: [stream] });
    await expectSameAnswers(FEW);
    const after = await readWindows();
    expect(after.raw).toBe(mid.raw); // served from chunks again
  });

  it("never serves chunks of raw documents that were deleted", async () => {
    const w = T0 + 2 * WINDOW_MS;
    // By id: the test distribution has no _delete_by_query.
    const found = await es<{ hits: { hits: { _index: string; _id: string }[] } }>("POST", `/${stream}/_search`, { size: 10_000, _source: false, query: { range: { "@timestamp": { gte: w, lt: w + WINDOW_MS / 2 } } } });
    const ids = found.json.hits.hits;
    expect(ids.length).toBeGreaterThan(0);
    const del = await es("POST", "/_bulk?refresh=true", ids.map((h) => `${JSON.stringify({ delete: { _index: h._index, _id: h._id } })}\n`).join(""));
    expect(del.status).toBe(200);
    await expectSameAnswers(FEW);
    expect(await answer(chunked, range("count_over_time(ck_c_total[1h])", w + 3_600_000, w + 3_600_000, 60_000))).toBe(await answer(raw, range("count_over_time(ck_c_total[1h])", w + 3_600_000, w + 3_600_000, 60_000)));
    await compactAll();
    await expectSameAnswers(FEW);
  });

  it("reads a window raw when one of its chunk documents does not decode, and redoes it", async () => {
    type Hit = { _id: string; _source: Record<string, unknown> };
    const r = await es<{ hits: { hits: Hit[] } }>("POST", `/${chunkIndex}/_search`, { size: 1, query: { bool: { filter: [{ term: { kind: "chunk" } }, { term: { start: T0 } }, { term: { "labels.idx": "2" } }] } } });
    const doc = r.json.hits.hits[0]!;
    const bytes = Buffer.from((doc._source.chunks as string[])[0]!, "base64");
    const cut = bytes.subarray(0, 6).toString("base64"); // the count says more samples than the bytes hold
    expect((await es("PUT", `/${chunkIndex}/_doc/${encodeURIComponent(doc._id)}?refresh=true`, { ...doc._source, chunks: [cut] })).status).toBe(200);
    const before = await readWindows();
    await expectSameAnswers(FEW);
    expect((await readWindows()).raw).toBeGreaterThan(before.raw);
    // Other windows queued by earlier reads may come first; the damaged one is redone whatever its counts.
    const steps: StepOutcome[] = [];
    for (let i = 0; i < 5 && !steps.some((s) => s.kind === "dirty" && s.start === T0); i++) steps.push(await compactor.step());
    expect(steps).toContainEqual({ kind: "dirty", start: T0, streams: [stream] });
    const mid = await readWindows();
    await expectSameAnswers(FEW);
    expect((await readWindows()).raw).toBe(mid.raw); // repaired: served from chunks again
  });
});
