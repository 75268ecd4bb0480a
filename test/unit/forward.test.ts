import { createServer, type IncomingMessage, type Server } from "node:http";
import { fromBinary } from "@bufbuild/protobuf";
import SnappyJS from "snappyjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGateway } from "../../src/app.js";
import { ConfigError, loadConfig } from "../../src/config.js";
import { parseForwardRules, type ForwardRule } from "../../src/config/forward.js";
import { backoffMs, retryDelayMs } from "../../src/forward/backoff.js";
import { sendBatch, type SendOutcome } from "../../src/forward/deliver.js";
import { encodeBatch, estimateBytes, splitSeries } from "../../src/forward/encode.js";
import type { DropReason, ForwardEvents } from "../../src/forward/events.js";
import { checkWorkersForwarding } from "../../src/forward/forwarder.js";
import { parseHa } from "../../src/config/ha.js";
import { Dedupe } from "../../src/ingest/ha/dedupe.js";
import { MemoryQueue, type QueuedBatch } from "../../src/forward/memory-queue.js";
import { compileRule, forwardedOrder, labelRanges, type LabelRanges } from "../../src/forward/rules.js";
import { selectSeries, type SelectedSeries } from "../../src/forward/select.js";
import { consumeForwardBatch, enqueue, type QueueMessage } from "../../src/forward/workers-queue.js";
import { WriteRequestSchema } from "../../src/gen/prometheus/remote_pb.js";
import * as v2 from "../../src/gen/io/prometheus/write/v2/types_pb.js";
import { DEFAULT_LIMITS } from "../../src/config.js";
import { basic, PRW1_HEADERS, TEST_TENANTS } from "../helpers/config.js";
import { allCreated, fakeEs } from "../helpers/fake-es.js";
import { fromGeneratedHistogram, type SeriesSpec, writeBody, writeRequestBytes, writeRequestV2Bytes } from "../helpers/payload.js";
import { type NativeHistogram, ResetHint } from "../../src/model/histogram.js";

const T0 = 1767268800000;
const NONE = labelRanges([]);
/** Prometheus' staleness marker as it is on the wire (little-endian double 0x7ff0000000000002). */
const STALE_WIRE = "020000000000f07f";
/** Whether an encoded request carries the exact marker (JavaScript numbers may not keep a signalling NaN's bits). */
const hasStaleMarker = (body: Uint8Array): boolean => Buffer.from(SnappyJS.uncompress(body)).toString("hex").includes(STALE_WIRE);

const rule = (over: Partial<Record<string, unknown>> = {}): ForwardRule =>
  parseForwardRules("t", [{ name: "r", url: "http://127.0.0.1:9/api/v1/write", match: { __name__: ".+" }, ...over }])[0]!;

const text = new TextDecoder();
const strings = (l: LabelRanges): [string, string][] =>
  Array.from({ length: l.count }, (_, i) => [text.decode(l.buf.subarray(l.pos[4 * i]!, l.pos[4 * i + 1]!)), text.decode(l.buf.subarray(l.pos[4 * i + 2]!, l.pos[4 * i + 3]!))]);

const parseError = (raw: unknown): string => {
  try {
    parseForwardRules("PROMGATE_TENANTS.a", raw);
  } catch (e) {
    if (e instanceof ConfigError) return e.message;
    throw e;
  }
  return "no error";
};


/** Labels of a decoded 1.0 body as objects, in the order sent. */
function decodeV1(body: Uint8Array) {
  const req = fromBinary(WriteRequestSchema, SnappyJS.uncompress(body));
  return req.timeseries.map((ts) => ({
    labels: ts.labels.map((l) => [l.name, l.value] as [string, string]),
    samples: ts.samples.map((s) => [Number(s.timestamp), s.value] as [number, number]),
    histograms: ts.histograms.length,
  }));
}

