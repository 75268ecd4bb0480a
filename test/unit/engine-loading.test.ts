import { describe, expect, it } from "vitest";
import { readScope } from "../../src/query/scope.js";
import { samplePlan, timeSlices } from "../../src/query/storage/es-query.js";
import { Storage } from "../../src/query/storage/storage.js";
import { seriesKey } from "../../src/query/storage/types.js";
import { testConfig } from "../helpers/config.js";

/** How the sample load is planned: which labels the aggregation groups by, and the concurrent time slices. */

const series = (labels: Record<string, string>) => ({ key: seriesKey(labels), labels });

describe("samplePlan", () => {
  it("turns labels every series has with one value into term filters and groups by the rest", () => {
    const plan = samplePlan([
      series({ __name__: "up", job: "a", instance: "1", zone: "x" }),
      series({ __name__: "up", job: "a", instance: "2" }),
    ]);
    expect(plan.constant).toEqual([{ term: { "labels.__name__": "up" } }, { term: { "labels.job": "a" } }]);
    // `zone` is missing on one series: it still tells series apart (missing_bucket), so it stays a source.
    expect(plan.varying).toEqual(["instance", "zone"]);
  });

  it("keeps a label that varies even when one value dominates", () => {
    const plan = samplePlan([series({ __name__: "x", a: "1" }), series({ __name__: "x", a: "1", b: "2" }), series({ __name__: "x", a: "2" })]);
    expect(plan.varying).toEqual(["a", "b"]);
  });
});

describe("timeSlices", () => {
  it.each([
    [0, 999, 2],
    [5, 5, 2],
    [100, 103, 3],
    [-7, 1_000_003, 4],
  ])("[%i, %i] in %i slices: contiguous, disjoint, covering", (startMs, endMs, n) => {
    const slices = timeSlices({ startMs, endMs }, n);
    expect(slices[0]!.startMs).toBe(startMs);
    expect(slices[slices.length - 1]!.endMs).toBe(endMs);
    for (let i = 1; i < slices.length; i++) expect(slices[i]!.startMs).toBe(slices[i - 1]!.endMs + 1);
    for (const s of slices) expect(s.endMs).toBeGreaterThanOrEqual(s.startMs);
    expect(slices.length).toBe(Math.min(n, endMs - startMs + 1));
  });
});

describe("read requests to Elasticsearch", () => {
  async function acceptEncoding(extra: Record<string, string>): Promise<string | undefined> {
    let seen: string | undefined = "(no request)";
    const fetchFn = async (_input: Request | string | URL, init?: RequestInit) => {
      seen = (init?.headers as Record<string, string> | undefined)?.["accept-encoding"];
      return new Response(JSON.stringify({ fields: {} }), { status: 200, headers: { "content-type": "application/json" } });
    };
    const config = testConfig(extra);
    await new Storage(config, fetchFn).labelNames(readScope(config.tenants[0]!), undefined);
    return seen;
  }

  it("ask for uncompressed answers by default (gzip costs both sides CPU a nearby cluster does not need)", async () => {
    expect(await acceptEncoding({})).toBe("identity");
  });

  it("leave compression to the fetch implementation when ES_GZIP is on", async () => {
    expect(await acceptEncoding({ ES_GZIP: "true" })).toBeUndefined();
  });
});
