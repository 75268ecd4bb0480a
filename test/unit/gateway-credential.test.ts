import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGatewayKey } from "../../src/elastic/credentials.js";
import { CHUNKS_INDEX, compactorRole, GATEWAY_ROLE, gatewayRole, HA_REPLICAS_INDEX } from "../../src/elastic/privileges.js";
import { parseSetupArgs } from "../../src/elastic/setup-args.js";
import { esClient } from "../../src/elastic/setup.js";
import { METRICS_PATTERN, settingsComponent } from "../../src/elastic/templates.js";

const INDICES = { metadataIndex: "acme-metadata", exemplarIndex: "acme-exemplars" };

/** Privileges that would let the gateway delete indices, reshape or administer anything. */
const BROAD = ["all", "write", "delete_index", "manage", "create_index", "manage_ilm", "manage_data_stream_lifecycle"];
/** Document deletes and refreshes: the chunk index only. */
const CHUNK_ONLY = ["delete", "maintenance"];

describe("promgate_gateway role", () => {
  const role = gatewayRole(INDICES);
  const privilegesOf = (name: string) => role.indices.filter((i) => i.names.includes(name)).flatMap((i) => i.privileges);

  it("covers every index promgate touches, by the configured names", () => {
    expect(privilegesOf(METRICS_PATTERN)).toEqual(["create_doc", "auto_configure", "read"]);
    expect(privilegesOf("acme-exemplars")).toEqual(["create_doc", "auto_configure", "read"]);
    expect(privilegesOf("acme-metadata")).toEqual(["index", "auto_configure", "read"]);
    expect(privilegesOf(HA_REPLICAS_INDEX)).toEqual(["index", "auto_configure", "read"]);
    // The query path marks windows for recompaction and the compactor may run in the gateway: it writes
    // and deletes chunk documents (never the index), and refreshes the index.
    expect(privilegesOf(CHUNKS_INDEX)).toEqual(["read", "index", "delete", "auto_configure", "maintenance"]);
    expect(privilegesOf(`${CHUNKS_INDEX}-*`)).toEqual(["read", "index", "delete", "auto_configure", "maintenance"]);
    expect(privilegesOf("promgate-metadata")).toEqual([]);
    const custom = gatewayRole({ ...INDICES, haIndex: "acme-ha" });
    expect(custom.indices.find((i) => i.names.includes("acme-ha"))?.privileges).toEqual(["index", "auto_configure", "read"]);
    expect(custom.indices.some((i) => i.names.includes(HA_REPLICAS_INDEX))).toBe(false);
  });

  it("holds nothing that deletes or administers, and only the monitor cluster privilege", () => {
    expect(role.cluster).toEqual(["monitor"]);
    for (const i of role.indices) {
      for (const p of i.privileges) expect(BROAD).not.toContain(p);
      if (!i.names.includes(CHUNKS_INDEX)) for (const p of i.privileges) expect(CHUNK_ONLY).not.toContain(p);
      expect(i.allow_restricted_indices).toBeUndefined();
    }
  });

  it("gives the compactor on its own the chunk index and read access to samples, nothing of ingest's", () => {
    const c = compactorRole({ chunksIndex: "acme-chunks" });
    expect(c.indices.find((i) => i.names.includes("acme-chunks"))!.privileges).toContain("index");
    expect(c.indices.some((i) => i.names.includes("promgate-metadata") || i.names.includes(HA_REPLICAS_INDEX))).toBe(false);
    expect(c.indices.find((i) => i.names.includes(METRICS_PATTERN))!.privileges).toEqual(["read"]);
  });
});