describe("forward rules in PROMGATE_TENANTS", () => {
  it("reads a full rule: credentials become headers, protocol, filters, extra labels", () => {
    const [r] = parseForwardRules("t", [
      { name: "a", url: "https://x.example/api/v1/write", protocol: "2.0", basicAuth: { username: "u", password: "p:w" }, headers: { "X-Scope-OrgID": "team" }, match: { job: "api|web" }, extraLabels: { source: "promgate" } },
    ]);
    expect(r).toEqual({
      name: "a",
      url: "https://x.example/api/v1/write",
      protocol: "2.0",
      headers: { authorization: `Basic ${btoa("u:p:w")}`, "x-scope-orgid": "team" },
      match: { job: "api|web" },
      extraLabels: { source: "promgate" },
    });
    expect(rule({ bearerToken: "tok" }).headers).toEqual({ authorization: "Bearer tok" });
    expect(rule().protocol).toBe("1.0");
  });

  it("refuses what cannot work, naming the field and never the secret", () => {
    expect(parseError({})).toMatch(/PROMGATE_TENANTS\.a\.forward must be a list/);
    expect(parseError([{ name: "r", url: "http://h/w", match: { __name__: "(" } }])).toMatch(/forward\[0\]\.match\.__name__: error parsing regexp: missing closing \)/);
    expect(parseError([{ name: "r", url: "http://h/w", match: {} }])).toMatch(/forward\[0\]\.match must be an object .* at least one entry/);
    expect(parseError([{ name: "r", url: "http://h/w", match: { "a-b": "x" } }])).toMatch(/is not a label name/);
    expect(parseError([{ name: "r", url: "http://u:hunter2@h/w", match: { a: "x" } }])).toMatch(/forward\[0\]\.url must not carry credentials/);
    expect(parseError([{ name: "r", url: "ftp://h/w", match: { a: "x" } }])).toMatch(/must be http or https/);
    expect(parseError([{ name: "r", url: "http://h/w", match: { a: "x" }, bearerToken: "hunter2", basicAuth: { username: "u", password: "hunter2" } }])).toMatch(/basicAuth or bearerToken, not both/);
    expect(parseError([{ name: "r", url: "http://h/w", match: { a: "x" }, bearerToken: "hunter2", headers: { Authorization: "Bearer hunter2" } }])).toMatch(/conflicts with basicAuth/);
    expect(parseError([{ name: "r", url: "http://h/w", match: { a: "x" }, headers: { "Content-Type": "text/plain" } }])).toMatch(/Content-Type is set by promgate/);
    expect(parseError([{ name: "r", url: "http://h/w", match: { a: "x" }, extraLabels: { __name__: "renamed" } }])).toMatch(/"__name__" is not a label name promgate may set/);
    expect(parseError([{ name: "r", url: "http://h/w", match: { a: "x" }, protocol: "3" }])).toMatch(/protocol must be "1.0" or "2.0"/);
    expect(parseError([{ name: "r", url: "http://h/w", match: { a: "x" }, target: "y" }])).toMatch(/forward\[0\]\.target is not a known field/);
    expect(parseError([{ name: "r", url: "http://h/w", match: { a: "x" } }, { name: "r", url: "http://h/v", match: { a: "x" } }])).toMatch(/forward\[1\]\.name repeats/);
    for (const bad of [[{ name: "r", url: "http://u:hunter2@h/w", match: { a: "x" } }], [{ name: "r", url: "http://h/w", match: { a: "x" }, basicAuth: { username: "u:x", password: "hunter2" } }]]) {
      expect(parseError(bad)).not.toContain("hunter2");
    }
  });

  it("is a tenant field; the loader keeps it and checks the backoff settings", () => {
    const c = loadConfig({ PROMGATE_TENANTS: JSON.stringify({ ...TEST_TENANTS, teama: { ...TEST_TENANTS.teama, forward: [{ name: "r", url: "http://h/w", match: { job: "x" } }] } }) });
    expect(c.tenants.find((t) => t.id === "teama")?.forward?.map((r) => r.name)).toEqual(["r"]);
    expect(c.tenants.find((t) => t.id === "dev")?.forward).toBeUndefined();
    expect(c.forward).toEqual({ queueBytes: 64 * 1024 * 1024, maxAttempts: 20, minBackoffMs: 1000, maxBackoffMs: 60_000, timeoutMs: 30_000 });
    expect(() => loadConfig({ PROMGATE_TENANTS: JSON.stringify(TEST_TENANTS), PROMGATE_FORWARD_MIN_BACKOFF: "2m" })).toThrow(/PROMGATE_FORWARD_MIN_BACKOFF must not exceed PROMGATE_FORWARD_MAX_BACKOFF/);
    expect(() => loadConfig({ PROMGATE_TENANTS: JSON.stringify(TEST_TENANTS), PROMGATE_FORWARD_QUEUE: "promgate-forward" })).toThrow(/PROMGATE_FORWARD_QUEUE must be a Workers Queue producer binding/);
  });

  it("on Workers, rules without the queue binding are refused at startup; with it they are accepted", () => {
    const env = { PROMGATE_TENANTS: JSON.stringify({ ...TEST_TENANTS, teama: { ...TEST_TENANTS.teama, forward: [{ name: "r", url: "http://h/w", match: { job: "x" } }] } }) };
    expect(() => checkWorkersForwarding(loadConfig(env))).toThrow(/PROMGATE_TENANTS\.teama\.forward needs the PROMGATE_FORWARD_QUEUE queue binding/);
    const queue = { sendBatch: async () => undefined };
    expect(() => checkWorkersForwarding(loadConfig({ ...env, PROMGATE_FORWARD_QUEUE: queue }))).not.toThrow();
    expect(() => checkWorkersForwarding(loadConfig({ PROMGATE_TENANTS: JSON.stringify(TEST_TENANTS) }))).not.toThrow();
  });
});

