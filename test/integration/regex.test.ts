import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import SnappyJS from "snappyjs";
import { beforeAll, describe, expect, it } from "vitest";
import { createApp, defaultDeps } from "../../src/app.js";
import { ReadRequest_ResponseType, ReadRequestSchema, ReadResponseSchema } from "../../src/gen/prometheus/remote_pb.js";
import { LabelMatcher_Type } from "../../src/gen/prometheus/types_pb.js";
import { basic, PRW1_HEADERS } from "../helpers/config.js";
import { countDocs, integrationConfig, uniquePart } from "../helpers/es.js";
import { type SeriesSpec, snappy, writeBody } from "../helpers/payload.js";

/**
 * Label regexes against the real Elasticsearch: long alternations (Grafana multi-value variables) and
 * long patterns must answer as Prometheus does, though Elasticsearch refuses a `regexp` over 1,000
 * characters; patterns that make a backtracking engine take exponential time must answer at all.
 * Expected answers come from set membership or from JavaScript's own RegExp on harmless patterns, never
 * from the code under test.
 */

const app = createApp(integrationConfig({ PROMGATE_QUERY_TIMEOUT: "20s" }), defaultDeps());
const DEV = basic("dev", "promgate-dev");
const ns = uniquePart("rx");
const prefix = `/metrics/itregex/${ns}`;
const T0 = Date.now() - 10 * 60_000;

const HOSTS = 5200;
const host = (i: number) => `host-${i}.example.com:9100`;
/** Every instance stored: numbered hosts, a dotted address and its decoy, mixed case, a KELVIN SIGN. */
const STORED = [
  ...Array.from({ length: HOSTS }, (_, i) => host(i)),
  "10.0.0.1:9100",
  "10x0x0x1:9100",
  "Mixed-1.Example.COM",
  "mixed-2.example.com",
  "MIXED-3.EXAMPLE.COM",
  "\u212aelvin", // RE2's (?i)k matches KELVIN SIGN
];
const LONG = "a".repeat(4000); // under the default 4 KiB label value limit

