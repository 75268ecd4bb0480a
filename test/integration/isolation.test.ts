import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import SnappyJS from "snappyjs";
import { beforeAll, describe, expect, it } from "vitest";
import { createApp, defaultDeps } from "../../src/app.js";
import { loadConfig } from "../../src/config.js";
import { ReadRequest_ResponseType, ReadRequestSchema, ReadResponseSchema } from "../../src/gen/prometheus/remote_pb.js";
import { LabelMatcher_Type } from "../../src/gen/prometheus/types_pb.js";
import { decodeFrames, samplesBySeries } from "../helpers/chunks.js";
import { basic, PRW1_HEADERS } from "../helpers/config.js";
import { countDocs, gateEnv, uniquePart } from "../helpers/es.js";
import { MetricMetadata_MetricType, snappy, writeBody } from "../helpers/payload.js";

/**
 * Two tenants configured with credentials only (the default), writing different series into the real
 * Elasticsearch: nothing of tenant A — series, label names, label values, sample values, metadata, query
 * results, remote_read answers, status page — may appear in what tenant B is answered, on any route prefix,
 * and B may not write into A's streams. Every marker of A is first shown to come back to A itself, so a
 * marker's absence from B's answers means B was kept out, not that the marker was never there.
 */

const A = uniquePart("alpha"); // tenant ids double as namespaces: unique per run
const B = uniquePart("beta");
const A_AUTH = basic(A, "alpha-password");
const B_AUTH = "Bearer beta-token-0123456789";
const logs: string[] = [];
const app = (() => {
  const config = loadConfig({
    ...gateEnv(),
    PROMGATE_TENANTS: JSON.stringify({ [A]: { password: "alpha-password" }, [B]: { tokens: ["beta-token-0123456789"] } }),
  });
  return createApp(config, { ...defaultDeps(), log: (l) => void logs.push(l) });
})();

const T0 = Date.now() - 10 * 60_000;
const STEP = 15_000;
/** Strings and numbers that occur only in A's data. */
const MARK = {
  metric: `alpha_secret_metric_${A}`,
  labelName: `alpha_only_label_${A}`,
  labelValue: `alpha-only-value-${A}`,
  job: `alpha-job-${A}`,
  help: `Alpha's private help text ${A}.`,
  value: 271828.1828,
};
const A_SERIES = [
  { labels: { __name__: MARK.metric, job: MARK.job, [MARK.labelName]: MARK.labelValue }, samples: [[T0, MARK.value], [T0 + STEP, MARK.value + 1]] as [number, number][] },
  { labels: { __name__: "shared_name_total", job: MARK.job }, samples: [[T0, MARK.value + 2]] as [number, number][] },
];
const B_SERIES = [
  { labels: { __name__: "beta_metric", job: "beta-job" }, samples: [[T0, 42], [T0 + STEP, 43]] as [number, number][] },
  { labels: { __name__: "shared_name_total", job: "beta-job" }, samples: [[T0, 7]] as [number, number][] },
];
/** The textual forms a leaked sample value could take in a JSON answer. */
const VALUE_TEXTS = [MARK.value, MARK.value + 1, MARK.value + 2].map(String);
const MARK_TEXTS = [A, MARK.metric, MARK.labelName, MARK.labelValue, MARK.job, MARK.help, ...VALUE_TEXTS];

const write = (path: string, auth: string, body: Uint8Array<ArrayBuffer>) =>
  app.request(path, { method: "POST", body, headers: { ...PRW1_HEADERS, authorization: auth } });

const streamsOf = (ns: string) => `metrics-generic.prometheus-${ns},metrics-iso.prometheus-${ns}`;

beforeAll(async () => {
  const meta = [{ family: MARK.metric, type: MetricMetadata_MetricType.GAUGE, help: MARK.help, unit: "alphaunits" }];
  // A writes without naming a namespace (lands in its own) and through a dataset route; so does B.
  expect((await write("/api/v1/write", A_AUTH, writeBody(A_SERIES.slice(0, 1), meta))).status).toBe(204);
  expect((await write("/metrics/iso/api/v1/write", A_AUTH, writeBody(A_SERIES.slice(1)))).status).toBe(204);
  expect((await write("/api/v1/write", B_AUTH, writeBody(B_SERIES.slice(0, 1), [{ family: "beta_metric", type: MetricMetadata_MetricType.GAUGE, help: "Beta.", unit: "" }]))).status).toBe(204);
  expect((await write("/metrics/iso/api/v1/write", B_AUTH, writeBody(B_SERIES.slice(1)))).status).toBe(204);
  await countDocs(`${streamsOf(A)},${streamsOf(B)},promgate-metadata`); // refresh
});