describe("rule matching", () => {
  /** Whether a rule takes a series with these labels, through the selection forwarding runs on requests. */
  const takes = (match: Record<string, string>, labels: Record<string, string>): boolean => {
    const [picked] = selectSeries(writeRequestBytes([{ labels, samples: [[T0, 1]] }]), "prw1", DEFAULT_LIMITS, [compileRule(rule({ match }))]);
    return picked!.length === 1;
  };
  it("every filter must match the whole value (anchored RE2), a missing label is empty", () => {
    const m = { __name__: "http_.*", job: "api|web" };
    expect(takes(m, { __name__: "http_requests_total", job: "api" })).toBe(true);
    expect(takes(m, { __name__: "http_requests_total", job: "web" })).toBe(true);
    expect(takes(m, { __name__: "http_requests_total", job: "api2" })).toBe(false); // anchored at the end
    expect(takes(m, { __name__: "xhttp_requests_total", job: "api" })).toBe(false); // and at the start
    expect(takes(m, { __name__: "http_requests_total" })).toBe(false); // AND: job missing
    expect(takes(m, { __name__: "http_requests_total", jobx: "api" })).toBe(false); // a longer name is another label
    expect(takes({ env: "|dev" }, { __name__: "a" })).toBe(true);
    expect(takes({ env: "|dev" }, { __name__: "a", env: "prod" })).toBe(false);
    // RE2 syntax with Go's meaning, `.` across newlines as in Prometheus matchers
    expect(takes({ v: "(?i)A.B" }, { __name__: "a", v: "a\nb" })).toBe(true);
    expect(takes({ __name__: ".+" }, { __name__: "", job: "a" })).toBe(false); // no name: never forwarded
  });

  it("behind HA deduplication, takes only the elected replica's series, without the replica label", () => {
    const ha = parseHa("t", { enabled: true })!;
    const accepted = new Map([["eu", new Map([["r1", true], ["r2", false]])]]);
    const bytes = writeRequestBytes([
      { labels: { __name__: "up", cluster: "eu", __replica__: "r1" }, samples: [[T0, 1]] },
      { labels: { __name__: "up", cluster: "eu", __replica__: "r2" }, samples: [[T0, 1]] },
      { labels: { __name__: "up", job: "solo" }, samples: [[T0, 1]] },
    ]);
    const dedupe = new Dedupe(ha, accepted);
    const [picked] = selectSeries(bytes, "prw1", DEFAULT_LIMITS, [compileRule(rule())], (v) => dedupe.wrap(v));
    expect(picked!.map((s) => strings(s.labels))).toEqual([
      [["__name__", "up"], ["cluster", "eu"]],
      [["__name__", "up"], ["job", "solo"]],
    ]);
  });

  it("series sharing a label value get the same answer, the others their own (answers are kept per value within a request)", () => {
    const r = compileRule(rule({ match: { job: "a|c" } }));
    const series = ["a", "b", "a", "c", "b"].map((job, i) => ({ labels: { __name__: `m${i}`, job }, samples: [[T0, i]] as [number, number][] }));
    const [picked] = selectSeries(writeRequestBytes(series), "prw1", DEFAULT_LIMITS, [r]);
    expect(picked!.map((s) => Object.fromEntries(strings(s.labels)).__name__)).toEqual(["m0", "m2", "m3"]);
  });

  it("extra labels replace the series' own and the result is sorted by name (bytes, as Prometheus orders)", () => {
    const extra = compileRule(rule({ extraLabels: { zone: "b", source: "pg", Zeta: "z" } })).extraLabels;
    const forwarded = (l: [string, string][]) => {
      const ranges = labelRanges(l);
      const all = [...strings(ranges)];
      const ex = strings(extra);
      return forwardedOrder(ranges, extra).map((r) => (r >= 0 ? all[r]! : ex[-1 - r]!));
    };
    const want = [["Zeta", "z"], ["__name__", "up"], ["job", "x"], ["source", "pg"], ["zone", "b"], ["é", "1"]];
    // sorted input (the usual case: merged), and unsorted input (sorted)
    expect(forwarded([["__name__", "up"], ["job", "x"], ["zone", "a"], ["é", "1"]])).toEqual(want);
    expect(forwarded([["zone", "a"], ["__name__", "up"], ["é", "1"], ["job", "x"]])).toEqual(want);
    expect(forwarded([])).toEqual([["Zeta", "z"], ["source", "pg"], ["zone", "b"]]);
    expect(forwardedOrder(labelRanges([["a", "1"], ["b", "2"]]), labelRanges([]))).toEqual([0, 1]);
  });
});

