import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app.js";
import { withCompleteness } from "../../src/elastic/complete.js";
import { basic, testConfig } from "../helpers/config.js";
import { type Behaviour, emptyEs, fakeEs, type Recorded } from "../helpers/fake-es.js";

/**
 * A search Elasticsearch ran on only some shards answers 200 with `_shards.failed` > 0 (or `timed_out`):
 * promgate must answer 503, never the partial result as if it were whole.
 */

const AUTH = { authorization: basic("dev", "dev-password") };
const SHARDS_FAILED = { _shards: { total: 3, successful: 2, skipped: 0, failed: 1 }, timed_out: false };

/** emptyEs with one label name in the mappings, so reads go on to search. */
const oneLabel: Behaviour = (req, docs) =>
  req.url.pathname.endsWith("/_field_caps") ? Response.json({ fields: { "labels.__name__": { keyword: { type: "keyword" } } } }) : emptyEs(req, docs);

/** oneLabel, except that requests `pick` selects answer `partial` (with status 200). */
function partialWhere(pick: (req: Recorded) => boolean, partial: Record<string, unknown>): Behaviour {
  return (req, docs) => (pick(req) ? Response.json(partial) : oneLabel(req, docs));
}

const isSearch = (r: Recorded) => r.url.pathname.endsWith("/_search");
const pathHas = (s: string) => (r: Recorded) => r.url.pathname.includes(s);

async function statusOf(behaviour: Behaviour, url: string): Promise<{ status: number; body: string; requests: Recorded[] }> {
  const es = fakeEs(behaviour);
  const app = createApp(testConfig(), es.deps);
  const res = await app.request(url, { headers: AUTH });
  return { status: res.status, body: await res.text(), requests: es.requests };
}

const NOW = 1767268800;

describe("partial answers from Elasticsearch become 503", () => {
  it.each([
    ["an instant query whose search lost a shard", `/api/v1/query?query=up&time=${NOW}`, partialWhere(isSearch, SHARDS_FAILED)],
    ["a range query whose search timed out on a shard", `/api/v1/query_range?query=up&start=${NOW - 600}&end=${NOW}&step=60`, partialWhere(isSearch, { _shards: { total: 2, failed: 0 }, timed_out: true })],
    ["series whose point in time was opened without a shard", `/api/v1/series?match[]=up`, partialWhere((r) => r.url.pathname.endsWith("/_pit") && r.method === "POST", { id: "pit-1", ...SHARDS_FAILED })],
    ["label names whose field_caps missed an index", `/api/v1/labels`, partialWhere(pathHas("/_field_caps"), { fields: { "labels.job": { keyword: { type: "keyword" } } }, failed_indices: 1 })],
    ["metadata whose search lost a shard", `/api/v1/metadata`, partialWhere((r) => isSearch(r) && r.url.pathname.startsWith("/promgate-metadata"), SHARDS_FAILED)],
    ["exemplars whose search lost a shard", `/api/v1/query_exemplars?query=up&start=${NOW - 600}&end=${NOW}`, partialWhere((r) => isSearch(r) && r.url.pathname.startsWith("/promgate-exemplars"), SHARDS_FAILED)],
  ])("%s", async (_what, url, behaviour) => {
    const r = await statusOf(behaviour, url);
    expect(r.status, r.body).toBe(503);
    expect(r.body).toMatch(/shards|indices|out of time/);
    expect(r.body).toContain("partial answer is not used");
  });

  it("a complete answer with its _shards counts is a result", async () => {
    const complete = partialWhere(isSearch, { _shards: { total: 3, successful: 3, skipped: 0, failed: 0 }, timed_out: false });
    const r = await statusOf(complete, `/api/v1/query?query=up&time=${NOW}`);
    expect(r.status, r.body).toBe(200);
  });

  it("asks Elasticsearch not to answer in part, and keeps the fields the check reads in a filter_path", async () => {
    const r = await statusOf(oneLabel, `/api/v1/query_range?query=up&start=${NOW - 600}&end=${NOW}&step=60`);
    const searches = r.requests.filter(isSearch);
    expect(searches.length).toBeGreaterThan(0);
    for (const s of searches) {
      expect(s.url.searchParams.get("allow_partial_search_results")).toBe("false");
      const fp = s.url.searchParams.get("filter_path");
      if (fp && !fp.split(",").every((p) => p.startsWith("-"))) expect(fp.split(",")).toEqual(expect.arrayContaining(["_shards.failed", "timed_out"]));
    }
  });

  it("leaves a filter of exclusions alone (an inclusion would drop the rest)", () => {
    expect(withCompleteness("-hits.hits._id,-hits.hits._score")).toBe("-hits.hits._id,-hits.hits._score");
    expect(withCompleteness("aggregations")).toBe("aggregations,_shards.total,_shards.failed,timed_out");
  });
});
