import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app.js";
import { QueryTimeoutError } from "../../src/query/promql/deadline.js";
import type { SeriesData } from "../../src/query/promql/engine.js";
import { MAX_NESTING } from "../../src/query/promql/nesting.js";
import { instantQuery } from "../../src/query/promql/query.js";
import { parsePromQL } from "../../src/query/promql/parse.js";
import { parseSelector } from "../../src/query/selector.js";
import { compileMatcher } from "../../src/query/matchers.js";
import { basic, testConfig } from "../helpers/config.js";
import { fakeEs } from "../helpers/fake-es.js";

/**
 * Inputs the fuzz suite (test/integration/fuzz.test.ts) found answering 500, hanging or exhausting memory,
 * each named here with the answer it must get now.
 */

const DEV = basic("dev", "dev-password");
// Nothing here may reach Elasticsearch: a fake that refuses every request proves it.
const app = createApp(testConfig(), fakeEs(() => "refuse").deps);

const nested = (open: string, close: string, n: number) => `${open.repeat(n)}up${close.repeat(n)}`;

describe("deeply nested PromQL is a 400 with the reason, not a 500, a stall or an out-of-memory crash", () => {
  it.each([
    ["parentheses", nested("(", ")", MAX_NESTING + 1)],
    // 60,000 levels of this took the grammar's error recovery 9 s; 200,000 exhausted a 4 GB heap.
    ["nested subqueries", nested("max_over_time((", ")[5m:1m])", 200_000)],
    ["calls", nested("sum(", ")", 50_000)],
    ["braces", nested("{", "}", 50_000)],
  ])("%s", (_, q) => {
    expect(() => parsePromQL(q)).toThrow(new RegExp(`parse error: expression nested deeper than ${MAX_NESTING} levels`));
  });

  it("still parses what Prometheus parses at a depth real queries never reach", () => {
    expect(parsePromQL(nested("(", ")", 500)).kind).toBe("paren");
  });

  it("a chain of offsets (no brackets, as deep as it is long) exhausted the stack: now a parse error", () => {
    const q = `up${" offset 1m".repeat(5000)}`;
    expect(() => parsePromQL(q)).toThrow(/parse error: expression nested too deeply/);
  });

  it.each([
    ["/api/v1/format_query", `up${" offset 1m".repeat(5000)}`],
    ["/api/v1/query", `up${" offset 1m".repeat(5000)}`],
    ["/api/v1/query", nested("max_over_time((", ")[5m:1m])", 100_000)],
  ])("%s answers 400 bad_data", async (path, query) => {
    const res = await app.request(path, {
      method: "POST",
      body: new URLSearchParams({ query }).toString(),
      headers: { authorization: DEV, "content-type": "application/x-www-form-urlencoded" },
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { errorType: string; error: string };
    expect(body.errorType).toBe("bad_data");
    expect(body.error).toMatch(/nested (too deeply|deeper than)/);
  });
});

describe("series selectors (match[])", () => {
  it("a deeply nested selector is refused before the grammar runs", () => {
    expect(() => parseSelector(nested("max_over_time((", ")[5m:1m])", 100_000))).toThrow(/nested deeper than 1000 levels/);
  });

  it("a long operator chain that exhausts the grammar's stack is a 400, not a 500", () => {
    expect(() => parseSelector(`up${" + up".repeat(20_000)}`)).toThrow(/^invalid series selector/);
  });

  it("quote a bad selector back shortened: 100 KB of input gave 100 KB of error", () => {
    const text = `up{job="api"} ${"x".repeat(100_000)}`;
    let message = "";
    try {
      parseSelector(text);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/^invalid series selector at character \d+: "up\{job=\\"api\\"\} xxx/);
    expect(message.length).toBeLessThan(400);
  });
});

describe("subqueries whose range is past float precision", () => {
  // `ts + step` rounded back to `ts` and the loop skipped the step before checking the deadline: the process
  // spun forever (the fuzz suite saw promgate stop answering). Such ranges are parse errors now, as in
  // Prometheus (a range is a Go time.Duration); the longest one left must still end at the deadline.
  it.each([
    ["last_over_time(up[9999999999999999999h:1m])", "1:19: parse error: duration out of range"],
    ["count_over_time(up[99999999999999999999999y:1s])", '1:20: parse error: not a valid duration string: "99999999999999999999999y"'],
    ["count_over_time(up[1e300:1s])", "1:20: parse error: duration out of range"],
  ])("%s is refused as Prometheus does", (q, message) => {
    expect(() => parsePromQL(q)).toThrow(message);
  });

  it.each(["count_over_time(up[292y:1ms])", "last_over_time(up[9223372036:1ms])"])("%s ends at the deadline with a timeout", async (q) => {
    const source = { select: async (): Promise<SeriesData[]> => [{ labels: { __name__: "up" }, ts: [0], vs: [1], stale: new Set<number>() }] };
    await expect(instantQuery(parsePromQL(q), 1_700_000_000_000, source, { deadline: Date.now() + 100 })).rejects.toBeInstanceOf(QueryTimeoutError);
  });
});

describe("regex repeat counts RE2 refuses", () => {
  // JavaScript accepts `{1,32000}` and spent half a second per label value on it; pushed down,
  // Elasticsearch refused it and promgate answered 502. RE2 (so Prometheus) refuses counts above 1000.
  it.each(['up{job=~"(.*){1,32000}[bc]"}', 'up{job!~"a{1001}"}', 'up{job=~"x{2000,}"}'])("%s is a parse error", (q) => {
    expect(() => parsePromQL(q)).toThrow(/parse error: error parsing regexp: invalid repeat count/);
  });

  it.each(['up{job=~"a{1000}"}', 'up{job=~"[{]1001}"}', 'up{job=~"\\\\{1001}"}', 'up{job=~"[]{]{2}"}'])("%s is still valid", (q) => {
    expect(parsePromQL(q).kind).toBe("vector");
  });

  it("match[] too: 400, not a 502 from Elasticsearch", () => {
    expect(() => compileMatcher({ name: "job", type: "=~", value: "(.*){1,32000}[bc]" })).toThrow(/invalid repeat count: `\{1,32000\}`/);
  });
});
