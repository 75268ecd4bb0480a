import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { electionId } from "../../src/ingest/ha/store.js";
import { countDocs, es, esEnv, uniquePart } from "../helpers/es.js";
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

/** The replica the shared election names right now (Elasticsearch's real-time get). */
async function elected(): Promise<string | undefined> {
  const r = await es<{ _source?: { replica?: string } }>("GET", `/promgate-ha-replicas/_doc/${await electionId(namespace, "c1")}`);
  return r.json._source?.replica;
}

/** Times (ms) of one series' stored samples, staleness markers left out, in order. */
async function sampleTimes(filter: unknown[]): Promise<number[]> {
  await es("POST", `/${stream}/_refresh`);
  const r = await es<{ hits: { hits: { fields: { "@timestamp": string[] } }[] } }>("POST", `/${stream}/_search`, {
    size: 1000,
    _source: false,
    fields: ["@timestamp"],
    sort: [{ "@timestamp": "asc" }],
    query: { bool: { filter, must_not: { term: { "promgate.special": "stale" } } } },
  });
  return r.json.hits.hits.map((h) => Date.parse(h.fields["@timestamp"][0]!));
}

const gaps = (times: number[]) => times.slice(1).map((t, i) => t - times[i]!);

beforeAll(async () => {
  const esConn = esEnv();
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
    ES_URL: esConn.url,
    ES_USERNAME: esConn.username,
    ES_PASSWORD: esConn.password,
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
    // Phase 1: both replicas send; one is elected and stored.
    const first = (await waitFor("an elected replica", elected, 30_000)) as Replica;
    const other: Replica = first === "r1" ? "r2" : "r1";
    await waitFor("both replicas deduplicated or stored", async () => ((await countDocs(stream, { term: { "labels.by": first } })) >= 8 ? true : undefined), 30_000);
    const dedupedBefore = (await gateMetric(gateUrls[0]!, "promgate_ha_deduped_samples_total")) + (await gateMetric(gateUrls[1]!, "promgate_ha_deduped_samples_total"));
    expect(dedupedBefore).toBeGreaterThan(0);
    expect(await countDocs(stream, { term: { "labels.by": other } })).toBe(0);

    // Phase 2: the elected replica's Prometheus stops (by PID); the other takes over.
    const stoppedAt = Date.now();
    await proms.get(first)!.stop();
    await waitFor("failover", async () => ((await elected()) === other ? true : undefined), 30_000, 200);
    const failoverMs = Date.now() - stoppedAt;
    await waitFor("the new replica's samples", async () => ((await countDocs(stream, { term: { "labels.by": other } })) >= 5 ? true : undefined), 30_000);

    // No series carries the replica label; every one keeps the cluster label.
    expect(await countDocs(stream, { exists: { field: "labels.__replica__" } })).toBe(0);
    const all = await countDocs(stream);
    expect(await countDocs(stream, { term: { "labels.cluster": "c1" } })).toBe(all);

    // The shared counter: each timestamp once, one replica's scrapes (a second replica's would fall between
    // them), and no gap longer than the failover timeout plus one scrape interval.
    const counter = await sampleTimes([{ term: { "labels.__name__": "ha_e2e_counter_total" } }]);
    const firstOnes = await sampleTimes([{ term: { "labels.by": first } }]);
    const otherOnes = await sampleTimes([{ term: { "labels.by": other } }]);
    expect(new Set(counter).size).toBe(counter.length);
    expect(counter).toEqual([...firstOnes, ...otherOnes]);
    const spacing = gaps(counter);
    expect(Math.min(...spacing)).toBeGreaterThan(SCRAPE_MS / 2);
    const handover = otherOnes[0]! - firstOnes.at(-1)!;
    expect(handover).toBeLessThanOrEqual(FAILOVER_MS + SCRAPE_MS);
    expect(Math.max(...spacing)).toBe(handover);

    // Exactly one failover, written by one of the instances; the survivor's promgate knows the new replica.
    const changes = (await gateMetric(gateUrls[0]!, "promgate_ha_elected_replica_changes_total")) + (await gateMetric(gateUrls[1]!, "promgate_ha_elected_replica_changes_total"));
    expect(changes).toBe(1);
    const survivorGate = gateUrls[REPLICAS.indexOf(other)]!;
    expect(await gateMetric(survivorGate, `promgate_ha_elected_replica{tenant="${namespace}",cluster="c1",replica="${other}"}`)).toBe(1);
    console.log(
      `HA pair: ${first} elected first, ${other} after the stop; failover seen ${failoverMs} ms after stopping ${first}; ` +
        `${counter.length} counter samples, spacing ${Math.min(...spacing)}–${Math.max(...spacing)} ms, hand-over gap ${handover} ms; ${dedupedBefore} samples deduplicated before the stop`,
    );
  });
});
