import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app.js";
import { ConfigError } from "../../src/config.js";
import { esFetch, type Fetch } from "../../src/elastic/http.js";
import { connectionRefused, NODE_DOWN_MS, NodePool } from "../../src/elastic/nodes.js";
import { basic, PRW1_HEADERS, testConfig } from "../helpers/config.js";
import { allCreated } from "../helpers/fake-es.js";
import { writeBody } from "../helpers/payload.js";

const URLS = "http://127.0.0.1:9201,http://127.0.0.1:9202,http://127.0.0.1:9203";
const HOSTS = ["127.0.0.1:9201", "127.0.0.1:9202", "127.0.0.1:9203"];

type NodeBehaviour = "ok" | "refuse" | "hang" | "reset";

/** Three fake nodes by port; `calls` lists the host of every request in order. */
function nodes(behaviour: Record<string, NodeBehaviour>) {
  const calls: string[] = [];
  const fetchFn: Fetch = async (input, init) => {
    const req = new Request(input, init);
    const host = new URL(req.url).host;
    calls.push(host);
    const b = behaviour[host] ?? "ok";
    if (b === "refuse") throw new TypeError("fetch failed", { cause: Object.assign(new Error("connect ECONNREFUSED " + host), { code: "ECONNREFUSED" }) });
    if (b === "reset") throw new TypeError("fetch failed", { cause: Object.assign(new Error("other side closed"), { code: "UND_ERR_SOCKET" }) });
    if (b === "hang") {
      return new Promise<Response>((_, reject) => init?.signal?.addEventListener("abort", () => reject(init.signal!.reason)));
    }
    if (req.url.includes("/_bulk")) {
      const docs = (await req.text()).split("\n").filter((l) => l !== "").length / 2;
      return allCreated({ method: req.method, url: new URL(req.url), headers: req.headers, body: new Uint8Array() }, docs) as Response;
    }
    return Response.json({ cluster_name: "c", status: "green" });
  };
  return { calls, fetchFn };
}

const config = (extra: Record<string, string> = {}) => testConfig({ ES_URL: URLS, ...extra });