describe("selecting and encoding", () => {
  const series: SeriesSpec[] = [
    { labels: { __name__: "up", job: "api" }, samples: [[T0, 1], [T0 + 15_000, "stale"]] },
    { labels: { __name__: "up", job: "db" }, samples: [[T0, 0]] },
    { labels: { __name__: "http_requests_total", job: "api", code: "200" }, samples: [[T0, 5]] },
    { labels: { job: "api" }, samples: [[T0, 7]] },
  ];
  const rules = [compileRule(rule({ name: "api", match: { job: "api" }, extraLabels: { source: "pg" } })), compileRule(rule({ name: "up", match: { __name__: "up" } }))];

  for (const [name, bytes, protocol] of [["1.0", writeRequestBytes(series), "prw1"], ["2.0", writeRequestV2Bytes(series), "prw2"]] as const) {
    it(`takes from a ${name} request exactly the series each rule matches (none without __name__), samples and staleness intact`, () => {
      const picked = selectSeries(bytes, protocol, DEFAULT_LIMITS, rules);
      const names = picked.map((p) => p.map((s) => Object.fromEntries(strings(s.labels))));
      expect(names[0]).toEqual([{ __name__: "up", job: "api" }, { __name__: "http_requests_total", job: "api", code: "200" }]);
      expect(names[1]).toEqual([{ __name__: "up", job: "api" }, { __name__: "up", job: "db" }]);
      const encoded = encodeBatch(picked[0]!, rules[0]!.extraLabels, "1.0").body;
      const sent = decodeV1(encoded);
      expect(sent.map((s) => s.labels)).toEqual([
        [["__name__", "up"], ["job", "api"], ["source", "pg"]],
        [["__name__", "http_requests_total"], ["code", "200"], ["job", "api"], ["source", "pg"]],
      ]);
      expect(sent[0]!.samples.map(([t]) => t)).toEqual([T0, T0 + 15_000]);
      expect(Number.isNaN(sent[0]!.samples[1]![1])).toBe(true);
      expect(hasStaleMarker(encoded)).toBe(true);
    });
  }

  it("encodes remote write 2.0 with a symbols table starting with the empty string", () => {
    const picked = selectSeries(writeRequestBytes(series), "prw1", DEFAULT_LIMITS, rules);
    const batch = encodeBatch(picked[0]!, rules[0]!.extraLabels, "2.0");
    expect(batch.samples).toBe(3);
    const req = fromBinary(v2.RequestSchema, SnappyJS.uncompress(batch.body));
    expect(req.symbols[0]).toBe("");
    expect(new Set(req.symbols).size).toBe(req.symbols.length); // each string once: "api" and "job" serve both series
    const labels = req.timeseries.map((ts) => {
      const out: [string, string][] = [];
      for (let i = 0; i < ts.labelsRefs.length; i += 2) out.push([req.symbols[ts.labelsRefs[i]!]!, req.symbols[ts.labelsRefs[i + 1]!]!]);
      return out;
    });
    expect(labels[1]).toEqual([["__name__", "http_requests_total"], ["code", "200"], ["job", "api"], ["source", "pg"]]);
    expect(req.timeseries[0]!.samples.map((s) => Number(s.timestamp))).toEqual([T0, T0 + 15_000]);
    expect(hasStaleMarker(batch.body)).toBe(true);
  });

  it("forwards native histograms as sent, timestamps (and 2.0 start timestamps) written back, in either protocol", () => {
    const h: NativeHistogram = {
      float: false, schema: 1, zeroThreshold: 0.001, zeroCount: 2, count: 9, sum: 12.5,
      positiveSpans: [{ offset: 0, length: 2 }, { offset: 3, length: 1 }], positiveBuckets: [1, 3, 2],
      negativeSpans: [{ offset: -1, length: 1 }], negativeBuckets: [1], resetHint: ResetHint.No, customValues: [],
    };
    const spec: SeriesSpec[] = [{ labels: { __name__: "latency", job: "api" }, samples: [], histograms: [[T0, h], [T0 + 1000, h]], startMs: T0 - 60_000 }];
    const all = [compileRule(rule({ match: { job: "api" } }))];
    for (const [input, protocol] of [[writeRequestBytes(spec), "prw1"], [writeRequestV2Bytes(spec), "prw2"]] as const) {
      const [picked] = selectSeries(input, protocol, DEFAULT_LIMITS, all);
      const v1 = fromBinary(WriteRequestSchema, SnappyJS.uncompress(encodeBatch(picked!, NONE, "1.0").body)).timeseries[0]!.histograms;
      expect(v1.map((x) => Number(x.timestamp))).toEqual([T0, T0 + 1000]);
      for (const x of v1) expect(fromGeneratedHistogram(x)).toEqual(h);
      const v2ts = fromBinary(v2.RequestSchema, SnappyJS.uncompress(encodeBatch(picked!, NONE, "2.0").body)).timeseries[0]!.histograms;
      expect(v2ts.map((x) => Number(x.timestamp))).toEqual([T0, T0 + 1000]);
      expect(v2ts.map((x) => Number(x.startTimestamp))).toEqual(protocol === "prw2" ? [T0 - 60_000, T0 - 60_000] : [0, 0]);
      for (const x of v2ts) expect(fromGeneratedHistogram(x)).toEqual(h);
    }
  });

  it("writes timestamps of every size and sign with the right lengths (a wrong length breaks the whole request)", () => {
    const ts = [0, 1, 127, 128, 16_383, 16_384, 2 ** 28 - 1, 2 ** 28, 2 ** 35 - 1, 2 ** 35, T0, 2 ** 53 - 1, -1, -T0];
    const series: SelectedSeries[] = [{ labels: labelRanges([["__name__", "t"]]), samples: ts.map((t) => ({ timestampMs: t, value: 1, stale: false, startMs: t })), histograms: [] }];
    expect(fromBinary(WriteRequestSchema, SnappyJS.uncompress(encodeBatch(series, NONE, "1.0").body)).timeseries[0]!.samples.map((x) => Number(x.timestamp))).toEqual(ts);
    const got = fromBinary(v2.RequestSchema, SnappyJS.uncompress(encodeBatch(series, NONE, "2.0").body)).timeseries[0]!.samples;
    expect(got.map((x) => [Number(x.timestamp), Number(x.startTimestamp)])).toEqual(ts.map((t) => [t, t]));
  });

  it("cuts batches below the byte bound and a series above it into runs of its samples", () => {
    const mk = (i: number, n: number): SelectedSeries => ({
      labels: labelRanges([["__name__", `m${i}`]]),
      samples: Array.from({ length: n }, (_, k) => ({ timestampMs: T0 + k, value: k, stale: false, startMs: 0 })),
      histograms: [],
    });
    const many = Array.from({ length: 100 }, (_, i) => mk(i, 1));
    const groups = splitSeries(many, 500);
    expect(groups.length).toBeGreaterThan(1);
    expect(groups.flat()).toEqual(many); // nothing lost, order kept
    for (const g of groups) expect(g.reduce((n, s) => n + estimateBytes(s), 0)).toBeLessThanOrEqual(500);
    const big = mk(0, 1000);
    const pieces = splitSeries([big], 2000);
    expect(pieces.length).toBeGreaterThan(5);
    expect(pieces.flat().flatMap((s) => s.samples)).toEqual(big.samples);
    for (const g of pieces) expect(estimateBytes(g[0]!)).toBeLessThanOrEqual(2000);
    // the estimate bounds the real encoding
    for (const g of groups) expect(SnappyJS.uncompress(encodeBatch(g, NONE, "1.0").body).length).toBeLessThanOrEqual(500);
  });
});

