import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { countDocs, gateEnv, uniquePart } from "../helpers/es.js";
import { gateMetric, refusingServer, TargetPrometheus, writeTo } from "../helpers/forward-target.js";
import { launchPromgate } from "../helpers/launch.js";
import type { SeriesSpec } from "../helpers/payload.js";
import { freePort, type Running, waitFor } from "../helpers/processes.js";

/**
 * Forwarding on Node, with its in-process queue: promgate stores what a tenant writes in Elasticsearch and
 * forwards the series its rules take to a real Prometheus (remote write receiver). Checked: exactly the
 * filtered series arrive there, with the extra labels; a target refusing with 400 gets each batch once;
 * while the target is down (~30 s) batches wait under the small queue bound and the rest are dropped and
 * counted, and what waited arrives once the target is back.
 */

const namespace = uniquePart("e2efw");
const stream = `metrics-fw.prometheus-${namespace}`;
const ADMIN = `Basic ${btoa("ops:ops-password")}`;
const WRITER = `Basic ${btoa("fw:fw-password")}`;
/** Small enough that a few batches fill it (each here is ~100 bytes compressed). */
const QUEUE_BYTES = 1000;

let gate: Running | undefined;
let gateUrl = "";
let target: TargetPrometheus;
let targetV2: TargetPrometheus;
let refusing: Awaited<ReturnType<typeof refusingServer>>;

const metric = (name: string, labels: Record<string, string> = {}) => gateMetric(gateUrl, ADMIN, name, labels);

const write = (series: SeriesSpec[]) => writeTo(`${gateUrl}/metrics/fw/api/v1/write`, WRITER, series);

beforeAll(async () => {
  const [gatePort, targetPort, targetV2Port] = [await freePort(), await freePort(), await freePort()];
  target = new TargetPrometheus(targetPort);
  targetV2 = new TargetPrometheus(targetV2Port, true);
  refusing = await refusingServer(400);
  await Promise.all([target.start(), targetV2.start()]);
  gate = launchPromgate("node", gatePort, {
    ...process.env,
    ...gateEnv(),
    PROMGATE_FORWARD_QUEUE_BYTES: String(QUEUE_BYTES),
    PROMGATE_FORWARD_MIN_BACKOFF: "200ms",
    PROMGATE_FORWARD_MAX_BACKOFF: "1s",
    PROMGATE_FORWARD_MAX_ATTEMPTS: "1000",
    PROMGATE_FORWARD_TIMEOUT: "2s",
    PROMGATE_TENANTS: JSON.stringify({
      fw: {
        password: "fw-password",
        namespace,
        forward: [
          { name: "api", url: target.writeUrl, match: { __name__: "fw_.*", job: "api|web" }, extraLabels: { forwarded_by: "promgate", origin: "fw" } },
          { name: "refused", url: refusing.url, bearerToken: "refused-token", match: { __name__: "rej_.*" } },
          { name: "v2", url: targetV2.writeUrl, protocol: "2.0", match: { __name__: "fw_requests_total|fw_stale" }, extraLabels: { via: "rw2" } },
        ],
      },
      ops: { password: "ops-password", admin: true, namespace: "e2efw_ops", streams: ["metrics-*.prometheus-e2efw_ops"] },
    }),
  });
  gateUrl = `http://127.0.0.1:${gatePort}`;
  await waitFor("promgate on Node", async () => ((await fetch(`${gateUrl}/-/ready`)).ok ? true : undefined), 60_000).catch((e: Error) => {
    throw new Error(`${e.message}\n${gate?.output()}`);
  });
}, 120_000);

afterAll(async () => {
  await gate?.stop();
  await target?.stop();
  await targetV2?.stop();
  await refusing?.close();
});

