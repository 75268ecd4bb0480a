import { describe, expect, it } from "vitest";
import { ConfigError, DEFAULT_LIMITS, loadConfig } from "../../src/config.js";
import { authenticate, mayUseStream, tenantOf } from "../../src/http/auth.js";
import { HttpError } from "../../src/http/errors.js";
import { basic, testConfig } from "../helpers/config.js";

const tenants = (t: unknown) => JSON.stringify(t);

describe("config", () => {
  it("parses the defaults of DESIGN.md and per-tenant limit overrides", () => {
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

describe("PROMGATE_AUTH=none", () => {
  it("must be asked for explicitly, and then needs no credentials", async () => {
    expect(() => loadConfig({})).toThrow(/PROMGATE_AUTH=none turns authentication off/);
    expect(() => loadConfig({ PROMGATE_AUTH: "off" })).toThrow(/PROMGATE_AUTH must be "tenants" or "none"/);
    expect(() => loadConfig({ PROMGATE_AUTH: "none", PROMGATE_TENANTS: "{}" })).toThrow(/cannot both be set/);
    const c = loadConfig({ PROMGATE_AUTH: "none" });
    expect((await tenantOf(c, undefined)).id).toBe("anonymous");
    expect(mayUseStream(c.tenants[0]!, "metrics-any.prometheus-thing")).toBe(true);
    expect((await tenantOf(testConfig(), basic("dev", "dev-password"))).id).toBe("dev");
    await expect(tenantOf(testConfig(), undefined)).rejects.toBeInstanceOf(HttpError);
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
      await expect(authenticate(h, c.tenants)).rejects.toSatisfy((e) => e instanceof HttpError && e.status === 401);
    },
  );

  it("restricts tenants to their stream patterns", () => {
    const teama = c.tenants.find((t) => t.id === "teama")!;
    expect(mayUseStream(teama, "metrics-teama.prometheus-prod")).toBe(true);
    expect(mayUseStream(teama, "metrics-teamb.prometheus-prod")).toBe(false);
    expect(mayUseStream(teama, "metrics-teamaX.prometheus-prod")).toBe(false);
  });
});