describe("backoff", () => {
  it("starts at the minimum, doubles, stops at the maximum", () => {
    expect([1, 2, 3, 4, 5, 6, 7, 60].map((a) => backoffMs(a, 1000, 30_000))).toEqual([1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000]);
    expect(backoffMs(0, 1000, 30_000)).toBe(0);
    expect(backoffMs(10_000, 1000, 30_000)).toBe(30_000);
  });

  it("waits longer when the target's Retry-After asks for it, never beyond the maximum", () => {
    expect(retryDelayMs(1, 1000, 30_000, undefined)).toBe(1000);
    expect(retryDelayMs(1, 1000, 30_000, 5000)).toBe(5000);
    expect(retryDelayMs(4, 1000, 30_000, 5000)).toBe(8000);
    expect(retryDelayMs(1, 1000, 30_000, 3_600_000)).toBe(30_000);
  });
});

/** Events recorded as lines, the way /metrics would count them. */
function recorder() {
  const log: string[] = [];
  const dropped = new Map<DropReason, number>();
  const events: ForwardEvents = {
    sent: (t, r, n) => log.push(`sent ${t}/${r} ${n}`),
    failed: (t, r, reason) => log.push(`failed ${t}/${r} ${reason}`),
    dropped: (t, r, reason, n) => {
      log.push(`dropped ${t}/${r} ${reason} ${n}`);
      dropped.set(reason, (dropped.get(reason) ?? 0) + n);
    },
    queued: () => undefined,
  };
  return { log, dropped, events };
}

