import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app.js";
import { basic, PRW1_HEADERS, testConfig } from "../helpers/config.js";
import { allCreated, type Behaviour, bulkItems, fakeEs } from "../helpers/fake-es.js";
import { fixture, MetricMetadata_MetricType, snappy, V2_CONTENT_TYPE, writeBody, writeBodyV2, writeRequestBytes } from "../helpers/payload.js";
import { parseBulk } from "../helpers/reference.js";

const DEV = basic("dev", "dev-password");
const body = writeBody([{ labels: { __name__: "up", job: "a" }, samples: [[1767268800000, 1]] }]);

function setup(behaviour: Behaviour = allCreated, env: Record<string, string> = {}) {
  const es = fakeEs(behaviour);
  const app = createApp(testConfig(env), es.deps);
  const post = (path: string, b: BodyInit | null = body, headers: Record<string, string> = {}) =>
    app.request(path, {
      method: "POST",
      body: b,
      headers: { ...PRW1_HEADERS, authorization: DEV, ...headers },
      ...(b instanceof ReadableStream ? { duplex: "half" } : {}),
    } as RequestInit);
  return { app, es, post };
}

async function expectReject(res: Response, status: number, text: RegExp): Promise<string> {
  expect(res.status).toBe(status);
  const t = await res.text();
  expect(t).toMatch(text);
  expect(t.trim().split("\n")).toHaveLength(1); // one line, always
  return t;
}

