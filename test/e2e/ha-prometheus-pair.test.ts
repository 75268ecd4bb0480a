import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { electionId } from "../../src/ingest/ha/store.js";
import { countDocs, es, gateEnv, uniquePart } from "../helpers/es.js";
import { launchPromgate } from "../helpers/launch.js";
import { freePort, type Running, start, waitFor } from "../helpers/processes.js";

/**
 * An HA pair as Mimir users run it: two Debian Prometheus 2.42 replicas scrape the same target every
 * second with `external_labels: {cluster: c1, __replica__: r1|r2}`, each writing into its own promgate
 * (Node), both promgates sharing the real Elasticsearch. One replica's samples are stored, once, without
 * the replica label; when the elected replica's Prometheus is stopped, the other takes over within the
 * failover timeout (5 s here).
 *
 * The target tells the replicas apart: each scrapes it with its own `replica` parameter, and the target
 * answers `ha_e2e_scraped_by{by="<replica>"}` next to a counter both see alike.
 */

const PROMETHEUS = process.env.PROMETHEUS_BIN ?? "/usr/bin/prometheus";
const namespace = uniquePart("hae2e");
const stream = `metrics-hapair.prometheus-${namespace}`;
const FAILOVER_MS = 5000;
const SCRAPE_MS = 1000;
const REPLICAS = ["r1", "r2"] as const;
type Replica = (typeof REPLICAS)[number];

const gates: Running[] = [];
const gateUrls: string[] = [];
const proms = new Map<Replica, Running>();
let target: Server | undefined;

/** promgate's /metrics as its admin tenant scrapes it: the sum of the series matching `series`. */
async function gateMetric(url: string, series: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`, { headers: { authorization: `Basic ${btoa("ops:ops-password")}` } })).text();
  return [...text.matchAll(new RegExp(`^${series.replace(/[{}]/g, "\\$&")}(?:\\{[^}]*\\})? (\\S+)$`, "gm"))].reduce((n, m) => n + Number(m[1]), 0);
}

/** The shared election as it stands (Elasticsearch's real-time get). */
async function election(): Promise<{ replica: string; elected_at: number } | undefined> {
  const r = await es<{ _source?: { replica: string; elected_at: number } }>("GET", `/promgate-ha-replicas/_doc/${await electionId(namespace, "c1")}`);
  return r.json._source;
}

/** A metric's stored samples (time, and the `by` label where there is one), staleness markers left out, in time order. */
async function samplePoints(name: string): Promise<{ t: number; by: string }[]> {
  await es("POST", `/${stream}/_refresh`);
  const r = await es<{ hits: { hits: { fields: { "@timestamp": string[]; "labels.by"?: string[] } }[] } }>("POST", `/${stream}/_search`, {
    size: 1000,
    _source: false,
    fields: ["@timestamp", "labels.by"],
    sort: [{ "@timestamp": "asc" }],
    query: { bool: { filter: [{ term: { "labels.__name__": name } }], must_not: { term: { "promgate.special": "stale" } } } },
  });
  return r.json.hits.hits.map((h) => ({ t: Date.parse(h.fields["@timestamp"][0]!), by: h.fields["labels.by"]?.[0] ?? "" }));
}

/** What the parts say, for a failure message: the election, the stream, each promgate's counters and output. */
async function diagnose(): Promise<string> {
  const lines = [`election: ${JSON.stringify(await election().catch(String))}; documents: ${await countDocs(stream).catch(String)}`];
  for (const [i, url] of gateUrls.entries()) {
    const text = await (await fetch(`${url}/metrics`, { headers: { authorization: `Basic ${btoa("ops:ops-password")}` } })).text().catch(String);
    lines.push(`promgate ${i + 1}:`, ...text.split("\n").filter((l) => /^promgate_(http_requests_total\{route="\/metrics|ha_|samples_)/.test(l)));
    // The write requests' times and statuses, from the log lines.
    const writes = [...gates[i]!.output().matchAll(/"ts":"[^"]*T([0-9:.]+)Z"[^\n]*"route":"\/metrics\/:dataset\/api\/v1\/write","status":(\d+)/g)];
    lines.push(`writes: ${writes.map((m) => `${m[1]} ${m[2]}`).join(", ")}`);
  }
  for (const [replica, p] of proms) lines.push(`Prometheus ${replica}:`, p.output().slice(-2000));
  return lines.join("\n");
}

/** waitFor, its failure message carrying diagnose(). */
async function expectSoon<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000, everyMs = 500): Promise<T> {
  try {
    return await waitFor(what, fn, timeoutMs, everyMs);
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${await diagnose()}`);
  }
}

