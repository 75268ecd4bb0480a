import { describe, expect, it } from "vitest";
import { DEFAULT_LIMITS, type Limits } from "../../src/config.js";
import { PromgateError } from "../../src/errors.js";
import { statusOf as httpStatusOf } from "../../src/http/errors.js";
import { decodeWriteRequest } from "../../src/ingest/decode.js";
import { BulkBodyWriter } from "../../src/ingest/documents.js";
import { snappyDecompress } from "../../src/ingest/snappy.js";
import { FIXTURES, fixture, MetricMetadata_MetricType, type SeriesSpec, writeRequestBytes } from "../helpers/payload.js";
import { parseBulk, referenceDocuments } from "../helpers/reference.js";

function transcode(decoded: Uint8Array, limits: Limits = DEFAULT_LIMITS) {
  const writer = new BulkBodyWriter(limits, 16);
  const stats = decodeWriteRequest(decoded, limits, writer);
  return { writer, stats, docs: parseBulk(writer.body()) };
}

function statusOf(fn: () => unknown): { status: number; message: string } {
  try {
    fn();
  } catch (e) {
    if (e instanceof PromgateError) return { status: httpStatusOf(e.kind), message: e.message };
    throw e;
  }
  throw new Error("expected a PromgateError");
}

describe("decode → _bulk documents", () => {
  it.each(FIXTURES)("matches the generated-code reference on Prometheus' own body %s", (name) => {
    const decoded = snappyDecompress(fixture(name), DEFAULT_LIMITS.maxDecompressedBytes);
    const { docs, stats, writer } = transcode(decoded);
    const expected = referenceDocuments(decoded);
    expect(docs).toEqual(expected);
    expect(writer.documents).toBe(expected.length);
    if (name === "rw-5.snappy") {
      expect(stats.series).toBe(0);
      expect(writer.metadataEntries).toHaveLength(202);
      expect(writer.metadataEntries.every((m) => m.family !== "")).toBe(true);
    } else {
      expect(stats.series).toBeGreaterThan(300);
      expect(docs.length).toBe(stats.samples);
    }
  });

  it("writes ES's document shape: @timestamp in ms, every label under labels, the value under metrics.<name>", () => {
    const { docs } = transcode(
      writeRequestBytes([
        { labels: { __name__: "http_requests_total", job: "api", instance: "a:9090" }, samples: [[1767268800000, 1027]] },
      ]),
    );
    expect(docs).toEqual([
      {
        "@timestamp": 1767268800000,
        labels: { __name__: "http_requests_total", instance: "a:9090", job: "api" },
        metrics: { http_requests_total: 1027 },
      },
    ]);
  });

  it("keeps every float exactly (shortest round-trip) and escapes label values as JSON needs", () => {
    const values = [0, -0, 1, -1, 0.1, 1e-7, 123456789.123, 2 ** 53, 2 ** 53 + 2, -1.7976931348623157e308, 5e-324];
    const tricky = 'quote " backslash \\ newline \n tab \t cr \r nul \u0000 bell \u0007 del \u007f é 漢字 🙂';
    const { docs } = transcode(
      writeRequestBytes([{ labels: { __name__: "x", v: tricky }, samples: values.map((v, i) => [i, v]) }]),
    );
    expect(docs.map((d) => (d.metrics as { x: number }).x)).toEqual(values.map((v) => (Object.is(v, -0) ? 0 : v)));
    expect((docs[0]!.labels as Record<string, string>).v).toBe(tricky);
  });

  it("stores the staleness marker, NaN and ±Inf as marker documents instead of dropping them", () => {
    const { docs } = transcode(
      writeRequestBytes([
        { labels: { __name__: "up", job: "a" }, samples: [[1, 1], [2, "stale"], [3, Number.NaN], [4, Infinity], [5, -Infinity]] },
      ]),
    );
    const labels = { __name__: "up", job: "a" };
    expect(docs).toEqual([
      { "@timestamp": 1, labels, metrics: { up: 1 } },
      { "@timestamp": 2, labels, promgate: { special: "stale" } },
      { "@timestamp": 3, labels, promgate: { special: "NaN" } },
      { "@timestamp": 4, labels, promgate: { special: "+Inf" } },
      { "@timestamp": 5, labels, promgate: { special: "-Inf" } },
    ]);
  });

  it("drops labels with empty values (Prometheus treats them as absent)", () => {
    const { docs } = transcode(writeRequestBytes([{ labels: { __name__: "x", a: "", b: "1" }, samples: [[1, 1]] }]));
    expect(docs[0]!.labels).toEqual({ __name__: "x", b: "1" });
  });

  it("reads negative and large timestamps exactly", () => {
    const { docs } = transcode(
      writeRequestBytes([{ labels: { __name__: "x" }, samples: [[-1, 1], [-1767268800000, 2], [8_640_000_000_000_000, 3]] }]),
    );
    expect(docs.map((d) => d["@timestamp"])).toEqual([-1, -1767268800000, 8_640_000_000_000_000]);
  });

  it("keeps metadata entries with Prometheus' names", () => {
    const { writer } = transcode(
      writeRequestBytes([], [{ family: "http_requests_total", type: MetricMetadata_MetricType.COUNTER, help: "Requests.", unit: "" }]),
    );
    expect(writer.metadataEntries).toEqual([{ family: "http_requests_total", type: 1, help: "Requests.", unit: "" }]);
  });
});

