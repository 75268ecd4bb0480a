import { create, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app.js";
import { ReadRequest_ResponseType, ReadRequestSchema } from "../../src/gen/prometheus/remote_pb.js";
import { basic, testConfig } from "../helpers/config.js";
import { fakeEs } from "../helpers/fake-es.js";
import { snappy } from "../helpers/payload.js";

/** Read routes when Elasticsearch fails: clear, retryable errors, never a half-sent answer that looks whole. */

const DEV = basic("dev", "dev-password");

describe("read routes with Elasticsearch down", () => {
  it.each([ReadRequest_ResponseType.SAMPLES, ReadRequest_ResponseType.STREAMED_XOR_CHUNKS])(
    "remote_read (%s) answers 503 before any byte of the answer",
    async (type) => {
      const es = fakeEs(() => "refuse");
      const app = createApp(testConfig(), es.deps);
      const body = snappy(
        toBinary(ReadRequestSchema, create(ReadRequestSchema, {
          queries: [{ startTimestampMs: 0n, endTimestampMs: 1000n, matchers: [{ type: 0, name: "__name__", value: "up" }] }],
          acceptedResponseTypes: [type],
        })),
      );
      const res = await app.request("/api/v1/read", {
        method: "POST",
        body,
        headers: { "content-type": "application/x-protobuf", "content-encoding": "snappy", authorization: DEV },
      });
      expect(res.status).toBe(503);
      expect(await res.text()).toMatch(/elasticsearch unreachable/);
    },
  );

  it("the HTTP API answers Prometheus' error envelope with errorType unavailable", async () => {
    const es = fakeEs(() => "refuse");
    const app = createApp(testConfig(), es.deps);
    const res = await app.request("/api/v1/series?match[]=up", { headers: { authorization: DEV } });
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ status: "error", errorType: "unavailable", error: expect.stringMatching(/elasticsearch unreachable/) });
    const unauth = await app.request("/api/v1/labels");
    expect(unauth.status).toBe(401);
    expect(unauth.headers.get("www-authenticate")).toMatch(/^Basic/);
    expect((await unauth.json()).status).toBe("error");
  });
});