describe("remote_write route: success paths", () => {
  it("stores into metrics-generic.prometheus-default with one _bulk and answers 204", async () => {
    const { es, post } = setup();
    const res = await post("/api/v1/write");
    expect(res.status).toBe(204);
    expect(es.requests).toHaveLength(1);
    const r = es.requests[0]!;
    expect(r.url.pathname).toBe("/metrics-generic.prometheus-default/_bulk");
    expect(r.url.searchParams.get("require_data_stream")).toBe("true");
    expect(r.headers.get("content-type")).toBe("application/x-ndjson");
    expect(r.headers.get("authorization")).toBe(basic("elastic", "es-secret"));
    expect(parseBulk(r.body)).toEqual([
      { "@timestamp": 1767268800000, labels: { __name__: "up", job: "a" }, metrics: { up: 1 } },
    ]);
  });

  it.each([
    ["/metrics/app/api/v1/write", "metrics-app.prometheus-default"],
    ["/metrics/app/prod/api/v1/write", "metrics-app.prometheus-prod"],
    ["/metrics/node.exporter/team_1/api/v1/write", "metrics-node.exporter.prometheus-team_1"],
  ])("%s writes to %s", async (path, stream) => {
    const { es, post } = setup();
    expect((await post(path)).status).toBe(204);
    expect(es.requests[0]!.url.pathname).toBe(`/${stream}/_bulk`);
  });

  it("accepts proto=prometheus.WriteRequest and Bearer tokens; a tenant's namespace pins its default stream", async () => {
    const { es, post } = setup();
    const res = await post("/metrics/teama/api/v1/write", body, {
      "content-type": "application/x-protobuf;proto=prometheus.WriteRequest",
      authorization: "Bearer token-of-team-a",
    });
    expect(res.status).toBe(204);
    expect(es.requests[0]!.url.pathname).toBe("/metrics-teama.prometheus-teama/_bulk");
  });

  it("counts TSDS duplicates (409) as stored, so a retried request is safe", async () => {
    const { post } = setup((_r, n) => bulkItems(Array(n).fill([409, "version_conflict_engine_exception", "already exists"])));
    expect((await post("/api/v1/write")).status).toBe(204);
  });

  it("keeps metadata-only requests (the captured Prometheus body) in the metadata index and answers 204", async () => {
    const { es, post } = setup((_r, n) => Response.json({ errors: false, items: Array(n).fill({ index: { status: 201 } }) }));
    expect((await post("/api/v1/write", fixture("rw-5.snappy"))).status).toBe(204);
    expect(es.requests).toHaveLength(1);
    expect(es.requests[0]!.url.pathname).toBe("/promgate-metadata/_bulk");
    const lines = new TextDecoder().decode(es.requests[0]!.body).trim().split("\n");
    expect(lines).toHaveLength(404);
    expect(JSON.parse(lines[0]!)).toEqual({ index: { _id: expect.stringMatching(/^metrics-generic\.prometheus-default\//) } });
    const doc = JSON.parse(lines[1]!);
    expect(Object.keys(doc).sort()).toEqual(["@timestamp", "data_stream", "help", "metric_family_name", "type", "unit"]);
  });

  it("writes both samples and metadata when one request carries both", async () => {
    const { es, post } = setup((r, n) =>
      r.url.pathname.startsWith("/promgate-metadata") ? Response.json({ errors: false }) : bulkItems(Array(n).fill(201)),
    );
    const both = snappy(
      writeRequestBytes(
        [{ labels: { __name__: "c_total" }, samples: [[1, 1]] }],
        [{ family: "c_total", type: MetricMetadata_MetricType.COUNTER, help: "h" }],
      ),
    );
    expect((await post("/api/v1/write", both)).status).toBe(204);
    expect(es.requests.map((r) => r.url.pathname)).toEqual(["/metrics-generic.prometheus-default/_bulk", "/promgate-metadata/_bulk"]);
  });

  it("gzips the bulk body when ES_GZIP is on", async () => {
    const { es, post } = setup(allCreated, { ES_GZIP: "true" });
    expect((await post("/api/v1/write")).status).toBe(204);
    const r = es.requests[0]!;
    expect(r.headers.get("content-encoding")).toBe("gzip");
    expect(parseBulk(r.body)).toHaveLength(1); // the fake inflated it
  });
});

describe("remote_write route: bad requests get a one-line 4xx and store nothing", () => {
  it.each([
    [{ "content-encoding": "gzip" }, /Content-Encoding "gzip"/],
    [{ "content-encoding": "" }, /Content-Encoding/],
    [{ "content-type": "application/json" }, /Content-Type "application\/json"/],
    [{ "content-type": "application/x-protobuf;proto=io.prometheus.write.v3.Request" }, /io\.prometheus\.write\.v3\.Request/],
  ])("415 for headers %o", async (headers, text) => {
    const { es, post } = setup();
    await expectReject(await post("/api/v1/write", body, headers as Record<string, string>), 415, text);
    expect(es.requests).toHaveLength(0);
  });

  it("401 with a WWW-Authenticate challenge for missing or wrong credentials; never echoes them", async () => {
    const { es, post } = setup();
    for (const authorization of ["", basic("dev", "wrong"), basic("nobody", "dev-password"), "Bearer nope-nope-nope", "Basic %%%", "Digest x"]) {
      const res = await post("/api/v1/write", body, { authorization });
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toMatch(/^Basic realm="promgate"/);
      const text = await res.text();
      expect(text).not.toMatch(/wrong|nope|dev-password/);
    }
    expect(es.requests).toHaveLength(0);
  });

  it("403 for a tenant writing outside its streams", async () => {
    const { es, post } = setup();
    await expectReject(
      await post("/metrics/other/api/v1/write", body, { authorization: "Bearer token-of-team-a" }),
      403,
      /tenant "teama" may not write to metrics-other\.prometheus-teama/,
    );
    expect(es.requests).toHaveLength(0);
  });

  it.each([
    ["/metrics/Upper/api/v1/write", /invalid dataset "Upper"/],
    ["/metrics/has-dash/api/v1/write", /invalid dataset "has-dash"/],
    ["/metrics/ok/bad*ns/api/v1/write", /invalid namespace "bad\*ns"/],
    [`/metrics/${"a".repeat(101)}/api/v1/write`, /invalid dataset/],
  ])("400 for invalid stream names: %s", async (path, text) => {
    const { es, post } = setup();
    await expectReject(await post(path), 400, text);
    expect(es.requests).toHaveLength(0);
  });

  it("413 from Content-Length before reading, and while streaming a chunked body", async () => {
    const { es, post } = setup();
    const big = new Uint8Array(1001);
    await expectReject(
      await post("/api/v1/write", big, { authorization: basic("small", "small-password"), "content-length": "1001" }),
      413,
      /body of 1001 bytes exceeds maxCompressedBytes 1000/,
    );
    let pulled = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(c) {
        pulled++;
        c.enqueue(new Uint8Array(400));
        if (pulled > 100) c.close();
      },
    });
    const res = await post("/api/v1/write", stream, { authorization: basic("small", "small-password") });
    await expectReject(res, 413, /body exceeds maxCompressedBytes 1000/);
    expect(pulled).toBeLessThan(10); // stopped at the cap, not after reading everything
    expect(es.requests).toHaveLength(0);
  });

  it("413 for a decompression bomb, from the snappy preamble", async () => {
    const { es, post } = setup();
    const bomb = new Uint8Array([0x80, 0x80, 0x80, 0x80, 0x08, 0x00, 0x41]); // declares 2 GiB
    await expectReject(await post("/api/v1/write", bomb), 413, /decoded body of 2147483648 bytes exceeds maxDecompressedBytes/);
    expect(es.requests).toHaveLength(0);
  });

  it("400 for corrupt snappy and for truncated protobuf", async () => {
    const { es, post } = setup();
    await expectReject(await post("/api/v1/write", body.subarray(0, body.length - 2)), 400, /cannot decode snappy/);
    const raw = writeRequestBytes([{ labels: { __name__: "up" }, samples: [[1, 1]] }]);
    await expectReject(await post("/api/v1/write", snappy(raw.subarray(0, raw.length - 1))), 400, /cannot decode protobuf/);
    await expectReject(await post("/api/v1/write", new Uint8Array(0)), 400, /cannot decode snappy/);
    expect(es.requests).toHaveLength(0);
  });

  it("400 after storing the valid series when some are invalid, naming each reason", async () => {
    const { es, post } = setup();
    const mixed = writeBody([
      { labels: { __name__: "ok" }, samples: [[1, 1]] },
      { labels: { job: "no-name" }, samples: [[1, 1], [2, 2]] },
      { labels: { __name__: "x", "": "v" }, samples: [[1, 1]] },
    ]);
    const res = await post("/api/v1/write", mixed);
    await expectReject(res, 400, /stored 1 samples; not stored: series without __name__ label: 1 series, 2 samples .*job="no-name".*; empty label name: 1 series/);
    expect(parseBulk(es.requests[0]!.body)).toHaveLength(1);
  });

  it("405 for other methods on the write route, 404 elsewhere", async () => {
    const { app } = setup();
    expect((await app.request("/api/v1/write")).status).toBe(405);
    expect((await app.request("/nope")).status).toBe(404);
  });
});

describe("remote_write route: Elasticsearch failures map to retryable or final statuses", () => {
  // 503, not 429: Prometheus retries 5xx by default but drops a batch answered 429 unless told otherwise.
  it("503 with Retry-After when any item is throttled", async () => {
    const { post } = setup((_r, n) =>
      bulkItems([...Array(n - 1).fill(201), [429, "es_rejected_execution_exception", "queue full"]]),
    );
    const two = writeBody([{ labels: { __name__: "a" }, samples: [[1, 1], [2, 2]] }]);
    const res = await post("/api/v1/write", two);
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("5");
  });

  it("503 with Retry-After when ES throttles the whole request", async () => {
    const { post } = setup(() => Response.json({ error: { type: "circuit_breaking_exception", reason: "too much" } }, { status: 429 }));
    const res = await post("/api/v1/write");
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("5");
  });

  it("400 naming the reasons for other item failures (e.g. outside the TSDS time window)", async () => {
    const { post } = setup((_r, n) =>
      bulkItems([
        ...Array(n - 1).fill(201),
        [400, "illegal_argument_exception", "the document timestamp [2020-01-01T00:00:00.000Z] is outside of ranges"],
      ]),
    );
    const two = writeBody([{ labels: { __name__: "a" }, samples: [[1, 1], [2, 2]] }]);
    await expectReject(await post("/api/v1/write", two), 400, /1 of 2 samples rejected by elasticsearch: illegal_argument_exception ×1: the document timestamp/);
  });

  it("503 naming `promgate setup` when the index template is missing (require_data_stream refused)", async () => {
    const reason =
      "no such index [metrics-generic.prometheus-default] and the index creation request requires a data stream, but no matching index template with data stream template was found for it";
    const { post } = setup((_r, n) => bulkItems(Array(n).fill([404, "index_not_found_exception", reason])));
    await expectReject(await post("/api/v1/write"), 503, /run `promgate setup`/);
  });

  it("503 when an item fails with a 5xx", async () => {
    const { post } = setup((_r, n) => bulkItems(Array(n).fill([503, "unavailable_shards_exception", "primary shard is not active"])));
    expect((await post("/api/v1/write")).status).toBe(503);
  });

  it("503 when Elasticsearch is unreachable or does not answer in time; 502 for its 5xx", async () => {
    for (const [b, status, text] of [
      ["refuse", 503, /elasticsearch unreachable/],
      ["hang", 503, /elasticsearch did not answer within 200 ms/],
      [() => new Response("boom", { status: 500 }), 502, /elasticsearch failed the bulk request/],
      [() => new Response("nope", { status: 503 }), 503, /elasticsearch failed/],
      [() => new Response("{}", { status: 401 }), 502, /refused promgate's credentials/],
    ] as [Behaviour | "refuse" | "hang", number, RegExp][]) {
      const { post, es } = setup(typeof b === "string" ? () => b : b);
      const res = await post("/api/v1/write");
      expect(await expectReject(res, status, text)).not.toContain("es-secret");
      expect(es.logs.join("\n")).not.toContain("es-secret");
    }
  });

  it("502 when the bulk answer does not account for every document", async () => {
    const { post } = setup(() => bulkItems([]));
    expect((await post("/api/v1/write")).status).toBe(502);
  });
});

describe("remote write 2.0: written-count headers on every answer", () => {
  const t = 1767268800000;
  const v2body = writeBodyV2([
    { labels: { __name__: "up", job: "a" }, samples: [[t, 1], [t + 1000, 1]] },
    { labels: { __name__: "lat" }, samples: [], histograms: [[t, { float: false, schema: 0, zeroThreshold: 0, zeroCount: 0, count: 1, sum: 1, positiveSpans: [{ offset: 0, length: 1 }], positiveBuckets: [1], negativeSpans: [], negativeBuckets: [], resetHint: 0, customValues: [] }]], exemplars: [{ labels: { trace_id: "x" }, value: 1, timestampMs: t }] },
  ]);
  const written = (res: Response) => ["samples", "histograms", "exemplars"].map((k) => res.headers.get(`x-prometheus-remote-write-${k}-written`));
  const v2 = { "content-type": V2_CONTENT_TYPE };

  it("204 counts what was stored, duplicates included", async () => {
    const { post } = setup((_r, docs) => bulkItems([201, 409, 201, 201].slice(0, docs)));
    const res = await post("/api/v1/write", v2body, v2);
    expect(res.status).toBe(204);
    expect(written(res)).toEqual(["2", "1", "1"]);
  });

  it("a partial failure is a 4xx, never a 2xx, and says what was stored", async () => {
    const { post } = setup(() => bulkItems([201, [400, "mapper_parsing_exception", "bad"], 201, 201]));
    const res = await post("/api/v1/write", v2body, v2);
    expect(res.status).toBe(400);
    expect(written(res)).toEqual(["1", "1", "1"]);
  });

  it("5xx from Elasticsearch: nothing written", async () => {
    const { post } = setup(() => new Response("{}", { status: 503 }));
    const res = await post("/api/v1/write", v2body, v2);
    expect(res.status).toBeGreaterThanOrEqual(500);
    expect(written(res)).toEqual(["0", "0", "0"]);
  });

  it("401 and 413 carry them too", async () => {
    const { post } = setup();
    const unauth = await post("/api/v1/write", v2body, { ...v2, authorization: "" });
    expect(unauth.status).toBe(401);
    expect(written(unauth)).toEqual(["0", "0", "0"]);
    const large = writeBodyV2(Array.from({ length: 200 }, (_, i) => ({ labels: { __name__: `m${i}`, instance: `host-${i}` }, samples: [[t, i]] as [number, number][] })));
    const big = await post("/api/v1/write", large, { ...v2, authorization: basic("small", "small-password") });
    expect(big.status).toBe(413);
    expect(written(big)).toEqual(["0", "0", "0"]);
  });

  it("a 1.0 answer carries none of them", async () => {
    const { post } = setup();
    const res = await post("/api/v1/write");
    expect(res.status).toBe(204);
    expect(written(res)).toEqual([null, null, null]);
  });
});

describe("remote_write route: with the chunk index on", () => {
  const now = 1767268800000; // fakeEs' clock
  const twoSeries = writeBody([
    { labels: { __name__: "up", job: "late" }, samples: [[now - 3_600_001, 1], [now - 3_600_000, 2]] },
    { labels: { __name__: "up", job: "fresh" }, samples: [[now - 60_000, 3]] },
  ]);

  it("refuses samples older than PROMGATE_CHUNKS_SETTLE as out of bounds (400) and stores the rest", async () => {
    const { es, post } = setup(allCreated, { PROMGATE_CHUNKS: "on" });
    const t = await expectReject(await post("/api/v1/write", twoSeries), 400, /^stored 2 samples; not stored: out of bounds: 1 series, 1 samples \(e\.g\. \{__name__="up", job="late"\}\)\n$/);
    expect(t).toContain("out of bounds");
    expect(parseBulk(es.requests[0]!.body).map((d) => (d as { "@timestamp": number })["@timestamp"])).toEqual([now - 3_600_000, now - 60_000]);
  });

  it("follows the configured horizon, and takes everything with chunks off", async () => {
    const wide = setup(allCreated, { PROMGATE_CHUNKS: "on", PROMGATE_CHUNKS_SETTLE: "2h" });
    expect((await wide.post("/api/v1/write", twoSeries)).status).toBe(204);
    const off = setup();
    expect((await off.post("/api/v1/write", twoSeries)).status).toBe(204);
    expect(parseBulk(off.es.requests[0]!.body)).toHaveLength(3);
  });
});