describe("per-series validation", () => {
  const cases: [string, SeriesSpec["labels"], string][] = [
    ["no __name__", { job: "a" }, "series without __name__ label"],
    ["empty __name__", { __name__: "", job: "a" }, "series without __name__ label"],
    ["empty label name", { __name__: "x", "": "v" }, "empty label name"],
    ["invalid label name", { __name__: "x", "a.b": "v" }, "invalid label name"],
    ["label name starting with a digit", { __name__: "x", "1a": "v" }, "invalid label name"],
    // Regression: a label with an empty value is dropped, but a malformed name is refused even then.
    ["invalid label name with an empty value", { __name__: "x", "a.b": "" }, "invalid label name"],
    ["invalid metric name", { __name__: "x.y" }, "invalid metric name"],
    ["label name too long", { __name__: "x", ["n".repeat(257)]: "v" }, "label name too long"],
    ["label value too long", { __name__: "x", a: "v".repeat(4097) }, "label value too long"],
    [
      "too many labels",
      Object.fromEntries([["__name__", "x"], ...Array.from({ length: 64 }, (_, i) => [`l${i}`, "v"])]),
      "too many labels",
    ],
  ];
  it.each(cases)("drops a series with %s, keeps the valid ones, and says why", (_, labels, reason) => {
    const { writer, docs } = transcode(
      writeRequestBytes([
        { labels, samples: [[1, 1], [2, 2]] },
        { labels: { __name__: "ok" }, samples: [[1, 1]] },
      ]),
    );
    expect(docs).toHaveLength(1);
    expect(docs[0]!.labels).toEqual({ __name__: "ok" });
    expect(writer.rejected.get(reason as never)).toMatchObject({ series: 1, samples: 2 });
  });

  it("accepts names at the limits and colons in metric names", () => {
    const { docs } = transcode(
      writeRequestBytes([
        { labels: { __name__: "job:rate5m:sum", ["n".repeat(256)]: "v".repeat(4096) }, samples: [[1, 1]] },
      ]),
    );
    expect(docs).toHaveLength(1);
  });

  it("rejects duplicate label names and label values that are not UTF-8", () => {
    // protobuf-es will not write either, so patch the wire bytes: duplicate "job" and invalid UTF-8.
    const label = (n: string, v: number[]) => {
      const nb = new TextEncoder().encode(n);
      return [0x0a, nb.length + v.length + 4, 0x0a, nb.length, ...nb, 0x12, v.length, ...v];
    };
    const name = label("__name__", [0x78]);
    const sample = [0x12, 0x0b, 0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0x10, 0x01];
    const series = (labels: number[]) => [0x0a, labels.length + sample.length, ...labels, ...sample];
    const dup = series([...name, ...label("job", [0x61]), ...label("job", [0x62])]);
    const badUtf8 = series([...name, ...label("job", [0xff, 0xfe])]);
    const { writer, docs } = transcode(new Uint8Array([...dup, ...badUtf8]));
    expect(docs).toHaveLength(0);
    expect([...writer.rejected.keys()].sort()).toEqual(["duplicate label name", "label value not valid UTF-8"]);
  });
});

describe("malformed protobuf and request caps", () => {
  const good = writeRequestBytes([{ labels: { __name__: "x", job: "a" }, samples: [[1, 1], [2, 2]] }]);

  it("rejects truncated messages at every cut point with a 400, never a crash", () => {
    for (let cut = 1; cut < good.length; cut++) {
      const r = statusOf(() => transcode(good.subarray(0, cut)));
      expect(r.status).toBe(400);
      expect(r.message).toMatch(/^cannot decode protobuf: /);
    }
  });

  it("rejects wrong wire types", () => {
    // Field 1 (timeseries) sent as a varint.
    expect(statusOf(() => transcode(new Uint8Array([0x08, 0x01]))).message).toMatch(/WriteRequest.timeseries has wire type 0/);
    // Sample.value (field 1) sent as a varint inside an otherwise fine series.
    const label = [0x0a, 0x0d, 0x0a, 0x08, ...new TextEncoder().encode("__name__"), 0x12, 0x01, 0x78];
    const sample = [0x12, 0x02, 0x08, 0x01];
    const bad = new Uint8Array([0x0a, label.length + sample.length, ...label, ...sample]);
    expect(statusOf(() => transcode(bad)).message).toMatch(/Sample.value has wire type 0, expected 1/);
    // Group wire types are not protobuf 3.
    expect(statusOf(() => transcode(new Uint8Array([0x33]))).message).toMatch(/unsupported wire type 3/);
  });

  it("skips unknown fields of every wire type", () => {
    // Fields 6–9 (1.0 defines 1 and 3; 4 and 5 are remote write 2.0's, refused below).
    const unknown = new Uint8Array([0x30, 0x05, 0x39, 1, 2, 3, 4, 5, 6, 7, 8, 0x42, 0x02, 0x01, 0x02, 0x4d, 1, 2, 3, 4]);
    const { docs } = transcode(new Uint8Array([...unknown, ...good]));
    expect(docs).toHaveLength(2);
  });

  it("refuses requests over maxSeries and maxSamples with a 413 naming the limit, storing nothing", () => {
    const many: SeriesSpec[] = Array.from({ length: 4 }, (_, i) => ({ labels: { __name__: `m${i}` }, samples: [[1, 1], [2, 2]] }));
    const bytes = writeRequestBytes(many);
    expect(statusOf(() => transcode(bytes, { ...DEFAULT_LIMITS, maxSeries: 3 }))).toEqual({
      status: 413,
      message: "request has more than maxSeries 3 series",
    });
    expect(statusOf(() => transcode(bytes, { ...DEFAULT_LIMITS, maxSamples: 7 }))).toEqual({
      status: 413,
      message: "request has more than maxSamples 7 samples (floats, histograms and exemplars together)",
    });
    expect(transcode(bytes, { ...DEFAULT_LIMITS, maxSeries: 4, maxSamples: 8 }).docs).toHaveLength(8);
  });
});