describe("forwarding on Node → a real Prometheus", () => {
  it("sends exactly the series the rule's filters take, with the extra labels; Elasticsearch gets everything", async () => {
    const now = Date.now();
    await write([
      { labels: { __name__: "fw_requests_total", job: "api", code: "200" }, samples: [[now - 1000, 1], [now, 2]] },
      { labels: { __name__: "fw_up", job: "web" }, samples: [[now, 1]] },
      { labels: { __name__: "fw_up", job: "db" }, samples: [[now, 1]] }, // job does not match
      { labels: { __name__: "fw_up", job: "apiserver" }, samples: [[now, 1]] }, // anchored: not "api"
      { labels: { __name__: "other_up", job: "api" }, samples: [[now, 1]] }, // name does not match
      { labels: { __name__: "fw_up", origin: "sender", job: "api" }, samples: [[now, 1]] }, // origin replaced
    ]);
    await waitFor("forwarded samples", async () => ((await metric("promgate_forward_sent_samples_total", { rule: "api" })) >= 4 ? true : undefined), 30_000, 250);
    expect(await target.series()).toEqual([
      { __name__: "fw_requests_total", code: "200", forwarded_by: "promgate", job: "api", origin: "fw" },
      { __name__: "fw_up", forwarded_by: "promgate", job: "api", origin: "fw" },
      { __name__: "fw_up", forwarded_by: "promgate", job: "web", origin: "fw" },
    ]);
    expect(await target.samples('fw_requests_total{job="api"}')).toBe(2);
    expect(await countDocs(stream)).toBe(7);
  });

  it("speaks remote write 2.0 to a target that takes only 2.0 (Prometheus 3), staleness markers included", async () => {
    const now = Date.now();
    await write([
      { labels: { __name__: "fw_stale", job: "api" }, samples: [[now - 2000, 3], [now - 1000, "stale"]] },
      { labels: { __name__: "fw_other", job: "api" }, samples: [[now, 1]] },
    ]);
    await waitFor("the 2.0 target's series", async () => ((await metric("promgate_forward_sent_samples_total", { rule: "v2" })) >= 4 ? true : undefined), 30_000, 250);
    expect(await targetV2.series()).toEqual([
      { __name__: "fw_requests_total", code: "200", job: "api", via: "rw2" },
      { __name__: "fw_stale", job: "api", via: "rw2" },
    ]);
    // The marker arrived as one: the series has a sample before it and none at or after it.
    expect(await targetV2.samples("fw_stale")).toBe(1);
    const at = async (t: number) => ((await (await fetch(`${targetV2.url}/api/v1/query?query=fw_stale&time=${t / 1000}`)).json()) as { data: { result: unknown[] } }).data.result.length;
    expect(await at(now - 1500)).toBe(1);
    expect(await at(now - 500)).toBe(0);
  });

  it("a target answering 400 gets each batch once: dropped and counted, not retried", async () => {
    await write([{ labels: { __name__: "rej_total", job: "x" }, samples: [[Date.now(), 1]] }]);
    await waitFor("the refusal counted", async () => ((await metric("promgate_forward_dropped_total", { rule: "refused", reason: "rejected" })) === 1 ? true : undefined), 30_000, 250);
    // Several backoff periods later (200 ms, doubling to 1 s) still one request.
    await new Promise((r) => setTimeout(r, 3000));
    expect(refusing.requests()).toBe(1);
    expect(await metric("promgate_forward_failures_total", { rule: "refused", reason: "4xx" })).toBe(1);
  });

  it("while the target is down, batches wait under the bound, the rest are dropped and counted; what waited arrives", async () => {
    const sentBefore = await metric("promgate_forward_sent_samples_total", { rule: "api" });
    await target.stop();
    const downSince = Date.now();
    const written: string[] = [];
    for (let i = 0; Date.now() - downSince < 30_000; i++) {
      const name = `fw_outage_${i}`;
      await write([{ labels: { __name__: name, job: "api", pad: "x".repeat(200) }, samples: [[Date.now(), i]] }]);
      written.push(name);
      await new Promise((r) => setTimeout(r, 2000));
    }
    const dropped = await metric("promgate_forward_dropped_total", { rule: "api", reason: "queue_full" });
    const queued = await metric("promgate_forward_queue_batches");
    expect(await metric("promgate_forward_queue_bytes")).toBeLessThanOrEqual(QUEUE_BYTES);
    expect(await metric("promgate_forward_failures_total", { rule: "api", reason: "network" })).toBeGreaterThan(5);
    expect(dropped).toBeGreaterThan(0);
    expect(queued).toBeGreaterThan(0);
    expect(dropped + queued).toBe(written.length);

    await target.start();
    await waitFor("the queue to drain", async () => ((await metric("promgate_forward_queue_batches")) === 0 ? true : undefined), 30_000, 250);
    const sent = (await metric("promgate_forward_sent_samples_total", { rule: "api" })) - sentBefore;
    expect(sent).toBe(queued);
    // The oldest batches waited (a full queue refuses newcomers): the first `queued` series, no other.
    const arrived = (await target.series()).map((s) => s.__name__!).filter((n) => n.startsWith("fw_outage_"));
    expect(arrived.sort()).toEqual(written.slice(0, queued).sort());
    console.log(`target down ${Math.round((Date.now() - downSince) / 1000)} s: ${written.length} batches written, ${queued} waited and arrived, ${dropped} dropped (queue_full)`);
  });
});