const quoteRe2 = (s: string) => s.replace(/[\\.+*?()|[\]{}^$]/g, "\\$&");
/** A PromQL double-quoted string, as Grafana writes one (a regex's backslashes doubled). */
const promqlString = (s: string) => `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;

beforeAll(async () => {
  const series: SeriesSpec[] = [
    ...STORED.map((instance) => ({ labels: { __name__: "rx_up", job: "node", instance }, samples: [[T0, 1]] as SeriesSpec["samples"] })),
    { labels: { __name__: "rx_up", job: "noinstance" }, samples: [[T0, 1]] },
    { labels: { __name__: "rx_long", v: LONG }, samples: [[T0, 1]] },
    { labels: { __name__: "rx_long", v: `${"x".repeat(4000)}` }, samples: [[T0, 2]] },
  ];
  const res = await app.request(`${prefix}/api/v1/write`, { method: "POST", body: writeBody(series), headers: { ...PRW1_HEADERS, authorization: DEV } });
  expect(res.status).toBe(204);
  await countDocs(`metrics-itregex.prometheus-${ns}`); // refresh
});

async function post(path: string, params: Record<string, string>): Promise<{ status: number; body: { status: string; data: unknown; error?: string } }> {
  const res = await app.request(`${prefix}${path}`, {
    method: "POST",
    headers: { authorization: DEV, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(params).toString(),
  });
  return { status: res.status, body: (await res.json()) as { status: string; data: unknown; error?: string } };
}

/** Instances of the series each read path selects for `rx_up{instance<op>regex}` ("" = no instance label). */
const paths = {
  async series(op: string, re: string) {
    const r = await post("/api/v1/series", { "match[]": `rx_up{instance${op}${promqlString(re)}}`, start: String(T0 / 1000 - 60) });
    expect(r.status, r.body.error).toBe(200);
    return (r.body.data as Record<string, string>[]).map((l) => l.instance ?? "");
  },
  async query(op: string, re: string) {
    const r = await post("/api/v1/query", { query: `rx_up{instance${op}${promqlString(re)}}`, time: String(T0 / 1000 + 1) });
    expect(r.status, r.body.error).toBe(200);
    return (r.body.data as { result: { metric: Record<string, string> }[] }).result.map((s) => s.metric.instance ?? "");
  },
  async labelValues(op: string, re: string) {
    const r = await post("/api/v1/label/instance/values", { "match[]": `rx_up{instance${op}${promqlString(re)}}`, start: String(T0 / 1000 - 60) });
    expect(r.status, r.body.error).toBe(200);
    const values = r.body.data as string[];
    // The series without the label has no value to list: add it back when it is selected.
    const bare = await post("/api/v1/series", { "match[]": `rx_up{job="noinstance",instance${op}${promqlString(re)}}`, start: String(T0 / 1000 - 60) });
    return (bare.body.data as unknown[]).length > 0 ? [...values, ""] : values;
  },
  async remoteRead(op: string, re: string) {
    const type = op === "=~" ? LabelMatcher_Type.RE : LabelMatcher_Type.NRE;
    const body = snappy(
      toBinary(
        ReadRequestSchema,
        create(ReadRequestSchema, {
          queries: [
            {
              startTimestampMs: BigInt(T0 - 60_000),
              endTimestampMs: BigInt(T0 + 60_000),
              matchers: [
                { type: LabelMatcher_Type.EQ, name: "__name__", value: "rx_up" },
                { type, name: "instance", value: re },
              ],
            },
          ],
          acceptedResponseTypes: [ReadRequest_ResponseType.SAMPLES],
        }),
      ),
    );
    const res = await app.request(`${prefix}/api/v1/read`, {
      method: "POST",
      body,
      headers: { "content-type": "application/x-protobuf", "content-encoding": "snappy", authorization: DEV },
    });
    expect(res.status).toBe(200);
    const decoded = fromBinary(ReadResponseSchema, SnappyJS.uncompress(new Uint8Array(await res.arrayBuffer())));
    return decoded.results[0]!.timeseries.map((ts) => ts.labels.find((l) => l.name === "instance")?.value ?? "");
  },
};

const ALL = [...STORED, ""];
const sorted = (xs: string[]) => [...xs].sort();

/** `n` alternatives: every fifth a host that is not stored. */
function alternatives(n: number): string[] {
  return Array.from({ length: n }, (_, k) => (k % 5 === 4 ? `nohost-${k}.example.com:9100` : host(k)));
}

describe.each(Object.keys(paths) as (keyof typeof paths)[])("%s", (path) => {
  const read = paths[path];

  it.each([10, 500, 5000])("an alternation of %d values (Grafana's (a|b|…)) selects exactly those series", async (n) => {
    const values = alternatives(n);
    const re = `(${values.map(quoteRe2).join("|")})`;
    if (n >= 500) expect(re.length).toBeGreaterThan(1000);
    const want = new Set(values);
    expect(sorted(await read("=~", re))).toEqual(sorted(STORED.filter((v) => want.has(v))));
    if (n === 500) expect(sorted(await read("!~", re))).toEqual(sorted(ALL.filter((v) => !want.has(v))));
  });

  it("escaped metacharacters and the empty alternative mean what RE2 says", async () => {
    expect(sorted(await read("=~", "10\\.0\\.0\\.1:9100|host-7\\.example\\.com:9100"))).toEqual(sorted(["10.0.0.1:9100", host(7)]));
    expect(sorted(await read("=~", "(10\\.0\\.0\\.1:9100|)"))).toEqual(sorted(["10.0.0.1:9100", ""]));
    expect(await read("!~", `(${alternatives(20).map(quoteRe2).join("|")}|)`)).not.toContain("");
  });

  it("a case-insensitive alternation folds as RE2 does", async () => {
    const values = ["mixed-1.example.com", "MIXED-2.EXAMPLE.COM", "mixed-3.Example.com", "kelvin", ...alternatives(300).map((v) => v.toUpperCase())];
    const re = `(?i)(${values.map(quoteRe2).join("|")})`;
    expect(re.length).toBeGreaterThan(1000);
    const lower = new Set(values.map((v) => v.toLowerCase()));
    const want = STORED.filter((v) => lower.has(v.replace("\u212a", "k").toLowerCase()));
    expect(want).toContain("\u212aelvin");
    expect(sorted(await read("=~", re))).toEqual(sorted(want));
  });

  it("a 2,000-character pattern that is no list of literals", async () => {
    const picks = Array.from({ length: 70 }, (_, k) => 37 * k + 3);
    const re = `(${picks.map((i) => `host-${i}\\.example\\.c.m:9[0-9]+`).join("|")})`;
    expect(re.length).toBeGreaterThan(2000);
    const oracle = new RegExp(`^(?:${re})$`, "s");
    const want = STORED.filter((v) => oracle.test(v));
    expect(want).toHaveLength(70);
    expect(sorted(await read("=~", re))).toEqual(sorted(want));
    expect(sorted(await read("!~", re))).toEqual(sorted(ALL.filter((v) => !oracle.test(v))));
  });

  it("a short pattern Elasticsearch refuses to determinize is matched in promgate", async () => {
    // Lucene gives up on `.*1.{17}` (determinizing it is exponential in the count); Prometheus answers it.
    const re = ".*1.{17}";
    const oracle = new RegExp(`^(?:${re})$`, "s");
    const want = STORED.filter((v) => oracle.test(v));
    expect(want.length).toBeGreaterThan(100);
    expect(sorted(await read("=~", re))).toEqual(sorted(want));
    expect(sorted(await read("!~", re))).toEqual(sorted(ALL.filter((v) => !oracle.test(v))));
  });
});

describe("patterns that make a backtracking engine take exponential time", () => {
  // JavaScript's RegExp, which evaluated matchers before, never came back from these on a 4,000-character
  // value: the process stopped answering altogether (no query timeout can interrupt a synchronous match).
  // Values named by first character and length: "a4000" is LONG.
  const short = (v: string) => `${v[0]}${v.length}`;
  it.each([
    ['rx_long{v!~"(a|aa)*b"}', ["a4000", "x4000"]],
    ['rx_long{v=~"(a|aa)*b"}', []],
    ['rx_long{v=~"(a|aa)*"}', ["a4000"]],
    ['rx_long{v!~"(x+x+)+y"}', ["a4000", "x4000"]],
    ['rx_long{v=~"(a*)*b|(x+x+)+"}', ["x4000"]],
  ])("%s answers within the query timeout", async (query, want) => {
    const r = await post("/api/v1/query", { query, time: String(T0 / 1000 + 1) });
    expect(r.status, r.body.error).toBe(200);
    expect(sorted((r.body.data as { result: { metric: Record<string, string> }[] }).result.map((s) => short(s.metric.v!)))).toEqual(want);
  });

  it("label_replace with such a pattern answers too", async () => {
    const r = await post("/api/v1/query", { query: 'label_replace(rx_long, "d", "matched", "v", "(a|aa)*b|(x+x+)+")', time: String(T0 / 1000 + 1) });
    expect(r.status, r.body.error).toBe(200);
    const result = (r.body.data as { result: { metric: Record<string, string> }[] }).result;
    expect(result.map((s) => `${s.metric.v![0]}:${s.metric.d ?? "-"}`).sort()).toEqual(["a:-", "x:matched"]);
  });

  it("the series API too", async () => {
    const r = await post("/api/v1/series", { "match[]": 'rx_long{v!~"(a|aa)*b"}', start: String(T0 / 1000 - 60) });
    expect(r.status, r.body.error).toBe(200);
    expect(r.body.data).toHaveLength(2);
  });
});