describe("in-process queue", () => {
  const batch = (rule: string, bytes: number, samples = 1): QueuedBatch => ({ tenant: "t", rule, body: new Uint8Array(bytes), samples, attempts: 0 });
  const opts = { maxBytes: 1000, maxAttempts: 4, minBackoffMs: 100, maxBackoffMs: 250 };

  it("retries 5xx/429/network with exponential backoff, keeps the lane's order, and sends each batch once it succeeds", async () => {
    const { log, events } = recorder();
    const waits: number[] = [];
    const script: SendOutcome["kind"][] = ["retry", "retry", "sent", "sent"];
    const order: number[] = [];
    const q = new MemoryQueue(opts, async (b) => {
      order.push(b.samples);
      const kind = script.shift()!;
      return kind === "retry" ? { kind, reason: "5xx" } : { kind: "sent" };
    }, events, async (ms) => void waits.push(ms));
    q.push(batch("a", 10, 1));
    q.push(batch("a", 10, 2));
    await q.idle();
    expect(order).toEqual([1, 1, 1, 2]);
    expect(waits).toEqual([100, 200]);
    expect(log).toEqual(["failed t/a 5xx", "failed t/a 5xx", "sent t/a 1", "sent t/a 2"]);
    expect([q.bytes, q.batches]).toEqual([0, 0]);
  });

  it("waits as long as a target's Retry-After asks, up to the maximum backoff", async () => {
    const { events } = recorder();
    const waits: number[] = [];
    const script: SendOutcome[] = [{ kind: "retry", reason: "429", retryAfterMs: 220 }, { kind: "retry", reason: "5xx", retryAfterMs: 10_000 }, { kind: "sent" }];
    const q = new MemoryQueue(opts, async () => script.shift()!, events, async (ms) => void waits.push(ms));
    q.push(batch("a", 10));
    await q.idle();
    expect(waits).toEqual([220, 250]);
  });

  it("drops a 4xx at once, and a batch that failed maxAttempts times, counting both", async () => {
    const { dropped, events } = recorder();
    let sends = 0;
    const q = new MemoryQueue(opts, async (b) => {
      sends++;
      return b.rule === "bad" ? { kind: "rejected", status: 400 } : { kind: "retry", reason: "network" };
    }, events, async () => undefined);
    q.push(batch("bad", 10, 3));
    await q.idle();
    expect(sends).toBe(1);
    q.push(batch("down", 10, 5));
    await q.idle();
    expect(sends).toBe(1 + opts.maxAttempts);
    expect(Object.fromEntries(dropped)).toEqual({ rejected: 3, retries_exhausted: 5 });
  });

  it("never holds more than its bound: what does not fit is dropped and counted", async () => {
    const { dropped, events } = recorder();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const q = new MemoryQueue(opts, async () => {
      await gate;
      return { kind: "sent" };
    }, events, async () => undefined);
    expect(q.push(batch("a", 400, 1))).toBe(true);
    expect(q.push(batch("b", 400, 1))).toBe(true);
    expect(q.push(batch("a", 400, 7))).toBe(false);
    expect(q.bytes).toBe(800);
    expect(q.push(batch("c", 200, 1))).toBe(true);
    expect(q.bytes).toBe(1000);
    expect(dropped.get("queue_full")).toBe(7);
    release();
    await q.idle();
    expect(q.bytes).toBe(0);
  });

  it("a target that is down holds up only its own lane", async () => {
    const { log, events } = recorder();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const q = new MemoryQueue(opts, async (b) => {
      if (b.rule === "slow") await gate;
      return { kind: "sent" };
    }, events, async () => undefined);
    q.push(batch("slow", 10));
    q.push(batch("fast", 10));
    await new Promise((r) => setTimeout(r, 20));
    expect(log).toEqual(["sent t/fast 1"]);
    release();
    await q.idle();
  });
});