const PREFIXES = ["", "/metrics/generic", "/metrics/iso"];
const T = `start=${Math.floor(T0 / 1000) - 60}&end=${Math.floor(T0 / 1000) + 300}`;
const ALL = encodeURIComponent('{__name__=~".+"}');
const READS = [
  `/api/v1/series?match[]=${ALL}&${T}`,
  `/api/v1/series?match[]=${encodeURIComponent(`{${MARK.labelName}=~".+"}`)}&${T}`,
  `/api/v1/labels?${T}`,
  `/api/v1/labels?match[]=${ALL}&${T}`,
  `/api/v1/label/__name__/values?${T}`,
  `/api/v1/label/job/values?${T}`,
  `/api/v1/label/${MARK.labelName}/values?${T}`,
  "/api/v1/metadata",
  `/api/v1/metadata?metric=${MARK.metric}`,
  `/api/v1/query?query=${ALL}&time=${Math.floor(T0 / 1000) + 20}`,
  `/api/v1/query?query=${encodeURIComponent("sum by (job) (shared_name_total)")}&time=${Math.floor(T0 / 1000) + 20}`,
  `/api/v1/query_range?query=${ALL}&${T}&step=15`,
  `/api/v1/query_range?query=${encodeURIComponent(`count_values("v", ${MARK.metric})`)}&${T}&step=15`,
  `/api/v1/query_exemplars?query=${encodeURIComponent(MARK.metric)}&${T}`,
];

async function text(path: string, auth: string): Promise<{ status: number; body: string }> {
  const res = await app.request(path, { headers: { authorization: auth } });
  return { status: res.status, body: await res.text() };
}

const leaks = (body: string) => MARK_TEXTS.filter((m) => body.includes(m));