const gaps = (times: number[]) => times.slice(1).map((t, i) => t - times[i]!);

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), "promgate-e2e-ha-"));
  let counter = 0;
  target = createServer((req, res) => {
    const by = new URL(req.url ?? "/", "http://x").searchParams.get("replica") ?? "none";
    counter++;
    res.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
    res.end(`# TYPE ha_e2e_counter_total counter\nha_e2e_counter_total ${counter}\n# TYPE ha_e2e_scraped_by gauge\nha_e2e_scraped_by{by="${by}"} 1\n`);
  });
  const targetPort = await freePort();
  await new Promise<void>((r) => target!.listen(targetPort, "127.0.0.1", r));

  const env = {
    ...process.env,
    ...gateEnv(),
    PROMGATE_TENANTS: JSON.stringify({
      [namespace]: { password: "ha-password", ha: { enabled: true, failoverTimeout: `${FAILOVER_MS / 1000}s` } },
      ops: { password: "ops-password", admin: true, namespace: "hae2e_ops", streams: ["metrics-*.prometheus-hae2e_ops"] },
    }),
  };
  for (let i = 0; i < 2; i++) {
    const port = await freePort();
    gates.push(launchPromgate("node", port, env));
    gateUrls.push(`http://127.0.0.1:${port}`);
  }
  await Promise.all(
    gateUrls.map((url, i) =>
      waitFor(`promgate ${i + 1} on Node`, async () => ((await fetch(`${url}/-/ready`)).ok ? true : undefined), 60_000).catch((e: Error) => {
        throw new Error(`${e.message}\n${gates[i]?.output()}`);
      }),
    ),
  );

  await Promise.all(
    REPLICAS.map(async (replica, i) => {
      const promPort = await freePort();
      const config = join(dir, `prometheus-${replica}.yml`);
      writeFileSync(
        config,
        `global:
  scrape_interval: ${SCRAPE_MS / 1000}s
  external_labels:
    cluster: c1
    __replica__: ${replica}
scrape_configs:
  - job_name: shared
    params:
      replica: [${replica}]
    static_configs:
      - targets: ["127.0.0.1:${targetPort}"]
remote_write:
  - url: ${gateUrls[i]}/metrics/hapair/api/v1/write
    basic_auth:
      username: ${namespace}
      password: ha-password
    queue_config:
      batch_send_deadline: 1s
      max_shards: 1
    metadata_config:
      send: false
`,
      );
      const p = start(PROMETHEUS, [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, `data-${replica}`)}`, `--web.listen-address=127.0.0.1:${promPort}`]);
      proms.set(replica, p);
      await waitFor(`Prometheus ${replica} to be ready`, async () => ((await fetch(`http://127.0.0.1:${promPort}/-/ready`)).ok ? true : undefined), 60_000).catch(
        (e: Error) => {
          throw new Error(`${e.message}\n${p.output()}`);
        },
      );
    }),
  );
});

afterAll(async () => {
  for (const p of proms.values()) await p.stop();
  for (const g of gates) await g.stop();
  await new Promise((r) => target?.close(r));
});