/** A target that answers each request with the next status of a script, recording what it got. */
async function target(statuses: (number | [number, Record<string, string>])[]) {
  const got: { headers: IncomingMessage["headers"]; body: Uint8Array }[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      got.push({ headers: req.headers, body: new Uint8Array(Buffer.concat(chunks)) });
      const next = statuses.shift() ?? 204;
      const [status, headers] = typeof next === "number" ? [next, {}] : next;
      res.writeHead(status, headers);
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}/api/v1/write`, got, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe("sending to a target", () => {
  let t: Awaited<ReturnType<typeof target>>;
  beforeAll(async () => {
    t = await target([]);
  });
  afterAll(() => t.close());

  it("sends remote_write headers and credentials; maps the answer to sent / retry / rejected", async () => {
    const body = encodeBatch([], NONE, "1.0").body;
    const r1 = rule({ url: t.url, bearerToken: "secret-token", headers: { "X-Scope-OrgID": "team" } });
    const r2 = rule({ url: t.url, protocol: "2.0" });
    const outcomes: SendOutcome[] = [];
    for (const [status, r] of [[204, r1], [503, r1], [429, r1], [400, r1], [413, r2]] as const) {
      t.got.length = 0;
      const s = await target([status]);
      outcomes.push(await sendBatch(fetch, { ...r, url: s.url }, body, 5000, "promgate/test"));
      if (status === 204) {
        expect(s.got[0]!.headers).toMatchObject({ authorization: "Bearer secret-token", "x-scope-orgid": "team", "content-encoding": "snappy", "content-type": "application/x-protobuf", "x-prometheus-remote-write-version": "0.1.0", "user-agent": "promgate/test" });
      }
      if (status === 413) expect(s.got[0]!.headers).toMatchObject({ "content-type": "application/x-protobuf;proto=io.prometheus.write.v2.Request", "x-prometheus-remote-write-version": "2.0.0" });
      await s.close();
    }
    expect(outcomes).toEqual([{ kind: "sent" }, { kind: "retry", reason: "5xx" }, { kind: "retry", reason: "429" }, { kind: "rejected", status: 400 }, { kind: "rejected", status: 413 }]);
    const later = await target([[429, { "retry-after": "7" }], [503, { "retry-after": "Wed, 21 Oct 2015 07:28:00 GMT" }]]);
    expect(await sendBatch(fetch, { ...r1, url: later.url }, body, 5000, "promgate/test")).toEqual({ kind: "retry", reason: "429", retryAfterMs: 7000 });
    expect(await sendBatch(fetch, { ...r1, url: later.url }, body, 5000, "promgate/test")).toEqual({ kind: "retry", reason: "5xx" });
    await later.close();
    const closed = await target([]);
    await closed.close();
    expect(await sendBatch(fetch, { ...r1, url: closed.url }, body, 5000, "promgate/test")).toEqual({ kind: "retry", reason: "network" });
  });
});

describe("Workers queue", () => {
  it("sends each batch as its own message, serialised so its bytes come back as bytes", async () => {
    const sent: unknown[] = [];
    const producer = { sendBatch: async (msgs: Iterable<{ body: unknown; contentType?: string }>) => void sent.push(...msgs) };
    const body = encodeBatch([], NONE, "1.0").body;
    await enqueue(producer, [{ tenant: "t", rule: "a", body, samples: 1 }, { tenant: "t", rule: "b", body, samples: 2 }]);
    // The queue's default ("json") would turn the bytes into an object of numbered keys.
    expect(sent).toEqual([{ body: { tenant: "t", rule: "a", body, samples: 1 }, contentType: "v8" }, { body: { tenant: "t", rule: "b", body, samples: 2 }, contentType: "v8" }]);
  });
});

describe("Workers queue consumer", () => {
  /** A queue message as the Workers runtime hands it over: the settlement is what the runtime acts on. */
  const message = (body: unknown, attempts: number) => {
    const m = { body, attempts, settled: "" as string, ack: () => void (m.settled = "ack"), retry: (o?: { delaySeconds?: number }) => void (m.settled = `retry ${o?.delaySeconds}`) };
    return m satisfies QueueMessage;
  };

  it("acks sent and 4xx-refused batches, retries the rest after the backoff of their attempt, drops batches of removed rules", async () => {
    const t = await target([204, 400, 503, 503]);
    const config = loadConfig({
      PROMGATE_TENANTS: JSON.stringify({ ...TEST_TENANTS, teama: { ...TEST_TENANTS.teama, forward: [{ name: "r", url: t.url, match: { job: "x" } }] } }),
      PROMGATE_FORWARD_MIN_BACKOFF: "2s",
      PROMGATE_FORWARD_MAX_BACKOFF: "5s",
    });
    const { dropped, events } = recorder();
    const body = encodeBatch([], NONE, "1.0").body;
    const msgs = [1, 1, 1, 3].map((a) => message({ tenant: "teama", rule: "r", body, samples: 2 }, a));
    for (const m of msgs) await consumeForwardBatch([m], config, fetch, events, "promgate/test");
    expect(msgs.map((m) => m.settled)).toEqual(["ack", "ack", "retry 2", "retry 5"]);
    const gone = message({ tenant: "teama", rule: "removed", body, samples: 4 }, 1);
    const foreign = message("not a batch", 1);
    await consumeForwardBatch([gone, foreign], config, fetch, events, "promgate/test");
    expect([gone.settled, foreign.settled]).toEqual(["ack", "ack"]);
    expect(Object.fromEntries(dropped)).toEqual({ rejected: 2, rule_removed: 4, unreadable: 0 });
    // The bytes may come back as an ArrayBuffer or a typed array of another realm: both are read.
    const asBuffer = message({ tenant: "teama", rule: "r", body: body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength), samples: 1 }, 1);
    await consumeForwardBatch([asBuffer], config, fetch, events, "promgate/test");
    expect(asBuffer.settled).toBe("ack");
    expect(t.got.at(-1)!.body).toEqual(body);
    expect(t.got).toHaveLength(5);
    await t.close();
  });
});

describe("the write path", () => {
  it("answers from Elasticsearch alone, then forwards the matching series with the extra labels", async () => {
    const t = await target([]);
    const es = fakeEs(allCreated);
    const tenants = { ...TEST_TENANTS, dev: { ...TEST_TENANTS.dev, forward: [{ name: "api", url: t.url, match: { job: "api" }, extraLabels: { source: "pg" } }] } };
    const config = loadConfig({ ES_URL: "http://127.0.0.1:9200", PROMGATE_TENANTS: JSON.stringify(tenants) });
    // Elasticsearch is the fake; the target is a real HTTP server.
    const deps = { ...es.deps, fetch: (input: Request | string | URL, init?: RequestInit) => (String(input).startsWith(t.url) ? fetch(input, init) : es.deps.fetch(input, init)) };
    const { app, forwarder } = createGateway(config, deps);
    const body = writeBody([
      { labels: { __name__: "up", job: "api" }, samples: [[T0, 1]] },
      { labels: { __name__: "up", job: "db" }, samples: [[T0, 1]] },
    ]);
    const res = await app.request("/api/v1/write", { method: "POST", body, headers: { ...PRW1_HEADERS, authorization: basic("dev", "dev-password") } });
    expect(res.status).toBe(204);
    expect(t.got).toHaveLength(0); // not sent within the request
    await new Promise((r) => setTimeout(r, 5));
    await forwarder.memory!.idle();
    expect(t.got).toHaveLength(1);
    expect(decodeV1(t.got[0]!.body).map((s) => s.labels)).toEqual([[["__name__", "up"], ["job", "api"], ["source", "pg"]]]);
    const metrics = await (await app.request("/metrics", { headers: { authorization: basic("dev", "dev-password") } })).text();
    expect(metrics).toContain('promgate_forward_sent_samples_total{tenant="dev",rule="api"} 1');
    await t.close();
  });

  it("a refused or malformed request forwards nothing; a tenant without rules never reaches forwarding", async () => {
    const t = await target([]);
    const es = fakeEs(allCreated);
    const tenants = { ...TEST_TENANTS, dev: { ...TEST_TENANTS.dev, limits: { ingestionRate: 1, ingestionBurst: 1 }, forward: [{ name: "all", url: t.url, match: { __name__: ".+" } }] } };
    const config = loadConfig({ ES_URL: "http://127.0.0.1:9200", PROMGATE_TENANTS: JSON.stringify(tenants) });
    const deps = { ...es.deps, fetch: (input: Request | string | URL, init?: RequestInit) => (String(input).startsWith(t.url) ? fetch(input, init) : es.deps.fetch(input, init)) };
    const { app, forwarder } = createGateway(config, deps);
    const headers = { ...PRW1_HEADERS, authorization: basic("dev", "dev-password") };
    const two = writeBody([{ labels: { __name__: "up", job: "a" }, samples: [[T0, 1], [T0 + 1, 1]] }]);
    expect((await app.request("/api/v1/write", { method: "POST", body: two, headers })).status).toBe(413); // beyond the burst
    expect((await app.request("/api/v1/write", { method: "POST", body: new Uint8Array([3, 1, 2]), headers })).status).toBe(400);
    const teama = { ...PRW1_HEADERS, authorization: basic("teama", "team-a-password") };
    expect((await app.request("/metrics/teama/api/v1/write", { method: "POST", body: writeBody([{ labels: { __name__: "up" }, samples: [[T0, 1]] }]), headers: teama })).status).toBe(204);
    await new Promise((r) => setTimeout(r, 5));
    await forwarder.memory!.idle();
    expect(t.got).toHaveLength(0);
    await t.close();
  });
});
