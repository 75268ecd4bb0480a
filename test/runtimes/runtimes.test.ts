import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { basic, PRW1_HEADERS } from "../helpers/config.js";
import { countDocs, gateEnv, uniquePart } from "../helpers/es.js";
import { writeBody } from "../helpers/payload.js";
import { launchPromgate, RUNTIMES } from "../helpers/launch.js";
import { freePort, type Running, waitFor } from "../helpers/processes.js";

/**
 * The same app on every runtime, over HTTP against the real Elasticsearch: Node (@hono/node-server), Bun
 * (Bun.serve), Deno (Deno.serve) and workerd (wrangler dev). Each gets the same checks: ingest, a retried
 * duplicate, bad input, a read.
 */

const PLAIN_PASSWORD = `plain-${uniquePart("pw")}`;

describe.each(RUNTIMES)("promgate on %s", (runtime) => {
  let server: Running | undefined;
  let base = "";
  const ns = uniquePart(runtime);
  const stream = `metrics-rt.prometheus-${ns}`;
  // dev's namespace is this run's; plain names nothing but credentials (its own namespace, and a startup warning).
  // ha deduplicates HA pairs: its election lives in Elasticsearch, the same code on every runtime.
  const TENANTS = JSON.stringify({
    dev: { password: "promgate-dev", namespace: ns, streams: [`metrics-*.prometheus-${ns}`] },
    plain: { password: PLAIN_PASSWORD },
    ha: { password: "ha-password", namespace: ns, streams: [`metrics-*.prometheus-${ns}`], ha: { enabled: true } },
  });

  beforeAll(async () => {
    const port = await freePort();
    server = launchPromgate(runtime, port, { ...process.env, ...gateEnv(), PROMGATE_TENANTS: TENANTS });
    base = `http://127.0.0.1:${port}`;
    await waitFor(`${runtime} to serve promgate`, async () => ((await fetch(`${base}/-/ready`)).ok ? true : undefined), 120_000).catch((e: Error) => {
      throw new Error(`${e.message}\n${server?.output()}`);
    });
  });
  afterAll(async () => server?.stop());

  const post = (body: BodyInit, headers: Record<string, string> = {}) =>
    fetch(`${base}/metrics/rt/${ns}/api/v1/write`, { method: "POST", body, headers: { ...PRW1_HEADERS, authorization: basic("dev", "promgate-dev"), ...headers } });

  it("stores a remote_write request, and its retry exactly once", async () => {
    const t = Date.now() - 60_000;
    const body = writeBody([
      { labels: { __name__: "rt_requests_total", job: runtime }, samples: [[t, 1], [t + 1000, 2]] },
      { labels: { __name__: "up", job: runtime }, samples: [[t, 1]] },
    ]);
    expect((await post(body)).status).toBe(204);
    expect((await post(body)).status).toBe(204);
    expect(await countDocs(stream)).toBe(3);
  });

  it("answers bad input with the same 4xx", async () => {
    const good = writeBody([{ labels: { __name__: "up" }, samples: [[Date.now(), 1]] }]);
    expect((await post(good, { "content-encoding": "gzip" })).status).toBe(415);
    expect((await post(good, { authorization: basic("dev", "nope") })).status).toBe(401);
    expect((await post(good.slice(0, good.length - 2))).status).toBe(400);
    expect((await post(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f, 0x00]))).status).toBe(413);
  });

  it("logs one warning at start for the tenant that relies on the changed defaults, without its secret", () => {
    const warnings = server!.output().split("\n").filter((l) => l.includes('"level":"warn"') && l.includes("PROMGATE_TENANTS."));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('PROMGATE_TENANTS.plain sets neither \\"streams\\" nor \\"namespace\\"');
    expect(server!.output()).not.toContain(PLAIN_PASSWORD);
  });

  it("keeps tenants apart: another tenant may not write into this run's namespace", async () => {
    const good = writeBody([{ labels: { __name__: "up" }, samples: [[Date.now(), 1]] }]);
    expect((await post(good, { authorization: basic("plain", PLAIN_PASSWORD) })).status).toBe(403);
  });

  it("deduplicates an HA pair: the elected replica stored without its label, the other answered 202", async () => {
    const t = Date.now() - 60_000;
    // The cluster is this run's, so the election (keyed by tenant and cluster) is new.
    const pair = (replica: string) => writeBody([{ labels: { __name__: "rt_ha", cluster: ns, __replica__: replica }, samples: [[t, 1]] }]);
    const send = (replica: string) =>
      fetch(`${base}/metrics/rtha/${ns}/api/v1/write`, { method: "POST", body: pair(replica), headers: { ...PRW1_HEADERS, authorization: basic("ha", "ha-password") } });
    expect((await send("r1")).status).toBe(204);
    expect((await send("r2")).status).toBe(202);
    expect(await countDocs(`metrics-rtha.prometheus-${ns}`)).toBe(1);
    expect(await countDocs(`metrics-rtha.prometheus-${ns}`, { exists: { field: "labels.__replica__" } })).toBe(0);
  });

  it("answers a read", async () => {
    const res = await fetch(`${base}/metrics/rt/${ns}/api/v1/series?match[]=rt_requests_total`, { headers: { authorization: basic("dev", "promgate-dev") } });
    expect(await res.json()).toEqual({ status: "success", data: [{ __name__: "rt_requests_total", job: runtime }] });
  });
});
