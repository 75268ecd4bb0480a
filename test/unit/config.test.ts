import { describe, expect, it } from "vitest";
import { ConfigError, DEFAULT_LIMITS, loadConfig, loadListen, loadSetupConfig, type Tenant } from "../../src/config.js";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { TENANT_TABLE_END, withConfigTable } from "../../src/config/docs.js";
import { CHECKED_PREFIXES, SETTINGS, TENANT_FIELDS } from "../../src/config/schema.js";
import { authenticate, mayUseStream, tenantOf } from "../../src/http/auth.js";
import { PromgateError } from "../../src/errors.js";
import { statusOf } from "../../src/http/errors.js";
import { basic, testConfig } from "../helpers/config.js";

const tenants = (t: unknown) => JSON.stringify(t);

describe("config", () => {
  it("parses the default limits and per-tenant limit overrides", () => {
    const c = testConfig();
    expect(c.limits).toEqual(DEFAULT_LIMITS);
    expect(c.limits.maxCompressedBytes).toBe(10 * 1024 * 1024);
    expect(c.tenants.find((t) => t.id === "small")!.limits.maxCompressedBytes).toBe(1000);
    expect(c.tenants.find((t) => t.id === "dev")!.streams).toEqual(["metrics-*.prometheus-*"]);
    expect(c.esAuth).toEqual({ kind: "basic", username: "elastic", password: "es-secret" });
    expect(testConfig({ PROMGATE_MAX_SERIES: "5" }).tenants[0]!.limits.maxSeries).toBe(5);
  });

  it.each([
    [{}, /PROMGATE_TENANTS is required/],
    [{ PROMGATE_TENANTS: "{" }, /PROMGATE_TENANTS is not valid JSON/],
    [{ PROMGATE_TENANTS: tenants({ a: {} }) }, /PROMGATE_TENANTS.a needs a password or tokens/],
    [{ PROMGATE_TENANTS: tenants({ a: { password: "p", colour: 1 } }) }, /PROMGATE_TENANTS.a.colour is not a known field/],
    [{ PROMGATE_TENANTS: tenants({ a: { tokens: ["short"] } }) }, /PROMGATE_TENANTS.a.tokens/],
    [{ PROMGATE_TENANTS: tenants({ a: { password: "p", limits: { maxSeries: -1 } } }) }, /PROMGATE_TENANTS.a.limits.maxSeries must be a positive integer/],
    [{ PROMGATE_TENANTS: tenants({ a: { password: "p", namespace: "Bad-NS" } }) }, /PROMGATE_TENANTS.a.namespace/],
    [{ PROMGATE_TENANTS: tenants({ a: { tokens: ["12345678"] }, b: { tokens: ["12345678"] } }) }, /shared with another tenant/],
    [{ PROMGATE_TENANTS: tenants({ a: { password: "p" } }), ES_URL: "ftp://x" }, /ES_URL must be http or https/],
    [{ PROMGATE_TENANTS: tenants({ a: { password: "p" } }), ES_URL: "http://u:secretpw@h" }, /ES_URL must not carry credentials/],
    [{ PROMGATE_TENANTS: tenants({ a: { password: "p" } }), ES_USERNAME: "u" }, /ES_USERNAME and ES_PASSWORD must be set together/],
    [{ PROMGATE_TENANTS: tenants({ a: { password: "p" } }), PROMGATE_MAX_SAMPLES: "lots" }, /PROMGATE_MAX_SAMPLES must be a positive integer/],
    [{ PROMGATE_TENANTS: tenants({ a: { password: "p" } }), ES_GZIP: "maybe" }, /ES_GZIP must be true or false/],
  ])("fails fast naming the field: %o", (env, text) => {
    let err: unknown;
    try {
      loadConfig(env);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(text);
    expect((err as Error).message).not.toContain("secretpw");
  });
});

function configError(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error("expected a ConfigError");
}

describe("tenants are isolated by default", () => {
  const load = (t: unknown) => loadConfig({ PROMGATE_TENANTS: tenants(t) });

  it("a tenant given only credentials gets namespace = its id and that namespace's streams, no admin", () => {
    const c = load({ teama: { password: "p" }, team_b: { tokens: ["12345678"] } });
    expect(c.tenants.map(({ id, namespace, streams, admin }) => ({ id, namespace, streams, admin }))).toEqual([
      { id: "teama", namespace: "teama", streams: ["metrics-*.prometheus-teama"], admin: false },
      { id: "team_b", namespace: "team_b", streams: ["metrics-*.prometheus-team_b"], admin: false },
    ]);
    const [a, b] = c.tenants as [Tenant, Tenant];
    expect(mayUseStream(a, "metrics-generic.prometheus-teama")).toBe(true);
    expect(mayUseStream(a, "metrics-node.exporter.prometheus-teama")).toBe(true);
    for (const other of ["metrics-generic.prometheus-team_b", "metrics-generic.prometheus-default", "metrics-generic.prometheus-teama2", "metrics-teama.prometheus-x"]) {
      expect(mayUseStream(a, other), other).toBe(false);
    }
    expect(mayUseStream(b, "metrics-generic.prometheus-teama")).toBe(false);
  });

  it("sharing is explicit: streams patterns and namespace are honoured as given", () => {
    const c = load({
      a: { password: "p", namespace: "shared" },
      b: { password: "p", streams: ["metrics-*.prometheus-b", "metrics-*.prometheus-shared"] },
      old: { password: "p", streams: ["metrics-*.prometheus-*"], namespace: "default", admin: true },
    });
    expect(c.tenants.map(({ namespace, streams, admin }) => ({ namespace, streams, admin }))).toEqual([
      { namespace: "shared", streams: ["metrics-*.prometheus-shared"], admin: false }, // streams follow an explicit namespace
      { namespace: "b", streams: ["metrics-*.prometheus-b", "metrics-*.prometheus-shared"], admin: false },
      { namespace: "default", streams: ["metrics-*.prometheus-*"], admin: true },
    ]);
  });

  it.each([
    ["Team-A", "PROMGATE_TENANTS.Team-A.namespace is required: the tenant id would be the namespace but is not a valid one"],
    ["team-a", "PROMGATE_TENANTS.team-a.namespace is required"],
    ["ops@example.com", "PROMGATE_TENANTS.ops@example.com.namespace is required"],
    [".hidden", "PROMGATE_TENANTS..hidden.namespace is required"],
    ["default", 'PROMGATE_TENANTS.default.namespace is required: namespace "default" holds data every tenant wrote before tenants were isolated'],
  ])("refuses tenant id %s as its own namespace, naming the field; an explicit namespace makes it valid", (id, message) => {
    const msg = configError(() => load({ [id]: { password: "p" } }));
    expect(msg).toContain(message);
    expect(msg).not.toContain("\n");
    // The same with streams given: the namespace is still the id.
    expect(configError(() => load({ [id]: { password: "p", streams: ["metrics-*.prometheus-x"] } }))).toContain(`PROMGATE_TENANTS.${id}.namespace is required`);
    expect(load({ [id]: { password: "p", namespace: "team_a" } }).tenants[0]!.namespace).toBe("team_a");
  });

  it("checks the admin field", () => {
    expect(configError(() => load({ a: { password: "p", admin: "yes" } }))).toMatch(/PROMGATE_TENANTS\.a\.admin must be true or false/);
    expect(load({ a: { password: "p", admin: true } }).tenants[0]!.admin).toBe(true);
  });

  it("warns once per tenant that relies on a changed default, saying how to keep the old behaviour, never a secret", () => {
    const c = load({
      plain: { password: "hunter2-secret" },
      nsonly: { tokens: ["hunter2-token"], namespace: "team" },
      streamsonly: { password: "p", streams: ["metrics-*.prometheus-streamsonly"] },
      explicit: { password: "p", namespace: "explicit", streams: ["metrics-*.prometheus-explicit"] },
    });
    expect(c.warnings).toEqual([
      'PROMGATE_TENANTS.plain sets neither "streams" nor "namespace": it now reads and writes only metrics-*.prometheus-plain and writes to namespace "plain" when the URL names none (before: every metrics-*.prometheus-* stream, namespace "default"); to keep the old behaviour set "streams": ["metrics-*.prometheus-*"], "namespace": "default"',
      'PROMGATE_TENANTS.nsonly sets no "streams": it now reads and writes only metrics-*.prometheus-team (before: every metrics-*.prometheus-* stream); to keep the old behaviour set "streams": ["metrics-*.prometheus-*"]',
      'PROMGATE_TENANTS.streamsonly sets no "namespace": writes whose URL names none now go to namespace "streamsonly" (before: "default"); to keep the old behaviour set "namespace": "default"',
    ]);
    expect(c.warnings.join(" ")).not.toContain("hunter2");
    expect(testConfig().warnings).toEqual([]);
  });

  it("PROMGATE_AUTH=none is the single-user mode it was: every stream, namespace default, admin, no warning", () => {
    const c = loadConfig({ PROMGATE_AUTH: "none" });
    expect(c.tenants).toMatchObject([{ id: "anonymous", streams: ["metrics-*.prometheus-*"], namespace: "default", admin: true }]);
    expect(c.warnings).toEqual([]);
  });
});

describe("config schema", () => {
  const ok = { PROMGATE_TENANTS: tenants({ a: { password: "p" } }) };

  it("names an unknown ES_ or PROMGATE_ variable and suggests the closest setting", () => {
    expect(configError(() => loadConfig({ ...ok, PROMGATE_MAX_SERIE: "5" }))).toMatch(/PROMGATE_MAX_SERIE is not a known setting \(did you mean PROMGATE_MAX_SERIES\?\)/);
    expect(configError(() => loadConfig({ ...ok, ES_APIKEY: "k" }))).toMatch(/ES_APIKEY is not a known setting \(did you mean ES_API_KEY\?\)/);
    expect(configError(() => loadConfig({ ...ok, PROMGATE_COLOUR_SCHEME: "dark" }))).toMatch(/PROMGATE_COLOUR_SCHEME is not a known setting$/);
    // promgate setup's settings count as known everywhere: one environment serves both
    expect(loadSetupConfig({ ES_TIMEOUT_MS: "9", PROMGATE_RETENTION: "90d", PROMGATE_TENANTS: "x" }).esTimeoutMs).toBe(9);
    expect(configError(() => loadSetupConfig({ PROMGATE_RETENTON: "90d" }))).toMatch(/did you mean PROMGATE_RETENTION/);
  });

  it("reads promgate setup's template settings through the schema", () => {
    // Unset ones stay unset: setup applies its defaults only where the cluster supports the setting.
    expect(loadSetupConfig({})).toMatchObject({ metadataIndex: "promgate-metadata" });
    for (const k of ["lookBackTime", "retention", "failureStore"]) expect(loadSetupConfig({})).not.toHaveProperty(k);
    const c = loadSetupConfig({ PROMGATE_LOOK_BACK_TIME: "7d", PROMGATE_RETENTION: "90d", PROMGATE_FAILURE_STORE: "off", PROMGATE_METADATA_INDEX: "meta" });
    expect(c).toMatchObject({ lookBackTime: "7d", retention: "90d", failureStore: false, metadataIndex: "meta" });
    expect(configError(() => loadSetupConfig({ PROMGATE_LOOK_BACK_TIME: "a week" }))).toMatch(/PROMGATE_LOOK_BACK_TIME/);
    expect(configError(() => loadSetupConfig({ PROMGATE_FAILURE_STORE: "maybe" }))).toMatch(/PROMGATE_FAILURE_STORE/);
  });

  it("ignores variables outside its prefixes and Elasticsearch's own launcher variables", () => {
    const c = loadConfig({ ...ok, PATH: "/bin", HOME: "/root", ES_JAVA_OPTS: "-Xmx1g", ES_PATH_CONF: "/etc/es", NODE_ENV: "production" });
    expect(c.tenants.map((t) => t.id)).toEqual(["a"]);
  });

  it("reports every problem at once, in one line", () => {
    const msg = configError(() => loadConfig({ ...ok, ES_URL: "nope", PROMGATE_MAX_SERIES: "0", ES_GZIP: "maybe", PROMGATE_RETENTION: "forever" }));
    expect(msg).toMatch(/ES_URL is not a URL/);
    expect(msg).toMatch(/PROMGATE_MAX_SERIES must be a positive integer/);
    expect(msg).toMatch(/ES_GZIP must be true or false/);
    expect(msg).toMatch(/PROMGATE_RETENTION must be a duration/);
    expect(msg).not.toContain("\n");
  });

  it("accepts Workers vars typed in TOML (numbers, booleans) where the kind fits", () => {
    const c = loadConfig({ ...ok, PROMGATE_MAX_SERIES: 5, ES_GZIP: true, PROMGATE_RETRY_AFTER_SECONDS: 7 });
    expect([c.limits.maxSeries, c.esGzip, c.retryAfterSeconds]).toEqual([5, true, 7]);
    expect(configError(() => loadConfig({ ...ok, ES_URL: 9200 }))).toMatch(/ES_URL must be a string/);
    expect(configError(() => loadConfig({ ...ok, PROMGATE_MAX_SERIES: 1.5 }))).toMatch(/PROMGATE_MAX_SERIES must be a positive integer/);
    expect(configError(() => loadConfig({ PROMGATE_TENANTS: { a: { password: "p" } } }))).toMatch(/PROMGATE_TENANTS must be a string/);
  });

  it("never echoes a value, whichever variable it landed in", () => {
    const secret = "hunter2-very-secret";
    const bad = [
      { ...ok, ES_PASWORD: secret },
      { ...ok, PROMGATE_MAX_SAMPLES: secret },
      { ...ok, ES_URL: `${secret}://host` },
      { ...ok, ES_URL: `http://elastic:${secret}@host` },
      { ...ok, PROMGATE_AUTH: secret },
      { PROMGATE_TENANTS: `{"a": {"password": "${secret}"` },
      { PROMGATE_TENANTS: tenants({ a: { password: secret, tokens: [secret] }, b: { tokens: [secret] } }) },
      { PROMGATE_TENANTS: tenants({ [secret]: { password: "p" } }).replace("hunter2", "hunter2 ") },
      { ...ok, ES_API_KEY: secret, ES_PASSWORD: secret },
    ];
    for (const env of bad) expect(configError(() => loadConfig(env))).not.toContain("hunter2");
  });

  it("reads PROMGATE_PROMQL_EXPERIMENTAL as a comma-separated list of known features, none by default", () => {
    expect(loadConfig(ok).promqlExperimental).toEqual([]);
    expect(loadConfig({ ...ok, PROMGATE_PROMQL_EXPERIMENTAL: "" }).promqlExperimental).toEqual([]);
    expect(loadConfig({ ...ok, PROMGATE_PROMQL_EXPERIMENTAL: " duration-expressions, " }).promqlExperimental).toEqual(["duration-expressions"]);
    expect(loadConfig({ ...ok, PROMGATE_PROMQL_EXPERIMENTAL: "query-functions,duration-expressions" }).promqlExperimental).toEqual(["query-functions", "duration-expressions"]);
    expect(configError(() => loadConfig({ ...ok, PROMGATE_PROMQL_EXPERIMENTAL: "duration-expressions,fill" }))).toMatch(
      /PROMGATE_PROMQL_EXPERIMENTAL may list "promql-experimental-functions", "promql-duration-expr", "promql-extended-range-selectors", "promql-binop-fill-modifiers", "type-and-unit-labels", "duration-expressions", "query-functions" \(comma-separated\)/,
    );
  });

  it("checks where the Node, Bun and Deno entries listen", () => {
    expect(loadListen({})).toEqual({ hostname: "127.0.0.1", port: 8787 });
    expect(loadListen({ HOST: "0.0.0.0", PORT: "9000" })).toEqual({ hostname: "0.0.0.0", port: 9000 });
    expect(configError(() => loadListen({ PORT: "eighty" }))).toMatch(/PORT must be a positive integer/);
    expect(configError(() => loadListen({ PORT: "65536" }))).toMatch(/PORT must be at most 65535/);
  });

  it("has one well-formed row per setting, and its defaults are what the code uses", () => {
    const names = SETTINGS.map((s) => s.name);
    expect(new Set(names).size).toBe(names.length);
    for (const s of SETTINGS) {
      expect(s.scope === "server" || CHECKED_PREFIXES.some((p) => s.name.startsWith(p)), s.name).toBe(true);
      expect(s.description.length, s.name).toBeGreaterThan(0);
      expect(s.default === undefined || s.defaultText === undefined, s.name).toBe(true);
      if (s.secret) expect(s.default, s.name).toBeUndefined();
    }
    // Setting every default explicitly changes nothing.
    const defaults = Object.fromEntries(SETTINGS.filter((s) => s.default !== undefined && s.scope === "gateway").map((s) => [s.name, s.default!]));
    expect(loadConfig({ ...defaults, ...ok })).toEqual(loadConfig(ok));
    expect(DEFAULT_LIMITS).toEqual({
      maxCompressedBytes: 10 * 1024 * 1024,
      maxDecompressedBytes: 32 * 1024 * 1024,
      maxSeries: 10_000,
      maxSamples: 100_000,
      maxLabelsPerSeries: 64,
      maxLabelNameBytes: 256,
      maxLabelValueBytes: 4096,
      maxQuerySamples: 5_000_000,
    });
    const c = loadConfig(ok);
    expect([c.esUrls, c.esTimeoutMs, c.esGzip, c.auth, c.retryAfterSeconds, c.metadataIndex]).toEqual([["http://127.0.0.1:9200"], 20_000, false, "tenants", 5, "promgate-metadata"]);
  });
});

describe("one source of truth", () => {
  const root = resolve(import.meta.dirname, "../..");
  it("docs/configuration.md's settings and tenant field tables are the ones the schema renders (npm run docs:config)", () => {
    const page = readFileSync(resolve(root, "docs/configuration.md"), "utf8");
    expect(withConfigTable(page), "docs/configuration.md is out of date: run npm run docs:config").toBe(page);
  });

  it("the tenant field table lists exactly the fields a tenant may have", () => {
    const all = {
      password: "p",
      tokens: ["12345678"],
      namespace: "n",
      streams: ["metrics-*.prometheus-n"],
      admin: false,
      limits: { maxSeries: 5 },
      ha: { enabled: true },
      forward: [{ name: "r", url: "http://127.0.0.1:9/api/v1/write", match: { __name__: ".+" } }],
    };
    expect(TENANT_FIELDS.map((f) => f.name).sort()).toEqual(Object.keys(all).sort());
    expect(loadConfig({ PROMGATE_TENANTS: tenants({ a: all }) }).tenants[0]).toMatchObject({ namespace: "n", admin: false });
    const page = readFileSync(resolve(root, "docs/configuration.md"), "utf8");
    expect(withConfigTable(page.replace(TENANT_TABLE_END, ""))).toBeUndefined();
  });

  it("wrangler.toml lists every non-secret gateway setting under [vars] and no secret", () => {
    const toml = readFileSync(resolve(root, "wrangler.toml"), "utf8");
    const vars = toml.slice(toml.indexOf("\n[vars]\n"), toml.indexOf("\n[", toml.indexOf("\n[vars]\n") + 1));
    const listed = new Set([...vars.matchAll(/^(?:# )?([A-Z][A-Z0-9_]+) = /gm)].map((m) => m[1]));
    for (const s of SETTINGS.filter((s) => s.scope === "gateway" && s.kind !== "binding")) expect(listed.has(s.name), s.name).toBe(!s.secret);
    // a binding is not a var: it is declared as its own table (both optional, so commented out)
    const declared: Record<string, RegExp> = {
      PROMGATE_RATE_LIMITER: /^# \[\[ratelimits\]\]\n# name = "PROMGATE_RATE_LIMITER"$/m,
      PROMGATE_FORWARD_QUEUE: /^# \[\[queues\.producers\]\]\n# binding = "PROMGATE_FORWARD_QUEUE"\n# queue = "promgate-forward"$/m,
    };
    for (const s of SETTINGS.filter((s) => s.kind === "binding")) {
      expect(listed.has(s.name), s.name).toBe(false);
      expect(toml, s.name).toMatch(declared[s.name]!);
    }
    // the producer's queue is the one this Worker consumes
    expect(toml).toMatch(/^# \[\[queues\.consumers\]\]\n# queue = "promgate-forward"$/m);
    // and each active var at its schema default, so a fresh deploy behaves as documented
    for (const [, name, value] of vars.matchAll(/^([A-Z][A-Z0-9_]+) = "(.*)"$/gm)) {
      expect(value, name).toBe(SETTINGS.find((s) => s.name === name)?.default);
    }
  });
});

describe("PROMGATE_AUTH=none", () => {
  it("must be asked for explicitly, and then needs no credentials", async () => {
    expect(() => loadConfig({})).toThrow(/PROMGATE_AUTH=none turns authentication off/);
    expect(() => loadConfig({ PROMGATE_AUTH: "off" })).toThrow(/PROMGATE_AUTH must be "tenants" or "none"/);
    expect(() => loadConfig({ PROMGATE_AUTH: "none", PROMGATE_TENANTS: "{}" })).toThrow(/cannot both be set/);
    const c = loadConfig({ PROMGATE_AUTH: "none" });
    expect((await tenantOf(c, undefined)).id).toBe("anonymous");
    expect(mayUseStream(c.tenants[0]!, "metrics-any.prometheus-thing")).toBe(true);
    expect((await tenantOf(testConfig(), basic("dev", "dev-password"))).id).toBe("dev");
    await expect(tenantOf(testConfig(), undefined)).rejects.toBeInstanceOf(PromgateError);
  });
});

describe("authentication", () => {
  const c = testConfig();
  it("finds tenants by Basic password or Bearer token", async () => {
    expect((await authenticate(basic("dev", "dev-password"), c.tenants)).id).toBe("dev");
    expect((await authenticate("Bearer token-of-team-a", c.tenants)).id).toBe("teama");
    expect((await authenticate("bearer token-of-team-a", c.tenants)).id).toBe("teama");
    expect((await authenticate(basic("dev", "pass:with:colons"), loadConfig({ PROMGATE_TENANTS: tenants({ dev: { password: "pass:with:colons" } }) }).tenants)).id).toBe("dev");
  });

  it.each([undefined, basic("dev", "dev-passwordX"), basic("teama", "dev-password"), "Bearer token-of-team-b", "Basic", "Negotiate abc"])(
    "rejects %s with 401",
    async (h) => {
      await expect(authenticate(h, c.tenants)).rejects.toSatisfy((e) => e instanceof PromgateError && statusOf(e.kind) === 401);
    },
  );

  it("restricts tenants to their stream patterns", () => {
    const teama = c.tenants.find((t) => t.id === "teama")!;
    expect(mayUseStream(teama, "metrics-teama.prometheus-prod")).toBe(true);
    expect(mayUseStream(teama, "metrics-teamb.prometheus-prod")).toBe(false);
    expect(mayUseStream(teama, "metrics-teamaX.prometheus-prod")).toBe(false);
  });
});