describe("promgate setup flags", () => {
  it("parses --api-key with and without a name, and --print-role", () => {
    expect(parseSetupArgs([])).toEqual({});
    expect(parseSetupArgs(["--api-key"])).toEqual({ apiKeyName: "promgate-gateway" });
    expect(parseSetupArgs(["--api-key", "edge-1"])).toEqual({ apiKeyName: "edge-1" });
    expect(parseSetupArgs(["--print-role"])).toEqual({ printRole: "gateway" });
    expect(parseSetupArgs(["--print-role", "compactor"])).toEqual({ printRole: "compactor" });
    expect(parseSetupArgs(["--replicas", "2", "--api-key"])).toEqual({ replicas: 2, apiKeyName: "promgate-gateway" });
  });

  it("refuses what it does not know, with the argument named", () => {
    expect(() => parseSetupArgs(["--print-role", "root"])).toThrow(/gateway or compactor, not "root"/);
    expect(() => parseSetupArgs(["--apikey"])).toThrow(/unknown argument "--apikey"/);
    expect(() => parseSetupArgs(["--replicas"])).toThrow(/--replicas takes a number/);
    expect(() => parseSetupArgs(["--replicas", "-1"])).toThrow(/--replicas takes a number/);
  });
});

describe("createGatewayKey", () => {
  const seen: { method: string; url: string; body: Record<string, unknown> }[] = [];
  let url = "";
  const server = createServer(async (req: IncomingMessage, res) => {
    let text = "";
    for await (const chunk of req) text += String(chunk);
    seen.push({ method: req.method ?? "", url: req.url ?? "", body: text ? (JSON.parse(text) as Record<string, unknown>) : {} });
    res.setHeader("content-type", "application/json");
    res.setHeader("x-elastic-product", "Elasticsearch");
    if (req.headers.authorization === `Basic ${btoa("admin:no-store")}`) {
      // What a cluster without its security index answers (the integ-test zip: no analysis-common module).
      res.statusCode = 400;
      return res.end(JSON.stringify({ error: { type: "illegal_argument_exception", reason: "Unknown filter type [pattern_capture] for [email]" }, status: 400 }));
    }
    if (req.url?.startsWith("/_security/role/")) return res.end(JSON.stringify({ role: { created: true } }));
    if (req.url === "/_security/api_key") return res.end(JSON.stringify({ id: "k1", name: "edge", api_key: "secret", encoded: "azE6c2VjcmV0" }));
    res.statusCode = 404;
    res.end("{}");
  });
  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it("stores the role by name and embeds the same role in the key, returning the encoded key", async () => {
    const client = esClient({ esUrls: [url], esAuth: { kind: "basic", username: "admin", password: "pw" }, esTimeoutMs: 5000 });
    const key = await createGatewayKey(client, { ...INDICES, keyName: "edge" });
    expect(key).toEqual({ id: "k1", name: "edge", encoded: "azE6c2VjcmV0" });
    const [putRole, createKey] = seen;
    expect(putRole).toMatchObject({ method: "PUT", url: `/_security/role/${GATEWAY_ROLE}` });
    expect(putRole!.body).toEqual(JSON.parse(JSON.stringify(gatewayRole(INDICES))));
    expect(createKey!.url).toBe("/_security/api_key");
    expect(createKey!.body.name).toBe("edge");
    expect(createKey!.body.role_descriptors).toEqual({ [GATEWAY_ROLE]: JSON.parse(JSON.stringify(gatewayRole(INDICES))) });
  });

  it("says what to do where the cluster cannot make keys", async () => {
    const client = esClient({ esUrls: [url], esAuth: { kind: "basic", username: "admin", password: "no-store" }, esTimeoutMs: 5000 });
    const err = createGatewayKey(client, { ...INDICES, keyName: "x" });
    await expect(err).rejects.toThrow(/pattern_capture.*--print-role.*roles\.yml/);
  });
});

describe("setup --replicas", () => {
  const base = { lookBackTime: undefined, retention: undefined, failureStore: false };
  it("sets number_of_replicas of new backing indices, and leaves Elasticsearch's default without it", () => {
    expect(settingsComponent({ ...base, replicas: 2 }).template.settings.index).toMatchObject({ number_of_replicas: 2 });
    expect(settingsComponent(base).template.settings.index).not.toHaveProperty("number_of_replicas");
  });
});
