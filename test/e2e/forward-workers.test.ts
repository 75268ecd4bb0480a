import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gateEnv, uniquePart } from "../helpers/es.js";
import { refusingServer, TargetPrometheus, writeTo } from "../helpers/forward-target.js";
import { launchPromgate, wranglerConfigWithForwardQueue } from "../helpers/launch.js";
import type { SeriesSpec } from "../helpers/payload.js";
import { freePort, type Running, waitFor } from "../helpers/processes.js";

/**
 * Forwarding on Workers: promgate under `wrangler dev` (workerd, with wrangler.toml's Cloudflare Queue tables
 * switched on and the queue run locally by miniflare), forwarding to a real Prometheus. Checked: exactly the filtered series arrive
 * with the extra labels; a target answering 400 gets each batch once; and while the target is down for
 * ~30 s every batch waits in the queue (retried with backoff) and arrives once it is back.
 */

const namespace = uniquePart("e2efwq");
const WRITER = `Basic ${btoa("fwq:fwq-password")}`;

let gate: Running | undefined;
let gateUrl = "";
let target: TargetPrometheus;
let refusing: Awaited<ReturnType<typeof refusingServer>>;

const write = (series: SeriesSpec[]) => writeTo(`${gateUrl}/metrics/fwq/api/v1/write`, WRITER, series);

const names = async (prefix: string) => (await target.series()).map((s) => s.__name__!).filter((n) => n.startsWith(prefix)).sort();

beforeAll(async () => {
  const [gatePort, targetPort] = [await freePort(), await freePort()];
  target = new TargetPrometheus(targetPort);
  refusing = await refusingServer(400);
  await target.start();
  gate = launchPromgate("workerd", gatePort, {
    ...process.env,
    ...gateEnv(),
    PROMGATE_FORWARD_MIN_BACKOFF: "1s",
    PROMGATE_FORWARD_MAX_BACKOFF: "4s",
    PROMGATE_TENANTS: JSON.stringify({
      fwq: {
        password: "fwq-password",
        namespace,
        forward: [
          { name: "api", url: target.writeUrl, match: { __name__: "fwq_.*", job: "api" }, extraLabels: { forwarded_by: "promgate-workers" } },
          { name: "refused", url: refusing.url, match: { __name__: "rej_.*" } },
        ],
      },
      ops: { password: "ops-password", admin: true, namespace: "e2efwq_ops", streams: ["metrics-*.prometheus-e2efwq_ops"] },
    }),
  }, ["--config", wranglerConfigWithForwardQueue()]);
  gateUrl = `http://127.0.0.1:${gatePort}`;
  await waitFor("promgate under wrangler dev", async () => ((await fetch(`${gateUrl}/-/ready`)).ok ? true : undefined), 90_000).catch((e: Error) => {
    throw new Error(`${e.message}\n${gate?.output()}`);
  });
}, 150_000);

afterAll(async () => {
  await gate?.stop();
  await target?.stop();
  await refusing?.close();
});

describe("forwarding on Workers through a Cloudflare Queue → a real Prometheus", () => {
  it("sends exactly the series the rule's filters take, with the extra labels; a 400 is not retried", async () => {
    const now = Date.now();
    await write([
      { labels: { __name__: "fwq_up", job: "api" }, samples: [[now, 1]] },
      { labels: { __name__: "fwq_up", job: "db" }, samples: [[now, 1]] },
      { labels: { __name__: "other_up", job: "api" }, samples: [[now, 1]] },
      { labels: { __name__: "rej_total", job: "api" }, samples: [[now, 1]] },
    ]);
    await waitFor("the forwarded series", async () => ((await target.series()).length > 0 ? true : undefined), 30_000, 250).catch(async (e: Error) => {
      const m = await (await fetch(`${gateUrl}/metrics`, { headers: { authorization: `Basic ${btoa("ops:ops-password")}` } })).text();
      throw new Error(`${e.message}\n${m.split("\n").filter((l) => l.includes("forward")).join("\n")}`);
    });
    await waitFor("the refused batch", async () => (refusing.requests() > 0 ? true : undefined), 30_000, 250);
    // Several retry periods later: still exactly these.
    await new Promise((r) => setTimeout(r, 4000));
    expect(await target.series()).toEqual([{ __name__: "fwq_up", forwarded_by: "promgate-workers", job: "api" }]);
    expect(refusing.requests()).toBe(1);
  });

  it("while the target is down for ~30 s, batches wait in the queue and all arrive once it is back", async () => {
    await target.stop();
    const downSince = Date.now();
    const written: string[] = [];
    for (let i = 0; Date.now() - downSince < 30_000; i++) {
      const name = `fwq_outage_${i}`;
      await write([
        { labels: { __name__: name, job: "api" }, samples: [[Date.now(), i]] },
        { labels: { __name__: `${name}_filtered`, job: "db" }, samples: [[Date.now(), i]] },
      ]);
      written.push(name);
      await new Promise((r) => setTimeout(r, 3000));
    }
    await target.start();
    const restarted = Date.now();
    await waitFor("every batch written during the outage", async () => ((await names("fwq_outage_")).length === written.length ? true : undefined), 45_000, 500).catch(
      async (e: Error) => {
        throw new Error(`${e.message}: ${JSON.stringify(await names("fwq_outage_"))} of ${written.length}\n${gate?.output().slice(-3000)}`);
      },
    );
    expect(await names("fwq_outage_")).toEqual(written.sort());
    console.log(`target down ${Math.round((restarted - downSince) / 1000)} s: ${written.length} batches queued, all arrived ${Math.round((Date.now() - restarted) / 1000)} s after it came back`);
  });
});
