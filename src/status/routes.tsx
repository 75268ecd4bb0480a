/** @jsxImportSource hono/jsx */
import { Hono } from "hono";
import type { Config, Tenant } from "../config.js";
import type { Fetch } from "../elastic/http.js";
import { ASSETS_VERSION, STATUS_CSS, STATUS_JS, UPLOT_CSS, UPLOT_JS } from "../gen/assets.js";
import { authenticate } from "../http/auth.js";
import { PromgateError } from "../errors.js";
import { reportTenant } from "../observe/facts.js";
import { collectStatus } from "./collect.js";
import { RANGES, StatusPage } from "./page.js";
import { PROMGATE_VERSION } from "../version.js";

/**
 * `GET /`: the status page, per tenant, and the browser files it loads from `/-/static/`.
 * With tenants configured the page asks for Basic credentials with a challenge browsers understand (a
 * single `Basic` scheme: some browsers ignore a header listing several); the tenant sees only its own
 * streams. The static files hold no data, so they need no credentials and may be cached for good: their
 * URLs carry the assets' content hash.
 */

const PAGE_CHALLENGE = 'Basic realm="promgate", charset="UTF-8"';

// Scripts and styles only from files of this origin (nothing inline); the chart's data only from here too.
const PAGE_HEADERS: Record<string, string> = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  "cache-control": "no-store",
  "referrer-policy": "no-referrer",
  "x-content-type-options": "nosniff",
};

const JS = "text/javascript; charset=utf-8";
const CSS = "text/css; charset=utf-8";
const STATIC = new Map<string, { type: string; body: string }>([
  ["uplot.js", { type: JS, body: UPLOT_JS }],
  ["uplot.css", { type: CSS, body: UPLOT_CSS }],
  ["status.js", { type: JS, body: STATUS_JS }],
  ["status.css", { type: CSS, body: STATUS_CSS }],
]);

async function pageTenant(config: Config, header: string | undefined): Promise<Tenant> {
  if (config.auth === "none") return config.tenants[0]!;
  try {
    return await authenticate(header, config.tenants);
  } catch (e) {
    if (e instanceof PromgateError && e.kind === "unauthenticated") throw new PromgateError("unauthenticated", e.message, { "www-authenticate": PAGE_CHALLENGE });
    throw e;
  }
}

export function statusRoutes(config: Config, deps: { fetch: Fetch; now: () => number }): Hono {
  const app = new Hono();

  app.get("/", async (c) => {
    const tenant = await pageTenant(config, c.req.header("authorization"));
    reportTenant(c, tenant.id); // for the request's log line
    const query = c.req.query("query") ?? "";
    const asked = Number(c.req.query("range"));
    const range = RANGES.some(([s]) => s === asked) ? asked : RANGES[1]![0];
    const status = await collectStatus(config, deps.fetch, tenant, deps.now());
    const page = <StatusPage status={status} version={PROMGATE_VERSION} query={query} range={range} assetsVersion={ASSETS_VERSION} />;
    return c.html(`<!doctype html>${page}`, 200, PAGE_HEADERS);
  });

  app.get("/-/static/:file", (c) => {
    const file = STATIC.get(c.req.param("file"));
    if (!file) return c.text("not found\n", 404);
    // A URL without the current version may be a stale copy's: serve it, but do not let it stick.
    const cache = c.req.query("v") === ASSETS_VERSION ? "public, max-age=31536000, immutable" : "no-cache";
    return c.body(file.body, 200, { "content-type": file.type, "cache-control": cache, "x-content-type-options": "nosniff" });
  });

  return app;
}