describe("ES_URL with several nodes", () => {
  it("is a comma-separated list of URLs, each checked", () => {
    expect(testConfig({ ES_URL: " http://a:9200/, https://b:9243" }).esUrls).toEqual(["http://a:9200", "https://b:9243"]);
    expect(testConfig().esUrls).toEqual(["http://127.0.0.1:9200"]);
    expect(() => testConfig({ ES_URL: "http://a:9200,,http://b:9200" })).toThrow(/ES_URL has an empty entry/);
    expect(() => testConfig({ ES_URL: "http://a:9200,http://a:9200/" })).toThrow(/ES_URL names http:\/\/a:9200 twice/);
    expect(() => testConfig({ ES_URL: "http://a:9200,http://u:p@b:9200" })).toThrow(ConfigError);
    expect(() => testConfig({ ES_URL: "http://a:9200,ftp://b" })).toThrow(/ES_URL must be http or https/);
  });

  it("spreads requests round robin", async () => {
    const c = config();
    const n = nodes({});
    for (let i = 0; i < 6; i++) await esFetch(c, n.fetchFn, { method: "GET", path: "/_cluster/health" });
    expect(n.calls).toEqual([...HOSTS, ...HOSTS]);
  });

  it("moves a request off a node that refuses the connection, and skips that node afterwards", async () => {
    const c = config();
    const n = nodes({ [HOSTS[0]!]: "refuse" });
    const res = await esFetch(c, n.fetchFn, { method: "POST", path: "/x/_doc", body: "{}", idempotent: false });
    expect(res.status).toBe(200);
    expect(n.calls).toEqual([HOSTS[0], HOSTS[1]]);
    n.calls.length = 0;
    for (let i = 0; i < 4; i++) await esFetch(c, n.fetchFn, { method: "GET", path: "/_cluster/health" });
    expect(n.calls).not.toContain(HOSTS[0]);
  });

  it("retries a _bulk that timed out on the next node (TSDS ids make it safe): remote_write succeeds", async () => {
    const c = config();
    const n = nodes({ [HOSTS[0]!]: "hang" });
    const app = createApp(c, { fetch: n.fetchFn, now: () => 1767268800000, log: () => undefined });
    const res = await app.request("/api/v1/write", {
      method: "POST",
      body: writeBody([{ labels: { __name__: "up", job: "a" }, samples: [[1767268800000, 1]] }]),
      headers: { ...PRW1_HEADERS, authorization: basic("dev", "dev-password") },
    });
    expect(res.status, await res.text()).toBe(204);
    expect(n.calls).toEqual([HOSTS[0], HOSTS[1]]);
  });

  it("does not resend a request that is not safe to send twice after a timeout or a lost connection", async () => {
    for (const b of ["hang", "reset"] as const) {
      const n = nodes({ [HOSTS[0]!]: b });
      const err = await esFetch(config(), n.fetchFn, { method: "POST", path: "/x/_doc", body: "{}" }).catch((e: Error) => e);
      expect((err as { kind?: string }).kind).toBe("unavailable");
      expect(n.calls).toEqual([HOSTS[0]]);
    }
  });

  it("resends a read after a lost connection", async () => {
    const n = nodes({ [HOSTS[0]!]: "reset" });
    const res = await esFetch(config(), n.fetchFn, { method: "POST", path: "/m/_search", body: "{}" });
    expect(res.status).toBe(200);
    expect(n.calls).toEqual([HOSTS[0], HOSTS[1]]);
  });

  it("gives up after two timeouts (a slow cluster, not a slow node), naming the node", async () => {
    const n = nodes({ [HOSTS[0]!]: "hang", [HOSTS[1]!]: "hang", [HOSTS[2]!]: "hang" });
    const err = (await esFetch(config(), n.fetchFn, { method: "POST", path: "/m/_search", body: "{}" }).catch((e: Error) => e)) as Error & { kind: string };
    expect(err.kind).toBe("unavailable");
    expect(err.message).toMatch(/did not answer within 200 ms \(http:\/\/127\.0\.0\.1:920[0-9]\)/);
    expect(n.calls).toHaveLength(2);
  });

  it("tries every node when all refuse, then answers 503", async () => {
    const n = nodes(Object.fromEntries(HOSTS.map((h) => [h, "refuse" as const])));
    const err = (await esFetch(config(), n.fetchFn, { method: "GET", path: "/_cluster/health" }).catch((e: Error) => e)) as Error & { kind: string };
    expect(err.kind).toBe("unavailable");
    expect(err.message).toContain("elasticsearch unreachable (http://127.0.0.1:920");
    expect(n.calls.sort()).toEqual([...HOSTS].sort());
  });
});

describe("NodePool", () => {
  it("keeps a node out of turn for NODE_DOWN_MS, tries it last meanwhile, and takes it back after", () => {
    let now = 1000;
    const pool = new NodePool(["a", "b", "c"], () => now);
    pool.markDown(0);
    expect(pool.order()).toEqual([1, 2, 0]);
    expect(pool.order()).toEqual([1, 2, 0]);
    expect(pool.order()).toEqual([2, 1, 0]);
    now += NODE_DOWN_MS;
    expect(pool.isDown(0)).toBe(false);
    expect(pool.order()).toEqual([0, 1, 2]);
  });

  it("orders nodes that are all down by when they come back", () => {
    let now = 0;
    const pool = new NodePool(["a", "b"], () => now);
    pool.markDown(1);
    now = 10;
    pool.markDown(0);
    expect(pool.order()).toEqual([1, 0]);
  });
});

describe("connectionRefused", () => {
  it("recognises each runtime's wording, and nothing else", () => {
    expect(connectionRefused(new TypeError("fetch failed", { cause: { code: "ECONNREFUSED" } }))).toBe(true);
    expect(connectionRefused(Object.assign(new Error("Unable to connect"), { code: "ConnectionRefused" }))).toBe(true);
    expect(connectionRefused(new TypeError("error sending request for url (http://127.0.0.1:9201/): client error (Connect): tcp connect error: Connection refused (os error 111)"))).toBe(true);
    expect(connectionRefused(new TypeError("fetch failed", { cause: { code: "UND_ERR_SOCKET" } }))).toBe(false);
    expect(connectionRefused(new DOMException("timed out", "TimeoutError"))).toBe(false);
  });
});
