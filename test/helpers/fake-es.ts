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
