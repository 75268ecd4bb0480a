import { describe, expect, it } from "vitest";
import { createApp, defaultDeps } from "../../src/app.js";
import { loadConfig } from "../../src/config.js";
import { parseHa } from "../../src/config/ha.js";
import type { Fetch } from "../../src/elastic/http.js";
import { electionId, ElectionStore } from "../../src/ingest/ha/store.js";
import { type HaEvents, HaTracker } from "../../src/ingest/ha/tracker.js";
import { basic, PRW1_HEADERS } from "../helpers/config.js";
import { es, gateEnv, searchDocs, uniquePart } from "../helpers/es.js";
import { type SeriesSpec, writeBody } from "../helpers/payload.js";

/**
 * HA elections against the real Elasticsearch: instances are trackers (or apps) sharing the index that
 * `promgate setup` created, each with its own in-memory copy, as separate processes would be. Time is
 * given to each decision, so failover timeouts pass without waiting.
 */

const config = (() => {
  return loadConfig({ ...gateEnv(), PROMGATE_AUTH: "none" });
})();
const HA = parseHa("t", { enabled: true, failoverTimeout: "30s" })!;

/** A real fetch that also counts Elasticsearch's 409 answers (conflicting conditional writes). */
function countingFetch(): { fetch: Fetch; conflicts: () => number } {
  let conflicts = 0;
  return {
    fetch: async (input, init) => {
      const res = await fetch(input, init);
      if (res.status === 409) conflicts++;
      return res;
    },
    conflicts: () => conflicts,
  };
}

function instance(fetchFn: Fetch = (i, init) => fetch(i, init)) {
  const changes: string[] = [];
  const elected = new Map<string, string>();
  const events: HaEvents = {
    elected: (_t, cluster, replica) => elected.set(cluster, replica),
    changed: (_t, cluster) => changes.push(cluster),
  };
  return { tracker: new HaTracker(new ElectionStore(config, fetchFn), events), changes, elected };
}

async function stored(tenant: string, cluster: string): Promise<Record<string, unknown> | undefined> {
  const r = await es<{ _source?: Record<string, unknown> }>("GET", `/${config.haIndex}/_doc/${await electionId(tenant, cluster)}`);
  return r.json._source;
}

