import { create, toBinary } from "@bufbuild/protobuf";
import SnappyJS from "snappyjs";
import { env as testEnv } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app.js";
import { loadConfig } from "../../src/config.js";
import { WriteRequestSchema } from "../../src/gen/prometheus/remote_pb.js";
import worker from "../../src/index.js";
import { compileMatcher } from "../../src/query/matchers.js";
import { replaceRegex } from "../../src/query/regex/re2.js";

/**
 * The same app inside workerd (the Workers runtime), through @cloudflare/vitest-pool-workers: the decoder,
 * the NDJSON writer, Web Crypto auth and gzip all run on workerd's APIs, not Node's.
 */

const body = SnappyJS.compress(
  toBinary(
    WriteRequestSchema,
    create(WriteRequestSchema, {
      timeseries: [
        {
          labels: [
            { name: "__name__", value: "up" },
            { name: "job", value: 'q"é' },
          ],
          samples: [{ value: 1, timestamp: 1767268800000n }],
        },
      ],
    }),
  ),
);

/** A plain Request typed as the runtime's incoming one (which also carries `cf`). */
const incoming = (r: Request) => r as unknown as Parameters<typeof worker.fetch>[0];

describe("promgate inside workerd", () => {
  it("turns a remote_write request into one _bulk with ES's document shape", async () => {
    const seen: { url: string; body: string; encoding: string | null }[] = [];
    const config = loadConfig({ PROMGATE_TENANTS: JSON.stringify({ dev: { password: "pw", namespace: "prod" } }), ES_GZIP: "true" });
    const app = createApp(config, {
      now: () => 0,
      log: () => undefined,
      fetch: async (input, init) => {
        const req = new Request(input, init);
        const plain = req.body!.pipeThrough(new DecompressionStream("gzip"));
        seen.push({ url: req.url, body: await new Response(plain).text(), encoding: req.headers.get("content-encoding") });
        return Response.json({ errors: false, items: [{ create: { status: 201 } }] });
      },
    });
    const res = await app.request("/metrics/app/prod/api/v1/write", {
      method: "POST",
      body,
      headers: { "content-type": "application/x-protobuf", "content-encoding": "snappy", authorization: `Basic ${btoa("dev:pw")}` },
    });
    expect(res.status).toBe(204);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.url).toMatch(/\/metrics-app\.prometheus-prod\/_bulk\?require_data_stream=true/);
    expect(seen[0]!.encoding).toBe("gzip");
    expect(seen[0]!.body).toBe(
      '{"create":{}}\n{"@timestamp":1767268800000,"labels":{"__name__":"up","job":"q\\"é"},"metrics":{"up":1}}\n',
    );
  });

  it("answers bad input with a 4xx from the Workers entry point", async () => {
    const env = { PROMGATE_TENANTS: JSON.stringify({ dev: { password: "pw" } }), ES_URL: "http://127.0.0.1:9" };
    const ctx = { waitUntil: () => undefined, passThroughOnException: () => undefined, props: {} } as unknown as ExecutionContext;
    const req = (headers: Record<string, string>, b: BodyInit = body) =>
      incoming(new Request("http://promgate/api/v1/write", { method: "POST", body: b, headers }));
    const auth = { authorization: `Basic ${btoa("dev:pw")}` };
    expect((await worker.fetch(req({ ...auth, "content-type": "text/plain", "content-encoding": "snappy" }), env, ctx)).status).toBe(415);
    expect((await worker.fetch(req({ "content-type": "application/x-protobuf", "content-encoding": "snappy" }), env, ctx)).status).toBe(401);
    const bomb = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f, 0x00]);
    expect((await worker.fetch(req({ ...auth, "content-type": "application/x-protobuf", "content-encoding": "snappy" }, bomb), env, ctx)).status).toBe(413);
  });

  it("keeps a tenant out of another's namespace inside workerd", async () => {
    const env = { PROMGATE_TENANTS: JSON.stringify({ dev: { password: "pw" } }), ES_URL: "http://127.0.0.1:9" };
    const ctx = { waitUntil: () => undefined, passThroughOnException: () => undefined, props: {} } as unknown as ExecutionContext;
    const res = await worker.fetch(
      incoming(new Request("http://promgate/metrics/app/prod/api/v1/write", {
        method: "POST",
        body,
        headers: { "content-type": "application/x-protobuf", "content-encoding": "snappy", authorization: `Basic ${btoa("dev:pw")}` },
      })),
      env,
      ctx,
    );
    expect(res.status).toBe(403);
    expect(await res.text()).toBe('tenant "dev" may not write to metrics-app.prometheus-prod\n');
  });

  it("logs the startup warning about changed tenant defaults once per isolate, not per request", async () => {
    const lines: string[] = [];
    // Every console method: each line goes out through the one of its level.
    const original = { log: console.log, warn: console.warn, error: console.error };
    console.log = console.warn = console.error = (line: unknown) => void lines.push(String(line));
    try {
      const env = { PROMGATE_TENANTS: JSON.stringify({ plain: { password: "pw-plain-secret" } }), ES_URL: "http://127.0.0.1:9" };
      const ctx = { waitUntil: () => undefined, passThroughOnException: () => undefined, props: {} } as unknown as ExecutionContext;
      for (let i = 0; i < 3; i++) expect((await worker.fetch(incoming(new Request("http://promgate/-/healthy")), env, ctx)).status).toBe(200);
    } finally {
      Object.assign(console, original);
    }
    const warnings = lines.filter((l) => l.includes('"level":"warn"'));
    expect(warnings).toHaveLength(1);
    expect(JSON.parse(warnings[0]!).msg).toMatch(/^PROMGATE_TENANTS\.plain sets neither "streams" nor "namespace"/);
    expect(lines.join("\n")).not.toContain("pw-plain-secret");
  });

  it("evaluates label regexes with the linear-time RE2 engine", async () => {
    const slow = compileMatcher({ name: "v", type: "!~", value: "(a|aa)*b" });
    expect(slow.matches("a".repeat(50_000))).toBe(true);
    expect(compileMatcher({ name: "v", type: "=~", value: "(?i)kelvin" }).matches("\u212aELVIN")).toBe(true);
    expect(replaceRegex("(x+x+)+(y?)").exec("x".repeat(20_000))?.[2]).toBe("");
    const config = loadConfig({ PROMGATE_TENANTS: JSON.stringify({ dev: { password: "pw" } }) });
    const app = createApp(config, { now: () => 0, log: () => undefined, fetch: async () => new Response("{}", { status: 500 }) });
    const res = await app.request('/api/v1/series?match[]=up{job=~"("}', { headers: { authorization: `Basic ${btoa("dev:pw")}` } });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toBe("invalid regular expression: error parsing regexp: missing closing ): `(`");
  });

  it("reports a configuration error by field name, without values", async () => {
    const ctx = {} as ExecutionContext;
    const res = await worker.fetch(incoming(new Request("http://promgate/-/healthy")), { PROMGATE_TENANTS: "{nope" }, ctx);
    expect(res.status).toBe(500);
    expect(await res.text()).toBe("promgate is misconfigured: invalid configuration: PROMGATE_TENANTS is not valid JSON\n");
    // A misspelt var is an error too (never a gateway half-configured with a default), and the secret's value stays out.
    const typoEnv = { PROMGATE_TENANTS: JSON.stringify({ dev: { password: "pw-secret-9" } }), ES_PASWORD: "pw-secret-9" };
    const typo = await worker.fetch(incoming(new Request("http://promgate/-/healthy")), typoEnv, ctx);
    expect(typo.status).toBe(500);
    expect(await typo.text()).toBe("promgate is misconfigured: invalid configuration: ES_PASWORD is not a known setting (did you mean ES_PASSWORD?)\n");
  });

  it("counts remote_write requests against the Workers rate-limiting binding when the Worker has one", async () => {
    // The binding from vitest.workers.config.ts (3 requests a minute per key): workerd's own implementation.
    const binding = (testEnv as unknown as { PROMGATE_RATE_LIMITER: RateLimit }).PROMGATE_RATE_LIMITER;
    const tenants = JSON.stringify({ rl: { password: "pw" }, other: { password: "pw" } });
    const env = { PROMGATE_TENANTS: tenants, ES_URL: "http://127.0.0.1:9", ES_TIMEOUT_MS: "200", PROMGATE_RATE_LIMITER: binding };
    const ctx = { waitUntil: () => undefined, passThroughOnException: () => undefined, props: {} } as unknown as ExecutionContext;
    const write = (user: string) =>
      worker.fetch(
        incoming(new Request("http://promgate/api/v1/write", {
          method: "POST",
          body,
          headers: { "content-type": "application/x-protobuf", "content-encoding": "snappy", authorization: `Basic ${btoa(`${user}:pw`)}` },
        })),
        env as unknown as Partial<Env>,
        ctx,
      );
    // Within the limit the request goes on to Elasticsearch (unreachable here: 503); beyond it, 429.
    for (let i = 0; i < 3; i++) expect((await write("rl")).status).toBe(503);
    const refused = await write("rl");
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe("5");
    expect(await refused.text()).toMatch(/^tenant "rl" is over the request limit of the PROMGATE_RATE_LIMITER binding/);
    expect((await write("other")).status).toBe(503); // keyed by tenant
  });
});
