import { createServer } from "node:http";
import SnappyJS from "snappyjs";
import { fromBinary } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGateway, defaultDeps } from "../../src/app.js";
import { loadConfig } from "../../src/config.js";
import { WriteRequestSchema } from "../../src/gen/prometheus/remote_pb.js";
import { basic, PRW1_HEADERS } from "../helpers/config.js";
import { countDocs, gateEnv, uniquePart } from "../helpers/es.js";
import { writeBody } from "../helpers/payload.js";

/**
 * Forwarding behind HA deduplication, against the real Elasticsearch that holds the elections: a target gets
 * what storage keeps of an HA pair — the elected replica's series, without the replica label — and nothing
 * of the other replica.
 */

const namespace = uniquePart("fwha");
const cluster = uniquePart("c");
const received: { name: string; value: string }[][] = [];
let url = "";
let close: () => Promise<void>;

beforeAll(async () => {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const wr = fromBinary(WriteRequestSchema, SnappyJS.uncompress(new Uint8Array(Buffer.concat(chunks))));
      for (const ts of wr.timeseries) received.push(ts.labels.map((l) => ({ name: l.name, value: l.value })));
      res.statusCode = 204;
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}/api/v1/write`;
  close = () => new Promise<void>((r) => server.close(() => r()));
});

afterAll(() => close());

describe("forwarding with HA deduplication", () => {
  it("forwards the elected replica's series without its label, nothing of the other replica", async () => {
    const config = loadConfig({
      ...gateEnv(),
      PROMGATE_TENANTS: JSON.stringify({ ha: { password: "ha-password", namespace, ha: { enabled: true }, forward: [{ name: "all", url, match: { __name__: ".+" } }] } }),
    });
    const { app, forwarder } = createGateway(config, defaultDeps());
    const headers = { ...PRW1_HEADERS, authorization: basic("ha", "ha-password") };
    const now = Date.now();
    const send = (replica: string, value: number) =>
      app.request("/api/v1/write", { method: "POST", headers, body: writeBody([{ labels: { __name__: "fwha_up", job: "api", cluster, __replica__: replica }, samples: [[now, value]] }]) });
    expect((await send("r1", 1)).status).toBe(204); // elected
    expect((await send("r2", 2)).status).toBe(202); // deduplicated: not stored
    await new Promise((r) => setTimeout(r, 5));
    await forwarder.memory!.idle();
    expect(received).toEqual([
      [
        { name: "__name__", value: "fwha_up" },
        { name: "cluster", value: cluster },
        { name: "job", value: "api" },
      ],
    ]);
    expect(await countDocs(`metrics-generic.prometheus-${namespace}`)).toBe(1);
  });
});