describe("HA election in Elasticsearch", () => {
  // First: a write to a missing index would create it with dynamic mappings, so this holds only if
  // `promgate setup` (run before the integration tests) created it.
  it("lives in the index promgate setup created: one shard, strict mapping", async () => {
    const mapping = await es<Record<string, { mappings: { dynamic?: string; properties: Record<string, { type: string }> } }>>("GET", `/${config.haIndex}/_mapping`);
    const m = mapping.json[config.haIndex]!.mappings;
    expect(m.dynamic).toBe("strict");
    expect(Object.fromEntries(Object.entries(m.properties).map(([k, v]) => [k, v.type]))).toEqual({
      tenant: "keyword",
      cluster: "keyword",
      replica: "keyword",
      received_at: "date",
      elected_at: "date",
    });
    const settings = await es<Record<string, { settings: { index: { number_of_shards: string } } }>>("GET", `/${config.haIndex}/_settings`);
    expect(settings.json[config.haIndex]!.settings.index.number_of_shards).toBe("1");
  });

  it("elects the first replica, deduplicates the other, refreshes the last-seen time, and fails over at the timeout", async () => {
    const tenant = uniquePart("ha_sm");
    const a = instance();
    const b = instance();
    const t0 = Date.now();
    expect(await a.tracker.check(tenant, HA, "c1", "r1", t0)).toEqual({ accepted: true });
    expect(await stored(tenant, "c1")).toEqual({ tenant, cluster: "c1", replica: "r1", received_at: t0, elected_at: t0 });
    expect(await a.tracker.check(tenant, HA, "c1", "r2", t0 + 1000)).toEqual({ accepted: false, elected: "r1" });
    // Another instance reads the same election.
    expect(await b.tracker.check(tenant, HA, "c1", "r2", t0 + 1000)).toEqual({ accepted: false, elected: "r1" });
    expect(await b.tracker.check(tenant, HA, "c1", "r1", t0 + 1000)).toEqual({ accepted: true });
    expect(b.elected.get("c1")).toBe("r1");

    // The elected replica's last-seen time is written again once the refresh interval has passed.
    const t1 = t0 + HA.refreshIntervalMs;
    expect(await b.tracker.check(tenant, HA, "c1", "r1", t1)).toEqual({ accepted: true });
    expect(await stored(tenant, "c1")).toMatchObject({ replica: "r1", received_at: t1, elected_at: t0 });

    // Silent for just under the failover timeout: still deduplicated; at the timeout: failover.
    expect(await a.tracker.check(tenant, HA, "c1", "r2", t1 + HA.failoverTimeoutMs - 1)).toEqual({ accepted: false, elected: "r1" });
    const t2 = t1 + HA.failoverTimeoutMs;
    expect(await a.tracker.check(tenant, HA, "c1", "r2", t2)).toEqual({ accepted: true });
    expect(await stored(tenant, "c1")).toEqual({ tenant, cluster: "c1", replica: "r2", received_at: t2, elected_at: t2 });
    expect(a.changes).toEqual(["c1"]);
    expect(a.elected.get("c1")).toBe("r2");

    // b's copy still says r1, fresh by its own clock (cache TTL): r1 coming back must not be stored.
    // Its copy's last-seen time is older than the failover timeout, so b writes, conflicts, reads again.
    expect(await b.tracker.check(tenant, HA, "c1", "r1", t2 + 1)).toEqual({ accepted: false, elected: "r2" });
    expect(b.elected.get("c1")).toBe("r2");
    expect(b.changes).toEqual([]);
    expect(await stored(tenant, "c1")).toMatchObject({ replica: "r2", received_at: t2 });
  });

  it("two instances electing at once: exactly one winner per cluster, on a new election and on a failover", async () => {
    const tenant = uniquePart("ha_race");
    const counting = countingFetch();
    const a = instance(counting.fetch);
    const b = instance(counting.fetch);
    const clusters = Array.from({ length: 20 }, (_, i) => `c${i}`);
    const ha = { ...HA, maxClusters: 100 };

    const race = async (now: number, ra: string, rb: string) =>
      Promise.all(
        clusters.map(async (cluster) => {
          const [va, vb] = await Promise.all([a.tracker.check(tenant, ha, cluster, ra, now), b.tracker.check(tenant, ha, cluster, rb, now)]);
          const winner = va.accepted ? ra : rb;
          expect([va.accepted, vb.accepted].filter(Boolean), cluster).toHaveLength(1);
          expect(va.accepted ? vb : va, cluster).toEqual({ accepted: false, elected: winner });
          expect((await stored(tenant, cluster))?.replica, cluster).toBe(winner);
          return winner;
        }),
      );

    const t0 = Date.now();
    await race(t0, "r1", "r2");
    const created = counting.conflicts();
    // Both instances read "no election" and both tried to create it: the conditional writes decided.
    expect(created).toBeGreaterThan(0);

    await race(t0 + HA.failoverTimeoutMs, "r3", "r4");
    expect(counting.conflicts()).toBeGreaterThan(created);
    // Each failover was written by one instance: the changes add up to one per cluster.
    expect(a.changes.length + b.changes.length).toBe(clusters.length);
  });

  it("refuses a cluster beyond the tenant's maxClusters with a 400, counting clusters that arrive at once", async () => {
    const tenant = uniquePart("ha_max");
    const { tracker } = instance();
    const ha = { ...HA, maxClusters: 2 };
    const now = Date.now();
    // Three new clusters at once: the id is hashed asynchronously, and the count must still see each.
    const first = await Promise.allSettled(["c1", "c2", "c3"].map((c) => tracker.check(tenant, ha, c, "r1", now)));
    expect(first.filter((r) => r.status === "rejected")).toHaveLength(1);
    expect(first.find((r) => r.status === "rejected")).toMatchObject({
      reason: { kind: "invalid", message: `too many HA clusters: tenant "${tenant}" may send at most maxClusters 2` },
    });
    // Known clusters go on being decided.
    const known = ["c1", "c2", "c3"].filter((_, i) => first[i]!.status === "fulfilled");
    for (const c of known) expect(await tracker.check(tenant, ha, c, "r1", now + 1)).toEqual({ accepted: true });
  });
});