describe("two tenants with default configuration", () => {
  it("each answer to A carries A's data (the markers are there to be leaked)", async () => {
    const seen = new Set<string>();
    for (const p of READS) {
      const r = await text(p, A_AUTH);
      expect(r.status, p).toBe(200);
      for (const m of leaks(r.body)) seen.add(m);
    }
    expect([...seen].sort()).toEqual([...MARK_TEXTS].sort());
  });

  it.each(PREFIXES)("nothing of A in B's answers under prefix %o (HTTP API)", async (prefix) => {
    for (const p of READS) {
      const r = await text(`${prefix}${p}`, B_AUTH);
      expect(r.status, `${prefix}${p}: ${r.body}`).toBe(200);
      expect(leaks(r.body), `${prefix}${p}: ${r.body}`).toEqual([]);
    }
    // and B's own data is there, so the answers were not simply empty
    const own = JSON.parse((await text(`${prefix}/api/v1/label/job/values?${T}`, B_AUTH)).body) as { data: string[] };
    expect(own.data).toEqual(["beta-job"]);
  });

  it("B may not read a route naming A's namespace (403 on every read route)", async () => {
    for (const ds of ["generic", "iso"]) {
      for (const p of READS) {
        const r = await text(`/metrics/${ds}/${A}${p}`, B_AUTH);
        expect(r.status, `${p}`).toBe(403);
        expect(r.body).toContain(`may not read metrics-${ds}.prometheus-${A}`);
      }
    }
  });

  describe("remote_read", () => {
    const request = (type: ReadRequest_ResponseType) =>
      snappy(
        toBinary(ReadRequestSchema, create(ReadRequestSchema, {
          queries: [
            { startTimestampMs: BigInt(T0 - 60_000), endTimestampMs: BigInt(T0 + 300_000), matchers: [{ type: LabelMatcher_Type.RE, name: "__name__", value: ".+" }] },
            { startTimestampMs: BigInt(T0 - 60_000), endTimestampMs: BigInt(T0 + 300_000), matchers: [{ type: LabelMatcher_Type.EQ, name: "__name__", value: MARK.metric }] },
          ],
          acceptedResponseTypes: [type],
        })),
      );
    const read = (path: string, auth: string, type: ReadRequest_ResponseType) =>
      app.request(path, { method: "POST", body: request(type), headers: { "content-type": "application/x-protobuf", "content-encoding": "snappy", authorization: auth } });

    /** Label sets and values of every series an answer holds, whichever response type. */
    async function answer(res: Response, type: ReadRequest_ResponseType): Promise<{ bytes: string; values: number[] }> {
      const raw = new Uint8Array(await res.arrayBuffer());
      if (type === ReadRequest_ResponseType.SAMPLES) {
        const plain = SnappyJS.uncompress(raw);
        const decoded = fromBinary(ReadResponseSchema, plain);
        return {
          bytes: new TextDecoder().decode(plain),
          values: decoded.results.flatMap((r) => r.timeseries.flatMap((ts) => ts.samples.map((s) => s.value))),
        };
      }
      const frames = decodeFrames(raw);
      const bySeries = samplesBySeries(frames);
      const values = [...bySeries.values()].flatMap((samples) => samples.map((s) => new DataView(new BigUint64Array([BigInt(`0x${s.bits}`)]).buffer).getFloat64(0, true)));
      return { bytes: new TextDecoder().decode(raw), values };
    }

    it.each([ReadRequest_ResponseType.SAMPLES, ReadRequest_ResponseType.STREAMED_XOR_CHUNKS])("type %s: A gets its series, B gets none of them", async (type) => {
      const mine = await answer(await read("/api/v1/read", A_AUTH, type), type);
      expect(mine.bytes).toContain(MARK.labelValue);
      expect(mine.values).toContain(MARK.value);
      for (const prefix of PREFIXES) {
        const res = await read(`${prefix}/api/v1/read`, B_AUTH, type);
        expect(res.status, prefix).toBe(200);
        const theirs = await answer(res, type);
        expect(leaks(theirs.bytes), prefix).toEqual([]);
        expect(theirs.values.filter((v) => [MARK.value, MARK.value + 1, MARK.value + 2].includes(v)), prefix).toEqual([]);
        expect(theirs.bytes, prefix).toContain("beta-job");
      }
      expect((await read(`/metrics/generic/${A}/api/v1/read`, B_AUTH, type)).status).toBe(403);
    });
  });

  it("each status page lists its tenant's streams only, and nothing of the cluster", async () => {
    for (const [auth, own, other] of [[A_AUTH, A, B], [B_AUTH, B, A]] as const) {
      const r = await text("/", auth);
      expect(r.status).toBe(200);
      expect(r.body).toContain(`<tr data-stream="metrics-generic.prometheus-${own}">`);
      expect(r.body).toContain(`<tr data-stream="metrics-iso.prometheus-${own}">`);
      expect(r.body).not.toContain(other);
      expect(r.body).not.toContain('id="es-version"');
      expect(r.body).not.toContain('id="es-health"');
    }
    expect(leaks((await text("/", B_AUTH)).body)).toEqual([]);
  });

  it("B may not write into A's streams (403) and A's streams keep exactly A's documents", async () => {
    const before = await countDocs(streamsOf(A));
    const intruder = writeBody([{ labels: { __name__: "intruder", job: "beta-job" }, samples: [[T0 + 2 * STEP, 1]] }]);
    for (const path of [`/metrics/generic/${A}/api/v1/write`, `/metrics/iso/${A}/api/v1/write`, `/metrics/other/${A}/api/v1/write`]) {
      const res = await write(path, B_AUTH, intruder);
      expect(res.status, path).toBe(403);
      expect(await res.text()).toMatch(new RegExp(`^tenant "${B}" may not write to metrics-\\w+\\.prometheus-${A}\\n$`));
    }
    expect(await countDocs(streamsOf(A))).toBe(before);
    expect(before).toBe(3);
    expect(await countDocs(`metrics-*.prometheus-${A}`, { term: { "labels.__name__": "intruder" } })).toBe(0);
  });

  it("neither may read /metrics (every tenant's ids and volumes); each got a startup warning line", async () => {
    for (const auth of [A_AUTH, B_AUTH]) {
      const r = await text("/metrics", auth);
      expect(r.status).toBe(403);
      expect(r.body).not.toContain("promgate_samples");
    }
    const warnings = logs.map((l) => JSON.parse(l) as { level: string; msg: string }).filter((l) => l.level === "warn" && l.msg.startsWith("PROMGATE_TENANTS."));
    expect(warnings.map((w) => w.msg.split(" ")[0])).toEqual([`PROMGATE_TENANTS.${A}`, `PROMGATE_TENANTS.${B}`]);
  });
});
