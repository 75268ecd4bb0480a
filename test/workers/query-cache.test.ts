import { describe, expect, it } from "vitest";
import { WorkersCacheStore } from "../../src/query/frontend/workers-store.js";
import { pieceKey, scopeHash } from "../../src/query/frontend/keys.js";

/** The results cache's Workers store on workerd's own Cache API (caches.default), as the Workers entry uses it. */
describe("results cache in the Workers Cache API", () => {
  it("gives back what was put, under keys of one scope only", async () => {
    const store = new WorkersCacheStore(caches.default);
    const a = await scopeHash({ tenantPatterns: ["metrics-*.prometheus-a"], routePatterns: undefined });
    const b = await scopeHash({ tenantPatterns: ["metrics-*.prometheus-b"], routePatterns: undefined });
    const piece = { version: "test", query: "up", stepMs: 60_000, phaseMs: 0, splitMs: 86_400_000, index: 20_000, anchor: undefined };
    const value = JSON.stringify({ result: [{ metric: { job: "é" }, values: [[1, "1"]] }], warnings: [], infos: [] });
    await store.put(await pieceKey(a, piece), value);
    expect(await store.get(await pieceKey(a, piece))).toBe(value);
    expect(await store.get(await pieceKey(b, piece))).toBeUndefined();
    expect(await store.get(await pieceKey(a, { ...piece, index: 20_001 }))).toBeUndefined();
  });
});