describe("remote_write of an HA tenant", () => {
  const namespace = uniquePart("ha_write");
  const stream = `metrics-generic.prometheus-${namespace}`;
  const appConfig = loadConfig({
    ...gateEnv(),
    PROMGATE_TENANTS: JSON.stringify({
      [namespace]: { password: "ha-pw", ha: { enabled: true, failoverTimeout: "10s" } },
      [`${namespace}_rl`]: { password: "rl-pw", ha: { enabled: true }, limits: { ingestionRate: 2, ingestionBurst: 2 } },
      ops: { password: "ops-pw", admin: true, namespace: "ha_ops", streams: ["metrics-*.prometheus-ha_ops"] },
    }),
  });
  let clock = Date.now();
  const logs: Record<string, unknown>[] = [];
  const app = createApp(appConfig, { ...defaultDeps(), now: () => clock, log: (line) => logs.push(JSON.parse(line) as Record<string, unknown>) });
  const T = Date.now() - 60_000;

  const send = async (replica: string, t: number, tenant = namespace, password = "ha-pw") => {
    const body: SeriesSpec[] = [
      { labels: { __name__: "ha_up", job: "api", cluster: "c1", __replica__: replica }, samples: [[t, 1]] },
      { labels: { __name__: "ha_up", job: "db", cluster: "c1", __replica__: replica }, samples: [[t, 2]] },
    ];
    return (await app.request("/api/v1/write", { method: "POST", headers: { ...PRW1_HEADERS, authorization: basic(tenant, password) }, body: writeBody(body) })).status;
  };
  /** (time, labels) of the stream's documents, in time then job order (synthetic source gives ISO times). */
  const stored = async (query: unknown) =>
    (await searchDocs(stream, query))
      .map((d) => [Date.parse(String(d["@timestamp"])), d.labels as Record<string, string>] as const)
      .sort(([ta, la], [tb, lb]) => ta - tb || la.job!.localeCompare(lb.job!));
  const metrics = async () => (await app.request("/metrics", { headers: { authorization: basic("ops", "ops-pw") } })).text();

  it("stores the elected replica without its label, answers 202 for the other, and fails over after the timeout", async () => {
    expect(await send("r1", T)).toBe(204);
    expect(await send("r2", T + 100)).toBe(202);
    // The request's log line says what was dropped, and that nothing went wrong.
    expect(logs.at(-1)).toMatchObject({ level: "info", status: 202, samples: 2, stored: 0, deduped: 2 });
    expect(await send("r1", T + 1000)).toBe(204);
    expect(await stored({ match_all: {} })).toEqual([
      [T, { __name__: "ha_up", job: "api", cluster: "c1" }],
      [T, { __name__: "ha_up", job: "db", cluster: "c1" }],
      [T + 1000, { __name__: "ha_up", job: "api", cluster: "c1" }],
      [T + 1000, { __name__: "ha_up", job: "db", cluster: "c1" }],
    ]);
    let text = await metrics();
    expect(text).toContain(`promgate_ha_elected_replica{tenant="${namespace}",cluster="c1",replica="r1"} 1`);
    expect(text).toContain(`promgate_ha_deduped_samples_total{tenant="${namespace}",cluster="c1"} 2`);
    // Deduplicated samples are not counted as lost by Elasticsearch.
    expect(text).not.toContain(`promgate_samples_rejected_total{tenant="${namespace}"`);

    clock += 10_000;
    expect(await send("r2", T + 11_000)).toBe(204);
    expect(await send("r1", T + 11_500)).toBe(202);
    expect(await stored({ range: { "@timestamp": { gt: T + 1000 } } })).toEqual([
      [T + 11_000, { __name__: "ha_up", job: "api", cluster: "c1" }],
      [T + 11_000, { __name__: "ha_up", job: "db", cluster: "c1" }],
    ]);
    text = await metrics();
    expect(text).toContain(`promgate_ha_elected_replica{tenant="${namespace}",cluster="c1",replica="r2"} 1`);
    expect(text).not.toContain(`replica="r1"`);
    expect(text).toContain(`promgate_ha_elected_replica_changes_total{tenant="${namespace}",cluster="c1"} 1`);
    expect(text).toContain(`promgate_ha_deduped_samples_total{tenant="${namespace}",cluster="c1"} 4`);
  });

  it("charges the ingestion rate for the elected replica's samples only", async () => {
    const tenant = `${namespace}_rl`;
    // Two samples fill the bucket (rate 2/s, burst 2; the clock stands still, so it does not refill).
    expect(await send("r1", T, tenant, "rl-pw")).toBe(204);
    expect(await send("r2", T + 100, tenant, "rl-pw")).toBe(202);
    expect(await send("r1", T + 1000, tenant, "rl-pw")).toBe(429);
  });
});
