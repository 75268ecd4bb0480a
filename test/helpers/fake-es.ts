import type { AppDeps } from "../../src/app.js";
import type { Fetch } from "../../src/elastic/http.js";

/**
 * A stand-in Elasticsearch for fault injection only (throttling, partial failures, timeouts, outages).
 * Everything about real storage is tested against the real Elasticsearch in test/integration.
 */
export interface Recorded {
  method: string;
  url: URL;
  headers: Headers;
  body: Uint8Array;
}

export type Behaviour = (req: Recorded, docs: number) => Response | Promise<Response> | "hang" | "refuse";

export function bulkItems(statuses: (number | [number, string, string])[]): Response {
  const items = statuses.map((s) =>
    typeof s === "number" ? { create: { status: s } } : { create: { status: s[0], error: { type: s[1], reason: s[2] } } },
  );
  const errors = statuses.some((s) => (typeof s === "number" ? s : s[0]) >= 300);
  return Response.json(errors ? { errors, items } : { errors, items });
}

export const allCreated: Behaviour = (_req, docs) => bulkItems(Array(docs).fill(201));

/** Elasticsearch with nothing stored: every read answers empty, every write succeeds. */
export const emptyEs: Behaviour = (req, docs) => {
  const p = req.url.pathname;
  if (p.endsWith("/_bulk")) return allCreated(req, docs);
  if (p.endsWith("/_pit")) return req.method === "POST" ? Response.json({ id: "pit-1" }) : Response.json({ succeeded: true });
  if (p.endsWith("/_field_caps")) return Response.json({ fields: {} });
  if (p.endsWith("/_search")) return Response.json({});
  if (p === "/_cluster/health") return Response.json({ cluster_name: "matrix-cluster", status: "green", number_of_nodes: 1 });
  if (p.startsWith("/_nodes")) return Response.json({ nodes: { n1: { version: "9.2.0" } } });
  if (p.startsWith("/_index_template")) return Response.json({ index_templates: [] });
  return new Response(`unexpected request ${req.method} ${p}`, { status: 500 });
};

export function fakeEs(behaviour: Behaviour = allCreated) {
  const requests: Recorded[] = [];
  const fetchFn: Fetch = async (input, init) => {
    const req = new Request(input, init);
    let body = new Uint8Array(await req.arrayBuffer());
    if (req.headers.get("content-encoding") === "gzip") {
      const plain = new Blob([body]).stream().pipeThrough(new DecompressionStream("gzip"));
      body = new Uint8Array(await new Response(plain).arrayBuffer());
    }
    const rec: Recorded = { method: req.method, url: new URL(req.url), headers: req.headers, body };
    requests.push(rec);
    const lines = new TextDecoder().decode(body).split("\n").filter((l) => l !== "");
    const result = await behaviour(rec, lines.length / 2);
    if (result === "refuse") throw new TypeError("fetch failed: connect ECONNREFUSED 127.0.0.1:9200");
    if (result === "hang") {
      return new Promise<Response>((_, reject) => {
        init?.signal?.addEventListener("abort", () => reject(init.signal!.reason));
      });
    }
    return result;
  };
  const logs: string[] = [];
  const deps: AppDeps = { fetch: fetchFn, now: () => 1767268800000, log: (l) => logs.push(l) };
  return { requests, deps, logs };
}
