import { describe, expect, it } from "vitest";
import { ConfigError, DEFAULT_LIMITS, loadConfig } from "../../src/config.js";
import { type HaConfig, parseHa } from "../../src/config/ha.js";
import { decodeWriteRequest } from "../../src/ingest/decode.js";
import { decodeWriteRequestV2 } from "../../src/ingest/decode-v2.js";
import { BulkBodyWriter } from "../../src/ingest/documents.js";
import { collectPairs, Dedupe } from "../../src/ingest/ha/dedupe.js";
import { decide, type ReplicaState } from "../../src/ingest/ha/election.js";
import { type SeriesSpec, writeRequestBytes, writeRequestV2Bytes } from "../helpers/payload.js";
import { parseBulk } from "../helpers/reference.js";

const HA: HaConfig = parseHa("t", { enabled: true })!;
const TIMES = { failoverTimeoutMs: 30_000, refreshIntervalMs: 5000 };

describe("HA election state machine (Mimir's HA tracker rules)", () => {
  const t0 = 1_000_000;
  const elected: ReplicaState = { replica: "r1", receivedAt: t0, electedAt: t0 - 60_000 };

  it("elects the first replica it hears of", () => {
    expect(decide(undefined, "r1", t0, TIMES)).toEqual({ kind: "write", next: { replica: "r1", receivedAt: t0, electedAt: t0 }, change: false });
  });

  it("stores the elected replica without a write while its last-seen time is fresher than the refresh interval", () => {
    expect(decide(elected, "r1", t0 + 4999, TIMES)).toEqual({ kind: "accept" });
  });

  it("refreshes the elected replica's last-seen time once the refresh interval has passed, keeping when it was elected", () => {
    expect(decide(elected, "r1", t0 + 5000, TIMES)).toEqual({ kind: "write", next: { replica: "r1", receivedAt: t0 + 5000, electedAt: t0 - 60_000 }, change: false });
  });

  it("deduplicates another replica while the elected one was seen within the failover timeout", () => {
    expect(decide(elected, "r2", t0 + 29_999, TIMES)).toEqual({ kind: "reject", elected: "r1" });
  });

  it("fails over to another replica once the elected one has been silent for the failover timeout", () => {
    expect(decide(elected, "r2", t0 + 30_000, TIMES)).toEqual({ kind: "write", next: { replica: "r2", receivedAt: t0 + 30_000, electedAt: t0 + 30_000 }, change: true });
  });

  it("a clock behind the stored last-seen time fails nobody over", () => {
    expect(decide(elected, "r2", t0 - 10_000, TIMES)).toEqual({ kind: "reject", elected: "r1" });
    expect(decide(elected, "r1", t0 - 10_000, TIMES)).toEqual({ kind: "accept" });
  });
});

describe("tenant `ha` settings", () => {
  const base = { password: "p", namespace: "n" };
  const load = (ha: unknown) => loadConfig({ PROMGATE_TENANTS: JSON.stringify({ a: { ...base, ha } }) }).tenants[0]!.ha;

  it("defaults to Mimir's labels, a 30 s failover timeout, a 5 s refresh and a 2.5 s cache", () => {
    expect(load({ enabled: true })).toEqual({
      clusterLabel: "cluster",
      replicaLabel: "__replica__",
      failoverTimeoutMs: 30_000,
      refreshIntervalMs: 5000,
      cacheTtlMs: 2500,
      maxClusters: 100,
    });
  });

  it("takes labels, timeout, cache TTL and cluster bound; the refresh interval follows a short timeout", () => {
    expect(load({ enabled: true, clusterLabel: "dc", replicaLabel: "prom", failoverTimeout: "6s", cacheTtl: "200ms", maxClusters: 3 })).toEqual({
      clusterLabel: "dc",
      replicaLabel: "prom",
      failoverTimeoutMs: 6000,
      refreshIntervalMs: 2000,
      cacheTtlMs: 200,
      maxClusters: 3,
    });
  });

  it("is off when absent or not enabled", () => {
    expect(load(undefined)).toBeUndefined();
    expect(load({ enabled: false, failoverTimeout: "10s" })).toBeUndefined();
  });

  it.each([
    [{}, "PROMGATE_TENANTS.a.ha.enabled must be true or false"],
    [{ enabled: "yes" }, "PROMGATE_TENANTS.a.ha.enabled must be true or false"],
    [{ enabled: true, replica: "x" }, "PROMGATE_TENANTS.a.ha.replica is not a known field"],
    [{ enabled: true, replicaLabel: "bad-name" }, "PROMGATE_TENANTS.a.ha.replicaLabel must be a label name other than __name__"],
    [{ enabled: true, clusterLabel: "__name__" }, "PROMGATE_TENANTS.a.ha.clusterLabel must be a label name other than __name__"],
    [{ enabled: true, clusterLabel: "x", replicaLabel: "x" }, "PROMGATE_TENANTS.a.ha.clusterLabel and PROMGATE_TENANTS.a.ha.replicaLabel must differ"],
    [{ enabled: true, failoverTimeout: 30 }, "PROMGATE_TENANTS.a.ha.failoverTimeout must be a duration such as 30s, 500ms or 1m"],
    [{ enabled: true, failoverTimeout: "500ms" }, "PROMGATE_TENANTS.a.ha.failoverTimeout must be at least 1s"],
    [{ enabled: true, cacheTtl: "soon" }, "PROMGATE_TENANTS.a.ha.cacheTtl must be a duration such as 30s, 500ms or 1m"],
    [{ enabled: true, maxClusters: 0 }, "PROMGATE_TENANTS.a.ha.maxClusters must be a positive integer"],
    ["on", "PROMGATE_TENANTS.a.ha must be an object"],
  ])("refuses %j with the field named", (ha, message) => {
    expect(() => load(ha)).toThrow(new ConfigError(message));
  });
});