describe("two Prometheus replicas → two promgates → one Elasticsearch", () => {
  it("stores one replica's samples once, without the replica label, and fails over within the timeout", async () => {
    // Phase 1: both replicas send; one is elected and stored. On a loaded machine a Prometheus may stall
    // past the failover timeout and be replaced: that is the semantics, so wait for an election that has
    // held for a while and has stored samples.
    const stable = async (): Promise<Replica | undefined> => {
      const doc = await election();
      if (!doc || Date.now() - doc.elected_at < 6000) return undefined;
      const since = { bool: { filter: [{ term: { "labels.by": doc.replica } }, { range: { "@timestamp": { gte: doc.elected_at } } }] } };
      return (await countDocs(stream, since)) >= 5 ? (doc.replica as Replica) : undefined;
    };
    const first = await expectSoon("an election that holds", stable, 45_000);
    const other: Replica = first === "r1" ? "r2" : "r1";
    const dedupedBefore = (await gateMetric(gateUrls[0]!, "promgate_ha_deduped_samples_total")) + (await gateMetric(gateUrls[1]!, "promgate_ha_deduped_samples_total"));
    expect(dedupedBefore).toBeGreaterThan(0);

    // Phase 2: the elected replica's Prometheus stops (by PID); the other takes over.
    const stoppedAt = Date.now();
    await proms.get(first)!.stop();
    await expectSoon("failover", async () => ((await election())?.replica === other ? true : undefined), 30_000, 200);
    const failoverMs = Date.now() - stoppedAt;
    const after = { bool: { filter: [{ term: { "labels.by": other } }, { range: { "@timestamp": { gte: stoppedAt } } }] } };
    await expectSoon("the new replica's samples", async () => ((await countDocs(stream, after)) >= 5 ? true : undefined));

    // No series carries the replica label; every one keeps the cluster label.
    expect(await countDocs(stream, { exists: { field: "labels.__replica__" } })).toBe(0);
    expect(await countDocs(stream, { bool: { must_not: { exists: { field: "labels.cluster" } } } })).toBe(0);

    // One replica at a time: each scrape's samples once, and the other replica's scrapes (which fall
    // between them) never, so consecutive samples of a series are a scrape interval apart, not less.
    const counter = (await samplePoints("ha_e2e_counter_total")).map((p) => p.t);
    const points = await samplePoints("ha_e2e_scraped_by");
    for (const times of [counter, points.map((p) => p.t)]) {
      expect(new Set(times).size).toBe(times.length);
      expect(Math.min(...gaps(times))).toBeGreaterThan(SCRAPE_MS / 2);
    }
    // Runs of one replica's samples: the last is the survivor's, after the stopped replica's, with no gap
    // longer than the failover timeout plus one scrape interval between them.
    const runs = points.reduce<{ by: string; from: number; to: number }[]>((rs, p) => {
      const last = rs.at(-1);
      if (last?.by === p.by) last.to = p.t;
      else rs.push({ by: p.by, from: p.t, to: p.t });
      return rs;
    }, []);
    const [before, final] = [runs.at(-2), runs.at(-1)];
    expect([before?.by, final?.by], JSON.stringify(runs)).toEqual([first, other]);
    const handover = final!.from - before!.to;
    expect(handover, JSON.stringify(runs)).toBeLessThanOrEqual(FAILOVER_MS + SCRAPE_MS);

    // Every switch between replicas in the data is a failover some instance wrote (and counted once).
    const changes = (await gateMetric(gateUrls[0]!, "promgate_ha_elected_replica_changes_total")) + (await gateMetric(gateUrls[1]!, "promgate_ha_elected_replica_changes_total"));
    expect(changes).toBeGreaterThanOrEqual(runs.length - 1);
    const survivorGate = gateUrls[REPLICAS.indexOf(other)]!;
    expect(await gateMetric(survivorGate, `promgate_ha_elected_replica{tenant="${namespace}",cluster="c1",replica="${other}"}`)).toBe(1);
    console.log(
      `HA pair: ${first} elected when stopped, ${other} after; failover seen ${failoverMs} ms after the stop; ` +
        `${counter.length} counter samples, spacing ${Math.min(...gaps(counter))}–${Math.max(...gaps(counter))} ms, hand-over gap ${handover} ms; ` +
        `runs ${runs.map((r) => `${r.by}×${points.filter((p) => p.t >= r.from && p.t <= r.to).length}`).join(" → ")}, ${changes} failover(s); ` +
        `${dedupedBefore} samples deduplicated before the stop`,
    );
  });
});
