import { describe, expect, it } from "vitest";
import { createApp, defaultDeps } from "../../src/app.js";
import type { Fetch } from "../../src/elastic/http.js";
import { basic, PRW1_HEADERS } from "../helpers/config.js";
import { es, integrationConfig, uniquePart } from "../helpers/es.js";
import { writeBody } from "../helpers/payload.js";

/**
 * A read sees one state of the data. Regression: the label-name lookup and the series aggregation were two
 * searches, so a refresh between them let a series whose label name was new to the stream come back without
 * that label (its sample under another series' labels). Here Elasticsearch refreshes exactly between those two
 * searches: a fetch wrapper triggers the refresh when the label-presence search (an `exists` aggregation) answers.
 */
describe("reads against one point in time", () => {
  it("never answers a series without a label that a refresh mid-read made visible", async () => {
    const ns = uniquePart("snap");
    const stream = `metrics-snap.prometheus-${ns}`;
    const auth = { authorization: basic("dev", "promgate-dev") };
    const plain = createApp(integrationConfig(), { ...defaultDeps(), log: () => {} });
    const t = Date.now() - 60_000;
    const write = async (labels: Record<string, string>, ts: number, v: number) =>
      expect(
        (await plain.request(`/metrics/snap/${ns}/api/v1/write`, { method: "POST", headers: { ...PRW1_HEADERS, ...auth }, body: writeBody([{ labels, samples: [[ts, v]] }]) })).status,
      ).toBe(204);

    await write({ __name__: "snap_total", job: "j" }, t, 1);
    await es("POST", `/${stream}/_refresh`);
    expect((await es("PUT", `/${stream}/_settings`, { index: { refresh_interval: "-1" } })).status).toBe(200);
    // A series with a label name the stream has never seen, not yet searchable.
    await write({ __name__: "snap_total", job: "j", zone: "z1" }, t + 1000, 2);

    let refreshed = false;
    const refreshMidRead: Fetch = async (input, init) => {
      const res = await fetch(input, init);
      if (!refreshed && typeof init?.body === "string" && init.body.includes('"exists"') && String(input).includes("_search")) {
        refreshed = true;
        await res.clone().text();
        await es("POST", `/${stream}/_refresh`);
      }
      return res;
    };
    const app = createApp(integrationConfig(), { ...defaultDeps(), fetch: refreshMidRead, log: () => {} });
    const res = await app.request(`/metrics/snap/${ns}/api/v1/query?query=snap_total&time=${(t + 2000) / 1000}`, { headers: auth });
    expect(res.status).toBe(200);
    const { data } = (await res.json()) as { data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
    expect(refreshed).toBe(true);
    // The snapshot predates the refresh: the old series only, with its own value (not the new series' 2).
    expect(data.result).toEqual([{ metric: { __name__: "snap_total", job: "j" }, value: [(t + 2000) / 1000, "1"] }]);

    // A later read sees both, each with its own labels.
    const after = (await (await app.request(`/metrics/snap/${ns}/api/v1/query?query=snap_total&time=${(t + 2000) / 1000}`, { headers: auth })).json()) as typeof data extends never ? never : { data: typeof data };
    expect(after.data.result.map((r) => [r.metric.zone ?? "", r.value[1]]).sort()).toEqual([["", "1"], ["z1", "2"]]);
  });
});