const series = (labels: Record<string, string>, ...ts: number[]): SeriesSpec => ({ labels: { __name__: "up", ...labels }, samples: ts.map((t) => [t, 1]) });

describe("HA deduplication of a request's series", () => {
  const request: SeriesSpec[] = [
    series({ job: "a", cluster: "c1", __replica__: "r1" }, 1000, 2000),
    series({ job: "b", cluster: "c1", __replica__: "r2" }, 1500),
    series({ job: "c", cluster: "c2", __replica__: "r2" }, 1700),
    series({ job: "d", cluster: "c1" }, 1800),
    series({ job: "e", __replica__: "r2" }, 1900),
    // An empty value is no label at all (Prometheus), so neither series is an HA pair's.
    series({ job: "f", cluster: "c1", __replica__: "" }, 1950),
    series({ job: "g", cluster: "", __replica__: "r2" }, 1960),
  ];

  it("collects each cluster's replicas from series carrying both labels (remote write 1.0 and 2.0)", () => {
    const expected = new Map([
      ["c1", new Set(["r1", "r2"])],
      ["c2", new Set(["r2"])],
    ]);
    expect(collectPairs(HA, writeRequestBytes(request), "prw1", DEFAULT_LIMITS)).toEqual(expected);
    expect(collectPairs(HA, writeRequestV2Bytes(request), "prw2", DEFAULT_LIMITS)).toEqual(expected);
    expect(collectPairs({ ...HA, clusterLabel: "job" }, writeRequestBytes(request), "prw1", DEFAULT_LIMITS)).toEqual(
      new Map([
        ["a", new Set(["r1"])],
        ["b", new Set(["r2"])],
        ["c", new Set(["r2"])],
        ["e", new Set(["r2"])],
        ["g", new Set(["r2"])],
      ]),
    );
  });

  it.each(["prw1", "prw2"] as const)("%s: stores the elected replicas' series without the replica label, drops the others, leaves the rest alone", (protocol) => {
    const dedupe = new Dedupe(
      HA,
      new Map([
        ["c1", new Map([["r1", true], ["r2", false]])],
        ["c2", new Map([["r2", true]])],
      ]),
    );
    const writer = new BulkBodyWriter(DEFAULT_LIMITS, 16);
    const bytes = protocol === "prw2" ? writeRequestV2Bytes(request) : writeRequestBytes(request);
    (protocol === "prw2" ? decodeWriteRequestV2 : decodeWriteRequest)(bytes, DEFAULT_LIMITS, dedupe.wrap(writer));
    const docs = parseBulk(writer.body()).map((d) => [d["@timestamp"], d.labels]);
    expect(docs).toEqual([
      [1000, { __name__: "up", job: "a", cluster: "c1" }],
      [2000, { __name__: "up", job: "a", cluster: "c1" }],
      [1700, { __name__: "up", job: "c", cluster: "c2" }],
      [1800, { __name__: "up", job: "d", cluster: "c1" }],
      [1900, { __name__: "up", job: "e", __replica__: "r2" }],
      [1950, { __name__: "up", job: "f", cluster: "c1" }],
      [1960, { __name__: "up", job: "g", __replica__: "r2" }],
    ]);
    expect(dedupe.deduped).toBe(1);
    expect(dedupe.dedupedByCluster).toEqual(new Map([["c1", 1]]));
  });

  it("remote write 2.0 keeps each label's symbol with it when the replica label is cut out (values needing escapes included)", () => {
    // The first series, stored as usual, teaches the writer that symbol "c1" needs no escaping; the second's
    // `job` value does. Were the symbol refs not cut like the labels, `job` would be written with "c1"'s
    // verdict: unescaped, and the NDJSON would not parse.
    const tricky: SeriesSpec[] = [series({ cluster: "c1", job: "x" }, 1000), series({ cluster: "c1", __replica__: "r1", job: 'say "hi"' }, 2000)];
    const accepted = new Map([["c1", new Map([["r1", true]])]]);
    const docs = (protocol: "prw1" | "prw2") => {
      const writer = new BulkBodyWriter(DEFAULT_LIMITS, 16);
      const bytes = protocol === "prw2" ? writeRequestV2Bytes(tricky) : writeRequestBytes(tricky);
      (protocol === "prw2" ? decodeWriteRequestV2 : decodeWriteRequest)(bytes, DEFAULT_LIMITS, new Dedupe(HA, accepted).wrap(writer));
      return parseBulk(writer.body()).map((d) => d.labels);
    };
    expect(docs("prw2")).toEqual([
      { __name__: "up", cluster: "c1", job: "x" },
      { __name__: "up", cluster: "c1", job: 'say "hi"' },
    ]);
    expect(docs("prw2")).toEqual(docs("prw1"));
  });
});
